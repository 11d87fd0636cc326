//! Artifacts moving between servers: `export --with-artifacts` carries their contents and
//! `import` puts them in the new server's store, so downloads work there; an export without
//! them makes `import` name every artifact it cannot find.

use crate::artifact_checks::fetch;
use crate::harness::Server;
use crate::harness::stores::must_succeed;
use serde_json::json;

#[test]
fn artifacts_survive_export_and_import() {
    let old = Server::start();
    let key = old.key("task:write");
    let (run, _) = old.new_run(&key, &json!({}));
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let entry = run.upload_one(
        &old,
        &key,
        json!({"name": "blob.bin", "type": "artifact", "content_encoding": "base64",
               "content": base64_of(&bytes), "content_type": "application/octet-stream"}),
    );
    let path = entry["storage_path"].as_str().unwrap().to_string();
    let out = tempfile::tempdir().unwrap();
    let with = out.path().join("with.jsonl");
    let without = out.path().join("without.jsonl");
    must_succeed(old.cli(&[
        "export",
        with.to_str().unwrap(),
        "--with-artifacts",
        "--include-secrets",
    ]));
    must_succeed(old.cli(&["export", without.to_str().unwrap(), "--include-secrets"]));

    // With the contents: the new server serves the same bytes.
    let dir = tempfile::tempdir().unwrap();
    let said = must_succeed(crate::harness::cli(
        dir.path(),
        &["import", with.to_str().unwrap()],
    ));
    assert!(said.contains("1 artifacts"), "{said}");
    let new = Server::build().data_dir(dir.path()).start();
    let key = new.key("task:write");
    assert_eq!(fetch(&new, &key, &run, &path), bytes);

    // Without: the import works and says plainly which artifact it could not find.
    let dir = tempfile::tempdir().unwrap();
    let out = crate::harness::cli(dir.path(), &["import", without.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&path), "{stderr}");
    assert!(stderr.contains("--with-artifacts"), "{stderr}");
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
