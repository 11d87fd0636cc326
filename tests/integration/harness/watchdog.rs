//! No test may hang the suite. Each test that starts a server or a helper program is timed
//! from then on; one still running after `LIMIT` stops the whole test run, naming itself and
//! every other test still running, after killing the processes the harness started. CI then
//! fails at once with the culprit named, instead of running into its time limit silently.
//! Programs the tests wait for (`output_within`) are bounded the same way, one by one.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Longer than any test takes on a loaded 2-core machine (the slowest take about 90 s).
const LIMIT: Duration = Duration::from_secs(600);

/// The tests being timed: thread name → when it started.
static RUNNING: Mutex<BTreeMap<String, Instant>> = Mutex::new(BTreeMap::new());
/// Processes the harness started and has not reaped yet: (pid, whether it leads a group).
static OWNED: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());
static START: Once = Once::new();

/// Forgets the test when its thread ends (libtest runs each test on a thread of its own).
struct Timed(String);

impl Drop for Timed {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.remove(&self.0);
        }
    }
}

thread_local! {
    static TIMED: std::cell::OnceCell<Timed> = const { std::cell::OnceCell::new() };
}

/// Times the calling test from now (the first call counts), and starts the watchdog.
pub fn watch() {
    START.call_once(|| {
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(watchdog)
            .expect("start the watchdog");
    });
    let name = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string();
    TIMED.with(|t| {
        t.get_or_init(|| {
            RUNNING.lock().unwrap().insert(name.clone(), Instant::now());
            Timed(name)
        });
    });
}

/// Kills process `pid` (and its group, when it leads one) if the watchdog stops the run.
pub fn own(pid: u32, group: bool) {
    OWNED.lock().unwrap().push((pid, group));
}

/// Process `pid` has been reaped.
pub fn disown(pid: u32) {
    OWNED.lock().unwrap().retain(|(p, _)| *p != pid);
}

fn kill(pid: u32, group: bool) {
    use nix::sys::signal::{Signal, kill, killpg};
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    let _ = if group {
        killpg(pid, Signal::SIGKILL)
    } else {
        kill(pid, Signal::SIGKILL)
    };
}

fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_secs(5));
        let running = RUNNING.lock().unwrap().clone();
        if !running.values().any(|started| started.elapsed() > LIMIT) {
            continue;
        }
        // Straight to the process's stderr: libtest captures what `eprintln!` prints on
        // threads a test started, and would drop it on exit.
        let mut report = format!(
            "\nwatchdog: a test has run for more than {} s; stopping the test run.\n",
            LIMIT.as_secs()
        );
        for (name, started) in &running {
            let secs = started.elapsed().as_secs();
            report.push_str(&format!("watchdog: still running: {name} (for {secs} s)\n"));
        }
        let _ = std::io::stderr().write_all(report.as_bytes());
        for (pid, group) in OWNED.lock().unwrap().iter() {
            kill(*pid, *group);
        }
        std::process::exit(101);
    }
}

/// Runs `cmd` to its end, in a process group of its own with nothing on its stdin, like
/// `Command::output`, but for at most `limit`: past it the group is killed and the test
/// fails with what `what` printed so far.
pub fn output_within(cmd: &mut Command, what: &str, limit: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    watch();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let pgid = child.id();
    own(pgid, true);
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut out);
            }
            out
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The group goes either way: a program it left behind would hold the pipes open.
    kill(pgid, true);
    disown(pgid);
    let timed_out = status.is_none();
    let status = status.unwrap_or_else(|| {
        let _ = child.kill();
        child.wait().expect("wait")
    });
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    if timed_out {
        panic!(
            "{what} did not finish within {} s; it printed:\n{}\n{}",
            limit.as_secs(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        );
    }
    Output {
        status,
        stdout,
        stderr,
    }
}
