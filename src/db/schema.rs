//! Schema set-up: a fresh database gets `schema.sql`; the version lives in
//! `PRAGMA user_version`, only moves forward, and a newer database is refused.

use rusqlite::Connection;

use crate::error::{Error, Result};

const SCHEMA: &str = include_str!("../../schema.sql");

/// The schema version this binary writes; `schema.sql` ends by setting it.
pub const VERSION: i64 = 3;

/// Steps from version N to N+1, applied in order to older databases. Index 0 upgrades
/// version 1 to 2, and so on; `schema.sql` always holds the result of all of them.
const UPGRADES: &[&str] = &[UPGRADE_2, UPGRADE_3];

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

/// Version 3: idempotent log appends.
const UPGRADE_3: &str = "\
-- The client's id of the last append_log batch stored, so that a retried batch that
-- had landed is not stored twice.
ALTER TABLE task_runs ADD COLUMN log_batch TEXT;
";

pub fn migrate(conn: &mut Connection) -> Result<()> {
    // IMMEDIATE: a server and a command starting together on a fresh folder must not both
    // apply the schema.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(Error::Internal(format!(
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

    #[test]
    fn an_upgraded_database_is_shaped_as_a_fresh_one() {
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        // Version 1 was version 3 without the list version counter and the log batch id.
        let mut old = Connection::open_in_memory().unwrap();
        migrate(&mut old).unwrap();
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
            "ALTER TABLE projects DROP COLUMN version; ALTER TABLE task_runs DROP COLUMN log_batch;
             PRAGMA user_version = 1;",
        )
        .unwrap();
        migrate(&mut old).unwrap();
        assert_eq!(shape(&old), shape(&fresh));
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
