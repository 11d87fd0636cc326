//! `burrow gc`: removes objects no manifest or live upload refers to once they are an hour
//! old, keeps everything else (soft-deleted tasks' artifacts too), and reports what it did.

use std::process::Command;

use crate::artifact_checks::{RunRef, direct, inline_item};
use crate::harness::stores::{Backend, must_succeed, walk};
use crate::harness::{Server, expect_json};
use serde_json::{Value, json};

/// What `gc` must keep: a plain name, a name object_store escapes in keys, the artifact of a
/// soft-deleted task, and an upload prepared and sent but not finalized.
struct Referenced {
    key: String,
    downloads: Vec<(RunRef, String, Vec<u8>)>,
    prepared: (RunRef, Value),
}

impl Referenced {
    fn create(s: &Server) -> Referenced {
        let key = s.key("task:write");
        let run = s.new_run(&key, &json!({})).0;
        let mut downloads = Vec::new();
        for name in ["plan.md", "report [v2] ~50%#{x}.md"] {
            let e = run.upload_one(s, &key, inline_item(name, "plan", name));
            let path = e["storage_path"].as_str().unwrap().to_string();
            downloads.push((run.clone(), path, name.as_bytes().to_vec()));
        }
        let deleted = s.new_run(&key, &json!({})).0;
        let e = deleted.upload_one(s, &key, inline_item("d.md", "plan", "d"));
        let r = s.delete(&key, &format!("/api/projects/1/tasks/{}/", deleted.task));
        assert_eq!(r.status(), 204);
        let path = e["storage_path"].as_str().unwrap().to_string();
        downloads.push((deleted, path, b"d".to_vec()));
        let p = direct::prepare(
            s,
            &key,
            &run,
            json!([{"name": "p.bin", "type": "artifact", "size": 3}]),
        );
        assert!(
            direct::send(s, &p[0]["presigned_post"], b"abc".to_vec())
                .status()
                .is_success()
        );
        Referenced {
            key,
            downloads,
            prepared: (run, p[0].clone()),
        }
    }

    fn count(&self) -> usize {
        self.downloads.len() + 1
    }

    /// Every one is still there: downloadable, or for the prepared upload, finalizable.
    fn assert_still_there(&self, s: &Server) {
        for (run, path, bytes) in &self.downloads {
            assert_eq!(
                &crate::artifact_checks::fetch(s, &self.key, run, path),
                bytes,
                "{path}"
            );
        }
        let (run, prepared) = &self.prepared;
        let body = expect_json(
            direct::finalize(s, &self.key, run, json!([direct::item(prepared)])),
            200,
        );
        let path = body["artifacts"][2]["storage_path"].as_str().unwrap();
        assert_eq!(
            crate::artifact_checks::fetch(s, &self.key, run, path),
            b"abc"
        );
    }
}

/// The report's lines, sorted (objects are listed in no particular order).
fn sorted_lines(report: &str) -> Vec<String> {
    let mut lines: Vec<String> = report.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn gc_on_a_local_folder() {
    let store = Backend::local();
    let s = store.start(&[]);
    let referenced = Referenced::create(&s);
    let root = s.dir.join("artifacts");
    let gone = "tasks/artifacts/team_1/task_gone/run_gone";
    std::fs::create_dir_all(root.join(gone)).unwrap();
    // One stray as Burrow writes a key (escaped), one as another tool might (raw).
    let strays = [
        ("0badc0de_old %5B1%5D.txt", "0badc0de_old [1].txt"),
        ("0badc0de_raw [2].txt", "0badc0de_raw [2].txt"),
    ];
    for (file, _) in strays {
        std::fs::write(root.join(gone).join(file), "stray bytes").unwrap();
    }
    let mut files = Vec::new();
    walk(&root, &mut files);
    for file in &files {
        let status = Command::new("touch")
            .args(["-d", "2 hours ago"])
            .arg(file)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let young = root.join(gone).join("0badc0de_young.txt");
    std::fs::write(&young, "young").unwrap();
    let kept = referenced.count() + 1;

    for (args, verb) in [
        (&["gc", "--dry-run"][..], "would remove"),
        (&["gc"][..], "removed"),
    ] {
        let mut expected: Vec<String> = strays
            .iter()
            .map(|(_, path)| format!("{verb} {gone}/{path} (11 bytes)"))
            .collect();
        expected.push(format!("{verb} 2 objects (22 bytes); kept {kept}"));
        expected.sort();
        assert_eq!(sorted_lines(&must_succeed(store.cli(&s, args))), expected);
        let left = strays
            .iter()
            .filter(|(f, _)| root.join(gone).join(f).exists())
            .count();
        assert_eq!(
            left,
            if verb == "removed" { 0 } else { 2 },
            "after {args:?}"
        );
    }
    assert!(young.exists(), "objects younger than an hour are kept");
    referenced.assert_still_there(&s);
    let report = must_succeed(store.cli(&s, &["gc"]));
    assert_eq!(
        report.trim(),
        format!("removed 0 objects (0 bytes); kept {kept}")
    );
}

#[test]
fn gc_on_s3() {
    let Some(store) = Backend::s3("gc_on_s3") else {
        return;
    };
    let s = store.start(&[]);
    let referenced = Referenced::create(&s);
    let bucket = store.bucket.as_ref().unwrap();
    bucket.put(
        "burrow/tasks/artifacts/team_1/task_gone/run_gone/0badc0de_stray.txt",
        b"stray",
    );
    bucket.put("elsewhere/not-burrow.txt", b"other");
    let keys = bucket.keys();
    let kept = referenced.count() + 1;
    // Nothing here is an hour old, so nothing may go; the listing covers burrow's prefix only.
    let report = must_succeed(store.cli(&s, &["gc", "--dry-run"]));
    assert_eq!(
        report.trim(),
        format!("would remove 0 objects (0 bytes); kept {kept}")
    );
    let report = must_succeed(store.cli(&s, &["gc"]));
    assert_eq!(
        report.trim(),
        format!("removed 0 objects (0 bytes); kept {kept}")
    );
    assert_eq!(bucket.keys(), keys);
    referenced.assert_still_there(&s);
}
