//! The HTTP edge: the router, shared state, middleware (tracing, limits, timeouts, metrics,
//! security headers) and the handlers, which only translate between wire types and the
//! sandbox.

pub mod access;
pub mod api;
pub mod auth;
pub mod capture;
pub mod error;
pub mod exercises;
pub mod export;
mod health;
pub mod lang;
pub mod log;
pub mod openapi;
pub mod owner;
mod pages;
pub mod peer;
pub mod session_view;
pub mod wire;
pub mod ws;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cluster::Cluster;
use crate::config::Config;
use crate::exercise::catalog::Catalog;
use crate::metrics::Metrics;
use crate::sandbox::Sandbox;
use crate::store::Store;
use error::ApiError;

/// The page's Content-Security-Policy: nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

#[derive(Debug)]
struct AppInner {
    /// Live sessions.
    sandbox: Sandbox,
    /// The database.
    store: Store,
    /// Server figures.
    metrics: Arc<Metrics>,
    /// The configuration the server started with.
    config: Config,
    /// The exercises.
    catalog: Arc<Catalog>,
    /// Turns true when the server is shutting down (WebSockets close on it).
    stopping: watch::Receiver<bool>,
    /// When the server started.
    started: Instant,
    /// Session creations per client address.
    session_limiter: auth::RateLimiter,
    /// Calls per client address.
    call_limiter: auth::RateLimiter,
    /// The OpenAPI document, as served: built once, since it depends only on the
    /// configuration and the catalog.
    openapi: String,
    /// This node's part in a cluster, when it is in one.
    cluster: Option<Arc<Cluster>>,
    /// Set once the server is told to stop: it takes no new sessions and waits for its live
    /// ones to end (up to the drain timeout).
    draining: AtomicBool,
}

impl AppState {
    /// State for a server with these parts.
    pub fn new(
        sandbox: Sandbox,
        store: Store,
        metrics: Arc<Metrics>,
        config: Config,
        catalog: Arc<Catalog>,
        stopping: watch::Receiver<bool>,
        cluster: Option<Arc<Cluster>>,
    ) -> AppState {
        let per_minute = f64::from(config.sessions_per_minute);
        let per_second = f64::from(config.client_calls_per_second);
        let openapi = openapi::document(&config, &catalog).to_string();
        AppState {
            inner: Arc::new(AppInner {
                session_limiter: auth::RateLimiter::new(per_minute / 60.0, per_minute),
                call_limiter: auth::RateLimiter::new(per_second, per_second),
                sandbox,
                store,
                metrics,
                config,
                catalog,
                stopping,
                started: Instant::now(),
                openapi,
                cluster,
                draining: AtomicBool::new(false),
            }),
        }
    }

    /// Live sessions.
    pub fn sandbox(&self) -> &Sandbox {
        &self.inner.sandbox
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Server figures.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The exercises.
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// A receiver that turns true at shutdown.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.stopping.clone()
    }

    /// Limits session creation per client.
    pub fn session_limiter(&self) -> &auth::RateLimiter {
        &self.inner.session_limiter
    }

    /// Limits calls per client.
    pub fn call_limiter(&self) -> &auth::RateLimiter {
        &self.inner.call_limiter
    }

    /// The OpenAPI document, as JSON text.
    pub fn openapi(&self) -> &str {
        &self.inner.openapi
    }

    /// Time since start.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// This node's part in a cluster, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.inner.cluster.as_ref()
    }

    /// Take no new sessions from now on (the server is stopping).
    pub fn drain(&self) {
        self.inner.draining.store(true, Ordering::Relaxed);
        if let Some(cluster) = self.cluster() {
            cluster.drain();
        }
    }

    /// Whether the server takes no new sessions.
    pub fn draining(&self) -> bool {
        self.inner.draining.load(Ordering::Relaxed)
    }
}

/// The API's and operations' routes, each with its OpenAPI operation: the router and the
/// document are built from this one list, so neither can drift from the other.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::metrics))
        .routes(routes!(openapi::openapi_json))
        .routes(routes!(api::create_session))
        .routes(routes!(api::get_session, api::end_session))
        .routes(routes!(api::add_host))
        .routes(routes!(api::make_call))
        .routes(routes!(api::get_call))
        .routes(routes!(api::list_events))
        .routes(routes!(capture::capture_pcapng))
        .routes(routes!(export::export_session))
        .routes(routes!(ws::websocket))
        .routes(routes!(exercises::session_checks))
        .routes(routes!(exercises::grade_session))
        .routes(routes!(exercises::list_exercises))
        .routes(routes!(exercises::get_exercise))
        .routes(routes!(exercises::list_attempts))
}

/// Every route of [`api_routes`], as (method, path), read from its document.
pub fn routes() -> &'static [(&'static str, &'static str)] {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    static OWNED: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
        let doc = serde_json::to_value(api_routes().into_openapi()).unwrap_or_default();
        let mut routes = Vec::new();
        for (path, operations) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS.into_iter().filter(|m| operations.get(*m).is_some()) {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
        routes
    });
    static ROUTES: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        OWNED
            .iter()
            .map(|(m, p)| (m.as_str(), p.as_str()))
            .collect()
    });
    &ROUTES
}

/// The whole application's router.
pub fn build_router(state: AppState) -> Router {
    let config = state.config().clone();
    let router: Router<AppState> = api_routes().into();
    router
        .merge(pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost: a request another node answers is forwarded before any handler runs,
        // and is still counted, timed and traced here.
        .layer(middleware::from_fn_with_state(state.clone(), owner::route))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(middleware::from_fn_with_state(
            config.request_timeout,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        // Outside the timeout, so even its 408 is in the request's language.
        .layer(middleware::from_fn(lang::in_request_language))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The span of a request: method and path, never the query, which may hold a token
/// (`?token=` of a WebSocket), and never headers.
fn request_span(request: &Request) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
    )
}

async fn not_found(request: Request) -> ApiError {
    let (method, path) = (request.method(), request.uri().path());
    ApiError::NotFound(error::Message::new(
        format!("no route for {method} {path}"),
        format!("没有 {method} {path} 这个路由"),
    ))
}

async fn method_not_allowed(request: Request) -> Response {
    let (method, path) = (request.method(), request.uri().path());
    let message = error::Message::new(
        format!("{method} is not allowed on {path}"),
        format!("{path} 不允许 {method}"),
    );
    let mut response = ApiError::bad(message).into_response();
    *response.status_mut() = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    response
}

/// Count every response by matched route and status.
async fn count_responses(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state
        .metrics()
        .count_http(&route, response.status().as_u16());
    response
}

/// Answer 408 in the common error shape when a request takes longer than allowed. WebSocket
/// upgrades are answered at once, so the connection that follows is not cut.
async fn request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}
