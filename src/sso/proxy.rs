//! Sign-in by an authenticating proxy (oauth2-proxy, Authelia): the proxy has signed the
//! browser in and names its email in `--auth-proxy-header`. The header counts only when the
//! TCP peer is one of `--trusted-proxies`; from anyone else it is a client's say-so, ignored
//! and logged.

use actix_web::HttpRequest;

use crate::client;
use crate::config::Config;

/// The email a trusted proxy vouches for on this request, if any.
pub fn vouched_email(config: &Config, req: &HttpRequest) -> Option<String> {
    let name = config.sso.auth_proxy_header.as_deref()?;
    let value = req.headers().get(name)?;
    if !client::from_trusted_proxy(config, req) {
        tracing::warn!(
            peer = ?req.peer_addr().map(|p| p.ip()),
            header = name,
            "ignored a sign-in header from a peer that is not in --trusted-proxies"
        );
        return None;
    }
    let email = value.to_str().ok()?.trim();
    (!email.is_empty()).then(|| email.to_string())
}
