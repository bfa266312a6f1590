//! The real `plugboard` binary as an operator runs it: started on a free port with the
//! options of [`Binary::builder`] (the same typed options as a `TestApp`'s), reached
//! over HTTP, killed with SIGKILL when a test wants a crash, and killed and reaped when
//! dropped, however the test ends.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::STEP;
use super::app::ApiSession;
use super::options::ServerBuilder;

impl ServerBuilder<Binary> {
    /// Start the process on a free port (a private address pool unless set); returns once
    /// `/healthz` answers. The database is the one set, or a file in a fresh directory that
    /// lives as long as the process.
    pub async fn start(mut self) -> Binary {
        self.options
            .address_pool
            .get_or_insert_with(super::private_pool);
        let dir = match self.options.database {
            Some(_) => None,
            None => {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("plugboard.db");
                self.options.database = Some(super::options::sqlite_url(&file));
                Some(dir)
            }
        };
        let mut server = Binary::start(&self.options.args()).await;
        server._dir = dir;
        server
    }
}

/// A server process.
pub struct Binary {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client whose requests time out after a step.
    pub client: reqwest::Client,
    /// The database's directory, when the builder made one.
    _dir: Option<tempfile::TempDir>,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Binary {
    /// A server process to configure, then start.
    pub fn builder() -> ServerBuilder<Binary> {
        ServerBuilder::default()
    }

    /// Run `plugboard serve --listen 127.0.0.1:PORT` with `args` on a free port; returns once
    /// `/healthz` answers.
    async fn start(args: &[String]) -> Binary {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned at once, so every path below kills and reaps it.
        let server = Binary {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder().timeout(STEP).build().unwrap(),
            _dir: None,
        };
        let deadline = Instant::now() + STEP;
        while server
            .client
            .get(server.url("/healthz"))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// The URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let response = self.client.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new session with hosts A and B.
    pub async fn session(&self) -> ApiSession {
        let response = self
            .client
            .post(self.url("/api/sessions"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        ApiSession::created(
            self.client.clone(),
            &self.base,
            response.json().await.unwrap(),
        )
    }

    /// Die without any chance to clean up (SIGKILL), and be reaped.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.child.kill().ok(/* already dead when the test killed it */);
        self.child.wait().ok(/* already reaped */);
    }
}
