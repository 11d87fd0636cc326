//! The resolver project webhooks are sent through: it resolves the host itself and hands
//! the HTTP client only the addresses `--webhook-allowed-hosts` allows, so the client
//! connects to exactly what was checked and DNS rebinding cannot slip in between.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::net::hosts::AllowedHosts;

/// The refusal a delivery records: nothing about the host's addresses or ports, so the
/// delivery log cannot be used to map an inside network.
pub const REFUSED: &str = "Refused: the webhook's host is not allowed by the server's \
    --webhook-allowed-hosts; nothing was sent.";

/// Every address of a host was refused.
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REFUSED)
    }
}

impl std::error::Error for Refused {}

/// Whether an error (or one of its causes) is a refusal.
pub fn is_refusal(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<Refused>() {
            return true;
        }
        next = err.source();
    }
    false
}

pub struct Guard(pub Arc<AllowedHosts>);

impl Resolve for Guard {
    /// A host listed by name keeps all its addresses; any other keeps those allowed by a
    /// class, CIDR or `*` entry, and is refused when none is left.
    fn resolve(&self, name: Name) -> Resolving {
        let allowed = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let trusted = allowed.allows_name(&host);
            let kept: Vec<SocketAddr> = found
                .filter(|a| trusted || allowed.allows_ip(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
