//! What a test server is started with, as typed values: [`ServerBuilder`] holds them, each a
//! flag of `plugboard serve` (see `server/config.rs`), declared once in `server_options!` with
//! the flag it maps to, so a setter, a field and a flag cannot drift apart. The same builder
//! starts a server in the test process ([`super::app::TestApp::builder`]) or the real binary
//! ([`super::binary::Binary::builder`]); what it starts is its type parameter.

use std::marker::PhantomData;
use std::path::Path;

/// How a test server keeps sessions apart (`--isolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Each host an address of a loopback pool of the test's own.
    #[default]
    Loopback,
    /// Each host its own network namespace (root only).
    Netns,
    /// Netns where this process may, loopback otherwise.
    Auto,
}

impl Isolation {
    /// The word `--isolation` takes, and the page and `/healthz` show.
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Loopback => "loopback",
            Isolation::Netns => "netns",
            Isolation::Auto => "auto",
        }
    }
}

/// Calls per second that no test reaches: for tests about something else than rate limits.
pub const UNTHROTTLED: u32 = 1_000_000;

/// A server to be started, of kind `T` (a `TestApp` or a `Binary`).
#[derive(Debug)]
#[must_use = "a builder does nothing until started"]
pub struct ServerBuilder<T> {
    pub(crate) options: ServerOptions,
    kind: PhantomData<fn() -> T>,
}

impl<T> Default for ServerBuilder<T> {
    fn default() -> Self {
        ServerBuilder {
            options: ServerOptions::default(),
            kind: PhantomData,
        }
    }
}

/// Declares the options that map one to one to a flag and take a number or a boolean: the
/// field, its setter and its flag.
macro_rules! server_options {
    ($($(#[$doc:meta])* $field:ident: $ty:ty => $flag:literal,)*) => {
        /// The settings of a test server; an unset one keeps the server's default.
        #[derive(Debug, Clone, Default)]
        pub struct ServerOptions {
            pub isolation: Isolation,
            /// `--database-url`; a SQLite file in a fresh directory when `None`.
            pub database: Option<String>,
            /// `--address-pool`; a fresh private /24 when `None`.
            pub address_pool: Option<String>,
            /// `--admin-token`.
            pub admin_token: Option<String>,
            $($(#[$doc])* pub $field: Option<$ty>,)*
        }

        impl ServerOptions {
            /// The flags (after `plugboard serve`) these options stand for; `--listen` is the
            /// starter's business.
            pub fn args(&self) -> Vec<String> {
                let mut args = vec!["--isolation".to_owned(), self.isolation.as_str().to_owned()];
                for (flag, text) in [
                    ("--database-url", &self.database),
                    ("--address-pool", &self.address_pool),
                    ("--admin-token", &self.admin_token),
                ] {
                    if let Some(text) = text {
                        args.extend([flag.to_owned(), text.clone()]);
                    }
                }
                $(if let Some(value) = &self.$field {
                    args.push(concat!("--", $flag).to_owned());
                    args.push(value.to_string());
                })*
                args
            }
        }

        impl<T> ServerBuilder<T> {
            $($(#[$doc])* pub fn $field(mut self, value: $ty) -> Self {
                self.options.$field = Some(value);
                self
            })*
        }
    };
}

server_options! {
    /// `--log-tail`: events of a live session kept in memory.
    log_tail: usize => "log-tail",
    /// `--capture`: whether packets are captured (netns).
    capture: bool => "capture",
    /// `--max-sessions`.
    max_sessions: usize => "max-sessions",
    /// `--max-sockets`.
    max_sockets: usize => "max-sockets",
    /// `--max-events`.
    max_events: usize => "max-events",
    /// `--max-body-bytes`.
    max_body_bytes: usize => "max-body-bytes",
    /// `--subscriber-lag`.
    subscriber_lag: usize => "subscriber-lag",
    /// `--max-calls-per-second`.
    max_calls_per_second: u32 => "max-calls-per-second",
    /// `--client-calls-per-second`.
    client_calls_per_second: u32 => "client-calls-per-second",
    /// `--sessions-per-minute`.
    sessions_per_minute: u32 => "sessions-per-minute",
}

impl<T> ServerBuilder<T> {
    /// `--isolation`.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.options.isolation = isolation;
        self
    }

    /// `--address-pool`: a pool shared with another server (a fresh private /24 otherwise).
    pub fn address_pool(mut self, pool: &str) -> Self {
        self.options.address_pool = Some(pool.to_owned());
        self
    }

    /// `--admin-token`.
    pub fn admin_token(mut self, token: &str) -> Self {
        self.options.admin_token = Some(token.to_owned());
        self
    }

    /// `--database-url`: a database file that outlives the server.
    pub fn database(mut self, path: &Path) -> Self {
        self.options.database = Some(sqlite_url(path));
        self
    }

    /// `--database-url`: a database that outlives the server, on either backend.
    pub fn database_url(mut self, url: &str) -> Self {
        self.options.database = Some(url.to_owned());
        self
    }

    /// Both call rate limits out of reach.
    pub fn unthrottled(self) -> Self {
        self.max_calls_per_second(UNTHROTTLED)
            .client_calls_per_second(UNTHROTTLED)
    }
}

/// The `--database-url` of a SQLite file.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}
