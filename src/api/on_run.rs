//! What every handler of one run starts from: the state, the caller's access to the path's
//! project (checked before any body is read), the run the path names, and the request its
//! links are made absolute for.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use crate::auth::Access;
use crate::db::runs::{self as db_runs, Run};
use crate::error::{Error, Result};
use crate::state::AppState;

/// A call on `…/tasks/{task_id}/runs/{run_id}/…` with access `A` (`ReadAccess` or
/// `WriteAccess`) to its project.
pub struct OnRun<A> {
    pub state: web::Data<AppState>,
    pub access: A,
    pub req: HttpRequest,
}

impl<A> OnRun<A>
where
    A: Deref<Target = Access>,
{
    /// The run the path names, in the caller's project: (project, task, run).
    pub fn ids(&self) -> (i64, String, String) {
        let part = |name| self.req.match_info().get(name).unwrap_or("").to_string();
        (self.access.project.id, part("task_id"), part("run_id"))
    }

    /// The run the path names, in the caller's project, else 404.
    pub async fn run(&self) -> Result<Run> {
        let (project_id, task_id, run_id) = self.ids();
        self.state
            .db
            .read(move |c| db_runs::find(c, project_id, &task_id, &run_id))
            .await
    }

    /// A 200 with the run, its links made absolute for this request.
    pub fn ok(&self, mut run: Run) -> HttpResponse {
        self.state.links(&self.req).run(&mut run);
        HttpResponse::Ok().json(run)
    }
}

impl<A> FromRequest for OnRun<A>
where
    A: FromRequest<Error = Error> + 'static,
{
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let access = A::from_request(&req, payload);
        Box::pin(async move {
            let state = state.ok_or_else(|| Error::internal("no application state"))?;
            Ok(OnRun {
                state,
                access: access.await?,
                req,
            })
        })
    }
}
