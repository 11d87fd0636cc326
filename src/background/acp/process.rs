//! The agent's process once started: the last lines of its stderr, and stopping it with
//! its process group.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Child;

use super::jail::Group;
use crate::background::run_log::Log;
use crate::duration::humane;

/// How many of the agent's last stderr lines a failed run's log shows.
const STDERR_LINES: usize = 40;

/// The last lines the agent wrote on stderr.
pub(crate) type Tail = Arc<Mutex<VecDeque<String>>>;

pub(crate) fn read_stderr(child: &mut Child) -> Tail {
    let tail: Tail = Arc::default();
    if let Some(stderr) = child.stderr.take() {
        keep_tail(stderr, tail.clone());
    }
    tail
}

/// Reads `reader` to its end in the background, keeping its last lines in `tail`.
pub(crate) fn keep_tail(reader: impl AsyncRead + Unpin + Send + 'static, tail: Tail) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut t = tail.lock().unwrap();
            if t.len() == STDERR_LINES {
                t.pop_front();
            }
            t.push_back(line);
        }
    });
}

/// A failed request in words: an agent that exited by itself is named by its exit.
pub(crate) fn explain(why: String, exit: Exit) -> String {
    match exit {
        Exit {
            by_itself: false, ..
        } => why,
        Exit {
            code: Some(code), ..
        } => {
            format!("The agent exited with code {code} before its turn ended.")
        }
        Exit {
            signal: Some(signal),
            ..
        } => {
            format!("The agent was killed by signal {signal} before its turn ended.")
        }
        _ => why,
    }
}

/// How the agent's process ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// It had exited before Burrow stopped it.
    pub by_itself: bool,
}

/// Stops the agent: a real agent does not exit when its stdin closes, so its process group
/// gets SIGTERM, then SIGKILL after the grace period. Its exit code or signal.
pub(crate) async fn stop(child: &mut Child, group: &Group, grace: Duration, log: &Log) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    let mut by_itself = false;
    let status = match tokio::time::timeout(Duration::from_millis(200), child.wait()).await {
        Ok(status) => {
            by_itself = true;
            status.ok()
        }
        Err(_) => {
            group.signal(Signal::SIGTERM);
            let deadline = tokio::time::Instant::now() + grace;
            let status = tokio::time::timeout_at(deadline, child.wait()).await;
            // The agent's own children share its grace period.
            while group.alive() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if group.alive() || status.is_err() {
                log.burrow(
                    "agent_killed",
                    json!({"reason": format!("The agent did not stop within {} of SIGTERM (--runner-grace).", humane(grace))}),
                );
                group.signal(Signal::SIGKILL);
            }
            match status {
                Ok(status) => status.ok(),
                Err(_) => child.wait().await.ok(),
            }
        }
    };
    group.signal(Signal::SIGKILL);
    Exit {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        by_itself,
    }
}
