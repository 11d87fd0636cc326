//! Browser sessions: the cookie, the CSRF check on changes, and slowing down repeated failed
//! sign-ins.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::Method;

use crate::crypto;
use crate::error::{Error, Result};

pub const COOKIE: &str = "burrow_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";
/// How long a session lasts.
pub const LIFETIME_SECS: i64 = 14 * 24 * 3600;

/// A new session's cookie value and CSRF token.
pub fn new_tokens() -> (String, String) {
    (
        crypto::random_alphanumeric(43),
        crypto::random_alphanumeric(32),
    )
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when served over HTTPS.
pub fn cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(LIFETIME_SECS))
        .finish()
}

/// A cookie that removes the session cookie.
pub fn removal(secure: bool) -> Cookie<'static> {
    let mut c = cookie(String::new(), secure);
    c.make_removal();
    c
}

/// Cookie-authenticated requests that change something must echo the session's CSRF token.
pub fn check_csrf(req: &HttpRequest, expected: &str) -> Result<()> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let given = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if crypto::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "CSRF token missing or incorrect.".into(),
        ))
    }
}

/// Failed sign-ins are counted per client address and email. After `FREE_TRIES` failures in
/// a window, each further try must wait twice as long as the last (up to `MAX_WAIT`).
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
    dummy: OnceLock<String>,
}

struct Failures {
    count: u32,
    last: Instant,
}

const FREE_TRIES: u32 = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

impl Throttle {
    fn wait_after(count: u32) -> Duration {
        if count < FREE_TRIES {
            return Duration::ZERO;
        }
        let exp = (count - FREE_TRIES).min(10);
        Duration::from_secs(1u64 << exp).min(MAX_WAIT)
    }

    /// `Err(Throttled)` while this client must wait before trying again.
    pub fn check(&self, who: &str) -> Result<()> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(f) = map.get(who) {
            let wait = Self::wait_after(f.count);
            if f.last.elapsed() < wait {
                let left = (wait - f.last.elapsed()).as_secs() + 1;
                return Err(Error::Throttled(left));
            }
        }
        Ok(())
    }

    pub fn failed(&self, who: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, f| f.last.elapsed() < WINDOW);
        let f = map.entry(who.to_string()).or_insert(Failures {
            count: 0,
            last: Instant::now(),
        });
        f.count += 1;
        f.last = Instant::now();
    }

    /// A hash of a random password, checked when the email is unknown so that an unknown
    /// account costs as much time as a wrong password.
    pub fn dummy_hash(&self) -> String {
        self.dummy
            .get_or_init(|| {
                crypto::hash_password(&crypto::random_alphanumeric(20)).unwrap_or_default()
            })
            .clone()
    }

    pub fn succeeded(&self, who: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(who);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_waits_double() {
        let t = Throttle::default();
        for _ in 0..4 {
            t.failed("a");
            assert!(t.check("a").is_ok());
        }
        t.failed("a");
        assert!(t.check("a").is_err());
        assert!(t.check("b").is_ok());
        t.succeeded("a");
        assert!(t.check("a").is_ok());
        assert_eq!(Throttle::wait_after(5), Duration::from_secs(1));
        assert_eq!(Throttle::wait_after(7), Duration::from_secs(4));
        assert_eq!(Throttle::wait_after(40), MAX_WAIT);
    }
}
