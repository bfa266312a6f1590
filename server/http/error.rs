//! The one error type of the HTTP edge: every 4xx and 5xx leaves as the same JSON shape,
//! `{"type": …, "message": …, "field": …}`, with the status chosen in one `match`.
//! Server faults are logged once here and shown to the client only as "internal error".
//!
//! A message for a person is a [`Message`]: English, and Simplified Chinese where it has been
//! written. The answer's `message` is in the request's language ([`Lang::current`], set by
//! the language middleware for every request, so even rejections made by extractors before a
//! handler runs are answered in it); `type`, `field`, `limit` and `max` never change with it.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::i18n::Lang;
pub use crate::i18n::Message;
use crate::sandbox::{Limit, SessionError};
use crate::store::StoreError;

/// When a client told the server is full should try again. Places open as sessions end (by
/// their owner, idle, or at their maximum lifetime), which on a node full of learners happens
/// every few seconds; asking much more often than this would only add load.
pub const FULL_RETRY_AFTER_SECS: u64 = 30;

/// Why a request was not served.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or an argument is invalid.
    #[error("{message}")]
    BadRequest {
        message: Message,
        field: Option<String>,
    },
    /// The body is not JSON (content type).
    #[error("{0}")]
    UnsupportedMediaType(Message),
    /// The body is larger than allowed.
    #[error("the request body is larger than this server accepts (max_body_bytes)")]
    PayloadTooLarge,
    /// No or a wrong token.
    #[error("{0}")]
    Unauthorized(Message),
    /// A token that may not do this (a viewer token making calls).
    #[error("{0}")]
    Forbidden(Message),
    /// No such thing.
    #[error("{0}")]
    NotFound(Message),
    /// A host name of the right form that the session does not have (yet: hosts can be
    /// added). Not a malformed request, since the document cannot know a session's hosts: a
    /// request that conflicts with the session's current state.
    #[error("host {0} is not in this session")]
    UnknownHost(crate::sandbox::HostId),
    /// The resource is not in a state that allows this (a session without an exercise graded).
    #[error("{0}")]
    Conflict(Message),
    /// The session has ended; it can be read but not changed.
    #[error("the session has ended")]
    SessionEnded,
    /// A limit was hit.
    #[error("limit reached: {name} is {max}")]
    Limit {
        name: &'static str,
        max: u64,
        retry_after: Option<u64>,
    },
    /// The node holds as many live sessions as it can: a new one may start once another ends.
    #[error(
        "this server is full: it holds {capacity} live sessions, as many as it can; \
         try again in {retry_after} s"
    )]
    Full { capacity: u64, retry_after: u64 },
    /// Too many requests from this client.
    #[error("too many requests: try again in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The request took too long.
    #[error("the request took too long")]
    Timeout,
    /// The server is shutting down or a dependency is down.
    #[error("{0}")]
    Unavailable(Message),
    /// No node of the cluster has room for a new session, or this server is stopping: try
    /// again later, or elsewhere.
    #[error("{message}")]
    NoRoom { message: Message, retry_after: u64 },
    /// A fault of the server; details are logged, not shown.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// A bad request about one field.
    pub fn field(field: impl Into<String>, message: impl Into<Message>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    /// A bad request not tied to one field.
    pub fn bad(message: impl Into<Message>) -> ApiError {
        ApiError::BadRequest {
            message: message.into(),
            field: None,
        }
    }

    /// The message for a person, in `lang` where it has been written in it.
    pub fn message(&self, lang: Lang) -> String {
        if lang == Lang::En {
            return self.to_string();
        }
        match self {
            ApiError::BadRequest { message, .. }
            | ApiError::NoRoom { message, .. }
            | ApiError::UnsupportedMediaType(message)
            | ApiError::Unauthorized(message)
            | ApiError::Forbidden(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::Unavailable(message) => message.get(lang).to_owned(),
            ApiError::PayloadTooLarge => {
                "请求体超过了本服务器接受的大小（max_body_bytes）".to_owned()
            }
            ApiError::UnknownHost(host) => format!("本会话中没有主机 {host}"),
            ApiError::SessionEnded => "会话已经结束".to_owned(),
            ApiError::Limit { name, max, .. } => format!("已达到上限：{name} 为 {max}"),
            ApiError::Full {
                capacity,
                retry_after,
            } => format!(
                "本服务器已满：它同时容纳 {capacity} 个活动会话，已达上限；请 {retry_after} 秒后再试"
            ),
            ApiError::RateLimited { retry_after } => {
                format!("请求太多：请 {retry_after} 秒后再试")
            }
            ApiError::Timeout => "请求耗时过长".to_owned(),
            ApiError::Internal(_) => "内部错误".to_owned(),
        }
    }

    fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "invalid_request"),
            ApiError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::UnknownHost(_) => (StatusCode::CONFLICT, "unknown_host"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::SessionEnded => (StatusCode::CONFLICT, "session_ended"),
            ApiError::Limit { .. } => (StatusCode::TOO_MANY_REQUESTS, "limit_reached"),
            ApiError::Full { .. } => (StatusCode::SERVICE_UNAVAILABLE, "server_full"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::NoRoom { .. } => (StatusCode::SERVICE_UNAVAILABLE, "server_full"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable name: invalid_request, not_found, limit_reached,
    /// server_full, …
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The limit that was hit (limit_reached; max_sessions when server_full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<&'static str>,
    /// The limit's value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.parts();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        }
        let (field, limit, max, retry_after) = match &self {
            ApiError::BadRequest { field, .. } => (field.clone(), None, None, None),
            ApiError::UnknownHost(_) => (Some("host".to_owned()), None, None, None),
            ApiError::Limit {
                name,
                max,
                retry_after,
            } => (None, Some(*name), Some(*max), *retry_after),
            ApiError::Full {
                capacity,
                retry_after,
            } => (
                None,
                Some(Limit::Sessions.name()),
                Some(*capacity),
                Some(*retry_after),
            ),
            ApiError::RateLimited { retry_after } | ApiError::NoRoom { retry_after, .. } => {
                (None, None, None, Some(*retry_after))
            }
            _ => (None, None, None, None),
        };
        let body = ErrorBody {
            kind,
            message: self.message(Lang::current()),
            field,
            limit,
            max,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Ended => ApiError::SessionEnded,
            SessionError::NoSuchHost(h) => ApiError::UnknownHost(h),
            SessionError::NoSuchCall(id) => ApiError::NotFound(Message::new(
                format!("no call {id} in this session"),
                format!("本会话中没有调用 {id}"),
            )),
            // Not the client's doing: the node is full, and says when to come back.
            SessionError::Limit {
                limit: Limit::Sessions,
                max,
            } => ApiError::Full {
                capacity: max,
                retry_after: FULL_RETRY_AFTER_SECS,
            },
            SessionError::Limit { limit, max } => ApiError::Limit {
                name: limit.name(),
                max,
                retry_after: (limit == Limit::CallRate).then_some(1),
            },
            SessionError::Invalid { field, message } => ApiError::field(field, message),
            SessionError::NotStored(e) => {
                tracing::error!(error = %e, "an acknowledgement waited for events the store gave up");
                ApiError::Unavailable(Message::new(
                    format!(
                        "it happened, but the database could not store it: {e}; the log is stored up to seq {}",
                        e.stored
                    ),
                    format!(
                        "操作已经执行，但数据库未能保存它：{e}；日志已保存到 seq {}",
                        e.stored
                    ),
                ))
            }
            SessionError::Isolation(detail) => {
                tracing::error!(detail = %detail, "isolation backend failed");
                ApiError::Unavailable(Message::new(
                    "the sandbox could not set up the session's network",
                    "沙箱未能为会话建立网络",
                ))
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// A JSON body whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let message = e.body_text();
            ApiError::BadRequest {
                field: field_of(&message),
                message: parser_said(message),
            }
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::bad(parser_said(e.body_text())),
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(Message::new(
            "send the body as JSON with Content-Type: application/json",
            "请以 JSON 发送请求体，并带上 Content-Type: application/json",
        )),
        JsonRejection::BytesRejection(e) => bytes_rejection(&e),
        other => ApiError::bad(other.body_text()),
    }
}

/// A message quoting a parser (serde's words, which stay English), introduced in Chinese.
pub fn parser_said(message: String) -> Message {
    let zh = format!("请求无法解析（解析器的原话）：{message}");
    Message::new(message, zh)
}

/// A body that could not be read: too large (413), or cut off (400).
pub fn bytes_rejection(rejection: &BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::bad(rejection.body_text())
    }
}

/// The field a serde message names (`missing field `x``, `unknown field `x``), if any.
pub(crate) fn field_of(message: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `"] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            return rest.find('`').map(|end| rest[..end].to_owned());
        }
    }
    None
}

/// Query parameters whose rejections are [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                let message = e.body_text();
                Err(ApiError::BadRequest {
                    field: field_of(&message),
                    message: parser_said(message),
                })
            }
            Err(other) => Err(ApiError::bad(other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_is_found_in_serde_messages() {
        assert_eq!(
            field_of("Failed to deserialize: missing field `host` at line 1").as_deref(),
            Some("host")
        );
        assert_eq!(field_of("expected value at line 1 column 1"), None);
    }
}
