//! The proxies in front of Burrow in these tests: Debian's nginx with `deploy/nginx.conf` and
//! Caddy with `deploy/Caddyfile`, each on a loopback port, terminating TLS with a
//! self-signed certificate made for the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Certificate;

use crate::harness::{free_port, watchdog};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Nginx,
    Caddy,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Nginx => "nginx",
            Kind::Caddy => "caddy",
        }
    }

    fn binary(self) -> Option<PathBuf> {
        let candidates: &[&str] = match self {
            Kind::Nginx => &["/usr/sbin/nginx", "/usr/bin/nginx"],
            Kind::Caddy => &["/usr/bin/caddy", "/usr/local/bin/caddy"],
        };
        candidates.iter().map(PathBuf::from).find(|p| p.exists())
    }

    /// The proxy's binary, or `None` (skip) when it is missing; under `CI` a missing proxy
    /// fails the test (`.ci/run` installs both).
    pub fn binary_or_skip(self) -> Option<PathBuf> {
        let found = self.binary();
        // libtest names each test's thread after the test.
        let thread = std::thread::current();
        let test = thread.name().unwrap_or("a proxy test");
        let name = self.name();
        if found.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: {name} is missing (apt-get install -y {name}); .ci/run installs it"
            );
            eprintln!("skipping {test}: {name} is missing (apt-get install -y {name})");
        }
        found
    }
}

/// A self-signed certificate for 127.0.0.1, made with openssl, and its key.
pub struct Tls {
    dir: tempfile::TempDir,
    pub root: Certificate,
}

impl Tls {
    pub fn self_signed() -> Tls {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .output()
            .expect("run openssl (apt-get install -y openssl)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pem = std::fs::read(dir.path().join("cert.pem")).unwrap();
        let root = Certificate::from_pem(&pem).unwrap();
        Tls { dir, root }
    }

    fn cert(&self) -> String {
        self.dir.path().join("cert.pem").display().to_string()
    }

    fn key(&self) -> String {
        self.dir.path().join("key.pem").display().to_string()
    }
}

/// A proxy in the foreground on its own folder, stopped (SIGTERM) when dropped.
pub struct Proxy {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts `kind` (its binary at `bin`) with the repository's config, serving HTTPS on
    /// `port` with `tls` and passing to `upstream` (host:port), and waits until it answers;
    /// `None` when it exited at once (its port was taken by another test since it was found
    /// free: the caller tries another).
    pub fn start(kind: Kind, bin: &Path, tls: &Tls, port: u16, upstream: &str) -> Option<Proxy> {
        let dir = tempfile::tempdir().unwrap();
        let mut command = match kind {
            Kind::Nginx => nginx(bin, dir.path(), tls, port, upstream),
            Kind::Caddy => caddy(bin, dir.path(), tls, port, upstream),
        };
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", kind.name()));
        watchdog::own(child.id(), false);
        let client = reqwest::blocking::Client::builder()
            .add_root_certificate(tls.root.clone())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let health = format!("https://127.0.0.1:{port}/_health");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                eprintln!("{} exited: {status}", kind.name());
                watchdog::disown(child.id());
                return None;
            }
            match client.get(&health).send() {
                Ok(r) if r.status() == 200 => break,
                other => assert!(
                    Instant::now() < deadline,
                    "{} did not answer on {port}: {other:?}",
                    kind.name()
                ),
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Proxy { child, _dir: dir })
    }
}

impl Drop for Proxy {
    /// SIGTERM, then SIGKILL after 5 s: Caddy's graceful stop waits for active connections
    /// for ever by default (its `grace_period` is 0, eternal), and a live stream is one.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        watchdog::disown(self.child.id());
    }
}

/// A file of `deploy/`, with each of `changes` (from, to) made exactly once.
fn deploy_file(name: &str, changes: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in changes {
        assert_eq!(text.matches(from).count(), 1, "deploy/{name}: {from}");
        text = text.replace(from, to);
    }
    text
}

const CERT: &str = "/etc/ssl/certs/burrow.example.com.pem";
const KEY: &str = "/etc/ssl/private/burrow.example.com.key";
const UPSTREAM: &str = "127.0.0.1:8000";

fn nginx(bin: &Path, dir: &Path, tls: &Tls, port: u16, upstream: &str) -> Command {
    let site = deploy_file(
        "nginx.conf",
        &[
            ("listen 80;", format!("listen 127.0.0.1:{};", free_port())),
            (
                "listen 443 ssl http2;",
                format!("listen 127.0.0.1:{port} ssl http2;"),
            ),
            (
                &format!("server {UPSTREAM};"),
                format!("server {upstream};"),
            ),
            (CERT, tls.cert()),
            (KEY, tls.key()),
        ],
    );
    std::fs::write(dir.join("burrow.conf"), site).unwrap();
    let d = dir.display();
    // As root (CI), workers would switch to nobody, who cannot use the temp folders.
    let user = if is_root() { "user root;" } else { "" };
    let main = format!(
        "daemon off;\n{user}\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log stderr warn;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  \
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
         include {d}/burrow.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let mut command = Command::new(bin);
    command
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"));
    command
}

fn caddy(bin: &Path, dir: &Path, tls: &Tls, port: u16, upstream: &str) -> Command {
    let site = deploy_file(
        "Caddyfile",
        &[
            (
                "burrow.example.com {",
                format!("https://127.0.0.1:{port} {{"),
            ),
            (
                &format!("reverse_proxy {UPSTREAM} {{"),
                format!("reverse_proxy {upstream} {{"),
            ),
            (CERT, tls.cert()),
            (KEY, tls.key()),
        ],
    );
    // The test's own global options: no admin endpoint or port 80 listener to share between
    // parallel tests, and Caddy's state in this folder.
    let d = dir.display();
    let global = format!(
        "{{\n\tadmin off\n\tauto_https disable_redirects\n\tstorage file_system {d}/data\n\
         \tlog {{\n\t\tlevel WARN\n\t}}\n}}\n\n"
    );
    std::fs::write(dir.join("Caddyfile"), global + &site).unwrap();
    let mut command = Command::new(bin);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .env("XDG_DATA_HOME", dir);
    command
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
