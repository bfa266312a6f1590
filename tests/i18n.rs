//! Languages: every text a learner reads on the server's side exists in Simplified Chinese
//! (a test lists what does not), and the API answers in the language the request asks for —
//! by the language switch's cookie or `Accept-Language` — with its JSON codes unchanged.

mod common;

use common::app::TestApp;
use plugboard::exercise::catalog::Catalog;
use plugboard::exercise::grader::NO_PACKETS_TEXT;
use plugboard::i18n::{Lang, Text};
use plugboard::sandbox::Errno;

/// Every server-side text with no Chinese translation, one line each, named so it can be
/// found: the errno table's hints, fixed texts, and each exercise's fields and checks.
fn untranslated() -> Vec<String> {
    let mut missing = Vec::new();
    let mut text = |name: String, t: Text| {
        if t.zh.trim().is_empty() {
            missing.push(name);
        }
    };
    for errno in Errno::all() {
        text(format!("errno {}: hint", errno.name), errno.hint);
    }
    text("errno (unknown): hint".into(), Errno::unknown_hint());
    text("grader: NO_PACKETS".into(), NO_PACKETS_TEXT);
    let catalog = Catalog::embedded().expect("the catalog loads");
    for exercise in catalog.all() {
        for field in exercise.untranslated(Lang::Zh) {
            missing.push(format!("exercises/{}.toml: [zh-CN] {field}", exercise.id));
        }
    }
    missing
}

#[test]
fn every_learner_text_is_translated() {
    let missing = untranslated();
    for line in &missing {
        println!("untranslated: {line}");
    }
    assert!(
        missing.is_empty(),
        "{} texts have no Simplified Chinese translation:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
