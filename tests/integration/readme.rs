//! The README cannot drift from the binary: its configuration table lists exactly the flags
//! and `BURROW_*` variables `burrow --help` prints, with the same defaults and meanings, and
//! its command table exactly the commands the binary has, and its Layout section exactly
//! what is at the top of `src/`.

use std::collections::BTreeSet;
use std::process::Command;

use crate::harness::BIN;

const README: &str = include_str!("../../README.md");

/// The variables Burrow sets for the command runner's commands: documented, not settings.
const RUNNER_ENVIRONMENT: &[&str] = &[
    "BURROW_URL",
    "BURROW_API_KEY",
    "BURROW_PROJECT_ID",
    "BURROW_TASK_ID",
    "BURROW_RUN_ID",
    "BURROW_EVENT_INGEST_TOKEN",
];

/// `burrow ARGS… --help`, with no `BURROW_*` variable set (they would show up as values).
fn help(args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args).arg("--help");
    for (name, _) in std::env::vars() {
        if name.starts_with("BURROW_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().expect("run burrow --help");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The entries of a help section ("Options:", "Commands:"), continuation lines joined.
fn section(help: &str, title: &str) -> Vec<String> {
    let mut entries: Vec<String> = Vec::new();
    let lines = help.lines().skip_while(|l| *l != title).skip(1);
    for line in lines.take_while(|l| !l.trim().is_empty()) {
        let indent = line.len() - line.trim_start().len();
        match entries.last_mut() {
            Some(last) if indent > 6 => last.push_str(&format!(" {}", line.trim())),
            _ => entries.push(line.trim().to_string()),
        }
    }
    entries
}

/// One option of `--help`: its flag, variable, default, and the whole text.
pub struct Opt {
    pub flag: String,
    pub var: Option<String>,
    pub default: Option<String>,
    pub text: String,
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    Some(&text[from..from + text[from..].find(end)?])
}

pub fn options() -> Vec<Opt> {
    section(&help(&[]), "Options:")
        .into_iter()
        .map(|text| {
            let flag = text
                .split_whitespace()
                .find(|w| w.starts_with("--"))
                .expect("a long flag")
                .trim_end_matches(',')
                .to_string();
            // `[env: NAME=value]`, or `[env: NAME]` for settings whose values are hidden.
            let var =
                between(&text, "[env: ", "]").map(|v| v.split('=').next().unwrap_or(v).to_string());
            let default = between(&text, "[default: ", "]").map(str::to_string);
            Opt {
                flag,
                var,
                default,
                text,
            }
        })
        .filter(|o| o.flag != "--help" && o.flag != "--version")
        .collect()
}

/// The rows of the README's configuration table: each cell with its backticks removed.
fn readme_rows() -> Vec<Vec<String>> {
    let table = README
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section")
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| `--"))
        .map(|l| {
            let cells = l.trim().trim_matches('|').split(" | ");
            cells
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

/// The `--flags` named in a text.
fn flags(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect()
}

#[test]
fn the_configuration_table_matches_help() {
    let opts = options();
    let rows = readme_rows();
    assert!(!opts.is_empty() && !rows.is_empty());
    let help_flags: BTreeSet<&str> = opts.iter().map(|o| o.flag.as_str()).collect();
    let readme_flags: BTreeSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        help_flags, readme_flags,
        "flags in --help vs the README's table"
    );

    let help_text = help(&[]);
    let help_vars: BTreeSet<&str> = help_text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("BURROW_") && w.len() > "BURROW_".len())
        .collect();
    let readme_vars: BTreeSet<&str> = README
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("BURROW_") && w.len() > "BURROW_".len())
        .filter(|w| !RUNNER_ENVIRONMENT.contains(w))
        .collect();
    assert_eq!(
        help_vars, readme_vars,
        "BURROW_* variables in --help vs the README"
    );

    for opt in &opts {
        let row = rows.iter().find(|r| r[0] == opt.flag).unwrap();
        assert_eq!(row.len(), 4, "flag | variable | default | meaning: {row:?}");
        let var = opt
            .var
            .as_deref()
            .unwrap_or_else(|| panic!("{} has no variable", opt.flag));
        assert_eq!(row[1], var, "the variable of {}", opt.flag);
        match &opt.default {
            Some(default) => assert_eq!(&row[2], default, "the default of {}", opt.flag),
            None => assert!(
                opt.text.contains(&format!("(default: {})", row[2])),
                "{}: {}",
                opt.flag,
                opt.text
            ),
        }
        assert!(
            opt.text.contains(&row[3]),
            "the meaning of {}: {:?} vs {}",
            opt.flag,
            row[3],
            opt.text
        );
    }
}

#[test]
fn the_command_table_matches_the_commands() {
    let mut binary = BTreeSet::new();
    let commands = section(&help(&[]), "Commands:");
    for command in commands.iter().filter_map(|c| c.split_whitespace().next()) {
        match command {
            "help" => {}
            "serve" => {
                binary.insert("burrow serve".to_string());
            }
            _ if section(&help(&[command]), "Commands:").is_empty() => {
                binary.insert(format!("burrow {command}"));
            }
            _ => {
                for sub in section(&help(&[command]), "Commands:") {
                    let sub = sub.split_whitespace().next().unwrap();
                    if sub != "help" {
                        binary.insert(format!("burrow {command} {sub}"));
                    }
                }
            }
        }
    }
    let mut readme = BTreeSet::new();
    for line in README.lines().filter(|l| l.starts_with("| `burrow")) {
        for cell in line.split('`').filter(|c| c.starts_with("burrow ")) {
            let words: Vec<&str> = cell
                .split_whitespace()
                .take_while(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
                .collect();
            readme.insert(words.join(" "));
        }
    }
    assert_eq!(
        binary, readme,
        "commands of the binary vs the README's table"
    );

    // Every flag a command's row shows is a flag that command takes.
    for line in README.lines().filter(|l| l.starts_with("| `burrow ")) {
        let cell = line.split('`').nth(1).unwrap();
        let words: Vec<&str> = cell.split_whitespace().collect();
        let path: Vec<&str> = words[1..]
            .iter()
            .take_while(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
            .copied()
            .collect();
        let text = help(&path);
        let takes = flags(&text);
        for flag in flags(cell) {
            assert!(
                takes.contains(flag),
                "{cell}: burrow {} takes no {flag}",
                path.join(" ")
            );
        }
    }
}

/// The README's Layout section names every file and folder at the top of `src/`, and
/// nothing that is not there.
#[test]
fn the_layout_lists_every_module() {
    let layout = between(README, "## Layout", "\n## ")
        .or_else(|| README.split("## Layout").nth(1))
        .expect("a Layout section");
    let listed: BTreeSet<String> = layout
        .lines()
        .skip_while(|l| l.trim_end() != "src/")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let present: BTreeSet<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap())
        .filter_map(|e| {
            let name = e.file_name().into_string().unwrap();
            if e.file_type().unwrap().is_dir() {
                Some(format!("{name}/"))
            } else {
                name.ends_with(".rs").then_some(name)
            }
        })
        .collect();
    assert_eq!(listed, present, "the README's Layout vs src/");
}
