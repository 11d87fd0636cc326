//! `burrow storage check` and `burrow gc`: probing the artifact store, and removing objects
//! no manifest refers to.

use std::collections::HashSet;

use crate::error::{Error, Result};

use super::{ROOT, Store};

/// Writes, reads, lists and deletes a probe object; says which step failed and why.
pub async fn check(store: &Store) -> Result<Vec<String>> {
    let probe = format!("burrow-probe/{}", uuid::Uuid::new_v4());
    let body = format!("burrow storage check {probe}").into_bytes();
    let mut done = Vec::new();
    store
        .put(&probe, body.clone())
        .await
        .map_err(|e| step("write", e))?;
    done.push(format!("wrote {probe}"));
    let read = store.get_bytes(&probe).await.map_err(|e| step("read", e))?;
    if read != body {
        return Err(Error::unexpected(
            "read: the probe object came back with different bytes".into(),
        ));
    }
    done.push("read it back".into());
    let listed = store
        .list("burrow-probe")
        .await
        .map_err(|e| step("list", e))?;
    if !listed.iter().any(|(path, _)| *path == probe) {
        return Err(Error::unexpected(
            "list: the probe object is missing from the listing".into(),
        ));
    }
    done.push("listed it".into());
    store.delete(&probe).await.map_err(|e| step("delete", e))?;
    if store
        .size(&probe)
        .await
        .map_err(|e| step("delete", e))?
        .is_some()
    {
        return Err(Error::unexpected(
            "delete: the probe object is still there".into(),
        ));
    }
    done.push("deleted it".into());
    Ok(done)
}

/// The likely cause of a storage error, by the words its text holds, first match first.
const CAUSES: &[(&[&str], &str)] = &[
    (
        &["nosuchbucket", "bucket does not exist"],
        "the bucket does not exist",
    ),
    (
        &["signaturedoesnotmatch"],
        "signature mismatch: the secret key is wrong",
    ),
    (
        &["invalidaccesskeyid"],
        "the access key id is unknown to the store",
    ),
    (
        &["169.254.169.254"],
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ),
    (
        &["accessdenied", "forbidden", "status 403"],
        "access denied: the credentials may not do this",
    ),
    (
        &["scheme is not allowed"],
        "the endpoint is plain http:// but --s3-allow-http is off",
    ),
    (
        &["dns", "connect", "refused", "timed out"],
        "cannot reach the endpoint",
    ),
    (&["permission denied"], "the folder is not writable"),
];

/// Names the step and the likely cause of a storage error.
fn step(what: &str, e: Error) -> Error {
    let text = match &e {
        Error::NotFound => "not found".to_string(),
        other => other.to_string(),
    };
    let lower = text.to_lowercase();
    // A write answered "not found" means the bucket (or folder) itself is missing.
    let missing = matches!(e, Error::NotFound) && what != "delete";
    let cause = match CAUSES
        .iter()
        .find(|(words, _)| words.iter().any(|w| lower.contains(w)))
    {
        _ if missing => "the bucket does not exist",
        Some((_, cause)) => cause,
        None => "unexpected error",
    };
    Error::unexpected(format!("{what} failed: {cause} ({text})"))
}

/// What a collection removed (or would remove).
pub struct Collected {
    pub removed: Vec<(String, u64)>,
    pub kept: usize,
}

/// Deletes objects under `tasks/artifacts/` that no manifest or live upload refers to.
/// Objects younger than `grace_secs` are kept: an inline upload stores its objects just
/// before its manifest entry commits.
pub async fn collect(
    store: &Store,
    referenced: &HashSet<String>,
    grace_secs: i64,
    dry_run: bool,
) -> Result<Collected> {
    let cutoff = chrono::Utc::now() - chrono::Duration::seconds(grace_secs);
    let mut removed = Vec::new();
    let mut kept = 0;
    for (path, meta) in store.list(ROOT).await? {
        if referenced.contains(&path) || meta.last_modified > cutoff {
            kept += 1;
            continue;
        }
        if !dry_run {
            store.delete_listed(&meta.location).await?;
        }
        removed.push((path, meta.size));
    }
    Ok(Collected { removed, kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_unreachable_whatever_its_port() {
        let refused = "Error performing PUT http://127.0.0.1:44031/bucket/x - HTTP error: \
                       error sending request: client error (Connect): tcp connect error: \
                       Connection refused (os error 111)";
        let said = step("write", Error::unexpected(refused.into())).to_string();
        assert!(
            said.contains("write failed: cannot reach the endpoint"),
            "{said}"
        );
        let denied = "Client error with status 403 Forbidden: <Code>AccessDenied</Code>";
        let said = step("write", Error::unexpected(denied.into())).to_string();
        assert!(said.contains("write failed: access denied"), "{said}");
    }
}
