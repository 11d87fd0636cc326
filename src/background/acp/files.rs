//! `fs/read_text_file` and `fs/write_text_file`, confined to the run's workspace: a path
//! with `..`, or one that leads outside through a symlink, is refused.

use std::path::{Component, Path, PathBuf};

/// Largest file the agent may read or write through `fs/*`.
const MAX_BYTES: u64 = 32 * 1024 * 1024;

/// Resolves `path` (absolute, or relative to the workspace) to a place inside `root`, which
/// must itself be canonical. Every existing part of it is resolved through its symlinks
/// and must stay inside; the rest will be created as plain folders and files.
pub fn confine(root: &Path, path: &Path) -> Result<PathBuf, String> {
    let refused = || format!("{} is outside the workspace", path.display());
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refused());
    }
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    // The longest part that exists, resolved; the rest appended as written.
    let mut existing = full.as_path();
    let mut rest = Vec::new();
    let resolved = loop {
        match existing.canonicalize() {
            Ok(real) => break real,
            Err(_) => {
                rest.push(existing.file_name().ok_or_else(refused)?.to_owned());
                existing = existing.parent().ok_or_else(refused)?;
            }
        }
    };
    if !resolved.starts_with(root) {
        return Err(refused());
    }
    let mut out = resolved;
    for part in rest.iter().rev() {
        out.push(part);
    }
    Ok(out)
}

/// The file's text, from 1-based `line`, at most `limit` lines.
pub async fn read(
    root: &Path,
    path: &Path,
    line: Option<u32>,
    limit: Option<u32>,
) -> Result<String, String> {
    let real = confine(root, path)?;
    let meta = tokio::fs::metadata(&real)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_BYTES {
        return Err(format!(
            "{} is larger than {MAX_BYTES} bytes",
            path.display()
        ));
    }
    let text = tokio::fs::read_to_string(&real)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if line.is_none() && limit.is_none() {
        return Ok(text);
    }
    let skip = line.unwrap_or(1).saturating_sub(1) as usize;
    let take = limit.map_or(usize::MAX, |l| l as usize);
    Ok(text.split_inclusive('\n').skip(skip).take(take).collect())
}

/// Writes the file, making its folders.
pub async fn write(root: &Path, path: &Path, content: &str) -> Result<(), String> {
    if content.len() as u64 > MAX_BYTES {
        return Err(format!("more than {MAX_BYTES} bytes"));
    }
    let real = confine(root, path)?;
    if let Some(parent) = real.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    // A symlink made after the check could still point out: refuse to follow one now.
    if let Ok(meta) = tokio::fs::symlink_metadata(&real).await
        && meta.file_type().is_symlink()
    {
        return Err(format!("{} is outside the workspace", path.display()));
    }
    tokio::fs::write(&real, content)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::confine;

    #[test]
    fn paths_stay_inside_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("src")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        assert_eq!(
            confine(&root, &root.join("src/a.rs")).unwrap(),
            root.join("src/a.rs")
        );
        assert_eq!(
            confine(&root, "new/b.txt".as_ref()).unwrap(),
            root.join("new/b.txt")
        );
        assert!(confine(&root, &root.join("../x")).is_err());
        assert!(confine(&root, &root.join("src/../../x")).is_err());
        assert!(confine(&root, "/etc/passwd".as_ref()).is_err());
        assert!(confine(&root, &root.join("etc-link/passwd")).is_err());
        assert!(confine(&root, &root.join("etc-link/new.txt")).is_err());
    }
}
