//! The request's language, as an extractor: the language switch's cookie if set, else
//! `Accept-Language` (see [`crate::i18n::Lang::choose`]). Pages render in it and the API's
//! messages to people are written in it.
//!
//! [`in_request_language`] is the middleware that makes it the task's
//! [`Lang::current`] while the request is served, so every text serialized for the answer
//! (errno hints, error messages, exercise texts) is in it, and that says so on JSON answers:
//! `Content-Language`, and `Vary: Accept-Language, Cookie` for caches.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_LANGUAGE, CONTENT_TYPE, COOKIE, VARY};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::i18n::{LANG_COOKIE, Lang};

/// The language the request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLang(pub Lang);

impl RequestLang {
    /// The language of a request with these headers.
    pub fn of(headers: &HeaderMap) -> Lang {
        let cookie = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name.trim() == LANG_COOKIE).then_some(value.trim())
            });
        let accept = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        Lang::choose(cookie, accept)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestLang {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(RequestLang(RequestLang::of(&parts.headers)))
    }
}

/// What a JSON answer varies with, besides what it already names.
const VARIES_WITH: &str = "Accept-Language, Cookie";

/// Serve the request in its language (see the module's doc). Answers other than JSON (pages,
/// static files, metrics) set their own headers or have no language.
pub async fn in_request_language(request: Request, next: Next) -> Response {
    let lang = RequestLang::of(request.headers());
    let mut response = lang.scope(next.run(request)).await;
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json {
        let headers = response.headers_mut();
        if !headers.contains_key(CONTENT_LANGUAGE) {
            headers.insert(CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
        }
        // A node that answered a forwarded request has said it already.
        let said = headers
            .get_all(VARY)
            .iter()
            .any(|v| v.as_bytes() == VARIES_WITH.as_bytes());
        if !said {
            headers.append(VARY, HeaderValue::from_static(VARIES_WITH));
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn cookie_then_accept_language_then_english() {
        assert_eq!(RequestLang::of(&headers(&[])), Lang::En);
        assert_eq!(
            RequestLang::of(&headers(&[("accept-language", "zh-CN")])),
            Lang::Zh
        );
        assert_eq!(
            RequestLang::of(&headers(&[
                ("accept-language", "zh-CN"),
                ("cookie", "a=b; plugboard_lang=en")
            ])),
            Lang::En
        );
        assert_eq!(
            RequestLang::of(&headers(&[("cookie", "plugboard_lang=zh-CN")])),
            Lang::Zh
        );
    }
}
