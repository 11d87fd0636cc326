//! Single sign-on in headless Chromium: the whole flow, every refusal, and the page without
//! a password form.

use super::*;

/// In headless Chromium: "Sign in with Test IdP", the provider's page, back signed in; and
/// a refused sign-in (a domain not allowed) lands on the sign-in page with the reason.
#[test]
fn browser_sign_in() {
    if !crate::ui::ready("sso::browser_sign_in") {
        return;
    }
    let Some(t) = sso("", &[]) else { return };
    let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    crate::ui::e2e(&t.server.base, &["sso", &t.provider.issuer]);
}

/// Every refusal, in the browser too: each ends on the sign-in page, not signed in, with
/// its code. Each case gets its own provider (the tampering ones re-sign its ID token).
#[test]
fn browser_refusals() {
    if !crate::ui::ready("sso::browser_refusals") {
        return;
    }
    // Each case: how the provider tampers with its ID token (- for not at all), how the
    // browser is refused, who signs in at the provider, and the refusal's code.
    let cases = [
        "- plain unverified@allowed.test sso_unverified_email",
        "- plain bob@other.test sso_domain",
        "nonce plain carol@allowed.test sso_nonce",
        "other-key plain carol@allowed.test sso_signature",
        "audience plain carol@allowed.test sso_audience",
        "expired plain carol@allowed.test sso_expired",
        "- state alice@allowed.test sso_state",
        "- replay alice@allowed.test sso_state",
        "- proxy-header alice@allowed.test -",
    ];
    for case in cases {
        let [tamper, how, login, code]: [&str; 4] =
            case.split(' ').collect::<Vec<_>>().try_into().unwrap();
        let tamper = tamper.trim_start_matches('-');
        let extra: &[&str] = match how {
            "proxy-header" => &["--auth-proxy-header", "X-Forwarded-Email"],
            _ => &[],
        };
        let Some(t) = sso(tamper, extra) else { return };
        let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let args = ["sso-refused", &t.provider.issuer, how, login, code];
        crate::ui::e2e(&t.server.base, &args);
    }
}

/// With --password-login false, the browser sees the SSO button and no password form.
#[test]
fn browser_without_password_form() {
    if !crate::ui::ready("sso::browser_without_password_form") {
        return;
    }
    let Some(t) = sso("", &["--password-login", "false"]) else {
        return;
    };
    let _one = crate::ui::BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    crate::ui::e2e(&t.server.base, &["sso-only", &t.provider.issuer]);
}
