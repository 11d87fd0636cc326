//! The first run on a network: while no account exists, a Burrow that others can reach
//! makes the first administrator only for whoever holds the one-time token it printed on
//! its console (PocketBase's installer link). Only the token's SHA-256 is kept.

use rusqlite::Connection;

use crate::config::Config;
use crate::crypto;
use crate::db::identity;
use crate::error::{Error, Result};

/// The longest token a request may send (a token is `TOKEN_CHARS` long).
pub const TOKEN_MAX_CHARS: usize = 64;
const TOKEN_CHARS: usize = 32;

/// Whether setup needs the console's token: Burrow listens on more than loopback, or a
/// proxy (`--trusted-proxies`) or a public URL says others reach it through this address.
/// Only a loopback-only, unproxied server (a laptop) leaves setup open to its first visitor.
pub fn guarded(config: &Config) -> bool {
    !config.addr.ip().is_loopback()
        || !config.trusted_proxies.is_empty()
        || config.public_url.is_some()
}

/// At start-up: when setup is guarded and no account exists, makes a new token (the last
/// start's is void) and returns it to print; otherwise forgets any token left over.
pub fn issue(conn: &Connection, config: &Config) -> Result<Option<String>> {
    if !guarded(config) || identity::count_users(conn)? > 0 {
        identity::set_setup_token_hash(conn, None)?;
        return Ok(None);
    }
    let token = crypto::random_alphanumeric(TOKEN_CHARS);
    identity::set_setup_token_hash(conn, Some(&crypto::sha256_hex(&token)))?;
    Ok(Some(token))
}

/// The link that `burrow serve` prints: the UI's setup page with the token in the fragment,
/// which browsers never send to a server or proxy (so it stays out of access logs).
pub fn link(base: &str, token: &str) -> String {
    format!("{}/setup#token={token}", base.trim_end_matches('/'))
}

/// Refuses setup without the waiting token when setup is guarded. With `spend`, the token
/// is used up: call it so in the same write that creates the first account.
pub fn check(conn: &Connection, config: &Config, given: Option<&str>, spend: bool) -> Result<()> {
    if !guarded(config) {
        return Ok(());
    }
    let stored = identity::setup_token_hash(conn)?;
    let matches = match (stored, given) {
        (Some(stored), Some(given)) => {
            crypto::constant_time_eq(stored.as_bytes(), crypto::sha256_hex(given).as_bytes())
        }
        _ => false,
    };
    if !matches {
        return Err(Error::PermissionDenied(
            "This Burrow is reachable from the network: creating the first account needs the \
             one-time setup link that `burrow serve` printed on its console (or use \
             `burrow user create --admin`)."
                .into(),
        ));
    }
    if spend {
        identity::set_setup_token_hash(conn, None)?;
    }
    Ok(())
}
