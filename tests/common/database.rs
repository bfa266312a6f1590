//! A fresh database per test, on either backend: a SQLite file in a directory of its own, or a
//! PostgreSQL database created for the test on the server `PLUGBOARD_TEST_POSTGRES_URL` names
//! (an admin URL such as `postgres://postgres@127.0.0.1:5432/postgres`) and dropped when the
//! [`TestDatabase`] drops, so tests run in parallel without seeing each other's rows.
//!
//! Without that variable the PostgreSQL half of a test is skipped (and says so), unless
//! `PLUGBOARD_REQUIRE_POSTGRES` is set (CI), which makes it a failure instead.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor};

/// The admin URL of the PostgreSQL server tests create their databases on.
pub const POSTGRES_URL_VAR: &str = "PLUGBOARD_TEST_POSTGRES_URL";
/// Set (in CI) to fail instead of skipping when [`POSTGRES_URL_VAR`] is not.
pub const REQUIRE_POSTGRES_VAR: &str = "PLUGBOARD_REQUIRE_POSTGRES";

/// Which backend a test database is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub backend: Backend,
    /// What `--database-url` and `Store::connect` take.
    pub url: String,
    /// The SQLite file's directory.
    _dir: Option<tempfile::TempDir>,
    /// The admin URL and the database's name, to drop it.
    created: Option<(String, String)>,
}

impl TestDatabase {
    /// A SQLite file (not yet created) in a fresh directory.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().unwrap();
        TestDatabase {
            backend: Backend::Sqlite,
            url: format!("sqlite://{}", dir.path().join("plugboard.db").display()),
            _dir: Some(dir),
            created: None,
        }
    }

    /// A fresh, empty PostgreSQL database, or `None` (the test skipped, with the reason
    /// printed) when no server is configured; a failure instead when
    /// `PLUGBOARD_REQUIRE_POSTGRES` is set.
    pub async fn postgres() -> Option<TestDatabase> {
        let Some(admin) = std::env::var(POSTGRES_URL_VAR)
            .ok()
            .filter(|u| !u.is_empty())
        else {
            if std::env::var_os(REQUIRE_POSTGRES_VAR).is_some() {
                panic!("{REQUIRE_POSTGRES_VAR} is set but {POSTGRES_URL_VAR} is not");
            }
            super::report_skip(&format!(
                "no PostgreSQL to test against; set {POSTGRES_URL_VAR} (e.g. \
                 postgres://postgres@127.0.0.1:5432/postgres) to run it"
            ));
            return None;
        };
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let name = format!("plugboard_test_{:016x}", u64::from_le_bytes(b));
        let mut connection = super::timeout(PgConnectOptions::from_str(&admin).unwrap().connect())
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR}: cannot connect: {e}"));
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        connection.close().await.ok(/* the database exists either way */);
        Some(TestDatabase {
            backend: Backend::Postgres,
            url: with_database(&admin, &name),
            _dir: None,
            created: Some((admin, name)),
        })
    }

    /// A fresh database on `backend`, or `None` when that backend is skipped.
    pub async fn on(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => Some(TestDatabase::sqlite()),
            Backend::Postgres => TestDatabase::postgres().await,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.created.take() else {
            return;
        };
        // Drop may run inside the test's runtime, which cannot be blocked on: a thread of its
        // own with a runtime of its own does it. FORCE ends the connections a server that was
        // killed left behind.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let options = PgConnectOptions::from_str(&admin).unwrap();
                if let Ok(mut connection) = options.connect().await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    connection
                        .execute(drop.as_str())
                        .await
                        .ok(/* a leftover database only costs disk; its name is unique */);
                }
            });
        })
        .join()
        .ok(/* the test's outcome does not depend on the cleanup */);
    }
}

/// `url` with its database (the path) replaced by `name`, its parameters kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Declares, for each async `fn name(db: TestDatabase)` listed, a module `name` of two tests,
/// `sqlite` and `postgres`, each running it on a fresh database of its backend (the
/// PostgreSQL one skipped as [`TestDatabase::postgres`] says).
#[macro_export]
macro_rules! test_on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::common::database::TestDatabase;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(TestDatabase::sqlite()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = TestDatabase::postgres().await {
                    super::$name(db).await;
                }
            }
        }
    )*};
}
