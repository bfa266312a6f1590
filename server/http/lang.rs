//! The request's language, as an extractor: the language switch's cookie if set, else
//! `Accept-Language` (see [`crate::i18n::Lang::choose`]). Pages render in it and the API's
//! messages to people are written in it.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use axum::http::request::Parts;

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
