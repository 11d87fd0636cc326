//! The server's SQLite file read directly: for states the API cannot reach yet, and for
//! checks on what was stored.

use std::time::Duration;

use rusqlite::{Connection, Params};

use super::Server;

impl Server {
    /// A read-write connection to the server's SQLite file, for setting up states the API
    /// cannot reach yet.
    pub fn sqlite(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.dir.join("burrow.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }
}

/// The one integer `sql` answers with `params`, e.g. a `COUNT(*)`.
pub fn count(conn: &Connection, sql: &str, params: impl Params) -> i64 {
    conn.query_row(sql, params, |r| r.get(0)).unwrap()
}

/// Asserts SQLite finds the file sound.
pub fn assert_integrity(conn: &Connection) {
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// Asserts no two tasks of a project share a number.
pub fn assert_unique_task_numbers(conn: &Connection) {
    let sql = "SELECT COUNT(*) FROM (SELECT task_number FROM tasks GROUP BY project_id, task_number HAVING COUNT(*) > 1)";
    assert_eq!(count(conn, sql, []), 0, "duplicate task numbers");
}
