//! Work Burrow does away from any request. `acp/` runs coding agents (Agent Client Protocol)
//! on queued runs, as a client of Burrow's own HTTP API (`api_client`), in git workspaces
//! (`workspace`); `worker` is the same runner on another machine.

pub mod acp;
pub mod api_client;
pub mod git;
pub mod worker;
pub mod workspace;
