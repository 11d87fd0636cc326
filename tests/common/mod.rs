//! The test harness: starts the real `burrow` binary on 127.0.0.1:0 with a temporary data
//! folder, and talks HTTP to it.
#![allow(dead_code)]

pub mod runs;
pub mod sse;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_burrow");

/// A running server on its own data folder; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub client: Client,
}

impl Server {
    /// A server on a fresh temporary data folder.
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// A server on a fresh temporary data folder with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().to_path_buf();
        let mut s = Self::start_in(&dir, args);
        s._temp = Some(temp);
        s
    }

    /// A server on an existing data folder (kept after the server stops).
    pub fn start_in(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(dir)
            .arg("--log")
            .arg("warn")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start burrow");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("burrow listening on ") {
                        break url.trim().to_string();
                    }
                }
                other => panic!("burrow exited before listening: {other:?}"),
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Server {
            child,
            base,
            dir: dir.to_path_buf(),
            _temp: None,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs `burrow --data-dir <this server's folder> ARGS…`.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.dir, args)
    }

    /// A new key for `admin@localhost` (created on first use) with these scopes.
    pub fn key(&self, scopes: &str) -> String {
        self.key_for("admin@localhost", scopes, &[])
    }

    pub fn key_for(&self, email: &str, scopes: &str, projects: &[i64]) -> String {
        let mut args = vec!["key", "create", "--email", email, "--scopes", scopes];
        let ids: Vec<String> = projects.iter().map(i64::to_string).collect();
        for id in &ids {
            args.push("--project");
            args.push(id);
        }
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "key create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn get(&self, key: &str, path: &str) -> Response {
        self.req(key, reqwest::Method::GET, path).send().unwrap()
    }

    pub fn post(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::POST, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn patch(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::PATCH, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn put(&self, key: &str, path: &str, body: &Value) -> Response {
        self.req(key, reqwest::Method::PUT, path)
            .json(body)
            .send()
            .unwrap()
    }

    pub fn delete(&self, key: &str, path: &str) -> Response {
        self.req(key, reqwest::Method::DELETE, path).send().unwrap()
    }

    /// A request with `Authorization: Bearer KEY` (none when `key` is empty).
    pub fn req(&self, key: &str, method: reqwest::Method, path: &str) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        if key.is_empty() {
            r
        } else {
            r.bearer_auth(key)
        }
    }

    /// Creates a task in project 1 and returns it.
    pub fn task(&self, key: &str, body: &Value) -> Value {
        let r = self.post(key, "/api/projects/1/tasks/", body);
        assert_eq!(r.status(), 201, "create task");
        r.json().unwrap()
    }

    /// Stops the server abruptly (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the server to stop (SIGTERM) and waits for it.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `burrow --data-dir DIR ARGS…` to completion.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--log")
        .arg("warn")
        .args(args)
        .output()
        .expect("run burrow")
}

/// Asserts the contract's error shape and returns the body.
pub fn assert_error(r: Response, status: u16, kind: &str, code: &str, attr: Option<&str>) -> Value {
    assert_eq!(r.status().as_u16(), status, "status");
    let body: Value = r.json().expect("a JSON error body");
    assert_eq!(body["type"], kind, "type in {body}");
    assert_eq!(body["code"], code, "code in {body}");
    match attr {
        Some(a) => assert_eq!(body["attr"], a, "attr in {body}"),
        None => assert!(body["attr"].is_null(), "attr in {body}"),
    }
    assert!(body["detail"].is_string(), "detail in {body}");
    body
}
