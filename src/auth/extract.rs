//! The extractors handlers declare: `Caller` (any signed-in caller), `ReadAccess` and
//! `WriteAccess` (a project reached with `task:read` / `task:write`), and `Reader`, which
//! checks a read's credentials inside the handler's own database read: one round trip to a
//! blocking thread instead of two, on the hottest paths.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use rusqlite::Connection;

use super::{
    Caller, Presented, TASK_READ, TASK_WRITE, after_lookup, authenticate, lookup, presented,
};
use crate::db::identity::Project;
use crate::error::{Error, Result};
use crate::state::AppState;

type Boxed<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

impl FromRequest for Caller {
    type Error = Error;
    type Future = Boxed<Caller>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(authenticate(&req, None).await?.0) })
    }
}

/// A caller allowed to act on the project in the path (`{project_id}`).
#[derive(Debug, Clone)]
pub struct Access {
    pub caller: Caller,
    pub project: Project,
}

/// Checks the caller reaches the project in the path with `scope`.
pub async fn access(req: HttpRequest, scope: &'static str) -> Result<Access> {
    let reference = req.match_info().get("project_id").unwrap_or("").to_string();
    let (caller, project) = authenticate(&req, Some(reference)).await?;
    caller.require(scope)?;
    let project = project.ok_or(Error::NotFound)?;
    Ok(Access { caller, project })
}

/// Access to the path's project with the scope `S` names.
pub struct Scoped<S>(pub Access, PhantomData<S>);

/// A scope an extractor requires.
pub trait Scope: 'static {
    const NAME: &'static str;
}

pub struct Read;
pub struct Write;

impl Scope for Read {
    const NAME: &'static str = TASK_READ;
}

impl Scope for Write {
    const NAME: &'static str = TASK_WRITE;
}

/// Access to a project with `task:read`.
pub type ReadAccess = Scoped<Read>;
/// Access to a project with `task:write`.
pub type WriteAccess = Scoped<Write>;

impl<S> Deref for Scoped<S> {
    type Target = Access;
    fn deref(&self) -> &Access {
        &self.0
    }
}

impl<S: Scope> FromRequest for Scoped<S> {
    type Error = Error;
    type Future = Boxed<Scoped<S>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(Scoped(access(req, S::NAME).await?, PhantomData)) })
    }
}

/// A read whose credentials are checked together with the handler's query.
pub struct Reader {
    req: HttpRequest,
    presented: Presented,
    project_ref: String,
}

impl FromRequest for Reader {
    type Error = Error;
    type Future = std::future::Ready<Result<Reader>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(presented(req).map(|presented| Reader {
            req: req.clone(),
            presented,
            project_ref: req.match_info().get("project_id").unwrap_or("").to_string(),
        }))
    }
}

impl Reader {
    /// Checks the caller reaches the path's project with `task:read`, then runs `f`, all in
    /// one light read (see `Db::read_light`). Errors come in the same order as `ReadAccess`
    /// then the handler.
    pub async fn read<T, F>(self, state: &web::Data<AppState>, f: F) -> Result<(Access, T)>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Access) -> Result<T> + Send + 'static,
    {
        self.read_with(state, true, f).await
    }

    /// As `read`, for a query that may scan many rows: it always runs on a blocking thread.
    pub async fn read_heavy<T, F>(self, state: &web::Data<AppState>, f: F) -> Result<(Access, T)>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Access) -> Result<T> + Send + 'static,
    {
        self.read_with(state, false, f).await
    }

    async fn read_with<T, F>(
        self,
        state: &web::Data<AppState>,
        light: bool,
        f: F,
    ) -> Result<(Access, T)>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Access) -> Result<T> + Send + 'static,
    {
        let Reader {
            req,
            presented,
            project_ref,
        } = self;
        let read = move |conn: &Connection| {
            let (caller, project, csrf) = lookup(conn, presented, Some(&project_ref))?;
            caller.require(TASK_READ)?;
            let access = Access {
                caller,
                project: project.ok_or(Error::NotFound)?,
            };
            let out = f(conn, &access)?;
            Ok((access, csrf, out))
        };
        let (access, csrf, out) = if light {
            state.db.read_light(read).await?
        } else {
            state.db.read(read).await?
        };
        after_lookup(state, &req, &access.caller, csrf)?;
        Ok((access, out))
    }
}
