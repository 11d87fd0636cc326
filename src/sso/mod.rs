//! Single sign-on: the OpenID Connect authorization-code flow (PKCE, `state`, `nonce`, the ID
//! token checked by the `openidconnect` crate), sign-in by a trusted authenticating proxy's
//! header (`proxy`), and who may come in that way (`accounts`).

pub mod accounts;
mod http;
mod pending;
pub mod proxy;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndUserEmail,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};

use crate::config::Config;
use crate::crypto;
use crate::error::{Error, Result};
use http::Http;
pub use pending::LIFETIME as PENDING_LIFETIME;

/// The path the provider sends browsers back to, under `--public-url`: the redirect URI to
/// register at the provider.
pub const CALLBACK_PATH: &str = "/api/auth/sso/callback";
/// How long discovered provider metadata (endpoints, signing keys) is reused.
const METADATA_TTL: Duration = Duration::from_secs(300);
/// How long a failed discovery is remembered: sign-ins meanwhile are refused at once
/// instead of each waiting on a provider that is down.
const FAILURE_TTL: Duration = Duration::from_secs(10);
/// How old cached keys must be before an ID token signed by an unknown key makes Burrow
/// fetch them again (the provider may have rotated its keys): at most once per interval.
const REFRESH_AFTER: Duration = Duration::from_secs(2);

/// Why a single sign-on was refused. The code goes back to the page; the detail to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No sign-in in flight for this browser, or the `state` does not match it.
    State,
    /// The provider said no, or could not be reached or understood.
    Provider,
    /// The code was refused at the token endpoint (used before, or not ours).
    Exchange,
    Signature,
    Issuer,
    Audience,
    Expired,
    Nonce,
    /// Any other fault of the ID token.
    Token,
    Unverified,
    Domain,
    /// The first account of a Burrow is its administrator: not made by single sign-on unless
    /// listed in `--oidc-admin-emails`.
    FirstAccount,
}

impl Refusal {
    /// Every code, for the API document's enum.
    pub const ALL: [Refusal; 12] = [
        Refusal::State,
        Refusal::Provider,
        Refusal::Exchange,
        Refusal::Signature,
        Refusal::Issuer,
        Refusal::Audience,
        Refusal::Expired,
        Refusal::Nonce,
        Refusal::Token,
        Refusal::Unverified,
        Refusal::Domain,
        Refusal::FirstAccount,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Refusal::State => "sso_state",
            Refusal::Provider => "sso_provider",
            Refusal::Exchange => "sso_code",
            Refusal::Signature => "sso_signature",
            Refusal::Issuer => "sso_issuer",
            Refusal::Audience => "sso_audience",
            Refusal::Expired => "sso_expired",
            Refusal::Nonce => "sso_nonce",
            Refusal::Token => "sso_token",
            Refusal::Unverified => "sso_unverified_email",
            Refusal::Domain => "sso_domain",
            Refusal::FirstAccount => "sso_first_account",
        }
    }

    fn from_claims(e: &ClaimsVerificationError) -> Refusal {
        match e {
            ClaimsVerificationError::SignatureVerification(_) => Refusal::Signature,
            ClaimsVerificationError::InvalidIssuer(_) => Refusal::Issuer,
            ClaimsVerificationError::InvalidAudience(_) => Refusal::Audience,
            ClaimsVerificationError::Expired(_) => Refusal::Expired,
            ClaimsVerificationError::InvalidNonce(_) => Refusal::Nonce,
            _ => Refusal::Token,
        }
    }
}

/// A refusal and what the log should say about it.
#[derive(Debug)]
pub struct Refused {
    pub why: Refusal,
    pub detail: String,
}

fn refused(why: Refusal, detail: impl std::fmt::Display) -> Refused {
    Refused {
        why,
        detail: detail.to_string(),
    }
}

/// The OpenID side of single sign-on, present when `--oidc-issuer` is set.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    http: Http,
    metadata: Mutex<Option<(Instant, Discovered)>>,
    pending: pending::Table,
}

/// What the last discovery found: the metadata, or why it failed.
type Discovered = std::result::Result<Arc<CoreProviderMetadata>, String>;

/// A client made from discovered metadata, with the redirect URI set.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Where to send the browser, and the cookie that binds the sign-in to it.
pub struct Started {
    pub url: String,
    pub cookie: String,
}

impl Oidc {
    /// The OpenID settings, checked: all of issuer, client ID, client secret and
    /// `--public-url` (the redirect URI's base), or none of the first three.
    pub fn from_config(config: &Config) -> Result<Option<Oidc>> {
        let s = &config.sso;
        let given = [
            s.oidc_issuer.is_some(),
            s.oidc_client_id.is_some(),
            s.oidc_client_secret.is_some(),
        ];
        if given.iter().all(|g| !g) {
            return Ok(None);
        }
        let (Some(issuer), Some(id), Some(secret)) =
            (&s.oidc_issuer, &s.oidc_client_id, &s.oidc_client_secret)
        else {
            return Err(Error::unexpected(
                "single sign-on needs all of --oidc-issuer, --oidc-client-id and --oidc-client-secret"
                    .into(),
            ));
        };
        let Some(public) = &config.public_url else {
            return Err(Error::unexpected(
                "single sign-on needs --public-url, the base of the redirect URI registered at the provider"
                    .into(),
            ));
        };
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Error::unexpected(format!("--{what} is not usable: {e}"))
        };
        let issuer = IssuerUrl::new(issuer.clone()).map_err(|e| bad("oidc-issuer", &e))?;
        let redirect = RedirectUrl::new(format!("{public}{CALLBACK_PATH}"))
            .map_err(|e| bad("public-url", &e))?;
        let http = Http::new().map_err(|e| Error::caused("the OpenID HTTP client", e))?;
        Ok(Some(Oidc {
            issuer,
            client_id: ClientId::new(id.clone()),
            client_secret: ClientSecret::new(secret.0.clone()),
            redirect,
            http,
            metadata: Mutex::new(None),
            pending: pending::Table::default(),
        }))
    }

    /// The provider's metadata and keys, discovered from its
    /// `/.well-known/openid-configuration` and reused for `METADATA_TTL` (a failure for
    /// `FAILURE_TTL`); with `older_than`, discovered again if the cached copy is older.
    async fn metadata(
        &self,
        older_than: Option<Duration>,
    ) -> std::result::Result<Arc<CoreProviderMetadata>, Refused> {
        let cached = self
            .metadata
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let failed = |why: &str| refused(Refusal::Provider, format!("discovery failed: {why}"));
        match cached {
            Some((at, Ok(m))) if at.elapsed() < older_than.unwrap_or(METADATA_TTL) => {
                return Ok(m);
            }
            Some((at, Err(why))) if at.elapsed() < FAILURE_TTL => return Err(failed(&why)),
            _ => {}
        }
        let found = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map(Arc::new)
            .map_err(|e| e.to_string());
        *self.metadata.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), found.clone()));
        found.map_err(|why| failed(&why))
    }

    /// A client of the provider as `metadata` describes it.
    fn client(&self, metadata: &CoreProviderMetadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Starts a sign-in: the provider's authorization URL, with a fresh `state`, `nonce`
    /// and PKCE challenge kept for the callback under the returned cookie.
    pub async fn start(&self) -> Result<std::result::Result<Started, Refused>> {
        let metadata = match self.metadata(None).await {
            Ok(m) => m,
            Err(r) => return Ok(Err(r)),
        };
        let client = self.client(&metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let cookie = self.pending.insert(
            state.secret().clone(),
            nonce.secret().clone(),
            verifier.secret().clone(),
        )?;
        Ok(Ok(Started {
            url: url.to_string(),
            cookie,
        }))
    }

    /// Ends the browser's sign-in in flight, if any, when the provider refused it.
    pub fn abandon(&self, cookie: Option<&str>) {
        if let Some(c) = cookie {
            self.pending.take(c);
        }
    }

    /// Finishes a sign-in: the browser's cookie must hold a sign-in in flight whose `state`
    /// matches; the code is exchanged with its PKCE verifier, and the ID token's signature,
    /// issuer, audience, expiry and nonce are checked. Returns the verified email.
    pub async fn finish(
        &self,
        cookie: Option<&str>,
        code: &str,
        state: &str,
    ) -> std::result::Result<String, Refused> {
        let pending = cookie
            .and_then(|c| self.pending.take(c))
            .ok_or_else(|| refused(Refusal::State, "no sign-in in flight for this browser"))?;
        if !crypto::constant_time_eq(pending.state.as_bytes(), state.as_bytes()) {
            return Err(refused(Refusal::State, "the state does not match"));
        }
        let metadata = self.metadata(None).await?;
        let mut client = self.client(&metadata);
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| refused(Refusal::Provider, e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| refused(Refusal::Exchange, format!("{e:?}")))?;
        let id_token = token
            .id_token()
            .ok_or_else(|| refused(Refusal::Token, "the provider sent no ID token"))?;
        let nonce = Nonce::new(pending.nonce);
        let verified = id_token.claims(&client.id_token_verifier(), &nonce);
        let claims: &CoreIdTokenClaims = match verified {
            Ok(claims) => claims,
            // Signed by a key Burrow's cached copy lacks: the provider may have rotated its
            // keys since. Fetch them again (if the copy is not brand new) and check once more.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                client = self.client(&*self.metadata(Some(REFRESH_AFTER)).await?);
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| refused(Refusal::from_claims(&e), e))?
            }
            Err(e) => return Err(refused(Refusal::from_claims(&e), e)),
        };
        if claims.email().is_some() {
            return verified_email(claims.email(), claims.email_verified());
        }
        // Some providers give the email at the userinfo endpoint only (OpenID Connect Core
        // 5.4): ask there, for the subject the checked ID token names.
        let info: CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(claims.subject().clone()))
            .map_err(|e| refused(Refusal::Unverified, format!("no email and {e}")))?
            .request_async(&self.http)
            .await
            .map_err(|e| refused(Refusal::Provider, format!("userinfo: {e}")))?;
        verified_email(info.email(), info.email_verified())
    }
}

/// The email, if the provider says it is verified.
fn verified_email(
    email: Option<&EndUserEmail>,
    verified: Option<bool>,
) -> std::result::Result<String, Refused> {
    let email = email
        .map(|e| e.as_str().trim().to_string())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| refused(Refusal::Unverified, "the provider gave no email"))?;
    if verified != Some(true) {
        return Err(refused(
            Refusal::Unverified,
            format!("the provider has not verified {email}"),
        ));
    }
    Ok(email)
}
