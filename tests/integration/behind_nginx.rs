//! Burrow behind Debian's nginx with `contrib/nginx/burrow.conf`: nginx runs on a loopback
//! port in front of a real server started with `--trusted-proxies` and `--public-url`, and
//! setup, sign-in, links, a live stream, an upload and the client's address are checked
//! through it. Without nginx the tests skip, or fail when `CI` is set (`.ci/run` installs it).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::artifact_checks::direct;
use crate::harness::sse::entry_ids;
use crate::harness::{Server, expect_json, free_port};
use serde_json::json;

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// nginx, or `None` (skip) when it is missing; under `CI` a missing nginx fails the test.
fn nginx_or_skip(test: &str) -> Option<PathBuf> {
    let found = nginx_binary();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: nginx is missing (apt-get install -y nginx); .ci/run installs it"
        );
        eprintln!("skipping {test}: nginx is missing (apt-get install -y nginx)");
    }
    found
}

/// nginx in the foreground on its own prefix folder, stopped (SIGTERM) when dropped.
struct Nginx {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts `bin` with the repository's server block, listening on `port` and passing to
    /// `upstream` (host:port), and waits until it answers.
    fn start(bin: &Path, port: u16, upstream: &str) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let site = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/nginx/burrow.conf"),
        )
        .unwrap();
        assert_eq!(site.matches("listen 80;").count(), 1, "one plain listen");
        assert_eq!(site.matches("server 127.0.0.1:8000;").count(), 1);
        let site = site
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("server 127.0.0.1:8000;", &format!("server {upstream};"));
        std::fs::write(dir.path().join("burrow.conf"), site).unwrap();
        let d = dir.path().display();
        // As root (CI), workers would switch to nobody, who cannot use the temp folders.
        let user = if is_root() { "user root;" } else { "" };
        let main = format!(
            "daemon off;\n{user}\nworker_processes 1;\npid {d}/nginx.pid;\n\
             error_log stderr warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/burrow.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let mut child = Command::new(bin)
            .arg("-e")
            .arg("stderr")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nginx");
        let health = format!("http://127.0.0.1:{port}/_health");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("nginx exited: {status}");
            }
            if reqwest::blocking::get(&health).is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(Instant::now() < deadline, "nginx did not answer on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx { child, _dir: dir }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A Burrow behind nginx: the server's `base` is switched to nginx's address, so every
/// harness request goes through the proxy (the command line still works on its folder).
fn behind_nginx(test: &str) -> Option<(Server, Nginx)> {
    let bin = nginx_or_skip(test)?;
    let port = free_port();
    let public = format!("http://127.0.0.1:{port}");
    let mut s = Server::build()
        .args(["--trusted-proxies", "127.0.0.1/32", "--public-url", &public])
        .start();
    let upstream = s.base.trim_start_matches("http://").to_string();
    let nginx = Nginx::start(&bin, port, &upstream);
    s.base = public;
    Some((s, nginx))
}

#[test]
fn setup_sign_in_and_links_work_through_nginx() {
    let Some((s, _nginx)) = behind_nginx("setup_sign_in_and_links_work_through_nginx") else {
        return;
    };
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
    // The same-site check holds with the Host nginx passes on, and refuses another site.
    let r = browser("/api/auth/login/", &creds);
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("set-cookie").is_some());
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

#[test]
fn a_live_stream_and_an_upload_pass_through_nginx() {
    let Some((s, _nginx)) = behind_nginx("a_live_stream_and_an_upload_pass_through_nginx") else {
        return;
    };
    let key = s.key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    let entry = |n: i64| json!({"type": "info", "message": format!("entry {n}")});
    s.append_ok(&key, &run, &[entry(1)]);
    let stream = s.stream(&key, &run, None, "");
    let first = stream.until(|e| e.is_entry());
    // Each entry appended now arrives while the stream stays open: nginx does not hold
    // it back (with proxy buffering, these small events would wait for a full buffer).
    for n in 2..=4 {
        let sent = Instant::now();
        s.append_ok(&key, &run, &[entry(n)]);
        let got = stream.until(|e| e.is_entry());
        let last = got.last().unwrap().json();
        assert_eq!(last["message"], format!("entry {n}"), "{got:?}");
        // Far below the 15 s keep-alive that would otherwise flush a buffer.
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{:?}",
            sent.elapsed()
        );
    }
    // Resuming with Last-Event-ID through the proxy gives only what came after.
    let after = entry_ids(&first)[0];
    let resumed = s.stream(&key, &run, Some(after), "");
    let got = resumed.until(|e| e.is_entry() && e.json()["message"] == "entry 4");
    assert_eq!(entry_ids(&got).len(), 3, "{got:?}");

    // A few MiB through a direct upload form, and back.
    let size = 6 * 1024 * 1024;
    let bytes: Vec<u8> = (0..size).map(direct::pattern_byte).collect();
    let prepared = direct::prepare(
        &s,
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
    let r = direct::send(&s, presigned, bytes.clone());
    assert!(r.status().is_success(), "upload: {}", r.status());
    let done = direct::finalize(&s, &key, &run, json!([direct::item(&prepared[0])]));
    expect_json(done, 200);
    let path = prepared[0]["storage_path"].as_str().unwrap();
    assert!(crate::artifact_checks::fetch(&s, &key, &run, path) == bytes);
}

#[test]
fn the_client_behind_nginx_is_throttled_by_its_own_address() {
    let Some((s, _nginx)) = behind_nginx("the_client_behind_nginx_is_throttled_by_its_own_address")
    else {
        return;
    };
    // The client comes from 127.0.0.2, which is not a trusted proxy, and names a new
    // address in each forwarding header it sends: Burrow must see 127.0.0.2 every time.
    let client = reqwest::blocking::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
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
}
