//! Who may come in by single sign-on or a proxy's header: a verified email from an allowed
//! domain. A known email signs in as its user; an unknown one becomes a new user (an admin
//! when listed in `--oidc-admin-emails`).

use rusqlite::Connection;

use super::Refusal;
use crate::config::Sso;
use crate::db::identity::{self, NewUser, User};
use crate::error::Result;
use crate::users;

/// Whether `email`'s domain is one of `--oidc-allowed-domains` (any, when none is listed).
pub fn domain_allowed(settings: &Sso, email: &str) -> bool {
    let domains: Vec<&str> = settings
        .oidc_allowed_domains
        .iter()
        .map(|d| d.trim().trim_start_matches('@'))
        .filter(|d| !d.is_empty())
        .collect();
    let Some((_, domain)) = email.rsplit_once('@') else {
        return false;
    };
    domains.is_empty() || domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

/// The user a verified `email` signs in as, made if new. Refused for a domain that is not
/// allowed, and for the first account of all unless it is a listed admin: the first user
/// is always an administrator, and `first_run` guards that account.
pub fn admit(
    conn: &Connection,
    settings: &Sso,
    email: &str,
) -> Result<std::result::Result<User, Refusal>> {
    if !domain_allowed(settings, email) {
        return Ok(Err(Refusal::Domain));
    }
    if let Some(user) = identity::user_by_email(conn, email)? {
        return Ok(Ok(user));
    }
    let admin = settings
        .oidc_admin_emails
        .iter()
        .any(|a| a.trim().eq_ignore_ascii_case(email));
    if !admin && identity::count_users(conn)? == 0 {
        return Ok(Err(Refusal::FirstAccount));
    }
    let new = NewUser {
        email,
        password_hash: None,
        first_name: "",
        last_name: "",
        admin,
    };
    users::create_user(conn, &new).map(Ok)
}
