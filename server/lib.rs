//! Plugboard: a self-hosted socket playground on real kernel sockets.
//!
//! What lives where:
//! - [`config`]: flags and environment, defaults as named constants.
//! - [`sandbox`]: the domain — sessions, hosts, sockets, calls, events, kernel probes,
//!   isolation backends. Knows nothing of HTTP or SQL.
//! - [`export`]: a session's log as one program per host (C, Python, Rust); knows nothing of
//!   HTTP.
//! - [`store`]: sqlx — the pool, migrations, the event writer and queries.
//! - [`http`]: axum — router, error type, REST handlers, WebSocket, pages.
//! - [`listen`]: the HTTP listeners, kept off the loopback pool's ports.
//! - [`metrics`]: server figures in the Prometheus text format; it implements the sandbox's
//!   observer hooks, the sandbox does not know it.
//! - [`telemetry`]: logging setup.
//!
//! [`run`] wires them together and serves until told to shut down; [`start`] does the same
//! in the background and hands back a [`Running`] server, for tests and embedding.

pub mod cluster;
pub mod config;
pub mod exercise;
pub mod export;
pub mod http;
pub mod i18n;
pub mod listen;
pub mod metrics;
pub mod sandbox;
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use config::{Config, IsolationChoice};
use metrics::Metrics;
use sandbox::isolation::Isolation;
use sandbox::isolation::loopback::Loopback;
use sandbox::isolation::netns::Netns;
use sandbox::{Sandbox, SandboxConfig};
use store::Store;

/// How long in-flight requests get to finish once sessions have ended at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("isolation: {0}")]
    Isolation(String),
    #[error(transparent)]
    Catalog(#[from] exercise::catalog::CatalogError),
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// Pick the isolation backend the configuration asks for: `netns` insists, `auto` falls
/// back to loopback when namespaces cannot be made, `loopback` never tries.
pub fn isolation_backend(config: &Config) -> Result<Arc<dyn Isolation>, RunError> {
    match config.isolation {
        IsolationChoice::Netns => match Netns::new(config.netns_subnet) {
            Ok(netns) => Ok(Arc::new(netns)),
            Err(e) => Err(RunError::Isolation(format!(
                "--isolation netns needs root or CAP_SYS_ADMIN and CAP_NET_ADMIN to make \
                 network namespaces, and making one failed ({e}); run with the privilege or \
                 use --isolation loopback"
            ))),
        },
        IsolationChoice::Auto => match Netns::new(config.netns_subnet) {
            Ok(netns) => Ok(Arc::new(netns)),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "network namespaces are not available; falling back to loopback isolation"
                );
                Ok(Arc::new(Loopback::new(config.address_pool)))
            }
        },
        IsolationChoice::Loopback => Ok(Arc::new(Loopback::new(config.address_pool))),
    }
}

/// Serve on `listener` until `shutdown` resolves; then stop accepting, end every session
/// (closing every socket), let in-flight requests finish and flush the event log.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let isolation = isolation_backend(&config)?;
    let listener = listen::Listeners::serving(listener, isolation.mode(), config.address_pool)
        .map_err(|source| RunError::Listen {
            addr: config.listen,
            source,
        })?;
    let catalog = Arc::new(exercise::catalog::Catalog::embedded()?);
    let store = Store::connect(&config.database_url).await?;
    let changed = store.load_exercises(catalog.all()).await?;
    tracing::info!(
        exercises = catalog.len(),
        changed,
        "exercise catalog loaded"
    );
    // A cluster node joins under a new id at each start: what its previous run left live is
    // ended by the cluster once that run's lease runs out, and every other node's sessions
    // are none of its business.
    let cluster = match &config.cluster {
        Some(cluster) => Some(cluster::Cluster::join(cluster.clone(), store.clone()).await?),
        None => {
            let leftover = store
                .end_leftover_sessions(
                    0,
                    &i18n::Message::new(
                        "the server restarted while the session was live",
                        "会话进行期间服务器重启了",
                    ),
                )
                .await?;
            if leftover > 0 {
                tracing::info!(
                    sessions = leftover,
                    "marked sessions of the previous run as ended"
                );
            }
            None
        }
    };
    let metrics = Arc::new(Metrics::default());
    // Before the sandbox works out how many sessions the descriptors allow.
    let descriptors = sandbox::capacity::raise_descriptor_limit();
    if isolation.mode() == sandbox::IsolationMode::Netns {
        let capacity = sandbox::Capacity::of(
            config.limits.max_sessions,
            sandbox::IsolationMode::Netns,
            descriptors,
        );
        sandbox::capacity::raise_neighbour_limits(capacity.sessions);
    }
    let (records_tx, records_rx) = mpsc::channel(store::RECORD_QUEUE);
    let sandbox = Sandbox::new(
        SandboxConfig {
            limits: config.limits.clone(),
            ack_when_stored: config.ack_when_stored,
            log_tail: config.log_tail,
        },
        isolation,
        Some(records_tx),
        metrics.clone(),
    );
    let writer = store.spawn_writer(records_rx, metrics.clone()).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let lease = cluster.as_ref().map(|c| {
        sandbox.set_node(c.node());
        c.spawn_lease(sandbox.clone(), stop_rx.clone())
    });
    let state = http::AppState::new(
        sandbox.clone(),
        store.clone(),
        metrics,
        config.clone(),
        catalog,
        stop_rx.clone(),
        cluster.clone(),
    );
    let app = http::build_router(state.clone());
    let local = listener.local_addr().map_err(RunError::Serve)?;
    tracing::info!(
        addr = %local,
        isolation = %sandbox.isolation_mode(),
        database = %redact_url(&config.database_url),
        "plugboard serving"
    );
    let mut graceful = stop_rx.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<http::peer::Peer>(),
    )
    .with_graceful_shutdown(async move {
        graceful.wait_for(|stop| *stop).await.ok(/* sender kept until the end */);
    });
    let mut serving = tokio::spawn(async move { server.await });
    let failed = tokio::select! {
        () = shutdown => None,
        result = &mut serving => Some(result),
    };
    if failed.is_none() {
        drain(&state, &sandbox, config.drain_timeout).await;
    }
    // Sessions end first, so live subscribers see each end before the server closes them.
    tracing::info!("shutting down: ending sessions");
    sandbox.shutdown().await;
    stop_tx.send_replace(true);
    let served = match failed {
        Some(result) => result,
        None => match tokio::time::timeout(DRAIN_TIMEOUT, &mut serving).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!("requests still running after the drain timeout; dropped");
                serving.abort();
                Ok(Ok(()))
            }
        },
    };
    drop(sandbox);
    writer.finish().await;
    if let Some(lease) = lease {
        lease.await.ok(/* it stops on stop_tx */);
    }
    if let Some(cluster) = &cluster {
        cluster.leave().await;
    }
    tracing::info!("shut down");
    match served {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RunError::Serve(e)),
        Err(e) => Err(RunError::Serve(std::io::Error::other(e.to_string()))),
    }
}

/// Stop taking new sessions and wait up to `timeout` for the live ones to end, serving them
/// all the while (a cluster node tells the others at once, so new sessions go elsewhere).
async fn drain(state: &http::AppState, sandbox: &Sandbox, timeout: Duration) {
    if timeout.is_zero() {
        return;
    }
    state.drain();
    if let Some(cluster) = state.cluster() {
        cluster.announce(sandbox).await;
    }
    let live = sandbox.live_sessions();
    if live == 0 {
        return;
    }
    tracing::info!(
        sessions = live,
        timeout_secs = timeout.as_secs(),
        "draining: no new sessions; waiting for the live ones to end"
    );
    let deadline = tokio::time::Instant::now() + timeout;
    let mut every = tokio::time::interval(Duration::from_millis(200));
    while sandbox.live_sessions() > 0 && tokio::time::Instant::now() < deadline {
        every.tick().await;
    }
    let left = sandbox.live_sessions();
    if left > 0 {
        tracing::info!(
            sessions = left,
            "drain timeout: ending the sessions still live"
        );
    }
}

/// A database URL with any password taken out, for logs.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

/// A server running in the background.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Running {
    /// Shut down as on SIGTERM and wait for the end.
    pub async fn stop(mut self) -> Result<(), RunError> {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok(/* already stopping */);
        }
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(RunError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
}

/// Bind `config.listen` and run in the background.
pub async fn start(config: Config) -> Result<Running, RunError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| RunError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(RunError::Serve)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(config, listener, async move {
        stopped.await.ok(/* a dropped handle stops the server too */);
    }));
    Ok(Running {
        addr,
        stop: Some(stop),
        task,
    })
}
