//! The run's vocabulary: its statuses (and which of them are final) and its environments,
//! as the API, the database and the webhook payloads spell them.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// Where a run stands. `completed`, `failed` and `cancelled` are final (`is_terminal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotStarted,
    Queued,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

/// Where a run's agent works: on the caller's machine, or handed to Burrow's runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Local,
    Cloud,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::NotStarted,
        Status::Queued,
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::Queued => "queued",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    /// A run that is over: it is never claimed, swept or ended again.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Cancelled)
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A stored status; what Burrow never writes reads as `not_started`.
    pub fn of(text: &str) -> Status {
        Status::parse(text).unwrap_or(Status::NotStarted)
    }
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Local, Environment::Cloud];

    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Local => "local",
            Environment::Cloud => "cloud",
        }
    }

    pub fn parse(text: &str) -> Option<Environment> {
        Environment::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// Every status, as a request may name it.
pub const STATUSES: &[&str] = &names(Status::ALL);
/// The final statuses.
pub const TERMINAL: &[&str] = &{
    let all = names(Status::ALL);
    [all[3], all[4], all[5]]
};
pub const ENVIRONMENTS: &[&str] = &[Environment::Local.as_str(), Environment::Cloud.as_str()];

const fn names(all: [Status; 6]) -> [&'static str; 6] {
    let mut out = [""; 6];
    let mut i = 0;
    while i < all.len() {
        out[i] = all[i].as_str();
        i += 1;
    }
    out
}

/// Whether a stored status is final.
pub fn is_terminal(status: &str) -> bool {
    Status::parse(status).is_some_and(Status::is_terminal)
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Stores an enum as its text, and reads it back, refusing text it does not know.
macro_rules! as_sql_text {
    ($t:ty, $what:literal) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$t> {
                let text = value.as_str()?;
                <$t>::parse(text)
                    .ok_or_else(|| FromSqlError::Other(format!("{} {text:?}", $what).into()))
            }
        }
    };
}

as_sql_text!(Status, "run status");
as_sql_text!(Environment, "run environment");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_set_is_the_statuses_that_are_over() {
        let terminal: Vec<&str> = Status::ALL
            .into_iter()
            .filter(|s| s.is_terminal())
            .map(Status::as_str)
            .collect();
        assert_eq!(terminal, TERMINAL);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }
}
