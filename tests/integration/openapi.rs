//! The OpenAPI document at `/api/schema/` against the real server: every route of the route
//! table is documented, and every documented operation, asked with valid and invalid
//! requests, answers with a status, content type and body the document describes.

mod accounts;
mod hooks;
mod llm;
mod runs;
mod tasks;
mod vocabulary;

use crate::harness::Server;
use crate::harness::anthropic::FakeAnthropic;
use crate::harness::openapi::{Checked, Document, route_table};
use reqwest::Method;
use serde_json::{Value, json};

/// The server, a `*` key, and the document it serves.
struct Walk {
    s: Server,
    key: String,
    doc: Document,
    /// The LLM gateway's upstream.
    _llm: FakeAnthropic,
}

impl Walk {
    /// Sends `method path` (with a JSON body when given) and checks the answer against the
    /// operation `template`.
    fn call(&self, method: &str, template: &str, path: &str, body: Option<Value>) -> Checked {
        self.call_as(&self.key, method, template, path, body)
    }

    fn call_as(
        &self,
        key: &str,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Checked {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut r = self.s.req(key, m, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        self.doc.check(method, template, r.send().unwrap())
    }

    /// Like `call`, asserting the status.
    fn expect(
        &self,
        status: u16,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let c = self.call(method, template, path, body);
        assert_eq!(c.status, status, "{method} {path}: {}", c.text);
        c.json
    }

    /// `expect` on the run at `run` (its path, no trailing slash), on `tail` after the run:
    /// the operation `/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/TAIL`.
    fn on_run(
        &self,
        status: u16,
        method: &str,
        run: &str,
        tail: &str,
        body: Option<Value>,
    ) -> Value {
        let template =
            format!("/api/projects/{{project_id}}/tasks/{{task_id}}/runs/{{run_id}}/{tail}");
        self.expect(status, method, &template, &format!("{run}/{tail}"), body)
    }

    /// The path and query of `link`, an absolute URL on this server.
    fn local(&self, link: &Value) -> String {
        let link = link.as_str().expect("a link");
        link.trim_start_matches(&self.s.base).to_string()
    }
}

fn start() -> Walk {
    let llm = FakeAnthropic::start(&json!({"turns": [{"text": "documented"}]}));
    let s = Server::build()
        .args(["--llm-upstream", &llm.url, "--llm-api-key", "sk-walk"])
        .start();
    let r = s.get("", "/api/schema/");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().unwrap();
    Walk {
        s,
        key: String::new(),
        doc: Document::new(doc),
        _llm: llm,
    }
}

#[test]
fn the_document_covers_the_route_table_exactly() {
    let w = start();
    let file = include_str!("../../src/api/openapi.json");
    assert_eq!(w.doc.doc, serde_json::from_str::<Value>(file).unwrap());
    assert_eq!(w.doc.doc["openapi"], "3.1.0");
    assert_eq!(w.doc.doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let routes = route_table();
    assert!(routes.len() > 30, "the route table parses: {routes:?}");
    let documented = w.doc.operations();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the document: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    // Every schema the document names compiles, and every operation has an error answer.
    for (method, path) in &documented {
        let ops = w.doc.doc["paths"].as_object().unwrap();
        let item = ops
            .iter()
            .find(|(p, _)| crate::harness::openapi::trim(p) == path)
            .unwrap()
            .1;
        assert!(
            item[method]["responses"].get("default").is_some(),
            "{method} {path}"
        );
    }
}

#[test]
fn every_operation_answers_as_documented() {
    let mut w = start();
    accounts::accounts(&mut w);
    accounts::keys_and_projects(&w);
    let task = tasks::tasks(&w);
    runs::runs_and_artifacts(&w, &task);
    hooks::runner_and_webhooks(&w, &task);
    llm::gateway(&w);
    let seen = w.doc.seen.borrow().clone();
    let missed: Vec<_> = w.doc.operations().difference(&seen).cloned().collect();
    assert!(
        missed.is_empty(),
        "operations the test never checked: {missed:?}"
    );
}

#[test]
fn the_checks_catch_a_body_that_breaks_the_schema() {
    let w = start();
    let task = json!({"$ref": "#/components/schemas/Task"});
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.doc.validate(&task, &json!({"id": 1}), "a wrong task")
    }));
    assert!(caught.is_err(), "a wrong body must fail the check");
    let error = json!({"$ref": "#/components/schemas/Error"});
    let shape = json!({"type": "invalid_request", "code": "not_found", "detail": "Not found.", "attr": null});
    w.doc.validate(&error, &shape, "the error shape");
}
