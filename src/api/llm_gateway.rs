//! `/api/llm_gateway/{product}/v1/messages` and `/v1/models`: the LLM gateway's doors. The
//! key is checked before the body is read; refusals come in Anthropic's error shape.

use actix_web::body::BodyStream;
use actix_web::http::StatusCode;
use actix_web::web::{self, BytesMut};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde_json::json;

use crate::auth;
use crate::llm_gateway::{BODY_MAX, Call, Endpoint, Gateway, Grant, Ledger, RUN_HEADER, Refusal};
use crate::state::AppState;

/// `POST /api/llm_gateway/{product}/v1/messages`.
pub async fn messages(
    req: HttpRequest,
    state: web::Data<AppState>,
    gateway: web::Data<Gateway>,
    product: web::Path<String>,
    mut payload: web::Payload,
) -> HttpResponse {
    let grant = match admit(&req, &state, &gateway).await {
        Ok(grant) => grant,
        Err(refusal) => return refused(refusal),
    };
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if body.len() + chunk.len() <= BODY_MAX => body.extend_from_slice(&chunk),
            Ok(_) => return refused(Refusal::too_large()),
            Err(_) => {
                return refused(Refusal {
                    status: 400,
                    kind: "invalid_request_error",
                    message: "The request body could not be read.".into(),
                });
            }
        }
    }
    let ledger: Ledger = {
        let state = state.clone();
        Box::new(move |run, usage| {
            actix_web::rt::spawn(async move {
                if let Err(e) = state.runs().record_llm_usage(run, usage).await {
                    tracing::warn!("LLM gateway: could not record a run's usage: {e}");
                }
            });
        })
    };
    forward(
        &req,
        &gateway,
        Endpoint::Messages,
        product.into_inner(),
        body.freeze(),
        grant,
        ledger,
    )
    .await
}

/// `HEAD /api/llm_gateway/{product}/api/hello`: Claude Code warms its connection with this
/// request, without credentials, when it starts; an empty 200 says nothing.
pub async fn hello() -> HttpResponse {
    HttpResponse::Ok().finish()
}

/// `GET /api/llm_gateway/{product}/v1/models`.
pub async fn models(
    req: HttpRequest,
    state: web::Data<AppState>,
    gateway: web::Data<Gateway>,
    product: web::Path<String>,
) -> HttpResponse {
    match admit(&req, &state, &gateway).await {
        Ok(grant) => {
            let ledger: Ledger = Box::new(|_, _| {});
            forward(
                &req,
                &gateway,
                Endpoint::Models,
                product.into_inner(),
                Default::default(),
                grant,
                ledger,
            )
            .await
        }
        Err(refusal) => refused(refusal),
    }
}

async fn admit(req: &HttpRequest, state: &AppState, gateway: &Gateway) -> Result<Grant, Refusal> {
    let named = req
        .headers()
        .get(RUN_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| id.len() <= 64)
        .map(str::to_string);
    gateway
        .admit(&state.db, auth::key_caller(req).await, named)
        .await
}

async fn forward(
    req: &HttpRequest,
    gateway: &Gateway,
    endpoint: Endpoint,
    product: String,
    body: web::Bytes,
    grant: Grant,
    ledger: Ledger,
) -> HttpResponse {
    let call = Call {
        endpoint,
        product,
        query: Some(req.query_string().to_string()),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect(),
        body,
        grant,
    };
    match gateway.forward(call, ledger).await {
        Ok(answer) => {
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut res = HttpResponse::build(status);
            for (name, value) in answer.headers {
                res.append_header((name, value));
            }
            res.body(BodyStream::new(answer.body))
        }
        Err(refusal) => refused(refusal),
    }
}

/// A refusal in Anthropic's error shape.
fn refused(r: Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A refusal is final (no key, no budget left, too large): Anthropic's SDKs, Claude
    // Code's among them, would otherwise retry a 429 or 5xx for minutes.
    HttpResponse::build(status)
        .insert_header(("x-should-retry", "false"))
        .json(json!({
            "type": "error",
            "error": {"type": r.kind, "message": r.message},
        }))
}
