//! A real Plugboard server on a random port with a fresh database, and an HTTP client for it.

use std::path::PathBuf;
use std::time::Duration;

use plugboard::Running;
use plugboard::config::{Cli, Config, IsolationChoice};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{STEP, private_pool, timeout};

/// A running server and what it was started with.
#[derive(Debug)]
pub struct TestApp {
    pub server: Option<Running>,
    pub base: String,
    pub client: reqwest::Client,
    pub db_path: PathBuf,
    pub config: Config,
    _dir: Option<tempfile::TempDir>,
}

/// A configuration for tests: port 0, loopback isolation on a pool of its own, a database
/// file in `dir`.
pub fn test_config(dir: &std::path::Path, extra: &[&str]) -> Config {
    let db = dir.join("plugboard.db");
    let pool = private_pool();
    let url = format!("sqlite://{}", db.display());
    let mut args = vec![
        "plugboard",
        "--listen",
        "127.0.0.1:0",
        "--isolation",
        "loopback",
        "--address-pool",
        &pool,
        "--database-url",
        &url,
    ];
    args.extend_from_slice(extra);
    use clap::Parser;
    let mut config = Cli::try_parse_from(args).unwrap().into_config().unwrap();
    config.isolation = IsolationChoice::Loopback;
    config
}

impl TestApp {
    /// A server with default limits.
    pub async fn start() -> TestApp {
        Self::start_with(&[]).await
    }

    /// A server with extra command-line flags.
    pub async fn start_with(extra: &[&str]) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let config = test_config(dir.path(), extra);
        let mut app = Self::start_config(config).await;
        app.db_path = dir.path().join("plugboard.db");
        app._dir = Some(dir);
        app
    }

    /// A server with this configuration (its database file stays where it says).
    pub async fn start_config(config: Config) -> TestApp {
        let server = timeout(plugboard::start(config.clone())).await.unwrap();
        let base = format!("http://{}", server.addr);
        let client = reqwest::Client::builder().timeout(STEP).build().unwrap();
        let db_path = PathBuf::from(config.database_url.trim_start_matches("sqlite://"));
        let app = TestApp {
            server: Some(server),
            base,
            client,
            db_path,
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

    /// Send a request; return status and JSON body (Null when the body is not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
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

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// Create a session; the answer of POST /api/sessions.
    pub async fn session(&self) -> ApiSession {
        let (status, body) = self.post("/api/sessions", None, json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ApiSession {
            id: body["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            viewer: body["viewer_token"].as_str().unwrap().to_owned(),
            body,
        }
    }

    /// Make a call; status and answer.
    pub async fn call(&self, s: &ApiSession, call: Value) -> (StatusCode, Value) {
        self.post(
            &format!("/api/sessions/{}/calls", s.id),
            Some(&s.token),
            call,
        )
        .await
    }

    /// A call that must come back ok.
    pub async fn ok(&self, s: &ApiSession, call: Value) -> Value {
        let (status, body) = self.call(s, call.clone()).await;
        assert_eq!(status, StatusCode::OK, "{call} -> {body}");
        assert_eq!(body["status"], "ok", "{call} -> {body}");
        body
    }

    /// Stop the server as on SIGTERM.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            timeout(server.stop()).await.unwrap();
        }
    }
}

/// A session made through the API.
#[derive(Debug, Clone)]
pub struct ApiSession {
    pub id: String,
    pub token: String,
    pub viewer: String,
    pub body: Value,
}

impl ApiSession {
    /// Host `name`'s first address with `port`.
    pub fn addr(&self, name: &str, port: u16) -> String {
        let host = self.body["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap();
        format!("{}:{port}", host["addrs"][0].as_str().unwrap())
    }
}
