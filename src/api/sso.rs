//! `auth/sso/`: single sign-on by OpenID Connect. `start` sends the browser to the provider
//! with a cookie that binds the sign-in to it; `callback` finishes it (`sso::Oidc`), starts
//! a session and sends the browser back to the UI, or to the UI with `?sso_error=CODE`.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::session::{secure, start_session};
use crate::error::{Error, Result};
use crate::session;
use crate::sso::{self, Oidc, Refused};
use crate::state::AppState;

type State = web::Data<AppState>;

/// The cookie that binds a sign-in in flight to the browser that started it. SameSite=Lax:
/// the provider sends the browser back by a top-level navigation from its own site.
const COOKIE: &str = "burrow_sso";

fn oidc(state: &State) -> Result<&Oidc> {
    state.oidc.as_ref().ok_or(Error::NotFound)
}

fn flight_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/api/auth/sso/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(
            sso::PENDING_LIFETIME.as_secs() as i64,
        ))
        .finish()
}

/// The UI, at `--public-url` (never a place the request names).
fn to_ui(state: &State, error: Option<&str>) -> String {
    let base = state.config.public_url.as_deref().unwrap_or("");
    match error {
        Some(code) => format!("{base}/?sso_error={code}"),
        None => format!("{base}/"),
    }
}

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut r = HttpResponse::SeeOther();
    r.insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    r
}

fn refused(state: &State, r: &Refused) -> HttpResponse {
    tracing::warn!(
        code = r.why.code(),
        "refused a single sign-on: {}",
        r.detail
    );
    see_other(&to_ui(state, Some(r.why.code()))).finish()
}

/// `GET auth/sso/start`: to the provider's sign-in page.
pub async fn start(state: State, req: HttpRequest) -> Result<HttpResponse> {
    match oidc(&state)?.start().await? {
        Ok(started) => Ok(see_other(&started.url)
            .cookie(flight_cookie(started.cookie, secure(&state, &req)))
            .finish()),
        Err(r) => Ok(refused(&state, &r)),
    }
}

/// What the provider sends back: a code and our `state`, or an error.
#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// `GET auth/sso/callback`: the provider's answer. The sign-in in flight is spent whatever
/// the outcome.
pub async fn callback(
    state: State,
    req: HttpRequest,
    query: web::Query<Callback>,
) -> Result<HttpResponse> {
    let oidc = oidc(&state)?;
    let cookie = req.cookie(COOKIE).map(|c| c.value().to_string());
    let mut removal = flight_cookie(String::new(), secure(&state, &req));
    removal.make_removal();
    let outcome = match &query.error {
        Some(e) => {
            oidc.abandon(cookie.as_deref());
            Err(Refused {
                why: sso::Refusal::Provider,
                detail: format!("the provider answered {e:?}"),
            })
        }
        None => {
            oidc.finish(cookie.as_deref(), &query.code, &query.state)
                .await
        }
    };
    let email = match outcome {
        Ok(email) => email,
        Err(r) => {
            let mut answer = refused(&state, &r);
            answer.add_cookie(&removal).ok();
            return Ok(answer);
        }
    };
    let settings = state.config.sso.clone();
    let admitted = state
        .db
        .write(move |c| sso::accounts::admit(c, &settings, &email))
        .await?;
    let user = match admitted {
        Ok(user) => user,
        Err(why) => {
            let r = Refused {
                why,
                detail: "by the account rules".into(),
            };
            let mut answer = refused(&state, &r);
            answer.add_cookie(&removal).ok();
            return Ok(answer);
        }
    };
    let (token, _csrf) = start_session(&state, user.id).await?;
    tracing::info!(user = user.id, "signed in by single sign-on");
    Ok(see_other(&to_ui(&state, None))
        .cookie(removal)
        .cookie(session::cookie(token, secure(&state, &req)))
        .finish())
}
