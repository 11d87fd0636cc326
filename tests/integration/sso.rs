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

/// A browser back from the provider as alice: the callback it was sent to, and its state.
fn back_from_provider() -> Option<(Sso, Browser, String, String)> {
    let t = sso("", &[])?;
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "alice@allowed.test");
    let state = param(&back, "state");
    Some((t, b, back, state))
}

/// `refused` is refused with `code`, and that spends the sign-in: the answer clears its
/// cookie, and a browser that kept the cookie still finds nothing in flight for `back`.
fn refused_then_spent(b: &mut Browser, t: &Sso, refused: &str, code: &str, back: &str) {
    let flight = b.jar["burrow_sso"].clone();
    refused_with(t, &callback(b, t, refused), code);
    b.jar.insert("burrow_sso".into(), flight);
    refused_with(t, &callback(b, t, back), "sso_state");
    assert_eq!(signed_in_as(b, t), None);
}

fn refused_with(t: &Sso, landed: &str, code: &str) {
    assert_eq!(landed, t.server.url(&format!("/?sso_error={code}")));
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
        let mut b = Browser::new();
        let back = through_provider(&mut b, &t, email);
        assert_eq!(callback(&mut b, &t, &back), t.server.url("/"));
        assert_eq!(signed_in_as(&mut b, &t).as_deref(), Some(email));
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
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "carol@allowed.test");
    assert_eq!(callback(&mut b, &t, &back), t.server.url("/"));
    assert_eq!(
        signed_in_as(&mut b, &t).as_deref(),
        Some("carol@allowed.test")
    );
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "unverified@allowed.test");
    refused_with(&t, &callback(&mut b, &t, &back), "sso_unverified_email");
}

/// A `state` other than the one sent is refused, and spends the sign-in: the right one
/// no longer works either; a callback in a browser that did not start the sign-in (login
/// CSRF) is refused too.
#[test]
fn refuses_wrong_state() {
    let Some((t, mut b, back, state)) = back_from_provider() else {
        return;
    };
    let forged = back.replace(&format!("state={state}"), "state=forged-state");
    refused_then_spent(&mut b, &t, &forged, "sso_state", &back);

    let (mut attacker, mut victim) = (Browser::new(), Browser::new());
    let back = through_provider(&mut attacker, &t, "alice@allowed.test");
    refused_with(&t, &callback(&mut victim, &t, &back), "sso_state");
    assert_eq!(signed_in_as(&mut victim, &t), None);
}

/// The provider's own "no" (the user cancelled) comes back as a refusal, and spends the
/// sign-in: the code that follows it is refused.
#[test]
fn refuses_after_the_provider_says_no() {
    let Some((t, mut b, back, state)) = back_from_provider() else {
        return;
    };
    let no = t.server.url(&format!(
        "/api/auth/sso/callback?error=access_denied&state={state}"
    ));
    refused_then_spent(&mut b, &t, &no, "sso_provider", &back);
}

/// A code is good once: replaying the whole callback finds no sign-in in flight, and a
/// used code under a fresh sign-in of the same browser is refused by the provider.
#[test]
fn refuses_replayed_code() {
    let Some(t) = sso("", &[]) else { return };
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "alice@allowed.test");
    assert_eq!(callback(&mut b, &t, &back), t.server.url("/"));
    refused_with(&t, &callback(&mut b, &t, &back), "sso_state");

    let mut m = Browser::new();
    let fresh = through_provider(&mut m, &t, "carol@allowed.test");
    let replayed = fresh.replace(&param(&fresh, "code"), &param(&back, "code"));
    refused_with(&t, &callback(&mut m, &t, &replayed), "sso_code");
    assert_eq!(signed_in_as(&mut m, &t), None);
}

/// The provider's genuine ID token, re-signed with one thing changed, is refused for that
/// thing, and nobody is signed in.
fn refuses_tampered(tamper: &str, code: &str) {
    let Some(t) = sso(tamper, &[]) else { return };
    let mut b = Browser::new();
    let back = through_provider(&mut b, &t, "carol@allowed.test");
    refused_with(&t, &callback(&mut b, &t, &back), code);
    assert_eq!(signed_in_as(&mut b, &t), None);
    let sql = "SELECT COUNT(*) FROM users WHERE email = 'carol@allowed.test'";
    assert_eq!(count(&t.server.sqlite(), sql, []), 0);
}

#[test]
fn refuses_wrong_nonce() {
    refuses_tampered("nonce", "sso_nonce");
}

#[test]
fn refuses_token_signed_by_another_key() {
    refuses_tampered("other-key", "sso_signature");
}

#[test]
fn refuses_wrong_audience() {
    refuses_tampered("audience", "sso_audience");
}

#[test]
fn refuses_expired_token() {
    refuses_tampered("expired", "sso_expired");
}

/// An email the provider has not verified, and one from a domain not allowed, are refused
/// and make no user.
#[test]
fn refuses_unverified_email_and_other_domain() {
    let Some(t) = sso("", &[]) else { return };
    for (login, code) in [
        ("unverified@allowed.test", "sso_unverified_email"),
        ("bob@other.test", "sso_domain"),
    ] {
        let mut b = Browser::new();
        let back = through_provider(&mut b, &t, login);
        refused_with(&t, &callback(&mut b, &t, &back), code);
        assert_eq!(signed_in_as(&mut b, &t), None);
    }
    let users = count(&t.server.sqlite(), "SELECT COUNT(*) FROM users", []);
    assert_eq!(users, 1, "only alice");
}

/// Half the OpenID settings, or no --public-url, stop the server at start with one line.
#[test]
fn refuses_half_configured_oidc() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 2] = [
        (
            &["--oidc-issuer", "http://127.0.0.1:9/"],
            "--oidc-client-id",
        ),
        (
            &[
                "--oidc-issuer",
                "http://127.0.0.1:9/",
                "--oidc-client-id",
                "x",
                "--oidc-client-secret",
                "y",
            ],
            "--public-url",
        ),
    ];
    for (args, named) in cases {
        let out = Command::new(crate::harness::BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(named), "{err}");
    }
}

/// `--password-login false`: the page is told to hide the form, and the API refuses a
/// password sign-in even with the right password.
#[test]
fn password_login_off_refuses_passwords() {
    let s = Server::build().args(["--password-login", "false"]).start();
    let on = Server::start();
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

fn proxy_server(trusted: &str) -> Server {
    let s = Server::build()
        .args([
            "--auth-proxy-header",
            "X-Forwarded-Email",
            "--trusted-proxies",
            trusted,
        ])
        .args(["--oidc-allowed-domains", "allowed.test"])
        .start();
    alice(&s);
    s
}

fn state_as(s: &Server, email: &str) -> Response {
    s.client
        .get(s.url("/api/auth/state"))
        .header("X-Forwarded-Email", email)
        .send()
        .unwrap()
}

/// From a trusted proxy, the header signs the browser in (known and new users, the same
/// domain rules); the session it starts carries on without the header.
#[test]
fn proxy_header_signs_in_from_trusted_peer() {
    let s = proxy_server("127.0.0.1/32");
    for email in ["alice@allowed.test", "carol@allowed.test"] {
        let r = state_as(&s, email);
        let cookie = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .find_map(|c| c.to_str().unwrap().strip_prefix("burrow_session="))
            .map(|c| c.split(';').next().unwrap().to_string())
            .expect("a session cookie");
        let state = expect_json(r, 200);
        assert_eq!(state["user"]["email"], email);
        let again = s
            .client
            .get(s.url("/api/users/@me/"))
            .header(COOKIE, format!("burrow_session={cookie}"))
            .send()
            .unwrap();
        assert_eq!(expect_json(again, 200)["email"], email);
        // The same email in other letters keeps the session rather than starting another.
        let same = s
            .client
            .get(s.url("/api/auth/state"))
            .header(COOKIE, format!("burrow_session={cookie}"))
            .header("X-Forwarded-Email", email.to_uppercase())
            .send()
            .unwrap();
        assert!(same.headers().get(SET_COOKIE).is_none());
        assert_eq!(expect_json(same, 200)["user"]["email"], email);
    }
    let r = state_as(&s, "bob@other.test");
    assert!(r.headers().get(SET_COOKIE).is_none());
    assert_eq!(expect_json(r, 200)["user"], Value::Null);
}

/// From a peer outside --trusted-proxies the header is ignored: nobody is signed in and no
/// user is made.
#[test]
fn proxy_header_ignored_from_untrusted_peer() {
    let s = proxy_server("10.0.0.0/8");
    for email in ["alice@allowed.test", "carol@allowed.test"] {
        let r = state_as(&s, email);
        assert!(r.headers().get(SET_COOKIE).is_none());
        assert_eq!(expect_json(r, 200)["user"], Value::Null);
    }
    assert_eq!(count(&s.sqlite(), "SELECT COUNT(*) FROM users", []), 1);
}

/// In headless Chromium: "Sign in with Test IdP", the provider's page, back signed in; and
/// a refused sign-in (a domain not allowed) lands on the sign-in page with the reason.
#[test]
fn browser_sign_in() {
    if !crate::ui::ready("sso::browser_sign_in") {
        return;
    }
    let Some(t) = sso("", &[]) else { return };
    let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    crate::ui::e2e(&t.server.base, &["sso", &t.provider.issuer]);
}

/// Every refusal, in the browser too: each ends on the sign-in page, not signed in, with
/// its code. Each case gets its own provider (the tampering ones re-sign its ID token).
#[test]
fn browser_refusals() {
    if !crate::ui::ready("sso::browser_refusals") {
        return;
    }
    // Each case: how the provider tampers with its ID token (- for not at all), how the
    // browser is refused, who signs in at the provider, and the refusal's code.
    let cases = [
        "- plain unverified@allowed.test sso_unverified_email",
        "- plain bob@other.test sso_domain",
        "nonce plain carol@allowed.test sso_nonce",
        "other-key plain carol@allowed.test sso_signature",
        "audience plain carol@allowed.test sso_audience",
        "expired plain carol@allowed.test sso_expired",
        "- state alice@allowed.test sso_state",
        "- replay alice@allowed.test sso_state",
        "- proxy-header alice@allowed.test -",
    ];
    for case in cases {
        let [tamper, how, login, code]: [&str; 4] =
            case.split(' ').collect::<Vec<_>>().try_into().unwrap();
        let tamper = tamper.trim_start_matches('-');
        let extra: &[&str] = match how {
            "proxy-header" => &["--auth-proxy-header", "X-Forwarded-Email"],
            _ => &[],
        };
        let Some(t) = sso(tamper, extra) else { return };
        let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let args = ["sso-refused", &t.provider.issuer, how, login, code];
        crate::ui::e2e(&t.server.base, &args);
    }
}

/// With --password-login false, the browser sees the SSO button and no password form.
#[test]
fn browser_without_password_form() {
    if !crate::ui::ready("sso::browser_without_password_form") {
        return;
    }
    let Some(t) = sso("", &["--password-login", "false"]) else {
        return;
    };
    let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    crate::ui::e2e(&t.server.base, &["sso-only", &t.provider.issuer]);
}
