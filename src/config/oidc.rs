//! Single sign-on settings: an OpenID Connect provider, whether passwords still sign in, and
//! the header an authenticating proxy (oauth2-proxy, Authelia) names the signed-in user by.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

use super::Secret;
use crate::setting_values;

#[derive(Debug, Clone, Args)]
pub struct Sso {
    /// OpenID Connect issuer URL for single sign-on, e.g. https://accounts.example.com (default: no single sign-on)
    #[arg(long, env = "BURROW_OIDC_ISSUER", value_parser = setting_values::oidc_issuer)]
    pub oidc_issuer: Option<String>,

    /// Client ID Burrow is registered under at the OpenID provider (default: none)
    #[arg(long, env = "BURROW_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,

    /// Client secret Burrow is registered with at the OpenID provider (default: none)
    #[arg(long, env = "BURROW_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<Secret>,

    /// Email domains whose users may sign in by single sign-on (or the proxy header), comma-separated (default: any verified email)
    #[arg(long, env = "BURROW_OIDC_ALLOWED_DOMAINS", value_delimiter = ',')]
    pub oidc_allowed_domains: Vec<String>,

    /// Emails that become administrators when single sign-on (or the proxy header) creates their account, comma-separated (default: none)
    #[arg(long, env = "BURROW_OIDC_ADMIN_EMAILS", value_delimiter = ',')]
    pub oidc_admin_emails: Vec<String>,

    /// Name of the single sign-on button: "Sign in with <name>"
    #[arg(long, env = "BURROW_OIDC_NAME", default_value = "SSO")]
    pub oidc_name: String,

    /// Whether users may sign in with a password; off hides the password form and refuses password sign-in
    #[arg(long, env = "BURROW_PASSWORD_LOGIN", default_value_t = true, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub password_login: bool,

    /// Header by which a trusted authenticating proxy names the signed-in user's email, e.g. X-Forwarded-Email; believed only from --trusted-proxies (default: none)
    #[arg(long, env = "BURROW_AUTH_PROXY_HEADER", value_parser = setting_values::header_name)]
    pub auth_proxy_header: Option<String>,
}
