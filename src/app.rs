//! The application state and THE route table: every URL the server answers is here.

use actix_web::{Resource, web};

use crate::api::{
    self, artifacts, health, hooks, keys, metrics, projects, runner, runs, schema, session, tasks,
    uploads, users,
};
use crate::artifacts::Store;
use crate::config::Config;
use crate::crypto::Signer;
use crate::db::Db;
use crate::events::Events;
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::session::Throttle;
use crate::ui;

/// What every handler can reach, shared through `web::Data`.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub signer: Signer,
    pub events: Events,
    pub store: Store,
    pub throttle: Throttle,
    pub metrics: Metrics,
    pub runner: Runner,
}

/// A resource that answers other methods with a JSON 405.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(api::method_not_allowed))
}

/// The route table. Paths are matched after trailing slashes are trimmed, so each answers
/// with and without one.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    // Inline artifacts travel base64-encoded inside JSON: allow for that on their route.
    let artifact_body = (config.artifact_max_bytes as usize)
        .saturating_mul(4)
        .saturating_div(3)
        .saturating_add(1 << 20)
        .max(config.json_limit);
    let run = |tail: &str| {
        resource(&format!(
            "/projects/{{project_id}}/tasks/{{task_id}}/runs/{{run_id}}{tail}"
        ))
    };
    cfg.service(resource("/_health").get(health::health))
        .service(resource("/metrics").get(metrics::metrics))
        .service(
            web::scope("/api")
                .service(resource("").get(api::root))
                .service(resource("/schema").get(schema::schema))
                .service(resource("/auth/state").get(session::current))
                .service(resource("/auth/setup").post(session::setup))
                .service(resource("/auth/login").post(session::login))
                .service(resource("/auth/logout").post(session::logout))
                .service(resource("/users").get(users::list).post(users::create))
                .service(resource("/users/@me").get(users::me))
                .service(
                    resource("/personal_api_keys")
                        .get(keys::list)
                        .post(keys::create),
                )
                .service(resource("/personal_api_keys/{key_id}").delete(keys::revoke))
                .service(
                    resource("/projects")
                        .get(projects::list)
                        .post(projects::create),
                )
                .service(resource("/projects/{project_id}").get(projects::retrieve))
                .service(
                    resource("/projects/{project_id}/integrations").get(projects::integrations),
                )
                .service(
                    resource("/projects/{project_id}/tasks")
                        .get(tasks::list)
                        .post(tasks::create),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}")
                        .get(tasks::retrieve)
                        .patch(tasks::update)
                        .put(tasks::update)
                        .delete(tasks::delete),
                )
                .service(resource("/projects/{project_id}/tasks/{task_id}/run").post(tasks::run))
                .service(resource("/projects/{project_id}/runs/claim").post(runner::claim))
                .service(
                    resource("/projects/{project_id}/webhooks")
                        .get(hooks::list)
                        .post(hooks::create),
                )
                .service(
                    resource("/projects/{project_id}/webhooks/{webhook_id}")
                        .get(hooks::retrieve)
                        .delete(hooks::delete),
                )
                .service(
                    resource("/projects/{project_id}/webhooks/{webhook_id}/deliveries")
                        .get(hooks::deliveries_of),
                )
                .service(
                    resource("/projects/{project_id}/webhook_deliveries").get(hooks::deliveries),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs")
                        .get(runs::list)
                        .post(runs::create),
                )
                .service(run("").get(runs::retrieve).patch(runs::update))
                .service(run("/set_output").patch(runs::set_output))
                .service(run("/append_log").post(runs::append_log))
                .service(run("/logs").get(runs::log))
                .service(run("/stream").get(runs::stream))
                .service(run("/cancel").post(runner::cancel))
                .service(
                    run("/artifacts")
                        .app_data(web::PayloadConfig::new(artifact_body))
                        .post(artifacts::upload),
                )
                .service(run("/artifacts/presign").post(artifacts::presign))
                .service(run("/artifacts/download").post(artifacts::download))
                .service(run("/artifacts/prepare_upload").post(uploads::prepare_upload))
                .service(run("/artifacts/finalize_upload").post(uploads::finalize_upload))
                .service(resource("/artifact_uploads").post(uploads::receive_upload))
                .service(resource("/artifact_downloads").get(artifacts::signed_download))
                .default_service(web::to(api::not_found)),
        )
        .default_service(web::to(ui::serve));
}
