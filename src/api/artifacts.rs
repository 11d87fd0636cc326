//! `runs/:id/artifacts/`: inline upload, presign, download, and the direct upload flow
//! (prepare, the signed multipart POST, finalize). Paths not in the run's manifest are 404s.

use std::time::Duration;

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::TryStreamExt;
use object_store::WriteMultipart;
use serde_json::{Value, json};

use super::{JsonObject, Links};
use crate::app::AppState;
use crate::artifacts::{self, Entry, Store};
use crate::auth::{ReadAccess, WriteAccess};
use crate::clock;
use crate::db::artifacts::{self as db_artifacts, Pending};
use crate::db::runner as db_runner;
use crate::db::runs::{self as db_runs, Run};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::webhooks::Announcer;

type State = web::Data<AppState>;
type RunPath = web::Path<(String, String, String)>;

/// How long presigned downloads and direct upload forms stay valid.
const TTL_SECS: i64 = 3600;

async fn find_run(state: &State, project_id: i64, path: RunPath) -> Result<Run> {
    let (_, task_id, run_id) = path.into_inner();
    state
        .db
        .read(move |c| db_runs::find(c, project_id, &task_id, &run_id))
        .await
}

fn manifest_response(manifest: &str) -> Result<HttpResponse> {
    let list: Value = serde_json::from_str(manifest).map_err(Error::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "artifacts": list })))
}

/// Stores each artifact, then records them all in one write: an upload that fails half-way
/// leaves objects no manifest names (which `burrow gc` removes), never the reverse.
pub async fn upload(
    state: State,
    access: WriteAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let max = state.config.artifact_max_bytes;
    let mut parsed = Vec::new();
    for item in artifacts::items(&body.object()?)? {
        let described = artifacts::describe(&item)?;
        let bytes = artifacts::content(&item, max)?;
        parsed.push((described, bytes));
    }
    let run = find_run(&state, access.project.id, path).await?;
    let mut entries = Vec::with_capacity(parsed.len());
    for (described, bytes) in parsed {
        let storage_path = artifacts::storage_path(&run, &described.name);
        let size = bytes.len() as u64;
        state.store.put(&storage_path, bytes).await?;
        entries.push(described.entry(uuid::Uuid::new_v4().to_string(), storage_path, size));
    }
    let pk = run.pk;
    let announce = state.runner.announcer(Links::new(&state, &req));
    let manifest = state
        .db
        .write(move |c| recorded(c, pk, &entries, &announce))
        .await?;
    state.events.notify(pk);
    manifest_response(&manifest)
}

/// Adds uploaded artifacts to the run's manifest, as activity, and announces them; returns
/// the whole manifest.
fn recorded(
    c: &rusqlite::Connection,
    pk: i64,
    entries: &[Entry],
    announce: &Announcer,
) -> Result<String> {
    let manifest = db_artifacts::append(c, pk, entries)?;
    db_runner::touch(c, pk)?;
    announce.artifacts_uploaded(c, &db_runs::by_pk(c, pk)?, entries)?;
    Ok(manifest)
}

/// The manifest entry a `{"storage_path"}` body names on this run, else 404.
fn entry_named(run: &Run, body: JsonObject) -> Result<Entry> {
    let body = body.object()?;
    let wanted = Fields::new(&body)
        .text("storage_path", None, false)?
        .required()?;
    artifacts::find_in_manifest(run.artifacts.get(), &wanted).ok_or(Error::NotFound)
}

pub async fn presign(
    state: State,
    access: ReadAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let run = find_run(&state, access.project.id, path).await?;
    let entry = entry_named(&run, body)?;
    let ttl = Duration::from_secs(TTL_SECS as u64);
    let url = match state.store.presigned_get(&entry.storage_path, ttl).await? {
        Some(url) => url,
        None => {
            let token = state.signer.token(
                &download_purpose(&entry.storage_path),
                clock::unix_now() + TTL_SECS,
            );
            Links::new(&state, &req).absolute(&format!(
                "/api/artifact_downloads?path={}&token={token}",
                super::query::encode(&entry.storage_path)
            ))
        }
    };
    Ok(HttpResponse::Ok().json(json!({ "url": url, "expires_in": TTL_SECS })))
}

fn download_purpose(storage_path: &str) -> String {
    format!("artifact:{storage_path}")
}

pub async fn download(
    state: State,
    access: ReadAccess,
    path: RunPath,
    body: JsonObject,
) -> Result<HttpResponse> {
    let run = find_run(&state, access.project.id, path).await?;
    let entry = entry_named(&run, body)?;
    send(&state.store, &entry).await
}

/// `GET /api/artifact_downloads?path=…&token=…`: a presigned download on Burrow itself, for
/// stores that cannot presign.
pub async fn signed_download(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let query = super::Query::parse(&req)?;
    let failed = || Error::AuthenticationFailed("Invalid or expired signature.".into());
    let storage_path = query.get("path").ok_or_else(failed)?;
    let token = query.get("token").ok_or_else(failed)?;
    state
        .signer
        .verify(&download_purpose(&storage_path), &token, clock::unix_now())?;
    let run_id = storage_path
        .split('/')
        .find_map(|part| part.strip_prefix("run_"))
        .ok_or(Error::NotFound)?
        .to_string();
    let run = state.db.read(move |c| db_runs::by_id(c, &run_id)).await?;
    let entry =
        artifacts::find_in_manifest(run.artifacts.get(), &storage_path).ok_or(Error::NotFound)?;
    send(&state.store, &entry).await
}

/// Streams an artifact with its stored content type, as an attachment that a browser will
/// not render in Burrow's origin.
async fn send(store: &Store, entry: &Entry) -> Result<HttpResponse> {
    let (size, stream) = store.get(&entry.storage_path).await?;
    // A content type given at upload is free text: one that cannot be a header value (a
    // control character) is sent as plain bytes rather than failing the response.
    let content_type = header::HeaderValue::from_str(&entry.content_type)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    let ascii: String = entry
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        super::query::encode(&entry.name)
    );
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::CONTENT_LENGTH, size))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .streaming(stream))
}

pub async fn prepare_upload(
    state: State,
    access: WriteAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let max = state.config.artifact_max_bytes;
    let mut described = Vec::new();
    for item in artifacts::items(&body.object()?)? {
        let d = artifacts::describe(&item)?;
        let size = item.integer("size")?.required()?;
        if size < 0 {
            return Err(Error::invalid(
                item.attr("size"),
                "invalid_input",
                "Size cannot be negative.",
            ));
        }
        if size as u64 > max {
            return Err(artifacts::too_large(max));
        }
        described.push((d, size as u64));
    }
    let run = find_run(&state, access.project.id, path).await?;
    let expires_at = clock::unix_now() + TTL_SECS;
    let pending: Vec<Pending> = described
        .into_iter()
        .map(|(d, size)| Pending {
            id: uuid::Uuid::new_v4().to_string(),
            run_pk: run.pk,
            storage_path: artifacts::storage_path(&run, &d.name),
            described: d,
            size,
            expires_at,
        })
        .collect();
    let stored = pending.clone();
    state
        .db
        .write(move |c| {
            stored
                .iter()
                .try_for_each(|p| db_artifacts::add_pending(c, p))
        })
        .await?;
    let links = Links::new(&state, &req);
    let url = links.absolute("/api/artifact_uploads");
    let answer: Vec<Value> = pending
        .iter()
        .map(|p| {
            let token = state
                .signer
                .token(&upload_purpose(&p.id, &p.storage_path), expires_at);
            json!({
                "id": p.id,
                "name": p.described.name,
                "type": p.described.kind,
                "storage_path": p.storage_path,
                "presigned_post": {
                    "url": url,
                    "fields": { "key": p.storage_path, "upload_id": p.id, "token": token },
                },
                "expires_in": TTL_SECS,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "artifacts": answer })))
}

fn upload_purpose(id: &str, storage_path: &str) -> String {
    format!("upload:{id}:{storage_path}")
}

/// `POST /api/artifact_uploads`: the multipart form `prepare_upload/` described (its fields,
/// then `file`), without an Authorization header. Streams the file into the store, refusing
/// it past its declared size.
pub async fn receive_upload(state: State, mut form: Multipart) -> Result<HttpResponse> {
    let bad = |msg: &str| Error::body("invalid_input", msg.to_string());
    let mut fields = std::collections::HashMap::<String, String>::new();
    while let Some(mut field) = form
        .try_next()
        .await
        .map_err(|e| bad(&format!("Malformed upload form: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name != "file" {
            let mut value = Vec::new();
            while let Some(chunk) = field.try_next().await.map_err(|e| bad(&e.to_string()))? {
                value.extend_from_slice(&chunk);
                if value.len() > 4096 {
                    return Err(bad("A form field is too long."));
                }
            }
            fields.insert(name, String::from_utf8_lossy(&value).into_owned());
            continue;
        }
        let pending = authorize_upload(&state, &fields).await?;
        let mut upload = state.store.upload(&pending.storage_path).await?;
        // Whatever stops the copy (an oversize file, a client gone mid-way, a store error),
        // abort: an S3 multipart upload left open keeps its parts, unseen by `burrow gc`.
        if let Err(e) = copy_file(&mut field, &mut upload, pending.size).await {
            let _ = upload.abort().await;
            return Err(e);
        }
        upload.finish().await.map_err(Error::internal)?;
        return Ok(HttpResponse::NoContent().finish());
    }
    Err(Error::invalid(
        "file",
        "required",
        "This field is required.",
    ))
}

/// Streams the form's `file` into the upload, refusing it past `max` bytes.
async fn copy_file(
    field: &mut actix_multipart::Field,
    upload: &mut WriteMultipart,
    max: u64,
) -> Result<()> {
    let mut total: u64 = 0;
    while let Some(chunk) = field
        .try_next()
        .await
        .map_err(|e| Error::body("invalid_input", e.to_string()))?
    {
        total += chunk.len() as u64;
        if total > max {
            return Err(Error::TooLarge(format!(
                "The file is larger than the {max} bytes declared."
            )));
        }
        upload.write(&chunk);
        upload.wait_for_capacity(2).await.map_err(Error::internal)?;
    }
    Ok(())
}

/// The pending upload the form's signed fields name, if the signature holds.
async fn authorize_upload(
    state: &State,
    fields: &std::collections::HashMap<String, String>,
) -> Result<Pending> {
    let field = |name: &str| {
        fields
            .get(name)
            .cloned()
            .ok_or_else(|| Error::invalid(name, "required", "This field is required."))
    };
    let (key, id, token) = (field("key")?, field("upload_id")?, field("token")?);
    state
        .signer
        .verify(&upload_purpose(&id, &key), &token, clock::unix_now())?;
    let pending = state
        .db
        .read(move |c| db_artifacts::pending(c, &id))
        .await?
        .filter(|p| p.storage_path == key)
        .ok_or(Error::NotFound)?;
    Ok(pending)
}

pub async fn finalize_upload(
    state: State,
    access: WriteAccess,
    path: RunPath,
    body: JsonObject,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let mut wanted = Vec::new();
    for item in artifacts::items(&body.object()?)? {
        let id = item.text("id", None, false)?.required()?;
        let storage_path = item.text("storage_path", None, false)?.required()?;
        let content_type = item
            .text("content_type", Some(255), true)?
            .nullable()
            .flatten();
        wanted.push((item.attr("storage_path"), id, storage_path, content_type));
    }
    let run = find_run(&state, access.project.id, path).await?;
    let mut entries = Vec::new();
    let mut done = Vec::new();
    for (attr, id, storage_path, content_type) in wanted {
        let lookup = id.clone();
        let pending = state
            .db
            .read(move |c| db_artifacts::pending(c, &lookup))
            .await?
            .filter(|p| p.run_pk == run.pk && p.storage_path == storage_path)
            .ok_or_else(|| {
                Error::invalid(
                    attr.clone(),
                    "does_not_exist",
                    "No upload was prepared for this path on this run.",
                )
            })?;
        match state.store.size(&storage_path).await? {
            None => {
                return Err(Error::invalid(
                    attr,
                    "does_not_exist",
                    "Nothing was uploaded to this path.",
                ));
            }
            Some(size) if size != pending.size => {
                return Err(Error::invalid(
                    attr,
                    "invalid_input",
                    format!(
                        "The uploaded file has {size} bytes, not the {} declared.",
                        pending.size
                    ),
                ));
            }
            Some(_) => {}
        }
        let mut described = pending.described.clone();
        if let Some(ct) = content_type {
            described.content_type = ct.trim().to_string();
        }
        entries.push(described.entry(id.clone(), storage_path, pending.size));
        done.push((id, attr));
    }
    let pk = run.pk;
    let announce = state.runner.announcer(Links::new(&state, &req));
    // Claiming each upload in the write itself makes finalize happen once: concurrent
    // finalize calls (a client retrying) all pass the checks above, one claims the upload.
    let manifest = state
        .db
        .write(move |c| {
            for (id, attr) in &done {
                if !db_artifacts::remove_pending(c, id)? {
                    return Err(Error::invalid(
                        attr.clone(),
                        "does_not_exist",
                        "This upload is already finalized.",
                    ));
                }
            }
            recorded(c, pk, &entries, &announce)
        })
        .await?;
    state.events.notify(pk);
    manifest_response(&manifest)
}
