//! Burrow's HTTP API as the agent runner uses it, with a run's key: claim a run, read its
//! task, watch it, append to its log, PATCH it and upload artifacts. Nothing else: the same
//! code runs inside the server and on worker machines. Requests that fail for a reason that
//! may pass (no connection, 5xx, 429) are retried with back-off.

use std::time::Duration;

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The first pause after a failed request; pauses double up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// A run's place in the API.
#[derive(Debug, Clone)]
pub struct RunRef {
    pub project: i64,
    pub task: String,
    pub run: String,
}

/// A client of one Burrow server with one key.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    /// How long a request is retried before it fails for good.
    patience: Duration,
}

impl Api {
    pub fn new(base: &str, key: &str, patience: Duration) -> Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::internal)?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            patience,
        })
    }

    fn run_url(&self, r: &RunRef, tail: &str) -> String {
        format!(
            "{}/api/projects/{}/tasks/{}/runs/{}/{tail}",
            self.base, r.project, r.task, r.run
        )
    }

    /// Sends a request, retrying what may pass; the status and JSON body (null when empty).
    async fn send(&self, method: Method, url: &str, body: Option<&Value>) -> Result<(u16, Value)> {
        let started = std::time::Instant::now();
        let mut pause = FIRST_PAUSE;
        loop {
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(&self.key);
            if let Some(body) = body {
                req = req
                    .header("content-type", "application/json")
                    .body(body.to_string());
            }
            let why = match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let retry = status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS;
                    let text = resp.text().await.unwrap_or_default();
                    if !retry {
                        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        return Ok((status.as_u16(), value));
                    }
                    format!("{status}: {}", text.chars().take(200).collect::<String>())
                }
                Err(e) => e.to_string(),
            };
            if started.elapsed() + pause > self.patience {
                return Err(Error::unexpected(format!("{method} {url}: {why}")));
            }
            tracing::debug!("{method} {url}: {why}; retrying in {pause:?}");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    async fn expect(&self, method: Method, url: &str, body: Option<&Value>) -> Result<Value> {
        let (status, value) = self.send(method.clone(), url, body).await?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let detail = value["detail"]
            .as_str()
            .map_or_else(|| value.to_string(), str::to_string);
        Err(Error::unexpected(format!(
            "{method} {url} answered {status}: {detail}"
        )))
    }

    /// `POST runs/claim/` in a project: the claimed run and its event ingest token, or
    /// `None` when nothing is queued.
    pub async fn claim(&self, project: i64) -> Result<Option<(RunRef, Option<String>)>> {
        let url = format!("{}/api/projects/{project}/runs/claim/", self.base);
        let (status, run) = self.send(Method::POST, &url, Some(&json!({}))).await?;
        match status {
            204 => Ok(None),
            200 => Ok(Some((
                RunRef {
                    project,
                    task: run["task"].as_str().unwrap_or_default().to_string(),
                    run: run["id"].as_str().unwrap_or_default().to_string(),
                },
                run["event_ingest_token"].as_str().map(str::to_string),
            ))),
            _ => Err(Error::unexpected(format!(
                "POST {url} answered {status}: {run}"
            ))),
        }
    }

    pub async fn task(&self, r: &RunRef) -> Result<Value> {
        let url = format!("{}/api/projects/{}/tasks/{}/", self.base, r.project, r.task);
        self.expect(Method::GET, &url, None).await
    }

    pub async fn run(&self, r: &RunRef) -> Result<Value> {
        self.expect(Method::GET, &self.run_url(r, ""), None).await
    }

    /// Appends entries to the run's log. `batch` names the batch so that a retried append
    /// whose first attempt did land is not stored twice.
    pub async fn append(&self, r: &RunRef, batch: &str, entries: &[Value]) -> Result<()> {
        let body = json!({ "entries": entries, "batch_id": batch });
        self.expect(Method::POST, &self.run_url(r, "append_log/"), Some(&body))
            .await
            .map(drop)
    }

    /// The log entries after the first `after`, at most a page of them.
    pub async fn log_after(&self, r: &RunRef, after: usize) -> Result<Vec<Value>> {
        let url = self.run_url(r, &format!("logs/?after={after}"));
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.key)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| Error::unexpected(format!("GET {url}: {e}")))?;
        let text = resp
            .text()
            .await
            .map_err(|e| Error::unexpected(format!("GET {url}: {e}")))?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }

    pub async fn patch(&self, r: &RunRef, body: &Value) -> Result<Value> {
        self.expect(Method::PATCH, &self.run_url(r, ""), Some(body))
            .await
    }

    /// Uploads one artifact inline (base64, so any bytes go).
    pub async fn upload(&self, r: &RunRef, name: &str, kind: &str, bytes: &[u8]) -> Result<()> {
        let body = json!({"artifacts": [{
            "name": name,
            "type": kind,
            "content_type": "text/x-diff",
            "content": base64::engine::general_purpose::STANDARD.encode(bytes),
            "content_encoding": "base64",
        }]});
        self.expect(Method::POST, &self.run_url(r, "artifacts/"), Some(&body))
            .await
            .map(drop)
    }
}
