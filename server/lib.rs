//! Plugboard: a self-hosted socket playground on real kernel sockets.
//!
//! What lives where:
//! - [`config`]: flags and environment, defaults as named constants.
//! - [`sandbox`]: the domain — sessions, hosts, sockets, calls, events, kernel probes,
//!   isolation backends. Knows nothing of HTTP or SQL.
//! - [`store`]: sqlx — the pool, migrations, the event writer and queries.
//! - [`http`]: axum — router, error type, REST handlers, WebSocket, pages.
//! - [`metrics`]: server figures in the Prometheus text format.
//!
//! [`run`] wires them together and serves until told to shut down.

pub mod config;
pub mod metrics;
pub mod sandbox;
