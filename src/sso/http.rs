//! The OpenID client's HTTP: `openidconnect`'s async client trait over our own reqwest 0.13
//! (its `reqwest` feature would pull in a second reqwest, 0.12). No redirects are followed,
//! every call has a deadline, and an answer larger than `MAX_BODY` is refused.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use openidconnect::{AsyncHttpClient, HttpRequest, HttpResponse};

/// The largest answer read from the provider (discovery, keys, tokens).
const MAX_BODY: usize = 1024 * 1024;

/// Why a call to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request to the OpenID provider failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("the OpenID provider's answer is larger than {MAX_BODY} bytes")]
    TooLarge,
    #[error("the OpenID provider's answer is malformed: {0}")]
    Malformed(#[from] openidconnect::http::Error),
}

/// The HTTP client the OpenID flow uses to reach the provider.
#[derive(Clone)]
pub struct Http(reqwest::Client);

impl Http {
    pub fn new() -> reqwest::Result<Http> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .map(Http)
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let mut response = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send()
            .await?;
        let mut answer = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            answer = answer.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HttpError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(answer.body(body)?)
    }
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
