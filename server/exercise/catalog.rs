//! The catalog: every file under `exercises/`, compiled into the binary, parsed and checked
//! once at start.

use std::collections::BTreeMap;

use super::{Exercise, ProgramSpec};
use crate::i18n::Lang;
use crate::sandbox::{Addr, HostId};

/// The catalog's files, by name. A unit test checks that every file of `exercises/` is here.
pub const FILES: &[(&str, &str)] = &[
    (
        "tcp-server-lifecycle.toml",
        include_str!("../../exercises/tcp-server-lifecycle.toml"),
    ),
    (
        "tcp-client-echo.toml",
        include_str!("../../exercises/tcp-client-echo.toml"),
    ),
    (
        "udp-datagrams.toml",
        include_str!("../../exercises/udp-datagrams.toml"),
    ),
    (
        "udp-echo.toml",
        include_str!("../../exercises/udp-echo.toml"),
    ),
    (
        "connection-refused.toml",
        include_str!("../../exercises/connection-refused.toml"),
    ),
    (
        "port-in-use.toml",
        include_str!("../../exercises/port-in-use.toml"),
    ),
    (
        "listen-backlog.toml",
        include_str!("../../exercises/listen-backlog.toml"),
    ),
    (
        "half-close.toml",
        include_str!("../../exercises/half-close.toml"),
    ),
    (
        "reset-linger.toml",
        include_str!("../../exercises/reset-linger.toml"),
    ),
    (
        "nonblocking-accept.toml",
        include_str!("../../exercises/nonblocking-accept.toml"),
    ),
    ("ipv6.toml", include_str!("../../exercises/ipv6.toml")),
    (
        "many-clients.toml",
        include_str!("../../exercises/many-clients.toml"),
    ),
    (
        "handshake-numbers.toml",
        include_str!("../../exercises/handshake-numbers.toml"),
    ),
    (
        "refused-rst.toml",
        include_str!("../../exercises/refused-rst.toml"),
    ),
    (
        "four-way-close.toml",
        include_str!("../../exercises/four-way-close.toml"),
    ),
    (
        "udp-boundaries-on-the-wire.toml",
        include_str!("../../exercises/udp-boundaries-on-the-wire.toml"),
    ),
    (
        "unix-echo.toml",
        include_str!("../../exercises/unix-echo.toml"),
    ),
    (
        "socketpair.toml",
        include_str!("../../exercises/socketpair.toml"),
    ),
    (
        "seqpacket-boundaries.toml",
        include_str!("../../exercises/seqpacket-boundaries.toml"),
    ),
    (
        "ping-raw-icmp.toml",
        include_str!("../../exercises/ping-raw-icmp.toml"),
    ),
    (
        "ephemeral-ports.toml",
        include_str!("../../exercises/ephemeral-ports.toml"),
    ),
];

/// A catalog file that does not make a valid exercise.
#[derive(Debug, thiserror::Error)]
#[error("exercises/{file}: {message}")]
pub struct CatalogError {
    pub file: String,
    pub message: String,
}

/// Every exercise, by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    exercises: BTreeMap<String, Exercise>,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        Catalog::from_files(FILES.iter().map(|(name, text)| (*name, *text)))
    }

    /// A catalog from (file name, text) pairs.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Catalog, CatalogError> {
        let mut exercises = BTreeMap::new();
        for (file, text) in files {
            let fail = |message: String| CatalogError {
                file: file.to_owned(),
                message,
            };
            let exercise: Exercise = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
            validate(file, &exercise).map_err(fail)?;
            if exercises.insert(exercise.id.clone(), exercise).is_some() {
                return Err(fail("a second exercise with this id".to_owned()));
            }
        }
        Ok(Catalog { exercises })
    }

    /// An exercise by id.
    pub fn get(&self, id: &str) -> Option<&Exercise> {
        self.exercises.get(id)
    }

    /// Every exercise, by id.
    pub fn all(&self) -> impl Iterator<Item = &Exercise> {
        self.exercises.values()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.exercises.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.exercises.is_empty()
    }
}

fn validate(file: &str, e: &Exercise) -> Result<(), String> {
    if file.strip_suffix(".toml") != Some(e.id.as_str()) {
        return Err(format!("the file must be named {}.toml", e.id));
    }
    if !(2..=26).contains(&e.setup.hosts) {
        return Err("setup.hosts must be between 2 and 26".to_owned());
    }
    let host_ok = |name: &str| {
        name.parse::<HostId>()
            .ok()
            .is_some_and(|h| h.index() < e.setup.hosts)
    };
    for p in &e.setup.programs {
        if !host_ok(p.host()) {
            return Err(format!("program on unknown host {}", p.host()));
        }
        if let ProgramSpec::Client { to_host, .. } = p {
            if !host_ok(to_host) {
                return Err(format!("client connects to unknown host {to_host}"));
            }
        }
        if let ProgramSpec::EchoUnix { path, .. } = p {
            if path.parse::<Addr>().ok().and_then(Addr::unix).is_none() {
                return Err(format!(
                    "echo_unix path `{path}` must be an absolute path or an @abstract name"
                ));
            }
        }
    }
    if e.checks.is_empty() {
        return Err("an exercise needs at least one check".to_owned());
    }
    for lang in Lang::ALL {
        let Some(t) = e.translation(lang) else {
            continue;
        };
        let tag = lang.tag();
        if let Some(bad) = t
            .checks
            .keys()
            .find(|id| !e.checks.iter().any(|c| &&c.id == id))
        {
            return Err(format!("[{tag}.checks.{bad}] names no check"));
        }
        if t.teaches
            .as_ref()
            .is_some_and(|v| v.len() != e.teaches.len())
        {
            return Err(format!(
                "[{tag}] teaches must have as many items as the English one, in its order"
            ));
        }
    }
    let mut ids: Vec<&str> = e.checks.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err("two checks share an id".to_owned());
    }
    for check in &e.checks {
        if let Some(bad) = check.rule.hosts().into_iter().find(|h| !host_ok(h)) {
            return Err(format!("check {} names unknown host {bad}", check.id));
        }
        let mut caused_by = check
            .rule
            .packet_filters()
            .into_iter()
            .filter_map(|p| p.caused_by);
        if caused_by.any(|k| !k.is_call()) {
            return Err(format!(
                "check {}: caused_by must name a call (connect, close, sendto, …)",
                check.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_file_is_embedded_and_valid() {
        let catalog = Catalog::embedded().unwrap();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/exercises");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new files to catalog::FILES");
        assert!(catalog.len() >= 10);
    }

    #[test]
    fn mistakes_in_a_file_are_reported() {
        let bad = r#"
id = "x"
version = 1
title = "t"
summary = "s"
text = "t"
[[checks]]
id = "a"
text = "a"
hint = "h"
rule = { type = "event", host = "Q" }
"#;
        let e = Catalog::from_files([("x.toml", bad)]).unwrap_err();
        assert!(e.to_string().contains("unknown host Q"), "{e}");
        let e = Catalog::from_files([("y.toml", bad)]).unwrap_err();
        assert!(e.to_string().contains("named x.toml"), "{e}");
    }

    #[test]
    fn a_text_left_out_of_a_translation_is_shown_in_english() {
        let file = |zh: &str| {
            format!(
                "id = \"x\"\nversion = 1\ntitle = \"Title\"\nsummary = \"Summary\"\n\
                 teaches = [\"connect\", \"ports\"]\ntext = \"Text\"\n\
                 [[checks]]\nid = \"a\"\ntext = \"Check\"\nhint = \"Hint\"\n\
                 rule = {{ type = \"event\", kind = \"connect\" }}\n{zh}"
            )
        };
        let partial = file("[zh-CN]\ntitle = \"标题\"\n[zh-CN.checks.a]\nhint = \"提示\"\n");
        let catalog = Catalog::from_files([("x.toml", partial.as_str())]).unwrap();
        let exercise = catalog.get("x").unwrap();
        let zh = exercise.localized(Lang::Zh);
        assert_eq!(
            (zh.title.as_str(), zh.summary.as_str()),
            ("标题", "Summary")
        );
        assert_eq!(
            (zh.checks[0].text.as_str(), zh.checks[0].hint.as_str()),
            ("Check", "提示")
        );
        assert_eq!(zh.zh, None, "the translations stay in the catalog");
        assert_eq!(exercise.localized(Lang::En).title, "Title");
        assert_eq!(
            exercise.untranslated(Lang::Zh),
            ["summary", "teaches", "text", "checks.a.text"]
        );
        assert!(exercise.untranslated(Lang::En).is_empty());

        for (bad, says) in [
            (
                "[zh-CN.checks.b]\ntext = \"?\"\n",
                "[zh-CN.checks.b] names no check",
            ),
            ("[zh-CN]\nteaches = [\"连接\"]\n", "as many items"),
            ("[zh-CN]\ntitel = \"?\"\n", "titel"),
        ] {
            let e = Catalog::from_files([("x.toml", file(bad).as_str())]).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn an_echo_unix_program_needs_a_unix_name() {
        let with_path = |path: &str| {
            format!(
                "id = \"x\"\nversion = 1\ntitle = \"t\"\nsummary = \"s\"\ntext = \"t\"\n\
                 [[setup.programs]]\nprogram = \"echo_unix\"\nhost = \"A\"\npath = \"{path}\"\n\
                 [[checks]]\nid = \"a\"\ntext = \"a\"\nhint = \"h\"\n\
                 rule = {{ type = \"event\", kind = \"connect\" }}\n"
            )
        };
        for good in ["/tmp/echo.sock", "@echo"] {
            Catalog::from_files([("x.toml", with_path(good).as_str())])
                .unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for bad in ["tmp/echo.sock", "10.0.0.1:7", ""] {
            let e = Catalog::from_files([("x.toml", with_path(bad).as_str())]).unwrap_err();
            assert!(e.to_string().contains("echo_unix path"), "{bad}: {e}");
        }
    }

    #[test]
    fn mistakes_in_packet_rules_are_reported() {
        let with_rule = |rule: &str| {
            format!(
                "id = \"x\"\nversion = 1\ntitle = \"t\"\nsummary = \"s\"\ntext = \"t\"\n\
                 [[checks]]\nid = \"a\"\ntext = \"a\"\nhint = \"h\"\nrule = {rule}\n"
            )
        };
        let load = |rule: &str| Catalog::from_files([("x.toml", with_rule(rule).as_str())]);
        // Every shape the format doc shows loads.
        for good in [
            r#"{ type = "packet", from = "B", to = "A", flags = ["RST"], caused_by = "connect" }"#,
            r#"{ type = "none", packet = { from = "B", flags = ["SYN", "ACK"] } }"#,
            r#"{ type = "count", packet = { from = "A", proto = "udp" }, min = 3 }"#,
            r#"{ type = "order", first = { packet = { flags = ["FIN"] } }, then = { kind = "close" } }"#,
            r#"{ type = "handshake", client = "A", server = "B", port = 7007 }"#,
            r#"{ type = "no_data_before_handshake", host = "A" }"#,
            r#"{ type = "packet", from = "B", proto = "icmp", icmp_type = 0 }"#,
            r#"{ type = "event", kind = "connect", host = "A", status = "ok", remote_path = "/tmp/echo.sock" }"#,
            r#"{ type = "event", kind = "bind", local_path = "@echo", path = "@echo" }"#,
            r#"{ type = "event", kind = "socketpair", family = "unix", sock_type = "seqpacket" }"#,
            r#"{ type = "event", kind = "connect", host = "A", status = "ok", ephemeral = true }"#,
            r#"{ type = "count", kind = "connect", host = "A", distinct = "local_port", min = 2 }"#,
            r#"{ type = "order", first = { kind = "close" }, then = { kind = "recv", bytes = 0 } }"#,
        ] {
            load(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
        for (bad, says) in [
            (r#"{ type = "packet", from = "Q" }"#, "unknown host Q"),
            (
                r#"{ type = "none", packet = { to = "C" } }"#,
                "unknown host C",
            ),
            (
                r#"{ type = "handshake", client = "A", server = "Z" }"#,
                "unknown host Z",
            ),
            (r#"{ type = "packet", flags = ["SYNACK"] }"#, "SYNACK"),
            (
                r#"{ type = "packet", caused_by = "tcp_state" }"#,
                "must name a call",
            ),
            (r#"{ type = "packet", flag = ["SYN"] }"#, "flag"),
            (r#"{ type = "event", sock_type = "packet" }"#, "packet"),
            (r#"{ type = "count", distinct = "port", min = 2 }"#, "port"),
            (r#"{ type = "packet", icmp_type = 300 }"#, "300"),
        ] {
            let e = load(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
