//! Where project webhooks may be sent (`--webhook-allowed-hosts`), after Gitea's
//! `webhook.ALLOWED_HOST_LIST`: address classes, CIDRs, host names and globs. Checked on
//! the URL when a webhook is made and on the resolved addresses when it is delivered.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, for the class entries of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Loopback,
    /// RFC 1918, CGNAT (100.64/10) and unique-local IPv6 (fc00::/7): intranets.
    Private,
    /// Publicly routable unicast.
    External,
    /// Link-local (cloud metadata lives here), multicast, unspecified, broadcast, reserved
    /// and documentation ranges: only `*` or a CIDR admits them.
    Special,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Any,
    Class(Class),
    Net {
        addr: IpAddr,
        prefix: u8,
    },
    /// A lower-case host name; `*` and `?` match as in a shell glob.
    Name(String),
}

/// The parsed setting: a webhook may go where any entry allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<Entry>);

impl AllowedHosts {
    /// Parses `external,10.0.0.0/8,*.example.com,…` (the clap value parser).
    pub fn parse(text: &str) -> Result<AllowedHosts, String> {
        let mut entries = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let item = item.to_ascii_lowercase();
            entries.push(match item.as_str() {
                "*" => Entry::Any,
                "loopback" => Entry::Class(Class::Loopback),
                "private" => Entry::Class(Class::Private),
                "external" => Entry::Class(Class::External),
                _ => entry(&item)?,
            });
        }
        if entries.is_empty() {
            return Err("list at least one entry (`*` allows every host)".into());
        }
        Ok(AllowedHosts(entries))
    }

    /// Whether a host name matches one of the name entries. A name entry trusts that name
    /// whatever it resolves to, as in Gitea: the operator vouches for it and its DNS.
    pub fn allows_name(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|e| match e {
            Entry::Any => true,
            Entry::Name(pattern) => glob(pattern.as_bytes(), host.as_bytes()),
            _ => false,
        })
    }

    /// Whether an address is allowed by a class, CIDR or `*` entry.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let class = class(ip);
        self.0.iter().any(|e| match e {
            Entry::Any => true,
            Entry::Class(c) => *c == class,
            Entry::Net { addr, prefix } => within(ip, *addr, *prefix),
            Entry::Name(_) => false,
        })
    }

    /// Whether some address could be allowed, so that a name not listed by name may still
    /// be tried: its addresses are checked when it is delivered.
    pub fn admits_addresses(&self) -> bool {
        self.0.iter().any(|e| !matches!(e, Entry::Name(_)))
    }

    /// The check when a webhook is made: a literal address must be allowed; a name must be
    /// listed, or the list must admit some addresses (its own are checked at delivery).
    pub fn allows_url(&self, url: &reqwest::Url) -> bool {
        match literal(url) {
            Some(ip) => self.allows_ip(ip),
            None => url
                .host_str()
                .is_some_and(|name| self.allows_name(name) || self.admits_addresses()),
        }
    }
}

/// The address a URL names literally. The URL parser has already turned the other ways of
/// writing IPv4 (`2130706433`, `0x7f.1`) into dotted form, and IPv6 into brackets.
pub fn literal(url: &reqwest::Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn entry(item: &str) -> Result<Entry, String> {
    if let Some((addr, prefix)) = item.split_once('/') {
        let bad = || format!("`{item}` is not a CIDR (like 10.0.0.0/8 or fd00::/8)");
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad());
        }
        // A mapped network (::ffff:10.0.0.0/104) compares as the IPv4 one it stands for.
        return Ok(match canonical(addr) {
            IpAddr::V4(v4) if addr.is_ipv6() => Entry::Net {
                addr: IpAddr::V4(v4),
                prefix: prefix.saturating_sub(96),
            },
            addr => Entry::Net { addr, prefix },
        });
    }
    let bare = item.trim_start_matches('[').trim_end_matches(']');
    if let Ok(addr) = bare.parse::<IpAddr>() {
        let addr = canonical(addr);
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Ok(Entry::Net { addr, prefix });
    }
    let valid = item
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'*' | b'?'));
    if !valid {
        return Err(format!(
            "`{item}` is not loopback, private, external, *, a CIDR, a host name or a glob"
        ));
    }
    Ok(Entry::Name(item.trim_end_matches('.').to_string()))
}

/// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn within(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn class(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => class_v4(v4),
        IpAddr::V6(v6) => class_v6(v6),
    }
}

fn class_v4(ip: Ipv4Addr) -> Class {
    let n = |a: [u8; 4], prefix: u8| within(IpAddr::V4(ip), IpAddr::V4(a.into()), prefix);
    if n([127, 0, 0, 0], 8) {
        Class::Loopback
    } else if n([10, 0, 0, 0], 8)
        || n([172, 16, 0, 0], 12)
        || n([192, 168, 0, 0], 16)
        || n([100, 64, 0, 0], 10)
    {
        Class::Private
    } else if n([0, 0, 0, 0], 8)           // "this network", 0.0.0.0 included
        || n([169, 254, 0, 0], 16)         // link-local, cloud metadata
        || n([192, 0, 0, 0], 24)           // IETF protocol assignments
        || n([192, 0, 2, 0], 24)           // documentation
        || n([198, 18, 0, 0], 15)          // benchmarking
        || n([198, 51, 100, 0], 24)        // documentation
        || n([203, 0, 113, 0], 24)         // documentation
        || n([224, 0, 0, 0], 4)            // multicast
        || n([240, 0, 0, 0], 4)
    // reserved, broadcast included
    {
        Class::Special
    } else {
        Class::External
    }
}

fn class_v6(ip: Ipv6Addr) -> Class {
    let bits = u128::from(ip);
    let n = |net: u128, prefix: u32| bits >> (128 - prefix) == net >> (128 - prefix);
    // Forms that carry an IPv4 address the packet ends up at: judged as that address.
    let embedded = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    if ip == Ipv6Addr::LOCALHOST {
        Class::Loopback
    } else if n(0x0064_ff9b << 96, 96) {
        class_v4(embedded(0)) // NAT64
    } else if n(0x2002 << 112, 16) {
        class_v4(embedded(80)) // 6to4
    } else if n(0xfc00 << 112, 7) || n(0xfec0 << 112, 10) {
        Class::Private // unique-local, and the deprecated site-local
    } else if n(0x2001_0db8 << 96, 32) || n(0x2001 << 112, 23) || !n(0x2 << 124, 3) {
        // Documentation, IETF protocol assignments (Teredo among them) and everything
        // outside global unicast: unspecified, IPv4-compatible, link-local, multicast.
        Class::Special
    } else {
        Class::External
    }
}

/// Shell-style glob on bytes: `*` any run (dots included, as in Gitea), `?` one byte.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(list: &str, ip: &str) -> bool {
        AllowedHosts::parse(list)
            .unwrap()
            .allows_ip(ip.parse().unwrap())
    }

    #[test]
    fn external_refuses_every_inward_address() {
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(!allows("external", ip), "{ip}");
        }
        for ip in ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111"] {
            assert!(allows("external", ip), "{ip}");
        }
    }

    #[test]
    fn classes_cidrs_and_star_admit_what_they_name() {
        assert!(allows("loopback", "127.0.0.1"));
        assert!(allows("loopback", "::1"));
        assert!(allows("loopback", "::ffff:127.0.0.1"));
        assert!(!allows("loopback", "10.0.0.1"));
        assert!(allows("private", "10.0.0.1"));
        assert!(allows("private", "fd12::1"));
        assert!(!allows("private", "169.254.169.254"));
        assert!(allows("10.1.0.0/16", "10.1.2.3"));
        assert!(!allows("10.1.0.0/16", "10.2.0.1"));
        assert!(allows("10.1.0.0/16", "::ffff:10.1.2.3"));
        assert!(allows("fd00::/8", "fd00::5"));
        assert!(allows("192.168.1.5", "192.168.1.5"));
        assert!(allows("*", "169.254.169.254"));
        assert!(!allows("example.com", "93.184.216.34"));
    }

    #[test]
    fn names_and_globs_match_host_names() {
        let list = AllowedHosts::parse("ci.internal, *.example.com").unwrap();
        assert!(list.allows_name("ci.internal"));
        assert!(list.allows_name("CI.Internal."));
        assert!(list.allows_name("a.b.example.com"));
        assert!(!list.allows_name("example.com"));
        assert!(!list.allows_name("evil.com"));
        assert!(!list.admits_addresses());
        assert!(AllowedHosts::parse("external").unwrap().admits_addresses());
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(AllowedHosts::parse("").is_err());
        assert!(AllowedHosts::parse("10.0.0.0/33").is_err());
        assert!(AllowedHosts::parse("http://x").is_err());
        assert!(AllowedHosts::parse("ci.internal:8080").is_err());
    }
}
