//! `burrow storage check` against an endpoint nobody answers on gives its verdict at once:
//! one line on stderr, no retries and none of their log lines, even at the default log level.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::BIN;
use crate::harness::stores::CREDENTIALS;

#[test]
fn an_unreachable_endpoint_fails_at_once_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port())
    };
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["--data-dir", dir.path().to_str().unwrap(), "--log", "info"])
        .args([
            "--artifacts",
            "s3://bucket/prefix",
            "--s3-endpoint",
            &closed,
        ])
        .args(["--s3-path-style", "--s3-allow-http", "storage", "check"])
        .envs(CREDENTIALS)
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: write failed: cannot reach the endpoint"),
        "{stderr}"
    );
    // A refused connection on loopback takes milliseconds; retries took 2.5 s or more.
    assert!(took < Duration::from_secs(2), "took {took:?}");
}
