//! A fresh Burrow reachable from the network cannot be claimed by its first visitor: setup
//! takes the one-time token `burrow serve` printed, spends it, and a restart voids it; on a
//! loopback-only address setup stays open, and `burrow user create --admin` always works.

use std::path::Path;

use crate::harness::database::count;
use crate::harness::{Server, assert_error, expect_json};
use reqwest::blocking::Response;
use serde_json::{Value, json};

fn state(s: &Server) -> Value {
    expect_json(s.get("", "/api/auth/state/"), 200)
}

fn setup(s: &Server, email: &str, token: Option<&str>) -> Response {
    let mut body = json!({"email": email, "password": "correct horse"});
    if let Some(token) = token {
        body["setup_token"] = token.into();
    }
    s.post("", "/api/auth/setup/", &body)
}

fn refused(r: Response) {
    assert_error(r, 403, "authentication_error", "permission_denied", None);
}

/// A server on every address (others on the network can reach it), on a fresh folder.
fn on_the_network() -> Server {
    Server::build().args(["--addr", "0.0.0.0:0"]).start()
}

/// The same on `dir`, kept between starts.
fn on_the_network_in(dir: &Path) -> Server {
    Server::build()
        .args(["--addr", "0.0.0.0:0"])
        .data_dir(dir)
        .start()
}

/// A data folder that guarded servers start on, one after another.
struct Folder(tempfile::TempDir);

impl Folder {
    fn new() -> Folder {
        Folder(tempfile::tempdir().unwrap())
    }

    fn start(&self) -> Server {
        on_the_network_in(self.0.path())
    }
}

#[test]
fn on_a_network_address_setup_takes_the_printed_token_once() {
    let s = on_the_network();
    let link = s.setup_link.clone().expect("serve prints a setup link");
    assert!(
        link.starts_with(&format!("{}/setup#token=", s.base)),
        "{link}"
    );
    let token = s.setup_token();
    assert!(token.len() >= 32, "{token}");
    let st = state(&s);
    assert_eq!(st["needs_setup"], true);
    assert_eq!(st["setup_token_required"], true);

    refused(setup(&s, "mallory@example.com", None));
    refused(setup(&s, "mallory@example.com", Some("")));
    refused(setup(&s, "mallory@example.com", Some(&token[1..])));
    refused(setup(
        &s,
        "mallory@example.com",
        Some(&token.to_uppercase()),
    ));
    assert_eq!(state(&s)["needs_setup"], true, "no account was made");

    // A refused body (a short password) does not spend the token.
    let short = json!({"email": "ada@example.com", "password": "short", "setup_token": token});
    assert_eq!(s.post("", "/api/auth/setup/", &short).status(), 400);

    let made = expect_json(setup(&s, "ada@example.com", Some(&token)), 201);
    assert_eq!(made["user"]["is_admin"], true);
    assert_eq!(state(&s)["needs_setup"], false);
    // Spent: gone from the database, and a second use is refused.
    let sql = "SELECT COUNT(*) FROM secrets WHERE name = 'setup_token'";
    assert_eq!(count(&s.sqlite(), sql, []), 0);
    refused(setup(&s, "eve@example.com", Some(&token)));
}

#[test]
fn only_the_tokens_hash_is_stored_and_a_restart_voids_it() {
    let folder = Folder::new();
    let mut first = folder.start();
    let old = first.setup_token();
    first.terminate();
    let s = folder.start();
    let token = s.setup_token();
    assert_ne!(old, token, "every start prints a new token");
    for file in ["burrow.db", "burrow.db-wal"] {
        let bytes = std::fs::read(folder.0.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token) && !text.contains(&old), "{file}");
    }
    refused(setup(&s, "ada@example.com", Some(&old)));
    expect_json(setup(&s, "ada@example.com", Some(&token)), 201);
}

#[test]
fn a_proxy_or_public_url_guards_setup_on_loopback_too() {
    for args in [
        ["--trusted-proxies", "127.0.0.1/32"],
        ["--public-url", "http://burrow.example"],
    ] {
        let s = Server::build().args(args).start();
        assert!(s.setup_link.is_some(), "{args:?}");
        assert_eq!(state(&s)["setup_token_required"], true, "{args:?}");
        refused(setup(&s, "mallory@example.com", None));
    }
}

#[test]
fn on_loopback_setup_stays_open() {
    let s = Server::start();
    assert_eq!(s.setup_link, None);
    let st = state(&s);
    assert_eq!(st["needs_setup"], true);
    assert_eq!(st["setup_token_required"], false);
    expect_json(setup(&s, "ada@example.com", None), 201);
    refused(setup(&s, "eve@example.com", None));
}

#[test]
fn the_command_line_makes_an_admin_on_a_guarded_server() {
    let folder = Folder::new();
    let mut s = folder.start();
    let token = s.setup_token();
    s.cli_ok(&[
        "user",
        "create",
        "--admin",
        "--email",
        "ops@example.com",
        "--password",
        "a long enough password",
    ]);
    assert_eq!(state(&s)["needs_setup"], false);
    refused(setup(&s, "mallory@example.com", Some(&token)));
    s.terminate();
    // With an account, a start prints no link and forgets the old token.
    let s = folder.start();
    assert_eq!(s.setup_link, None);
    let body = json!({"email": "ops@example.com", "password": "a long enough password"});
    expect_json(s.post("", "/api/auth/login/", &body), 200);
}
