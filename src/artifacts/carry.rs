//! Artifact contents moving between servers: `export --with-artifacts` writes each object a
//! manifest refers to as one more line of the export, `import` puts those objects in its own
//! store, and then names every manifest entry whose object it still cannot find.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::Store;
use crate::error::{Error, Result};

/// The export's pseudo-table for artifact contents: `{"storage_path", "base64"}` rows.
pub const TABLE: &str = "artifact_objects";

/// Writes the objects at `paths` to `out`; returns how many were written and the paths the
/// store did not have (left out, and said so).
pub async fn write(
    store: &Store,
    paths: &[String],
    out: &mut dyn Write,
) -> Result<(u64, Vec<String>)> {
    let (mut written, mut missing) = (0, Vec::new());
    for path in paths {
        // Whole objects, one at a time: an artifact is at most --artifact-max-bytes.
        match store.get_bytes(path).await {
            Ok(bytes) => {
                let row = json!({"storage_path": path, "base64": STANDARD.encode(bytes)});
                writeln!(out, "{}", json!({"table": TABLE, "row": row}))?;
                written += 1;
            }
            Err(Error::NotFound) => missing.push(path.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok((written, missing))
}

/// One exported object: its storage path and its bytes.
pub fn decode(row: &Value) -> std::result::Result<(String, Vec<u8>), String> {
    let path = row["storage_path"]
        .as_str()
        .filter(|p| !p.is_empty() && !p.split('/').any(|s| s == ".." || s.is_empty()))
        .ok_or("an artifact object without a valid storage_path")?;
    let bytes = STANDARD
        .decode(row["base64"].as_str().unwrap_or_default())
        .map_err(|e| format!("artifact object {path}: {e}"))?;
    Ok((path.to_string(), bytes))
}

/// The paths among `paths` that the store has no object for.
pub async fn missing(store: &Store, paths: &[String]) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    for path in paths {
        if store.size(path).await?.is_none() {
            gone.push(path.clone());
        }
    }
    Ok(gone)
}
