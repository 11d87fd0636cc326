//! The direct upload form, read warily: it comes without credentials, so before its `file`
//! only a few small fields and a bounded number of bytes are read, and nothing else is kept.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, dev};
use futures_util::{Stream, StreamExt, TryStreamExt};

use crate::error::{Error, Result};

/// Fields other than `file` a form may have, and the bytes of their names and values
/// together: `prepare_upload/` hands out three fields of about 300 bytes in all.
pub const MAX_FIELDS: usize = 8;
pub const MAX_FIELD_BYTES: usize = 4 << 10;

/// The most of the body read before the file: the fields with their headers and boundaries,
/// and whatever actix reads ahead of the parser (chunks of up to 128 KiB). It also bounds
/// what the parser buffers while it looks for the end of a part's headers.
const MAX_BEFORE_FILE: u64 = 1 << 20;

/// One part of the form.
pub enum Part {
    /// A field other than `file`: its name and its value.
    Field(String, String),
    /// The `file` part, to stream with `Field`'s chunks once the form is authorized.
    File(Field),
}

/// The multipart form of a `POST /api/artifact_uploads`, parts in the order sent.
pub struct UploadForm {
    parts: Multipart,
    /// Set once the file starts: from then on the file's own size limit applies.
    file_started: Rc<Cell<bool>>,
    /// Set when the body passed `MAX_BEFORE_FILE` before the file.
    overflowed: Rc<Cell<bool>>,
    fields: usize,
    field_bytes: usize,
}

impl UploadForm {
    pub fn new(req: &HttpRequest, payload: web::Payload) -> UploadForm {
        let file_started = Rc::new(Cell::new(false));
        let overflowed = Rc::new(Cell::new(false));
        let metered = Metered {
            inner: payload.into_inner(),
            read: 0,
            file_started: file_started.clone(),
            overflowed: overflowed.clone(),
        };
        UploadForm {
            parts: Multipart::new(req.headers(), metered),
            file_started,
            overflowed,
            fields: 0,
            field_bytes: 0,
        }
    }

    /// The next part, or `None` at the end of the form. A field past the limits is a 413;
    /// the rest of the body is not read.
    pub async fn next(&mut self) -> Result<Option<Part>> {
        let Some(mut field) = self.parts.try_next().await.map_err(|e| self.error(e))? else {
            return Ok(None);
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            self.file_started.set(true);
            return Ok(Some(Part::File(field)));
        }
        self.fields += 1;
        self.field_bytes += name.len();
        if self.fields > MAX_FIELDS {
            return Err(Error::TooLarge(format!(
                "An upload form has at most {MAX_FIELDS} fields besides `file`."
            )));
        }
        let mut value = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(|e| self.error(e))? {
            self.field_bytes += chunk.len();
            if self.field_bytes > MAX_FIELD_BYTES {
                return Err(Error::TooLarge(format!(
                    "An upload form's fields besides `file` hold at most {MAX_FIELD_BYTES} bytes."
                )));
            }
            value.extend_from_slice(&chunk);
        }
        Ok(Some(Part::Field(
            name,
            String::from_utf8_lossy(&value).into_owned(),
        )))
    }

    fn error(&self, e: MultipartError) -> Error {
        if self.overflowed.get() {
            Error::TooLarge(format!(
                "An upload form may have at most {MAX_BEFORE_FILE} bytes before its `file`."
            ))
        } else {
            Error::body("invalid_input", format!("Malformed upload form: {e}"))
        }
    }
}

/// The request body, cut off with an error once more than `MAX_BEFORE_FILE` bytes were
/// read before the file started.
struct Metered {
    inner: dev::Payload,
    read: u64,
    file_started: Rc<Cell<bool>>,
    overflowed: Rc<Cell<bool>>,
}

impl Stream for Metered {
    type Item = std::result::Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled
            && !self.file_started.get()
        {
            self.read += chunk.len() as u64;
            if self.read > MAX_BEFORE_FILE {
                self.overflowed.set(true);
                return Poll::Ready(Some(Err(PayloadError::Overflow)));
            }
        }
        polled
    }
}
