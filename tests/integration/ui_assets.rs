//! The browser UI's files as served: the vendored Markdown and sanitizer modules come from
//! the binary as JavaScript, under the same strict Content-Security-Policy as the rest, and
//! are the very files web/vendor/README.md names by checksum; index.html preloads every module.

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

/// The JavaScript modules under `dir` (recursively), as the paths the browser asks for.
fn modules(web: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            modules(web, &path, out);
        } else if path.extension().is_some_and(|e| e == "js" || e == "mjs") {
            let rel = path.strip_prefix(web).unwrap().to_string_lossy();
            out.push(format!("/{rel}"));
        }
    }
}

/// index.html preloads every module app.js reaches, so the browser fetches them at once
/// rather than one import level at a time (the run page is six levels deep).
#[test]
fn index_preloads_every_module() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
    let mut want = Vec::new();
    modules(&web, &web.join("js"), &mut want);
    modules(&web, &web.join("vendor"), &mut want);
    want.retain(|m| m != "/js/app.js");
    want.sort();
    let index = std::fs::read_to_string(web.join("index.html")).unwrap();
    let mut got: Vec<String> = index
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<link rel=\"modulepreload\" href=\""))
        .map(|l| l.trim_end_matches("\">").to_string())
        .collect();
    got.sort();
    assert_eq!(got, want, "web/index.html's modulepreload links");
}
