//! Artifact checks that hold whatever the store: each takes a running server and the store it
//! runs on, so `artifacts_local.rs` and `artifacts_s3.rs` run the same ones.

pub mod access;
pub mod direct;
pub mod inline;
pub mod refusals;

use reqwest::blocking::Response;
use serde_json::{Value, json};

pub use crate::harness::runs::RunRef;
use crate::harness::stores::Backend;
use crate::harness::{Server, expect_json};

/// One check: it takes a running server and the store that server runs on.
pub type Check = fn(&Server, &Backend);

/// Inline uploads, names, paths off the manifest and scopes; on a server started plainly.
pub const INLINE: &[Check] = &[
    inline::inline_round_trips,
    inline::names_stay_in_the_run,
    access::paths_not_on_the_run,
    access::scopes,
];

/// Direct uploads and what they refuse; on a server started plainly.
pub const DIRECT: &[Check] = &[
    direct::round_trip,
    refusals::refused_uploads,
    refusals::refused_finalize,
    refusals::hang_up_mid_upload,
    refusals::finalized_once,
    refusals::late_upload_after_finalize,
];

/// Presigned URLs and the size limit; on a server started with `LIMIT_ARGS`.
pub const LIMITS: &[Check] = &[access::presigned_urls, inline::size_limit];

/// Starts a server on `store` with `args` and runs `checks` on it, in order; returns the
/// server for what the caller checks after.
pub fn run_checks(store: &Backend, args: &[&str], checks: &[Check]) -> Server {
    let s = store.start(args);
    for check in checks {
        check(&s, store);
    }
    s
}

/// The arguments the `LIMITS` checks expect their server to have.
pub const LIMIT_ARGS: [&str; 2] = ["--artifact-max-bytes", "1024"];

impl RunRef {
    /// The run's folder in the store.
    pub fn prefix(&self) -> String {
        format!("tasks/artifacts/team_1/task_{}/run_{}/", self.task, self.id)
    }

    /// The manifest as the run object shows it.
    pub fn manifest(&self, s: &Server, key: &str) -> Vec<Value> {
        let run = expect_json(s.get(key, &self.path("")), 200);
        run["artifacts"]
            .as_array()
            .expect("a manifest list")
            .clone()
    }

    pub fn upload(&self, s: &Server, key: &str, artifacts: Value) -> Response {
        s.post(
            key,
            &self.path("artifacts/"),
            &json!({ "artifacts": artifacts }),
        )
    }

    /// Uploads one artifact that must be accepted; returns its manifest entry.
    pub fn upload_one(&self, s: &Server, key: &str, artifact: Value) -> Value {
        let body = expect_json(self.upload(s, key, json!([artifact])), 200);
        body["artifacts"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone()
    }

    pub fn download(&self, s: &Server, key: &str, storage_path: &str) -> Response {
        let body = json!({ "storage_path": storage_path });
        s.post(key, &self.path("artifacts/download/"), &body)
    }

    pub fn presign(&self, s: &Server, key: &str, storage_path: &str) -> Response {
        let body = json!({ "storage_path": storage_path });
        s.post(key, &self.path("artifacts/presign/"), &body)
    }
}

/// An inline artifact item of this name, type and text content.
pub fn inline_item(name: &str, kind: &str, content: &str) -> Value {
    json!({"name": name, "type": kind, "content": content})
}

/// Downloads an artifact that must exist and returns its bytes.
pub fn fetch(s: &Server, key: &str, run: &RunRef, storage_path: &str) -> Vec<u8> {
    let r = run.download(s, key, storage_path);
    assert_eq!(r.status(), 200, "download {storage_path}");
    r.bytes().unwrap().to_vec()
}

/// Whether `path` is the contract's `{run prefix}{8 hex}_{name}`.
pub fn assert_layout(run: &RunRef, path: &Value, name: &str) {
    let path = path.as_str().expect("a storage path");
    let rest = path
        .strip_prefix(&run.prefix())
        .unwrap_or_else(|| panic!("{path} is not under {}", run.prefix()));
    let (tag, stored_name) = rest.split_at(8);
    assert!(tag.chars().all(|c| c.is_ascii_hexdigit()), "{path}");
    assert_eq!(stored_name, format!("_{name}"), "{path}");
}
