//! `GET /api/sessions/{id}/export?lang=c|python|rust`: a session, live or ended, as one program per host.
//! The handler reads the whole log (as every reader does, through [`super::log`]) and hands it
//! to [`crate::export`], which knows nothing of HTTP; the comments are written in the
//! request's language. Bounded by the session's own limits: its log holds at most
//! `max_events` events.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::access::SessionAccess;
use super::error::{ApiError, ErrorBody, Query};
use super::lang::RequestLang;
use crate::export::{Export, Language, ProgramFile, Skipped};

/// Query of `GET …/export`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// The programs' language: `c`, `python` or `rust`.
    #[param(inline, example = "c")]
    pub lang: LanguageName,
}

/// `lang` as the query gives it: any text, which the handler checks itself (a clear 400 with
/// the names it takes); the document lists exactly [`Language::ALL`]'s names.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct LanguageName(String);

impl utoipa::PartialSchema for LanguageName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Language::ALL.iter().map(|l| l.name())))
            .into()
    }
}

impl utoipa::ToSchema for LanguageName {}

/// One program of an export.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportFileBody {
    /// The host whose calls it makes; null for a file the programs share (Rust's
    /// `Cargo.toml`).
    #[schema(example = "A")]
    pub host: Option<String>,
    /// The file's name.
    #[schema(example = "host_a.c")]
    pub name: String,
    /// The source text.
    pub content: String,
}

/// A call of the session the programs do not make.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkippedBody {
    /// The call's step number.
    pub step: u32,
    /// Its host.
    #[schema(example = "A")]
    pub host: String,
    /// The call.
    #[schema(example = "socketpair")]
    pub call: String,
    /// Why: `unsupported` (not TCP or UDP over IP), `unknown_descriptor` (a descriptor no
    /// call of the session made), `never_finished` (still blocked when the log ends, or ended
    /// by the session) or `sandbox` (refused by the sandbox, not the kernel).
    pub reason: String,
}

/// A session as programs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportBody {
    /// The programs' language.
    #[schema(example = "c")]
    pub lang: String,
    /// One program per host that made calls, in the order to start them.
    pub files: Vec<ExportFileBody>,
    /// How to build and run them, what they print, their address parameters (the text that
    /// heads every file, without comment markers).
    pub readme: String,
    /// Calls the programs leave out.
    pub skipped: Vec<SkippedBody>,
}

impl From<ProgramFile> for ExportFileBody {
    fn from(file: ProgramFile) -> Self {
        let ProgramFile {
            host,
            name,
            content,
        } = file;
        ExportFileBody {
            host: host.map(|h| h.to_string()),
            name,
            content,
        }
    }
}

impl From<Skipped> for SkippedBody {
    fn from(skipped: Skipped) -> Self {
        let Skipped {
            step,
            host,
            call,
            reason,
        } = skipped;
        SkippedBody {
            step,
            host: host.to_string(),
            call: call.to_owned(),
            reason: reason.tag().to_owned(),
        }
    }
}

impl From<Export> for ExportBody {
    fn from(export: Export) -> Self {
        let Export {
            language,
            files,
            readme,
            skipped,
        } = export;
        ExportBody {
            lang: language.name().to_owned(),
            files: files.into_iter().map(Into::into).collect(),
            readme,
            skipped: skipped.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /api/sessions/{id}/export?lang=c`: the session's calls as programs.
#[utoipa::path(
    get,
    path = "/api/sessions/{id}/export",
    tag = "events",
    params(("id" = String, Path, description = "Session id"), ExportQuery),
    security(("token" = [])),
    responses(
        (status = 200, description = "One program per host, live or ended session alike, that \
            makes the session's calls in the session's order and checks each outcome against \
            the log; each prints one line per call, `step <n> <call> -> <outcome>`. Comments \
            and the readme are in the request's language (cookie, then Accept-Language). The \
            viewer token may export.", body = ExportBody),
        (status = 400, description = "`lang` missing or not a language programs are exported in.", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
    )
)]
pub async fn export_session(
    State(state): State<AppState>,
    query: Result<Query<ExportQuery>, ApiError>,
    RequestLang(lang): RequestLang,
    access: Result<SessionAccess, ApiError>,
) -> Result<Json<ExportBody>, ApiError> {
    let Query(query) = query?;
    let language = Language::from_name(&query.lang.0).ok_or_else(|| {
        let names: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
        let names = names.join(", ");
        ApiError::field(
            "lang",
            crate::i18n::Message::new(
                format!(
                    "cannot export as `{}`: lang must be one of {names}",
                    query.lang.0
                ),
                format!("无法导出为 `{}`：lang 必须是 {names} 之一", query.lang.0),
            ),
        )
    })?;
    let found = access?.session;
    let events = super::log::all(&state, &found).await?;
    Ok(Json(crate::export::export(&events, language, lang).into()))
}
