//! Configuration: every flag of `plugboard serve`, each also read from a `PLUGBOARD_*`
//! environment variable, with its default as a named constant.
//!
//! The sandbox and the HTTP layer take plain structs built from this one ([`SandboxLimits`],
//! [`crate::sandbox::SandboxConfig`]) so that neither depends on clap.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::sandbox::isolation::Ipv4Cidr;
// The limits' defaults belong to the sandbox; the flags below show them.
pub use crate::sandbox::limits::{
    DEFAULT_CAPTURE_SNAPLEN, DEFAULT_IDLE_TTL_SECS, DEFAULT_MAX_CALLS_PER_SECOND,
    DEFAULT_MAX_CAPTURE_BYTES, DEFAULT_MAX_EVENTS, DEFAULT_MAX_HOSTS, DEFAULT_MAX_LIFETIME_SECS,
    DEFAULT_MAX_PACKETS, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_MAX_PENDING_CALLS,
    DEFAULT_MAX_SESSION_BYTES, DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SOCKETS, DEFAULT_MAX_WAIT_MS,
    DEFAULT_SUBSCRIBER_LAG, DEFAULT_WAIT_MS, SandboxLimits,
};

/// Where the server listens unless told otherwise: loopback only, so a fresh install is not
/// reachable from the network until its owner decides so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The embedded database: a SQLite file in the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://plugboard.db";
/// Loopback-mode address pool: one address per host, inside 127.0.0.0/8.
pub const DEFAULT_ADDRESS_POOL: &str = "127.100.0.0/16";
/// Netns-mode subnet: host A is its first address, B the second, … (every session has its own
/// namespaces, so all sessions use the same addresses).
pub const DEFAULT_NETNS_SUBNET: &str = "10.0.0.0/24";
/// Events of a live session kept in memory by default.
pub const DEFAULT_LOG_TAIL: usize = 1_000;

/// Largest HTTP request body accepted.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;
/// Longest time an HTTP request may take (above the longest call wait).
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 30;
/// Sessions one client address may create per minute.
pub const DEFAULT_SESSIONS_PER_MINUTE: u32 = 30;
/// Calls one client address may make per second, over all its sessions.
pub const DEFAULT_CLIENT_CALLS_PER_SECOND: u32 = 100;
/// How long a cluster node's lease lasts: a node that has not renewed it for this long is
/// taken for dead and its live sessions are ended. It renews every third of it.
pub const DEFAULT_LEASE_SECS: u64 = 10;
/// How long a clustered node, once told to stop, waits for its live sessions to end before
/// ending them itself. A single server ends them at once unless told otherwise.
pub const DEFAULT_CLUSTER_DRAIN_SECS: u64 = 60;
/// Shortest cluster secret accepted: it authenticates every request between nodes.
pub const MIN_CLUSTER_SECRET_BYTES: usize = 16;

/// Plugboard: a self-hosted socket playground on real kernel sockets.
#[derive(Debug, Parser)]
#[command(name = "plugboard", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, also accepted without the subcommand since it is the default.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
}

impl Cli {
    /// The configuration of the command that was asked for.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        match self.command {
            Some(Command::Serve(args)) => args.into_config(),
            None => self.serve.into_config(),
        }
    }
}

/// How sessions are kept apart from each other and from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IsolationChoice {
    /// Network namespaces when the server has the privilege, loopback otherwise.
    Auto,
    /// Each host its own network namespace; refuse to start without the privilege.
    Netns,
    /// Each host an address of the loopback pool; the sandbox enforces the boundary.
    Loopback,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to serve HTTP on. In loopback isolation a wildcard is served on each
    /// interface address outside the address pool instead, so sessions may bind its port.
    #[arg(long, env = "PLUGBOARD_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Database URL; a sqlite:// file is created and migrated on first start.
    #[arg(long, env = "PLUGBOARD_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Isolation mode: auto, netns or loopback.
    #[arg(long, env = "PLUGBOARD_ISOLATION", value_enum, default_value_t = IsolationChoice::Auto)]
    pub isolation: IsolationChoice,
    /// Loopback-mode address pool (a CIDR inside 127.0.0.0/8), one address per host.
    #[arg(long, env = "PLUGBOARD_ADDRESS_POOL", default_value = DEFAULT_ADDRESS_POOL)]
    pub address_pool: Ipv4Cidr,
    /// Netns-mode IPv4 subnet of every session's hosts (A = .1, B = .2, …).
    #[arg(long, env = "PLUGBOARD_NETNS_SUBNET", default_value = DEFAULT_NETNS_SUBNET)]
    pub netns_subnet: Ipv4Cidr,
    /// Let sessions bind ports below 1024 (refused with EACCES by default, as for an
    /// unprivileged program).
    #[arg(long, env = "PLUGBOARD_ALLOW_PRIVILEGED_PORTS")]
    pub allow_privileged_ports: bool,
    /// Capture every packet a session's hosts send (netns mode only); `false` turns it off.
    #[arg(long, env = "PLUGBOARD_CAPTURE", default_value_t = true, action = clap::ArgAction::Set)]
    pub capture: bool,
    /// Live sessions at once.
    #[arg(long, env = "PLUGBOARD_MAX_SESSIONS", default_value_t = DEFAULT_MAX_SESSIONS)]
    pub max_sessions: usize,
    /// Hosts per session.
    #[arg(long, env = "PLUGBOARD_MAX_HOSTS", default_value_t = DEFAULT_MAX_HOSTS)]
    pub max_hosts: usize,
    /// Open sockets per session.
    #[arg(long, env = "PLUGBOARD_MAX_SOCKETS", default_value_t = DEFAULT_MAX_SOCKETS)]
    pub max_sockets: usize,
    /// Blocking calls pending at once per session.
    #[arg(long, env = "PLUGBOARD_MAX_PENDING_CALLS", default_value_t = DEFAULT_MAX_PENDING_CALLS)]
    pub max_pending_calls: usize,
    /// Bytes per send payload and per recv.
    #[arg(long, env = "PLUGBOARD_MAX_PAYLOAD_BYTES", default_value_t = DEFAULT_MAX_PAYLOAD_BYTES)]
    pub max_payload_bytes: usize,
    /// Bytes a session may send over its life.
    #[arg(long, env = "PLUGBOARD_MAX_SESSION_BYTES", default_value_t = DEFAULT_MAX_SESSION_BYTES)]
    pub max_session_bytes: u64,
    /// Calls per second per session.
    #[arg(long, env = "PLUGBOARD_MAX_CALLS_PER_SECOND", default_value_t = DEFAULT_MAX_CALLS_PER_SECOND)]
    pub max_calls_per_second: u32,
    /// Events logged per session.
    #[arg(long, env = "PLUGBOARD_MAX_EVENTS", default_value_t = DEFAULT_MAX_EVENTS)]
    pub max_events: usize,
    /// Packets a session's capture keeps (netns mode).
    #[arg(long, env = "PLUGBOARD_MAX_PACKETS", default_value_t = DEFAULT_MAX_PACKETS)]
    pub max_packets: usize,
    /// Captured bytes a session's capture keeps (netns mode).
    #[arg(long, env = "PLUGBOARD_MAX_CAPTURE_BYTES", default_value_t = DEFAULT_MAX_CAPTURE_BYTES)]
    pub max_capture_bytes: u64,
    /// Bytes of each captured frame kept (every header and the start of the payload).
    #[arg(long, env = "PLUGBOARD_CAPTURE_SNAPLEN", default_value_t = DEFAULT_CAPTURE_SNAPLEN)]
    pub capture_snaplen: u32,
    /// Events a WebSocket subscriber may fall behind before it gets a fresh snapshot.
    #[arg(long, env = "PLUGBOARD_SUBSCRIBER_LAG", default_value_t = DEFAULT_SUBSCRIBER_LAG)]
    pub subscriber_lag: usize,
    /// Events of a live session kept in memory; older ones are read from the database.
    #[arg(long, env = "PLUGBOARD_LOG_TAIL", default_value_t = DEFAULT_LOG_TAIL)]
    pub log_tail: usize,
    /// Answer a call only once its event is committed to the database (group commit), so a
    /// crash loses nothing a client was told; `false` answers at once.
    #[arg(long, env = "PLUGBOARD_ACK_WHEN_STORED", default_value_t = true, action = clap::ArgAction::Set)]
    pub ack_when_stored: bool,
    /// Seconds of inactivity after which a session ends.
    #[arg(long, env = "PLUGBOARD_IDLE_TTL_SECS", default_value_t = DEFAULT_IDLE_TTL_SECS)]
    pub idle_ttl_secs: u64,
    /// Seconds after creation at which a session ends.
    #[arg(long, env = "PLUGBOARD_MAX_LIFETIME_SECS", default_value_t = DEFAULT_MAX_LIFETIME_SECS)]
    pub max_lifetime_secs: u64,
    /// Milliseconds a blocking call waits before it is reported pending (default for calls).
    #[arg(long, env = "PLUGBOARD_WAIT_MS", default_value_t = DEFAULT_WAIT_MS)]
    pub wait_ms: u64,
    /// Longest wait_ms a call may ask for.
    #[arg(long, env = "PLUGBOARD_MAX_WAIT_MS", default_value_t = DEFAULT_MAX_WAIT_MS)]
    pub max_wait_ms: u64,
    /// Largest HTTP request body, in bytes.
    #[arg(long, env = "PLUGBOARD_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Seconds an HTTP request may take.
    #[arg(long, env = "PLUGBOARD_REQUEST_TIMEOUT_SECS", default_value_t = DEFAULT_REQUEST_TIMEOUT_SECS)]
    pub request_timeout_secs: u64,
    /// Sessions one client address may create per minute.
    #[arg(long, env = "PLUGBOARD_SESSIONS_PER_MINUTE", default_value_t = DEFAULT_SESSIONS_PER_MINUTE)]
    pub sessions_per_minute: u32,
    /// Calls per second one client address may make.
    #[arg(long, env = "PLUGBOARD_CLIENT_CALLS_PER_SECOND", default_value_t = DEFAULT_CLIENT_CALLS_PER_SECOND)]
    pub client_calls_per_second: u32,
    /// Token that unlocks the admin endpoints (grading attempts); none when unset.
    #[arg(long, env = "PLUGBOARD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log format: human or json.
    #[arg(long, env = "PLUGBOARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Secret shared by the nodes of a cluster; setting it makes this server a node of the
    /// cluster of every server on the same PostgreSQL database.
    #[arg(long, env = "PLUGBOARD_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// This node's base URL as the other nodes reach it (for example http://node1:8080).
    #[arg(long, env = "PLUGBOARD_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// Seconds a node's lease lasts; a node silent for longer is taken for dead.
    #[arg(long, env = "PLUGBOARD_LEASE_SECS", default_value_t = DEFAULT_LEASE_SECS)]
    pub lease_secs: u64,
    /// Seconds SIGTERM waits for live sessions to end before ending them (default: 60 for a
    /// cluster node, 0 for a single server).
    #[arg(long, env = "PLUGBOARD_DRAIN_TIMEOUT_SECS")]
    pub drain_timeout_secs: Option<u64>,
}

/// A configuration that does not make sense, found before anything starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "--address-pool {0} must lie inside 127.0.0.0/8, outside 127.0.0.0/24 (where the machine's own loopback services live) and away from --listen, and hold at least 4 addresses"
    )]
    AddressPool(Ipv4Cidr),
    #[error(
        "--netns-subnet {0} must be a private range (10/8, 172.16/12, 192.168/16) with room for --max-hosts hosts"
    )]
    NetnsSubnet(Ipv4Cidr),
    #[error("--{flag} must be at least {min}")]
    TooSmall { flag: &'static str, min: u64 },
    #[error("--wait-ms {wait} must not exceed --max-wait-ms {max}")]
    Wait { wait: u64, max: u64 },
    #[error("--{flag} must be at most {max}")]
    TooLarge { flag: &'static str, max: u64 },
    #[error("cluster: {0}")]
    Cluster(String),
}

/// What a node of a cluster needs beyond a single server's configuration.
#[derive(Clone)]
pub struct ClusterConfig {
    /// The secret every node holds; requests between nodes are signed with it.
    pub secret: String,
    /// This node's base URL, as the other nodes reach it, without a trailing slash.
    pub advertise_url: String,
    /// How long a lease lasts.
    pub lease: Duration,
}

// The secret stays out of logs and debug output.
impl std::fmt::Debug for ClusterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterConfig")
            .field("secret", &"…")
            .field("advertise_url", &self.advertise_url)
            .field("lease", &self.lease)
            .finish()
    }
}

/// The whole, validated configuration of a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
    /// Database URL.
    pub database_url: String,
    /// Isolation mode asked for.
    pub isolation: IsolationChoice,
    /// Loopback-mode address pool.
    pub address_pool: Ipv4Cidr,
    /// Netns-mode subnet.
    pub netns_subnet: Ipv4Cidr,
    /// Session limits.
    pub limits: SandboxLimits,
    /// Largest HTTP request body.
    pub max_body_bytes: usize,
    /// Longest HTTP request.
    pub request_timeout: Duration,
    /// Sessions per client address per minute.
    pub sessions_per_minute: u32,
    /// Calls per client address per second.
    pub client_calls_per_second: u32,
    /// Admin token, if any.
    pub admin_token: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// Events of a live session kept in memory.
    pub log_tail: usize,
    /// Whether calls are answered only once stored.
    pub ack_when_stored: bool,
    /// Cluster membership, when this server is a node of one.
    pub cluster: Option<ClusterConfig>,
    /// How long a stop waits for live sessions to end.
    pub drain_timeout: Duration,
}

impl ServeArgs {
    /// Check the flags and turn them into a [`Config`].
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let pool = self.address_pool;
        let contains = |ip: Ipv4Addr| {
            let offset = u32::from(ip).wrapping_sub(u32::from(pool.network));
            u64::from(offset) < pool.size()
        };
        let touches_low_loopback = contains(Ipv4Addr::new(127, 0, 0, 0))
            || contains(Ipv4Addr::new(127, 0, 0, 255))
            || (pool.network.octets()[1] == 0 && pool.network.octets()[2] == 0);
        let holds_listener = match self.listen.ip() {
            std::net::IpAddr::V4(v4) => contains(v4),
            std::net::IpAddr::V6(_) => false,
        };
        if pool.prefix < 8
            || pool.network.octets()[0] != 127
            || pool.size() < 4
            || touches_low_loopback
            || holds_listener
        {
            return Err(ConfigError::AddressPool(pool));
        }
        let subnet = self.netns_subnet;
        if !subnet.network.is_private() || subnet.size() < self.max_hosts as u64 + 2 {
            return Err(ConfigError::NetnsSubnet(subnet));
        }
        let at_least = |flag: &'static str, value: u64, min: u64| {
            if value < min {
                Err(ConfigError::TooSmall { flag, min })
            } else {
                Ok(())
            }
        };
        at_least("max-sessions", self.max_sessions as u64, 1)?;
        at_least("max-hosts", self.max_hosts as u64, 2)?;
        at_least("max-sockets", self.max_sockets as u64, 1)?;
        at_least("max-payload-bytes", self.max_payload_bytes as u64, 1)?;
        at_least(
            "max-calls-per-second",
            u64::from(self.max_calls_per_second),
            1,
        )?;
        at_least("max-events", self.max_events as u64, 100)?;
        // Below the largest Ethernet + IP + TCP headers a frame would lose its headers.
        at_least(
            "capture-snaplen",
            u64::from(self.capture_snaplen),
            u64::from(crate::sandbox::packet::MIN_SNAPLEN),
        )?;
        if self.capture_snaplen > crate::sandbox::packet::MAX_SNAPLEN {
            return Err(ConfigError::TooLarge {
                flag: "capture-snaplen",
                max: u64::from(crate::sandbox::packet::MAX_SNAPLEN),
            });
        }
        at_least("subscriber-lag", self.subscriber_lag as u64, 1)?;
        at_least(
            "log-tail",
            self.log_tail as u64,
            crate::sandbox::MIN_LOG_TAIL as u64,
        )?;
        at_least("idle-ttl-secs", self.idle_ttl_secs, 1)?;
        at_least("max-lifetime-secs", self.max_lifetime_secs, 1)?;
        at_least("max-body-bytes", self.max_body_bytes as u64, 1024)?;
        at_least(
            "sessions-per-minute",
            u64::from(self.sessions_per_minute),
            1,
        )?;
        at_least(
            "client-calls-per-second",
            u64::from(self.client_calls_per_second),
            1,
        )?;
        if self.wait_ms > self.max_wait_ms {
            return Err(ConfigError::Wait {
                wait: self.wait_ms,
                max: self.max_wait_ms,
            });
        }
        // A request must outlive the longest call wait, or a slow call would be cut off.
        let min_timeout = self.max_wait_ms / 1000 + 5;
        at_least(
            "request-timeout-secs",
            self.request_timeout_secs,
            min_timeout,
        )?;
        let cluster = self.cluster_config()?;
        let drain_secs = self.drain_timeout_secs.unwrap_or(if cluster.is_some() {
            DEFAULT_CLUSTER_DRAIN_SECS
        } else {
            0
        });
        Ok(Config {
            drain_timeout: Duration::from_secs(drain_secs),
            cluster,
            listen: self.listen,
            database_url: self.database_url,
            isolation: self.isolation,
            address_pool: pool,
            netns_subnet: subnet,
            limits: SandboxLimits {
                max_sessions: self.max_sessions,
                max_hosts: self.max_hosts,
                max_sockets: self.max_sockets,
                max_pending_calls: self.max_pending_calls,
                max_payload_bytes: self.max_payload_bytes,
                max_session_bytes: self.max_session_bytes,
                max_calls_per_second: self.max_calls_per_second,
                max_events: self.max_events,
                max_packets: self.max_packets,
                max_capture_bytes: self.max_capture_bytes,
                capture_snaplen: self.capture_snaplen,
                subscriber_lag: self.subscriber_lag,
                idle_ttl_secs: self.idle_ttl_secs,
                max_lifetime_secs: self.max_lifetime_secs,
                wait_ms: self.wait_ms,
                max_wait_ms: self.max_wait_ms,
                allow_privileged_ports: self.allow_privileged_ports,
                capture: self.capture,
            },
            max_body_bytes: self.max_body_bytes,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            sessions_per_minute: self.sessions_per_minute,
            client_calls_per_second: self.client_calls_per_second,
            admin_token: self.admin_token.filter(|t| !t.is_empty()),
            log_format: self.log_format,
            log_tail: self.log_tail,
            ack_when_stored: self.ack_when_stored,
        })
    }
}

impl ServeArgs {
    /// The cluster part of the flags: none without a secret; with one, a PostgreSQL database
    /// and an address the other nodes can reach are required.
    fn cluster_config(&self) -> Result<Option<ClusterConfig>, ConfigError> {
        let Some(secret) = self.cluster_secret.as_deref().filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let fail = |m: &str| Err(ConfigError::Cluster(m.to_owned()));
        if secret.len() < MIN_CLUSTER_SECRET_BYTES {
            return fail(&format!(
                "--cluster-secret must be at least {MIN_CLUSTER_SECRET_BYTES} bytes long"
            ));
        }
        if !(self.database_url.starts_with("postgres://")
            || self.database_url.starts_with("postgresql://"))
        {
            return fail(
                "the nodes of a cluster share one PostgreSQL database: give --database-url postgres://…",
            );
        }
        let Some(url) = self.advertise_url.as_deref() else {
            return fail(
                "a cluster node needs --advertise-url, the http://host:port the other nodes reach it at",
            );
        };
        let url = url.trim_end_matches('/');
        let authority = url.strip_prefix("http://").unwrap_or("");
        if authority.is_empty()
            || authority.contains('/')
            || authority.parse::<axum::http::uri::Authority>().is_err()
        {
            return fail("--advertise-url must look like http://host:port, with no path");
        }
        if !(1..=3600).contains(&self.lease_secs) {
            return fail("--lease-secs must be between 1 and 3600");
        }
        Ok(Some(ClusterConfig {
            secret: secret.to_owned(),
            advertise_url: url.to_owned(),
            lease: Duration::from_secs(self.lease_secs),
        }))
    }
}

impl Config {
    /// The defaults, as `plugboard serve` with no flags and no environment would have them.
    pub fn defaults() -> Config {
        let cli = Cli::parse_from(["plugboard"]);
        match cli.into_config() {
            Ok(config) => config,
            // The defaults are constants checked by a unit test below.
            Err(e) => unreachable!("default configuration is invalid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let cli = Cli::try_parse_from(["plugboard"]).unwrap();
        let config = cli.serve.into_config().unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.limits, SandboxLimits::default());
    }

    #[test]
    fn serve_subcommand_takes_flags() {
        let cli = Cli::try_parse_from(["plugboard", "serve", "--max-sockets", "7"]).unwrap();
        assert_eq!(cli.into_config().unwrap().limits.max_sockets, 7);
    }

    #[test]
    fn pool_may_not_hold_the_machines_loopback_services() {
        for pool in [
            "127.0.0.0/8",
            "127.0.0.0/16",
            "127.0.0.0/24",
            "127.0.0.0/30",
        ] {
            let cli = Cli::try_parse_from(["plugboard", "--address-pool", pool]).unwrap();
            assert!(
                matches!(cli.into_config(), Err(ConfigError::AddressPool(_))),
                "{pool}"
            );
        }
        let cli = Cli::try_parse_from([
            "plugboard",
            "--address-pool",
            "127.100.0.0/16",
            "--listen",
            "127.100.0.9:8080",
        ])
        .unwrap();
        assert!(matches!(
            cli.into_config(),
            Err(ConfigError::AddressPool(_))
        ));
    }

    #[test]
    fn pool_outside_loopback_is_refused() {
        let cli = Cli::try_parse_from(["plugboard", "--address-pool", "10.0.0.0/16"]).unwrap();
        assert!(matches!(
            cli.into_config(),
            Err(ConfigError::AddressPool(_))
        ));
    }
}
