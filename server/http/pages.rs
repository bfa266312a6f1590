//! The pages: server-rendered shells (askama) and the static files they load, all compiled
//! into the binary. The pages talk to the REST API and the WebSocket only.

use axum::Router;

use super::AppState;

/// Routes of the pages and static files.
pub fn routes() -> Router<AppState> {
    Router::new()
}
