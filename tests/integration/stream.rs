//! The live `stream/` of a run over HTTP: Server-Sent Events for entries (id = sequence
//! number) and run changes, resuming after `Last-Event-ID` or `?after=`, and the `end`.

use crate::harness::runs::RunRef;
use crate::harness::sse::{Event, Sse, entry_ids};
use crate::harness::{Server, assert_not_found};
use serde_json::{Value, json};

fn entry(n: usize) -> Value {
    json!({"type": "info", "message": format!("line {n} ✓"), "n": n})
}

/// The entries' data, asserting they are all entries.
fn data(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            assert!(e.is_entry(), "an entry: {e:?}");
            e.json()
        })
        .collect()
}

/// Reads to the close, asserting the last events are the run (when `run_first`) and `end`.
fn finish(sse: &Sse, status: &str, last: i64) -> Vec<Event> {
    let mut events = sse.to_close();
    let end = events.pop().expect("an end event");
    assert_eq!(end.event, "end", "{end:?}");
    assert_eq!(end.json(), json!({"status": status, "last_event_id": last}));
    events
}

#[test]
fn stream_delivers_entries_and_run_changes_live_then_ends() {
    let (s, key) = Server::with_key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    s.append_ok(&key, &run, &[entry(1), entry(2)]);

    let sse = s.stream(&key, &run, None, "");
    let h = &sse.response_headers;
    assert_eq!(h["x-accel-buffering"], "no");
    assert_eq!(h["cache-control"], "no-cache");
    let first = sse.until(|e| e.event == "run");
    let (run_event, entries) = first.split_last().unwrap();
    assert_eq!(entry_ids(entries), [1, 2]);
    assert_eq!(data(entries), [entry(1), entry(2)]);
    let shown = run_event.json();
    assert_eq!(
        (&shown["id"], &shown["status"]),
        (&json!(run.id), &json!("in_progress"))
    );
    assert!(shown["log_url"].as_str().unwrap().starts_with("http://"));

    // Entries arrive while the stream is open, one append at a time and a batch at once.
    for n in 3..=5 {
        s.append_ok(&key, &run, &[entry(n)]);
        let e = sse.next().expect("open");
        assert_eq!((e.id, e.json()), (Some(n as i64), entry(n)));
    }
    s.append_ok(&key, &run, &[entry(6), entry(7), entry(8)]);
    let batch: Vec<Event> = (0..3).map(|_| sse.next().expect("open")).collect();
    assert_eq!(entry_ids(&batch), [6, 7, 8]);
    assert_eq!(data(&batch), [entry(6), entry(7), entry(8)]);

    // Run changes arrive as `run` events.
    let r = s.patch(
        &key,
        &run.path(""),
        &json!({"stage": "review", "state": {"step": 2}}),
    );
    assert_eq!(r.status(), 200);
    let e = sse.next().expect("open");
    assert_eq!(e.event, "run");
    assert_eq!(
        (&e.json()["stage"], &e.json()["state"]),
        (&json!("review"), &json!({"step": 2}))
    );
    let r = s.patch(
        &key,
        &run.path("set_output/"),
        &json!({"output": {"pr": 7}}),
    );
    assert_eq!(r.status(), 200);
    let e = sse.next().expect("open");
    assert_eq!(
        (e.event.as_str(), &e.json()["output"]),
        ("run", &json!({"pr": 7}))
    );

    // A terminal status: the run, then `end`, then the server closes the stream.
    let r = s.patch(&key, &run.path(""), &json!({"status": "completed"}));
    assert_eq!(r.status(), 200);
    let rest = finish(&sse, "completed", 8);
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(
        (rest[0].event.as_str(), &rest[0].json()["status"]),
        ("run", &json!("completed"))
    );

    // A finished run's stream, without the trailing slash: everything, the run, the end.
    let url = s.url(&run.path("stream"));
    let sse = s.stream_url(&key, &url, None);
    let mut all = finish(&sse, "completed", 8);
    let run_event = all.pop().unwrap();
    assert_eq!(run_event.event, "run");
    assert_eq!(entry_ids(&all), (1..=8).collect::<Vec<_>>());
    assert_eq!(data(&all), (1..=8).map(entry).collect::<Vec<_>>());
}

#[test]
fn stream_resumes_after_last_event_id_without_duplicates() {
    let (s, key) = Server::with_key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    s.append_ok(&key, &run, &(1..=5).map(entry).collect::<Vec<_>>());

    let resumed = |last: Option<i64>, query: &str| {
        let sse = s.stream(&key, &run, last, query);
        let events = sse.until(|e| e.event == "run");
        (sse, entry_ids(&events[..events.len() - 1]))
    };
    assert_eq!(resumed(Some(3), "").1, [4, 5]);
    assert_eq!(resumed(None, "?after=4").1, [5]);
    assert_eq!(
        resumed(Some(1), "?after=4").1,
        [2, 3, 4, 5],
        "the header wins"
    );
    assert_eq!(resumed(Some(0), "").1, [1, 2, 3, 4, 5]);
    let (sse, ids) = resumed(Some(5), "");
    assert!(ids.is_empty());
    s.append_ok(&key, &run, &[entry(6)]);
    assert_eq!(sse.next().unwrap().id, Some(6));

    // A client drops off mid-run and comes back with the last id it saw: it gets exactly
    // the rest, while a writer keeps appending and finally completes the run.
    const TOTAL: usize = 90;
    let first = s.stream(&key, &run, None, "");
    std::thread::scope(|scope| {
        let (s, key, run) = (&s, &key, &run);
        let writer = scope.spawn(move || {
            let mut n = 7;
            while n <= TOTAL {
                let batch: Vec<Value> = (n..(n + n % 3 + 1).min(TOTAL + 1)).map(entry).collect();
                n += batch.len();
                s.append_ok(key, run, &batch);
            }
            let r = s.patch(key, &run.path(""), &json!({"status": "completed"}));
            assert_eq!(r.status(), 200);
        });
        let before = first.until(|e| e.id.is_some_and(|id| id >= 30));
        let mut ids = entry_ids(&before);
        let last = *ids.last().unwrap();
        let second = s.stream(key, run, Some(last), "");
        let after = finish(&second, "completed", TOTAL as i64);
        ids.extend(entry_ids(&after));
        assert_eq!(
            ids,
            (1..=TOTAL as i64).collect::<Vec<_>>(),
            "each id exactly once, in order"
        );
        let entries: Vec<Value> = after
            .iter()
            .filter(|e| e.is_entry())
            .map(Event::json)
            .collect();
        assert_eq!(
            entries,
            ((last as usize + 1)..=TOTAL).map(entry).collect::<Vec<_>>()
        );
        writer.join().unwrap();
    });

    // After the end: resuming at the last id gives only the run and the end.
    let sse = s.stream(&key, &run, Some(TOTAL as i64), "");
    let rest = finish(&sse, "completed", TOTAL as i64);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].event, "run");
    let sse = s.stream(&key, &run, Some(80), "");
    assert_eq!(
        entry_ids(&finish(&sse, "completed", TOTAL as i64)),
        (81..=TOTAL as i64).collect::<Vec<_>>()
    );
}

#[test]
fn stream_ends_once_every_entry_of_a_finished_run_was_sent() {
    let (s, key) = Server::with_key("task:write");

    // Already finished, with and without entries.
    let (failed, _) = s.new_run(&key, &json!({"status": "failed"}));
    let rest = finish(&s.stream(&key, &failed, None, ""), "failed", 0);
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].json()["status"], "failed");
    let (cancelled, _) = s.new_run(&key, &json!({"status": "queued"}));
    s.append_ok(&key, &cancelled, &[entry(1), entry(2)]);
    let r = s.patch(&key, &cancelled.path(""), &json!({"status": "cancelled"}));
    assert_eq!(r.status(), 200);
    assert_eq!(
        entry_ids(&finish(
            &s.stream(&key, &cancelled, None, ""),
            "cancelled",
            2
        )),
        [1, 2]
    );

    // An entry acknowledged before the terminal status is always sent before `end`, on
    // every open stream, however the wake-ups fall.
    for round in 0..10 {
        let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
        let streams: Vec<Sse> = (0..3).map(|_| s.stream(&key, &run, None, "")).collect();
        for sse in &streams {
            assert_eq!(sse.next().unwrap().event, "run");
        }
        s.append_ok(&key, &run, &[entry(round)]);
        let r = s.patch(&key, &run.path(""), &json!({"status": "completed"}));
        assert_eq!(r.status(), 200);
        for sse in &streams {
            let events = finish(sse, "completed", 1);
            assert_eq!(entry_ids(&events), [1], "round {round}: {events:?}");
        }
    }

    // The run's signed token opens its stream without a key; a forged one does not.
    let (run, created) = s.new_run(&key, &json!({"status": "completed"}));
    s.append_ok(&key, &run, &[entry(1)]);
    let url = created["log_url"].as_str().unwrap();
    let token = url.split_once("token=").unwrap().1;
    let stream_url = s.url(&format!("{}?token={token}", run.path("stream/")));
    // (It carries the log only: its `end` names no status; see stream_access.rs.)
    let events = s.stream_url("", &stream_url, None).to_close();
    assert_eq!(entry_ids(&events), [1]);
    assert_eq!(events.last().unwrap().json(), json!({"last_event_id": 1}));
    let anonymous = reqwest::blocking::Client::new();
    let forged = stream_url.replace("token=", "token=9");
    crate::harness::assert_error(
        anonymous.get(&forged).send().unwrap(),
        401,
        "authentication_error",
        "authentication_failed",
        None,
    );
    crate::harness::assert_error(
        anonymous.get(s.url(&run.path("stream/"))).send().unwrap(),
        403,
        "authentication_error",
        "not_authenticated",
        None,
    );
    let stray = RunRef {
        task: s.new_task(&key),
        id: run.id.clone(),
    };
    assert_not_found(s.get(&key, &stray.path("stream/")));
}

#[test]
fn logs_longer_than_a_read_page_come_back_whole() {
    let (s, key) = Server::with_key("task:write");
    let (run, _) = s.new_run(&key, &json!({"status": "in_progress"}));
    // The server reads 1000 entries at a time; cross that boundary twice.
    const TOTAL: usize = 2600;
    let all: Vec<Value> = (1..=TOTAL).map(entry).collect();
    for batch in all.chunks(500) {
        s.append_ok(&key, &run, batch);
    }
    let live = s.stream(&key, &run, Some(990), "");
    assert_eq!(s.log(&key, &run, ""), all);
    assert_eq!(s.log(&key, &run, "?after=998&limit=1003"), all[998..2001]);
    assert_eq!(s.log(&key, &run, "?after=2599"), all[2599..]);
    let r = s.patch(&key, &run.path(""), &json!({"status": "completed"}));
    assert_eq!(r.status(), 200);
    let events = finish(&live, "completed", TOTAL as i64);
    assert_eq!(entry_ids(&events), (991..=TOTAL as i64).collect::<Vec<_>>());
    let events = finish(&s.stream(&key, &run, None, ""), "completed", TOTAL as i64);
    assert_eq!(entry_ids(&events), (1..=TOTAL as i64).collect::<Vec<_>>());
    let entries: Vec<Event> = events.into_iter().filter(Event::is_entry).collect();
    assert_eq!(data(&entries), all);
}
