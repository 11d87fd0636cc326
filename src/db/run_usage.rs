//! What the LLM gateway forwarded for each run: requests and tokens by kind, kept on the
//! run so a budget can be checked against them.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// Tokens of one model request, or a run's totals, as Anthropic's `usage` counts them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_creation: i64,
}

impl Usage {
    /// Every token the model read or wrote.
    pub fn total(&self) -> i64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_creation)
    }
}

/// The run whose temporary key has id `key_id`, with its project, if it is a run's key.
pub fn run_of_key(conn: &Connection, key_id: &str) -> Result<Option<(i64, i64)>> {
    run_where(conn, "r.runner_key_id = ?1", key_id)
}

/// The run with id `run_id`, with its project.
pub fn run_by_id(conn: &Connection, run_id: &str) -> Result<Option<(i64, i64)>> {
    run_where(conn, "r.id = ?1", run_id)
}

/// The run (pk, project) where `condition` holds for `value`.
fn run_where(conn: &Connection, condition: &str, value: &str) -> Result<Option<(i64, i64)>> {
    let sql = format!(
        "SELECT r.pk, t.project_id FROM task_runs r JOIN tasks t ON t.pk = r.task_pk
         WHERE {condition}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([value], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The run's requests and token totals so far.
pub fn totals(conn: &Connection, run_pk: i64) -> Result<(i64, Usage)> {
    Ok(conn
        .prepare_cached(
            "SELECT llm_requests, llm_input_tokens, llm_output_tokens, llm_cache_read_tokens,
                    llm_cache_creation_tokens
             FROM task_runs WHERE pk = ?1",
        )?
        .query_row([run_pk], |r| {
            Ok((
                r.get(0)?,
                Usage {
                    input: r.get(1)?,
                    output: r.get(2)?,
                    cache_read: r.get(3)?,
                    cache_creation: r.get(4)?,
                },
            ))
        })?)
}

/// Adds one request's usage to the run's totals.
pub fn add(conn: &Connection, run_pk: i64, usage: &Usage) -> Result<()> {
    conn.prepare_cached(
        "UPDATE task_runs SET llm_requests = llm_requests + 1,
             llm_input_tokens = llm_input_tokens + ?2,
             llm_output_tokens = llm_output_tokens + ?3,
             llm_cache_read_tokens = llm_cache_read_tokens + ?4,
             llm_cache_creation_tokens = llm_cache_creation_tokens + ?5
         WHERE pk = ?1",
    )?
    .execute(params![
        run_pk,
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_creation
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each model request looks its key's run up: through the index, not a scan of runs.
    #[test]
    fn a_key_finds_its_run_through_the_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT r.pk, t.project_id FROM task_runs r
                 JOIN tasks t ON t.pk = r.task_pk WHERE r.runner_key_id = ?1",
            )
            .unwrap()
            .query_map(["k"], |r| r.get::<_, String>(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(
            plan.iter().any(|l| l.contains("task_runs_runner_key")),
            "{plan:?}"
        );
    }
}
