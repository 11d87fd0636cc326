//! Burrow's integration tests as one crate, so the harness compiles and the test binary links
//! once: each module starts the real `burrow` binary through `harness::Server` and talks HTTP
//! to it. One module alone: `cargo test --test integration MODULE::`.

mod artifact_checks;
mod harness;

mod artifact_memory;
mod artifacts_direct;
mod artifacts_local;
mod artifacts_s3;
mod auth;
mod bad_input;
mod bad_queries;
mod cli;
mod concurrency;
mod crash;
mod data_privacy;
mod durability;
mod field_limits;
mod forwarding;
mod keys_api;
mod list_cache_isolation;
mod list_memory;
mod log_appends;
mod logs;
mod metrics_labels;
mod openapi;
mod operations;
mod readme;
mod routes;
mod run_access;
mod run_state;
mod runner_cancel;
mod runner_claim;
mod runner_command;
mod runner_secrets;
mod runner_stuck;
mod runner_webhook;
mod runs;
mod same_site;
mod sign_in;
mod smoke;
mod storage_check;
mod storage_gc;
mod stream;
mod stream_access;
mod tasks_lifecycle;
mod tasks_list;
mod tasks_update;
mod tasks_validation;
mod ui;
mod webhook_hosts;
mod webhook_storage;
mod webhooks;
