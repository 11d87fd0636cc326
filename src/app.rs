//! THE route table: every URL the server answers is here, and the middleware that sees
//! every request (path trimming, request metrics).

use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{AppService, HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::middleware::Next;
use std::time::Instant;

use actix_web::{App, FromRequest, Handler, Resource, Responder, web};

use crate::api::BodyLimit;
use crate::api::{
    self, agent, artifacts, health, hooks, ingest, keys, llm_gateway, metrics, projects, runner,
    runs, schema, session, sso, tasks, uploads, users,
};
use crate::config::Config;
use crate::metrics::Route;
use crate::state::AppState;
use crate::ui;

/// The route table as registered: each pattern (its scope included) with the methods it
/// answers, in order. Tests read the routes from here rather than from this file's text.
pub type RouteList = Vec<(String, Vec<Method>)>;

/// A resource that answers other methods with a JSON 405, labelled for the metrics with its
/// full pattern (`prefix` is the scope it is mounted in), and noted in `list`.
fn resource_in(list: &Rc<RefCell<RouteList>>, prefix: &str, path: &str) -> Entry {
    let pattern = format!("{prefix}{path}");
    list.borrow_mut().push((pattern.clone(), Vec::new()));
    Entry {
        resource: web::resource(path)
            .app_data(Route(pattern))
            .default_service(web::to(api::method_not_allowed)),
        list: list.clone(),
        at: list.borrow().len() - 1,
    }
}

/// A resource of the route table that notes each method it is given in the route list.
struct Entry {
    resource: Resource,
    list: Rc<RefCell<RouteList>>,
    at: usize,
}

impl Entry {
    fn on(mut self, method: Method, route: actix_web::Route) -> Entry {
        self.list.borrow_mut()[self.at].1.push(method);
        self.resource = self.resource.route(route);
        self
    }

    fn get<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::GET, web::get().to(f))
    }

    fn head<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::HEAD, web::head().to(f))
    }

    fn post<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::POST, web::post().to(f))
    }

    fn put<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::PUT, web::put().to(f))
    }

    fn patch<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::PATCH, web::patch().to(f))
    }

    fn delete<F: Handler<A>, A: FromRequest + 'static>(self, f: F) -> Entry
    where
        F::Output: Responder + 'static,
    {
        self.on(Method::DELETE, web::delete().to(f))
    }

    fn app_data<U: 'static>(mut self, data: U) -> Entry {
        self.resource = self.resource.app_data(data);
        self
    }
}

impl HttpServiceFactory for Entry {
    fn register(self, config: &mut AppService) {
        self.resource.register(config)
    }
}

/// The route table's routes, read from the table itself (for the tests that hold the
/// OpenAPI document to it).
pub fn route_list(config: &Config) -> RouteList {
    let list = Rc::new(RefCell::new(Vec::new()));
    let _app = App::new().configure(|cfg| table(cfg, config, &list));
    list.take()
}

/// The route table. Paths are matched after trailing slashes are trimmed, so each answers
/// with and without one.
pub fn routes(cfg: &mut web::ServiceConfig, config: &Config) {
    table(cfg, config, &Rc::default());
}

fn table(cfg: &mut web::ServiceConfig, config: &Config, list: &Rc<RefCell<RouteList>>) {
    let resource = |path: &str| resource_in(list, "", path);
    // Inline artifacts travel base64-encoded inside JSON: allow for that on their route.
    let artifact_body = (config.artifact_max_bytes as usize)
        .saturating_mul(4)
        .saturating_div(3)
        .saturating_add(1 << 20)
        .max(config.json_limit);
    let api_resource = |path: &str| resource_in(list, "/api", path);
    let run = |tail: &str| {
        api_resource(&format!(
            "/projects/{{project_id}}/tasks/{{task_id}}/runs/{{run_id}}{tail}"
        ))
    };
    cfg.service(resource("/_health").get(health::health))
        .service(resource("/metrics").get(metrics::metrics))
        .service(
            web::scope("/api")
                // The busiest routes first: actix tries each pattern in turn and runs a
                // regular expression for every one with a {parameter} it passes over.
                .service(run("/append_log").post(runs::append_log))
                .service(
                    api_resource("/projects/{project_id}/tasks/{task_id}")
                        .get(tasks::retrieve)
                        .patch(tasks::update)
                        .put(tasks::update)
                        .delete(tasks::delete),
                )
                .service(
                    api_resource("/projects/{project_id}/tasks")
                        .get(tasks::list)
                        .post(tasks::create),
                )
                .service(run("").get(runs::retrieve).patch(runs::update))
                .service(
                    api_resource("/projects/{project_id}/tasks/{task_id}/runs")
                        .get(runs::list)
                        .post(runs::create),
                )
                .service(api_resource("").get(api::root))
                .service(api_resource("/schema").get(schema::schema))
                .service(api_resource("/auth/state").get(session::current))
                .service(api_resource("/auth/setup").post(session::setup))
                .service(api_resource("/auth/login").post(session::login))
                .service(api_resource("/auth/logout").post(session::logout))
                .service(api_resource("/auth/sso/start").get(sso::start))
                .service(api_resource("/auth/sso/callback").get(sso::callback))
                .service(api_resource("/users").get(users::list).post(users::create))
                .service(api_resource("/users/@me").get(users::me))
                .service(
                    api_resource("/personal_api_keys")
                        .get(keys::list)
                        .post(keys::create),
                )
                .service(api_resource("/personal_api_keys/{key_id}").delete(keys::revoke))
                .service(
                    api_resource("/projects")
                        .get(projects::list)
                        .post(projects::create),
                )
                .service(api_resource("/projects/{project_id}").get(projects::retrieve))
                .service(
                    api_resource("/projects/{project_id}/integrations").get(projects::integrations),
                )
                .service(
                    api_resource("/projects/{project_id}/tasks/{task_id}/run").post(tasks::run),
                )
                .service(api_resource("/projects/{project_id}/runs/claim").post(runner::claim))
                .service(
                    api_resource("/projects/{project_id}/webhooks")
                        .get(hooks::list)
                        .post(hooks::create),
                )
                .service(
                    api_resource("/projects/{project_id}/webhooks/{webhook_id}")
                        .get(hooks::retrieve)
                        .delete(hooks::delete),
                )
                .service(
                    api_resource("/projects/{project_id}/webhooks/{webhook_id}/deliveries")
                        .get(hooks::deliveries_of),
                )
                .service(
                    api_resource("/projects/{project_id}/webhook_deliveries")
                        .get(hooks::deliveries),
                )
                .service(run("/set_output").patch(runs::set_output))
                .service(run("/logs").get(runs::log))
                .service(run("/stream").get(runs::stream))
                .service(run("/cancel").post(runner::cancel))
                .service(run("/permission").post(agent::permission))
                .service(run("/message").post(agent::message))
                .service(run("/relay_message").post(ingest::relay_message))
                .service(run("/event_stream").post(ingest::event_stream))
                .service(
                    run("/artifacts")
                        .app_data(BodyLimit(artifact_body))
                        .post(artifacts::upload),
                )
                .service(run("/artifacts/presign").post(artifacts::presign))
                .service(run("/artifacts/download").post(artifacts::download))
                .service(run("/artifacts/prepare_upload").post(uploads::prepare_upload))
                .service(run("/artifacts/finalize_upload").post(uploads::finalize_upload))
                .service(api_resource("/artifact_uploads").post(uploads::receive_upload))
                .service(api_resource("/artifact_downloads").get(artifacts::signed_download))
                // Under `llm_gateway::BASE_PATH`, which the runners hand their agents.
                .service(
                    api_resource("/llm_gateway/{product}/v1/messages").post(llm_gateway::messages),
                )
                .service(api_resource("/llm_gateway/{product}/v1/models").get(llm_gateway::models))
                .service(api_resource("/llm_gateway/{product}/api/hello").head(llm_gateway::hello))
                .default_service(web::to(api::not_found)),
        )
        .default_service(web::to(ui::serve));
}

/// Middleware: trims trailing slashes and merges repeated ones (`/api/tasks//` →
/// `/api/tasks`) before routing, as actix's `NormalizePath::trim` does, without running a
/// regular expression on every request's path.
pub async fn trim_path(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = normalized(req.path()) {
        let mut parts = req.head().uri.clone().into_parts();
        let with_query = match parts.path_and_query.as_ref().and_then(|pq| pq.query()) {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        if let Ok(pq) = PathAndQuery::from_maybe_shared(with_query)
            && let Ok(uri) = {
                parts.path_and_query = Some(pq);
                Uri::from_parts(parts)
            }
        {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await
}

/// Middleware: times every request and counts it under its route pattern.
pub async fn track_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let res = next.call(req).await?;
    if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
        state.metrics.observe(
            res.request().app_data::<Route>(),
            res.request().method().as_str(),
            res.status().as_u16(),
            started.elapsed(),
        );
    }
    Ok(res)
}

/// The path with trailing slashes trimmed and runs of slashes merged; `None` when it is
/// already so (the common case, which allocates nothing).
fn normalized(path: &str) -> Option<String> {
    if path.is_empty() || !(path.ends_with('/') && path != "/" || path.contains("//")) {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    while out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::normalized;

    #[test]
    fn paths_lose_trailing_and_repeated_slashes() {
        assert_eq!(normalized("/api/projects/1/tasks"), None);
        assert_eq!(normalized("/"), None);
        assert_eq!(normalized(""), None);
        assert_eq!(
            normalized("/api/projects/1/tasks/").as_deref(),
            Some("/api/projects/1/tasks")
        );
        assert_eq!(
            normalized("/api//projects///1/").as_deref(),
            Some("/api/projects/1")
        );
        assert_eq!(normalized("//").as_deref(), Some("/"));
        assert_eq!(normalized("/a//").as_deref(), Some("/a"));
    }
}
