//! Who may do what with a session, decided once per request by an extractor.
//!
//! A session is found live in the sandbox or, once ended, in the database; the request's
//! bearer token is checked against the session's owner and viewer hashes. [`SessionAccess`]
//! lets either token read; [`OwnerAccess`] and [`LiveOwner`] want the owner's, the latter on
//! a session that still runs. [`StreamAccess`] also takes the token from `?token=`, for
//! browsers that cannot set headers on a WebSocket.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde::Deserialize;

use super::AppState;
use super::auth::{self, Access};
use super::error::{ApiError, Message};
use crate::sandbox::{SessionHandle, SessionId};
use crate::store::StoredSession;

/// A session, live or from the database.
#[derive(Debug)]
pub enum Found {
    Live(SessionHandle),
    Stored(Box<StoredSession>),
}

impl Found {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        match self {
            Found::Live(handle) => handle.id(),
            Found::Stored(stored) => stored.id,
        }
    }
}

/// A session the request may read, with the access its token gives.
#[derive(Debug)]
pub struct SessionAccess {
    /// The session.
    pub session: Found,
    /// Owner or viewer.
    pub access: Access,
}

impl SessionAccess {
    /// Find session `id` and check `token` against it.
    pub async fn resolve(
        state: &AppState,
        id: &str,
        token: Option<&str>,
    ) -> Result<SessionAccess, ApiError> {
        let no_session = || {
            ApiError::NotFound(Message::new(
                format!("no session `{id}`"),
                format!("没有会话 `{id}`"),
            ))
        };
        let id: SessionId = id.parse().map_err(|()| no_session())?;
        if let Some(handle) = state.sandbox().get(id) {
            let creds = &handle.info().credentials;
            let access = auth::check(token, &creds.owner, &creds.viewer)?;
            let session = Found::Live(handle);
            return Ok(SessionAccess { session, access });
        }
        let stored = state.store().session(id).await?.ok_or_else(no_session)?;
        let access = auth::check(token, &stored.owner_token_hash, &stored.viewer_token_hash)?;
        let session = Found::Stored(Box::new(stored));
        Ok(SessionAccess { session, access })
    }

    /// The session, if the access is the owner's.
    pub fn owner(self) -> Result<Found, ApiError> {
        auth::owner_only(self.access)?;
        Ok(self.session)
    }
}

/// The `{id}` of the request's path.
async fn path_id(parts: &mut Parts, state: &AppState) -> Result<String, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        // A path that is not UTF-8 once decoded names no session.
        .map_err(|_| {
            ApiError::NotFound(Message::new(
                "no session with this id",
                "没有这个 id 的会话",
            ))
        })?;
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, value)| value.to_owned())
        .ok_or_else(|| ApiError::Internal("a session route without {id}".to_owned()))
}

impl FromRequestParts<AppState> for SessionAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let id = path_id(parts, state).await?;
        let token = auth::bearer(&parts.headers, None);
        SessionAccess::resolve(state, &id, token.as_deref()).await
    }
}

/// A session the request owns, live or ended.
#[derive(Debug)]
pub struct OwnerAccess(pub Found);

impl FromRequestParts<AppState> for OwnerAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let access = SessionAccess::from_request_parts(parts, state).await?;
        access.owner().map(OwnerAccess)
    }
}

/// A live session the request owns: the one it may change.
#[derive(Debug)]
pub struct LiveOwner(pub SessionHandle);

impl FromRequestParts<AppState> for LiveOwner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match OwnerAccess::from_request_parts(parts, state).await?.0 {
            Found::Live(handle) => Ok(LiveOwner(handle)),
            Found::Stored(_) => Err(ApiError::SessionEnded),
        }
    }
}

/// A session the request may read, its token from the header or from `?token=`.
#[derive(Debug)]
pub struct StreamAccess(pub SessionAccess);

impl FromRequestParts<AppState> for StreamAccess {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        /// The one query parameter read here (the handler reads and checks the query whole).
        #[derive(Deserialize)]
        struct TokenParam {
            token: Option<String>,
        }
        let id = path_id(parts, state).await?;
        let query = axum::extract::Query::<TokenParam>::try_from_uri(&parts.uri)
            .map(|q| q.0.token)
            .unwrap_or_default();
        let token = auth::bearer(&parts.headers, query.as_deref());
        SessionAccess::resolve(state, &id, token.as_deref())
            .await
            .map(StreamAccess)
    }
}

/// A path's parameters, like axum's `Path`, but a segment that does not decode (not UTF-8,
/// not the expected type) names nothing here: 404 in the API's error shape, never axum's
/// plain-text rejection.
#[derive(Debug)]
pub struct PathParams<T>(pub T);

impl<T, S> FromRequestParts<S> for PathParams<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|_| {
                let path = parts.uri.path();
                ApiError::NotFound(Message::new(
                    format!("nothing at `{path}`"),
                    format!("`{path}` 处什么也没有"),
                ))
            })
    }
}
