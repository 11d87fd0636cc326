//! Durations as settings take them and messages show them: seconds (`90`) or numbers with
//! units (`500ms`, `30s`, `30m`, `1h`, `2d`, `1h30m`).

use std::time::Duration;

/// A duration as seconds (`90`) or with units: `500ms`, `30s`, `30m`, `1h`, `2d`, `1h30m`.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || {
        format!("invalid duration {text:?}: use seconds (90) or units (500ms, 30s, 30m, 1h, 2d)")
    };
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let amount: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let millis = match &rest[..unit] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let add = amount.checked_mul(millis).ok_or_else(bad)?;
        total = total
            .checked_add(Duration::from_millis(add))
            .ok_or_else(bad)?;
        rest = &rest[unit..];
    }
    if text.is_empty() {
        Err(bad())
    } else {
        Ok(total)
    }
}

/// A duration the way `duration` reads them: `1h30m`, `45s`, `500ms`.
pub fn humane(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_seconds_and_units() {
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse("").is_err());
        assert!(parse("5 minutes").is_err());
        assert!(parse("h").is_err());
        assert_eq!(humane(Duration::from_secs(5400)), "1h30m");
        assert_eq!(humane(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(humane(Duration::ZERO), "0s");
    }
}
