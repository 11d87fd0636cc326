//! Burrow: a self-hosted server for AI-agent tasks that speaks PostHog's Tasks API.
//!
//! Map of the crate. Dependencies point one way: `app` → `api` (parse, call, respond) →
//! domain (`runs`, `tasks`, `artifacts`, `auth`, `webhooks`, `logs`) → `db`.
//! - `config`: the command line and every setting; `cli`: the administrative commands.
//! - `client`: a request's client address and public base, honouring `--trusted-proxies`;
//!   `net`: address blocks and the hosts webhooks may reach; `links`: absolute and signed
//!   links.
//! - `server`: starts the HTTP server; `app`: the one route table; `state`: what handlers
//!   and background jobs share.
//! - `api/`: thin HTTP handlers, one file per resource; `ui`: the embedded browser UI.
//! - `first_run`: the one-time setup token that guards the first account on a network.
//! - `auth`: keys, sessions, scopes and project access; `session`: cookies, CSRF and
//!   same-site checks; `throttle`: sign-in throttling and the password hashing gate;
//!   `crypto`: hashes, tokens and signatures.
//! - `runs/`: the one home of a run: its statuses, field rules, lifecycle and operations.
//!   `tasks/`: the rules of a task's fields and its list pages; `answers`: what a person
//!   tells a run's agent (permission answers, follow-up messages); `fields`: DRF-style body
//!   validation.
//! - `artifacts/`: artifact rules and the object store (local folder or S3).
//! - `logs`: run logs on the wire (NDJSON, Server-Sent Events); `events`: change notices.
//! - `webhooks`: events out, put in an outbox; `background/`: the command runner, the ACP
//!   agent runner (`acp/`, its git workspaces and `burrow worker`), outbox delivery (and the
//!   webhook runner) and the stuck-run sweeper.
//! - `db/`: the SQLite file, its writer thread, and plain SQL per table group.
//! - `backup`, `export`: consistent copies, restore, and JSON Lines export/import.
//! - `llm_gateway`: model requests forwarded to `--llm-upstream` with the provider key,
//!   streamed back, and their tokens counted on the run and in `/metrics`.
//! - `metrics`: request counting for `/metrics`; `private`: the process not dumpable, the data
//!   folder and its secret files closed to other users.
//! - `error`: the one error type and its mapping to HTTP; `clock`: timestamps; `duration`:
//!   durations as settings take them.

pub mod answers;
pub mod api;
pub mod app;
pub mod artifacts;
pub mod auth;
pub mod background;
pub mod backup;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod duration;
pub mod error;
pub mod events;
pub mod export;
pub mod fields;
pub mod first_run;
pub mod links;
pub mod llm_gateway;
pub mod logs;
pub mod metrics;
pub mod net;
pub mod private;
pub mod runs;
pub mod server;
pub mod session;
pub mod setting_values;
pub mod state;
pub mod tasks;
pub mod throttle;
pub mod ui;
pub mod users;
pub mod webhooks;

use std::process::ExitCode;

use config::{Cli, Command};

/// Runs the command the user asked for and returns the process's exit code.
pub fn run(cli: Cli) -> ExitCode {
    // First, before any secret is read: the environment already holds some.
    private::not_dumpable();
    let config = cli.config;
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(server::serve(config)),
        Command::User(cmd) => cli::user(&config, cmd),
        Command::Project(cmd) => cli::project(&config, cmd),
        Command::Key(cmd) => cli::key(&config, cmd),
        Command::Integration(cmd) => cli::integration(&config, cmd),
        Command::Storage(cmd) => cli::storage(&config, cmd),
        Command::Gc { dry_run } => cli::gc(&config, dry_run),
        Command::Worker {
            server,
            key,
            projects,
        } => actix_web::rt::System::new()
            .block_on(background::worker::run(config, server, key.0, projects)),
        Command::Backup { file } => cli::backup(&config, &file),
        Command::Restore { file } => cli::restore(&config, &file),
        Command::Export {
            file,
            include_secrets,
            with_artifacts,
        } => cli::export(&config, file.as_deref(), include_secrets, with_artifacts),
        Command::Import { file } => cli::import(&config, &file),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::describe(&e));
            ExitCode::FAILURE
        }
    }
}
