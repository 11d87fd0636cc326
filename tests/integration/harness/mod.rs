//! The test harness: starts the real `burrow` binary on 127.0.0.1:0 with a temporary data
//! folder, and talks HTTP to it.

pub mod acp;
pub mod bad;
pub mod openapi;
pub mod posthog;
pub mod runner;
pub mod runs;
pub mod sse;

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

pub mod stores;

pub const BIN: &str = env!("CARGO_BIN_EXE_burrow");

/// A running server on its own data folder; killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    /// The one-time setup link `burrow serve` printed, when it printed one.
    pub setup_link: Option<String>,
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub client: Client,
}

/// How to start a server: `Server::build()`, then `.arg()`, `.env()`, `.data_dir()` or
/// `.command()` as the test needs, then `.start()`.
pub struct Builder {
    command: Command,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
}

impl Builder {
    /// An extra command-line argument after `serve`.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Builder {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Builder {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// An environment variable for the server process.
    pub fn env(mut self, name: &str, value: &str) -> Builder {
        self.command.env(name, value);
        self
    }

    /// Serve from an existing data folder, kept after the server stops (by default a fresh
    /// temporary folder, removed with the server).
    pub fn data_dir(mut self, dir: &Path) -> Builder {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Start through `command`: a program that execs the binary as its last argument (e.g.
    /// `setpriv … BIN`), with its own environment and working folder.
    pub fn command(mut self, command: Command) -> Builder {
        self.command = command;
        self
    }

    /// Starts the server and waits until it listens.
    pub fn start(self) -> Server {
        let Builder {
            mut command,
            args,
            dir,
        } = self;
        let (dir, temp) = match dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::tempdir().expect("temp dir");
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        // `--addr` among the arguments replaces the default, a free port.
        let addr = if args.iter().any(|a| a == "--addr") {
            &[][..]
        } else {
            &["--addr", "127.0.0.1:0"][..]
        };
        let mut child = command
            .arg("serve")
            .args(addr)
            .arg("--data-dir")
            .arg(&dir)
            .arg("--log")
            .arg("warn")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start burrow");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut setup_link = None;
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if line.starts_with("burrow setup link") {
                        setup_link = line.rsplit(' ').next().map(str::to_string);
                    }
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
            setup_link,
            dir,
            _temp: temp,
            client,
        }
    }
}

impl Server {
    /// A server with default settings on a fresh temporary data folder.
    pub fn start() -> Server {
        Server::build().start()
    }

    /// A server to set up before it starts; see `Builder`.
    pub fn build() -> Builder {
        Builder {
            command: Command::new(BIN),
            args: Vec::new(),
            dir: None,
        }
    }

    /// The server process's id, e.g. to read its memory use from `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The token of the printed setup link; panics when none was printed.
    pub fn setup_token(&self) -> String {
        let link = self.setup_link.as_deref().expect("a setup link on stdout");
        link.split_once("#token=")
            .expect("a token in the link")
            .1
            .to_string()
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

    /// Adds a GitHub integration to project 1 with the command line; returns its id.
    pub fn integration(&self, account: &str) -> i64 {
        self.cli_ok(&[
            "integration",
            "create",
            "--project",
            "1",
            "--account",
            account,
        ])
        .parse()
        .expect("integration create prints an integer id")
    }

    /// Runs a command that must succeed and returns its standard output, trimmed.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "burrow {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Creates a project with `burrow project create` and returns its id.
    pub fn project(&self, name: &str) -> i64 {
        self.cli_ok(&["project", "create", "--name", name])
            .parse()
            .expect("project create prints an integer id")
    }

    /// A key with a label (one word), and its id as `burrow key list` shows it.
    pub fn labeled_key(&self, email: &str, label: &str, scopes: &str) -> (String, String) {
        let value = self.cli_ok(&[
            "key", "create", "--email", email, "--label", label, "--scopes", scopes,
        ]);
        (value, self.key_id(email, label))
    }

    /// The id of the user's key with this label, from `burrow key list`.
    pub fn key_id(&self, email: &str, label: &str) -> String {
        let list = self.cli_ok(&["key", "list", "--email", email]);
        list.lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|cols| cols.get(1) == Some(&label))
            .map(|cols| cols[0].to_string())
            .unwrap_or_else(|| panic!("no key labeled {label} in:\n{list}"))
    }

    /// A read-write connection to the server's SQLite file, for setting up states the API
    /// cannot reach yet.
    pub fn sqlite(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.dir.join("burrow.db")).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn
    }

    /// A request with a raw body (sent as `application/json`).
    pub fn send_raw(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Response {
        self.req(key, method, path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
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

/// A free loopback port, closed again at once for another process to take.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `burrow --data-dir DIR ARGS…` to completion.
pub fn cli(dir: &Path, args: &[&str]) -> Output {
    cli_env(dir, args, &[])
}

/// Runs `burrow --data-dir DIR ARGS…` to completion with extra environment variables.
pub fn cli_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--log")
        .arg("warn")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run burrow")
}

/// Asserts the status and returns the JSON body.
pub fn expect_json(r: Response, status: u16) -> Value {
    let got = r.status().as_u16();
    let text = r.text().unwrap();
    assert_eq!(got, status, "status, body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
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

/// Asserts the contract's 400 for a field: a validation error `code` at `attr`.
pub fn assert_invalid(r: Response, code: &str, attr: &str) -> Value {
    assert_error(r, 400, "validation_error", code, Some(attr))
}

/// Asserts the contract's 404: nothing there, or nothing this caller may see.
pub fn assert_not_found(r: Response) -> Value {
    assert_error(r, 404, "invalid_request", "not_found", None)
}

/// A valid task body (description and origin_product) with `extra`'s fields set on top.
pub fn task_body(extra: Value) -> Value {
    let mut body = serde_json::json!({
        "description": "Fix the flaky login test",
        "origin_product": "user_created",
    });
    for (k, v) in extra.as_object().expect("extra fields as an object") {
        body[k] = v.clone();
    }
    body
}

/// Whether `v` is a timestamp as the contract writes them: `2026-11-28T12:34:56.123456Z`.
pub fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 27
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[26] == b'Z'
        && s.chars()
            .enumerate()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 26].contains(&i) || c.is_ascii_digit())
}
