//! `runs/:id/artifacts/`: inline upload, presign and download (the direct upload flow is in
//! `uploads`). Paths not in the run's manifest are 404s.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::JsonObject;
use super::on_run::OnRun;
use crate::artifacts::{self, Entry, Store, inline};
use crate::auth::{ReadAccess, WriteAccess};
use crate::clock;
use crate::db::runs::{self as db_runs, Run};
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::state::AppState;

type State = web::Data<AppState>;

/// How long presigned downloads and direct upload forms stay valid.
pub(super) const TTL_SECS: i64 = 3600;

pub(super) fn manifest_response(manifest: &str) -> Result<HttpResponse> {
    let list: Value = serde_json::from_str(manifest).map_err(Error::internal)?;
    Ok(HttpResponse::Ok().json(json!({ "artifacts": list })))
}

/// Stores each artifact, then records them all in one write: an upload that fails half-way
/// leaves objects no manifest names (which `burrow gc` removes), never the reverse.
pub async fn upload(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let state = &call.state;
    let parsed = inline_items(body, state.config.artifact_max_bytes)?;
    let run = call.run().await?;
    let mut entries = Vec::with_capacity(parsed.len());
    for (described, bytes) in parsed {
        let storage_path = artifacts::storage_path(&run, &described.name);
        let size = bytes.len() as u64;
        state.store.put(&storage_path, bytes).await?;
        entries.push(described.entry(uuid::Uuid::new_v4().to_string(), storage_path, size));
    }
    let manifest = state
        .runs()
        .add_artifacts(run.pk, entries, |_| Ok(()))
        .await?;
    manifest_response(&manifest)
}

/// The items of an inline upload, described and decoded. Takes the body so that it is freed
/// before the decoded bytes go to the store.
fn inline_items(body: JsonObject, max: u64) -> Result<Vec<inline::Item>> {
    if let Some(parsed) = body.bytes().and_then(|b| inline::decoded(b, max)) {
        return parsed;
    }
    let mut parsed = Vec::new();
    for item in artifacts::items(&body.object()?)? {
        let described = artifacts::describe(&item)?;
        parsed.push((described, inline::content(&item, max)?));
    }
    Ok(parsed)
}

/// The manifest entry a `{"storage_path"}` body names on this run, else 404.
fn entry_named(run: &Run, body: JsonObject) -> Result<Entry> {
    let body = body.object()?;
    let wanted = Fields::new(&body)
        .text("storage_path", None, false)?
        .required()?;
    artifacts::find_in_manifest(run.artifacts.get(), &wanted).ok_or(Error::NotFound)
}

pub async fn presign(call: OnRun<ReadAccess>, body: JsonObject) -> Result<HttpResponse> {
    let (state, req) = (&call.state, &call.req);
    let run = call.run().await?;
    let entry = entry_named(&run, body)?;
    let ttl = Duration::from_secs(TTL_SECS as u64);
    let url = match state.store.presigned_get(&entry.storage_path, ttl).await? {
        Some(url) => url,
        None => {
            let token = state.signer.token(
                &download_purpose(&entry.storage_path),
                clock::unix_now() + TTL_SECS,
            );
            state.links(req).absolute(&format!(
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

pub async fn download(call: OnRun<ReadAccess>, body: JsonObject) -> Result<HttpResponse> {
    let run = call.run().await?;
    let entry = entry_named(&run, body)?;
    send(&call.state.store, &entry).await
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
