//! The real `plugboard` binary as an operator runs it: started on a free port with the given
//! flags, reached over HTTP, killed with SIGKILL when a test wants a crash, and killed and
//! reaped when dropped, however the test ends.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::STEP;

/// A server process.
pub struct Binary {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client whose requests time out after a step.
    pub client: reqwest::Client,
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
    /// Run `plugboard serve --listen 127.0.0.1:PORT` with `args` on a free port; returns once
    /// `/healthz` answers.
    pub async fn start(args: &[&str]) -> Binary {
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

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A new session with hosts A and B, as `POST /api/sessions` answers it.
    pub async fn session(&self) -> Value {
        let response = self
            .client
            .post(self.url("/api/sessions"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        response.json().await.unwrap()
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
