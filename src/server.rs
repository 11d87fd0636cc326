//! Starting the HTTP server: open the database, bind, announce the address, serve until
//! SIGINT/SIGTERM (actix finishes in-flight requests first).

use std::io::Write;
use std::net::TcpListener;

use actix_web::middleware::{NormalizePath, TrailingSlash};
use actix_web::{App, HttpServer, web};

use crate::app::{self, AppState};
use crate::artifacts::Store;
use crate::config::Config;
use crate::crypto::Signer;
use crate::db::{Db, identity};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::runner::{self, Runner};
use crate::session::Throttle;

pub async fn serve(config: Config) -> Result<()> {
    let db = Db::open(&config.data_dir)?;
    let store = Store::from_config(&config)?;
    let signer = Signer::new(db.read(identity::signing_key).await?);
    let listener = TcpListener::bind(config.addr)
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", config.addr)))?;
    let addr = listener.local_addr()?;
    let runner = Runner::new(&config, addr)?;
    let json_limit = config.json_limit;
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
        runner,
    });
    runner::start(state.clone()).await?;
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(json_limit))
            .configure(|cfg| app::routes(cfg, &state.config))
            .wrap(NormalizePath::new(TrailingSlash::Trim))
    })
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}
