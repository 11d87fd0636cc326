//! The direct upload flow: `artifacts/prepare_upload/` hands out a signed form, the
//! multipart POST to `/api/artifact_uploads` streams the file into the store without an
//! Authorization header, and `artifacts/finalize_upload/` checks it and records it.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::TryStreamExt;
use object_store::WriteMultipart;
use serde_json::{Value, json};

use super::JsonObject;
use super::artifacts::{TTL_SECS, manifest_response};
use super::on_run::OnRun;
use super::upload_form::{Part, UploadForm};
use crate::artifacts;
use crate::auth::WriteAccess;
use crate::clock;
use crate::db::artifacts::{self as db_artifacts, Pending};
use crate::error::{Error, Result};
use crate::state::AppState;

type State = web::Data<AppState>;

pub async fn prepare_upload(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let (state, req) = (&call.state, &call.req);
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
    let run = call.run().await?;
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
    let links = state.links(req);
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
/// then `file`), without an Authorization header. The signature is checked as soon as the
/// signed fields are in, before any more of the body is read; the file is then streamed into
/// the store, refused past its declared size, and put in place only if its upload is still
/// pending when the stream ends.
pub async fn receive_upload(
    state: State,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let mut form = UploadForm::new(&req, payload);
    let mut signed = Signed::default();
    let mut authorized = None;
    let (pending, mut field) = loop {
        match form.next().await? {
            None => return Err(required("file")),
            Some(Part::Field(name, value)) => {
                if authorized.is_none() && signed.set(&name, value) {
                    authorized = Some(authorize_upload(&state, &signed).await?);
                }
            }
            Some(Part::File(field)) => match authorized {
                Some(pending) => break (pending, field),
                None => return Err(signed.missing()),
            },
        }
    };
    let mut upload = state.store.upload(&pending.storage_path).await?;
    // Whatever stops the copy (an oversize file, a client gone mid-way, a store error),
    // abort: an S3 multipart upload left open keeps its parts, unseen by `burrow gc`. A
    // request dropped mid-copy (its client gone) aborts when `upload` is dropped.
    if let Err(e) = copy_file(&mut field, upload.writer(), pending.size).await {
        let _ = upload.abort().await;
        return Err(e);
    }
    // Until `finish` the bytes sit in a staging file or an open multipart upload, unseen.
    // Finalize holds the same lock while it checks the object and claims the upload, so a
    // stream that ends after its upload was finalized cannot replace what was finalized.
    let _commit = state.store.commit_lock().await;
    if let Err(e) = still_pending(&state, &signed, &pending).await {
        let _ = upload.abort().await;
        return Err(e);
    }
    upload.finish().await?;
    Ok(HttpResponse::NoContent().finish())
}

fn required(name: &str) -> Error {
    Error::invalid(name, "required", "This field is required.")
}

/// The signed fields of an upload form, as they arrive.
#[derive(Default)]
struct Signed {
    key: Option<String>,
    upload_id: Option<String>,
    token: Option<String>,
}

impl Signed {
    /// Takes a field; true once all three signed fields are in.
    fn set(&mut self, name: &str, value: String) -> bool {
        match name {
            "key" => self.key = Some(value),
            "upload_id" => self.upload_id = Some(value),
            "token" => self.token = Some(value),
            _ => {}
        }
        self.key.is_some() && self.upload_id.is_some() && self.token.is_some()
    }

    /// The error for a form whose file came before its signed fields.
    fn missing(&self) -> Error {
        let name = if self.key.is_none() {
            "key"
        } else if self.upload_id.is_none() {
            "upload_id"
        } else {
            "token"
        };
        required(name)
    }

    /// The key and upload id, once the token signing them checks out.
    fn verify(&self, state: &State) -> Result<(&str, &str)> {
        let key = self.key.as_deref().ok_or_else(|| required("key"))?;
        let id = self
            .upload_id
            .as_deref()
            .ok_or_else(|| required("upload_id"))?;
        let token = self.token.as_deref().ok_or_else(|| required("token"))?;
        state
            .signer
            .verify(&upload_purpose(id, key), token, clock::unix_now())?;
        Ok((key, id))
    }
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
async fn authorize_upload(state: &State, signed: &Signed) -> Result<Pending> {
    let (key, id) = signed.verify(state)?;
    let (key, id) = (key.to_string(), id.to_string());
    state
        .db
        .read(move |c| db_artifacts::pending(c, &id))
        .await?
        .filter(|p| p.storage_path == key)
        .ok_or(Error::NotFound)
}

/// Checks, when the file has arrived, that its token has not expired meanwhile and that
/// its upload was not finalized (which removes the pending upload).
async fn still_pending(state: &State, signed: &Signed, pending: &Pending) -> Result<()> {
    signed.verify(state)?;
    let id = pending.id.clone();
    let exists = state
        .db
        .read(move |c| db_artifacts::pending(c, &id))
        .await?
        .is_some();
    if !exists {
        return Err(Error::invalid(
            "upload_id",
            "does_not_exist",
            "This upload was finalized before its file finished arriving.",
        ));
    }
    Ok(())
}

pub async fn finalize_upload(call: OnRun<WriteAccess>, body: JsonObject) -> Result<HttpResponse> {
    let state = &call.state;
    let mut wanted = Vec::new();
    for item in artifacts::items(&body.object()?)? {
        let id = item.text("id", None, false)?.required()?;
        let storage_path = item.text("storage_path", None, false)?.required()?;
        let content_type = item
            .text(
                "content_type",
                Some(crate::artifacts::CONTENT_TYPE_MAX_CHARS),
                true,
            )?
            .nullable()
            .flatten();
        wanted.push((item.attr("storage_path"), id, storage_path, content_type));
    }
    let run = call.run().await?;
    // Held until the uploads are claimed: a streamed upload cannot put its file in place
    // between the size checks below and the claim (see `receive_upload`).
    let _commit = state.store.commit_lock().await;
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
    // Claiming each upload in the write itself makes finalize happen once: concurrent
    // finalize calls (a client retrying) all pass the checks above, one claims the upload.
    let manifest = state
        .runs()
        .add_artifacts(run.pk, entries, move |c| {
            for (id, attr) in &done {
                if !db_artifacts::remove_pending(c, id)? {
                    return Err(Error::invalid(
                        attr.clone(),
                        "does_not_exist",
                        "This upload is already finalized.",
                    ));
                }
            }
            Ok(())
        })
        .await?;
    manifest_response(&manifest)
}
