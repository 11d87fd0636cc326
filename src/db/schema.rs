//! Schema set-up: a fresh database gets `schema.sql`; the version lives in
//! `PRAGMA user_version`, only moves forward, and a newer database is refused.

use rusqlite::Connection;

use crate::error::{Error, Result};

const SCHEMA: &str = include_str!("../../schema.sql");

/// The schema version this binary writes; `schema.sql` ends by setting it.
pub const VERSION: i64 = 6;

/// Steps from version N to N+1, applied in order to older databases. Index 0 upgrades
/// version 1 to 2, and so on; `schema.sql` always holds the result of all of them.
const UPGRADES: &[&str] = &[UPGRADE_2, UPGRADE_3, UPGRADE_4, UPGRADE_5, UPGRADE_6];

/// Version 2: the version counter behind the task list page cache.
const UPGRADE_2: &str = "\
-- A task list's pages are cached while their project is unchanged: `projects.version`
-- moves on every change a list page shows, whichever process makes it.
ALTER TABLE projects ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER tasks_insert_version AFTER INSERT ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id = NEW.project_id;
END;
CREATE TRIGGER tasks_update_version AFTER UPDATE ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id IN (OLD.project_id, NEW.project_id);
END;
CREATE TRIGGER tasks_delete_version AFTER DELETE ON tasks BEGIN
    UPDATE projects SET version = version + 1 WHERE id = OLD.project_id;
END;
CREATE TRIGGER runs_insert_version AFTER INSERT ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id = (SELECT project_id FROM tasks WHERE pk = NEW.task_pk);
END;
-- Log appends and runner bookkeeping change other columns, which no list shows.
CREATE TRIGGER runs_update_version AFTER UPDATE OF id, task_pk, stage, branch, status,
    environment, error_message, output, state, artifacts, created_at, updated_at,
    completed_at ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id IN (SELECT project_id FROM tasks WHERE pk IN (OLD.task_pk, NEW.task_pk));
END;
CREATE TRIGGER runs_delete_version AFTER DELETE ON task_runs BEGIN
    UPDATE projects SET version = version + 1
    WHERE id = (SELECT project_id FROM tasks WHERE pk = OLD.task_pk);
END;
-- A task shows its creator and its project's slug prefix.
CREATE TRIGGER users_update_version AFTER UPDATE OF uuid, distinct_id, first_name, last_name,
    email ON users BEGIN
    UPDATE projects SET version = version + 1;
END;
CREATE TRIGGER projects_name_version AFTER UPDATE OF name ON projects BEGIN
    UPDATE projects SET version = version + 1 WHERE id = NEW.id;
END;
";

/// Version 3: an event's payload is stored once, in `webhook_payloads`, however many
/// deliveries carry it. Each old delivery's whole body becomes its own payload.
const UPGRADE_3: &str = "\
CREATE TABLE webhook_payloads (
    id          INTEGER PRIMARY KEY,
    created_at  TEXT NOT NULL,
    data        TEXT NOT NULL
);
INSERT INTO webhook_payloads (id, created_at, data)
    SELECT pk, COALESCE(payload ->> '$.created_at', created_at), COALESCE(payload -> '$.data', 'null')
    FROM webhook_deliveries;
CREATE TABLE webhook_deliveries_3 (
    pk              INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    project_id      INTEGER NOT NULL REFERENCES projects(id),
    webhook_id      INTEGER REFERENCES webhooks(id),
    run_pk          INTEGER REFERENCES task_runs(pk),
    event           TEXT NOT NULL,
    url             TEXT NOT NULL,
    payload_id      INTEGER NOT NULL REFERENCES webhook_payloads(id),
    status          TEXT NOT NULL,
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    attempts        TEXT NOT NULL DEFAULT '[]',
    next_attempt_at TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT
);
INSERT INTO webhook_deliveries_3
    SELECT pk, id, project_id, webhook_id, run_pk, event, url, pk, status, attempt_count,
           attempts, next_attempt_at, created_at, finished_at
    FROM webhook_deliveries;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_3 RENAME TO webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_project ON webhook_deliveries(project_id, pk);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, pk);
CREATE INDEX webhook_deliveries_payload ON webhook_deliveries(payload_id);
";

/// Version 4: idempotent log appends.
const UPGRADE_4: &str = "\
-- The client's id of the last append_log batch stored, so that a retried batch that
-- had landed is not stored twice.
ALTER TABLE task_runs ADD COLUMN log_batch TEXT;
";

/// Version 5: the agent's event stream and the LLM gateway's usage, per run.
const UPGRADE_5: &str = "\
ALTER TABLE task_runs ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN llm_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN llm_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN llm_output_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN llm_cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE task_runs ADD COLUMN llm_cache_creation_tokens INTEGER NOT NULL DEFAULT 0;
";

/// Version 6: the event ids of PostHog's agent, so that an event it sends on both paths
/// is stored once; and the LLM gateway finds a run by its key without a scan.
const UPGRADE_6: &str = "\
CREATE INDEX task_runs_runner_key ON task_runs(runner_key_id) WHERE runner_key_id IS NOT NULL;
CREATE TABLE log_event_ids (
    run_pk  INTEGER NOT NULL REFERENCES task_runs(pk),
    boot    TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (run_pk, boot, n)
) WITHOUT ROWID;
";

pub fn migrate(conn: &mut Connection) -> Result<()> {
    // IMMEDIATE: a server and a command starting together on a fresh folder must not both
    // apply the schema.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::unexpected(format!(
            "this database was written by a newer Burrow (schema version {found}; this binary \
             knows up to {VERSION}). Upgrade Burrow or restore a backup; refusing to start."
        )));
    }
    if found == VERSION {
        return Ok(());
    }
    if found == 0 {
        tx.execute_batch(SCHEMA)?;
    } else {
        for step in &UPGRADES[(found - 1) as usize..] {
            tx.execute_batch(step)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {VERSION}"))?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_sql_sets_the_version_this_binary_expects() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, VERSION);
        assert_eq!(UPGRADES.len() as i64, VERSION - 1);
    }

    /// Every column, index and trigger, by table: what a database is, whatever way it came.
    fn shape(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT type, name, tbl_name FROM sqlite_master ORDER BY type, name")
            .unwrap();
        let objects: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let mut shape = Vec::new();
        for (kind, name, table) in objects {
            shape.push(format!("{kind} {name} on {table}"));
            if kind == "table" {
                let mut cols = conn
                    .prepare(&format!("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"))
                    .unwrap();
                let cols: Vec<String> = cols
                    .query_map([], |r| {
                        Ok(format!(
                            "  {} {} {} {:?} {}",
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, i64>(4)?
                        ))
                    })
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                shape.extend(cols);
            }
        }
        shape
    }

    /// Turns a fresh database into a version 2 one: deliveries held their whole body.
    fn at_version_2(conn: &Connection) {
        conn.execute_batch(
            "DROP TABLE webhook_deliveries; DROP TABLE webhook_payloads;
             CREATE TABLE webhook_deliveries (
                 pk              INTEGER PRIMARY KEY,
                 id              TEXT NOT NULL UNIQUE,
                 project_id      INTEGER NOT NULL REFERENCES projects(id),
                 webhook_id      INTEGER REFERENCES webhooks(id),
                 run_pk          INTEGER REFERENCES task_runs(pk),
                 event           TEXT NOT NULL,
                 url             TEXT NOT NULL,
                 payload         TEXT NOT NULL,
                 status          TEXT NOT NULL,
                 attempt_count   INTEGER NOT NULL DEFAULT 0,
                 attempts        TEXT NOT NULL DEFAULT '[]',
                 next_attempt_at TEXT,
                 created_at      TEXT NOT NULL,
                 finished_at     TEXT
             );
             CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at)
                 WHERE status = 'pending';
             CREATE INDEX webhook_deliveries_project ON webhook_deliveries(project_id, pk);
             CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, pk);
             ALTER TABLE task_runs DROP COLUMN log_batch;
             ALTER TABLE task_runs DROP COLUMN event_seq;
             ALTER TABLE task_runs DROP COLUMN llm_requests;
             ALTER TABLE task_runs DROP COLUMN llm_input_tokens;
             ALTER TABLE task_runs DROP COLUMN llm_output_tokens;
             ALTER TABLE task_runs DROP COLUMN llm_cache_read_tokens;
             ALTER TABLE task_runs DROP COLUMN llm_cache_creation_tokens;
             DROP TABLE log_event_ids;
             DROP INDEX task_runs_runner_key;
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }

    #[test]
    fn an_upgraded_database_is_shaped_as_a_fresh_one() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        let mut two = Connection::open_in_memory().unwrap();
        migrate(&mut two).unwrap();
        at_version_2(&two);
        migrate(&mut two).unwrap();
        assert_eq!(shape(&two), shape(&fresh));

        // Version 1 was version 2 without the list version counter (and version 2 had no log
        // batch id, added in version 4).
        let mut old = Connection::open_in_memory().unwrap();
        migrate(&mut old).unwrap();
        at_version_2(&old);
        let triggers: Vec<String> = old
            .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(triggers.len(), 8);
        for t in triggers {
            old.execute_batch(&format!("DROP TRIGGER {t}")).unwrap();
        }
        old.execute_batch(
            "ALTER TABLE projects DROP COLUMN version;
             PRAGMA user_version = 1;",
        )
        .unwrap();
        migrate(&mut old).unwrap();
        assert_eq!(shape(&old), shape(&fresh));
    }

    #[test]
    fn upgraded_deliveries_send_the_body_they_held() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        crate::db::identity::seed(&conn).unwrap();
        at_version_2(&conn);
        let body = r#"{"id":"d1","event":"task.created","created_at":"2024-01-02T03:04:05.000006Z","project_id":1,"data":{"task":{"id":"t","title":"é \"q\""}}}"#;
        conn.execute(
            "INSERT INTO webhook_deliveries (id, project_id, event, url, payload, status,
               next_attempt_at, created_at)
             VALUES ('d1', 1, 'task.created', 'http://x/', ?1, 'pending', 'n', 'c')",
            [body],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (created_at, data): (String, String) = conn
            .query_row(
                "SELECT p.created_at, p.data FROM webhook_deliveries d
                 JOIN webhook_payloads p ON p.id = d.payload_id WHERE d.id = 'd1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let rebuilt = crate::db::outbox::body("d1", "task.created", &created_at, 1, &data);
        assert_eq!(rebuilt, body);
    }

    #[test]
    fn a_list_version_moves_with_what_a_list_shows_and_only_that() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        crate::db::identity::seed(&conn).unwrap();
        let version = |c: &Connection| -> i64 {
            c.query_row("SELECT version FROM projects WHERE id = 1", [], |r| {
                r.get(0)
            })
            .unwrap()
        };
        let mut last = version(&conn);
        let mut moves = |c: &Connection, sql: &str, expected: bool| {
            c.execute_batch(sql).unwrap();
            let now = version(c);
            assert_eq!(now != last, expected, "{sql}");
            last = now;
        };
        moves(
            &conn,
            "INSERT INTO tasks (id, project_id, task_number, title, description, origin_product, created_at, updated_at) VALUES ('t', 1, 0, 'T', 'd', 'user_created', 'x', 'x')",
            true,
        );
        moves(
            &conn,
            "INSERT INTO task_runs (id, task_pk, status, environment, created_at, updated_at) VALUES ('r', 1, 'queued', 'cloud', 'x', 'x')",
            true,
        );
        moves(
            &conn,
            "UPDATE task_runs SET log_count = 5, log_bytes = 9, last_activity_at = 'y'",
            false,
        );
        moves(&conn, "UPDATE task_runs SET status = 'in_progress'", true);
        moves(&conn, "UPDATE tasks SET title = 'U'", true);
        moves(&conn, "UPDATE projects SET name = 'Renamed'", true);
        moves(&conn, "UPDATE projects SET live_tasks = 3", false);
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer Burrow"), "{err}");
    }
}
