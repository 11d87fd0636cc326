//! The operations on runs that handlers and background jobs call: create or queue, patch,
//! set output, cancel, claim, append to the log, add artifacts, end. Each is one write that
//! announces its webhook events inside it (see `lifecycle`) and wakes the run's live streams
//! after it commits.

use rusqlite::Connection;
use serde_json::Value;

use super::{Environment, RunChanges, Status, is_terminal, new_run, validate_output};
use super::{event_ids, lifecycle};
use crate::artifacts::Entry;
use crate::db::identity::Project;
use crate::db::logs::{self as db_logs, Appended as Stored};
use crate::db::run_status as db_run_status;
use crate::db::runs::{self as db_runs, NewRun, Run};
use crate::db::tasks::{self as db_tasks, Task};
use crate::db::{Db, artifacts as db_artifacts, run_keys};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::webhooks::Announcer;

/// The run operations, wired to a database, the live streams and an announcer.
pub struct Runs<'a> {
    pub(super) db: &'a Db,
    pub(super) events: &'a Events,
    pub(super) announce: Announcer,
}

/// What the command runner's claim came to.
pub enum Claimed {
    Nothing,
    /// A run was claimed but its key could not be made: the run has failed.
    Refused,
    /// The run, now in progress, and the value of its temporary key.
    Started(Box<Run>, String),
}

impl<'a> Runs<'a> {
    pub fn new(db: &'a Db, events: &'a Events, announce: Announcer) -> Runs<'a> {
        Runs {
            db,
            events,
            announce,
        }
    }

    /// One write about run `run_pk`, whose streams are woken once it commits; `f` gets the
    /// announcer for the `lifecycle` functions it calls.
    pub async fn write<T, F>(&self, run_pk: Option<i64>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Announcer) -> Result<T> + Send + 'static,
    {
        let announce = self.announce.clone();
        let out = self.db.write(move |c| f(c, &announce)).await?;
        if let Some(pk) = run_pk {
            self.events.notify(pk);
        }
        Ok(out)
    }

    /// A read, for the operations in sibling modules.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.db.read(f).await
    }

    /// Wakes run `run_pk`'s live streams, for writes that learn the run inside them.
    pub(super) fn notify(&self, run_pk: i64) {
        self.events.notify(run_pk);
    }

    /// `POST runs/`: a new run of the project's task.
    pub async fn create(&self, project: Project, task_id: String, new: NewRun) -> Result<Run> {
        self.write(None, move |c, announce| {
            let task = db_tasks::get(c, &project, &task_id)?;
            let pk = db_runs::insert(c, task.pk, &new)?;
            let run = db_runs::by_pk(c, pk)?;
            lifecycle::created(c, &run, announce)?;
            Ok(run)
        })
        .await
    }

    /// `POST tasks/:id/run/`: a new queued cloud run; the task, with it as `latest_run`.
    pub async fn queue(&self, project: Project, task_id: String) -> Result<Task> {
        self.write(None, move |c, announce| {
            let task = db_tasks::get(c, &project, &task_id)?;
            let new = new_run(Status::Queued, Environment::Cloud);
            let pk = db_runs::insert(c, task.pk, &new)?;
            lifecycle::created(c, &db_runs::by_pk(c, pk)?, announce)?;
            db_tasks::get(c, &project, &task_id)
        })
        .await
    }

    /// A follow-up to a finished run, resumed the way PostHog resumes a cloud run: a new
    /// queued cloud run of the same task, on the old run's branch, whose state holds the
    /// message (`pending_user_message`) and the run it resumes (`resume_from_run_id`), which
    /// agent-server reads when it starts. `None` when the run is still going: the message
    /// is for its live agent.
    pub async fn resume(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
        text: String,
    ) -> Result<Option<Run>> {
        let resumed = self
            .write(None, move |c, announce| {
                let old = db_runs::find(c, project_id, &task_id, &run_id)?;
                if !is_terminal(&old.status) {
                    return Ok(None);
                }
                let state = serde_json::json!({
                    "pending_user_message": text,
                    "resume_from_run_id": old.id,
                });
                let new = NewRun {
                    branch: old.branch.clone(),
                    state: Some(state.to_string()),
                    ..new_run(Status::Queued, Environment::Cloud)
                };
                let pk = db_runs::insert(c, db_runs::task_pk(c, old.pk)?, &new)?;
                let run = db_runs::by_pk(c, pk)?;
                lifecycle::created(c, &run, announce)?;
                Ok(Some(run))
            })
            .await?;
        if let Some(run) = &resumed {
            self.events.notify(run.pk);
        }
        Ok(resumed)
    }

    /// PATCH: merges `state` and `output` key by key inside the writer, so concurrent
    /// PATCHes that touch different keys all persist (see `lifecycle::patch`).
    pub async fn patch(
        &self,
        ids: (i64, String, String),
        changes: RunChanges,
        admin: bool,
    ) -> Result<Run> {
        self.change(ids, admin, move |_| Ok(changes)).await
    }

    /// What a person tells a run's agent (see `answers`): the change `change` makes of the
    /// run as it is inside the write, applied as a PATCH would be.
    pub async fn tell<F>(&self, ids: (i64, String, String), change: F) -> Result<Run>
    where
        F: FnOnce(&Run) -> Result<RunChanges> + Send + 'static,
    {
        self.change(ids, false, change).await
    }

    /// Applies, as a PATCH, the changes `change` makes of the run as it is inside the write.
    async fn change<F>(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
        admin: bool,
        change: F,
    ) -> Result<Run>
    where
        F: FnOnce(&Run) -> Result<RunChanges> + Send + 'static,
    {
        let run = self
            .write(None, move |c, announce| {
                let run = db_runs::find(c, project_id, &task_id, &run_id)?;
                let changes = change(&run)?;
                lifecycle::patch(c, &run, changes, admin, announce)
            })
            .await?;
        self.events.notify(run.pk);
        Ok(run)
    }

    /// `set_output/`: replaces the output, checked against the task's JSON Schema.
    pub async fn set_output(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
        output: Value,
    ) -> Result<Run> {
        let (run, schema) = self
            .db
            .read(move |c| {
                let run = db_runs::find(c, project_id, &task_id, &run_id)?;
                let schema = db_runs::task_schema(c, run.pk)?;
                Ok((run, schema))
            })
            .await?;
        if let Some(schema) = schema {
            validate_output(&schema, &output)?;
        }
        let text = output.to_string();
        self.write(Some(run.pk), move |c, _| {
            db_run_status::touch(c, run.pk)?;
            db_runs::set_output(c, run.pk, &text)
        })
        .await
    }

    /// `cancel/`: the run, cancelled unless it had already finished.
    pub async fn cancel(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
    ) -> Result<Run> {
        let run = self
            .write(None, move |c, announce| {
                let run = db_runs::find(c, project_id, &task_id, &run_id)?;
                lifecycle::cancel(c, &run, announce)
            })
            .await?;
        self.events.notify(run.pk);
        Ok(run)
    }

    /// Hands the oldest queued cloud run (of `project_id`, or of any project) to the caller,
    /// now in progress.
    pub async fn claim(&self, project_id: Option<i64>) -> Result<Option<Run>> {
        let run = self
            .write(None, move |c, announce| claim_in(c, project_id, announce))
            .await?;
        if let Some(run) = &run {
            self.events.notify(run.pk);
        }
        Ok(run)
    }

    /// The command runner's claim: the oldest queued run and its temporary key, in one write.
    pub async fn claim_with_key(&self) -> Result<Claimed> {
        let claimed = self
            .write(None, move |c, announce| {
                let Some(run) = claim_in(c, None, announce)? else {
                    return Ok(Claimed::Nothing);
                };
                match run_keys::issue(c, run.pk) {
                    Ok(key) => Ok(Claimed::Started(Box::new(run), key)),
                    Err(e) => {
                        let why = format!("The command runner could not make the run's key: {e}");
                        lifecycle::end(c, run.pk, Status::Failed, Some(&why), &why, announce)?;
                        Ok(Claimed::Refused)
                    }
                }
            })
            .await?;
        if let Claimed::Started(run, _) = &claimed {
            self.events.notify(run.pk);
        }
        Ok(claimed)
    }

    /// `append_log/`: answers once the entries are committed. An append that would cross
    /// the cap of `cap` bytes is a 413, and the first such append leaves one marker entry.
    /// A `batch` id equal to the last one stored is a retry of an append that landed: it is
    /// answered without storing the entries again. So is an entry whose event the log
    /// already holds (`event_ids`).
    pub async fn append_log(
        &self,
        (project_id, task_id, run_id): (i64, String, String),
        entries: Vec<String>,
        cap: i64,
        batch: Option<String>,
    ) -> Result<Run> {
        let tagged = event_ids::tag(entries);
        let (run, stored, entries) = self
            .db
            .write(move |c| {
                let run = db_runs::find(c, project_id, &task_id, &run_id)?;
                let entries = event_ids::keep_new(c, run.pk, tagged)?;
                if entries.is_empty() {
                    // Every entry was an event the log holds (see `event_ids`).
                    return Ok((run, Stored::Repeated, entries));
                }
                let stored = db_logs::append_batch(c, run.pk, &entries, cap, batch.as_deref())?;
                if stored == Stored::OverCap {
                    db_run_status::touch(c, run.pk)?;
                }
                Ok((run, stored, entries))
            })
            .await?;
        match stored {
            Stored::Stored { first, .. } => self.events.appended(run.pk, first, entries),
            // The truncation marker was written: streams read it from the database.
            Stored::OverCap => {
                self.events.notify(run.pk);
                return Err(Error::TooLarge(format!(
                    "This run's log has reached its limit of {cap} bytes."
                )));
            }
            Stored::Repeated => {}
        }
        Ok(run)
    }

    /// Lines of a command's output, as activity on its run.
    pub async fn log_output(&self, run_pk: i64, batch: Vec<String>, cap: i64) -> Result<()> {
        self.write(Some(run_pk), move |c, _| {
            db_logs::append(c, run_pk, &batch, cap)?;
            db_run_status::touch(c, run_pk)
        })
        .await
    }

    /// A log entry of Burrow's own on run `run_pk`.
    pub async fn note(&self, run_pk: i64, level: &'static str, message: String) -> Result<()> {
        self.write(Some(run_pk), move |c, _| {
            lifecycle::note(c, run_pk, level, &message)
        })
        .await
    }

    /// Adds stored artifacts to the run's manifest, as activity, and announces them, after
    /// `first` (in the same write) passes; returns the whole manifest.
    pub async fn add_artifacts<F>(
        &self,
        run_pk: i64,
        entries: Vec<Entry>,
        first: F,
    ) -> Result<String>
    where
        F: FnOnce(&Connection) -> Result<()> + Send + 'static,
    {
        self.write(Some(run_pk), move |c, announce| {
            first(c)?;
            let manifest = db_artifacts::append(c, run_pk, &entries)?;
            db_run_status::touch(c, run_pk)?;
            announce.artifacts_uploaded(c, &db_runs::by_pk(c, run_pk)?, &entries)?;
            Ok(manifest)
        })
        .await
    }
}

fn claim_in(c: &Connection, project_id: Option<i64>, announce: &Announcer) -> Result<Option<Run>> {
    let claimed = db_run_status::claim(
        c,
        project_id,
        Status::Queued,
        Environment::Cloud,
        Status::InProgress,
    )?;
    let Some(pk) = claimed else {
        return Ok(None);
    };
    let run = db_runs::by_pk(c, pk)?;
    lifecycle::changed(c, Status::Queued.as_str(), &run, announce)?;
    Ok(Some(run))
}
