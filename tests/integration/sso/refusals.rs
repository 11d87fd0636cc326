//! Each way a single sign-on is refused, over HTTP with a cookie jar: the exact answer, and
//! that the refusal spends the sign-in.

use super::*;
use crate::harness::watchdog::output_within;

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

pub(super) fn refused_with(t: &Sso, landed: &str, code: &str) {
    assert_eq!(landed, t.server.url(&format!("/?sso_error={code}")));
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
        let mut serve = Command::new(crate::harness::BIN);
        serve
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(args);
        // A server that took these settings would never end: 60 s, then fail.
        let out = output_within(&mut serve, "burrow serve", Duration::from_secs(60));
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{err}");
        assert!(lines[0].contains(named), "{err}");
    }
}
