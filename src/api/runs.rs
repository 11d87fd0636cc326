//! `tasks/:task_id/runs/`: list, create, retrieve, PATCH (merging), `set_output/`,
//! `append_log/`, the NDJSON `logs` and the live `stream/`.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::on_run::OnRun;
use super::query::Pager;
use super::{JsonObject, Query};
use crate::auth::{self, Reader, Recheck, TASK_READ, WriteAccess};
use crate::clock;
use crate::db::{logs as db_logs, run_list as db_run_list, runs as db_runs, tasks as db_tasks};
use crate::error::{Error, Result};
use crate::links::Links;
use crate::logs::{self, LOG_COUNT, Opener};
use crate::runs::{self, RunChanges};
use crate::state::AppState;
use crate::tasks::page_stream::{self, CHUNK, Listed, WriteItem};

type State = web::Data<AppState>;
type TaskPath = web::Path<(String, String)>;
type RunPath = web::Path<(String, String, String)>;

/// A page of a task's runs, written straight from their rows; streamed when larger than
/// one buffer (each run's `state` and `output` may weigh a megabyte).
pub async fn list(
    state: State,
    reader: Reader,
    path: TaskPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let links = state.links(&req);
    // Parsed before the read, reported after the credentials are checked.
    let pager = Query::parse(&req)
        .and_then(|q| q.page())
        .map(|page| Pager::new(page, &req, &links));
    let task_id = path.into_inner().1;
    let page_links = links.clone();
    let (_, (task_pk, listed)) = reader
        .read(&state, move |c, access| {
            let pager = pager?;
            let task_pk = db_tasks::pk_including_deleted(c, access.project.id, &task_id)?;
            let count = db_run_list::count(c, task_pk)?;
            let mut out = Vec::with_capacity(1024);
            pager.write_head(&mut out, count)?;
            let mut first = true;
            let range = (pager.page.limit, pager.page.offset);
            let seen = db_run_list::each_on_page(c, task_pk, range, &links, |run| {
                page_stream::write_item(&mut out, run, std::mem::take(&mut first))?;
                Ok(out.len() < CHUNK)
            })?;
            let rest = match out.len() >= CHUNK {
                true => db_run_list::page_rest(c, task_pk, range, seen)?,
                false => Vec::new(),
            };
            Ok((task_pk, Listed::of(out, rest)))
        })
        .await?;
    let write: WriteItem = Arc::new(move |c, pk, out| {
        db_run_list::with_run(c, task_pk, pk, &page_links, |run| {
            page_stream::write_item(out, run, false)
        })?
        .transpose()
        .map(drop)
    });
    Ok(listed.respond(state.db.clone(), write))
}

pub async fn create(
    state: State,
    access: WriteAccess,
    path: TaskPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let new = runs::parse_new(&body.object()?)?;
    let task_id = path.into_inner().1;
    let mut run = state
        .runs()
        .create(access.project.clone(), task_id, new)
        .await?;
    state.links(&req).run(&mut run);
    Ok(HttpResponse::Created().json(run))
}

pub async fn retrieve(
    state: State,
    reader: Reader,
    path: RunPath,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (_, task_id, run_id) = path.into_inner();
    let (_, mut run) = reader
        .read(&state, move |c, access| {
            db_runs::find(c, access.project.id, &task_id, &run_id)
        })
        .await?;
    state.links(&req).run(&mut run);
    Ok(super::json(actix_web::http::StatusCode::OK, &run, 2048))
}

/// Merges `state` and `output` key by key (see `Runs::patch`).
pub async fn update(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let changes = RunChanges::parse(&body.object()?)?;
    let admin = call.access.caller.user.is_admin;
    let run = call.state.runs().patch(call.ids(), changes, admin).await?;
    Ok(call.ok(run))
}

pub async fn set_output(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let output = runs::parse_output(&body.object()?)?;
    let run = call.state.runs().set_output(call.ids(), output).await?;
    Ok(call.ok(run))
}

/// Answers only once the entries are committed (see `Runs::append_log`).
pub async fn append_log(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let fast = body.bytes().and_then(logs::entries_from_bytes);
    // Most appends name no batch: only those that do pay for reading the body as a tree.
    let named = body
        .bytes()
        .is_none_or(|b| memchr::memmem::find(b, b"\"batch_id\"").is_some());
    let (entries, batch) = match (fast, named) {
        (Some(entries), false) => (entries, None),
        (fast, _) => {
            let object = body.object()?;
            let entries = match fast {
                Some(entries) => entries,
                None => logs::parse_entries(&object)?,
            };
            let batch = crate::fields::Fields::new(&object)
                .text("batch_id", Some(logs::BATCH_ID_MAX_CHARS), false)?
                .optional()?;
            (entries, batch)
        }
    };
    let cap = call.state.config.log_max_bytes;
    let run = call
        .state
        .runs()
        .append_log(call.ids(), entries, cap, batch)
        .await?;
    Ok(call.ok(run))
}

/// The project a log reader may read: from a valid `?token=` (the run's `log_url`), or from
/// the caller's key with `task:read`. With a token, also when it expires (Unix seconds).
async fn log_reader(
    state: &State,
    req: &HttpRequest,
    query: &Query,
    path: &(String, String, String),
) -> Result<(i64, Option<i64>)> {
    match query.get("token") {
        Some(token) => {
            let expires =
                state
                    .signer
                    .verify(&Links::log_purpose(&path.2), &token, clock::unix_now())?;
            let project = path.0.parse().map_err(|_| Error::NotFound)?;
            Ok((project, Some(expires)))
        }
        None => Ok((auth::access(req.clone(), TASK_READ).await?.project.id, None)),
    }
}

/// The log as NDJSON (`application/jsonl`); `?after=SEQ&limit=N` to tail.
pub async fn log(state: State, path: RunPath, req: HttpRequest) -> Result<HttpResponse> {
    let query = Query::parse(&req)?;
    let (project_id, _) = log_reader(&state, &req, &query, &path).await?;
    let after = query.count("after")?.unwrap_or(0);
    let limit = query.limit()?;
    let (_, task_id, run_id) = path.into_inner();
    let (run, slug, count) = state
        .db
        .read(move |c| {
            let run = db_runs::find(c, project_id, &task_id, &run_id)?;
            let count = db_logs::count(c, run.pk)?;
            Ok((
                run,
                db_tasks::slug_including_deleted(c, project_id, &task_id)?,
                count,
            ))
        })
        .await?;
    // A browser opening the log (it asks for HTML) gets text it can show in the tab; saving
    // it, or `?download=1`, gives `<slug>-<run>.jsonl` rather than a file called `logs`.
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let disposition = if query.get("download").is_some() {
        "attachment"
    } else {
        "inline"
    };
    Ok(HttpResponse::Ok()
        .content_type(if browser {
            "text/plain; charset=utf-8"
        } else {
            "application/jsonl"
        })
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("{disposition}; filename=\"{slug}-{}.jsonl\"", run.id),
        ))
        // The log's length when the answer began: a reader can ask for its tail first.
        .insert_header((LOG_COUNT, count.to_string()))
        .streaming(logs::ndjson(state.clone(), run.pk, after, limit)))
}

/// Server-Sent Events; resumes after `Last-Event-ID` or `?after=`. Opened with the log
/// token, it carries the log only and ends when the token expires.
pub async fn stream(state: State, path: RunPath, req: HttpRequest) -> Result<HttpResponse> {
    let query = Query::parse(&req)?;
    let (project_id, token_expires) = log_reader(&state, &req, &query, &path).await?;
    let resume = req
        .headers()
        .get("Last-Event-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let after = match resume {
        Some(n) => n.max(0),
        None => query.count("after")?.unwrap_or(0),
    };
    let (_, task_id, run_id) = path.into_inner();
    let run = state
        .db
        .read(move |c| db_runs::find(c, project_id, &task_id, &run_id))
        .await?;
    let opener = match token_expires {
        Some(expires) => Opener::Token {
            expires,
            run: run.id.clone(),
        },
        None => Opener::Credential {
            recheck: Recheck::of(&req, project_id)?,
            links: state.links(&req),
        },
    };
    let live = logs::live(state.clone(), opener, run.pk, after)?;
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(live))
}
