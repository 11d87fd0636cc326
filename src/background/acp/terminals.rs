//! `terminal/*`: commands the agent runs in its workspace. Each keeps the last
//! `outputByteLimit` bytes of its stdout and stderr (cut at a character boundary, as the
//! protocol asks), and is killed with its process group on `terminal/kill`, on
//! `terminal/release` and when the session ends.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::watch;

use super::files::confine;
use super::jail::{Group, Jail};

/// The output kept when the agent names no limit.
const DEFAULT_LIMIT: u64 = 1024 * 1024;

/// How a command ended: its exit code, or the signal that killed it.
#[derive(Debug, Clone)]
pub struct Exit {
    pub code: Option<u32>,
    pub signal: Option<String>,
}

struct Output {
    bytes: Vec<u8>,
    limit: usize,
    truncated: bool,
}

impl Output {
    fn push(&mut self, more: &[u8]) {
        self.bytes.extend_from_slice(more);
        if self.bytes.len() > self.limit {
            let mut cut = self.bytes.len() - self.limit;
            // Never start inside a UTF-8 character: skip its continuation bytes.
            while cut < self.bytes.len() && (self.bytes[cut] & 0xC0) == 0x80 {
                cut += 1;
            }
            self.bytes.drain(..cut);
            self.truncated = true;
        }
    }
}

struct Terminal {
    output: Arc<Mutex<Output>>,
    exit: watch::Receiver<Option<Exit>>,
    group: Group,
}

/// The terminals of one session.
pub struct Terminals {
    jail: Jail,
    root: std::path::PathBuf,
    next: AtomicU64,
    open: Mutex<HashMap<String, Arc<Terminal>>>,
}

impl Terminals {
    pub fn new(jail: Jail, root: &Path) -> Terminals {
        Terminals {
            jail,
            root: root.to_path_buf(),
            next: AtomicU64::new(1),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a command; its terminal id.
    pub fn create(
        &self,
        command: &str,
        args: &[String],
        env: &[(String, String)],
        cwd: Option<&Path>,
        limit: Option<u64>,
    ) -> Result<String, String> {
        let cwd = match cwd {
            Some(dir) => confine(&self.root, dir)?,
            None => self.root.clone(),
        };
        let mut child = self
            .jail
            .command(command, args, &cwd, env)
            .spawn()
            .map_err(|e| format!("cannot start {command}: {e}"))?;
        let limit = limit.unwrap_or(DEFAULT_LIMIT).min(64 * DEFAULT_LIMIT) as usize;
        let output = Arc::new(Mutex::new(Output {
            bytes: Vec::new(),
            limit,
            truncated: false,
        }));
        let group = Group::of(child.id());
        let readers = [
            child
                .stdout
                .take()
                .map(|s| tokio::spawn(pump(s, output.clone()))),
            child
                .stderr
                .take()
                .map(|s| tokio::spawn(pump(s, output.clone()))),
        ];
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let status = child.wait().await;
            for reader in readers.into_iter().flatten() {
                let _ = reader.await;
            }
            use std::os::unix::process::ExitStatusExt;
            let exit = match status {
                Ok(s) => Exit {
                    code: s.code().map(|c| c as u32),
                    signal: s.signal().map(|n| {
                        Signal::try_from(n).map_or_else(|_| n.to_string(), |s| s.to_string())
                    }),
                },
                Err(_) => Exit {
                    code: None,
                    signal: None,
                },
            };
            let _ = tx.send(Some(exit));
        });
        let id = format!("term-{}", self.next.fetch_add(1, Ordering::Relaxed));
        let terminal = Arc::new(Terminal {
            output,
            exit: rx,
            group,
        });
        self.open.lock().unwrap().insert(id.clone(), terminal);
        Ok(id)
    }

    fn get(&self, id: &str) -> Result<Arc<Terminal>, String> {
        self.open
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .ok_or_else(|| format!("no terminal {id}"))
    }

    /// The output so far, whether it was cut, and how the command ended if it has.
    pub fn output(&self, id: &str) -> Result<(String, bool, Option<Exit>), String> {
        let t = self.get(id)?;
        let out = t.output.lock().unwrap();
        let exit = t.exit.borrow().clone();
        Ok((
            String::from_utf8_lossy(&out.bytes).into_owned(),
            out.truncated,
            exit,
        ))
    }

    /// Waits for the command to end.
    pub async fn wait(&self, id: &str) -> Result<Exit, String> {
        let mut exit = self.get(id)?.exit.clone();
        let ended = exit
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "the terminal was lost".to_string())?;
        Ok(ended.clone().unwrap_or(Exit {
            code: None,
            signal: None,
        }))
    }

    pub fn kill(&self, id: &str) -> Result<(), String> {
        self.get(id)?.group.signal(Signal::SIGKILL);
        Ok(())
    }

    /// Kills the command if it still runs and forgets the terminal.
    pub fn release(&self, id: &str) -> Result<(), String> {
        let t = self.open.lock().unwrap().remove(id);
        t.map(drop).ok_or_else(|| format!("no terminal {id}"))
    }

    /// Kills every command still running.
    pub fn close_all(&self) {
        self.open.lock().unwrap().clear();
    }
}

async fn pump(mut from: impl AsyncRead + Unpin, to: Arc<Mutex<Output>>) {
    let mut buf = vec![0u8; 8192];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        to.lock().unwrap().push(&buf[..n]);
    }
}
