//! The pages: server-rendered shells (askama) and the static files they load, all compiled
//! into the binary. The pages talk to the REST API and the WebSocket only: a shell carries no
//! session data and no token, and everything live is drawn by the ES modules under
//! `web/static/`, which the Content-Security-Policy lets load from this origin only. A shell
//! is written in the request's language ([`RequestLang`]), its words in [`texts`].

mod texts;

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;
use super::access::PathParams;
use super::error::ApiError;
use super::lang::RequestLang;
use crate::i18n::Lang;
use crate::sandbox::SessionId;
use texts::PageTexts;

/// How browsers may cache a static file: keep it, but ask again each time (the `ETag` makes
/// the answer a cheap 304), so a new server version is picked up at once.
const STATIC_CACHE_CONTROL: &str = "no-cache";
/// Pages are shells that change with the server version only; never stored by proxies.
const PAGE_CACHE_CONTROL: &str = "no-cache, private";
/// A page's language follows these request headers (see [`RequestLang`]).
const PAGE_VARY: &str = "Accept-Language, Cookie";

/// One file served under `/static/`, compiled in.
#[derive(Debug)]
struct StaticFile {
    /// The name after `/static/`.
    name: &'static str,
    /// Its Content-Type.
    content_type: &'static str,
    /// Its bytes.
    body: &'static [u8],
}

macro_rules! static_file {
    ($name:literal, $content_type:expr) => {
        StaticFile {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../web/static/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// Every file under `web/static/` (a unit test checks that none is missing).
static STATIC_FILES: &[StaticFile] = &[
    static_file!("app.css", CSS),
    static_file!("favicon.svg", SVG),
    static_file!("address.js", JS),
    static_file!("api.js", JS),
    static_file!("attribution.js", JS),
    static_file!("calls.js", JS),
    static_file!("console.js", JS),
    static_file!("describe.js", JS),
    static_file!("dom.js", JS),
    static_file!("exercise.js", JS),
    static_file!("export.js", JS),
    static_file!("facts.js", JS),
    static_file!("hints.js", JS),
    static_file!("i18n.js", JS),
    static_file!("icmp.js", JS),
    static_file!("inspector.js", JS),
    static_file!("landing.js", JS),
    static_file!("ladder.js", JS),
    static_file!("layers.js", JS),
    static_file!("layout.js", JS),
    static_file!("lessons.js", JS),
    static_file!("log.js", JS),
    static_file!("model.js", JS),
    static_file!("ports.js", JS),
    static_file!("recording.js", JS),
    static_file!("scenarios.js", JS),
    static_file!("session.js", JS),
    static_file!("store.js", JS),
    static_file!("topology.js", JS),
];

/// Entity tags of the static files, in the order of [`STATIC_FILES`]: a digest of the bytes.
static STATIC_ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    STATIC_FILES
        .iter()
        .map(|file| {
            let digest = Sha256::digest(file.body);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
        .collect()
});

/// Routes of the pages and static files.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(landing))
        .route("/s/{id}", get(session_page))
        .route("/static/{name}", get(static_file))
}

/// The landing page's shell.
#[derive(Debug, Template)]
#[template(path = "index.html")]
struct LandingPage {
    /// The server's version, shown in the footer.
    version: &'static str,
    /// The page's language tag, as in `<html lang>`.
    tag: &'static str,
    /// The page's words in that language.
    t: &'static PageTexts,
}

/// The session page's shell; the token stays in the URL fragment, out of this request.
#[derive(Debug, Template)]
#[template(path = "session.html")]
struct SessionPage {
    /// The server's version, shown in the footer.
    version: &'static str,
    /// The session the page opens.
    id: String,
    /// The page's language tag, as in `<html lang>`.
    tag: &'static str,
    /// The page's words in that language.
    t: &'static PageTexts,
}

fn page(template: &impl Template, lang: Lang) -> Result<Response, ApiError> {
    let html = template
        .render()
        .map_err(|e| ApiError::Internal(format!("rendering a page: {e}")))?;
    Ok((
        [
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(PAGE_CACHE_CONTROL),
            ),
            (
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(lang.tag()),
            ),
            (header::VARY, HeaderValue::from_static(PAGE_VARY)),
        ],
        Html(html),
    )
        .into_response())
}

/// `GET /`: what Plugboard is, a button that starts a session, the exercises.
async fn landing(RequestLang(lang): RequestLang) -> Result<Response, ApiError> {
    page(
        &LandingPage {
            version: env!("CARGO_PKG_VERSION"),
            tag: lang.tag(),
            t: PageTexts::of(lang),
        },
        lang,
    )
}

/// `GET /s/{id}`: the session page. Whether the session exists, and whether the token in the
/// fragment opens it, is for the page to ask the API.
async fn session_page(
    RequestLang(lang): RequestLang,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let id: SessionId = id
        .parse()
        .map_err(|()| ApiError::NotFound(format!("no session `{id}`").into()))?;
    page(
        &SessionPage {
            version: env!("CARGO_PKG_VERSION"),
            id: id.to_string(),
            tag: lang.tag(),
            t: PageTexts::of(lang),
        },
        lang,
    )
}

/// `GET /static/{name}`: a compiled-in file, or 304 when the browser has it already.
async fn static_file(
    PathParams(name): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (index, file) = STATIC_FILES
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no static file `{name}`").into()))?;
    let etag = &STATIC_ETAGS[index];
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let etag =
        HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(format!("static etag: {e}")))?;
    let cache = HeaderValue::from_static(STATIC_CACHE_CONTROL);
    if cached {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        file.body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_under_web_static_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/static");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut served: Vec<String> = STATIC_FILES.iter().map(|f| f.name.to_owned()).collect();
        served.sort();
        assert_eq!(
            on_disk, served,
            "list every file of web/static in STATIC_FILES"
        );
    }

    #[test]
    fn content_types_follow_the_extension() {
        for file in STATIC_FILES {
            let expected = match file.name.rsplit('.').next() {
                Some("js") => JS,
                Some("css") => CSS,
                Some("svg") => SVG,
                other => panic!("no content type for {other:?}"),
            };
            assert_eq!(file.content_type, expected, "{}", file.name);
        }
    }

    fn landing(lang: Lang) -> String {
        LandingPage {
            version: "9.9.9",
            tag: lang.tag(),
            t: PageTexts::of(lang),
        }
        .render()
        .unwrap()
    }

    fn session(lang: Lang) -> String {
        SessionPage {
            version: "9.9.9",
            id: "00000000000000ff".to_owned(),
            tag: lang.tag(),
            t: PageTexts::of(lang),
        }
        .render()
        .unwrap()
    }

    #[test]
    fn pages_render_in_each_language() {
        for lang in Lang::ALL {
            let tag = format!("<html lang=\"{}\">", lang.tag());
            assert!(landing(lang).contains(&tag), "{lang:?}");
            assert!(session(lang).contains(&tag), "{lang:?}");
            assert!(landing(lang).contains("data-lang=\"zh-CN\""), "the switch");
        }
        assert!(landing(Lang::En).contains("New session"));
        assert!(landing(Lang::Zh).contains("新建会话"));
        assert!(session(Lang::Zh).contains("引导场景"));
    }

    #[test]
    fn pages_render() {
        let landing = landing(Lang::En);
        assert!(landing.contains("/static/landing.js"));
        let session = session(Lang::En);
        assert!(session.contains("data-session=\"00000000000000ff\""));
        assert!(
            !session.contains("<script>"),
            "no inline scripts under the CSP"
        );
        assert!(
            !session.contains("style=\""),
            "no inline styles under the CSP"
        );
    }
}
