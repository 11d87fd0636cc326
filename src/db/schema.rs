//! Schema set-up: a fresh database gets `schema.sql`; the version lives in
//! `PRAGMA user_version`, only moves forward, and a newer database is refused.

use rusqlite::Connection;

use crate::error::{Error, Result};

const SCHEMA: &str = include_str!("../../schema.sql");

/// The schema version this binary writes; `schema.sql` ends by setting it.
pub const VERSION: i64 = 1;

/// Steps from version N to N+1, applied in order to older databases. Index 0 upgrades
/// version 1 to 2, and so on; `schema.sql` always holds the result of all of them.
const UPGRADES: &[&str] = &[];

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

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer Burrow"), "{err}");
    }
}
