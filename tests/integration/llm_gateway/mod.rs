//! The LLM gateway against the real server and a real (scripted) upstream process: answers
//! stream through as they come, the provider key goes upstream and nowhere else, refusals
//! come in Anthropic's error shape, and a run's tokens are counted, capped and shown.

use std::io::Read;

use reqwest::blocking::Response;
use serde_json::{Value, json};

use crate::harness::anthropic::FakeAnthropic;
use crate::harness::runner::*;
use crate::harness::{BIN, Builder, Server, expect_json};

mod refusals;

const PROVIDER_KEY: &str = "sk-ant-provider-key-never-for-the-agent";
const MESSAGES: &str = "/api/llm_gateway/posthog_code/v1/messages";

fn serve(fake: &FakeAnthropic) -> Builder {
    Server::build().args(["--llm-upstream", &fake.url, "--llm-api-key", PROVIDER_KEY])
}

/// A Messages request as Claude Code sends it.
fn ask(s: &Server, key: &str, stream: bool) -> Response {
    request(s, key, stream).send().unwrap()
}

/// `ask`, not yet sent.
fn request(s: &Server, key: &str, stream: bool) -> reqwest::blocking::RequestBuilder {
    s.client
        .post(s.url(&format!("{MESSAGES}?beta=true")))
        .bearer_auth(key)
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "claude-code-20250219")
        .header("cookie", "burrow_session=not-for-the-upstream")
        .json(&json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "stream": stream,
            "messages": [{"role": "user", "content": "hello"}],
        }))
}

/// `GET …/v1/models` with the key in `header`.
fn models(s: &Server, header: &str, value: &str) -> Response {
    s.client
        .get(s.url("/api/llm_gateway/posthog_code/v1/models"))
        .header(header, value)
        .send()
        .unwrap()
}

/// Reads a whole streamed answer, which must be a 200 that ends with one message_stop.
fn streamed(r: Response) {
    let text = answered(r);
    assert_eq!(text.matches("event: message_stop").count(), 1, "{text}");
}

/// Reads a whole answer, which must be a 200.
fn answered(r: Response) -> String {
    assert_eq!(r.status(), 200);
    r.text().unwrap()
}

/// Reads the answer until `text` has arrived; returns what was read.
fn read_until(r: &mut Response, text: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(text) {
        let n = r.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the answer ended before {text:?}: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(got).unwrap()
}

/// Anthropic's error shape, with its type.
fn anthropic_error(r: Response, status: u16, kind: &str) -> Value {
    assert_eq!(r.status(), status);
    let body: Value = r.json().unwrap();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    body
}

/// A server whose command runner holds each run open and hands its temporary key over:
/// the command writes `$BURROW_API_KEY` to `$WORK/key` and waits for `$WORK/done`.
struct RunKey {
    s: Server,
    admin: String,
    task: String,
    run: String,
    key: String,
    work: tempfile::TempDir,
}

fn with_run_key(fake: &FakeAnthropic, extra: &[&str]) -> RunKey {
    let work = tempfile::tempdir().unwrap();
    script(
        work.path(),
        "hold.sh",
        r#"echo "$BURROW_API_KEY" > "$WORK/key.tmp" && mv "$WORK/key.tmp" "$WORK/key"
while [ ! -e "$WORK/done" ]; do sleep 0.05; done"#,
    );
    let s = serve(fake)
        .command_runner(&sh_command(work.path(), "hold.sh"))
        .args(extra)
        .start();
    let admin = s.key("*");
    let task = s.new_task(&admin);
    let run = start_run(&s, &admin, &task);
    let key = poll("the run's key", || {
        std::fs::read_to_string(work.path().join("key")).ok()
    });
    RunKey {
        s,
        admin,
        task,
        run,
        key: key.trim().to_string(),
        work,
    }
}

impl RunKey {
    fn usage(&self) -> Value {
        get_run(&self.s, &self.admin, &self.task, &self.run)["state"]["llm_usage"].clone()
    }

    fn wait_usage(&self, requests: i64) -> Value {
        poll("the run's usage", || {
            let u = self.usage();
            (u["requests"] == requests).then_some(u)
        })
    }
}

impl Drop for RunKey {
    fn drop(&mut self) {
        let _ = std::fs::write(self.work.path().join("done"), "");
    }
}

#[test]
fn a_streamed_answer_passes_through_before_the_upstream_ends() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"hold": true, "text": "streamed"}]}));
    let s = serve(&fake).start();
    let key = s.key("task:write");
    let mut r = ask(&s, &key, true);
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(
        r.headers()["request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_fake_")
    );
    // The upstream holds its answer after message_start: it reached the client all the same.
    let first = read_until(&mut r, "\n\n");
    assert!(first.starts_with("event: message_start\n"), "{first}");
    assert!(!first.contains("message_stop"));
    fake.release();
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("\"text\": \"str"), "{rest}");
    assert!(
        rest.trim_end()
            .ends_with(r#"data: {"type": "message_stop"}"#),
        "{rest}"
    );
}

#[test]
fn the_provider_key_goes_upstream_and_the_clients_key_does_not() {
    let fake = FakeAnthropic::start(&json!({"key": PROVIDER_KEY, "turns": [{"text": "hi"}]}));
    let s = serve(&fake).start();
    let key = s.key("task:write");
    let r = ask(&s, &key, true);
    assert_eq!(r.status(), 200);
    let headers = format!("{:?}", r.headers());
    let body = r.text().unwrap();
    assert!(!headers.contains(PROVIDER_KEY) && !body.contains(PROVIDER_KEY));
    // x-api-key, as Anthropic's SDKs send it, is accepted too.
    assert_eq!(models(&s, "x-api-key", &key).status(), 200);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let sent = &requests[0];
    assert_eq!(sent["path"], "/v1/messages?beta=true");
    assert_eq!(sent["headers"]["x-api-key"], PROVIDER_KEY);
    assert_eq!(sent["headers"]["anthropic-version"], "2023-06-01");
    assert_eq!(sent["headers"]["anthropic-beta"], "claude-code-20250219");
    assert_eq!(sent["body"]["model"], "claude-sonnet-4-5");
    for request in &requests {
        let h = &request["headers"];
        assert!(
            h.get("authorization").is_none() && h.get("cookie").is_none(),
            "{h}"
        );
        assert_eq!(h["x-api-key"], PROVIDER_KEY);
        assert!(
            !request.to_string().contains(&key),
            "the client's key went upstream"
        );
    }
}

#[test]
fn upstream_errors_pass_through_with_their_status_and_headers() {
    let fake = FakeAnthropic::start(&json!({"turns": [{
        "error": {"status": 529, "type": "overloaded_error", "message": "Overloaded"},
        "headers": {"retry-after": "7", "anthropic-ratelimit-requests-remaining": "0"},
    }]}));
    let s = serve(&fake).start();
    let key = s.key("task:write");
    let r = ask(&s, &key, true);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.headers()["anthropic-ratelimit-requests-remaining"], "0");
    let body = anthropic_error(r, 529, "overloaded_error");
    assert_eq!(body["error"]["message"], "Overloaded");
}

#[test]
fn usage_is_recorded_on_the_run_and_in_metrics() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "counted",
        "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 3}}]}));
    let rk = with_run_key(&fake, &[]);
    streamed(ask(&rk.s, &rk.key, true));
    let whole: Value = ask(&rk.s, &rk.key, false).json().unwrap();
    assert_eq!(whole["usage"]["input_tokens"], 100);
    let u = rk.wait_usage(2);
    assert_eq!(u["input_tokens"], 200);
    assert_eq!(u["output_tokens"], 40);
    assert_eq!(u["cache_read_input_tokens"], 6);
    let metrics = rk.s.get("", "/metrics").text().unwrap();
    let labels = r#"product="posthog_code",model="claude-sonnet-4-5""#;
    for line in [
        format!("burrow_llm_tokens_total{{{labels},kind=\"input\"}} 200"),
        format!("burrow_llm_tokens_total{{{labels},kind=\"output\"}} 40"),
        format!("burrow_llm_tokens_total{{{labels},kind=\"cache_read\"}} 6"),
        format!("burrow_llm_requests_total{{{labels},status=\"200\"}} 2"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }
}

#[test]
fn a_client_that_goes_away_cancels_the_upstream_request() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"hold": true, "text": "never read"}]}));
    let rk = with_run_key(&fake, &[]);
    let mut r = ask(&rk.s, &rk.key, true);
    read_until(&mut r, "\n\n");
    drop(r);
    fake.wait_disconnect();
    // The input tokens message_start reported were spent all the same.
    assert_eq!(rk.wait_usage(1)["input_tokens"], 10);
}

#[test]
fn models_are_listed_through_the_gateway() {
    let fake = FakeAnthropic::start(&json!({"model": "claude-listed-1"}));
    let s = serve(&fake).start();
    let key = s.key("task:write");
    let body = expect_json(models(&s, "authorization", &format!("Bearer {key}")), 200);
    assert_eq!(body["data"][0]["id"], "claude-listed-1");
    assert_eq!(fake.requests()[0]["path"], "/v1/models");
}

/// A key that is not a run's (a worker's) counts a request on the run it names, as
/// agent-server names it (`x-posthog-property-task_run_id`), but only in a project the key
/// reaches; the run's budget then holds it back. PostHog's `x-posthog-*` headers (the task's
/// title and the like) never reach the model provider.
#[test]
fn a_workers_request_counts_on_the_run_it_names_in_its_projects() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "counted",
        "usage": {"input_tokens": 7, "output_tokens": 1}}]}));
    let s = serve(&fake).args(["--llm-budget-tokens", "5"]).start();
    let admin = s.key("*");
    let (run, _) = s.new_run(&admin, &json!({"status": "in_progress"}));
    let other = s.project("Other");
    let outsider = s.key_for("admin@localhost", "task:write", &[other]);
    let worker = s.key("task:write");
    let named = |key: &str| {
        request(&s, key, false)
            .header("x-posthog-property-task_run_id", &run.id)
            .header("x-posthog-property-task_title", "Not for the provider")
            .send()
            .unwrap()
    };
    let usage = || get_run(&s, &admin, &run.task, &run.id)["state"]["llm_usage"].clone();

    // Another project's key is answered, and counts on nothing here.
    assert_eq!(named(&outsider).status(), 200);
    assert_eq!(named(&worker).status(), 200);
    let counted = poll("the run's usage", || {
        let u = usage();
        (u["requests"] == 1).then_some(u)
    });
    assert_eq!(counted["input_tokens"], 7);
    // 8 tokens of 5: the next request for the run is refused before the provider sees it.
    anthropic_error(named(&worker), 429, "rate_limit_error");
    assert_eq!(fake.requests().len(), 2);
    for r in fake.requests() {
        let headers = r["headers"].as_object().unwrap();
        assert!(!headers.keys().any(|h| h.starts_with("x-posthog")), "{r}");
    }
    assert_eq!(usage()["requests"], 1);
}
