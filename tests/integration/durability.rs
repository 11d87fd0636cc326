//! Acknowledged log entries survive `kill -9`: appenders keep writing while the server is
//! killed, and after a restart on the same folder every 200 is in the log exactly once.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::Server;
use crate::harness::runs::RunRef;
use crate::harness::sse::entry_ids;
use serde_json::{Value, json};

const WRITERS: usize = 4;
const BATCH: usize = 3;

/// Batches acknowledged before the server is killed; appending goes on until it dies.
const BEFORE_KILL: usize = 40;

/// Appends batches from `WRITERS` threads until the server stops answering, kills it once
/// `BEFORE_KILL` batches were acknowledged, and returns the acknowledged batches as
/// `(round, writer, batch)`.
fn append_until_killed(
    s: &mut Server,
    key: &str,
    run: &RunRef,
    round: usize,
) -> Vec<(usize, usize, usize)> {
    let url = s.url(&run.path("append_log/"));
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (acks, acked) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (client, url, acks) = (&client, &url, acks.clone());
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    // Bounded, so a server that never dies cannot hang the test.
                    for b in 0..100_000 {
                        let entries: Vec<Value> = (0..BATCH)
                            .map(|i| json!({"round": round, "w": w, "b": b, "i": i, "text": "ß→✓"}))
                            .collect();
                        let sent = client
                            .post(url)
                            .bearer_auth(key)
                            .json(&json!({"entries": entries}))
                            .send();
                        match sent {
                            Ok(r) if r.status() == 200 => {
                                mine.push((round, w, b));
                                let _ = acks.send(());
                            }
                            Ok(r) => panic!("append answered {}", r.status()),
                            Err(_) => break,
                        }
                    }
                    mine
                })
            })
            .collect();
        let seen = (0..BEFORE_KILL)
            .take_while(|_| acked.recv_timeout(Duration::from_secs(60)).is_ok())
            .count();
        // Kill before judging, so a failure cannot leave the writers running.
        s.kill();
        assert_eq!(
            seen, BEFORE_KILL,
            "appends acknowledged within a minute each"
        );
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Checks the log against the acknowledged batches: each acknowledged batch exactly once
/// and whole, any other batch (committed but unanswered) whole, nothing twice; returns the
/// number of entries.
fn check_log(s: &Server, key: &str, run: &RunRef, acked: &[(usize, usize, usize)]) -> usize {
    let log = s.log(key, run, "");
    let at = |e: &Value, f: &str| e[f].as_u64().unwrap() as usize;
    let mut seen: HashMap<(usize, usize, usize), usize> = HashMap::new();
    for (pos, e) in log.iter().enumerate() {
        let batch = (at(e, "round"), at(e, "w"), at(e, "b"));
        if at(e, "i") > 0 {
            let prev = &log[pos - 1];
            assert_eq!(
                (
                    at(prev, "round"),
                    at(prev, "w"),
                    at(prev, "b"),
                    at(prev, "i") + 1
                ),
                (batch.0, batch.1, batch.2, at(e, "i")),
                "contiguous at {pos}"
            );
        }
        *seen.entry(batch).or_default() += 1;
    }
    for (batch, n) in &seen {
        assert_eq!(*n, BATCH, "batch {batch:?} whole and once");
    }
    let missing: Vec<_> = acked.iter().filter(|b| !seen.contains_key(b)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    log.len()
}

#[test]
fn acknowledged_entries_survive_sigkill_with_gap_free_sequence_numbers() {
    let mut s = Server::start();
    let dir = s.dir.clone();
    let key = s.key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));

    let mut acked = append_until_killed(&mut s, &key, &run, 0);
    assert!(acked.len() >= BEFORE_KILL);
    // Restart on the same folder: the same key works, every acknowledged entry is there.
    let mut s2 = Server::build().data_dir(&dir).start();
    let n = check_log(&s2, &key, &run, &acked);
    assert!(n >= acked.len() * BATCH);

    // Once more, appending on top of the recovered log.
    acked.extend(append_until_killed(&mut s2, &key, &run, 1));
    let s3 = Server::build().data_dir(&dir).start();
    let n = check_log(&s3, &key, &run, &acked);

    // Sequence numbers run 1..=n without gaps, and the next append continues from n.
    s3.append_ok(
        &key,
        &run,
        &[json!({"round": 2, "w": 0, "b": 0, "i": 0, "after": "restart"})],
    );
    let r = s3.patch(&key, &run.path(""), &json!({"status": "completed"}));
    assert_eq!(r.status(), 200);
    let events = s3.stream(&key, &run, None, "").to_close();
    let end = events.last().unwrap();
    assert_eq!(end.event, "end");
    assert_eq!(end.json()["last_event_id"], n + 1);
    assert_eq!(entry_ids(&events), (1..=(n + 1) as i64).collect::<Vec<_>>());
    assert_eq!(
        s3.log(&key, &run, &format!("?after={n}"))[0]["after"],
        "restart"
    );
    drop(s);
    drop(s2);
}
