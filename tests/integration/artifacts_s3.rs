//! Artifacts on a real S3-compatible server (moto in CI, named by `BURROW_TEST_S3_ENDPOINT`):
//! the same checks as on a local folder, each test on its own bucket. Without the variable
//! these tests fail under CI and are skipped elsewhere.

use crate::artifact_checks::{DIRECT, INLINE, LIMIT_ARGS, LIMITS, run_checks};
use crate::harness::stores::Backend;

#[test]
fn inline_uploads_on_s3() {
    let Some(store) = Backend::s3("inline_uploads_on_s3") else {
        return;
    };
    let s = run_checks(&store, &[], INLINE);
    assert!(
        !s.dir.join("artifacts").exists(),
        "an S3 server keeps no local artifact folder"
    );
}

#[test]
fn direct_uploads_on_s3() {
    if let Some(store) = Backend::s3("direct_uploads_on_s3") {
        run_checks(&store, &[], DIRECT);
    }
}

#[test]
fn presigned_urls_and_limits_on_s3() {
    if let Some(store) = Backend::s3("presigned_urls_and_limits_on_s3") {
        run_checks(&store, &LIMIT_ARGS, LIMITS);
    }
}
