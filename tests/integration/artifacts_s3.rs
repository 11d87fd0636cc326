//! Artifacts on a real S3-compatible server (moto in CI, named by `BURROW_TEST_S3_ENDPOINT`):
//! the same checks as on a local folder, each test on its own bucket. Without the variable
//! these tests fail under CI and are skipped elsewhere.

use crate::artifact_checks::{access, direct, inline, refusals};
use crate::harness::stores::Backend;

#[test]
fn inline_uploads_on_s3() {
    let Some(store) = Backend::s3("inline_uploads_on_s3") else {
        return;
    };
    let s = store.start(&[]);
    inline::inline_round_trips(&s, &store);
    inline::names_stay_in_the_run(&s, &store);
    access::paths_not_on_the_run(&s, &store);
    access::scopes(&s, &store);
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
    direct::round_trip(&s, &store);
    refusals::refused_uploads(&s, &store);
    refusals::refused_finalize(&s, &store);
    refusals::hang_up_mid_upload(&s, &store);
    refusals::finalized_once(&s, &store);
    refusals::late_upload_after_finalize(&s, &store);
}

#[test]
fn presigned_urls_and_limits_on_s3() {
    let Some(store) = Backend::s3("presigned_urls_and_limits_on_s3") else {
        return;
    };
    let s = store.start(&["--artifact-max-bytes", "1024"]);
    access::presigned_urls(&s, &store);
    inline::size_limit(&s, &store);
}
