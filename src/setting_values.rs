//! Checks for the settings whose values clap cannot check alone, run while the command line
//! is parsed: a mistake stops every command at start-up with one line naming the setting,
//! rather than surfacing later as a panic, a 413 on every request or a folder named `ftp:`.

use reqwest::Url;

/// The smallest `--json-limit`: below it even signing in or creating a task is refused.
pub const JSON_LIMIT_MIN: usize = 1024;

/// An absolute `http://` or `https://` URL with a host, and no query or fragment.
fn web_url(value: &str) -> Result<String, String> {
    let url = Url::parse(value).map_err(|e| format!("not an absolute URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL may not have a query or fragment".into());
    }
    Ok(value.to_string())
}

/// `--public-url`: e.g. `https://burrow.example.com` or `http://10.0.0.5:8000/burrow`.
pub fn public_url(value: &str) -> Result<String, String> {
    web_url(value).map(|v| v.trim_end_matches('/').to_string())
}

/// `--s3-endpoint`: e.g. `http://minio:9000` or `https://ACCOUNT.r2.cloudflarestorage.com`.
pub fn s3_endpoint(value: &str) -> Result<String, String> {
    web_url(value).map(|v| v.trim_end_matches('/').to_string())
}

/// `--llm-upstream`: e.g. `https://api.anthropic.com` or `http://127.0.0.1:4000/anthropic`.
pub fn llm_upstream(value: &str) -> Result<String, String> {
    web_url(value).map(|v| v.trim_end_matches('/').to_string())
}

/// A count of at least one (of commands, agents, attempts).
pub fn at_least_one(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{value:?} is not a whole number of at least 1")),
    }
}

/// `--json-limit`: bytes, at least `JSON_LIMIT_MIN`.
pub fn json_limit(value: &str) -> Result<usize, String> {
    let n: usize = value
        .trim()
        .parse()
        .map_err(|_| "a number of bytes is needed".to_string())?;
    if n < JSON_LIMIT_MIN {
        return Err(format!(
            "at least {JSON_LIMIT_MIN} bytes, or no JSON request (signing in included) fits"
        ));
    }
    Ok(n)
}

/// `--artifacts`: a folder, or `s3://BUCKET[/PREFIX]`. Any other `scheme://` is refused
/// rather than taken for a folder name.
pub fn artifacts(value: &str) -> Result<String, String> {
    if let Some(rest) = value.strip_prefix("s3://") {
        let bucket = rest.split('/').next().unwrap_or("");
        if bucket.is_empty() {
            return Err("s3://BUCKET/PREFIX needs a bucket name".into());
        }
        return Ok(value.to_string());
    }
    if value.trim().is_empty() {
        return Err("a folder or s3://BUCKET/PREFIX is needed".into());
    }
    if let Some((scheme, _)) = value.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!(
            "{scheme}:// is not a store Burrow knows: give a folder or s3://BUCKET/PREFIX"
        ));
    }
    Ok(value.to_string())
}

/// `--oidc-issuer`: the provider's issuer exactly as its ID tokens name it (so not trimmed).
pub fn oidc_issuer(value: &str) -> Result<String, String> {
    web_url(value)
}

/// `--auth-proxy-header`: a valid HTTP header name, e.g. `X-Forwarded-Email`.
pub fn header_name(value: &str) -> Result<String, String> {
    actix_web::http::header::HeaderName::from_bytes(value.trim().as_bytes())
        .map(|h| h.as_str().to_string())
        .map_err(|_| "not a valid HTTP header name".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_stores_are_told_apart_from_mistakes() {
        assert!(public_url("notaurl").is_err());
        assert!(public_url("ftp://x").is_err());
        assert_eq!(
            public_url("https://b.example/").unwrap(),
            "https://b.example"
        );
        assert!(s3_endpoint("not-a-url").is_err());
        assert_eq!(
            s3_endpoint("http://minio:9000/").unwrap(),
            "http://minio:9000"
        );
        assert!(artifacts("ftp://x/y").is_err());
        assert!(artifacts("s3:///p").is_err());
        assert!(artifacts("/var/lib/burrow/artifacts").is_ok());
        assert!(json_limit("0").is_err());
        assert_eq!(json_limit("1024").unwrap(), 1024);
    }
}
