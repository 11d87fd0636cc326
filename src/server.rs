//! Starting the HTTP server: open the database, bind, announce the address, serve until
//! SIGINT/SIGTERM (running commands are stopped and their runs settled, then actix finishes
//! in-flight requests).

use std::io::Write;
use std::net::TcpListener;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::api::BodyLimit;
use crate::app;
use crate::artifacts::Store;
use crate::background;
use crate::backup::ServerLock;
use crate::config::Config;
use crate::crypto::Signer;
use crate::db::{Db, identity};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::first_run;
use crate::llm_gateway::Gateway;
use crate::metrics::Metrics;
use crate::sso::Oidc;
use crate::state::{AppState, Runner};
use crate::throttle::Throttle;

pub async fn serve(config: Config) -> Result<()> {
    let _lock = ServerLock::take(&config.data_dir)?;
    let db = Db::open(&config.data_dir)?;
    let store = Store::from_config(&config)?;
    let signer = Signer::new(db.read(identity::signing_key).await?);
    let listener = TcpListener::bind(config.addr)
        .map_err(|e| Error::unexpected(format!("cannot listen on {}: {e}", config.addr)))?;
    let addr = listener.local_addr()?;
    let runner = Runner::new(&config, addr)?;
    // Shared as its own app data: the state (which `auth` reads) need not know it.
    let gateway = web::Data::new(Gateway::new(&config.llm)?);
    if !gateway.configured() {
        tracing::info!(
            "LLM gateway: no provider key (--llm-api-key or ANTHROPIC_API_KEY); it answers 503"
        );
    }
    crate::background::check(&config)?;
    let oidc = Oidc::from_config(&config)?;
    let json_limit = config.json_limit;
    let guard = config.clone();
    if let Some(token) = db.write(move |c| first_run::issue(c, &guard)).await? {
        let base = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{addr}"),
        };
        // Printed, never logged as a field: it is the one way in until the admin exists.
        println!(
            "burrow setup link (one-time, creates the first administrator): {}",
            first_run::link(&base, &token)
        );
    }
    tracing::info!(database = %db.path().display(), artifacts = ?store, "burrow {} listening on http://{addr}", env!("CARGO_PKG_VERSION"));
    // Tests and scripts read this line to learn the port when --addr ends in :0.
    println!("burrow listening on http://{addr}");
    std::io::stdout().flush()?;
    let state = web::Data::new(AppState {
        db,
        config,
        signer,
        events: Events::default(),
        store,
        throttle: Throttle::default(),
        metrics: Metrics::default(),
        pages: Default::default(),
        runner,
        oidc,
    });
    background::start(state.clone()).await?;
    let shared = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .app_data(gateway.clone())
            .app_data(BodyLimit(json_limit))
            .configure(|cfg| app::routes(cfg, &shared.config))
            .wrap(from_fn(app::trim_path))
            .wrap(from_fn(app::track_metrics))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        stop_signal().await;
        tracing::info!("stopping: finishing requests in flight, closing live streams");
        state.events.stop();
        // Commands first, while their API calls are still served.
        crate::background::stop(&state).await;
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// How long a graceful stop waits for requests in flight.
const SHUTDOWN_GRACE_SECS: u64 = 10;

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
