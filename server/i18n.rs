//! The learner's language: English (the default and the fallback of every text) or Simplified
//! Chinese. Owns the choice only — which language a request asked for — not the texts, which
//! live beside what they describe (errno hints in the errno table, exercise texts in the
//! catalog, page texts in the page's modules). Knows nothing of HTTP: the edge reads the
//! cookie and `Accept-Language` and asks [`Lang::choose`].
//!
//! Also owns how a text carries its languages — [`Text`] for a fixed one, [`Message`] for one
//! made at run time — and the language of the task serving a request ([`Lang::current`]), in
//! which both are serialized.

/// The cookie the page's language switch sets; it wins over `Accept-Language`, because it is
/// the learner's own explicit choice.
pub const LANG_COOKIE: &str = "plugboard_lang";

/// A language Plugboard speaks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Lang {
    /// English: every text exists in it.
    #[default]
    #[serde(rename = "en")]
    En,
    /// Simplified Chinese (简体中文).
    #[serde(rename = "zh-CN")]
    Zh,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag, as in `<html lang>` and `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language a tag names: `zh`, `zh-CN`, `zh-Hans`, `zh-SG` are Simplified Chinese;
    /// `en` and `en-*` English. Traditional Chinese tags (`zh-TW`, `zh-HK`, `zh-Hant`) are not
    /// Simplified Chinese and name nothing we speak.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let tag = tag.trim().to_ascii_lowercase();
        let mut parts = tag.split(['-', '_']);
        match parts.next()? {
            "en" => Some(Lang::En),
            "zh" => {
                let rest: Vec<&str> = parts.collect();
                let traditional = rest
                    .iter()
                    .any(|p| matches!(*p, "hant" | "tw" | "hk" | "mo"));
                let simplified = rest.iter().any(|p| matches!(*p, "hans"));
                (simplified || !traditional).then_some(Lang::Zh)
            }
            _ => None,
        }
    }

    /// The best language for an `Accept-Language` value: the spoken tag of highest weight
    /// (ties keep the header's order); English when none is spoken or the header is absent or
    /// malformed.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::En;
        };
        let mut best: Option<(Lang, f32)> = None;
        for item in header.split(',').take(MAX_ACCEPT_LANGUAGE_ITEMS) {
            let mut fields = item.split(';');
            let Some(lang) = fields.next().and_then(Lang::from_tag) else {
                continue;
            };
            let weight = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .unwrap_or(0.0);
            if weight > 0.0 && best.is_none_or(|(_, w)| weight > w) {
                best = Some((lang, weight));
            }
        }
        best.map_or(Lang::En, |(lang, _)| lang)
    }

    /// The request's language: the switch's cookie if it names one we speak, else
    /// `Accept-Language`.
    pub fn choose(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        cookie
            .and_then(Lang::from_tag)
            .unwrap_or_else(|| Lang::from_accept_language(accept_language))
    }
}

tokio::task_local! {
    /// The language of the request (or WebSocket) a task serves; see [`Lang::current`].
    static CURRENT: Lang;
}

impl Lang {
    /// The language of the request the current task serves, English outside any.
    ///
    /// Why a task-local and not a parameter: a text a learner reads is serialized in many
    /// places (call results, the event log, WebSocket frames, snapshots, grading reports,
    /// every error answer, rejections made by extractors before a handler runs), and the
    /// domain types that carry them are serialized as they are. The HTTP edge sets the
    /// language once per request (and once per WebSocket task) with [`Lang::scope`]; a
    /// [`Text`] reads it when it is serialized. Tasks that serve nobody (the store's writer)
    /// see English, which is what the store keeps.
    pub fn current() -> Lang {
        CURRENT.try_with(|lang| *lang).unwrap_or_default()
    }

    /// Run `future` with `self` as [`Lang::current`].
    pub async fn scope<F: std::future::Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

/// A fixed text in every language: written once beside what it describes (an errno's hint,
/// a message of the API). Serialized in [`Lang::current`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// English.
    pub en: &'static str,
    /// Simplified Chinese; empty when not translated yet (English is shown instead).
    pub zh: &'static str,
}

impl Text {
    /// The text in `lang`, English where it has no translation.
    pub fn get(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh if !self.zh.is_empty() => self.zh,
            _ => self.en,
        }
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.get(Lang::current()))
    }
}

/// A message for a person made at run time (it names a descriptor, a field, a limit): English,
/// and Simplified Chinese when it has been written. A message made from a plain string has only
/// English (a parser's own words, say) and is shown in English in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Boxed rather than `String`: a message rides in every failed call's result, which is
    /// kept small.
    en: Box<str>,
    zh: Option<Box<str>>,
}

impl Message {
    /// A message in English and Simplified Chinese.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Message {
        Message {
            en: en.into().into_boxed_str(),
            zh: Some(zh.into().into_boxed_str()),
        }
    }

    /// The message in `lang`, English where it has no translation.
    pub fn get(&self, lang: Lang) -> &str {
        match (lang, &self.zh) {
            (Lang::Zh, Some(zh)) => zh,
            _ => &self.en,
        }
    }

    /// The English message.
    pub fn en(&self) -> &str {
        &self.en
    }

    /// The message as a database column keeps it: its English alone when it has no
    /// translation, else the JSON [`for_storage`] writes. Read back by [`Message::from_stored`].
    pub fn stored(&self) -> String {
        match self.zh {
            None => self.en.to_string(),
            Some(_) => {
                for_storage(|| serde_json::to_string(self)).unwrap_or_else(|_| self.en.to_string())
            }
        }
    }

    /// A message [`Message::stored`] wrote; any other text (a row written before messages
    /// kept their languages) is English.
    pub fn from_stored(text: String) -> Message {
        if text.starts_with('{') {
            if let Ok(StoredMessage::Both { en, zh }) = serde_json::from_str(&text) {
                return Message {
                    en: en.into_boxed_str(),
                    zh: zh.map(String::into_boxed_str),
                };
            }
        }
        Message::from(text)
    }

    /// `a` and `b` as one message, the first first; either alone when the other is missing.
    pub fn join(a: Option<Message>, b: Option<Message>) -> Option<Message> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Message::new(
                format!("{}; {}", a.en, b.en),
                format!("{}；{}", a.get(Lang::Zh), b.get(Lang::Zh)),
            )),
            (a, b) => a.or(b),
        }
    }
}

impl From<String> for Message {
    fn from(en: String) -> Message {
        Message {
            en: en.into_boxed_str(),
            zh: None,
        }
    }
}

impl From<&str> for Message {
    fn from(en: &str) -> Message {
        Message::from(en.to_owned())
    }
}

thread_local! {
    /// Set while [`for_storage`] serializes: messages then keep every language they have.
    static STORING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run `serialize` (a synchronous serialization) so that every [`Message`] in it keeps all its
/// languages, as `{"en": …, "zh-CN": …}`: what the store writes, so that a log read back later
/// (an ended session, a recording) is shown in the reader's language like a live one.
pub fn for_storage<R>(serialize: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            STORING.with(|s| s.set(self.0));
        }
    }
    let _reset = Reset(STORING.with(|s| s.replace(true)));
    serialize()
}

/// Whether `json`, written under [`for_storage`], holds no message in several languages, and
/// so reads in English exactly as stored. Errs on the safe side: text that merely looks like a
/// translation's key (in a received payload's preview, say) only costs a re-serialization.
pub fn stored_in_english_only(json: &str) -> bool {
    !json.contains(STORED_ZH_KEY)
}

/// The key a stored message's Chinese text has (see [`for_storage`]).
const STORED_ZH_KEY: &str = "\"zh-CN\":";

/// Serialized in [`Lang::current`], like a [`Text`]; for the store (see [`for_storage`]) in
/// every language it has.
impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.zh {
            Some(zh) if STORING.with(std::cell::Cell::get) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry(Lang::En.tag(), &*self.en)?;
                map.serialize_entry(Lang::Zh.tag(), &**zh)?;
                map.end()
            }
            _ => serializer.serialize_str(self.get(Lang::current())),
        }
    }
}

/// A message as the store keeps it: a plain string (English only, as logs written before
/// messages kept their languages) or every language it has.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum StoredMessage {
    Plain(String),
    Both {
        en: String,
        #[serde(rename = "zh-CN")]
        zh: Option<String>,
    },
}

/// Read back from the store in either form [`for_storage`] writes.
impl<'de> serde::Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match StoredMessage::deserialize(deserializer)? {
            StoredMessage::Plain(en) => Message::from(en),
            StoredMessage::Both { en, zh } => Message {
                en: en.into_boxed_str(),
                zh: zh.map(String::into_boxed_str),
            },
        })
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en)
    }
}

/// How many items of an `Accept-Language` header are looked at; browsers send a handful.
const MAX_ACCEPT_LANGUAGE_ITEMS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_weight_we_speak() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language(Some("en-US,en;q=0.9,zh;q=0.8")),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr;q=1, zh-Hans;q=0.5")),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language(Some("zh-TW")), Lang::En);
        assert_eq!(
            Lang::from_accept_language(Some("zh;q=0, en;q=0.1")),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language(Some("zh;q=abc")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some(",,;;==")), Lang::En);
    }

    #[tokio::test]
    async fn a_text_is_serialized_in_the_current_language() {
        let text = Text {
            en: "hello",
            zh: "你好",
        };
        assert_eq!(serde_json::to_string(&text).unwrap(), "\"hello\"");
        let zh = Lang::Zh.scope(async { serde_json::to_string(&text).unwrap() });
        assert_eq!(zh.await, "\"你好\"");
        let untranslated = Text { en: "hi", zh: "" };
        assert_eq!(untranslated.get(Lang::Zh), "hi");
    }

    #[tokio::test]
    async fn a_stored_message_keeps_both_languages_and_reads_back_in_either() {
        let message = Message::new("the peer sent FIN", "对端发来了 FIN");
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            "\"the peer sent FIN\""
        );
        let stored = for_storage(|| serde_json::to_string(&message).unwrap());
        assert_eq!(
            stored,
            r#"{"en":"the peer sent FIN","zh-CN":"对端发来了 FIN"}"#
        );
        // Only inside for_storage.
        assert_eq!(
            serde_json::to_string(&message).unwrap(),
            "\"the peer sent FIN\""
        );
        assert!(!stored_in_english_only(&stored));
        assert!(stored_in_english_only(r#"{"note":"hello"}"#));
        let read: Message = serde_json::from_str(&stored).unwrap();
        assert_eq!(read, message);
        let zh = Lang::Zh.scope(async { serde_json::to_string(&read).unwrap() });
        assert_eq!(zh.await, "\"对端发来了 FIN\"");
        // A log stored before messages kept their languages reads as English.
        let old: Message = serde_json::from_str("\"hello\"").unwrap();
        assert_eq!(old.get(Lang::Zh), "hello");
        // A column keeps the same, and English alone as plain text.
        assert_eq!(Message::from_stored(message.stored()), message);
        assert_eq!(Message::from("ended").stored(), "ended");
        assert_eq!(Message::from_stored("ended".into()).get(Lang::Zh), "ended");
        assert_eq!(Message::from_stored("{not json".into()).en(), "{not json");
        // English only stays a plain string in the store too.
        let plain = for_storage(|| serde_json::to_string(&Message::from("hi")).unwrap());
        assert_eq!(plain, "\"hi\"");
    }

    #[test]
    fn the_cookie_wins_when_it_names_a_language() {
        assert_eq!(Lang::choose(Some("zh-CN"), Some("en")), Lang::Zh);
        assert_eq!(Lang::choose(Some("en"), Some("zh")), Lang::En);
        assert_eq!(Lang::choose(Some("klingon"), Some("zh")), Lang::Zh);
        assert_eq!(Lang::choose(None, None), Lang::En);
    }
}
