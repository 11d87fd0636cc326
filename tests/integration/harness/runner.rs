//! Helpers for the runner and webhook tests: bounded polling, scripts in a temporary folder,
//! runs started over the API, and a real HTTP receiver on loopback that records requests and
//! answers with planned status codes.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::runs::read_ndjson;
pub use super::runs::{run_path, runs_path};
use super::{Builder, Server, expect_json};

/// Generous: the machine running the tests may be busy.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Calls `f` every 50 ms until it returns something, for at most `PATIENCE`.
pub fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes an executable shell script into `dir`; returns its path.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    path
}

impl Builder {
    /// `--runner command --runner-command COMMAND`: queued runs start COMMAND.
    pub fn command_runner(self, command: &str) -> Builder {
        self.args(["--runner", "command", "--runner-command", command])
    }

    /// `--webhook-allowed-hosts HOSTS`: e.g. `loopback`, where the test's receivers listen.
    pub fn webhook_hosts(self, hosts: &str) -> Builder {
        self.args(["--webhook-allowed-hosts", hosts])
    }
}

/// The runner command `WORK=<work> sh <work>/<name>`, for a script made by `script`.
pub fn sh_command(work: &Path, name: &str) -> String {
    format!("WORK={} sh {}", work.display(), work.join(name).display())
}

/// As `sh_command`, with `exec`: the script itself leads the process group, so its trap
/// decides how it stops.
pub fn exec_command(work: &Path, name: &str) -> String {
    let (work, script) = (work.display(), work.join(name));
    format!("WORK={work} exec sh {}", script.display())
}

/// `POST tasks/:id/run/`; returns the new run's id.
pub fn start_run(s: &Server, key: &str, task: &str) -> String {
    let r = s.post(
        key,
        &format!("/api/projects/1/tasks/{task}/run/"),
        &json!({}),
    );
    let task = expect_json(r, 200);
    task["latest_run"]["id"].as_str().unwrap().to_string()
}

pub fn get_run(s: &Server, key: &str, task: &str, run: &str) -> Value {
    expect_json(s.get(key, &run_path(task, run, "")), 200)
}

/// Waits until the run has `status`; returns it.
pub fn wait_status(s: &Server, key: &str, task: &str, run: &str, status: &str) -> Value {
    poll(&format!("run {run} to be {status}"), || {
        let r = get_run(s, key, task, run);
        (r["status"] == status).then_some(r)
    })
}

/// The run's log entries.
pub fn run_log(s: &Server, key: &str, task: &str, run: &str) -> Vec<Value> {
    read_ndjson(s.get(key, &run_path(task, run, "logs")))
}

/// Waits until an entry of the run's log says `text`; returns the log.
pub fn wait_log(s: &Server, key: &str, task: &str, run: &str, text: &str) -> Vec<Value> {
    poll(&format!("{text:?} in the log of run {run}"), || {
        let log = run_log(s, key, task, run);
        log.iter()
            .any(|e| e["message"].as_str().unwrap_or("").contains(text))
            .then_some(log)
    })
}

/// Whether a process is gone (a zombie nobody has reaped yet counts as gone).
pub fn process_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// `sha256=<hex>` as Burrow signs webhook bodies.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether the body carries a valid signature under `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        self.headers.get("x-burrow-signature") == Some(&signature(secret, &self.body))
    }
}

/// An HTTP server on 127.0.0.1 in a thread: records every request and answers each with
/// the next planned status code (200 once the plan is used up).
pub struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn start(plan: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(plan.iter().copied().collect::<VecDeque<u16>>()));
        let record = got.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (record, plan) = (record.clone(), plan.clone());
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let Some(req) = read_request(&mut reader) else {
                        return;
                    };
                    let status = plan.lock().unwrap().pop_front().unwrap_or(200);
                    record.lock().unwrap().push(req);
                    let mut stream = stream;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    );
                });
            }
        });
        Receiver { url, got }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests have arrived; returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        poll(&format!("{n} requests at {}", self.url), || {
            let got = self.received();
            (got.len() >= n).then_some(got)
        })
    }
}

fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<Received> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_string();
    let mut headers = HashMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        path,
        headers,
        body,
    })
}
