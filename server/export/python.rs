//! The Python generator: one script per host with the standard `socket` module. Every call
//! goes through one helper, `run`, that makes it, compares its outcome with the session's
//! (an `OSError`'s errno, or the call's value) and prints the step's line; an unexpected
//! outcome exits with status 1. Python raises instead of returning -1, so a failure the
//! session expected is an exception the helper catches and checks.

use std::fmt::Write as _;

use super::plan::{Endpoint, HostPlan, Op, Plan, STEP_PAUSE_MS, SocketVar, Step};
use super::{ProgramFile, Recipe, file_stem, header, posix_how, posix_level, step_lines, wrap};
use crate::i18n::Lang;
use crate::sandbox::net::OptShape;
use crate::sandbox::{Family, OptValue, SockType};

/// Columns of a comment line.
const WIDTH: usize = 92;

const RECIPE: Recipe = Recipe {
    build: |_| None,
    run: |stem| format!("python3 {stem}.py"),
};

/// Every host's script and the readme.
pub fn generate(plan: &Plan, lang: Lang) -> (Vec<ProgramFile>, String) {
    let files = plan
        .hosts
        .iter()
        .map(|host| ProgramFile {
            host: Some(host.host),
            name: format!("{}.py", file_stem(host.host)),
            content: program(plan, host, lang),
        })
        .collect();
    let readme = header(plan, lang, &RECIPE, None).join("\n");
    (files, readme)
}

const PRELUDE: &str = r#"
import errno
import os
import socket
import struct
import sys
import time

STEP_PAUSE_MS = {pause}
# Where the timeline starts: START_AT (Unix time, seconds) when set, so that programs started
# one after the other share it; else when this program started.
STARTED = float(os.environ.get("START_AT") or time.time())


def wait_turn(slot):
    """Wait until STEP_PAUSE_MS x slot after the timeline's start."""
    delay = STARTED + slot * STEP_PAUSE_MS / 1000 - time.time()
    if delay > 0:
        time.sleep(delay)


def param(name, default):
    """An address parameter: the environment variable if set, else the default."""
    return os.environ.get(name) or default


def run(step, call, expected, action):
    """Make the call; it must turn out as `expected` ("ok", a byte count or an errno name)."""
    try:
        value = action()
    except OSError as e:
        if e.errno == getattr(errno, expected, None):
            print(f"{call}: {e.strerror}", file=sys.stderr)
            print(f"step {step} {call} -> {expected}", flush=True)
            return None
        got = errno.errorcode.get(e.errno, str(e.errno))
        print(f"{call}: {e}", file=sys.stderr)
        print(f"step {step} {call} -> {got} expected {expected}", flush=True)
        sys.exit(1)
    got = str(value) if expected.isdigit() else "ok"
    if got != expected:
        print(f"step {step} {call} -> {got} expected {expected}", flush=True)
        sys.exit(1)
    print(f"step {step} {call} -> {got}", flush=True)
    return value
"#;

/// One host's script.
fn program(plan: &Plan, host: &HostPlan, lang: Lang) -> String {
    let mut out = String::from("#!/usr/bin/env python3\n");
    for line in header(plan, lang, &RECIPE, Some(host.host)) {
        for part in wrap(&line, WIDTH) {
            let _ = writeln!(out, "{}", format!("# {part}").trim_end());
        }
    }
    let mut prelude = PRELUDE.replace("{pause}", &STEP_PAUSE_MS.to_string());
    let packs = host.steps.iter().any(|s| {
        matches!(
            s.op,
            Op::Setsockopt {
                value: OptValue::Linger { .. },
                ..
            }
        )
    });
    if !packs {
        // struct packs a `struct linger`; nothing else needs it.
        prelude = prelude.replace("import struct\n", "");
    }
    out.push_str(&prelude);
    out.push_str("\n\ndef main():\n");
    for index in used_params(host) {
        let p = &plan.params[index];
        let _ = writeln!(
            out,
            "    {} = param(\"{}\", \"{}\")",
            p.name.to_ascii_lowercase(),
            p.name,
            p.default
        );
    }
    for step in &host.steps {
        write_step(&mut out, plan, host, step, lang);
    }
    out.push_str("\n\nif __name__ == \"__main__\":\n    main()\n");
    out
}

/// The parameters a host's script uses, in order.
fn used_params(host: &HostPlan) -> Vec<usize> {
    let mut used: Vec<usize> = host
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::Bind {
                addr: Endpoint::Param { param, .. },
                ..
            }
            | Op::Connect {
                addr: Endpoint::Param { param, .. },
                ..
            }
            | Op::Sendto {
                addr: Endpoint::Param { param, .. },
                ..
            } => Some(param),
            _ => None,
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// One step: its lesson, its wait and the call through `run`.
fn write_step(out: &mut String, plan: &Plan, host: &HostPlan, step: &Step, lang: Lang) {
    out.push('\n');
    for line in step_lines(host, step, lang) {
        for part in wrap(&line, WIDTH - 6) {
            let _ = writeln!(out, "    {}", format!("# {part}").trim_end());
        }
    }
    let n = step.number;
    let call = step.call;
    if matches!(step.op, Op::Skip { .. }) {
        let _ = writeln!(out, "    print(\"step {n} {call} -> skipped\", flush=True)");
        return;
    }
    if step.waits_turn {
        let _ = writeln!(out, "    wait_turn({})", step.slot);
    }
    let var = |i: usize| host.sockets[i].name.as_str();
    let addr = |endpoint: Endpoint| match endpoint {
        Endpoint::Param { param, port } => {
            format!("({}, {port})", plan.params[param].name.to_ascii_lowercase())
        }
        Endpoint::Literal(a) => format!("(\"{}\", {})", a.ip(), a.port()),
    };
    let expected = step.expect.shown();
    // What the call's value is assigned to, and the call.
    let (target, action): (Option<&str>, String) = match &step.op {
        Op::Socket { sock } => {
            let SocketVar { name, family, ty } = &host.sockets[*sock];
            (
                Some(name),
                format!(
                    "socket.socket({}, {})",
                    family_name(*family),
                    type_name(*ty)
                ),
            )
        }
        Op::Accept { sock, new } => (
            new.map(var),
            // accept() gives (connection, peer address); the connection is kept.
            format!("{}.accept()[0]", var(*sock)),
        ),
        Op::Bind { sock, addr: a } => (None, format!("{}.bind({})", var(*sock), addr(*a))),
        Op::Connect { sock, addr: a } => (None, format!("{}.connect({})", var(*sock), addr(*a))),
        Op::Listen { sock, backlog } => (None, format!("{}.listen({backlog})", var(*sock))),
        Op::Send { sock, data } => (None, format!("{}.send({})", var(*sock), py_bytes(data))),
        Op::Sendto {
            sock,
            data,
            addr: a,
        } => (
            None,
            format!("{}.sendto({}, {})", var(*sock), py_bytes(data), addr(*a)),
        ),
        Op::Recv { sock, max, peek } => (
            None,
            format!("len({}.recv({max}{}))", var(*sock), peek_flag(*peek)),
        ),
        Op::Recvfrom { sock, max, peek } => (
            None,
            // recvfrom() gives (data, sender); the line shows the data's length.
            format!("len({}.recvfrom({max}{})[0])", var(*sock), peek_flag(*peek)),
        ),
        Op::Shutdown { sock, how } => (
            None,
            format!("{}.shutdown(socket.{})", var(*sock), posix_how(*how)),
        ),
        Op::Close { sock } => (None, format!("{}.close()", var(*sock))),
        Op::Setsockopt {
            sock,
            option,
            value,
        } => {
            let value = match value {
                OptValue::Bool(on) => i32::from(*on).to_string(),
                OptValue::Int(v) => v.to_string(),
                OptValue::Linger { onoff, seconds } => {
                    format!("struct.pack(\"ii\", {}, {seconds})", i32::from(*onoff))
                }
            };
            (
                None,
                format!(
                    "{}.setsockopt(socket.{}, socket.{}, {value})",
                    var(*sock),
                    posix_level(*option),
                    option.name()
                ),
            )
        }
        Op::Getsockopt { sock, option } => {
            let size = match option.raw().2 {
                OptShape::Linger => ", 8",
                OptShape::Bool | OptShape::Int => "",
            };
            (
                None,
                format!(
                    "{}.getsockopt(socket.{}, socket.{}{size})",
                    var(*sock),
                    posix_level(*option),
                    option.name()
                ),
            )
        }
        Op::Getsockname { sock } => (None, format!("{}.getsockname()", var(*sock))),
        Op::Getpeername { sock } => (None, format!("{}.getpeername()", var(*sock))),
        Op::Nonblocking { sock, on } => (
            None,
            format!(
                "{}.setblocking({})",
                var(*sock),
                if *on { "False" } else { "True" }
            ),
        ),
        Op::Skip { .. } => unreachable!("skipped steps return early"),
    };
    let assign = target.map(|t| format!("{t} = ")).unwrap_or_default();
    let _ = writeln!(
        out,
        "    {assign}run({n}, \"{call}\", \"{expected}\", lambda: {action})"
    );
}

/// A receive's flags argument: MSG_PEEK leaves the bytes queued; none otherwise.
fn peek_flag(peek: bool) -> &'static str {
    if peek { ", socket.MSG_PEEK" } else { "" }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Inet => "socket.AF_INET",
        Family::Inet6 => "socket.AF_INET6",
        Family::Unix => "socket.AF_UNIX",
    }
}

fn type_name(ty: SockType) -> &'static str {
    match ty {
        SockType::Stream => "socket.SOCK_STREAM",
        SockType::Dgram => "socket.SOCK_DGRAM",
        SockType::Seqpacket => "socket.SOCK_SEQPACKET",
        SockType::Raw => "socket.SOCK_RAW",
    }
}

/// `bytes` as a Python bytes literal: printable ASCII as it is, the rest as `\xNN`.
fn py_bytes(bytes: &[u8]) -> String {
    let mut s = String::from("b\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_literals_escape_what_python_would_misread() {
        assert_eq!(py_bytes(b"hello"), "b\"hello\"");
        assert_eq!(py_bytes(b"a\"\\\n\x00"), "b\"a\\\"\\\\\\n\\x00\"");
    }
}
