//! Sign-ins on their way through the provider, each bound to the browser that started it by
//! a random cookie: the `state`, `nonce` and PKCE verifier stay on the server, keyed by the
//! cookie's hash, and are taken out (spent) by the first callback that presents the cookie.
//! Unauthenticated browsers start these, so the table is bounded in size and age.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::crypto;
use crate::error::{Error, Result};

/// How long a browser has to come back from the provider.
pub const LIFETIME: Duration = Duration::from_secs(600);
/// Most sign-ins in flight at once; past it new ones are refused until old ones expire.
const MAX_PENDING: usize = 10_000;

/// What the callback needs to finish a sign-in.
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    expires: Instant,
}

#[derive(Default)]
pub struct Table(Mutex<HashMap<String, Pending>>);

impl Table {
    /// Keeps a new sign-in; returns the cookie value that will claim it.
    pub fn insert(&self, state: String, nonce: String, verifier: String) -> Result<String> {
        let now = Instant::now();
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_PENDING {
            table.retain(|_, p| p.expires > now);
        }
        if table.len() >= MAX_PENDING {
            return Err(Error::Throttled(LIFETIME.as_secs()));
        }
        let cookie = crypto::random_alphanumeric(43);
        let pending = Pending {
            state,
            nonce,
            verifier,
            expires: now + LIFETIME,
        };
        table.insert(crypto::sha256_hex(&cookie), pending);
        Ok(cookie)
    }

    /// Takes out the sign-in this cookie started, if it has not expired: a second callback
    /// with the same cookie finds nothing.
    pub fn take(&self, cookie: &str) -> Option<Pending> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let pending = table.remove(&crypto::sha256_hex(cookie))?;
        (pending.expires > Instant::now()).then_some(pending)
    }
}
