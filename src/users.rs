//! The rules of users and projects as requests and commands give them: a valid, unused
//! email address, a project name that is not blank, an integration of a project that
//! exists. The checks and their messages live here; `db::identity` only stores.

use rusqlite::Connection;

use crate::db::identity::{self, NewUser, User};
use crate::error::{Error, Result};

/// Creates a user, a member of the first organization. The first user is an admin.
pub fn create_user(conn: &Connection, new: &NewUser) -> Result<User> {
    let email = new.email.trim();
    if !valid_email(email) {
        return Err(Error::invalid(
            "email",
            "invalid_input",
            "Enter a valid email address.",
        ));
    }
    if identity::user_by_email(conn, email)?.is_some() {
        return Err(Error::invalid(
            "email",
            "invalid_input",
            "There is already an account with this email address.",
        ));
    }
    identity::insert_user(conn, new)
}

/// Creates a project in the first organization; returns its id.
pub fn create_project(conn: &Connection, name: &str) -> Result<i64> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid(
            "name",
            "blank",
            "This field may not be blank.",
        ));
    }
    identity::insert_project(conn, name)
}

/// Adds a GitHub integration to an existing project; returns its id.
pub fn create_integration(conn: &Connection, project_id: i64, account: &str) -> Result<i64> {
    if account.trim().is_empty() {
        return Err(Error::invalid(
            "account",
            "blank",
            "The GitHub account may not be blank.",
        ));
    }
    if !identity::project_exists(conn, project_id)? {
        return Err(Error::invalid(
            "project",
            "does_not_exist",
            "No such project.",
        ));
    }
    identity::insert_integration(conn, project_id, account)
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && email.chars().count() <= 254
                && !email.chars().any(|c| c.is_whitespace())
        }
        None => false,
    }
}
