//! The browser UI's files as served: the vendored Markdown and sanitizer modules come from
//! the binary as JavaScript, under the same strict Content-Security-Policy as the rest, and
//! are the very files web/vendor/README.md names by checksum.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::harness::Server;

/// The checksums in web/vendor/README.md's table, by file name.
fn listed() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("web/vendor/README.md"))
            .unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(|c| c.trim().trim_matches('`')).collect();
            (cells[3].to_string(), cells[5].to_string())
        })
        .collect()
}

#[test]
fn vendored_modules_are_served_as_javascript_under_the_strict_policy() {
    let s = Server::start();
    let files = listed();
    assert_eq!(files.len(), 2, "marked and DOMPurify: {files:?}");
    for (file, sha) in files {
        let r = reqwest::blocking::get(format!("{}/vendor/{file}", s.base)).unwrap();
        assert_eq!(r.status(), 200, "{file}");
        let mime = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(mime.contains("javascript"), "{file}: {mime}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let body = r.bytes().unwrap();
        let got: String = Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, sha, "{file} is the file README.md names");
    }
}
