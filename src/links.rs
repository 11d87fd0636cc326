//! Absolute links: the public base URL (configured, or from the request's Host for that
//! request's own answer) and the signed, expiring `log_url` of every run.

use actix_web::HttpRequest;

use crate::client;
use crate::clock;
use crate::config::Config;
use crate::crypto::Signer;
use crate::db::runs::{LogLinks, Run};
use crate::db::tasks::Task;

/// How long a signed link stays valid.
pub const LINK_TTL_SECS: i64 = 3600;

#[derive(Clone)]
pub struct Links {
    base: String,
    signer: Signer,
}

impl Links {
    /// Links on a fixed base URL, for work done outside a request (runners, webhooks).
    pub fn fixed(base: &str, signer: &Signer) -> Links {
        Links {
            base: base.trim_end_matches('/').to_string(),
            signer: signer.clone(),
        }
    }

    /// Links for the answer to this request only (see `client::public_base`): a request's
    /// Host must never reach links sent elsewhere, such as webhook payloads.
    pub fn for_request(config: &Config, signer: &Signer, req: &HttpRequest) -> Links {
        Links {
            base: client::public_base(config, req),
            signer: signer.clone(),
        }
    }

    pub fn absolute(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// The purpose a run's log token is bound to.
    pub fn log_purpose(run_id: &str) -> String {
        format!("log:{run_id}")
    }

    /// Fills in the run's `log_url`: its log, readable for an hour without credentials.
    pub fn run(&self, run: &mut Run) {
        let mut url = String::with_capacity(self.base.len() + 200);
        let _ = self.write_log_url(&mut url, run.project_id, &run.task, &run.id);
        run.log_url = url;
    }

    pub fn task(&self, task: &mut Task) {
        if let Some(run) = task.latest_run.as_mut() {
            self.run(run);
        }
    }
}

impl LogLinks for Links {
    fn write_log_url(
        &self,
        out: &mut dyn std::fmt::Write,
        project_id: i64,
        task_id: &str,
        run_id: &str,
    ) -> std::fmt::Result {
        write!(
            out,
            "{}/api/projects/{project_id}/tasks/{task_id}/runs/{run_id}/logs?token=",
            self.base
        )?;
        // The token's purpose is `log_purpose(run_id)`, fed to the signature in parts.
        self.signer
            .write_token(out, &["log:", run_id], clock::unix_now() + LINK_TTL_SECS)
    }
}
