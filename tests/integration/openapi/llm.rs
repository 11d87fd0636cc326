//! The LLM gateway as documented: answers (a message, its event stream, the model list) and
//! refusals in Anthropic's error shape.

use serde_json::json;

use super::Walk;

pub fn gateway(w: &Walk) {
    let messages = "/api/llm_gateway/{product}/v1/messages/";
    let path = "/api/llm_gateway/posthog_code/v1/messages/";
    let ask = |stream: bool| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]})
    };
    let answer = w.expect(200, "post", messages, path, Some(ask(false)));
    assert_eq!(answer["type"], "message");
    let streamed = w.call("post", messages, path, Some(ask(true)));
    assert_eq!(streamed.status, 200);
    assert!(streamed.content_type.starts_with("text/event-stream"));
    let refused = w.call_as("", "post", messages, path, Some(ask(false)));
    assert_eq!(refused.status, 401);
    assert_eq!(refused.json["error"]["type"], "authentication_error");
    let models = "/api/llm_gateway/{product}/v1/models/";
    let list = w.expect(
        200,
        "get",
        models,
        "/api/llm_gateway/posthog_code/v1/models/",
        None,
    );
    assert!(list["data"].is_array());
    let refused = w.call_as(
        "",
        "get",
        models,
        "/api/llm_gateway/posthog_code/v1/models/",
        None,
    );
    assert_eq!(refused.status, 401);
    // Claude Code's warm-up, sent without credentials.
    let hello = w.call_as(
        "",
        "head",
        "/api/llm_gateway/{product}/api/hello/",
        "/api/llm_gateway/posthog_code/api/hello/",
        None,
    );
    assert_eq!(hello.status, 200);
}
