//! A run's `state` and `output` over HTTP: PATCH merges them key by key (also under
//! concurrent PATCHes), `state_remove_keys`, and `set_output/` against the task's JSON Schema.

use std::sync::Barrier;

use crate::harness::runs::RunRef;
use crate::harness::{Server, assert_invalid};
use serde_json::{Map, Value, json};

fn patch(s: &Server, key: &str, run: &RunRef, body: Value) -> Value {
    let r = s.patch(key, &run.path(""), &body);
    assert_eq!(r.status(), 200, "PATCH {body}");
    r.json().unwrap()
}

#[test]
fn patch_merges_state_and_output_key_by_key() {
    let (s, key) = Server::with_key("task:write");
    let (run, created) = s.new_run(
        &key,
        &json!({"state": {"a": 1, "b": {"x": 1}, "keep": "me"}}),
    );
    assert_eq!(
        created["state"],
        json!({"a": 1, "b": {"x": 1}, "keep": "me"})
    );

    // Top-level keys merge; a given key's value replaces the stored one whole.
    let r = patch(
        &s,
        &key,
        &run,
        json!({"state": {"b": {"y": 2}, "c": [1, "two"]}}),
    );
    assert_eq!(
        r["state"],
        json!({"a": 1, "b": {"y": 2}, "keep": "me", "c": [1, "two"]})
    );
    let r = patch(&s, &key, &run, json!({"state": {}}));
    assert_eq!(
        r["state"],
        json!({"a": 1, "b": {"y": 2}, "keep": "me", "c": [1, "two"]})
    );
    let r = patch(&s, &key, &run, json!({"state": {"a": null}}));
    assert_eq!(r["state"]["a"], Value::Null, "a null value is a value");

    // state_remove_keys drops keys (unknown ones are ignored), after merging.
    let r = patch(
        &s,
        &key,
        &run,
        json!({"state_remove_keys": ["a", "missing"]}),
    );
    assert_eq!(
        r["state"],
        json!({"b": {"y": 2}, "keep": "me", "c": [1, "two"]})
    );
    let r = patch(
        &s,
        &key,
        &run,
        json!({"state": {"d": 4, "c": 0}, "state_remove_keys": ["c"]}),
    );
    assert_eq!(r["state"], json!({"b": {"y": 2}, "keep": "me", "d": 4}));
    let r = patch(
        &s,
        &key,
        &run,
        json!({"state_remove_keys": ["b", "keep", "d"]}),
    );
    assert_eq!(
        r["state"],
        json!({}),
        "state is never null, even when emptied"
    );
    let got: Value = s.get(&key, &run.path("")).json().unwrap();
    assert_eq!(got["state"], json!({}));

    // Output objects merge into a stored object; null clears; anything else replaces.
    assert!(got["output"].is_null());
    let r = patch(&s, &key, &run, json!({"output": {"x": 1}}));
    assert_eq!(r["output"], json!({"x": 1}));
    let r = patch(&s, &key, &run, json!({"output": {"y": {"deep": true}}}));
    assert_eq!(r["output"], json!({"x": 1, "y": {"deep": true}}));
    let r = patch(&s, &key, &run, json!({"stage": "unrelated"}));
    assert_eq!(
        r["output"],
        json!({"x": 1, "y": {"deep": true}}),
        "untouched when absent"
    );
    let r = patch(&s, &key, &run, json!({"output": null}));
    assert!(r["output"].is_null());
    let r = patch(&s, &key, &run, json!({"output": [1, 2]}));
    assert_eq!(r["output"], json!([1, 2]));
    let r = patch(&s, &key, &run, json!({"output": {"z": 1}}));
    assert_eq!(r["output"], json!({"z": 1}));
}

#[test]
fn concurrent_patches_with_different_keys_all_persist() {
    let (s, key) = Server::with_key("task:write");
    let mut seed = Map::new();
    for t in 0..8 {
        seed.insert(format!("drop{t}"), json!(t));
    }
    let (run, _) = s.new_run(&key, &json!({"state": seed, "output": {"seed": true}}));

    // Two PATCHes released together, many times over: neither may be lost.
    for round in 0..20 {
        let gate = Barrier::new(2);
        std::thread::scope(|scope| {
            for side in ["left", "right"] {
                let (s, key, run, gate) = (&s, &key, &run, &gate);
                scope.spawn(move || {
                    gate.wait();
                    patch(
                        s,
                        key,
                        run,
                        json!({"state": {format!("{side}{round}"): round}}),
                    );
                });
            }
        });
        let got: Value = s.get(&key, &run.path("")).json().unwrap();
        for side in ["left", "right"] {
            assert_eq!(
                got["state"][format!("{side}{round}")],
                round,
                "round {round}: {got}"
            );
        }
    }

    // Eight threads, each PATCHing its own keys of state and output and removing one key.
    let gate = Barrier::new(8);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (s, key, run, gate) = (&s, &key, &run, &gate);
            scope.spawn(move || {
                gate.wait();
                for i in 0..6 {
                    let mut body = json!({
                        "state": {format!("t{t}_{i}"): {"by": t, "n": i}},
                        "output": {format!("o{t}_{i}"): i},
                    });
                    if i == 3 {
                        body["state_remove_keys"] = json!([format!("drop{t}")]);
                    }
                    patch(s, key, run, body);
                }
            });
        }
    });
    let got: Value = s.get(&key, &run.path("")).json().unwrap();
    let state = got["state"].as_object().unwrap();
    let output = got["output"].as_object().unwrap();
    for t in 0..8 {
        assert!(
            !state.contains_key(&format!("drop{t}")),
            "drop{t} removed: {state:?}"
        );
        for i in 0..6 {
            assert_eq!(state[&format!("t{t}_{i}")], json!({"by": t, "n": i}));
            assert_eq!(output[&format!("o{t}_{i}")], i);
        }
    }
    assert_eq!(
        state.len(),
        40 + 48,
        "20 rounds of two keys, 48 thread keys"
    );
    assert_eq!(output.len(), 1 + 48);
}

#[test]
fn set_output_replaces_output_and_checks_the_json_schema() {
    let (s, key) = Server::with_key("task:write");

    // Without a schema, any object is taken, and it replaces the output whole.
    let (plain, _) = s.new_run(&key, &json!({"output": {"old": 1}}));
    let set = |run: &RunRef, body: Value| s.patch(&key, &run.path("set_output/"), &body);
    let r = set(&plain, json!({"output": {"anything": ["goes", 1, null]}}));
    assert_eq!(r.status(), 200);
    let r: Value = r.json().unwrap();
    assert_eq!(r["output"], json!({"anything": ["goes", 1, null]}));
    let r: Value = set(&plain, json!({})).json().unwrap();
    assert_eq!(r["output"], json!({}), "a missing output is {{}}");
    let r: Value = s
        .post(&key, &plain.path("set_output/"), &json!({}))
        .json()
        .unwrap();
    assert_eq!(r["code"], "method_not_allowed", "set_output is a PATCH");
    for bad in [json!([1]), json!("text"), json!(3), json!(true)] {
        assert_invalid(set(&plain, json!({"output": bad})), "not_a_dict", "output");
    }
    let r = set(&plain, json!({"output": null}));
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["attr"], "output");

    // With a schema, the first violation is named.
    let schema = json!({
        "type": "object",
        "required": ["summary"],
        "properties": {
            "summary": {"type": "string"},
            "score": {"type": "integer", "minimum": 0},
            "items": {"type": "array", "items": {"type": "object",
                "properties": {"n": {"type": "integer"}}}}
        }
    });
    let task = s.task(
        &key,
        &json!({"description": "d", "origin_product": "user_created",
        "json_schema": schema}),
    );
    assert_eq!(task["json_schema"], schema);
    let run = RunRef::of(&s.run_of(&key, task["id"].as_str().unwrap(), &json!({})));
    let good = json!({"summary": "done", "score": 3, "items": [{"n": 1}]});
    let r = set(&run, json!({"output": good}));
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap()["output"], good);
    let violations = [
        (json!({"score": 3}), "output"),
        (json!({"summary": "s", "score": "high"}), "output__score"),
        (json!({"summary": "s", "score": -1}), "output__score"),
        (json!({"summary": 5}), "output__summary"),
        (
            json!({"summary": "s", "items": [{"n": 1}, {"n": "two"}]}),
            "output__items__1__n",
        ),
    ];
    for (output, attr) in &violations {
        let body = assert_invalid(set(&run, json!({"output": output})), "invalid_input", attr);
        assert!(!body["detail"].as_str().unwrap().is_empty());
    }
    assert_invalid(set(&run, json!({})), "invalid_input", "output");
    let got: Value = s.get(&key, &run.path("")).json().unwrap();
    assert_eq!(got["output"], good, "refused outputs leave the stored one");

    // A task whose json_schema is not a JSON Schema is refused, on create and on update.
    for bad in [
        json!({"type": 5}),
        json!({"type": "nonsense"}),
        json!({"required": "summary"}),
    ] {
        let r = s.post(
            &key,
            "/api/projects/1/tasks/",
            &json!({"description": "d",
            "origin_product": "user_created", "json_schema": bad}),
        );
        let body = assert_invalid(r, "invalid_input", "json_schema");
        assert!(!body["detail"].as_str().unwrap().is_empty());
        let r = s.patch(
            &key,
            &format!("/api/projects/1/tasks/{}/", task["id"].as_str().unwrap()),
            &json!({"json_schema": bad}),
        );
        assert_invalid(r, "invalid_input", "json_schema");
    }
    let still: Value = s
        .get(&key, &format!("/api/projects/1/tasks/{}/", run.task))
        .json()
        .unwrap();
    assert_eq!(still["json_schema"], schema);
}
