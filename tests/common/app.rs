//! A real Plugboard server on a random port with a fresh database, and an HTTP client for it.
//!
//! [`TestApp::builder`] takes the server's settings as typed values (see `options.rs`), which
//! become the flags `plugboard serve` parses, so a test says what it needs and not how the
//! command line spells it. The server stops when the `TestApp` drops;
//! [`TestApp::stop`] is the clean path that waits for the end. [`ApiSession`] is a session
//! made through the API with the calls a test makes on it: `ok`, `tcp_listener`, `json`,
//! `events`, `wait_event`, `websocket`.

use std::path::Path;
use std::time::Duration;

use plugboard::Running;
use plugboard::config::{Cli, Config};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use super::options::{Isolation, ServerBuilder};
use super::{STEP, private_pool, timeout, ws};

/// Events one read of the log asks for: more than any test logs.
const EVENTS_PAGE: usize = 5000;
/// How often `wait_event` reads the log again.
const POLL: Duration = Duration::from_millis(20);

/// A test server in this process, to be started; see [`TestApp::builder`].
pub type TestAppBuilder = ServerBuilder<TestApp>;

impl ServerBuilder<TestApp> {
    /// The configuration the server would start with, its database in `dir` unless set.
    pub fn config(&self, dir: &Path) -> Config {
        let mut options = self.options.clone();
        options.address_pool.get_or_insert_with(private_pool);
        options
            .database
            .get_or_insert_with(|| super::options::sqlite_url(&dir.join("plugboard.db")));
        let mut args = vec![
            "plugboard".to_owned(),
            "--listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(options.args());
        use clap::Parser;
        Cli::try_parse_from(args).unwrap().into_config().unwrap()
    }

    /// Start the server. A netns server where this process may not make namespaces fails the
    /// test; [`Self::start_or_skip`] skips it instead.
    pub async fn start(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let config = self.config(dir.path());
        let mut app = TestApp::start_config(config).await;
        app._dir = Some(dir);
        app
    }

    /// Start the server, or `None` (after saying why) for a netns server where this process
    /// may not make namespaces — a failure instead when `PLUGBOARD_REQUIRE_NETNS` is set.
    pub async fn start_or_skip(self) -> Option<TestApp> {
        if self.options.isolation == Isolation::Netns && !super::netns_available() {
            return None;
        }
        Some(self.start().await)
    }
}

/// A server in netns isolation, or `None` (skipped, with the reason printed) where this
/// process may not make namespaces; with `PLUGBOARD_REQUIRE_NETNS` set that is a failure
/// instead.
pub async fn netns_app() -> Option<TestApp> {
    TestApp::builder()
        .isolation(Isolation::Netns)
        .start_or_skip()
        .await
}

/// A running server and what it was started with; stopped when dropped.
#[derive(Debug)]
pub struct TestApp {
    pub server: Option<Running>,
    pub base: String,
    pub client: reqwest::Client,
    pub config: Config,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Dropping the handle tells the server to stop; a test that wants to wait for the
        // end calls `stop`.
        self.server.take();
    }
}

impl TestApp {
    /// A server to configure, then start.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// A server with default limits.
    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    /// A server with this configuration (its database stays where it says).
    pub async fn start_config(config: Config) -> TestApp {
        let server = timeout(plugboard::start(config.clone())).await.unwrap();
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
        let app = TestApp {
            server: Some(server),
            base,
            client,
            config,
            _dir: None,
        };
        // The server answers once it is up.
        for _ in 0..100 {
            if app.client.get(app.url("/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        app
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().expect("the server is running").addr
    }

    fn http(&self) -> Http {
        Http {
            client: self.client.clone(),
            base: self.base.clone(),
        }
    }

    /// Send a request; return status and JSON body (Null when the body is not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.http().send(method, path, token, body).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// Create a session; the answer of POST /api/sessions.
    pub async fn session(&self) -> ApiSession {
        self.session_with(json!({})).await
    }

    /// Create a session from this request body (an exercise, more hosts).
    pub async fn session_with(&self, request: Value) -> ApiSession {
        let (status, body) = self.post("/api/sessions", None, request).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ApiSession::created(self.client.clone(), &self.base, body)
    }

    /// The session `id` as its owner (`token`) reaches it, without creating one.
    pub fn session_of(&self, id: &str, token: &str) -> ApiSession {
        ApiSession {
            id: id.to_owned(),
            token: token.to_owned(),
            viewer: String::new(),
            body: Value::Null,
            http: self.http(),
        }
    }

    /// Make a call; status and answer.
    pub async fn call(&self, s: &ApiSession, call: Value) -> (StatusCode, Value) {
        s.call(call).await
    }

    /// A call that must come back ok.
    pub async fn ok(&self, s: &ApiSession, call: Value) -> Value {
        s.ok(call).await
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// The value of the metric `name` (a line `name value`).
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in {text}"))
    }

    /// Stop the server as on SIGTERM and wait for the end.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            timeout(server.stop()).await.unwrap();
        }
    }
}

/// A client for one server.
#[derive(Debug, Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// A session made through the API, with the server it lives on.
#[derive(Debug, Clone)]
pub struct ApiSession {
    pub id: String,
    pub token: String,
    pub viewer: String,
    /// The answer of POST /api/sessions.
    pub body: Value,
    http: Http,
}

impl ApiSession {
    /// The session `body` (the answer of POST /api/sessions) names, on the server at `base`.
    pub fn created(client: reqwest::Client, base: &str, body: Value) -> ApiSession {
        let http = Http {
            client,
            base: base.to_owned(),
        };
        ApiSession {
            id: body["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            viewer: body["viewer_token"].as_str().unwrap().to_owned(),
            body,
            http,
        }
    }

    /// The same session reached through the server at `base` (another node of a cluster).
    pub fn via(&self, base: &str) -> ApiSession {
        let mut other = self.clone();
        other.http.base = base.to_owned();
        other
    }

    /// `/api/sessions/{id}` followed by `rest`.
    pub fn path(&self, rest: &str) -> String {
        format!("/api/sessions/{}{rest}", self.id)
    }

    /// Host `name`'s first address.
    pub fn ipv4(&self, name: &str) -> std::net::Ipv4Addr {
        let host = self.body["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("no host {name} in {}", self.body));
        host["addrs"][0].as_str().unwrap().parse().unwrap()
    }

    /// Host `name`'s first address with `port`.
    pub fn addr(&self, name: &str, port: u16) -> String {
        format!("{}:{port}", self.ipv4(name))
    }

    /// `method` on the session itself as its owner, which must answer 200; the answer.
    async fn owner_ok(&self, method: Method) -> Value {
        let (status, body) = self
            .http
            .send(method, &self.path(""), Some(&self.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// End the session as its owner does; the answer.
    pub async fn end(&self) -> Value {
        self.owner_ok(Method::DELETE).await
    }

    /// Make a call; status and answer.
    pub async fn call(&self, call: Value) -> (StatusCode, Value) {
        self.http
            .send(
                Method::POST,
                &self.path("/calls"),
                Some(&self.token),
                Some(call),
            )
            .await
    }

    /// Make a call where the server may go away (a crash test): status and answer, or
    /// `None` when the request or its answer did not get through.
    pub async fn try_call(&self, call: Value) -> Option<(StatusCode, Value)> {
        let url = format!("{}{}", self.http.base, self.path("/calls"));
        let request = self
            .http
            .client
            .post(url)
            .bearer_auth(&self.token)
            .json(&call);
        let response = request.send().await.ok()?;
        let status = response.status();
        Some((status, response.json().await.ok()?))
    }

    /// A call that must come back ok; its answer.
    pub async fn ok(&self, call: Value) -> Value {
        let (status, body) = self.call(call.clone()).await;
        assert_eq!(status, StatusCode::OK, "{call} -> {body}");
        assert_eq!(body["status"], "ok", "{call} -> {body}");
        body
    }

    /// A socket of `kind` ("stream" or "dgram") on `host`; its descriptor.
    pub async fn socket(&self, host: &str, kind: &str) -> i64 {
        let made = self
            .ok(json!({"host": host, "call": "socket", "domain": "inet", "type": kind}))
            .await;
        made["fd"].as_i64().unwrap()
    }

    /// `fd` of `host` bound to `addr`.
    pub async fn bind(&self, host: &str, fd: i64, addr: &str) {
        self.ok(json!({"host": host, "call": "bind", "fd": fd, "addr": addr}))
            .await;
    }

    /// A TCP socket listening on `host`:`port` with a backlog of 4; its descriptor.
    pub async fn tcp_listener(&self, host: &str, port: u16) -> i64 {
        self.tcp_listener_backlog(host, port, Some(4)).await
    }

    /// A TCP socket listening on `host`:`port` with `backlog` (the call's default if `None`).
    pub async fn tcp_listener_backlog(&self, host: &str, port: u16, backlog: Option<u32>) -> i64 {
        let fd = self.socket(host, "stream").await;
        self.bind(host, fd, &self.addr(host, port)).await;
        let mut listen = json!({"host": host, "call": "listen", "fd": fd});
        if let Some(backlog) = backlog {
            listen["backlog"] = json!(backlog);
        }
        self.ok(listen).await;
        fd
    }

    /// A UDP socket on `host` bound to `port`; its descriptor.
    pub async fn udp_bound(&self, host: &str, port: u16) -> i64 {
        let fd = self.socket(host, "dgram").await;
        self.bind(host, fd, &self.addr(host, port)).await;
        fd
    }

    /// A TCP socket on `host` connected to `to`; its descriptor.
    pub async fn tcp_client(&self, host: &str, to: &str) -> i64 {
        let fd = self.socket(host, "stream").await;
        self.ok(json!({"host": host, "call": "connect", "fd": fd, "addr": to}))
            .await;
        fd
    }

    /// The session as `GET /api/sessions/{id}` answers its owner.
    pub async fn json(&self) -> Value {
        self.owner_ok(Method::GET).await
    }

    /// Every event logged so far, read through the API.
    pub async fn events(&self) -> Vec<Value> {
        let path = self.path(&format!("/events?after=0&limit={EVENTS_PAGE}"));
        let (status, page) = self
            .http
            .send(Method::GET, &path, Some(&self.token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["events"].as_array().unwrap().clone()
    }

    /// Wait until an event matching `pred` is logged; return it.
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let events = self.events().await;
            if let Some(e) = events.iter().find(|e| pred(e)) {
                return e.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no event {what}; log: {events:#?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The URL of the session's WebSocket from event `after` on, opened with `token`.
    pub fn websocket_url(&self, after: u64, token: &str) -> String {
        let addr = self.http.base.trim_start_matches("http://");
        format!(
            "ws://{addr}{}?after={after}&token={token}",
            self.path("/ws")
        )
    }

    /// The session's WebSocket from event `after` on, opened with `token`.
    pub async fn websocket(&self, after: u64, token: &str) -> ws::Ws {
        ws::connect(&self.websocket_url(after, token)).await
    }

    /// A task that makes `call` `times` times, each answer ignored (for load).
    pub fn spawn_calls(&self, call: Value, times: usize) -> tokio::task::JoinHandle<()> {
        let s = self.clone();
        tokio::spawn(async move {
            for _ in 0..times {
                s.call(call.clone()).await;
            }
        })
    }
}
