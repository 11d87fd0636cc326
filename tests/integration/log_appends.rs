//! Appending under pressure: sixteen concurrent appenders lose nothing and keep each batch
//! whole, and the per-run size cap answers 413 and leaves exactly one marker.

use std::collections::HashMap;
use std::sync::Barrier;

use crate::harness::runs::RunRef;
use crate::harness::{Server, assert_error};
use serde_json::{Value, json};

#[test]
fn sixteen_concurrent_appenders_lose_nothing_and_keep_batches_whole() {
    const WORKERS: usize = 16;
    const BATCHES: usize = 8;
    const SIZE: usize = 6;
    let (s, key) = Server::with_key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    let gate = Barrier::new(WORKERS);
    std::thread::scope(|scope| {
        for w in 0..WORKERS {
            let (s, key, run, gate) = (&s, &key, &run, &gate);
            scope.spawn(move || {
                gate.wait();
                for b in 0..BATCHES {
                    let batch: Vec<Value> = (0..SIZE)
                        .map(|i| json!({"w": w, "b": b, "i": i, "pad": "x".repeat(w * 10)}))
                        .collect();
                    s.append_ok(key, run, &batch);
                }
            });
        }
    });

    let log = s.log(&key, &run, "");
    assert_eq!(
        log.len(),
        WORKERS * BATCHES * SIZE,
        "nothing lost, nothing doubled"
    );
    let at = |e: &Value, f: &str| e[f].as_u64().unwrap() as usize;
    let mut first_of: HashMap<(usize, usize), usize> = HashMap::new();
    for (pos, e) in log.iter().enumerate() {
        let (w, b, i) = (at(e, "w"), at(e, "b"), at(e, "i"));
        if i == 0 {
            assert!(
                first_of.insert((w, b), pos).is_none(),
                "batch {w}/{b} twice"
            );
        } else {
            // Each batch's entries sit together, in their order.
            assert_eq!(
                log[pos - 1],
                json!({"w": w, "b": b, "i": i - 1, "pad": "x".repeat(w * 10)})
            );
        }
    }
    assert_eq!(first_of.len(), WORKERS * BATCHES);
    for w in 0..WORKERS {
        let starts: Vec<usize> = (0..BATCHES).map(|b| first_of[&(w, b)]).collect();
        assert!(
            starts.windows(2).all(|p| p[0] < p[1]),
            "worker {w}'s batches in order"
        );
    }
    // Sequence numbers are positions: 1..=N without gaps.
    for pos in (0..log.len()).step_by(37).chain([log.len() - 1]) {
        assert_eq!(
            s.log(&key, &run, &format!("?after={pos}&limit=1")),
            [log[pos].clone()]
        );
    }
    assert!(
        s.log(&key, &run, &format!("?after={}", log.len()))
            .is_empty()
    );
}

/// An entry whose compact JSON is exactly `bytes` long (`{"p":""}` is 8 bytes).
fn entry_of(bytes: usize) -> Value {
    let e = json!({"p": "x".repeat(bytes - 8)});
    assert_eq!(serde_json::to_string(&e).unwrap().len(), bytes);
    e
}

fn assert_too_large(r: reqwest::blocking::Response) {
    assert_error(r, 413, "invalid_request", "too_large", None);
}

#[test]
fn the_log_size_cap_answers_413_and_writes_one_marker() {
    let s = Server::build().arg("--log-max-bytes").arg("2000").start();
    let key = s.key("task:write");

    // Filling the log exactly to the cap is fine; the byte that crosses it is not.
    let (run, _) = s.new_run(&key, &json!({}));
    let stored = vec![entry_of(400); 5];
    s.append_ok(&key, &run, &stored[..4]);
    s.append_ok(&key, &run, &stored[4..]);
    assert_too_large(s.append(&key, &run, &[entry_of(8)]));
    assert_too_large(s.append(&key, &run, &[entry_of(8)]));
    assert_too_large(s.append(&key, &run, &[entry_of(100), entry_of(100)]));
    let log = s.log(&key, &run, "");
    assert_eq!(log.len(), 6, "{log:?}");
    assert_eq!(log[..5], stored[..]);
    assert_eq!(log[5]["type"], "truncated", "exactly one marker, last");

    // A first batch over the cap stores none of its entries, only the marker.
    let (big, _) = s.new_run(&key, &json!({}));
    assert_too_large(s.append(&key, &big, &[entry_of(800), entry_of(800), entry_of(800)]));
    assert_too_large(s.append(&key, &big, &[entry_of(10)]));
    let log = s.log(&key, &big, "");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["type"], "truncated");

    // Racing appenders: whatever was acknowledged is there, then one marker, nothing else.
    let (raced, _) = s.new_run(&key, &json!({}));
    let gate = Barrier::new(8);
    let acked: Vec<Vec<Value>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|w| {
                let (s, key, raced, gate) = (&s, &key, &raced, &gate);
                scope.spawn(move || {
                    gate.wait();
                    let mut mine = Vec::new();
                    for n in 0.. {
                        let e = json!({"w": w, "n": n, "p": "y".repeat(60)});
                        let r = s.append(key, raced, std::slice::from_ref(&e));
                        match r.status().as_u16() {
                            200 => mine.push(e),
                            413 => return mine,
                            other => panic!("append answered {other}"),
                        }
                    }
                    unreachable!()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let log = s.log(&key, &raced, "");
    let markers = log.iter().filter(|e| e["type"] == "truncated").count();
    assert_eq!(markers, 1, "one marker however many appends were refused");
    assert_eq!(log.last().unwrap()["type"], "truncated");
    let bytes: usize = log[..log.len() - 1]
        .iter()
        .map(|e| e.to_string().len())
        .sum();
    // Every entry here is under 100 bytes, so refusals begin only within 100 bytes of the cap.
    assert!(
        bytes <= 2000 && bytes > 2000 - 100,
        "filled up to the cap: {bytes}"
    );
    let mut acked: Vec<Value> = acked.concat();
    let mut kept: Vec<Value> = log[..log.len() - 1].to_vec();
    let sort = |v: &mut Vec<Value>| v.sort_by_key(|e| e.to_string());
    sort(&mut acked);
    sort(&mut kept);
    assert_eq!(kept, acked, "exactly the acknowledged entries");

    // The cap is per run: a fresh run of the same task still takes entries.
    let fresh = RunRef::of(&s.run_of(&key, &raced.task, &json!({})));
    s.append_ok(&key, &fresh, &[entry_of(1000)]);
    assert_eq!(s.log(&key, &fresh, "").len(), 1);
}
