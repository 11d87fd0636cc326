//! Slowing down password guessing: sign-in tries are reserved before the password is
//! checked, per account and per client address, and password hashes run behind a small gate
//! so that a burst of sign-ins cannot take the server's memory (argon2 uses 19 MiB each).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::web;
use tokio::sync::Semaphore;

use crate::crypto;
use crate::error::{Error, Result};

/// Failed sign-ins, counted per client address and email (guessing one account's password)
/// and per client address alone (trying one password on many accounts). A try counts as
/// failed from the moment it starts, so concurrent tries cannot all slip in before the
/// first failure is counted; a success takes its own try back. After the free tries in a
/// window, each further try must wait twice as long as the last (up to `MAX_WAIT`).
pub struct Throttle {
    failures: Mutex<HashMap<String, Failures>>,
    dummy: OnceLock<String>,
    gate: Arc<Semaphore>,
}

struct Failures {
    count: u32,
    last: Instant,
}

/// Free tries for one account from one client.
const ACCOUNT_FREE_TRIES: u32 = 5;
/// Free failed tries from one client over all accounts: enough for an office behind one
/// address, far too few to spray a password over a user list.
const CLIENT_FREE_TRIES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// How long a sign-in may wait for the hashing gate before it is told to come back later.
const GATE_WAIT: Duration = Duration::from_secs(3);

/// A sign-in try in progress, counted as failed until `Throttle::succeeded`.
pub struct Attempt {
    account: String,
    client: String,
}

impl Default for Throttle {
    fn default() -> Throttle {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Throttle {
            failures: Mutex::default(),
            dummy: OnceLock::new(),
            gate: Arc::new(Semaphore::new(cores)),
        }
    }
}

impl Throttle {
    fn wait_after(count: u32, free: u32) -> Duration {
        if count < free {
            return Duration::ZERO;
        }
        let exp = (count - free).min(10);
        Duration::from_secs(1u64 << exp).min(MAX_WAIT)
    }

    /// Reserves a try for `email` from `client`, or `Err(Throttled)` while either must wait.
    pub fn reserve(&self, client: Option<IpAddr>, email: &str) -> Result<Attempt> {
        let client = client_key(client);
        let attempt = Attempt {
            account: format!("{client}|{}", email.trim().to_lowercase()),
            client,
        };
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, f| f.last.elapsed() < WINDOW);
        let wait = |key: &str, free: u32| {
            map.get(key).map_or(Duration::ZERO, |f| {
                Self::wait_after(f.count, free).saturating_sub(f.last.elapsed())
            })
        };
        let left = wait(&attempt.account, ACCOUNT_FREE_TRIES)
            .max(wait(&attempt.client, CLIENT_FREE_TRIES));
        if !left.is_zero() {
            tracing::warn!(client = %attempt.client, "sign-in throttled");
            return Err(Error::Throttled(left.as_secs() + 1));
        }
        for key in [&attempt.account, &attempt.client] {
            let f = map.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: Instant::now(),
            });
            f.count += 1;
            f.last = Instant::now();
        }
        Ok(attempt)
    }

    /// The try was right: the account starts afresh and the client gets its try back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&attempt.account);
        if let Some(f) = map.get_mut(&attempt.client) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                map.remove(&attempt.client);
            }
        }
    }

    /// A hash of a random password, checked when the email is unknown so that an unknown
    /// account costs as much time as a wrong password. Slow the first time: call it inside
    /// `hashing`.
    pub fn dummy_hash(&self) -> String {
        self.dummy
            .get_or_init(|| {
                crypto::hash_password(&crypto::random_alphanumeric(20)).unwrap_or_default()
            })
            .clone()
    }

    /// Runs a password hash or check on a blocking thread, at most as many at once as there
    /// are cores. A caller that would wait longer than `GATE_WAIT` gets `Throttled`.
    pub async fn hashing<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = tokio::time::timeout(GATE_WAIT, self.gate.clone().acquire_owned())
            .await
            .ok()
            .and_then(|p| p.ok())
            .ok_or(Error::Throttled(GATE_WAIT.as_secs()))?;
        // The permit travels with the work: if the client goes away, the hash still runs
        // to its end on the blocking thread and keeps its place in the gate until then.
        Ok(web::block(move || {
            let out = f();
            drop(permit);
            out
        })
        .await?)
    }
}

/// The throttle's key for a client: its address, or its /64 for IPv6, since one host
/// commonly holds a whole /64.
fn client_key(client: Option<IpAddr>) -> String {
    match client.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let net = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(net))
        }
        Some(ip) => ip.to_string(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throttle on which the client `a` has tried `tries` times to sign in as `a@x`.
    fn tried(tries: usize) -> (Throttle, Option<IpAddr>) {
        let t = Throttle::default();
        let a = Some("10.0.0.1".parse().unwrap());
        for _ in 0..tries {
            t.reserve(a, "a@x").unwrap();
        }
        (t, a)
    }

    #[test]
    fn five_tries_are_free_then_waits_double() {
        let (t, a) = tried(5);
        assert!(t.reserve(a, "a@x").is_err());
        assert!(t.reserve(a, "b@x").is_ok());
        assert_eq!(Throttle::wait_after(5, 5), Duration::from_secs(1));
        assert_eq!(Throttle::wait_after(7, 5), Duration::from_secs(4));
        assert_eq!(Throttle::wait_after(40, 5), MAX_WAIT);
    }

    #[test]
    fn a_success_gives_its_try_back() {
        let (t, a) = tried(4);
        let ok = t.reserve(a, "a@x").unwrap();
        t.succeeded(ok);
        assert!(t.reserve(a, "a@x").is_ok());
    }

    #[test]
    fn one_client_cannot_spray_many_accounts() {
        let t = Throttle::default();
        let a = Some("10.0.0.1".parse().unwrap());
        for i in 0..CLIENT_FREE_TRIES {
            t.reserve(a, &format!("u{i}@x")).unwrap();
        }
        assert!(t.reserve(a, "another@x").is_err());
        assert!(
            t.reserve(Some("10.0.0.2".parse().unwrap()), "another@x")
                .is_ok()
        );
        let v6 = |s: &str| client_key(Some(s.parse().unwrap()));
        assert_eq!(v6("2001:db8::1"), v6("2001:db8::ffff:2"));
    }
}
