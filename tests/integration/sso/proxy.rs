//! Sign-in by an authenticating proxy's header: believed from a trusted proxy, ignored
//! from anyone else.

use super::*;

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
