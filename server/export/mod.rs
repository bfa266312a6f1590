//! Exporting a session as programs: one program per host that makes the session's calls in
//! the session's order with the standard socket API of a language, checks that every call
//! turns out as it did in the session, and says why in comments a learner can read.
//!
//! Owns the way from an event log to source text, in two stages. [`plan::Plan`] reads the log
//! (live or stored alike: it is only a slice of events) into a language-neutral plan: per
//! host, the ordered steps with their arguments, descriptor variables, expected outcome and
//! whether the call blocked; the hosts' addresses as parameters with one-machine defaults; the
//! calls no generator can express, with the reason. A generator per language ([`c`],
//! [`python`], [`rust`]) turns the
//! plan into files. Knows nothing of HTTP or SQL: the edge finds the log and asks [`export`].
//!
//! Every generated program prints exactly one line per call, in one fixed form that all
//! languages share, so a run can be checked against the session step by step:
//!
//! ```text
//! step <n> <call> -> <outcome>
//! ```
//!
//! `<n>` numbers the session's calls from 1 in the order they were made (across all hosts);
//! `<call>` is the call's name as the event log writes it (`connect`, `recvfrom`,
//! `nonblocking`); `<outcome>` is `ok`, a byte count for `send`/`recv`/`sendto`/`recvfrom`, an
//! errno name such as `ECONNREFUSED`, or `skipped` for a call the program cannot make. When
//! the outcome differs from the session's, the line goes on with ` expected <outcome>` and the
//! program exits with status 1 at once.

pub mod c;
mod lesson;
pub mod plan;
pub mod python;
pub mod rust;

use crate::i18n::Lang;
use crate::sandbox::{Event, HostId, ShutdownHow, SockOpt};

pub use plan::{Plan, Skipped};

/// The program's line format, for programs and readers alike (see the module's doc).
pub const LINE_FORMAT: &str = "step <n> <call> -> <outcome>";

/// A language programs can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// C with POSIX sockets.
    C,
    /// Python 3 with the `socket` module.
    Python,
    /// Rust with `std::net`'s types and `socket2`'s calls.
    Rust,
}

impl Language {
    /// Every language a session can be exported in.
    pub const ALL: [Language; 3] = [Language::C, Language::Python, Language::Rust];

    /// The name `?lang=` takes.
    pub fn name(self) -> &'static str {
        match self {
            Language::C => "c",
            Language::Python => "python",
            Language::Rust => "rust",
        }
    }

    /// The language `?lang=` names.
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.name() == name)
    }
}

/// One source file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFile {
    /// The host whose calls it makes; none for a file all programs share (Cargo.toml).
    pub host: Option<HostId>,
    /// Its file name, e.g. `host_a.c`.
    pub name: String,
    /// The source text.
    pub content: String,
}

/// A session exported as programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// The language of the files.
    pub language: Language,
    /// One program per host that made calls, in the order to start them.
    pub files: Vec<ProgramFile>,
    /// How to build and run them, in the requested language (the same text heads each file).
    pub readme: String,
    /// Calls the programs do not make, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Export the session whose log is `events` (in seq order) as programs in `language`, with
/// comments in `lang`.
pub fn export<E: std::borrow::Borrow<Event>>(
    events: &[E],
    language: Language,
    lang: Lang,
) -> Export {
    let plan = Plan::from_log(events);
    let (files, readme) = match language {
        Language::C => c::generate(&plan, lang),
        Language::Python => python::generate(&plan, lang),
        Language::Rust => rust::generate(&plan, lang),
    };
    Export {
        language,
        files,
        readme,
        skipped: plan.skipped(),
    }
}

/// The file name stem of a host's program: `host_a`.
pub fn file_stem(host: HostId) -> String {
    format!("host_{}", host.to_string().to_ascii_lowercase())
}

/// Seconds from now the run command starts the programs' shared timeline at: time for every
/// program to start.
const START_DELAY_SECS: u32 = 2;

/// How a language builds and runs a host's program, for the header.
struct Recipe {
    /// The command that builds host `stem`'s program, if it needs building.
    build: fn(&str) -> Option<String>,
    /// The command that runs it.
    run: fn(&str) -> String,
}

/// The header every program and the export's readme share: what the programs print, how to
/// build and run them and in which order, the address parameters, the calls left out. As
/// lines of text, without comment markers; `host` names the program it heads, if any.
fn header(plan: &Plan, lang: Lang, recipe: &Recipe, host: Option<HostId>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(host) = host {
        lines.push(lesson::TITLE.get(lang).replace("{host}", &host.to_string()));
        lines.push(String::new());
    }
    lines.push(lesson::OUTPUT.get(lang).to_owned());
    lines.push(String::new());
    let stems: Vec<String> = plan.hosts.iter().map(|h| file_stem(h.host)).collect();
    let mut builds: Vec<String> = stems.iter().filter_map(|s| (recipe.build)(s)).collect();
    builds.dedup();
    if !builds.is_empty() {
        lines.push(lesson::BUILD.get(lang).to_owned());
        lines.extend(builds.into_iter().map(|b| format!("    {b}")));
    }
    let runs: Vec<String> = stems.iter().map(|s| (recipe.run)(s)).collect();
    if runs.len() > 1 {
        lines.push(lesson::RUN.get(lang).to_owned());
        lines.push(format!(
            "    export START_AT=$(($(date +%s) + {START_DELAY_SECS})); {}; wait",
            runs.join(" & ")
        ));
    } else {
        lines.push(lesson::RUN_ONE.get(lang).to_owned());
        lines.extend(runs.into_iter().map(|r| format!("    {r}")));
    }
    if plan.paced() {
        lines.push(String::new());
        let pause = plan::STEP_PAUSE_MS.to_string();
        lines.push(lesson::PACING.get(lang).replace("{pause}", &pause));
    }
    if !plan.params.is_empty() {
        lines.push(String::new());
        lines.push(lesson::PARAMS.get(lang).to_owned());
        let default = lesson::DEFAULT.get(lang);
        for p in &plan.params {
            lines.push(format!(
                "    {}={} ({default} {})",
                p.name, p.session, p.default
            ));
        }
    }
    let skipped = plan.skipped();
    if !skipped.is_empty() {
        lines.push(String::new());
        lines.push(lesson::SKIPPED_HEAD.get(lang).to_owned());
        for s in skipped {
            let why = lesson::skip_reason(s.reason.tag(), lang);
            lines.push(format!(
                "    step {} ({}) {}: {why}",
                s.step, s.host, s.call
            ));
        }
    }
    lines
}

/// `text` cut into lines of at most `width` columns (a CJK character takes two), at spaces
/// where there are any; indented lines are left whole.
fn wrap(text: &str, width: usize) -> Vec<String> {
    // An indented line is a command or a setting: cut, it would no longer run.
    if text.starts_with("    ") {
        return vec![text.to_owned()];
    }
    let columns = |c: char| if c.is_ascii() { 1 } else { 2 };
    let indent: String = text.chars().take_while(|c| *c == ' ').collect();
    let mut lines = Vec::new();
    let mut line = indent.clone();
    let mut used = indent.len();
    for word in text.trim_start().split(' ') {
        let len: usize = word.chars().map(columns).sum();
        if used + 1 + len > width && used > indent.len() {
            lines.push(std::mem::replace(&mut line, indent.clone()));
            used = indent.len();
        }
        if used > indent.len() {
            line.push(' ');
            used += 1;
        }
        for c in word.chars() {
            if used + columns(c) > width && used > indent.len() {
                lines.push(std::mem::replace(&mut line, indent.clone()));
                used = indent.len();
            }
            line.push(c);
            used += columns(c);
        }
    }
    lines.push(line);
    lines
}

/// The lesson of a step, as lines of a comment: what the call does, what its option does,
/// that it blocks, why its errno was expected, that it waits its turn; or why it is left out.
fn step_lines(host: &plan::HostPlan, step: &plan::Step, lang: Lang) -> Vec<String> {
    let mut lines = vec![format!("step {}: {}", step.number, step.call)];
    if let plan::Op::Skip { why } = step.op {
        lines[0].push_str(&format!(" — {}", lesson::skipped(why.tag(), lang)));
        return lines;
    }
    if let Some(text) = lesson::call(step.call, lang) {
        lines[0].push_str(&format!(" — {text}"));
    }
    if let plan::Op::Setsockopt { option, value, .. } = step.op {
        lines.extend(lesson::option(option, value, lang).map(str::to_owned));
    }
    if step.blocked {
        lines.push(lesson::BLOCKED.get(lang).to_owned());
    }
    if let plan::Expect::Errno(errno) = step.expect {
        lines.push(lesson::errno(errno.name, lang));
    }
    let stream = |sock: usize| host.sockets[sock].ty == crate::sandbox::SockType::Stream;
    if matches!(step.op, plan::Op::Recv { sock, .. } if stream(sock))
        && step.expect == plan::Expect::Bytes(0)
    {
        lines.push(lesson::END_OF_STREAM.get(lang).to_owned());
    }
    if step.waits_turn {
        lines.push(lesson::WAITS_TURN.get(lang).to_owned());
    }
    lines
}

/// `shutdown`'s constant by its POSIX name, which C and Python's `socket` module share.
fn posix_how(how: ShutdownHow) -> &'static str {
    match how {
        ShutdownHow::Read => "SHUT_RD",
        ShutdownHow::Write => "SHUT_WR",
        ShutdownHow::Both => "SHUT_RDWR",
    }
}

/// The level an option lives at, by its POSIX name (C and Python's `socket` module alike).
fn posix_level(option: SockOpt) -> &'static str {
    match option {
        SockOpt::TcpNodelay => "IPPROTO_TCP",
        SockOpt::Ipv6V6only => "IPPROTO_IPV6",
        SockOpt::IpTtl => "IPPROTO_IP",
        SockOpt::SoReuseaddr
        | SockOpt::SoReuseport
        | SockOpt::SoLinger
        | SockOpt::SoRcvbuf
        | SockOpt::SoSndbuf
        | SockOpt::SoBroadcast
        | SockOpt::SoKeepalive
        | SockOpt::SoError
        | SockOpt::SoType => "SOL_SOCKET",
    }
}
