//! Settings are checked at start-up: a bad URL, store or limit stops every command with one
//! line naming the setting (never a panic), and boolean variables take the usual spellings.

use std::process::{Command, Output};

use std::time::Duration;

use crate::harness::BIN;
use crate::harness::watchdog::output_within;

/// `burrow --data-dir DIR ARGS…` in `cwd`, with extra environment variables.
fn burrow(
    dir: &std::path::Path,
    cwd: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("BURROW_ARTIFACTS");
    // Some of these are `serve`, which would never end had it taken the setting.
    output_within(&mut cmd, "burrow", Duration::from_secs(60))
}

/// Exits 2 with one line on stderr that names `setting`, and no panic.
fn refused(out: &Output, setting: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{setting}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains(setting), "{err}");
}

#[test]
fn bad_settings_stop_every_command_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let (d, c) = (dir.path(), cwd.path());
    let bad_endpoint = [
        "--artifacts",
        "s3://bucket/prefix",
        "--s3-endpoint",
        "not-a-url",
    ];
    let check = [&bad_endpoint[..], &["storage", "check"]].concat();
    refused(&burrow(d, c, &check, &[]), "--s3-endpoint");
    let serve = [&bad_endpoint[..], &["serve", "--addr", "127.0.0.1:0"]].concat();
    refused(&burrow(d, c, &serve, &[]), "--s3-endpoint");
    refused(
        &burrow(
            d,
            c,
            &["serve", "--addr", "127.0.0.1:0"],
            &[("BURROW_S3_ENDPOINT", "::")],
        ),
        "--s3-endpoint",
    );
    for url in [
        "notaurl",
        "ftp://burrow.example",
        "https://burrow.example/?x=1",
    ] {
        refused(
            &burrow(
                d,
                c,
                &["--public-url", url, "serve", "--addr", "127.0.0.1:0"],
                &[],
            ),
            "--public-url",
        );
    }
    for url in [
        "api.anthropic.com",
        "file:///etc/passwd",
        "https://proxy.example/?to=x",
    ] {
        refused(
            &burrow(
                d,
                c,
                &["--llm-upstream", url, "serve", "--addr", "127.0.0.1:0"],
                &[],
            ),
            "--llm-upstream",
        );
    }
    for limit in ["0", "100", "1023"] {
        refused(
            &burrow(
                d,
                c,
                &["--json-limit", limit, "serve", "--addr", "127.0.0.1:0"],
                &[],
            ),
            "--json-limit",
        );
    }
    refused(
        &burrow(d, c, &["--artifacts", "ftp://x/y", "storage", "check"], &[]),
        "--artifacts",
    );
    assert!(!c.join("ftp:").exists(), "no folder named after the scheme");
    refused(
        &burrow(d, c, &["--artifacts", "s3:///y", "storage", "check"], &[]),
        "--artifacts",
    );

    // Good values still pass.
    let ok = burrow(
        d,
        c,
        &[
            "--public-url",
            "https://burrow.example/",
            "--json-limit",
            "1024",
            "storage",
            "check",
        ],
        &[],
    );
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn boolean_variables_take_the_usual_spellings() {
    let dir = tempfile::tempdir().unwrap();
    for value in ["1", "yes", "on", "true", "0", "no", "off", "false"] {
        for name in ["BURROW_S3_PATH_STYLE", "BURROW_S3_ALLOW_HTTP"] {
            let out = burrow(
                dir.path(),
                dir.path(),
                &["storage", "check"],
                &[(name, value)],
            );
            assert!(
                out.status.success(),
                "{name}={value}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let out = burrow(
        dir.path(),
        dir.path(),
        &["storage", "check"],
        &[("BURROW_S3_PATH_STYLE", "maybe")],
    );
    refused(&out, "--s3-path-style");
}
