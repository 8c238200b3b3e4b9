//! Starting and stopping a process: database, migrations, HTTP server and workers, graceful exit.

use crate::app::{self, App, StartupError};
use crate::settings::Settings;
use application::ports::{Clock, SystemClock};
use application::{FirstAdmin, Shutdown, StopHandle};
use database::SeaStore;
use migrations::{Migrator, MigratorTrait};
use presentation::{HttpSettings, TrustedProxies};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Which parts a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HTTP server and in-process workers.
    Serve,
    /// Workers only.
    Worker,
}

/// A started process; [`Running::shutdown`] stops it gracefully.
pub struct Running {
    /// The HTTP address (the real port when configured with port 0); `None` for workers only.
    pub addr: Option<SocketAddr>,
    server: Option<Server>,
    stop: StopHandle,
    /// The dispatcher, the Telegram poller and the Discord gateway supervisor.
    workers: JoinSet<()>,
    /// Wakes the dispatcher on other replicas' enqueues; aborted at the end.
    job_listener: Option<tokio::task::JoinHandle<()>>,
    /// The event bus, for subscribers (tests, the web chat).
    pub events: std::sync::Arc<crate::events::EventBus>,
    fan_out: Option<app::FanOut>,
    metrics: Option<MetricsTasks>,
}

/// The HTTP server: its handle, and the signal that closes its open sockets.
struct Server {
    handle: actix_web::dev::ServerHandle,
    closing: presentation::Closing,
}

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, StartupError> {
    let database = &settings.database;
    database::connect_with_pool(database.url.expose_secret(), database.max_connections)
        .await
        .map_err(|e| StartupError::Database(e.into()))
}

/// The store on `db`, sealing platform credentials when `security.master_key` is set.
pub fn open_store(settings: &Settings, db: DatabaseConnection) -> Result<SeaStore, StartupError> {
    let sealer = settings
        .security
        .sealer()
        .map_err(|e| StartupError::Config(e.into()))?;
    Ok(SeaStore::new(db).sealed_with(sealer))
}

/// On a server nobody can sign in to yet (no admin key, no bootstrap key), logs the console's
/// URL with a one-time setup token, as Jupyter and Grafana do for a first login.
async fn offer_setup(
    first_admin: &FirstAdmin,
    settings: &Settings,
    addr: SocketAddr,
) -> Result<(), StartupError> {
    let token = first_admin.open().await;
    let Some(token) = token.map_err(|e| StartupError::Database(e.into()))? else {
        return Ok(());
    };
    let base = match &settings.server.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    };
    let console_url = format!("{base}/admin#setup={}", token.expose());
    tracing::warn!(
        %console_url,
        "no admin API key yet: open this URL within 24 hours to create the first one (the token works once)"
    );
    Ok(())
}

/// Said by `config check` and at start when `security.master_key` is unset.
pub const PLAIN_TEXT_WARNING: &str = "security.master_key is not set: platform credentials are \
    stored in plain text (generate a key with `openssl rand -base64 32`)";

pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), StartupError> {
    Migrator::up(db, None)
        .await
        .map_err(|e| StartupError::Migration(e.into()))
}

/// The configured store: connected, migrated unless `database.migrate_on_start` is off, and
/// sealing credentials when `security.master_key` is set.
pub async fn connect_store(settings: &Settings) -> Result<SeaStore, StartupError> {
    let db = connect(settings).await?;
    if settings.database.migrate_on_start {
        migrate_up(&db).await?;
    }
    open_store(settings, db)
}

/// Connects (and migrates, unless `database.migrate_on_start` is off) and starts `mode`.
pub async fn start(settings: &Settings, mode: Mode) -> Result<Running, StartupError> {
    start_with_clock(settings, mode, Arc::new(SystemClock)).await
}

/// [`start`], with the pipeline's and the admin's time read from `clock` (tests move it on).
pub async fn start_with_clock(
    settings: &Settings,
    mode: Mode,
    clock: Arc<dyn Clock>,
) -> Result<Running, StartupError> {
    if mode == Mode::Worker && settings.worker.concurrency == 0 {
        return Err(StartupError::Config(
            "worker.concurrency must be at least 1 for `switchboard worker`".into(),
        ));
    }
    let store = connect_store(settings).await?;
    if settings.security.master_key.is_none() {
        tracing::warn!("{PLAIN_TEXT_WARNING}");
    }
    let App {
        state,
        dispatcher,
        job_listener,
        events,
        fan_out,
        poller,
        gateways,
        metrics,
    } = app::build(settings, store, clock).await?;
    let metrics = serve_metrics(settings, metrics, mode)?;
    let (addr, server) = match mode {
        Mode::Worker => (None, None),
        Mode::Serve => {
            let listener =
                TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
            let addr = listener.local_addr()?;
            offer_setup(&state.first_admin, settings, addr).await?;
            let closing = state.closing.clone();
            let server = presentation::build_server(listener, state, http_settings(settings))?;
            let handle = server.handle();
            tokio::spawn(server);
            tracing::info!(%addr, "listening");
            (Some(addr), Some(Server { handle, closing }))
        }
    };
    // Workers start once the listener is bound, so a failed bind leaves no job claimed.
    let (stop, shutdown) = Shutdown::new();
    let mut workers = JoinSet::new();
    if let Some(dispatcher) = dispatcher {
        let shutdown = shutdown.clone();
        workers.spawn(async move { dispatcher.run(shutdown).await });
    }
    let job_listener = job_listener.map(tokio::spawn);
    let polling = shutdown.clone();
    workers.spawn(async move { poller.run(polling).await });
    if let Some(gateways) = gateways {
        workers.spawn(crate::gateway::supervise(gateways, shutdown));
    }
    Ok(Running {
        addr,
        server,
        stop,
        workers,
        job_listener,
        events,
        fan_out,
        metrics,
    })
}

/// The process's metrics: its role announced, histogram upkeep, and `/metrics` on
/// `metrics.listen` when set.
fn serve_metrics(
    settings: &Settings,
    metrics: Option<app::Metrics>,
    mode: Mode,
) -> Result<Option<MetricsTasks>, StartupError> {
    let Some(metrics) = metrics else {
        return Ok(None);
    };
    let role = match mode {
        Mode::Serve => "serve",
        Mode::Worker => "worker",
    };
    application::metrics::announce(env!("CARGO_PKG_VERSION"), COMMIT, role);
    let exposition = metrics.exposition.clone();
    let upkeep = tokio::spawn(async move {
        loop {
            tokio::time::sleep(prometheus::UPKEEP_EVERY).await;
            exposition.upkeep();
        }
    });
    let server = match settings.metrics.listen_addr() {
        Ok(Some(addr)) => {
            let listener = TcpListener::bind(addr)?;
            tracing::info!(addr = %listener.local_addr()?, "serving /metrics");
            let server = presentation::metrics_server(listener, metrics.scrape)?;
            let handle = server.handle();
            tokio::spawn(server);
            Some(handle)
        }
        Ok(None) => None,
        Err(error) => return Err(StartupError::Config(error.into())),
    };
    Ok(Some(MetricsTasks { upkeep, server }))
}

/// The build's commit, when the build set `SWITCHBOARD_COMMIT` (the Dockerfile does).
const COMMIT: &str = match option_env!("SWITCHBOARD_COMMIT") {
    Some(commit) => commit,
    None => "unknown",
};

/// What serving metrics runs besides the request handlers.
struct MetricsTasks {
    upkeep: tokio::task::JoinHandle<()>,
    server: Option<actix_web::dev::ServerHandle>,
}

impl Running {
    /// Lets the jobs in flight finish within the grace period (handing back what does not),
    /// then stops the HTTP server, letting in-flight requests finish. Workers go first: they
    /// claim nothing new once told to stop, and their last writes may use pooled connections
    /// that were opened on the HTTP server's runtimes, which stopping the server shuts down.
    pub async fn shutdown(mut self) {
        if let Some(server) = &self.server {
            server.closing.close();
        }
        self.stop.stop();
        while self.workers.join_next().await.is_some() {}
        if let Some(server) = self.server.take() {
            server.handle.stop(true).await;
        }
        self.stop_listeners().await;
        tracing::info!("stopped");
    }

    /// Stops a process abruptly, as a crash would: jobs keep their leases until they expire.
    pub async fn kill(mut self) {
        if let Some(server) = self.server.take() {
            server.handle.stop(false).await;
        }
        self.workers.abort_all();
        while self.workers.join_next().await.is_some() {}
        self.stop_listeners().await;
    }

    async fn stop_listeners(&mut self) {
        if let Some(metrics) = self.metrics.take() {
            metrics.upkeep.abort();
            if let Some(server) = metrics.server {
                server.stop(true).await;
            }
        }
        if let Some(listener) = &self.job_listener {
            listener.abort();
        }
        if let Some(fan_out) = &self.fan_out {
            fan_out.stop();
        }
    }
}

fn http_settings(settings: &Settings) -> HttpSettings {
    let server = &settings.server;
    HttpSettings {
        webhook_body_limit: server.webhook_body_limit,
        json_body_limit: server.json_body_limit,
        shutdown_timeout: Duration::from_secs(server.shutdown_grace_seconds),
        workers: None,
        body_read_timeout: Duration::from_millis(server.body_read_timeout_ms),
        max_connections: server.max_connections,
        max_webhook_bodies: server.max_webhook_bodies,
        // Checked when the settings were loaded.
        trusted_proxies: TrustedProxies(server.trusted_proxies().unwrap_or_default()),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[tokio::test]
    async fn a_worker_process_needs_at_least_one_worker() {
        let env = HashMap::from([(
            "SWITCHBOARD__WORKER__CONCURRENCY".to_owned(),
            "0".to_owned(),
        )]);
        let settings = Settings::load(None, &env).unwrap();
        let refused = start(&settings, Mode::Worker).await.err().unwrap();
        assert!(
            refused.to_string().contains("worker.concurrency"),
            "{refused}"
        );
    }
}
