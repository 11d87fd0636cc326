//! The server under test: the real `burrow` binary started on 127.0.0.1:0 with a temporary
//! data folder, how to start it with other settings, and how to stop it.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;

use super::watchdog;

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
    /// An extra certificate that clients of `base` trust (a proxy's self-signed one).
    pub tls_root: Option<reqwest::Certificate>,
}

/// How to start a server: `Server::build()`, then `.arg()`, `.env()`, `.data_dir()` or
/// `.command()` as the test needs, then `.start()` (or `start_with_key`, `start_with_task`).
pub struct Builder {
    command: Command,
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    stderr: Option<std::fs::File>,
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

    /// Write the server's log (its stderr) to `file` instead of the test's stderr.
    pub fn stderr(mut self, file: std::fs::File) -> Builder {
        self.stderr = Some(file);
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
        watchdog::watch();
        let Builder {
            mut command,
            args,
            dir,
            stderr,
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
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr.map_or_else(Stdio::inherit, Stdio::from))
            .spawn()
            .expect("start burrow");
        watchdog::own(child.id(), false);
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
            tls_root: None,
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
            stderr: None,
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

    /// Stops the server abruptly (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        watchdog::disown(self.child.id());
    }

    /// Asks the server to stop (SIGTERM) and waits for it, for at most a minute.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                watchdog::disown(self.child.id());
                return status;
            }
            if std::time::Instant::now() > deadline {
                self.kill();
                panic!("burrow did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port, closed again at once for another process to take. Drawn at random
/// below Linux's ephemeral range (32768 and up), from which every `bind(:0)` and outgoing
/// connection of the tests running in parallel takes its port: there, a port found free
/// would soon be handed to someone else.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    static DRAWN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    loop {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(DRAWN.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let port = 20_000 + (h.finish() % 12_000) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
