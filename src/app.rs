//! The application state and THE route table: every URL the server answers is here.

use actix_web::{Resource, web};

use crate::api::{self, health, keys, projects, runs, tasks, users};
use crate::config::Config;
use crate::crypto::Signer;
use crate::db::Db;
use crate::events::Events;
use crate::ui;

/// What every handler can reach, shared through `web::Data`.
pub struct AppState {
    pub db: Db,
    pub config: Config,
    pub signer: Signer,
    pub events: Events,
}

/// A resource that answers other methods with a JSON 405.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(api::method_not_allowed))
}

/// The route table. Paths are matched after trailing slashes are trimmed, so each answers
/// with and without one.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/_health").get(health::health))
        .service(
            web::scope("/api")
                .service(resource("").get(api::root))
                .service(resource("/users/@me").get(users::me))
                .service(
                    resource("/personal_api_keys")
                        .get(keys::list)
                        .post(keys::create),
                )
                .service(resource("/personal_api_keys/{key_id}").delete(keys::revoke))
                .service(resource("/projects").get(projects::list))
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
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs")
                        .get(runs::list)
                        .post(runs::create),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs/{run_id}")
                        .get(runs::retrieve)
                        .patch(runs::update),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs/{run_id}/set_output")
                        .patch(runs::set_output),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs/{run_id}/append_log")
                        .post(runs::append_log),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs/{run_id}/logs")
                        .get(runs::log),
                )
                .service(
                    resource("/projects/{project_id}/tasks/{task_id}/runs/{run_id}/stream")
                        .get(runs::stream),
                )
                .default_service(web::to(api::not_found)),
        )
        .default_service(web::to(ui::serve));
}
