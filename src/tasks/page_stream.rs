//! A list page written a buffer at a time: a page of large tasks or runs is sent as it is
//! read, so serving it costs one buffer, however many megabytes the page holds.

use std::sync::Arc;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use futures_util::Stream;
use rusqlite::Connection;
use serde::Serialize;

use crate::db::Db;
use crate::error::{Error, Result};

/// A buffer is sent once it holds this much. Most pages fit in one and are answered whole
/// (and may be kept by `pages`); a larger page is streamed.
pub const CHUNK: usize = 256 * 1024;

/// Writes the page item with this rowid, after a comma, into the buffer; nothing when the
/// item is gone.
pub type WriteItem = Arc<dyn Fn(&Connection, i64, &mut Vec<u8>) -> Result<()> + Send + Sync>;

/// What a list's first read answers.
pub enum Listed {
    /// The whole page.
    Whole(Bytes),
    /// The page's start, and the rowids of its items still to be written.
    Started(Bytes, Vec<i64>),
}

impl Listed {
    /// A page whose head and first items are in `out`, with `rest` still to be written.
    pub fn of(mut out: Vec<u8>, rest: Vec<i64>) -> Listed {
        if rest.is_empty() {
            out.extend_from_slice(b"]}");
            Listed::Whole(Bytes::from(out))
        } else {
            Listed::Started(Bytes::from(out), rest)
        }
    }

    /// The response: the page at once, or its start and then the rest, each part read by
    /// `write` as the client takes the previous one.
    pub fn respond(self, db: Db, write: WriteItem) -> HttpResponse {
        match self {
            Listed::Whole(body) => HttpResponse::build(StatusCode::OK)
                .content_type("application/json")
                .body(body),
            Listed::Started(start, rest) => HttpResponse::Ok()
                .content_type("application/json")
                .streaming(body(db, write, start, rest)),
        }
    }
}

/// Appends an item to a page being written; `first` is the page's first item.
pub fn write_item(out: &mut Vec<u8>, item: &impl Serialize, first: bool) -> Result<()> {
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, item).map_err(Error::internal)
}

enum Step {
    First(Bytes, Vec<i64>),
    Rest(Vec<i64>),
    Done,
}

/// The body of a started page. Each further buffer is its own short read, so no read stays
/// open while a slow client reads: an item deleted meanwhile is left out, one changed shows
/// as it is now (as with a count and a page read in separate queries).
fn body(
    db: Db,
    write: WriteItem,
    first: Bytes,
    rest: Vec<i64>,
) -> impl Stream<Item = Result<Bytes>> {
    futures_util::stream::unfold(Step::First(first, rest), move |step| {
        let (db, write) = (db.clone(), write.clone());
        async move {
            match step {
                Step::First(first, rest) => Some((Ok(first), Step::Rest(rest))),
                Step::Rest(pks) => {
                    let read = db.read(move |c| next_chunk(c, &write, pks)).await;
                    match read {
                        Ok((chunk, left)) if left.is_empty() => Some((Ok(chunk), Step::Done)),
                        Ok((chunk, left)) => Some((Ok(chunk), Step::Rest(left))),
                        Err(e) => {
                            // The status is sent: all that is left is to cut the body short.
                            tracing::warn!("list: a page ended early: {e}");
                            Some((Err(e), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    })
}

/// Writes the items of `pks` until a buffer is full; answers it and the rowids left.
fn next_chunk(c: &Connection, write: &WriteItem, mut pks: Vec<i64>) -> Result<(Bytes, Vec<i64>)> {
    let mut out = Vec::with_capacity(CHUNK);
    let mut taken = 0;
    while taken < pks.len() && out.len() < CHUNK {
        write(c, pks[taken], &mut out)?;
        taken += 1;
    }
    let left = pks.split_off(taken);
    if left.is_empty() {
        out.extend_from_slice(b"]}");
    }
    Ok((Bytes::from(out), left))
}
