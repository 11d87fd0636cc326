//! The LLM gateway: model requests in Anthropic's Messages format, sent by an agent with a
//! Burrow key, forwarded to `--llm-upstream` with the server's provider key and streamed
//! back as they come, their token usage counted on the run and in `/metrics`.

mod counters;
mod usage;

pub use counters::Counters;
pub use usage::UsageReader;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use futures_util::Stream;
use serde::Deserialize;

use crate::auth::{Caller, Credential, TASK_WRITE};
use crate::config::{LlmSettings, Secret};
use crate::db::Db;
use crate::db::run_usage::{self as db_run_usage, Usage};
use crate::error::{Error, Result};

/// Where the gateway answers under the server's base URL: what `LLM_GATEWAY_URL` (which
/// `@posthog/agent` extends with `/<product>`) should be, after the public URL.
pub const BASE_PATH: &str = "/api/llm_gateway";

/// Largest request body forwarded: Anthropic's own limit for a Messages request.
pub const BODY_MAX: usize = 32 << 20;

/// Hop-by-hop headers: they belong to one connection, never passed on either way.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
    "content-length",
];

/// Request headers never forwarded besides those: the client's credentials (the provider
/// key replaces them), where the client is, and compression (the answer is read for usage
/// as it passes, so it must come uncompressed).
const DROPPED_REQUEST: [&str; 11] = [
    "authorization",
    "x-api-key",
    "cookie",
    "proxy-authorization",
    "host",
    "accept-encoding",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Answer headers never passed back besides those: the provider's cookies, which are not
/// the client's business.
const DROPPED_ANSWER: [&str; 1] = ["set-cookie"];

/// The prefix of the headers PostHog's agent sends for PostHog's own gateway (the task, its
/// title, its repositories, the user…): Burrow's business, never the model provider's.
const POSTHOG_HEADERS: &str = "x-posthog-";

/// The header in which agent-server names the run a model request is for.
pub const RUN_HEADER: &str = "x-posthog-property-task_run_id";

fn passes(name: &str, dropped: &[&str]) -> bool {
    !HOP_BY_HOP.contains(&name) && !dropped.contains(&name) && !name.starts_with(POSTHOG_HEADERS)
}

/// What the gateway forwards.
#[derive(Clone, Copy, Debug)]
pub enum Endpoint {
    Messages,
    Models,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Messages => "/v1/messages",
            Endpoint::Models => "/v1/models",
        }
    }
}

/// A request the gateway turns away, said in Anthropic's error shape
/// (`{"type": "error", "error": {"type": kind, "message"}}`), which its clients understand.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            kind,
            message: message.into(),
        }
    }

    /// A body past `BODY_MAX`.
    pub fn too_large() -> Refusal {
        Refusal::new(
            413,
            "request_too_large",
            format!("Request exceeds the maximum allowed number of bytes ({BODY_MAX})."),
        )
    }

    /// A failed key check, in Anthropic's words.
    pub fn from_error(e: Error) -> Refusal {
        match e {
            Error::NotAuthenticated => Refusal::new(
                401,
                "authentication_error",
                "A Burrow personal API key is required (Authorization: Bearer <key> or x-api-key).",
            ),
            Error::AuthenticationFailed(m) => Refusal::new(401, "authentication_error", m),
            Error::PermissionDenied(m) => Refusal::new(403, "permission_error", m),
            e => {
                tracing::error!("LLM gateway: {e}");
                Refusal::new(500, "api_error", "Internal server error.")
            }
        }
    }
}

/// Who the gateway lets through, and the run their tokens count on (a run's own key).
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub run: Option<i64>,
}

/// One request to forward.
pub struct Call {
    pub endpoint: Endpoint,
    pub product: String,
    pub query: Option<String>,
    /// The client's headers, as sent; `forward` picks those that may go on.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
    pub grant: Grant,
}

/// The upstream's answer: its status, its headers that may pass, and its body as it comes.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Pin<Box<dyn Stream<Item = std::result::Result<Bytes, reqwest::Error>>>>,
}

/// What to do with a finished answer's usage when it counts on a run: record it there.
pub type Ledger = Box<dyn FnOnce(i64, Usage)>;

pub struct Gateway {
    client: reqwest::Client,
    upstream: String,
    key: Option<Secret>,
    budget: Option<u64>,
    pub counters: Arc<Counters>,
}

#[derive(Deserialize)]
struct ModelOnly {
    model: Option<String>,
}

impl Gateway {
    pub fn new(settings: &LlmSettings) -> Result<Gateway> {
        // No redirects: the provider key goes to `--llm-upstream` and nowhere else.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(30))
            .build()
            .map_err(Error::internal)?;
        Ok(Gateway {
            client,
            upstream: settings.llm_upstream.clone(),
            key: settings.provider_key(),
            budget: settings.llm_budget_tokens,
            counters: Arc::default(),
        })
    }

    /// Whether the gateway can forward at all: it has a provider key.
    pub fn configured(&self) -> bool {
        self.key.is_some()
    }

    /// Checks the caller (a key with `task:write`), finds the run the request counts on, and
    /// holds a run past its budget back. The run is the one whose temporary key made the
    /// request; for any other key (a worker's), the run the request names (`RUN_HEADER`), if
    /// the key reaches its project.
    pub async fn admit(
        &self,
        db: &Db,
        caller: Result<Caller>,
        named: Option<String>,
    ) -> std::result::Result<Grant, Refusal> {
        let caller = caller.map_err(Refusal::from_error)?;
        caller.require(TASK_WRITE).map_err(Refusal::from_error)?;
        let Credential::Key(key) = &caller.credential else {
            return Err(Refusal::from_error(Error::NotAuthenticated));
        };
        if self.key.is_none() {
            return Err(Refusal::new(
                503,
                "api_error",
                "Burrow's LLM gateway has no provider key: start the server with --llm-api-key \
                 (BURROW_LLM_API_KEY) or ANTHROPIC_API_KEY.",
            ));
        }
        let key_id = key.id.clone();
        let found = db
            .read_light(move |c| {
                let run = match db_run_usage::run_of_key(c, &key_id)? {
                    Some(run) => Some(run),
                    None => match &named {
                        Some(id) => db_run_usage::run_by_id(c, id)?,
                        None => None,
                    },
                };
                Ok(match run {
                    Some((run, project)) if caller.reaches(project) => {
                        Some((run, db_run_usage::totals(c, run)?.1))
                    }
                    _ => None,
                })
            })
            .await
            .map_err(Refusal::from_error)?;
        if let (Some(budget), Some((_, used))) = (self.budget, &found)
            && used.total() as u64 >= budget
        {
            return Err(Refusal::new(
                429,
                "rate_limit_error",
                format!(
                    "This run has used {} of its {budget} model tokens (--llm-budget-tokens).",
                    used.total()
                ),
            ));
        }
        Ok(Grant {
            run: found.map(|(run, _)| run),
        })
    }

    /// Sends the call to the upstream with the provider key and hands its answer back as it
    /// streams. When the answer's body ends or is dropped (the client went away, which also
    /// drops the upstream request), its usage is counted, and `ledger` records it on the run.
    pub async fn forward(
        &self,
        call: Call,
        ledger: Ledger,
    ) -> std::result::Result<Answer, Refusal> {
        let key = self.key.as_ref().ok_or_else(|| {
            Refusal::new(503, "api_error", "The LLM gateway has no provider key.")
        })?;
        let mut url = reqwest::Url::parse(&format!("{}{}", self.upstream, call.endpoint.path()))
            .map_err(|e| Refusal::from_error(Error::internal(e)))?;
        url.set_query(call.query.as_deref().filter(|q| !q.is_empty()));
        let model = match call.endpoint {
            Endpoint::Messages => serde_json::from_slice::<ModelOnly>(&call.body)
                .ok()
                .and_then(|m| m.model)
                .unwrap_or_default(),
            Endpoint::Models => String::new(),
        };
        let method = match call.endpoint {
            Endpoint::Messages => reqwest::Method::POST,
            Endpoint::Models => reqwest::Method::GET,
        };
        let mut req = self.client.request(method, url);
        for (name, value) in &call.headers {
            if passes(name, &DROPPED_REQUEST) {
                req = req.header(name.as_str(), value.as_slice());
            }
        }
        req = req.header("x-api-key", key.0.as_str());
        if let Endpoint::Messages = call.endpoint {
            req = req.body(call.body);
        }
        let answer = req.send().await.map_err(|e| {
            tracing::warn!("LLM gateway: the upstream could not be reached: {e}");
            Refusal::new(502, "api_error", "The model provider could not be reached.")
        })?;
        let status = answer.status().as_u16();
        let headers: Vec<(String, Vec<u8>)> = answer
            .headers()
            .iter()
            .filter(|(name, _)| passes(name.as_str(), &DROPPED_ANSWER))
            .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
            .collect();
        if let Endpoint::Models = call.endpoint {
            return Ok(Answer {
                status,
                headers,
                body: Box::pin(chunks(answer, None)),
            });
        }
        self.counters.request(&call.product, &model, status);
        let content_type = answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let encoded = answer.headers().contains_key("content-encoding");
        let meter = Meter {
            reader: (!encoded).then(|| UsageReader::new(content_type)),
            counters: self.counters.clone(),
            product: call.product,
            model,
            run: call.grant.run,
            ledger: Some(ledger),
        };
        Ok(Answer {
            status,
            headers,
            body: Box::pin(chunks(answer, Some(meter))),
        })
    }
}

/// The answer's body chunk by chunk, each shown to the meter on its way.
fn chunks(
    answer: reqwest::Response,
    meter: Option<Meter>,
) -> impl Stream<Item = std::result::Result<Bytes, reqwest::Error>> {
    futures_util::stream::unfold(
        (answer, meter, false),
        |(mut answer, mut meter, done)| async move {
            if done {
                return None;
            }
            match answer.chunk().await {
                Ok(Some(chunk)) => {
                    if let Some(m) = meter.as_mut() {
                        m.feed(&chunk);
                    }
                    Some((Ok(chunk), (answer, meter, false)))
                }
                Ok(None) => None,
                Err(e) => Some((Err(e), (answer, meter, true))),
            }
        },
    )
}

/// Reads an answer's usage as it passes and counts it once, when the answer is dropped:
/// finished, failed, or abandoned by the client (input tokens are spent all the same).
struct Meter {
    reader: Option<UsageReader>,
    counters: Arc<Counters>,
    product: String,
    model: String,
    run: Option<i64>,
    ledger: Option<Ledger>,
}

impl Meter {
    fn feed(&mut self, chunk: &[u8]) {
        if let Some(r) = self.reader.as_mut() {
            r.feed(chunk);
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        let Some(usage) = self.reader.take().and_then(UsageReader::finish) else {
            return;
        };
        self.counters.tokens(&self.product, &self.model, &usage);
        if let (Some(run), Some(ledger)) = (self.run, self.ledger.take()) {
            ledger(run, usage);
        }
    }
}
