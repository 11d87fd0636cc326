//! Timestamps as the API writes them: ISO-8601 UTC with microseconds and a `Z`.

use chrono::{SecondsFormat, Utc};

pub fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Seconds since the Unix epoch, for expiring tokens.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// The timestamp `d` from now (`ago`: before now), as `now` writes them, so it compares
/// with stored timestamps as text.
pub fn offset(d: std::time::Duration, ago: bool) -> String {
    let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let now = Utc::now();
    let at = if ago {
        now.checked_sub_signed(d)
    } else {
        now.checked_add_signed(d)
    };
    at.unwrap_or(now)
        .to_rfc3339_opts(SecondsFormat::Micros, true)
}
