//! The Rust generator: one binary per host in one Cargo package. `std::net`'s types carry
//! addresses and `std::io::{Read, Write}` move the bytes of a connection; the calls themselves
//! go through `socket2`, because `std::net` joins several calls into one
//! (`TcpListener::bind` is socket, bind and listen with a fixed backlog) and cannot set
//! `SO_LINGER` or make a socket before choosing its role. Every call's `io::Result` goes
//! through `check` or `check_count`, which compare it with the session's outcome and print the
//! step's line. Rust closes a socket by dropping it and reports no error from that close.

use std::fmt::Write as _;

use super::plan::{Endpoint, Expect, HostPlan, Op, Plan, STEP_PAUSE_MS, SocketVar, Step};
use super::{ProgramFile, Recipe, file_stem, header, step_lines, wrap};
use crate::i18n::Lang;
use crate::sandbox::{Family, OptValue, ShutdownHow, SockOpt, SockType};

/// The socket2 version the generated Cargo.toml asks for: the one Plugboard builds with
/// (Cargo.lock), so the programs build offline wherever Plugboard itself was built.
pub const SOCKET2_VERSION: &str = "0.6.5";

/// Columns of a comment line.
const WIDTH: usize = 92;

const RECIPE: Recipe = Recipe {
    build: |_| Some("cargo build".to_owned()),
    run: |stem| format!("./target/debug/{stem}"),
};

/// Every host's program, the package's Cargo.toml, and the readme.
pub fn generate(plan: &Plan, lang: Lang) -> (Vec<ProgramFile>, String) {
    let mut files: Vec<ProgramFile> = plan
        .hosts
        .iter()
        .map(|host| ProgramFile {
            host: Some(host.host),
            name: format!("{}.rs", file_stem(host.host)),
            content: program(plan, host, lang),
        })
        .collect();
    let mut manifest = format!(
        "[package]\nname = \"plugboard-session\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\
         publish = false\n\n[dependencies]\nsocket2 = {{ version = \"={SOCKET2_VERSION}\", \
         features = [\"all\"] }}\n"
    );
    for host in &plan.hosts {
        let stem = file_stem(host.host);
        let _ = write!(
            manifest,
            "\n[[bin]]\nname = \"{stem}\"\npath = \"{stem}.rs\"\n"
        );
    }
    files.push(ProgramFile {
        host: None,
        name: "Cargo.toml".to_owned(),
        content: manifest,
    });
    let readme = header(plan, lang, &RECIPE, None).join("\n");
    (files, readme)
}

/// What a program needs besides `main`.
#[derive(Default)]
struct Needs {
    pacing: bool,
    addr: bool,
    check: bool,
    count: bool,
    read: bool,
    write: bool,
    duration: bool,
    shutdown: bool,
    uninit: bool,
}

const PACING: &str = r#"
/// How long a step waits per place on the timeline when another host's step came before it.
const STEP_PAUSE_MS: u64 = {pause};

/// Where the timeline starts: START_AT (Unix time, seconds) when set, so that programs
/// started one after the other share it; else when this program started.
fn timeline_start() -> SystemTime {
    match std::env::var("START_AT").ok().and_then(|s| s.parse::<u64>().ok()) {
        Some(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        None => SystemTime::now(),
    }
}

/// Wait until STEP_PAUSE_MS x slot after the timeline's start.
fn wait_turn(start: SystemTime, slot: u64) {
    let at = start + Duration::from_millis(STEP_PAUSE_MS * slot);
    if let Ok(left) = at.duration_since(SystemTime::now()) {
        std::thread::sleep(left);
    }
}
"#;

const ADDR: &str = r#"
/// An address parameter: the environment variable if set, else the default.
fn param(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// A socket address from an IP address's text and a port.
fn addr(ip: &str, port: u16) -> SockAddr {
    let ip: IpAddr = ip.parse().expect("an IP address");
    SocketAddr::new(ip, port).into()
}
"#;

const REPORT: &str = r#"
/// Print the step's line; exit with status 1 when the outcome is not the session's.
fn report(step: u32, call: &str, expected: &str, got: &str) {
    if got != expected {
        println!("step {step} {call} -> {got} expected {expected}");
        std::process::exit(1);
    }
    println!("step {step} {call} -> {got}");
}

/// An error's errno name, for the errnos this program expects; else its number.
fn errno_name(e: &io::Error) -> String {
    let code = e.raw_os_error().unwrap_or(0);
    ERRNOS
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("errno {code}"), |(name, _)| (*name).to_owned())
}
"#;

const CHECK: &str = r#"
/// A call that succeeds shows `ok`; one that fails, its errno. The value, if it succeeded.
fn check<T>(step: u32, call: &str, expected: &str, result: io::Result<T>) -> Option<T> {
    match result {
        Ok(value) => {
            report(step, call, expected, "ok");
            Some(value)
        }
        Err(e) => {
            eprintln!("{call}: {e}");
            report(step, call, expected, &errno_name(&e));
            None
        }
    }
}
"#;

const CHECK_COUNT: &str = r#"
/// A call that moves bytes shows how many; one that fails, its errno.
fn check_count(step: u32, call: &str, expected: &str, result: io::Result<usize>) {
    match result {
        Ok(n) => report(step, call, expected, &n.to_string()),
        Err(e) => {
            eprintln!("{call}: {e}");
            report(step, call, expected, &errno_name(&e));
        }
    }
}
"#;

/// One host's program.
fn program(plan: &Plan, host: &HostPlan, lang: Lang) -> String {
    let mut needs = Needs::default();
    let mut body = String::new();
    let mut errnos: Vec<(&str, i32)> = Vec::new();
    for step in &host.steps {
        if let Expect::Errno(e) = step.expect {
            if !errnos.iter().any(|(n, _)| *n == e.name) {
                errnos.push((e.name, e.code));
            }
        }
        write_step(&mut body, plan, host, step, lang, &mut needs);
    }
    let mut out = String::new();
    for line in header(plan, lang, &RECIPE, Some(host.host)) {
        for part in wrap(&line, WIDTH) {
            let _ = writeln!(out, "{}", format!("//! {part}").trim_end());
        }
    }
    out.push('\n');
    let mut io_names = vec!["self"];
    if needs.read {
        io_names.push("Read");
    }
    if needs.write {
        io_names.push("Write");
    }
    if io_names.len() == 1 {
        out.push_str("use std::io;\n");
    } else {
        let _ = writeln!(out, "use std::io::{{{}}};", io_names.join(", "));
    }
    let mut net = Vec::new();
    if needs.addr {
        net.extend(["IpAddr", "SocketAddr"]);
    }
    if needs.shutdown {
        net.push("Shutdown");
    }
    match net.len() {
        0 => {}
        1 => {
            let _ = writeln!(out, "use std::net::{};", net[0]);
        }
        _ => {
            let _ = writeln!(out, "use std::net::{{{}}};", net.join(", "));
        }
    }
    if needs.uninit {
        out.push_str("use std::mem::MaybeUninit;\n");
    }
    let mut time = Vec::new();
    if needs.duration || needs.pacing {
        time.push("Duration");
    }
    if needs.pacing {
        time.extend(["SystemTime", "UNIX_EPOCH"]);
    }
    match time.len() {
        0 => {}
        1 => {
            let _ = writeln!(out, "use std::time::{};", time[0]);
        }
        _ => {
            let _ = writeln!(out, "use std::time::{{{}}};", time.join(", "));
        }
    }
    out.push('\n');
    let socket2 = if needs.addr {
        "use socket2::{Domain, SockAddr, Socket, Type};"
    } else {
        "use socket2::{Domain, Socket, Type};"
    };
    out.push_str(socket2);
    out.push('\n');
    out.push_str("\n/// The errnos this program expects, by name and Linux number.\n");
    out.push_str("const ERRNOS: &[(&str, i32)] = &[");
    let list: Vec<String> = errnos
        .iter()
        .map(|(n, c)| format!("(\"{n}\", {c})"))
        .collect();
    out.push_str(&list.join(", "));
    out.push_str("];\n");
    if needs.pacing {
        out.push_str(&PACING.replace("{pause}", &STEP_PAUSE_MS.to_string()));
    }
    if needs.addr {
        out.push_str(ADDR);
    }
    out.push_str(REPORT);
    if needs.check {
        out.push_str(CHECK);
    }
    if needs.count {
        out.push_str(CHECK_COUNT);
    }
    out.push_str("\nfn main() {\n");
    if needs.pacing {
        out.push_str("    let start = timeline_start();\n");
    }
    for index in used_params(host) {
        let p = &plan.params[index];
        let _ = writeln!(
            out,
            "    let {} = param(\"{}\", \"{}\");",
            p.name.to_ascii_lowercase(),
            p.name,
            p.default
        );
    }
    out.push_str(&body);
    out.push_str("}\n");
    out
}

/// The parameters a host's program uses, in order.
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

/// The socket a step uses (not the one it makes).
fn uses(op: &Op) -> Option<usize> {
    match op {
        Op::Socket { .. } | Op::Skip { .. } => None,
        Op::Bind { sock, .. }
        | Op::Listen { sock, .. }
        | Op::Connect { sock, .. }
        | Op::Accept { sock, .. }
        | Op::Send { sock, .. }
        | Op::Recv { sock, .. }
        | Op::Sendto { sock, .. }
        | Op::Recvfrom { sock, .. }
        | Op::Shutdown { sock, .. }
        | Op::Close { sock }
        | Op::Setsockopt { sock, .. }
        | Op::Getsockopt { sock, .. }
        | Op::Getsockname { sock }
        | Op::Getpeername { sock }
        | Op::Nonblocking { sock, .. } => Some(*sock),
    }
}

/// The variable of socket `i` where it is made: `_`-prefixed when no later step uses it.
fn binding(host: &HostPlan, i: usize) -> String {
    let name = &host.sockets[i].name;
    if host.steps.iter().any(|s| uses(&s.op) == Some(i)) {
        name.clone()
    } else {
        format!("_{name}")
    }
}

/// A comment block, indented for `main`.
fn comment(out: &mut String, lines: &[String]) {
    out.push('\n');
    for line in lines {
        for part in wrap(line, WIDTH - 7) {
            let _ = writeln!(out, "{}", format!("    // {part}").trim_end());
        }
    }
}

/// One step: its lesson, its wait, the call and the check of its outcome.
fn write_step(
    out: &mut String,
    plan: &Plan,
    host: &HostPlan,
    step: &Step,
    lang: Lang,
    needs: &mut Needs,
) {
    comment(out, &step_lines(host, step, lang));
    let n = step.number;
    let call = step.call;
    if matches!(step.op, Op::Skip { .. }) {
        let _ = writeln!(out, "    println!(\"step {n} {call} -> skipped\");");
        return;
    }
    if step.waits_turn {
        needs.pacing = true;
        let _ = writeln!(out, "    wait_turn(start, {});", step.slot);
    }
    let var = |i: usize| host.sockets[i].name.as_str();
    if matches!(
        step.op,
        Op::Bind { .. } | Op::Connect { .. } | Op::Sendto { .. }
    ) {
        needs.addr = true;
    }
    let addr = |endpoint: Endpoint| match endpoint {
        Endpoint::Param { param, port } => {
            format!(
                "&addr(&{}, {port})",
                plan.params[param].name.to_ascii_lowercase()
            )
        }
        Endpoint::Literal(a) => format!("&addr(\"{}\", {})", a.ip(), a.port()),
    };
    let expected = step.expect.shown();
    let counts = matches!(step.expect, Expect::Bytes(_));
    // The statements before the call, what its value is bound to, and the call.
    let mut before = String::new();
    let mut bind: Option<String> = None;
    let expr = match &step.op {
        Op::Socket { sock } => {
            let SocketVar { family, ty, .. } = &host.sockets[*sock];
            bind = Some(binding(host, *sock));
            format!(
                "Socket::new({}, {}, None)",
                domain_name(*family),
                type_name(*ty)
            )
        }
        Op::Accept { sock, new } => {
            if let Some(new) = new {
                // accept() gives the connection and the peer's address; the connection is kept.
                bind = Some(format!("({}, _peer)", binding(host, *new)));
            }
            format!("{}.accept()", var(*sock))
        }
        Op::Bind { sock, addr: a } => format!("{}.bind({})", var(*sock), addr(*a)),
        Op::Connect { sock, addr: a } => format!("{}.connect({})", var(*sock), addr(*a)),
        Op::Listen { sock, backlog } => format!("{}.listen({backlog})", var(*sock)),
        Op::Send { sock, data } => {
            needs.write = true;
            // Write for &Socket is send(); Rust ignores SIGPIPE, so a closed peer is EPIPE.
            format!("(&{}).write({})", var(*sock), rs_bytes(data))
        }
        Op::Sendto {
            sock,
            data,
            addr: a,
        } => format!("{}.send_to({}, {})", var(*sock), rs_bytes(data), addr(*a)),
        Op::Recv {
            sock,
            max,
            peek: false,
        } => {
            needs.read = true;
            let _ = writeln!(before, "    let mut buf = vec![0u8; {max}];");
            // Read for &Socket is recv().
            format!("(&{}).read(&mut buf)", var(*sock))
        }
        Op::Recv {
            sock,
            max,
            peek: true,
        } => {
            needs.uninit = true;
            let _ = writeln!(
                before,
                "    let mut buf = vec![MaybeUninit::<u8>::uninit(); {max}];"
            );
            // recv(MSG_PEEK): the bytes stay queued for the next receive.
            format!("{}.peek(&mut buf)", var(*sock))
        }
        Op::Recvfrom { sock, max, peek } => {
            needs.uninit = true;
            let _ = writeln!(
                before,
                "    let mut buf = vec![MaybeUninit::<u8>::uninit(); {max}];"
            );
            // recv_from gives the length and the sender; the line shows the length.
            let call = if *peek { "peek_from" } else { "recv_from" };
            format!("{}.{call}(&mut buf).map(|(n, _from)| n)", var(*sock))
        }
        Op::Shutdown { sock, how } => {
            needs.shutdown = true;
            format!("{}.shutdown(Shutdown::{})", var(*sock), how_name(*how))
        }
        Op::Close { sock } => {
            let _ = writeln!(
                before,
                "    drop({}); // close(2): a Socket closes when it is dropped",
                var(*sock)
            );
            "Ok(())".to_owned()
        }
        Op::Setsockopt {
            sock,
            option,
            value,
        } => match setter(*option, *value, needs) {
            Some(set) => format!("{}.{set}", var(*sock)),
            None => {
                let _ = writeln!(
                    out,
                    "    // {} cannot be set so: socket2 has no setter for it, or none that takes \
                     this value.",
                    option.name()
                );
                let _ = writeln!(out, "    println!(\"step {n} {call} -> skipped\");");
                return;
            }
        },
        Op::Getsockopt { sock, option } => format!("{}.{}()", var(*sock), getter(*option)),
        Op::Getsockname { sock } => format!("{}.local_addr()", var(*sock)),
        Op::Getpeername { sock } => format!("{}.peer_addr()", var(*sock)),
        Op::Nonblocking { sock, on } => format!("{}.set_nonblocking({on})", var(*sock)),
        Op::Skip { .. } => unreachable!("skipped steps return early"),
    };
    let blocked = !before.is_empty();
    if blocked {
        out.push_str("    {\n");
        for line in before.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    let indent = if blocked { "        " } else { "    " };
    if counts {
        needs.count = true;
        let _ = writeln!(
            out,
            "{indent}check_count({n}, \"{call}\", \"{expected}\", {expr});"
        );
    } else {
        needs.check = true;
        match bind {
            Some(bind) if step.expect == Expect::Ok => {
                let _ = writeln!(
                    out,
                    "{indent}let {bind} = check({n}, \"{call}\", \"{expected}\", {expr})\n{indent}    .expect(\"checked: it succeeded\");"
                );
            }
            _ => {
                let _ = writeln!(
                    out,
                    "{indent}check({n}, \"{call}\", \"{expected}\", {expr});"
                );
            }
        }
    }
    if blocked {
        out.push_str("    }\n");
    }
}

/// The socket2 setter of an option with its value, if it has one.
fn setter(option: SockOpt, value: OptValue, needs: &mut Needs) -> Option<String> {
    let flag = match value {
        OptValue::Bool(b) => b,
        OptValue::Int(v) => v != 0,
        OptValue::Linger { onoff, .. } => onoff,
    };
    let int = match value {
        OptValue::Int(v) => v,
        OptValue::Bool(b) => i64::from(b),
        OptValue::Linger { seconds, .. } => i64::from(seconds),
    };
    Some(match option {
        SockOpt::SoReuseaddr => format!("set_reuse_address({flag})"),
        SockOpt::SoReuseport => format!("set_reuse_port({flag})"),
        SockOpt::SoBroadcast => format!("set_broadcast({flag})"),
        SockOpt::SoKeepalive => format!("set_keepalive({flag})"),
        SockOpt::TcpNodelay => format!("set_tcp_nodelay({flag})"),
        SockOpt::Ipv6V6only => format!("set_only_v6({flag})"),
        SockOpt::SoRcvbuf => format!("set_recv_buffer_size({})", int.max(0)),
        SockOpt::SoSndbuf => format!("set_send_buffer_size({})", int.max(0)),
        // -1 asks for the system's default, which socket2's unsigned TTL cannot say.
        SockOpt::IpTtl if int < 0 => return None,
        SockOpt::IpTtl => format!("set_ttl_v4({int})"),
        SockOpt::SoLinger => match value {
            OptValue::Linger {
                onoff: true,
                seconds,
            } => {
                needs.duration = true;
                format!("set_linger(Some(Duration::from_secs({seconds})))")
            }
            _ => "set_linger(None)".to_owned(),
        },
        SockOpt::SoError | SockOpt::SoType => return None,
    })
}

/// The socket2 getter of an option.
fn getter(option: SockOpt) -> &'static str {
    match option {
        SockOpt::SoReuseaddr => "reuse_address",
        SockOpt::SoReuseport => "reuse_port",
        SockOpt::SoLinger => "linger",
        SockOpt::SoRcvbuf => "recv_buffer_size",
        SockOpt::SoSndbuf => "send_buffer_size",
        SockOpt::SoBroadcast => "broadcast",
        SockOpt::SoKeepalive => "keepalive",
        SockOpt::SoError => "take_error",
        SockOpt::SoType => "r#type",
        SockOpt::TcpNodelay => "tcp_nodelay",
        SockOpt::Ipv6V6only => "only_v6",
        SockOpt::IpTtl => "ttl_v4",
    }
}

fn domain_name(family: Family) -> &'static str {
    match family {
        Family::Inet => "Domain::IPV4",
        Family::Inet6 => "Domain::IPV6",
        Family::Unix => "Domain::UNIX",
    }
}

fn type_name(ty: SockType) -> &'static str {
    match ty {
        SockType::Stream => "Type::STREAM",
        SockType::Dgram => "Type::DGRAM",
        SockType::Seqpacket => "Type::SEQPACKET",
        SockType::Raw => "Type::RAW",
    }
}

fn how_name(how: ShutdownHow) -> &'static str {
    match how {
        ShutdownHow::Read => "Read",
        ShutdownHow::Write => "Write",
        ShutdownHow::Both => "Both",
    }
}

/// `bytes` as a Rust byte string literal: printable ASCII as it is, the rest as `\xNN`.
fn rs_bytes(bytes: &[u8]) -> String {
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
    fn socket2_is_pinned_to_the_version_plugboard_builds_with() {
        let lock = include_str!("../../Cargo.lock");
        let entry = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"socket2\""))
            .expect("socket2 in Cargo.lock");
        assert!(
            entry.contains(&format!("version = \"{SOCKET2_VERSION}\"")),
            "{entry}"
        );
    }

    #[test]
    fn byte_strings_escape_what_rust_would_misread() {
        assert_eq!(rs_bytes(b"hi\"\\\n\x01"), "b\"hi\\\"\\\\\\n\\x01\"");
    }
}
