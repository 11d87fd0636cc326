//! Timestamps as the API writes them: ISO-8601 UTC with microseconds and a `Z`.

use chrono::{SecondsFormat, Utc};

pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Seconds since the Unix epoch, for expiring tokens.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}
