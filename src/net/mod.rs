//! Addresses as settings name them: address blocks (`--trusted-proxies`) and the hosts
//! project webhooks may reach (`--webhook-allowed-hosts`).

mod cidr;
pub mod hosts;

pub use cidr::Cidr;
