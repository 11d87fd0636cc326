//! A task list page written a buffer at a time: a page of large tasks is sent as it is read,
//! so serving it costs one buffer, however many megabytes the page holds.

use actix_web::web::{self, Bytes};
use futures_util::Stream;

use super::Links;
use crate::app::AppState;
use crate::db::identity::Project;
use crate::db::tasks::{self as db_tasks, TaskView};
use crate::error::{Error, Result};

/// A buffer is sent once it holds this much. Most pages fit in one and are answered whole
/// (and may be kept by `pages`); a larger page is streamed.
pub const CHUNK: usize = 256 * 1024;

/// What a list's first read answers.
pub enum Listed {
    /// The whole page.
    Whole(Bytes),
    /// The page's start, and the rowids of its tasks still to be written.
    Started(Bytes, Vec<i64>),
}

/// Appends a task to a page being written; `first` is the page's first task.
pub fn write_task(out: &mut Vec<u8>, task: &TaskView, first: bool) -> Result<()> {
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(&mut *out, task).map_err(Error::internal)
}

/// Ends a page whose tasks are all written.
pub fn finish(out: &mut Vec<u8>) {
    out.extend_from_slice(b"]}");
}

enum Step {
    First(Bytes, Vec<i64>),
    Rest(Vec<i64>),
    Done,
}

/// The body of a `Listed::Started` page: its start, then the rest read a buffer at a time,
/// each in its own short read, only as the client takes the previous one. No read stays
/// open while a slow client reads: a task deleted meanwhile is left out, one changed shows
/// as it is now (as a count and a page read in separate queries would).
pub fn body(
    state: web::Data<AppState>,
    project: Project,
    links: Links,
    first: Bytes,
    rest: Vec<i64>,
) -> impl Stream<Item = Result<Bytes>> {
    futures_util::stream::unfold(Step::First(first, rest), move |step| {
        let (state, project, links) = (state.clone(), project.clone(), links.clone());
        async move {
            match step {
                Step::First(first, rest) => Some((Ok(first), Step::Rest(rest))),
                Step::Rest(pks) => {
                    let read = state
                        .db
                        .read(move |c| next_chunk(c, &project, &links, pks))
                        .await;
                    match read {
                        Ok((chunk, left)) if left.is_empty() => Some((Ok(chunk), Step::Done)),
                        Ok((chunk, left)) => Some((Ok(chunk), Step::Rest(left))),
                        Err(e) => {
                            // The status is sent: all that is left is to cut the body short.
                            tracing::warn!("task list: a page ended early: {e}");
                            Some((Err(e), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    })
}

/// Writes the tasks of `pks` until a buffer is full; answers it and the rowids left.
fn next_chunk(
    c: &rusqlite::Connection,
    project: &Project,
    links: &Links,
    mut pks: Vec<i64>,
) -> Result<(Bytes, Vec<i64>)> {
    let mut out = Vec::with_capacity(CHUNK);
    let mut taken = 0;
    while taken < pks.len() && out.len() < CHUNK {
        db_tasks::with_live_task(c, project, pks[taken], links, |t| {
            write_task(&mut out, t, false)
        })?
        .transpose()?;
        taken += 1;
    }
    let left = pks.split_off(taken);
    if left.is_empty() {
        finish(&mut out);
    }
    Ok((Bytes::from(out), left))
}
