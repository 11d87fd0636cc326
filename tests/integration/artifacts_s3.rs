//! Artifacts on a real S3-compatible server (moto in CI, named by `BURROW_TEST_S3_ENDPOINT`):
//! the same checks as on a local folder, each test on its own bucket. Without the variable
//! these tests fail under CI and are skipped elsewhere.

use crate::artifact_checks::{LIMIT_ARGS, direct_checks, inline_checks, limit_checks};
use crate::harness::stores::Backend;

#[test]
fn inline_uploads_on_s3() {
    let Some(store) = Backend::s3("inline_uploads_on_s3") else {
        return;
    };
    let s = store.start(&[]);
    inline_checks(&s, &store);
    assert!(
        !s.dir.join("artifacts").exists(),
        "an S3 server keeps no local artifact folder"
    );
}

#[test]
fn direct_uploads_on_s3() {
    let Some(store) = Backend::s3("direct_uploads_on_s3") else {
        return;
    };
    let s = store.start(&[]);
    direct_checks(&s, &store);
}

#[test]
fn presigned_urls_and_limits_on_s3() {
    let Some(store) = Backend::s3("presigned_urls_and_limits_on_s3") else {
        return;
    };
    let s = store.start(&LIMIT_ARGS);
    limit_checks(&s, &store);
}
