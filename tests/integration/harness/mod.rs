//! The test harness: starts the real `burrow` binary on 127.0.0.1:0 with a temporary data
//! folder, and talks HTTP to it. `server` starts and stops it, `fixtures` gives a server with
//! a key, a task or a run in one line, `requests` sends and checks, `command_line` runs the
//! admin commands and `database` reads its SQLite file; `watchdog` keeps any test from
//! hanging the suite; the other files serve one group of tests each.

pub mod acp;
pub mod anthropic;
pub mod bad;
pub mod command_line;
pub mod database;
pub mod fixtures;
pub mod node;
pub mod openapi;
pub mod posthog;
pub mod requests;
pub mod runner;
pub mod runs;
pub mod server;
pub mod sse;
pub mod stores;
pub mod watchdog;

pub use command_line::{cli, cli_env, cli_ok};
pub use fixtures::task_body;
pub use requests::{
    assert_error, assert_invalid, assert_not_found, expect_json, is_timestamp, results,
};
pub use server::{BIN, Builder, Server, free_port};
