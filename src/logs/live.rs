//! The live Server-Sent Events stream of a run's log: it resumes by sequence number, carries
//! run changes to credential holders, and ends when the run has finished or its token expires.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::web::{Bytes, Data};
use futures_util::Stream;
use futures_util::stream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{KEEP_ALIVE, PAGE};
use crate::auth::Recheck;
use crate::clock;
use crate::db;
use crate::error::{Error, Result};
use crate::events::Notice;
use crate::links::Links;
use crate::runs::is_terminal;
use crate::state::AppState;

/// Who opened a live stream: that decides what it carries and how long it lasts.
pub enum Opener {
    /// The run's signed log token (`log_url`): the log entries only (no run, whose fields
    /// and fresh `log_url` would outgrow the token), until the token expires.
    Token {
        /// Unix seconds.
        expires: i64,
        run: String,
    },
    /// A key or a session: entries and the run's changes, while the credential holds.
    Credential { recheck: Recheck, links: Links },
}

impl Opener {
    /// What the stream counts against: the credential, or the run's token.
    fn holder(&self) -> String {
        match self {
            Opener::Token { run, .. } => format!("log token of {run}"),
            Opener::Credential { recheck, .. } => recheck.holder().to_string(),
        }
    }
}

/// How often a stream opened with a credential checks it again, besides whenever a
/// credential is revoked through the API.
const RECHECK: Duration = KEEP_ALIVE;

/// The state of one live stream.
struct Live {
    state: Data<AppState>,
    opener: Opener,
    run_pk: i64,
    after: i64,
    changes: watch::Receiver<Notice>,
    /// The notice's run version when the run was last read; `None` before the first read.
    run_seen: Option<u64>,
    stopping: watch::Receiver<bool>,
    revocations: watch::Receiver<u64>,
    /// When the credential was last found good.
    checked: Instant,
    /// A credential was revoked since: check this stream's at once.
    recheck_now: bool,
    last_run: Option<String>,
    done: bool,
    _open: OpenStream,
}

/// Holds one of its holder's stream slots and counts the stream in `/metrics`, for as long
/// as it exists.
struct OpenStream {
    state: Data<AppState>,
    holder: String,
}

impl OpenStream {
    /// A 429 when the holder already has `STREAMS_PER_HOLDER` streams open.
    fn new(state: Data<AppState>, holder: String) -> Result<OpenStream> {
        if !state.events.open_stream(&holder) {
            return Err(Error::Throttled(KEEP_ALIVE.as_secs()));
        }
        state.metrics.streams.fetch_add(1, Ordering::Relaxed);
        Ok(OpenStream { state, holder })
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.state.events.close_stream(&self.holder);
        self.state.metrics.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Server-Sent Events for a run: each log entry after `after` as a message whose `id` is its
/// sequence number, run changes as `run` events (not with a token), and an `end` event once
/// the run has finished and every entry was sent.
pub fn live(
    state: Data<AppState>,
    opener: Opener,
    run_pk: i64,
    after: i64,
) -> Result<impl Stream<Item = Result<Bytes>>> {
    let open = OpenStream::new(state.clone(), opener.holder())?;
    let changes = state.events.subscribe(run_pk);
    let stopping = state.events.stopping();
    let revocations = state.events.revocations();
    let live = Live {
        _open: open,
        stopping,
        revocations,
        checked: Instant::now(),
        recheck_now: false,
        state,
        opener,
        run_pk,
        after,
        changes,
        run_seen: None,
        last_run: None,
        done: false,
    };
    Ok(stream::try_unfold(live, |mut live| async move {
        match live.next_chunk().await? {
            Some(chunk) => Ok(Some((chunk, live))),
            None => Ok(None),
        }
    }))
}

impl Live {
    /// The notice's batch, when it is exactly what this stream needs next and the run has not
    /// changed since it was last read: no database read at all.
    fn take_batch(&mut self, notice: &Notice) -> Option<Bytes> {
        let batch = notice.batch.as_ref()?;
        if self.run_seen != Some(notice.run_version) || batch.first != self.after + 1 {
            return None;
        }
        let mut out = String::new();
        for (i, entry) in batch.entries.iter().enumerate() {
            out.push_str(&format!(
                "id: {}\ndata: {entry}\n\n",
                batch.first + i as i64
            ));
        }
        self.after = batch.first + batch.entries.len() as i64 - 1;
        Some(Bytes::from(out))
    }

    /// Whether the stream may go on: its token has not expired, its credential still holds
    /// (checked every `RECHECK`, and at once after a revocation).
    async fn still_allowed(&mut self) -> Result<bool> {
        match &self.opener {
            Opener::Token { expires, .. } => Ok(clock::unix_now() <= *expires),
            Opener::Credential { recheck, .. } => {
                let revoked = self.recheck_now || self.revocations.has_changed().unwrap_or(false);
                if !revoked && self.checked.elapsed() < RECHECK {
                    return Ok(true);
                }
                self.revocations.borrow_and_update();
                self.recheck_now = false;
                let recheck = recheck.clone();
                let holds = self.state.db.read_light(move |c| recheck.holds(c)).await?;
                self.checked = Instant::now();
                Ok(holds)
            }
        }
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.done {
            return Ok(None);
        }
        loop {
            if !self.still_allowed().await? {
                self.done = true;
                return Ok(None);
            }
            // Mark the current notice seen before reading, so a change committed after the
            // read wakes the wait below.
            let notice = self.changes.borrow_and_update().clone();
            if let Some(chunk) = self.take_batch(&notice) {
                return Ok(Some(chunk));
            }
            self.run_seen = Some(notice.run_version);
            let (run_pk, after) = (self.run_pk, self.after);
            // The run first, then the entries: when the run reads as finished, every entry
            // committed before it finished is visible to the later read, so `end` never
            // comes before an acknowledged entry.
            // A run the command runner still holds gets more entries (stopping the command,
            // its exit) after its status is final: it ends once the runner lets go.
            let (mut run, attached, rows) = self
                .state
                .db
                .read(move |c| {
                    let run = db::runs::by_pk(c, run_pk)?;
                    let attached = db::run_keys::attached(c, run_pk)?;
                    Ok((run, attached, db::logs::page(c, run_pk, after, PAGE)?))
                })
                .await?;
            let mut out = String::new();
            for (seq, entry) in &rows {
                out.push_str(&format!("id: {seq}\ndata: {entry}\n\n"));
                self.after = *seq;
            }
            let signature = format!("{}|{}", run.updated_at, run.status);
            if let Opener::Credential { links, .. } = &self.opener
                && self.last_run.as_deref() != Some(signature.as_str())
            {
                links.run(&mut run);
                let json = serde_json::to_string(&run).map_err(Error::internal)?;
                out.push_str(&format!("event: run\ndata: {json}\n\n"));
                self.last_run = Some(signature);
            }
            let more = rows.len() as i64 == PAGE;
            if !more && is_terminal(&run.status) && !attached {
                // A token reads the log, not the run: its `end` says only where the log ends.
                let end = match self.opener {
                    Opener::Token { .. } => format!("{{\"last_event_id\":{}}}", self.after),
                    Opener::Credential { .. } => format!(
                        "{{\"status\":\"{}\",\"last_event_id\":{}}}",
                        run.status, self.after
                    ),
                };
                out.push_str(&format!("event: end\ndata: {end}\n\n"));
                self.done = true;
            }
            if !out.is_empty() {
                return Ok(Some(Bytes::from(out)));
            }
            if *self.stopping.borrow() {
                return Ok(None);
            }
            let (token, expires) = match &self.opener {
                Opener::Token { expires, .. } => (true, *expires),
                Opener::Credential { .. } => (false, 0),
            };
            let expiry = Instant::now()
                + Duration::from_secs((expires - clock::unix_now() + 1).max(0) as u64);
            tokio::select! {
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        return Ok(None);
                    }
                }
                // The server is stopping: end the stream; the client resumes elsewhere.
                _ = self.stopping.changed() => return Ok(None),
                // Checked again at the top of the loop.
                _ = self.revocations.changed(), if !token => self.recheck_now = true,
                _ = tokio::time::sleep_until(expiry), if token => {}
                _ = tokio::time::sleep(KEEP_ALIVE) => {
                    return Ok(Some(Bytes::from_static(b": keep-alive\n\n")));
                }
            }
        }
    }
}
