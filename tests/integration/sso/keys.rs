//! The provider rotates its signing keys: an ID token signed by a key Burrow's cached copy
//! lacks makes Burrow fetch the keys again, and the sign-in goes through. (A token signed by
//! a key the provider does not publish is still refused: `refusals`.)

use super::*;

#[test]
fn a_rotated_signing_key_is_fetched_again() {
    let Some(t) = sso("rotate", &[]) else { return };
    // A first sign-in: Burrow now holds the provider's one key.
    signs_in(&t, "alice@allowed.test");

    // Past the 2 s that keys must have been held before a refetch, the provider rotates
    // and signs with its new key.
    std::thread::sleep(Duration::from_millis(2200));
    let rotate = format!("{}/test/rotate", t.provider.issuer);
    let r = reqwest::blocking::Client::new()
        .post(rotate)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    signs_in(&t, "carol@allowed.test");
}

/// A provider that is down is asked once, not on every sign-in: a failed discovery is
/// remembered for 10 s, and the sign-ins meanwhile are refused at once with `sso_provider`.
#[test]
fn a_provider_that_is_down_is_not_asked_on_every_sign_in() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.read(&mut [0u8; 4096]);
            let _ = conn
                .write_all(b"HTTP/1.1 503 Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let s = Server::build()
        .args([
            "--public-url",
            "http://127.0.0.1:9",
            "--oidc-issuer",
            &issuer,
        ])
        .args(["--oidc-client-id", "burrow", "--oidc-client-secret", "x"])
        .start();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        let r = client.get(s.url("/api/auth/sso/start")).send().unwrap();
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.ends_with("sso_error=sso_provider"), "{to}");
    }
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}
