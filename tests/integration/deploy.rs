//! The env file the Debian package installs (`deploy/burrow.env`) cannot drift from the
//! binary: it lists exactly the `BURROW_*` settings `burrow --help` prints, each commented
//! out with its default and above it its help line.

use std::collections::BTreeSet;

use crate::readme::options;

const ENV_FILE: &str = include_str!("../../deploy/burrow.env");

/// The settings lines, commented out or not: (variable, value, the comment lines above).
fn settings() -> Vec<(&'static str, &'static str, String)> {
    let mut found = Vec::new();
    let mut comments = String::new();
    for line in ENV_FILE.lines() {
        let setting = line.trim_start_matches('#');
        match setting.split_once('=') {
            Some((var, value)) if var.starts_with("BURROW_") && !var.contains(' ') => {
                found.push((var, value, std::mem::take(&mut comments)));
            }
            _ if line.trim().is_empty() => comments.clear(),
            _ => {
                comments.push_str(line.trim_start_matches('#').trim());
                comments.push(' ');
            }
        }
    }
    found
}

#[test]
fn the_env_file_lists_exactly_the_settings_of_help() {
    let opts = options();
    let lines = settings();
    let help: BTreeSet<&str> = opts.iter().filter_map(|o| o.var.as_deref()).collect();
    let listed: BTreeSet<&str> = lines.iter().map(|(var, ..)| *var).collect();
    let missing: Vec<_> = help.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&help).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "deploy/burrow.env lacks {missing:?} and lists {unknown:?}, which --help does not"
    );
    assert_eq!(lines.len(), listed.len(), "each setting once");

    for opt in &opts {
        let Some(var) = opt.var.as_deref() else {
            continue;
        };
        let (_, value, comment) = lines.iter().find(|(v, ..)| *v == var).unwrap();
        assert!(
            ENV_FILE.contains(&format!("\n#{var}=")),
            "{var} is commented out: the file only documents the defaults"
        );
        if let Some(default) = &opt.default {
            assert_eq!(value, default, "the default of {var}");
        }
        // The help line, without the flag, the variable and the default clap adds.
        let words: Vec<&str> = opt.text.split(' ').collect();
        let skip = if words[1].starts_with('<') { 2 } else { 1 };
        let meaning = words[skip..].join(" ");
        let meaning = meaning.split(" [env: ").next().unwrap();
        assert!(
            comment.contains(meaning),
            "the comment above {var}: {comment:?} should say {meaning:?}"
        );
    }

    // Any other BURROW_* the comments name is a setting too.
    for word in ENV_FILE
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("BURROW_"))
    {
        assert!(help.contains(word), "deploy/burrow.env names {word}");
    }
}
