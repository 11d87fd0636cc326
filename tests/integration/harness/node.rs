//! What the tests that run Node programs (the browser driver, the OpenID provider) need.

use std::path::Path;
use std::process::Command;

/// The repository's root folder.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Why `tests/<dir>` cannot run here, if it cannot: node is missing, or the `package` its
/// `npm ci` installs.
pub fn missing_modules(dir: &str, package: &str) -> Option<String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node is not installed".into());
    }
    if !root()
        .join(format!("tests/{dir}/node_modules/{package}"))
        .is_dir()
    {
        return Some(format!(
            "tests/{dir}/node_modules is missing (run `npm ci` in tests/{dir})"
        ));
    }
    None
}
