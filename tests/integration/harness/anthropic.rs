//! The scripted stand-in for Anthropic's Messages API (`tests/fake-anthropic.py`) as a real
//! process on loopback: started with a script, read back through its record of requests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::runner::poll;

pub const FAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fake-anthropic.py");

/// A running fake upstream; killed when dropped.
pub struct FakeAnthropic {
    child: Child,
    pub url: String,
    record: PathBuf,
    _dir: tempfile::TempDir,
}

impl FakeAnthropic {
    /// Starts the fake with `script` (see the fake's own documentation).
    pub fn start(script: &Value) -> FakeAnthropic {
        let dir = tempfile::tempdir().unwrap();
        let script_path = dir.path().join("script.json");
        std::fs::write(&script_path, script.to_string()).unwrap();
        let record = dir.path().join("record.jsonl");
        let mut child = Command::new("python3")
            .arg(FAKE)
            .arg("--script")
            .arg(&script_path)
            .arg("--record")
            .arg(&record)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/fake-anthropic.py");
        super::watchdog::own(child.id(), false);
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the fake prints its port");
        FakeAnthropic {
            child,
            url: format!("http://127.0.0.1:{port}"),
            record,
            _dir: dir,
        }
    }

    /// Everything recorded so far: requests (`method`, `path`, `headers`, `body`) and
    /// `{"event": "disconnected"}` entries.
    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The requests it received (not its other records).
    pub fn requests(&self) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r.get("method").is_some())
            .collect()
    }

    /// Waits until a client went away in the middle of an answer.
    pub fn wait_disconnect(&self) {
        poll("the fake upstream to see its client go away", || {
            self.records()
                .iter()
                .any(|r| r["event"] == "disconnected")
                .then_some(())
        })
    }

    /// Releases every held answer.
    pub fn release(&self) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_release", self.url))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        super::watchdog::disown(self.child.id());
    }
}
