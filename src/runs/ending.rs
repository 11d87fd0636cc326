//! How runs end outside a caller's PATCH: a runner settling or abandoning its run, runs left
//! by a stopped server, and runs stuck past their limits (the sweeper).

use rusqlite::Connection;

use super::Runs;
use super::Status;
use super::lifecycle;
use crate::db::run_keys;
use crate::db::run_status::{self as db_run_status, Limit};
use crate::db::runs as db_runs;
use crate::error::Result;

impl Runs<'_> {
    /// Ends a command's run with `status` unless it already ended (then only notes `why`),
    /// and revokes its temporary key.
    pub async fn settle(&self, run_pk: i64, status: Status, why: String) -> Result<()> {
        self.write(Some(run_pk), move |c, announce| {
            let error = (status == Status::Failed).then_some(why.as_str());
            if lifecycle::end(c, run_pk, status, error, &why, announce)?.is_none() {
                lifecycle::note(c, run_pk, "info", &why)?;
            }
            run_keys::revoke(c, run_pk)
        })
        .await
    }

    /// Fails a run its runner let go of without settling it (a finished run stays as it
    /// is, with no note), and revokes its temporary key.
    pub async fn abandon(&self, run_pk: i64, why: &'static str) -> Result<()> {
        self.write(Some(run_pk), move |c, announce| {
            lifecycle::end(c, run_pk, Status::Failed, Some(why), why, announce)?;
            run_keys::revoke(c, run_pk)
        })
        .await
    }

    /// Fails the runs whose command was running when Burrow last stopped; those it ended.
    pub async fn fail_orphans(&self) -> Result<Vec<i64>> {
        let ended = self
            .write(None, move |c, announce| {
                let mut ended = Vec::new();
                for pk in run_keys::orphans(c)? {
                    let why = "Burrow stopped while this run's command was running.";
                    if lifecycle::end(c, pk, Status::Failed, Some(why), why, announce)?.is_some() {
                        ended.push(pk);
                    }
                    run_keys::revoke(c, pk)?;
                }
                Ok(ended)
            })
            .await?;
        for pk in &ended {
            self.events.notify(*pk);
        }
        Ok(ended)
    }

    /// The runs past a stuck-run limit (see `db::run_status::stuck`), as of a read.
    pub async fn stuck(&self, before: Before) -> Result<Vec<(i64, Limit)>> {
        self.db.read(move |c| stuck_in(c, &before)).await
    }

    /// Fails each run with its message, if it is still stuck as seen by the writer.
    pub async fn fail_stuck(&self, failing: Vec<(i64, String)>, before: Before) -> Result<()> {
        let ended = self
            .write(None, move |c, announce| {
                // Check again in the writer: an append may have landed since the read.
                let still = stuck_in(c, &before)?;
                let mut ended = Vec::new();
                for (pk, why) in failing {
                    if !still.iter().any(|(p, _)| *p == pk) {
                        continue;
                    }
                    if lifecycle::end(c, pk, Status::Failed, Some(&why), &why, announce)?.is_some()
                    {
                        ended.push(pk);
                    }
                }
                Ok(ended)
            })
            .await?;
        for pk in ended {
            self.events.notify(pk);
        }
        Ok(())
    }

    /// The run's status now.
    pub async fn status(&self, run_pk: i64) -> Result<Status> {
        self.db
            .read(move |c| db_runs::status_of::<Status>(c, run_pk))
            .await
    }
}

/// The times before which a run counts as stuck: queued, idle, and overall (`None`: no
/// limit).
pub type Before = (Option<String>, Option<String>, Option<String>);

fn stuck_in(c: &Connection, (queued, idle, started): &Before) -> Result<Vec<(i64, Limit)>> {
    db_run_status::stuck(
        c,
        (&Status::Queued, &Status::InProgress),
        queued.as_deref(),
        idle.as_deref(),
        started.as_deref(),
    )
}
