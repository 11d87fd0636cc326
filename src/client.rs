//! Who is asking and where they reached us: a request's client address and the public base
//! of its links. Forwarding headers (`Forwarded`, `X-Forwarded-*`) count only when the TCP
//! peer is one of `--trusted-proxies`; from anyone else they are a client's say-so.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header;

use crate::config::Config;

fn trusted(config: &Config, ip: IpAddr) -> bool {
    config.trusted_proxies.iter().any(|c| c.contains(ip))
}

/// Whether the request came straight from a trusted proxy, so its forwarding headers count.
pub fn from_trusted_proxy(config: &Config, req: &HttpRequest) -> bool {
    !config.trusted_proxies.is_empty() && req.peer_addr().is_some_and(|p| trusted(config, p.ip()))
}

/// The address of the client behind the request: the TCP peer, or, when the peer is a
/// trusted proxy, the nearest untrusted address in its forwarding chain (read right to
/// left, since each proxy appends the address it saw and only the right end is ours).
pub fn client_addr(config: &Config, req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip().to_canonical();
    if !from_trusted_proxy(config, req) {
        return Some(peer);
    }
    let mut hops = forwarded_for(req);
    let mut client = peer;
    while let Some(hop) = hops.pop() {
        match hop {
            Some(ip) => {
                client = ip;
                if !trusted(config, ip) {
                    break;
                }
            }
            // An obfuscated or unknown hop: nothing left of it can be believed.
            None => break,
        }
    }
    Some(client)
}

/// The hops of `Forwarded: for=` or else `X-Forwarded-For`, left to right; `None` for a
/// hop that is not an address.
fn forwarded_for(req: &HttpRequest) -> Vec<Option<IpAddr>> {
    let values = |name| {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>()
    };
    let forwarded: Vec<&str> = values(header::FORWARDED)
        .into_iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.eq_ignore_ascii_case("for").then_some(v)
            })
        })
        .collect();
    let hops = if forwarded.is_empty() {
        values(header::X_FORWARDED_FOR)
    } else {
        forwarded
    };
    hops.into_iter().map(parse_hop).collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `"[::1]:80"` or `::1` as an address.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (ip, _port) = hop.rsplit_once(':')?;
    ip.parse().ok()
}

/// The host (with port) the client asked for: the trusted proxy's forwarded host, else the
/// `Host` header. `None` when none is given or it holds anything a host cannot.
pub fn request_host(config: &Config, req: &HttpRequest) -> Option<String> {
    let host = if from_trusted_proxy(config, req) {
        req.connection_info().host().to_string()
    } else {
        let given = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        given
            .or_else(|| req.uri().authority().map(|a| a.as_str()))?
            .to_string()
    };
    let fine = |c: char| c.is_ascii_alphanumeric() || ".-_:[]".contains(c);
    (!host.is_empty() && host.chars().all(fine)).then(|| host.to_ascii_lowercase())
}

/// The public base of links in the answer to this request, e.g. `https://burrow.example.com`:
/// `--public-url`, else the scheme and host the client reached us by (see `request_host`),
/// else the address the connection came in on. Work done outside a request (webhook and
/// runner payloads) never uses this: see `Runner::base_url`.
pub fn public_base(config: &Config, req: &HttpRequest) -> String {
    if let Some(url) = &config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    // Burrow speaks plain HTTP itself; only a trusted proxy can say the client used TLS.
    let scheme = if from_trusted_proxy(config, req) && req.connection_info().scheme() == "https" {
        "https"
    } else {
        "http"
    };
    match request_host(config, req) {
        Some(host) => format!("{scheme}://{host}"),
        None => format!("{scheme}://{}", req.app_config().local_addr()),
    }
}

/// `scheme://host[:port]` of a URL, lower-cased, without a default port.
pub fn origin_of(url: &str) -> String {
    let url = url.trim().to_ascii_lowercase();
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", &url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{}", without_default_port(scheme, authority))
}

/// The host of a `Host` value as an origin would carry it (no `:80` on http, no `:443` on https).
pub fn without_default_port<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let default = if scheme == "https" { ":443" } else { ":80" };
    authority.strip_suffix(default).unwrap_or(authority)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Cidr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn blocks_hold_their_addresses_only() {
        let c: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(c.contains(ip("10.1.200.3")));
        assert!(!c.contains(ip("10.2.0.1")));
        assert!(c.contains(ip("::ffff:10.1.0.9")));
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("8.8.8.8")) && !all.contains(ip("::2")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["10.0.0.0/33", "nope", "::/129", "1.2.3.4/"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hops_and_origins_parse() {
        assert_eq!(parse_hop("1.2.3.4"), Some(ip("1.2.3.4")));
        assert_eq!(parse_hop("1.2.3.4:80"), Some(ip("1.2.3.4")));
        assert_eq!(parse_hop("\"[::1]:80\""), Some(ip("::1")));
        assert_eq!(parse_hop("unknown"), None);
        assert_eq!(origin_of("HTTPS://B.example:443/x/"), "https://b.example");
        assert_eq!(origin_of("http://b:8000"), "http://b:8000");
    }
}
