//! What the gateway refuses, in Anthropic's error shape: missing, revoked and read-only
//! keys, a huge body, a spent budget, another run's key, and no provider key at all.

use super::*;

#[test]
fn missing_revoked_and_read_only_keys_are_refused_in_anthropics_shape() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "hi"}]}));
    let s = serve(&fake).start();
    let r = s
        .client
        .post(s.url(MESSAGES))
        .json(&json!({}))
        .send()
        .unwrap();
    anthropic_error(r, 401, "authentication_error");
    anthropic_error(ask(&s, "phx_not_a_key", true), 401, "authentication_error");
    let read_only = s.key("task:read");
    anthropic_error(ask(&s, &read_only, true), 403, "permission_error");
    let (revoked, id) = s.labeled_key("admin@localhost", "gone", "task:write");
    s.cli_ok(&["key", "revoke", "--id", &id]);
    anthropic_error(ask(&s, &revoked, true), 401, "authentication_error");
    anthropic_error(models(&s, "x-api-key", &read_only), 403, "permission_error");
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[test]
fn a_huge_body_is_refused_after_the_key_and_without_reaching_the_upstream() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "hi"}]}));
    let s = serve(&fake).start();
    let key = s.key("task:write");
    let huge = vec![b' '; 33 << 20];
    // A client of its own: a connection the server closed early is not reused.
    let client = reqwest::blocking::Client::new();
    let send = |key: Option<&str>| {
        let mut req = client.post(s.url(MESSAGES)).body(huge.clone());
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        req.send()
    };
    // Refused before the body is read: the server may close the connection before the
    // client has sent it all, and the client sees that rather than the answer.
    if let Ok(r) = send(None) {
        anthropic_error(r, 401, "authentication_error");
    }
    if let Ok(r) = send(Some(&key)) {
        anthropic_error(r, 413, "request_too_large");
    }
    assert!(fake.requests().is_empty());
    assert_eq!(
        ask(&s, &key, true).status(),
        200,
        "the server still answers"
    );
}

#[test]
fn a_key_counts_only_on_its_own_run_in_a_project_it_reaches() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "hi"}]}));
    let rk = with_run_key(&fake, &[]);
    let other = rk.s.project("elsewhere");
    let stranger = rk.s.key_for("admin@localhost", "task:write", &[other]);
    streamed(ask(&rk.s, &stranger, true));
    answered(ask(&rk.s, &rk.key, true));
    let u = rk.wait_usage(1);
    assert_eq!(u["input_tokens"], 10);
    // The run's own key, once it no longer reaches the run's project, counts nowhere.
    rk.s.sqlite()
        .execute(
            "UPDATE personal_api_keys SET scoped_projects = ?1
             WHERE id = (SELECT runner_key_id FROM task_runs WHERE id = ?2)",
            rusqlite::params![format!("[{other}]"), rk.run],
        )
        .unwrap();
    streamed(ask(&rk.s, &rk.key, true));
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(rk.usage()["requests"], 1);
}

#[test]
fn a_run_past_its_token_budget_gets_429_without_reaching_the_upstream() {
    // Each answer counts 10 input + 5 output tokens.
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "hi"}]}));
    let rk = with_run_key(&fake, &["--llm-budget-tokens", "20"]);
    answered(ask(&rk.s, &rk.key, true));
    rk.wait_usage(1);
    answered(ask(&rk.s, &rk.key, false));
    rk.wait_usage(2);
    let body = anthropic_error(ask(&rk.s, &rk.key, true), 429, "rate_limit_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("20"));
    assert_eq!(fake.requests().len(), 2);
    // Keys that are no run's are not capped.
    let admin = rk.admin.clone();
    answered(ask(&rk.s, &admin, true));
}

#[test]
fn the_provider_key_falls_back_to_anthropic_api_key_and_its_absence_is_a_503() {
    let fake = FakeAnthropic::start(&json!({"turns": [{"text": "hi"}]}));
    let mut cmd = std::process::Command::new(BIN);
    cmd.env_remove("ANTHROPIC_API_KEY")
        .env_remove("BURROW_LLM_API_KEY");
    let s = Server::build()
        .command(cmd)
        .args(["--llm-upstream", &fake.url])
        .start();
    let key = s.key("task:write");
    let body = anthropic_error(ask(&s, &key, true), 503, "api_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--llm-api-key")
    );
    assert!(fake.requests().is_empty());
    drop(s);

    let mut cmd = std::process::Command::new(BIN);
    cmd.env_remove("BURROW_LLM_API_KEY")
        .env("ANTHROPIC_API_KEY", "sk-from-the-env");
    let s = Server::build()
        .command(cmd)
        .args(["--llm-upstream", &fake.url])
        .start();
    let key = s.key("task:write");
    assert_eq!(ask(&s, &key, true).status(), 200);
    assert_eq!(
        fake.requests()[0]["headers"]["x-api-key"],
        "sk-from-the-env"
    );
}
