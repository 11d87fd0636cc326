//! A task or run list page larger than one buffer is streamed as it is read: it answers the
//! same items in the same order as a small page would, and serving several such pages at
//! once costs the server a few buffers, not the pages' size.

use crate::harness::runs::runs_path;
use crate::harness::stores::proc_kib;
use crate::harness::{Server, expect_json, results, task_body};
use serde_json::{Value, json};

const MIB: usize = 1 << 20;

/// Creates `n` tasks with descriptions of `size` bytes (the first `tag` characters
/// distinguishing them); returns their ids, newest first as a list shows them.
fn big_tasks(s: &Server, key: &str, n: usize, size: usize, tag: &str) -> Vec<String> {
    let mut ids: Vec<String> = (0..n)
        .map(|i| {
            let description = format!("{tag}{i:04} {}", "x".repeat(size - tag.len() - 5));
            let task = s.task(key, &task_body(json!({"description": description})));
            task["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.reverse();
    ids
}

fn ids_of(list: &Value) -> Vec<String> {
    results(list)
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_page_larger_than_a_buffer_streams_the_same_tasks() {
    let (s, key) = Server::with_key("task:write");
    let small = big_tasks(&s, &key, 3, 200, "small");
    // 30 tasks of 100 KB: a default page is about 3 MB, a dozen buffers.
    let big = big_tasks(&s, &key, 30, 100_000, "big");
    // Runs on some, so the streamed part carries signed links too.
    for id in big.iter().step_by(7) {
        s.run_of(&key, id, &json!({}));
    }
    let all: Vec<String> = big.iter().chain(&small).cloned().collect();

    let r = s.get(&key, "/api/projects/1/tasks/");
    assert_eq!(r.status(), 200);
    assert!(
        r.content_length().is_none(),
        "a large page is streamed, not buffered"
    );
    let list: Value = r.json().unwrap();
    assert_eq!(list["count"], 33);
    assert_eq!(ids_of(&list), all);
    let with_run = &list["results"][7];
    assert!(
        with_run["latest_run"]["log_url"]
            .as_str()
            .unwrap()
            .contains("/logs?token="),
        "{}",
        with_run["latest_run"]
    );

    // Paging and filters keep their meaning on a streamed page.
    let list = expect_json(s.get(&key, "/api/projects/1/tasks/?limit=20&offset=5"), 200);
    assert_eq!(ids_of(&list), all[5..25]);
    assert!(
        list["next"]
            .as_str()
            .unwrap()
            .ends_with("limit=20&offset=25")
    );
    let list = expect_json(s.get(&key, "/api/projects/1/tasks/?search=big002"), 200);
    assert_eq!(list["count"], 10);
    assert_eq!(ids_of(&list), big[..10]);

    // A small page is still answered whole, as before.
    let r = s.get(&key, "/api/projects/1/tasks/?search=small");
    assert!(r.content_length().is_some());
    assert_eq!(ids_of(&r.json().unwrap()), small);
}

/// Reads `path` from `readers` threads at once, checking each page's ids; answers how many
/// MiB the server's peak RSS grew by.
fn peak_growth_mib(s: &Server, key: &str, path: &str, readers: usize, ids: &[String]) -> u64 {
    let before = proc_kib(s.pid(), "VmHWM");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..readers)
            .map(|_| {
                scope.spawn(|| {
                    let list = expect_json(s.get(key, path), 200);
                    assert_eq!(ids_of(&list), ids);
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    proc_kib(s.pid(), "VmHWM").saturating_sub(before) / 1024
}

#[test]
fn large_run_pages_stream_and_cost_buffers_not_pages() {
    let (s, key, task) = Server::with_task("task:write");
    let runs = runs_path(&task);
    // 20 runs with state and output just under 1 MiB each: a page is 40 MiB.
    let big = "s".repeat(MIB - 64);
    let mut ids: Vec<String> = (0..20)
        .map(|i| {
            let body = json!({"state": {"i": i, "blob": big}, "output": {"blob": big}});
            let run = expect_json(s.post(&key, &runs, &body), 201);
            run["id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.reverse();
    let r = s.get(&key, &format!("{runs}?limit=3&offset=2"));
    assert!(r.content_length().is_none(), "a large page is streamed");
    let list: Value = r.json().unwrap();
    assert_eq!(list["count"], 20);
    assert_eq!(ids_of(&list), ids[2..5]);
    assert_eq!(list["results"][0]["state"]["i"], 17);
    assert!(list["next"].as_str().unwrap().ends_with("limit=3&offset=5"));
    assert!(
        list["results"][2]["log_url"]
            .as_str()
            .unwrap()
            .contains("/logs?token=")
    );

    expect_json(s.get(&key, &format!("{runs}?limit=1")), 200);
    let grown = peak_growth_mib(&s, &key, &runs, 4, &ids);
    eprintln!("peak RSS grew by {grown} MiB serving 160 MiB of run pages");
    // Whole pages in memory would be 160 MiB, and their owned runs as much again; a run of
    // 2 MiB makes each buffer 2 MiB, and it is held twice (built, then being sent).
    assert!(
        grown < 160 / 3,
        "peak RSS grew by {grown} MiB serving 160 MiB of run pages"
    );
}

#[test]
fn concurrent_pages_of_large_tasks_cost_buffers_not_pages() {
    let (s, key) = Server::with_key("task:write");
    // 40 descriptions just under the 1 MiB limit: a default page is 40 MiB.
    let tasks = 40;
    let ids = big_tasks(&s, &key, tasks, MIB - 64, "huge");
    // Settle the allocator on a first small list before measuring.
    expect_json(s.get(&key, "/api/projects/1/tasks/?limit=1"), 200);
    let readers = 4;
    let grown_mib = peak_growth_mib(&s, &key, "/api/projects/1/tasks/", readers, &ids);
    let pages_mib = (readers * tasks * MIB / MIB) as u64;
    eprintln!("peak RSS grew by {grown_mib} MiB serving {pages_mib} MiB of pages");
    // Each page in memory at once would be 160 MiB; a few buffers each is a few MiB.
    assert!(
        grown_mib < pages_mib / 4,
        "peak RSS grew by {grown_mib} MiB serving {pages_mib} MiB of pages"
    );
}
