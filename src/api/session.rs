//! `auth/`: the browser's way in. First-run setup of the admin account, sign-in (slowed
//! down after repeated failures), sign-out, and what the page needs to know at start. Setup
//! and sign-in take JSON from Burrow's own origin only (`session::check_same_site`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::JsonObject;
use crate::auth::Caller;
use crate::client;
use crate::clock;
use crate::crypto;
use crate::db::identity::{self, NewUser, User};
use crate::db::sessions;
use crate::error::{Error, Result};
use crate::fields::Fields;
use crate::first_run;
use crate::session;
use crate::sso;
use crate::state::AppState;
use crate::users;

type State = web::Data<AppState>;

pub const MIN_PASSWORD: usize = crate::crypto::MIN_PASSWORD;
pub const MAX_PASSWORD: usize = 1024;
/// The longest email and first or last name, in characters (Django's limits).
pub const EMAIL_MAX_CHARS: usize = 254;
pub const NAME_MAX_CHARS: usize = 150;

/// `first_name` and `last_name`, each optional (empty when absent).
pub fn names(f: &Fields) -> Result<(String, String)> {
    let name = |field| f.text(field, Some(NAME_MAX_CHARS), true)?.optional();
    Ok((
        name("first_name")?.unwrap_or_default(),
        name("last_name")?.unwrap_or_default(),
    ))
}

/// The user as the UI sees them.
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "uuid": user.uuid,
        "distinct_id": user.distinct_id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_admin": user.is_admin,
    })
}

pub fn secure(state: &State, req: &HttpRequest) -> bool {
    client::public_base(&state.config, req).starts_with("https://")
}

/// `GET auth/state`: whether the first account is still to be made, who is signed in, and
/// the ways to sign in. A browser behind a trusted authenticating proxy is signed in here as
/// the email the proxy names (`sso::proxy`).
pub async fn current(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let hash = req
        .cookie(session::COOKIE)
        .map(|c| crypto::sha256_hex(c.value()));
    let vouched = sso::proxy::vouched_email(&state.config, &req);
    let (users, found) = state
        .db
        .read(move |c| {
            let found = match hash {
                Some(h) => sessions::find(c, &h, clock::unix_now())?,
                None => None,
            };
            Ok((identity::count_users(c)?, found))
        })
        .await?;
    let mut answer = HttpResponse::Ok();
    let mut found = found.map(|(u, csrf)| (user_json(&u), u.email, csrf));
    if let Some(email) = vouched
        && found
            .as_ref()
            .is_none_or(|(_, e, _)| !e.eq_ignore_ascii_case(&email))
    {
        let settings = state.config.sso.clone();
        let admitted = state
            .db
            .write(move |c| sso::accounts::admit(c, &settings, &email))
            .await?;
        match admitted {
            Ok(user) => {
                let (token, csrf) = start_session(&state, user.id).await?;
                answer.cookie(session::cookie(token, secure(&state, &req)));
                found = Some((user_json(&user), user.email, csrf));
            }
            Err(why) => {
                tracing::warn!(code = why.code(), "refused a sign-in by the proxy's header");
                found = None;
            }
        }
    }
    let sso = state
        .oidc
        .as_ref()
        .map(|_| json!({ "name": state.config.sso.oidc_name, "start_url": SSO_START }));
    Ok(answer.json(json!({
        "needs_setup": users == 0,
        "setup_token_required": users == 0 && first_run::guarded(&state.config),
        "user": found.as_ref().map(|(u, _, _)| u.clone()),
        "csrf_token": found.map(|(_, _, csrf)| csrf),
        "password_login": state.config.sso.password_login,
        "sso": sso,
    })))
}

/// Where the UI's "Sign in with …" button goes.
const SSO_START: &str = "/api/auth/sso/start";

/// Starts a session for `user` and answers with the cookie set.
async fn begin(
    state: &State,
    req: &HttpRequest,
    user: User,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse> {
    let (token, csrf) = start_session(state, user.id).await?;
    Ok(HttpResponse::build(status)
        .cookie(session::cookie(token, secure(state, req)))
        .json(json!({ "user": user_json(&user), "csrf_token": csrf })))
}

/// Stores a new session for the user; returns its cookie value and CSRF token.
pub async fn start_session(state: &State, user_id: i64) -> Result<(String, String)> {
    let (token, csrf) = session::new_tokens();
    let hash = crypto::sha256_hex(&token);
    let expires = clock::unix_now() + session::LIFETIME_SECS;
    let stored_csrf = csrf.clone();
    state
        .db
        .write(move |c| {
            sessions::purge(c, clock::unix_now())?;
            sessions::create(c, &hash, user_id, &stored_csrf, expires)
        })
        .await?;
    Ok((token, csrf))
}

fn password(f: &Fields) -> Result<String> {
    let password = f.text("password", Some(MAX_PASSWORD), false)?.required()?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::invalid(
            "password",
            "invalid_input",
            format!("The password must have at least {MIN_PASSWORD} characters."),
        ));
    }
    Ok(password)
}

/// `POST auth/setup`: the first account, an admin; refused once any user exists, and on a
/// network address without the console's one-time token (`first_run`).
pub async fn setup(state: State, req: HttpRequest, body: JsonObject) -> Result<HttpResponse> {
    session::check_same_site(&state.config, &req)?;
    if !state.config.sso.password_login {
        return Err(Error::PermissionDenied(
            "Password sign-in is turned off on this server (--password-login false): the first \
             administrator signs in with single sign-on (an address in --oidc-admin-emails), or \
             is made with `burrow user create --admin`."
                .into(),
        ));
    }
    let body = body.object()?;
    let f = Fields::new(&body);
    let email = f.text("email", Some(EMAIL_MAX_CHARS), false)?.required()?;
    let password = password(&f)?;
    let (first_name, last_name) = names(&f)?;
    let token = f
        .text("setup_token", Some(first_run::TOKEN_MAX_CHARS), true)?
        .optional()?;
    // Checked before the costly password hash, and again (then spent) with the account.
    let (config, given) = (state.config.clone(), token.clone());
    state
        .db
        .read(move |c| first_run::check(c, &config, given.as_deref(), false))
        .await?;
    let config = state.config.clone();
    let password_hash = Some(
        state
            .throttle
            .hashing(move || crypto::hash_password(&password))
            .await??,
    );
    let user = state
        .db
        .write(move |c| {
            if identity::count_users(c)? > 0 {
                return Err(Error::PermissionDenied(
                    "Burrow already has an account; sign in instead.".into(),
                ));
            }
            first_run::check(c, &config, token.as_deref(), true)?;
            users::create_user(
                c,
                &NewUser {
                    email: &email,
                    password_hash,
                    first_name: &first_name,
                    last_name: &last_name,
                    admin: true,
                },
            )
        })
        .await?;
    begin(&state, &req, user, actix_web::http::StatusCode::CREATED).await
}

/// `POST auth/login`: email and password. Each try is counted before the password is
/// checked, per client and email and per client (see `Throttle`).
pub async fn login(state: State, req: HttpRequest, body: JsonObject) -> Result<HttpResponse> {
    session::check_same_site(&state.config, &req)?;
    if !state.config.sso.password_login {
        return Err(Error::PermissionDenied(
            "Password sign-in is turned off on this server (--password-login false); sign in with single sign-on.".into(),
        ));
    }
    let body = body.object()?;
    let f = Fields::new(&body);
    let email = f.text("email", Some(EMAIL_MAX_CHARS), false)?.required()?;
    let password = f.text("password", Some(MAX_PASSWORD), false)?.required()?;
    let attempt = state
        .throttle
        .reserve(client::client_addr(&state.config, &req), &email)?;
    let found = state
        .db
        .read(move |c| identity::credentials(c, &email))
        .await?;
    let gate = state.clone();
    let verified = match found {
        Some((user, Some(hash))) => {
            let check = move || crypto::verify_password(&password, &hash);
            gate.throttle.hashing(check).await?.then_some(user)
        }
        _ => {
            // Spend the same effort as a real check, so timing does not reveal accounts.
            let state = state.clone();
            let check = move || crypto::verify_password(&password, &state.throttle.dummy_hash());
            gate.throttle.hashing(check).await?;
            None
        }
    };
    match verified {
        Some(user) => {
            state.throttle.succeeded(attempt);
            begin(&state, &req, user, actix_web::http::StatusCode::OK).await
        }
        None => Err(Error::AuthenticationFailed(
            "Invalid email or password.".into(),
        )),
    }
}

/// `POST auth/logout`: ends the session on the server and clears the cookie.
pub async fn logout(state: State, _caller: Caller, req: HttpRequest) -> Result<HttpResponse> {
    if let Some(cookie) = req.cookie(session::COOKIE) {
        let hash = crypto::sha256_hex(cookie.value());
        state.db.write(move |c| sessions::delete(c, &hash)).await?;
    }
    Ok(HttpResponse::NoContent()
        .cookie(session::removal(secure(&state, &req)))
        .finish())
}
