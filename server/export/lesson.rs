//! The lessons exported programs carry, in every language Plugboard speaks: one sentence per
//! call, per option that changes what the kernel does, per expected errno, and the phrases of
//! the programs' header. Both languages of a text stand side by side in one table, so neither
//! falls behind; a text missing in a language falls back to English. Generators for every
//! programming language share these texts; only the code around them differs.

use crate::i18n::{Lang, Text};
use crate::sandbox::{OptValue, SockOpt};

const fn t(en: &'static str, zh: &'static str) -> Text {
    Text { en, zh }
}

/// What a call does, by the name the log gives it.
const CALLS: &[(&str, Text)] = &[
    (
        "socket",
        t(
            "socket() makes an endpoint and returns its descriptor: no address, no connection yet.",
            "socket() 创建一个套接字并返回它的描述符：此时还没有地址，也没有连接。",
        ),
    ),
    (
        "bind",
        t(
            "bind() gives the socket its local address and port.",
            "bind() 为套接字指定本地地址和端口。",
        ),
    ),
    (
        "listen",
        t(
            "listen() makes the socket passive: the kernel now completes three-way handshakes by \
         itself and queues the connections, up to the backlog.",
            "listen() 让套接字变为被动套接字：内核自行完成三次握手，并把连接放入监听队列（长度受 backlog 限制）。",
        ),
    ),
    (
        "connect",
        t(
            "connect(): on TCP it runs the three-way handshake and returns when it is done (or \
         refused); on UDP it only fixes the peer, nothing is sent.",
            "connect()：对 TCP 它进行三次握手，握手完成（或被拒绝）时返回；对 UDP 它只记下对端地址，不发送任何数据。",
        ),
    ),
    (
        "accept",
        t(
            "accept() takes the first finished connection from the accept queue and returns a new \
         descriptor for it; the listener goes on listening.",
            "accept() 从监听队列取出第一个已完成三次握手的连接，并为它返回一个新的描述符；监听套接字继续监听。",
        ),
    ),
    (
        "send",
        t(
            "send() copies the bytes into the kernel's send buffer and returns once they are queued, \
         not when the peer has read them.",
            "send() 把数据复制到内核的发送缓冲区，入队即返回，而不是等对端读到。",
        ),
    ),
    (
        "recv",
        t(
            "recv() returns what waits in the receive buffer, up to the buffer's size; 0 means the \
         peer closed its side (FIN).",
            "recv() 返回接收缓冲区中已有的数据（不超过缓冲区大小）；返回 0 表示对端已关闭它的一端（FIN）。",
        ),
    ),
    (
        "sendto",
        t(
            "sendto() sends one datagram to the given address; no connection is needed.",
            "sendto() 向指定地址发送一个数据报，无需连接。",
        ),
    ),
    (
        "recvfrom",
        t(
            "recvfrom() reads one whole datagram and says who sent it.",
            "recvfrom() 读取一个完整的数据报，并给出发送方的地址。",
        ),
    ),
    (
        "shutdown",
        t(
            "shutdown() closes one direction: SHUT_WR sends FIN (a half-close) and the socket can \
         still receive.",
            "shutdown() 关闭一个方向：SHUT_WR 发送 FIN（半关闭），套接字仍可接收。",
        ),
    ),
    (
        "close",
        t(
            "close() releases the descriptor; on a connected TCP socket the kernel sends FIN, the \
         first step of the four-way handshake.",
            "close() 释放描述符；对已连接的 TCP 套接字，内核发送 FIN，开始四次挥手。",
        ),
    ),
    (
        "setsockopt",
        t(
            "setsockopt() changes how the kernel treats this socket.",
            "setsockopt() 改变内核对这个套接字的处理方式。",
        ),
    ),
    (
        "getsockopt",
        t(
            "getsockopt() reads a socket option back.",
            "getsockopt() 读取套接字选项的值。",
        ),
    ),
    (
        "getsockname",
        t(
            "getsockname() asks which local address and port the socket has (a port the kernel \
         chose shows here).",
            "getsockname() 查询套接字的本地地址和端口（内核选择的端口也能在这里看到）。",
        ),
    ),
    (
        "getpeername",
        t(
            "getpeername() asks for the address of the other end.",
            "getpeername() 查询对端的地址。",
        ),
    ),
    (
        "nonblocking",
        t(
            "O_NONBLOCK switches blocking: a non-blocking socket's call that would wait returns at \
         once with EAGAIN or EINPROGRESS.",
            "O_NONBLOCK 切换阻塞模式：非阻塞套接字上本会等待的调用立即返回 EAGAIN 或 EINPROGRESS。",
        ),
    ),
];

/// Options whose effect is a lesson of its own.
const OPTIONS: &[(SockOpt, Text)] = &[
    (
        SockOpt::SoReuseaddr,
        t(
            "SO_REUSEADDR lets bind() take a port that a connection in TIME_WAIT still holds.",
            "SO_REUSEADDR 允许 bind() 使用仍被 TIME_WAIT 状态的连接占用的端口。",
        ),
    ),
    (
        SockOpt::SoLinger,
        t(
            "SO_LINGER on with 0 seconds: close() throws unsent data away and sends RST instead \
         of FIN.",
            "SO_LINGER 开启且时间为 0：close() 丢弃未发送的数据，发送 RST 而不是 FIN。",
        ),
    ),
    (
        SockOpt::TcpNodelay,
        t(
            "TCP_NODELAY turns Nagle's algorithm off: small sends leave at once.",
            "TCP_NODELAY 关闭 Nagle 算法：小块数据立即发出。",
        ),
    ),
];

/// Why an errno was expected.
const ERRNOS: &[(&str, Text)] = &[
    (
        "ECONNREFUSED",
        t(
            "Expected ECONNREFUSED: nothing listened on that port, so the peer's kernel answered \
         the SYN with RST.",
            "预期 ECONNREFUSED：该端口上没有套接字在监听，对端内核用 RST 回应了 SYN。",
        ),
    ),
    (
        "EADDRINUSE",
        t(
            "Expected EADDRINUSE: another socket, or a connection in TIME_WAIT, still holds this \
         address and port.",
            "预期 EADDRINUSE：另一个套接字（或处于 TIME_WAIT 的连接）仍占用这个地址和端口。",
        ),
    ),
    (
        "EAGAIN",
        t(
            "Expected EAGAIN: the socket is non-blocking and nothing is ready, so the call returns \
         at once instead of waiting.",
            "预期 EAGAIN：套接字是非阻塞的，且没有就绪的数据或连接，所以调用立即返回而不是阻塞等待。",
        ),
    ),
    (
        "EINPROGRESS",
        t(
            "Expected EINPROGRESS: a non-blocking connect() has sent the SYN and returns before the \
         handshake ends.",
            "预期 EINPROGRESS：非阻塞的 connect() 已发出 SYN，在三次握手完成前就返回。",
        ),
    ),
    (
        "ECONNRESET",
        t(
            "Expected ECONNRESET: the peer reset the connection (RST), e.g. it closed with \
         SO_LINGER 0.",
            "预期 ECONNRESET：对端重置了连接（RST），例如它以 SO_LINGER 0 关闭了套接字。",
        ),
    ),
    (
        "EPIPE",
        t(
            "Expected EPIPE: this side may no longer send (it shut down writing, or the peer reset \
         the connection).",
            "预期 EPIPE：这一端已不能再发送（已关闭写方向，或对端已重置连接）。",
        ),
    ),
    (
        "ENOTCONN",
        t(
            "Expected ENOTCONN: the socket is not connected.",
            "预期 ENOTCONN：套接字尚未连接。",
        ),
    ),
    (
        "EISCONN",
        t(
            "Expected EISCONN: the socket is already connected.",
            "预期 EISCONN：套接字已经连接。",
        ),
    ),
    (
        "EINVAL",
        t(
            "Expected EINVAL: the call does not fit the socket's state (e.g. accept on a socket \
         that does not listen, or bind twice).",
            "预期 EINVAL：调用与套接字的状态不符（例如在未监听的套接字上 accept，或重复 bind）。",
        ),
    ),
];

/// What an errno expectation says when the table has no sentence for it.
const ERRNO_FALLBACK: Text = t(
    "Expected {errno}: the call failed this way in the session, so it must fail the same way \
     here.",
    "预期 {errno}：这个调用在会话中以此方式失败，这里也必须同样失败。",
);

/// Said of a call that blocked in the session.
pub const BLOCKED: Text = t(
    "Blocks: in the session this call waited (pending) until another host acted; here it \
     waits the same way.",
    "阻塞：在会话中这个调用一直等待（pending），直到另一台主机有所动作；这里它同样会等待。",
);

/// Said of a stream receive that returned 0.
pub const END_OF_STREAM: Text = t(
    "Returns 0: the peer sent FIN and everything before it has been read; the stream has \
     ended.",
    "返回 0：对端已发送 FIN，之前的数据都已读完，字节流到此结束。",
);

/// Said of a step that waits for another host's step.
pub const WAITS_TURN: Text = t(
    "Waits its turn: in the session another host's step came just before this one.",
    "等待轮次：在会话中，另一台主机的步骤紧挨在这一步之前。",
);

/// Said of a call the program does not make.
pub const SKIPPED: Text = t("Not made here: {reason}.", "此处不执行：{reason}。");

/// Why a call is left out, by [`super::plan::SkipReason::tag`].
pub const SKIP_REASONS: &[(&str, Text)] = &[
    (
        "unsupported",
        t(
            "exported programs speak TCP and UDP over IPv4 and IPv6 only (no Unix-domain, raw or \
         ICMP sockets)",
            "导出的程序只支持基于 IPv4 和 IPv6 的 TCP 与 UDP（不含 Unix 域、原始或 ICMP 套接字）",
        ),
    ),
    (
        "unknown_descriptor",
        t(
            "the descriptor was not made by a call of the session (an exercise's setup) or was \
         not open",
            "该描述符不是由会话中的调用创建的（例如练习的预置），或并未打开",
        ),
    ),
    (
        "never_finished",
        t(
            "the call never finished on its own: it was still blocked when the log ends, or \
         the session ended it (the session ended, or its descriptor was closed under it), so \
         a program would wait forever",
            "该调用没有自己完成：日志结束时它仍在阻塞，或者是会话结束了它（会话结束，或它阻塞时\
         描述符被关闭），程序会永远等待",
        ),
    ),
    (
        "sandbox",
        t(
            "the sandbox refused it, not the kernel (an address outside the session, a datagram \
         to a port no socket of the session holds), so a program on its own machine would not \
         see the same",
            "拒绝它的是沙箱而不是内核（会话之外的地址、发往会话中没有套接字占用的端口的数据报），\
         在自己的机器上运行的程序不会遇到同样的结果",
        ),
    ),
];

/// The header's phrases.
pub const TITLE: Text = t(
    "Plugboard: host {host}'s calls of a recorded session, as a program.",
    "Plugboard：录制的会话中主机 {host} 的调用，写成程序。",
);
pub const OUTPUT: Text = t(
    "Each call prints one line, `step <n> <call> -> <outcome>` (outcome: ok, a byte count, or \
     an errno name); when a call does not turn out as in the session, the line ends with \
     `expected <outcome>` and the program exits with status 1.",
    "每个调用输出一行：`step <n> <call> -> <outcome>`（outcome 为 ok、字节数或 errno 名称）；\
     若调用结果与会话不同，该行以 `expected <outcome>` 结尾，程序以状态 1 退出。",
);
pub const BUILD: Text = t("Build:", "编译：");
pub const RUN: Text = t(
    "Run (start them together, in this order; each waits for its turn):",
    "运行（按此顺序同时启动；每个程序会等待自己的轮次）：",
);
pub const RUN_ONE: Text = t("Run:", "运行：");
pub const PACING: Text = t(
    "Order across hosts: blocking calls wait for their peer as in the session; a step that came \
     right after another host's step waits until {pause} ms × its place on the timeline after \
     START_AT (Unix time in seconds; without it, the program's own start), so the programs \
     keep the session's order.",
    "主机之间的顺序：阻塞调用像会话中一样等待对端；紧跟在另一台主机步骤之后的步骤，会等到 START_AT（Unix 时间，单位秒；\
     未设置时为程序自己的启动时刻）之后 {pause} 毫秒 × 它在时间线上的位置，因此各程序能保持会话中的顺序。",
);
pub const PARAMS: Text = t(
    "Addresses are parameters (environment variables); the defaults are loopback addresses, so \
     the programs run on one machine. To use the session's own addresses (e.g. in network \
     namespaces), set:",
    "地址是参数（环境变量）；默认值为回环地址，程序可在一台机器上运行。若要使用会话中的地址（例如在网络命名空间中），请设置：",
);
pub const DEFAULT: Text = t("default", "默认");
pub const SKIPPED_HEAD: Text = t(
    "Calls of the session these programs do not make:",
    "这些程序不执行的会话调用：",
);

/// What `call` does.
pub fn call(call: &str, lang: Lang) -> Option<&'static str> {
    CALLS
        .iter()
        .find(|(name, _)| *name == call)
        .map(|(_, text)| text.get(lang))
}

/// What setting `option` to `value` does, when it is a lesson of its own. Only a value that
/// turns the effect on teaches it: SO_LINGER off, or with a timeout, sends no RST;
/// SO_REUSEADDR 0 allows nothing.
pub fn option(option: SockOpt, value: OptValue, lang: Lang) -> Option<&'static str> {
    let on = match value {
        OptValue::Int(v) => v != 0,
        OptValue::Bool(b) => b,
        OptValue::Linger { onoff, seconds } => onoff && seconds == 0,
    };
    if !on {
        return None;
    }
    OPTIONS
        .iter()
        .find(|(o, _)| *o == option)
        .map(|(_, text)| text.get(lang))
}

/// Why `errno` was expected.
pub fn errno(errno: &str, lang: Lang) -> String {
    ERRNOS.iter().find(|(name, _)| *name == errno).map_or_else(
        || ERRNO_FALLBACK.get(lang).replace("{errno}", errno),
        |(_, text)| text.get(lang).to_owned(),
    )
}

/// Why a call was left out.
pub fn skip_reason(tag: &str, lang: Lang) -> &str {
    SKIP_REASONS
        .iter()
        .find(|(t, _)| *t == tag)
        .map_or(tag, |(_, text)| text.get(lang))
}

/// Why a call was left out, as the sentence of its step's comment.
pub fn skipped(tag: &str, lang: Lang) -> String {
    SKIPPED
        .get(lang)
        .replace("{reason}", skip_reason(tag, lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_has_both_languages() {
        let all = CALLS
            .iter()
            .map(|(_, t)| *t)
            .chain(OPTIONS.iter().map(|(_, t)| *t))
            .chain(ERRNOS.iter().map(|(_, t)| *t))
            .chain(SKIP_REASONS.iter().map(|(_, t)| *t))
            .chain([
                DEFAULT,
                ERRNO_FALLBACK,
                BLOCKED,
                WAITS_TURN,
                SKIPPED,
                TITLE,
                OUTPUT,
                BUILD,
                RUN,
            ]);
        for text in all {
            assert!(!text.en.is_empty() && !text.zh.is_empty(), "{text:?}");
            assert!(
                !text.en.contains("*/") && !text.zh.contains("*/"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn errno_lessons_fall_back_to_a_sentence_naming_it() {
        assert!(errno("ECONNREFUSED", Lang::Zh).contains("RST"));
        assert!(errno("EHOSTUNREACH", Lang::En).starts_with("Expected EHOSTUNREACH"));
    }
}
