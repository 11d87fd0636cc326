//! What the command runner's command can see of the server: only the environment it is
//! given (no secret of the server's own), not the server's `/proc/<pid>/environ`, and a
//! working folder of its own outside the data folder, gone once the run is over.

use std::os::unix::fs::chown;
use std::path::Path;
use std::process::Command;

use crate::harness::runner::*;
use crate::harness::{BIN, Server};

/// Records what the command sees under `$WORK/<run id>/`. `$WORK/server-pid` names the
/// server: the command's parent may be a shell between them.
const PROBE: &str = r#"
out="$WORK/$BURROW_RUN_ID"; mkdir -p "$out"
env | sort > "$out/env"
pwd -P > "$out/pwd"
if cat "/proc/$(cat "$WORK/server-pid")/environ" > "$out/environ" 2>/dev/null; then
  echo read > "$out/proc"
else
  echo refused > "$out/proc"
fi
"#;

/// A secret in the server's environment, as the artifact store's credentials are.
const AWS_SECRET: &str = "aws-secret-must-not-leak";
/// A server setting that is a secret: it lives in the server's environment.
const METRICS_TOKEN: &str = "metrics-token-must-not-leak";

/// Whether this process runs as root, from `/proc/self/status` (`Uid: real effective …`).
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    uid.split_whitespace().nth(1) == Some("0")
}

/// Starts the server with secrets in its environment and the data folder as its working
/// folder (as with the default `./burrow-data`, run from inside it). Root may read any
/// process's `/proc` environ whatever its dumpable flag says, so when the tests run as root
/// the server runs as `nobody` (and so does its command, as a same-user process would).
fn start(data: &Path, work: &Path) -> Server {
    let mut cmd = if running_as_root() {
        for dir in [data, work] {
            chown(dir, Some(65534), Some(65534)).unwrap();
        }
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            BIN,
        ]);
        cmd
    } else {
        Command::new(BIN)
    };
    cmd.current_dir(data)
        .env("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
        .env("BURROW_METRICS_TOKEN", METRICS_TOKEN)
        .env("PASSED_ON_PURPOSE", "wanted");
    Server::build()
        .command(cmd)
        .data_dir(data)
        .command_runner(&sh_command(work, "probe.sh"))
        .args(["--runner-env", "PASSED_ON_PURPOSE,NOT_SET_ANYWHERE"])
        .start()
}

#[test]
fn the_command_sees_no_server_secret_and_works_outside_the_data_folder() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    script(work.path(), "probe.sh", PROBE);
    let s = start(data.path(), work.path());
    std::fs::write(work.path().join("server-pid"), s.pid().to_string()).unwrap();
    let key = s.key("task:write");
    let task = s.new_task(&key);
    let run = start_run(&s, &key, &task);
    wait_status(&s, &key, &task, &run, "completed");
    let seen = |file: &str| std::fs::read_to_string(work.path().join(&run).join(file)).unwrap();

    // The environment: the run's own variables, the basics, the names --runner-env lists,
    // and whatever the shells set themselves. Nothing else of the server's.
    let env = seen("env");
    assert!(!env.contains(AWS_SECRET), "{env}");
    assert!(!env.contains(METRICS_TOKEN), "{env}");
    assert!(
        env.lines().any(|l| l == "PASSED_ON_PURPOSE=wanted"),
        "{env}"
    );
    assert!(env.lines().any(|l| l == format!("BURROW_RUN_ID={run}")));
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "PASSED_ON_PURPOSE",
        "WORK",
        "PWD",
        "OLDPWD",
        "SHLVL",
        "_",
    ];
    for line in env.lines() {
        let name = line.split('=').next().unwrap();
        assert!(
            allowed.contains(&name) || name.starts_with("BURROW_") || name.starts_with("POSTHOG_"),
            "the command was handed {name}:\n{env}"
        );
    }

    // The server's own environment (its settings and credentials) is closed to it.
    assert_eq!(seen("proc").trim(), "refused", "{}", seen("environ"));
    assert!(!seen("environ").contains(METRICS_TOKEN));

    // It works in a folder of its own, outside the data folder, removed after the run.
    let pwd = seen("pwd").trim().to_string();
    let data_dir = data.path().canonicalize().unwrap();
    assert!(
        !Path::new(&pwd).starts_with(&data_dir),
        "{pwd} is inside {}",
        data_dir.display()
    );
    assert!(!Path::new(&pwd).exists(), "{pwd} is left behind");
}
