//! `burrow storage check` on a local folder and on a real S3-compatible server: it writes,
//! reads, lists and deletes a probe, and when it fails it names the cause.

use crate::harness::stores::{
    Backend, Bucket, CREDENTIALS, must_fail, must_succeed, s3_endpoint, walk,
};
use crate::harness::{Server, cli_env};

fn assert_check_passes(stdout: &str, describes: &str) {
    let expected = [
        describes,
        "ok: wrote burrow-probe/",
        "ok: read it back",
        "ok: listed it",
        "ok: deleted it",
        "the artifact store works",
    ];
    for line in expected {
        assert!(stdout.contains(line), "{line:?} missing from:\n{stdout}");
    }
}

#[test]
fn storage_check_on_a_local_folder() {
    let store = Backend::local();
    let s = store.start(&[]);
    let folder = s.dir.join("artifacts");
    let stdout = must_succeed(store.cli(&s, &["storage", "check"]));
    assert_check_passes(&stdout, &format!("checking folder {}", folder.display()));
    let mut left = Vec::new();
    walk(&folder, &mut left);
    assert!(left.is_empty(), "the probe is deleted: {left:?}");

    let file = s.dir.join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let under_a_file = file.join("artifacts");
    let stderr = must_fail(s.cli(&[
        "--artifacts",
        under_a_file.to_str().unwrap(),
        "storage",
        "check",
    ]));
    assert!(
        stderr.contains("cannot create the artifact folder"),
        "{stderr}"
    );
}

#[test]
fn storage_check_on_s3() {
    let Some(endpoint) = s3_endpoint("storage_check_on_s3") else {
        return;
    };
    let bucket = Bucket::create(&endpoint);
    let s = Server::start();
    let check = |bucket: &str, endpoint: &str, extra: &[&str]| {
        let artifacts = format!("s3://{bucket}/pre/fix");
        let mut args = vec![
            "--artifacts",
            &artifacts,
            "--s3-endpoint",
            endpoint,
            "--s3-path-style",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["storage", "check"]);
        cli_env(&s.dir, &args, &CREDENTIALS)
    };
    let stdout = must_succeed(check(&bucket.name, &endpoint, &["--s3-allow-http"]));
    let describes = format!("checking s3://{}/pre/fix at {endpoint}", bucket.name);
    assert_check_passes(&stdout, &describes);
    assert_eq!(bucket.keys(), Vec::<String>::new(), "the probe is deleted");

    let cases = [
        (
            "burrow-test-no-such-bucket",
            endpoint.clone(),
            true,
            "write failed: the bucket does not exist",
        ),
        (
            bucket.name.as_str(),
            endpoint.clone(),
            false,
            "write failed: the endpoint is plain http:// but --s3-allow-http is off",
        ),
        (
            bucket.name.as_str(),
            closed_port(),
            true,
            "write failed: cannot reach the endpoint",
        ),
    ];
    for (name, endpoint, allow_http, cause) in cases {
        let extra: &[&str] = if allow_http {
            &["--s3-allow-http"]
        } else {
            &[]
        };
        let stderr = must_fail(check(name, &endpoint, extra));
        assert!(stderr.contains(cause), "{cause:?} missing from: {stderr}");
        assert_eq!(
            stderr
                .trim()
                .lines()
                .last()
                .map(|l| l.starts_with("error: ")),
            Some(true),
            "{stderr}"
        );
    }
}

/// A loopback URL nothing listens on: a port just bound and released.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
