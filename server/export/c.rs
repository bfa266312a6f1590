//! The C generator: one program per host with POSIX sockets. Every call's result is checked
//! (`perror` and `errno` on failure) against the session's outcome by one of three small
//! helpers that print the step's line; an unexpected outcome exits with status 1. The programs
//! compile without a warning under `cc -Wall -Wextra -Werror`: helpers and parameters a
//! program does not use are left out of it.

use std::fmt::Write as _;

use super::plan::{Endpoint, Expect, HostPlan, Op, Plan, STEP_PAUSE_MS, SocketVar, Step};
use super::{ProgramFile, Recipe, file_stem, header, posix_how, posix_level, step_lines, wrap};
use crate::i18n::Lang;
use crate::sandbox::net::OptShape;
use crate::sandbox::{Family, OptValue};

/// Columns of a comment line.
const WIDTH: usize = 92;

const RECIPE: Recipe = Recipe {
    build: |stem| Some(format!("cc -Wall -Wextra -o {stem} {stem}.c")),
    run: |stem| format!("./{stem}"),
};

/// Every host's program and the readme.
pub fn generate(plan: &Plan, lang: Lang) -> (Vec<ProgramFile>, String) {
    let files = plan
        .hosts
        .iter()
        .map(|host| ProgramFile {
            host: Some(host.host),
            name: format!("{}.c", file_stem(host.host)),
            content: program(plan, host, lang),
        })
        .collect();
    let readme = header(plan, lang, &RECIPE, None).join("\n");
    (files, readme)
}

/// What a program needs besides `main`.
#[derive(Default)]
struct Needs {
    pacing: bool,
    addr: bool,
    ok: bool,
    bytes: bool,
    errno: bool,
}

const INCLUDES: &str = "\
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
";

const PACING: &str = "
/* Where the timeline starts: START_AT (Unix time, seconds) when set, so that programs
 * started one after the other share it; else when this program started. */
static struct timespec started;

static void start_timeline(void)
{
    const char *at = getenv(\"START_AT\");
    if (at != NULL && *at != '\\0') {
        started.tv_sec = (time_t)strtoll(at, NULL, 10);
        started.tv_nsec = 0;
    } else {
        clock_gettime(CLOCK_REALTIME, &started);
    }
}

/* Wait until STEP_PAUSE_MS x slot after the timeline's start. */
static void wait_turn(int slot)
{
    long long ns = (long long)slot * STEP_PAUSE_MS * 1000000LL;
    struct timespec at = started;
    at.tv_sec += ns / 1000000000LL;
    at.tv_nsec += ns % 1000000000LL;
    if (at.tv_nsec >= 1000000000L) {
        at.tv_sec += 1;
        at.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL) == EINTR) {
    }
}
";

const ADDR: &str = "
/* An address parameter: the environment variable if set, else the default. */
static const char *param(const char *name, const char *fallback)
{
    const char *value = getenv(name);
    return value != NULL && *value != '\\0' ? value : fallback;
}

/* An IPv4 or IPv6 socket address from its text and a port; its length. */
static socklen_t make_addr(struct sockaddr_storage *addr, const char *ip, unsigned short port)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    memset(addr, 0, sizeof *addr);
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        return sizeof *v6;
    }
    fprintf(stderr, \"not an IP address: %s\\n\", ip);
    exit(2);
}
";

const EXPECT_OK: &str = "
/* The call must succeed, as it did in the session. */
static void expect_ok(int step, const char *call, long rc)
{
    if (rc == -1) {
        int err = errno;
        perror(call);
        printf(\"step %d %s -> errno %d expected ok\\n\", step, call, err);
        exit(1);
    }
    printf(\"step %d %s -> ok\\n\", step, call);
}
";

const EXPECT_BYTES: &str = "
/* The call must move as many bytes as it did in the session. */
static void expect_bytes(int step, const char *call, long n, long want)
{
    if (n == -1) {
        int err = errno;
        perror(call);
        printf(\"step %d %s -> errno %d expected %ld\\n\", step, call, err, want);
        exit(1);
    }
    if (n != want) {
        printf(\"step %d %s -> %ld expected %ld\\n\", step, call, n, want);
        exit(1);
    }
    printf(\"step %d %s -> %ld\\n\", step, call, n);
}
";

const EXPECT_ERRNO: &str = "
/* The call must fail with errno `want`, as it did in the session. */
static void expect_errno(int step, const char *call, long rc, int want, const char *name)
{
    if (rc != -1) {
        printf(\"step %d %s -> ok expected %s\\n\", step, call, name);
        exit(1);
    }
    int err = errno;
    perror(call);
    if (err != want) {
        printf(\"step %d %s -> errno %d expected %s\\n\", step, call, err, name);
        exit(1);
    }
    printf(\"step %d %s -> %s\\n\", step, call, name);
}
";

/// One host's program.
fn program(plan: &Plan, host: &HostPlan, lang: Lang) -> String {
    let mut needs = Needs::default();
    let mut body = String::new();
    for step in &host.steps {
        write_step(&mut body, plan, host, step, lang, &mut needs);
    }
    let mut out = String::from("/*\n");
    for line in header(plan, lang, &RECIPE, Some(host.host)) {
        for part in wrap(&line, WIDTH) {
            out.push_str(&format!(" * {part}").trim_end().replace("*/", "* /"));
            out.push('\n');
        }
    }
    out.push_str(" */\n\n");
    out.push_str(INCLUDES);
    if needs.pacing {
        let _ = writeln!(out, "\n#define STEP_PAUSE_MS {STEP_PAUSE_MS}");
        out.push_str(PACING);
    }
    for (needed, text) in [
        (needs.addr, ADDR),
        (needs.ok, EXPECT_OK),
        (needs.bytes, EXPECT_BYTES),
        (needs.errno, EXPECT_ERRNO),
    ] {
        if needed {
            out.push_str(text);
        }
    }
    out.push_str("\nint main(void)\n{\n");
    out.push_str("    setvbuf(stdout, NULL, _IOLBF, 0);\n");
    if needs.pacing {
        out.push_str("    start_timeline();\n");
    }
    let used: Vec<usize> = used_params(host);
    for index in used {
        let p = &plan.params[index];
        let _ = writeln!(
            out,
            "    const char *{} = param(\"{}\", \"{}\");",
            p.name.to_ascii_lowercase(),
            p.name,
            p.default
        );
    }
    out.push_str(&body);
    out.push_str("    return 0;\n}\n");
    out
}

/// The parameters a host's program uses, in order.
fn used_params(host: &HostPlan) -> Vec<usize> {
    let mut used: Vec<usize> = host
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::Bind { addr, .. } | Op::Connect { addr, .. } | Op::Sendto { addr, .. } => {
                match addr {
                    Endpoint::Param { param, .. } => Some(param),
                    Endpoint::Literal(_) => None,
                }
            }
            _ => None,
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// A comment block, indented for `main`.
fn comment(out: &mut String, lines: &[String]) {
    out.push_str("\n    /*");
    let mut first = true;
    for line in lines {
        for part in wrap(line, WIDTH - 7) {
            let part = part.replace("*/", "* /");
            if first {
                let _ = write!(out, " {part}");
                first = false;
            } else {
                let _ = write!(out, "\n     * {part}");
            }
        }
    }
    if lines.len() > 1 || out.lines().last().is_some_and(|l| l.len() > WIDTH - 3) {
        out.push_str("\n     */\n");
    } else {
        out.push_str(" */\n");
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
    let lines = step_lines(host, step, lang);
    if matches!(step.op, Op::Skip { .. }) {
        comment(out, &lines);
        let _ = writeln!(
            out,
            "    printf(\"step {} {} -> skipped\\n\");",
            step.number, step.call
        );
        return;
    }
    comment(out, &lines);
    if step.waits_turn {
        needs.pacing = true;
        let _ = writeln!(out, "    wait_turn({});", step.slot);
    }
    let var = |i: usize| host.sockets[i].name.as_str();
    let addr = |out: &mut String, needs: &mut Needs, endpoint: Endpoint| {
        needs.addr = true;
        let (ip, port) = match endpoint {
            Endpoint::Param { param, port } => (plan.params[param].name.to_ascii_lowercase(), port),
            Endpoint::Literal(a) => (format!("\"{}\"", a.ip()), a.port()),
        };
        let _ = writeln!(out, "        struct sockaddr_storage addr;");
        let _ = writeln!(
            out,
            "        socklen_t addr_len = make_addr(&addr, {ip}, {port});"
        );
    };
    let n = step.number;
    let call = step.call;
    // (declarations of the block, if any; the call's expression)
    let mut block = String::new();
    let expr: String = match &step.op {
        Op::Socket { sock } => {
            let SocketVar { name, family, ty } = &host.sockets[*sock];
            let _ = writeln!(
                out,
                "    int {name} = socket({}, {}, 0);",
                family_name(*family),
                ty.c_name()
            );
            check(out, needs, n, call, step.expect, name, "    ");
            return;
        }
        Op::Accept {
            sock,
            new: Some(new),
        } => {
            let _ = writeln!(
                out,
                "    int {} = accept({}, NULL, NULL);",
                var(*new),
                var(*sock)
            );
            check(out, needs, n, call, step.expect, var(*new), "    ");
            return;
        }
        Op::Accept { sock, new: None } => format!("accept({}, NULL, NULL)", var(*sock)),
        Op::Bind { sock, addr: a } => {
            addr(&mut block, needs, *a);
            format!("bind({}, (struct sockaddr *)&addr, addr_len)", var(*sock))
        }
        Op::Connect { sock, addr: a } => {
            addr(&mut block, needs, *a);
            format!(
                "connect({}, (struct sockaddr *)&addr, addr_len)",
                var(*sock)
            )
        }
        Op::Listen { sock, backlog } => format!("listen({}, {backlog})", var(*sock)),
        Op::Send { sock, data } => {
            let _ = writeln!(block, "        const char data[] = {};", c_string(data));
            // MSG_NOSIGNAL: a send on a closed connection fails with EPIPE instead of killing
            // the program with SIGPIPE.
            format!("send({}, data, sizeof data - 1, MSG_NOSIGNAL)", var(*sock))
        }
        Op::Sendto {
            sock,
            data,
            addr: a,
        } => {
            let _ = writeln!(block, "        const char data[] = {};", c_string(data));
            addr(&mut block, needs, *a);
            format!(
                "sendto({}, data, sizeof data - 1, MSG_NOSIGNAL, (struct sockaddr *)&addr, addr_len)",
                var(*sock)
            )
        }
        Op::Recv { sock, max, peek } => {
            let _ = writeln!(block, "        char buf[{}];", max + 1);
            format!("recv({}, buf, {max}, {})", var(*sock), recv_flags(*peek))
        }
        Op::Recvfrom { sock, max, peek } => {
            let _ = writeln!(block, "        char buf[{}];", max + 1);
            let _ = writeln!(block, "        struct sockaddr_storage from;");
            let _ = writeln!(block, "        socklen_t from_len = sizeof from;");
            format!(
                "recvfrom({}, buf, {max}, {}, (struct sockaddr *)&from, &from_len)",
                var(*sock),
                recv_flags(*peek)
            )
        }
        Op::Shutdown { sock, how } => format!("shutdown({}, {})", var(*sock), posix_how(*how)),
        Op::Close { sock } => format!("close({})", var(*sock)),
        Op::Setsockopt {
            sock,
            option,
            value,
        } => {
            let decl = match value {
                OptValue::Bool(on) => format!("int value = {};", i32::from(*on)),
                OptValue::Int(v) => format!("int value = {v};"),
                OptValue::Linger { onoff, seconds } => format!(
                    "struct linger value = {{ .l_onoff = {}, .l_linger = {seconds} }};",
                    i32::from(*onoff)
                ),
            };
            let _ = writeln!(block, "        {decl}");
            format!(
                "setsockopt({}, {}, {}, &value, sizeof value)",
                var(*sock),
                posix_level(*option),
                option.name()
            )
        }
        Op::Getsockopt { sock, option } => {
            let ty = match option.raw().2 {
                OptShape::Linger => "struct linger",
                OptShape::Bool | OptShape::Int => "int",
            };
            let _ = writeln!(block, "        {ty} value;");
            let _ = writeln!(block, "        socklen_t value_len = sizeof value;");
            format!(
                "getsockopt({}, {}, {}, &value, &value_len)",
                var(*sock),
                posix_level(*option),
                option.name()
            )
        }
        Op::Getsockname { sock } | Op::Getpeername { sock } => {
            let _ = writeln!(block, "        struct sockaddr_storage name;");
            let _ = writeln!(block, "        socklen_t name_len = sizeof name;");
            format!(
                "{call}({}, (struct sockaddr *)&name, &name_len)",
                var(*sock)
            )
        }
        Op::Nonblocking { sock, on } => {
            let s = var(*sock);
            let _ = writeln!(block, "        int flags = fcntl({s}, F_GETFL);");
            if *on {
                format!("fcntl({s}, F_SETFL, flags | O_NONBLOCK)")
            } else {
                format!("fcntl({s}, F_SETFL, flags & ~O_NONBLOCK)")
            }
        }
        Op::Skip { .. } => unreachable!("skipped steps return early"),
    };
    if block.is_empty() {
        check(out, needs, n, call, step.expect, &expr, "    ");
    } else {
        out.push_str("    {\n");
        out.push_str(&block);
        check(out, needs, n, call, step.expect, &expr, "        ");
        out.push_str("    }\n");
    }
}

/// The check of a call's result `expr` against the session's outcome.
fn check(
    out: &mut String,
    needs: &mut Needs,
    step: u32,
    call: &str,
    expect: Expect,
    expr: &str,
    indent: &str,
) {
    let _ = match expect {
        Expect::Ok => {
            needs.ok = true;
            writeln!(out, "{indent}expect_ok({step}, \"{call}\", {expr});")
        }
        Expect::Bytes(n) => {
            needs.bytes = true;
            writeln!(
                out,
                "{indent}expect_bytes({step}, \"{call}\", {expr}, {n});"
            )
        }
        Expect::Errno(errno) => {
            needs.errno = true;
            let constant = if errno.name == "EUNKNOWN" {
                errno.code.to_string()
            } else {
                errno.name.to_owned()
            };
            writeln!(
                out,
                "{indent}expect_errno({step}, \"{call}\", {expr}, {constant}, \"{}\");",
                errno.name
            )
        }
    };
}

/// A receive's flags: MSG_PEEK leaves the bytes queued.
fn recv_flags(peek: bool) -> &'static str {
    if peek { "MSG_PEEK" } else { "0" }
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Inet => "AF_INET",
        Family::Inet6 => "AF_INET6",
        Family::Unix => "AF_UNIX",
    }
}

/// `bytes` as a C string literal: printable ASCII as it is, the rest as three-digit octal
/// escapes (which, unlike `\x`, never swallow a following digit); long data in pieces.
fn c_string(bytes: &[u8]) -> String {
    const PIECE: usize = 48;
    if bytes.is_empty() {
        return "\"\"".to_owned();
    }
    let pieces: Vec<String> = bytes
        .chunks(PIECE)
        .map(|chunk| {
            let mut s = String::from("\"");
            for &b in chunk {
                match b {
                    b'"' => s.push_str("\\\""),
                    b'\\' => s.push_str("\\\\"),
                    b'?' => s.push_str("\\?"),
                    b'\n' => s.push_str("\\n"),
                    0x20..=0x7e => s.push(char::from(b)),
                    _ => s.push_str(&format!("\\{b:03o}")),
                }
            }
            s.push('"');
            s
        })
        .collect();
    pieces.join("\n            ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_escape_what_c_would_misread() {
        assert_eq!(c_string(b"hello"), "\"hello\"");
        assert_eq!(c_string(b"a\"b\\?\n"), "\"a\\\"b\\\\\\?\\n\"");
        assert_eq!(c_string(&[0, b'1']), "\"\\0001\"");
    }
}
