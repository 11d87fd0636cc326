//! Single sign-on against a real OpenID provider on loopback (`oidc-provider`, certified,
//! run by `tests/oidc/provider.mjs`): the happy path and every refusal, over plain HTTP with
//! a cookie jar and in headless Chromium; `--password-login false`; and sign-in by an
//! authenticating proxy's header, believed only from `--trusted-proxies`.
//! Without node or `tests/oidc/node_modules` the provider tests skip, or fail when `CI` is set.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::harness::database::count;
use crate::harness::node::{missing_modules, root};
use crate::harness::{Server, assert_error, expect_json, free_port};

mod browser;
mod keys;
mod proxy;
mod refusals;

use refusals::refused_with;

const CLIENT_SECRET: &str = "burrow-test-secret";
const PASSWORD: &str = "a long enough password";

/// Why the provider cannot run here, if it cannot.
fn missing() -> Option<String> {
    missing_modules("oidc", "oidc-provider")
}

/// The test OpenID provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    /// Starts the provider for a client whose redirect URI is `redirect`; `tamper` makes its
    /// token answers hostile (see provider.mjs). `None` (a skip) when it cannot run here,
    /// a failure under CI.
    fn start(redirect: &str, tamper: &str) -> Option<Provider> {
        if let Some(why) = missing() {
            if std::env::var_os("CI").is_some() {
                panic!("the OpenID provider cannot run: {why}. .ci/run installs it.");
            }
            eprintln!("skipping: {why}");
            return None;
        }
        let mut child = Command::new("node")
            .arg(root().join("tests/oidc/provider.mjs"))
            .args([redirect, tamper])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        crate::harness::watchdog::own(child.id(), false);
        let out = child.stdout.take().unwrap();
        let mut lines = BufReader::new(out).lines();
        let issuer = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("listening ") {
                        break url.trim().to_string();
                    }
                }
                other => panic!("the provider exited before listening: {other:?}"),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Some(Provider { child, issuer })
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        crate::harness::watchdog::disown(self.child.id());
    }
}

/// A Burrow with single sign-on through a fresh provider, and a user made by the command
/// line (alice@allowed.test, with a password), so the first account exists.
struct Sso {
    server: Server,
    provider: Provider,
}

fn sso(tamper: &str, extra: &[&str]) -> Option<Sso> {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let provider = Provider::start(&format!("{base}/api/auth/sso/callback"), tamper)?;
    let server = Server::build()
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &base,
        ])
        .args([
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            "burrow",
        ])
        .args(["--oidc-allowed-domains", "allowed.test,Example.org"])
        .args(["--oidc-admin-emails", "boss@allowed.test"])
        .args(["--oidc-name", "Test IdP"])
        .args(extra)
        .env("BURROW_OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .start();
    alice(&server);
    Some(Sso { server, provider })
}

/// Makes alice@allowed.test, with a password, by the command line: the first account.
fn alice(s: &Server) {
    let args = ["user", "create", "--email", "alice@allowed.test"];
    s.cli_ok(&[&args[..], &["--password", PASSWORD]].concat());
}

/// A browser's cookies, for one host (everything here is on 127.0.0.1; cookies do not care
/// about ports), following no redirect by itself.
struct Browser {
    http: Client,
    jar: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Browser {
            http,
            jar: HashMap::new(),
        }
    }

    fn keep(&mut self, r: &Response) {
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let attrs = attrs.to_ascii_lowercase();
            if attrs.contains("max-age=0") || attrs.contains("expires=thu, 01 jan 1970") {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().into(), value.trim().into());
            }
        }
    }

    fn cookies(&self) -> String {
        let pairs: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }

    fn get(&mut self, url: &str) -> Response {
        let r = self
            .http
            .get(url)
            .header(COOKIE, self.cookies())
            .send()
            .unwrap();
        self.keep(&r);
        r
    }

    /// Posts the provider's one-field sign-in form.
    fn post_login(&mut self, url: &str, login: &str) -> Response {
        let body = format!("login={}", login.replace('@', "%40"));
        let r = self
            .http
            .post(url)
            .header(COOKIE, self.cookies())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .unwrap();
        self.keep(&r);
        r
    }
}

/// Where a redirect goes, made absolute against `base`.
fn location(r: &Response, base: &str) -> String {
    assert!(
        r.status().is_redirection(),
        "a redirect, not {}",
        r.status()
    );
    let to = r.headers()[LOCATION].to_str().unwrap();
    if to.starts_with('/') {
        format!("{base}{to}")
    } else {
        to.to_string()
    }
}

/// Starts a sign-in at Burrow and signs in at the provider as `login`: the callback URL the
/// provider sends the browser back to (not yet followed).
fn through_provider(b: &mut Browser, t: &Sso, login: &str) -> String {
    let issuer = &t.provider.issuer;
    let authorize = location(&b.get(&t.server.url("/api/auth/sso/start")), &t.server.base);
    assert!(
        authorize.starts_with(&format!("{issuer}/auth?")),
        "{authorize}"
    );
    for part in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "redirect_uri=",
    ] {
        assert!(authorize.contains(part), "{part} in {authorize}");
    }
    let interaction = location(&b.get(&authorize), issuer);
    let resume = location(
        &b.post_login(&format!("{interaction}/login"), login),
        issuer,
    );
    let callback = location(&b.get(&resume), issuer);
    assert!(
        callback.starts_with(&t.server.url("/api/auth/sso/callback?")),
        "{callback}"
    );
    callback
}

/// A fresh browser signs in at the provider as `email` and comes back to the UI signed in
/// as that email.
fn signs_in(t: &Sso, email: &str) -> Browser {
    let mut b = Browser::new();
    let back = through_provider(&mut b, t, email);
    assert_eq!(callback(&mut b, t, &back), t.server.url("/"));
    assert_eq!(signed_in_as(&mut b, t).as_deref(), Some(email));
    b
}

/// Follows the callback: where Burrow sends the browser (the UI, or the UI with an error).
fn callback(b: &mut Browser, t: &Sso, url: &str) -> String {
    location(&b.get(url), &t.server.base)
}

/// Who the browser is signed in as, by its cookies.
fn signed_in_as(b: &mut Browser, t: &Sso) -> Option<String> {
    let state: Value = b.get(&t.server.url("/api/auth/state")).json().unwrap();
    state["user"]["email"].as_str().map(str::to_string)
}

/// A query parameter of a URL, as sent.
fn param(url: &str, name: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let found = query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")));
    found
        .unwrap_or_else(|| panic!("no {name} in {url}"))
        .to_string()
}

/// A known email signs in as its user; an unknown one from an allowed domain becomes a new
/// user (an admin when listed); the UI learns that SSO is on and its name.
#[test]
fn signs_in_known_and_new_users() {
    let Some(t) = sso("", &[]) else { return };
    let state = expect_json(t.server.get("", "/api/auth/state"), 200);
    assert_eq!(state["sso"]["name"], "Test IdP");
    assert_eq!(state["password_login"], true);

    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "alice@allowed.test");
    assert_eq!(callback(&mut b, &t, &back), t.server.url("/"));
    assert!(
        !b.jar.contains_key("burrow_sso"),
        "the flight cookie is spent"
    );
    assert_eq!(
        signed_in_as(&mut b, &t).as_deref(),
        Some("alice@allowed.test")
    );

    for (email, admin) in [
        ("carol@allowed.test", false),
        ("boss@allowed.test", true),
        ("dan@example.org", false),
    ] {
        signs_in(&t, email);
        let is_admin: bool = t
            .server
            .sqlite()
            .query_row(
                "SELECT is_admin FROM users WHERE email = ?1",
                [email],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(is_admin, admin, "{email}");
    }
}

/// A provider that keeps the email for its userinfo endpoint (oidc-provider's default,
/// OpenID Core 5.4) still signs people in, and an unverified email there is still refused.
#[test]
fn takes_the_email_from_userinfo() {
    let Some(t) = sso("userinfo", &[]) else {
        return;
    };
    signs_in(&t, "carol@allowed.test");
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "unverified@allowed.test");
    refused_with(&t, &callback(&mut b, &t, &back), "sso_unverified_email");
}

/// `--password-login false`: the page is told to hide the form, and the API refuses a
/// password sign-in even with the right password.
#[test]
fn password_login_off_refuses_passwords() {
    let s = Server::build().args(["--password-login", "false"]).start();
    let on = Server::start();
    // Not even the first account gets a password: it signs in with single sign-on or is
    // made on the command line.
    let first = json!({"email": "first@example.com", "password": PASSWORD});
    let err = assert_error(
        s.post("", "/api/auth/setup/", &first),
        403,
        "authentication_error",
        "permission_denied",
        None,
    );
    assert!(
        err["detail"]
            .as_str()
            .unwrap()
            .contains("user create --admin"),
        "{err}"
    );
    assert_eq!(count(&s.sqlite(), "SELECT COUNT(*) FROM users", []), 0);
    assert_eq!(
        expect_json(s.get("", "/api/auth/state"), 200)["needs_setup"],
        true
    );
    for server in [&s, &on] {
        let args = ["user", "create", "--email", "ops@example.com"];
        server.cli_ok(&[&args[..], &["--password", PASSWORD]].concat());
    }
    let state = expect_json(s.get("", "/api/auth/state"), 200);
    assert_eq!(state["password_login"], false);
    assert_eq!(state["sso"], Value::Null);
    let body = json!({"email": "ops@example.com", "password": PASSWORD});
    let err = assert_error(
        s.post("", "/api/auth/login/", &body),
        403,
        "authentication_error",
        "permission_denied",
        None,
    );
    assert!(
        err["detail"].as_str().unwrap().contains("--password-login"),
        "{err}"
    );

    expect_json(on.post("", "/api/auth/login/", &body), 200);
}
