//! `burrow export` writes the organization, its users, projects, integrations, tasks, runs
//! and logs as JSON Lines, one row per line (`{"table": …, "row": {…}}`), streamed; `burrow
//! import` reads such a file into an empty data folder, keeping every id. Keys, sessions and
//! the signing key are not exported: they are secrets of one installation. Password hashes
//! are left out too unless asked for; users imported without one set a new password.
//! Artifact contents follow the rows with `--with-artifacts` (see `artifacts::carry`).

use std::io::{BufRead, Write};

use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, TransactionBehavior, params_from_iter};
use serde_json::{Map, Value, json};

use crate::artifacts::carry;
use crate::error::{Error, Result};

/// The tables exported, in an order that satisfies their foreign keys on import.
const TABLES: &[&str] = &[
    "organizations",
    "projects",
    "users",
    "memberships",
    "integrations",
    "tasks",
    "task_runs",
    "log_entries",
];

/// Secret columns, written only with `--include-secrets`: an argon2 hash can be attacked
/// offline by whoever holds the file.
const SECRET_COLUMNS: &[(&str, &str)] = &[("users", "password_hash")];

/// Writes every exported table to `out`, with the secret columns when `secrets`; returns the
/// number of rows.
pub fn export(conn: &Connection, out: &mut impl Write, secrets: bool) -> Result<u64> {
    let header =
        json!({"table": "burrow_export", "row": {"schema_version": crate::db::SCHEMA_VERSION}});
    writeln!(out, "{header}")?;
    let mut rows = 0;
    for table in TABLES {
        // memberships has no rowid; its key orders it.
        let order = if *table == "memberships" {
            "1, 2"
        } else {
            "rowid"
        };
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
        let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
        let left_out: Vec<bool> = names
            .iter()
            .map(|n| !secrets && SECRET_COLUMNS.contains(&(*table, n.as_str())))
            .collect();
        let mut cursor = stmt.query([])?;
        while let Some(r) = cursor.next()? {
            let mut row = Map::new();
            for (i, name) in names.iter().enumerate() {
                if left_out[i] {
                    continue;
                }
                let value = match r.get_ref(i)? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => json!(n),
                    ValueRef::Real(f) => json!(f),
                    ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => continue,
                };
                row.insert(name.clone(), value);
            }
            writeln!(out, "{}", json!({"table": table, "row": row}))?;
            rows += 1;
        }
    }
    out.flush()?;
    Ok(rows)
}

/// Reads an export into this database, which must hold no users and no tasks yet.
/// Artifact objects in the file (`export --with-artifacts`) go to `put`.
pub fn import(
    conn: &mut Connection,
    input: impl BufRead,
    put: &mut dyn FnMut(String, Vec<u8>) -> Result<()>,
) -> Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let used: i64 = tx.query_row(
        "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM tasks)",
        [],
        |r| r.get(0),
    )?;
    if used > 0 {
        return Err(Error::unexpected(
            "this data folder already has users or tasks; import into an empty one".into(),
        ));
    }
    let mut rows = 0;
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::unexpected(format!("line {}: {why}", n + 1));
        let item: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let table = item["table"].as_str().unwrap_or_default();
        if table == "burrow_export" {
            let version = item["row"]["schema_version"].as_i64().unwrap_or(0);
            if version > crate::db::SCHEMA_VERSION {
                return Err(bad(format!("written by a newer Burrow (schema {version})")));
            }
            continue;
        }
        if table == carry::TABLE {
            let (path, bytes) = carry::decode(&item["row"]).map_err(bad)?;
            put(path, bytes)?;
            continue;
        }
        if !TABLES.contains(&table) {
            return Err(bad(format!("unknown table {table:?}")));
        }
        let row = item["row"]
            .as_object()
            .ok_or_else(|| bad("no row".into()))?;
        let columns: Vec<&String> = row.keys().collect();
        if columns
            .iter()
            .any(|c| !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_'))
        {
            return Err(bad("a column name is not valid".into()));
        }
        let values: Vec<SqlValue> = row.values().map(sql_value).collect();
        // The fresh folder's own organization and project are replaced by the exported ones.
        let verb = if matches!(table, "organizations" | "projects") {
            "INSERT OR REPLACE"
        } else {
            "INSERT"
        };
        let sql = format!(
            "{verb} INTO {table} ({}) VALUES ({})",
            columns
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            (1..=columns.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        tx.prepare_cached(&sql)?
            .execute(params_from_iter(values.iter()))
            .map_err(|e| bad(e.to_string()))?;
        rows += 1;
    }
    tx.commit()?;
    Ok(rows)
}

fn sql_value(v: &Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(*b as i64),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}
