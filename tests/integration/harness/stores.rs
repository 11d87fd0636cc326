//! The artifact stores tests run against: the default local folder, and a real S3-compatible
//! server (moto in CI) named by `BURROW_TEST_S3_ENDPOINT`, with a fresh bucket per test.

use std::path::Path;
use std::process::Output;

use super::{Server, cli_env};

/// Names the S3 test server, e.g. `http://127.0.0.1:9000`.
pub const ENDPOINT_VAR: &str = "BURROW_TEST_S3_ENDPOINT";

/// Given to every child process that talks to S3. Without credentials object_store asks the
/// cloud's instance-metadata address (169.254.169.254), which a test must never contact.
pub const CREDENTIALS: [(&str, &str); 2] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
];

/// The S3 test server's endpoint. When the variable is unset an S3 test fails under CI (where
/// `.ci/run` starts moto) and is skipped elsewhere.
pub fn s3_endpoint(test: &str) -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.trim().is_empty() => Some(e.trim().trim_end_matches('/').to_string()),
        _ if std::env::var_os("CI").is_some() => panic!(
            "{test}: {ENDPOINT_VAR} is not set, but CI is: the S3 tests need an S3-compatible \
             server (.ci/run starts moto and sets {ENDPOINT_VAR})"
        ),
        _ => {
            eprintln!("skipping {test}: set {ENDPOINT_VAR} (e.g. http://127.0.0.1:9000) to run it");
            None
        }
    }
}

/// A bucket on the S3 test server, and the prefix burrow stores under.
pub struct Bucket {
    pub endpoint: String,
    pub name: String,
    pub prefix: String,
}

impl Bucket {
    /// Creates a bucket with a fresh name (moto accepts an unsigned `PUT /BUCKET`).
    pub fn create(endpoint: &str) -> Bucket {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("burrow-test-{}", &id[..16]);
        let r = reqwest::blocking::Client::new()
            .put(format!("{endpoint}/{name}"))
            .send()
            .unwrap_or_else(|e| panic!("the S3 test server at {endpoint} does not answer: {e}"));
        assert!(
            r.status().is_success(),
            "create bucket {name}: {}",
            r.status()
        );
        Bucket {
            endpoint: endpoint.to_string(),
            name,
            prefix: "burrow".into(),
        }
    }

    /// An unsigned request to the bucket (moto does not check signatures).
    fn get(&self, query: &str) -> String {
        let r = reqwest::blocking::Client::new()
            .get(format!("{}/{}?{query}", self.endpoint, self.name))
            .send()
            .unwrap();
        assert!(
            r.status().is_success(),
            "GET bucket?{query}: {}",
            r.status()
        );
        r.text().unwrap()
    }

    /// Every key in the bucket.
    pub fn keys(&self) -> Vec<String> {
        xml_values(&self.get("list-type=2&max-keys=1000"), "Key")
    }

    /// Keys of multipart uploads begun and neither completed nor aborted.
    pub fn open_uploads(&self) -> Vec<String> {
        xml_values(&self.get("uploads"), "Key")
    }

    /// Stores an object directly (unsigned), bypassing burrow.
    pub fn put(&self, key: &str, body: &'static [u8]) {
        let r = reqwest::blocking::Client::new()
            .put(format!("{}/{}/{key}", self.endpoint, self.name))
            .body(body)
            .send()
            .unwrap();
        assert!(r.status().is_success(), "PUT {key}: {}", r.status());
    }
}

/// The text of every `<tag>…</tag>` in an S3 XML answer, unescaped.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(v, _)| v))
        .map(|v| {
            v.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Where a test's artifacts live: the data folder's `artifacts/`, or a bucket.
pub struct Backend {
    pub bucket: Option<Bucket>,
}

impl Backend {
    pub fn local() -> Backend {
        Backend { bucket: None }
    }

    /// A fresh bucket on the S3 test server; `None` when S3 tests are skipped.
    pub fn s3(test: &str) -> Option<Backend> {
        let endpoint = s3_endpoint(test)?;
        Some(Backend {
            bucket: Some(Bucket::create(&endpoint)),
        })
    }

    pub fn is_s3(&self) -> bool {
        self.bucket.is_some()
    }

    /// The settings that point burrow at this store.
    pub fn args(&self) -> Vec<String> {
        match &self.bucket {
            None => Vec::new(),
            Some(b) => vec![
                "--artifacts".into(),
                format!("s3://{}/{}", b.name, b.prefix),
                "--s3-endpoint".into(),
                b.endpoint.clone(),
                "--s3-path-style".into(),
                "--s3-allow-http".into(),
            ],
        }
    }

    fn env(&self) -> &'static [(&'static str, &'static str)] {
        if self.is_s3() { &CREDENTIALS } else { &[] }
    }

    /// A server on this store with extra arguments.
    pub fn start(&self, extra: &[&str]) -> Server {
        let mut server = Server::build().args(self.args()).args(extra);
        for (name, value) in self.env() {
            server = server.env(name, value);
        }
        server.start()
    }

    /// Runs `burrow ARGS…` on the server's data folder and this store.
    pub fn cli(&self, s: &Server, args: &[&str]) -> Output {
        let settings = self.args();
        let mut all: Vec<&str> = settings.iter().map(String::as_str).collect();
        all.extend_from_slice(args);
        cli_env(&s.dir, &all, self.env())
    }

    /// What a streamed upload has put down so far: the open multipart uploads of a bucket;
    /// every file of a folder (an upload writes a staging file there).
    pub fn begun(&self, s: &Server) -> Vec<String> {
        match &self.bucket {
            Some(b) => b.open_uploads(),
            None => self.stored(s),
        }
    }

    /// The storage path of every object in the store.
    pub fn stored(&self, s: &Server) -> Vec<String> {
        let mut paths = match &self.bucket {
            Some(b) => {
                let prefix = format!("{}/", b.prefix);
                b.keys()
                    .into_iter()
                    .map(|k| k.strip_prefix(&prefix).unwrap_or(&k).to_string())
                    .collect()
            }
            None => {
                let root = s.dir.join("artifacts");
                let mut files = Vec::new();
                walk(&root, &mut files);
                files.iter().map(|f| relative(&root, f)).collect::<Vec<_>>()
            }
        };
        paths.sort();
        paths
    }
}

/// Every file under `dir`, recursively.
pub fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `file` relative to `root`, with `/` between parts.
pub fn relative(root: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(root).expect("a file under the root");
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A field of `/proc/<pid>/status` in KiB, e.g. `VmHWM` (peak resident memory).
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn text(out: &Output) -> (String, String) {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (stdout, stderr)
}

/// The standard output of a command that must succeed.
pub fn must_succeed(out: Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    stdout
}

/// The standard error of a command that must fail (with a non-zero exit code).
pub fn must_fail(out: Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "it succeeded: {stdout}");
    assert_ne!(out.status.code(), Some(0));
    stderr
}
