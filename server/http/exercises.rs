//! Exercise handlers: the catalog, grading a session, and the attempts (admin).

use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::{Found, OwnerAccess, PathParams, SessionAccess};
use super::auth;
use super::error::{ApiError, ErrorBody, Json, Message, Query};
use super::lang::RequestLang;
use crate::exercise::grader::{self, Report};
use crate::exercise::{Exercise, ProgramSpec};
use crate::i18n::Lang;
use crate::sandbox::{Event, HostInfo};
use crate::store::Attempt;

/// Most attempts one listing returns unless asked for fewer.
const DEFAULT_ATTEMPTS_PAGE: u32 = 100;
/// Most attempts one listing may return (the document states it: a test checks).
pub const MAX_ATTEMPTS_PAGE: u32 = 1000;

/// An exercise in the list.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExerciseSummary {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub summary: String,
    /// What it teaches.
    pub teaches: Vec<String>,
    /// Hosts its sessions start with.
    pub hosts: usize,
    /// Programs its setup starts, by kind.
    pub programs: Vec<String>,
    /// How many checks the grader runs.
    pub checks: usize,
}

impl From<&Exercise> for ExerciseSummary {
    fn from(e: &Exercise) -> Self {
        let Exercise {
            id,
            version,
            title,
            summary,
            teaches,
            text: _,
            setup,
            checks,
            zh: _,
        } = e;
        ExerciseSummary {
            id: id.clone(),
            version: *version,
            title: title.clone(),
            summary: summary.clone(),
            teaches: teaches.clone(),
            hosts: setup.hosts,
            programs: setup
                .programs
                .iter()
                .map(|p| {
                    match p {
                        ProgramSpec::EchoTcp { .. } => "echo_tcp",
                        ProgramSpec::EchoUdp { .. } => "echo_udp",
                        ProgramSpec::EchoUnix { .. } => "echo_unix",
                        ProgramSpec::DiscardTcp { .. } => "discard_tcp",
                        ProgramSpec::DiscardUdp { .. } => "discard_udp",
                        ProgramSpec::Client { .. } => "client",
                    }
                    .to_owned()
                })
                .collect(),
            checks: checks.len(),
        }
    }
}

/// `GET /api/exercises`: the catalog.
#[utoipa::path(
    get,
    path = "/api/exercises",
    tag = "exercises",
    responses((status = 200, description = "Every exercise, by id.", body = Vec<ExerciseSummary>))
)]
pub async fn list_exercises(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
) -> Json<Vec<ExerciseSummary>> {
    Json(
        state
            .catalog()
            .all()
            .map(|e| ExerciseSummary::from(&e.localized(lang)))
            .collect(),
    )
}

/// `GET /api/exercises/{id}`: one exercise with its text, setup and checks.
#[utoipa::path(
    get,
    path = "/api/exercises/{id}",
    tag = "exercises",
    params(("id" = String, Path, description = "Exercise id")),
    responses(
        (status = 200, description = "The exercise.", body = Exercise),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get_exercise(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    PathParams(id): PathParams<String>,
) -> Result<Json<Exercise>, ApiError> {
    state
        .catalog()
        .get(&id)
        .map(|e| Json(e.localized(lang)))
        .ok_or_else(|| no_exercise(&id))
}

/// The answer for an exercise id the catalog does not have.
fn no_exercise(id: &str) -> ApiError {
    ApiError::NotFound(Message::new(
        format!("no exercise `{id}`"),
        format!("没有练习 `{id}`"),
    ))
}

/// A grading report, and the attempt that stored it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Graded {
    /// The stored attempt's number; none for a check that is not stored.
    pub attempt: Option<i64>,
    /// The report.
    #[serde(flatten)]
    pub report: Report,
}

/// The reports of a session's exercise now, one per language asked, from one reading of the
/// log (grading is pure and cheap next to reading it).
async fn reports<const N: usize>(
    state: &AppState,
    found: &Found,
    langs: [Lang; N],
) -> Result<[Report; N], ApiError> {
    let events: Vec<Event> = super::log::all(state, found)
        .await?
        .into_iter()
        .map(std::sync::Arc::unwrap_or_clone)
        .collect();
    let (exercise_id, hosts): (Option<String>, Vec<HostInfo>) = match found {
        Found::Live(handle) => (handle.info().exercise.clone(), handle.hosts()),
        Found::Stored(stored) => (stored.exercise.clone(), stored.hosts.clone()),
    };
    // The request is well formed; the session is just not one that can be graded.
    let exercise_id = exercise_id.ok_or_else(|| {
        ApiError::Conflict(Message::new(
            "this session is not for an exercise; create one with {\"exercise\": id}",
            "这个会话不是为练习创建的；请用 {\"exercise\": id} 创建一个",
        ))
    })?;
    let exercise = state.catalog().get(&exercise_id).ok_or_else(|| {
        ApiError::NotFound(Message::new(
            format!("exercise `{exercise_id}` is no longer in the catalog"),
            format!("练习 `{exercise_id}` 已不在目录中"),
        ))
    })?;
    Ok(langs.map(|lang| grader::grade_in(exercise, &events, &hosts, lang)))
}

/// `POST /api/sessions/{id}/grade`: grade the session and store the attempt.
#[utoipa::path(
    post,
    path = "/api/sessions/{id}/grade",
    tag = "exercises",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "Every check with pass/fail and a hint for each that failed; stored as an attempt.", body = Graded),
        (status = 401, body = ErrorBody), (status = 403, description = "A viewer token.", body = ErrorBody),
        (status = 404, description = "No such session, or its exercise left the catalog.", body = ErrorBody),
        (status = 409, description = "The session is not for an exercise.", body = ErrorBody),
    )
)]
pub async fn grade_session(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    OwnerAccess(found): OwnerAccess,
) -> Result<Json<Graded>, ApiError> {
    // Attempts are stored in English, the language every text has; the answer is in the
    // request's.
    let (stored, shown) = if lang == Lang::En {
        let [english] = reports(&state, &found, [Lang::En]).await?;
        (english.clone(), english)
    } else {
        let [english, shown] = reports(&state, &found, [Lang::En, lang]).await?;
        (english, shown)
    };
    let attempt = state.store().insert_attempt(found.id(), &stored).await?;
    Ok(Json(Graded {
        attempt: Some(attempt),
        report: shown,
    }))
}

/// `GET /api/sessions/{id}/checks`: the checklist now, not stored (for live checklists).
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/checks",
    tag = "exercises",
    params(("id" = String, Path, description = "Session id")),
    security(("token" = [])),
    responses(
        (status = 200, description = "The report, not stored as an attempt.", body = Graded),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such session, or its exercise left the catalog.", body = ErrorBody),
        (status = 409, description = "The session is not for an exercise.", body = ErrorBody),
    )
)]
pub async fn session_checks(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    SessionAccess { session: found, .. }: SessionAccess,
) -> Result<Json<Graded>, ApiError> {
    let [report] = reports(&state, &found, [lang]).await?;
    Ok(Json(Graded {
        attempt: None,
        report,
    }))
}

/// Query of the attempts listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptsQuery {
    /// Most attempts to return, newest first (100 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// `GET /api/exercises/{id}/attempts`: graded attempts, for whoever holds the admin token.
#[utoipa::path(
    get,
    path = "/api/exercises/{id}/attempts",
    tag = "exercises",
    params(("id" = String, Path, description = "Exercise id"), AttemptsQuery),
    security(("admin" = [])),
    responses(
        (status = 200, description = "Attempts, newest first, each with the version it was graded against.", body = Vec<Attempt>),
        (status = 400, description = "A query parameter out of range, malformed or unknown.", body = ErrorBody),
        (status = 401, description = "No or a wrong admin token.", body = ErrorBody),
        (status = 403, description = "A token, but the server has no admin token configured: nobody may list attempts.", body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn list_attempts(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    Query(query): Query<AttemptsQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<Attempt>>, ApiError> {
    // No credentials is 401 whatever the configuration; credentials on a server without an
    // admin token can never be right, which is 403.
    let Some(given) = auth::bearer(&headers, None) else {
        return Err(ApiError::Unauthorized(
            "attempts need the admin token: Authorization: Bearer <admin token>".into(),
        ));
    };
    let Some(admin) = state.config().admin_token.as_deref() else {
        return Err(ApiError::Forbidden(
            "attempts are for the admin; the server has no admin token (--admin-token)".into(),
        ));
    };
    let expected = auth::hash_token(admin);
    if auth::check(Some(&given), &expected, &[]).is_err() {
        return Err(ApiError::Unauthorized(
            "attempts need the admin token: Authorization: Bearer <admin token>".into(),
        ));
    }
    if state.catalog().get(&id).is_none() {
        return Err(no_exercise(&id));
    }
    let limit = query.limit.unwrap_or(DEFAULT_ATTEMPTS_PAGE);
    if limit == 0 || limit > MAX_ATTEMPTS_PAGE {
        return Err(ApiError::field(
            "limit",
            Message::new(
                format!("limit must be between 1 and {MAX_ATTEMPTS_PAGE}"),
                format!("limit 必须在 1 到 {MAX_ATTEMPTS_PAGE} 之间"),
            ),
        ));
    }
    let attempts = state.store().attempts(&id, limit).await?;
    Ok(Json(attempts))
}
