//! Figures for `/metrics`: plain SQL.

use rusqlite::Connection;

use crate::error::Result;

pub struct Gauges {
    pub runs_by_status: Vec<(String, i64)>,
    pub tasks: i64,
    pub log_bytes: i64,
}

pub fn gauges(conn: &Connection) -> Result<Gauges> {
    let mut stmt = conn
        .prepare_cached("SELECT status, COUNT(*) FROM task_runs GROUP BY status ORDER BY status")?;
    let runs_by_status = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let (tasks, log_bytes) = conn.query_row(
        "SELECT (SELECT COUNT(*) FROM tasks WHERE deleted_at IS NULL),
                (SELECT COALESCE(SUM(log_bytes), 0) FROM task_runs)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Gauges {
        runs_by_status,
        tasks,
        log_bytes,
    })
}
