//! Burrow behind Debian's nginx (`deploy/nginx.conf`) and Caddy (`deploy/Caddyfile`): the
//! proxy serves HTTPS on a loopback port, with a self-signed certificate the test makes, in
//! front of a real server started with `--trusted-proxies` and `--public-url https://…`, and
//! setup, sign-in, links, cookies, a live stream, a 50 MiB upload and the client's address
//! are checked through it. Each check runs through both proxies. Without a proxy the tests
//! skip, or fail when `CI` is set (`.ci/run` installs both).

mod proxies;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::artifact_checks::direct;
use crate::harness::sse::entry_ids;
use crate::harness::{Server, expect_json, free_port};
use proxies::{Kind, Proxy, Tls};
use reqwest::Certificate;
use serde_json::json;

/// A Burrow behind a proxy: the server's `base` is the proxy's HTTPS address and its
/// clients trust the test's certificate, so every harness request goes through the proxy
/// (the command line still works on its folder). The server's log goes to `log`.
struct Behind {
    s: Server,
    log: PathBuf,
    _proxy: Proxy,
    _log_dir: tempfile::TempDir,
}

fn behind(kind: Kind) -> Option<Behind> {
    let bin = kind.binary_or_skip()?;
    let tls = Tls::self_signed();
    // A port found free may be taken by a parallel test before the proxy binds it: then
    // everything starts again on another.
    let mut attempts = 0;
    let (mut s, proxy, public, log, log_dir) = loop {
        attempts += 1;
        let port = free_port();
        let public = format!("https://127.0.0.1:{port}");
        let log_dir = tempfile::tempdir().unwrap();
        let log = log_dir.path().join("burrow.log");
        let s = Server::build()
            .args(["--trusted-proxies", "127.0.0.1/32", "--public-url", &public])
            .stderr(std::fs::File::create(&log).unwrap())
            .start();
        let upstream = s.base.trim_start_matches("http://").to_string();
        match Proxy::start(kind, &bin, &tls, port, &upstream) {
            Some(proxy) => break (s, proxy, public, log, log_dir),
            None => assert!(attempts < 3, "{} did not start three times", kind.name()),
        }
    };
    s.base = public;
    s.client = trusting(&tls.root, None);
    s.tls_root = Some(tls.root.clone());
    Some(Behind {
        s,
        log,
        _proxy: proxy,
        _log_dir: log_dir,
    })
}

/// A client that trusts the test's certificate, from `local` when given.
fn trusting(root: &Certificate, local: Option<IpAddr>) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .add_root_certificate(root.clone())
        .local_address(local)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

#[test]
fn setup_sign_in_links_and_cookies_work_through_nginx() {
    setup_sign_in_links_and_cookies(Kind::Nginx);
}

#[test]
fn setup_sign_in_links_and_cookies_work_through_caddy() {
    setup_sign_in_links_and_cookies(Kind::Caddy);
}

#[test]
fn a_live_stream_and_a_50_mib_upload_pass_through_nginx() {
    live_stream_and_upload(Kind::Nginx);
}

#[test]
fn a_live_stream_and_a_50_mib_upload_pass_through_caddy() {
    live_stream_and_upload(Kind::Caddy);
}

#[test]
fn the_client_behind_nginx_is_throttled_and_logged_by_its_own_address() {
    client_address(Kind::Nginx);
}

#[test]
fn the_client_behind_caddy_is_throttled_and_logged_by_its_own_address() {
    client_address(Kind::Caddy);
}

fn setup_sign_in_links_and_cookies(kind: Kind) {
    let Some(b) = behind(kind) else {
        return;
    };
    let s = &b.s;
    // Behind a proxy, setup takes the printed link, whose address is the public one.
    let link = s.setup_link.clone().expect("a setup link");
    assert!(
        link.starts_with(&format!("{}/setup#token=", s.base)),
        "{link}"
    );
    let creds = json!({"email": "ada@example.com", "password": "correct horse"});
    let browser = |path: &str, body: &serde_json::Value| {
        s.client
            .post(s.url(path))
            .header("origin", &s.base)
            .json(body)
            .send()
            .unwrap()
    };
    let r = browser("/api/auth/setup/", &creds);
    assert_eq!(r.status(), 403, "no token, no account");
    let mut with_token = creds.clone();
    with_token["setup_token"] = s.setup_token().into();
    let r = browser("/api/auth/setup/", &with_token);
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    // The same-site check holds with the Host the proxy passes on, and refuses another
    // site. Over HTTPS the session cookie is Secure.
    assert!(s.base.starts_with("https://"));
    let r = browser("/api/auth/login/", &creds);
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let r = s
        .client
        .post(s.url("/api/auth/login/"))
        .header("origin", "http://evil.example")
        .json(&creds)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);

    // Links name the public address, whatever Host or Forwarded a client sends.
    let key = s.key("*");
    let (run, body) = s.new_run(&key, &json!({}));
    let log_url = body["log_url"].as_str().unwrap();
    assert!(
        log_url.starts_with(&format!("{}/api/", s.base)),
        "{log_url}"
    );
    let fetched = s
        .client
        .get(s.url(&run.path("")))
        .bearer_auth(&key)
        .header("forwarded", "host=evil.example;proto=https")
        .header("x-forwarded-host", "evil.example")
        .send()
        .unwrap();
    let fetched = expect_json(fetched, 200);
    let log_url = fetched["log_url"].as_str().unwrap();
    assert!(
        log_url.starts_with(&format!("{}/api/", s.base)),
        "{log_url}"
    );
}

fn live_stream_and_upload(kind: Kind) {
    let Some(b) = behind(kind) else {
        return;
    };
    let s = &b.s;
    let key = s.key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    let entry = |n: i64| json!({"type": "info", "message": format!("entry {n}")});
    s.append_ok(&key, &run, &[entry(1)]);
    let stream = s.stream(&key, &run, None, "");
    let first = stream.until(|e| e.is_entry());
    // Each entry appended now arrives while the stream stays open: the proxy does not
    // hold it back (with buffering, these small events would wait for a full buffer or
    // the 15 s keep-alive). From the append's request to the event's arrival, through
    // the proxy twice: each well below 10 s. How quick is a figure, printed, not a test.
    let mut took = Vec::new();
    for n in 2..=4 {
        let sent = Instant::now();
        s.append_ok(&key, &run, &[entry(n)]);
        let got = stream.until(|e| e.is_entry());
        took.push(sent.elapsed());
        let last = got.last().unwrap().json();
        assert_eq!(last["message"], format!("entry {n}"), "{got:?}");
    }
    assert!(
        took.iter().all(|t| *t < Duration::from_secs(10)),
        "{took:?}"
    );
    println!(
        "{}: append to event through the proxy: {took:?} (best {:?})",
        kind.name(),
        took.iter().min().unwrap()
    );
    // Resuming with Last-Event-ID through the proxy gives only what came after.
    let after = entry_ids(&first)[0];
    let resumed = s.stream(&key, &run, Some(after), "");
    let got = resumed.until(|e| e.is_entry() && e.json()["message"] == "entry 4");
    assert_eq!(entry_ids(&got).len(), 3, "{got:?}");

    // 50 MiB through a direct upload form, and back.
    let size = 50 * 1024 * 1024;
    let bytes: Vec<u8> = (0..size).map(direct::pattern_byte).collect();
    let prepared = direct::prepare(
        s,
        &key,
        &run,
        json!([{"name": "big.bin", "type": "artifact", "size": size}]),
    );
    let presigned = &prepared[0]["presigned_post"];
    let url = presigned["url"].as_str().unwrap();
    assert!(
        url.starts_with(&s.base),
        "the form posts to the public address: {url}"
    );
    let r = direct::send(s, presigned, bytes.clone());
    assert!(r.status().is_success(), "upload: {}", r.status());
    let done = direct::finalize(s, &key, &run, json!([direct::item(&prepared[0])]));
    expect_json(done, 200);
    let path = prepared[0]["storage_path"].as_str().unwrap();
    assert!(crate::artifact_checks::fetch(s, &key, &run, path) == bytes);
}

fn client_address(kind: Kind) {
    let Some(b) = behind(kind) else {
        return;
    };
    let s = &b.s;
    // The client comes from 127.0.0.2, which is not a trusted proxy, and names a new
    // address in each forwarding header it sends: Burrow must see 127.0.0.2 every time.
    let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let client = trusting(s.tls_root.as_ref().unwrap(), Some(from));
    let statuses: Vec<u16> = (0..30)
        .map(|i| {
            let spoof = format!("10.1.0.{i}");
            client
                .post(s.url("/api/auth/login/"))
                .header("x-forwarded-for", &spoof)
                .header("forwarded", format!("for={spoof}"))
                .json(&json!({"email": format!("u{i}@example.com"), "password": "wrong horse"}))
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .take_while(|&st| st == 401)
        .collect();
    // One address gets 20 failures across all emails, then waits (429); had a forwarding
    // header been believed, every try would have been a new client and none refused.
    assert!((20..30).contains(&statuses.len()), "{statuses:?}");

    // The log names the same client when it refuses it, and no one else.
    let log = std::fs::read_to_string(&b.log).unwrap();
    let throttled: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sign-in throttled"))
        .collect();
    assert!(!throttled.is_empty(), "{log}");
    assert!(
        throttled.iter().all(|l| l.ends_with("client=127.0.0.2")),
        "{throttled:?}"
    );
}
