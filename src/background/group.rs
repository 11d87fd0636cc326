//! A command's process group: signalled whole, watched until every process in it has gone
//! (not just the shell that leads it), and recorded in the data folder while it runs, so
//! that the next start can stop what a crash of Burrow left running.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

/// How often a stopping group is looked at again.
const LOOK: Duration = Duration::from_millis(50);

/// The folder, in the data folder, holding one record per running command.
fn records(data_dir: &Path) -> PathBuf {
    data_dir.join("commands")
}

/// One process as `/proc/<pid>/stat` shows it.
struct Stat {
    pgrp: i32,
    zombie: bool,
    /// Clock ticks after boot.
    start: u64,
}

fn stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        zombie: matches!(fields.first(), Some(&"Z" | &"X")),
        pgrp: fields.get(2)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// The live processes of process group `pgid` (zombies, already dead, do not count).
fn members(pgid: i32) -> Vec<(i32, Stat)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.pgrp == pgid && !s.zombie)
        .collect()
}

/// This boot's id: start times count from boot, so a record from another boot means nothing.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn signal(pgid: i32, signal: Signal) {
    // Never pgid 0 or 1: killpg(0) would signal Burrow's own group. ESRCH: already gone.
    if pgid > 1 {
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

/// The process group of one command (its leader is the `sh` Burrow started), killed whole
/// when dropped so nothing it started outlives the run.
pub struct Group {
    pgid: i32,
    record: Option<PathBuf>,
}

impl Group {
    /// The group led by `pid`, recorded under `data_dir` as `<pgid> <start time> <boot id>`.
    pub fn new(pid: u32, data_dir: &Path, run_id: &str) -> Group {
        let pgid = pid as i32;
        let record = stat(pgid).and_then(|s| {
            let folder = records(data_dir);
            let path = folder.join(run_id);
            let line = format!("{pgid} {} {}\n", s.start, boot_id());
            let written =
                std::fs::create_dir_all(&folder).and_then(|_| std::fs::write(&path, line));
            match written {
                Ok(()) => Some(path),
                Err(e) => {
                    tracing::warn!("runner: cannot record process group {pgid}: {e}");
                    None
                }
            }
        });
        Group { pgid, record }
    }

    pub fn signal(&self, s: Signal) {
        signal(self.pgid, s);
    }

    /// Waits until no process of the group is left, or `deadline`; whether they all went.
    pub async fn gone_by(&self, deadline: Instant) -> bool {
        gone_by(self.pgid, None, deadline).await
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
        if let Some(path) = self.record.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn gone_by(pgid: i32, since: Option<u64>, deadline: Instant) -> bool {
    loop {
        let left = members(pgid)
            .iter()
            .any(|(_, s)| since.is_none_or(|t| s.start >= t));
        if !left {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(LOOK).await;
    }
}

/// Stops the process groups that commands left behind when Burrow last stopped without
/// stopping them (a crash, `kill -9`): SIGTERM, then SIGKILL after `grace`. A group is
/// only signalled when it is provably the recorded one: same boot, and its leader, if still
/// there, started at the recorded time (so a reused pid is never signalled). Returns how
/// many groups were stopped.
pub async fn stop_leftovers(data_dir: &Path, grace: Duration) -> usize {
    let Ok(dir) = std::fs::read_dir(records(data_dir)) else {
        return 0;
    };
    let boot = boot_id();
    let mut stopped = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        remove_work_folders(&entry.file_name().to_string_lossy());
        let mut fields = text.split_whitespace();
        let (Some(Ok(pgid)), Some(Ok(start)), Some(recorded_boot)) = (
            fields.next().map(str::parse::<i32>),
            fields.next().map(str::parse::<u64>),
            fields.next(),
        ) else {
            continue;
        };
        if recorded_boot != boot || pgid <= 1 {
            continue;
        }
        let found = members(pgid);
        let leader_reused = found
            .iter()
            .any(|(pid, s)| *pid == pgid && s.start != start);
        // Processes of the group all started after its leader did.
        if leader_reused || !found.iter().any(|(_, s)| s.start >= start) {
            continue;
        }
        signal(pgid, Signal::SIGTERM);
        stopped.push((pgid, start));
    }
    let deadline = Instant::now() + grace;
    for (pgid, start) in &stopped {
        if !gone_by(*pgid, Some(*start), deadline).await {
            signal(*pgid, Signal::SIGKILL);
        }
    }
    stopped.len()
}

/// Removes the working folders (`burrow-run-<run id>-…` in the temporary folder) that a
/// crash left behind with their command.
fn remove_work_folders(run_id: &str) {
    let prefix = format!("burrow-run-{run_id}-");
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in dir.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
