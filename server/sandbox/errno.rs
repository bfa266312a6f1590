//! Owns the table of errno names, numbers, messages and learner hints for
//! every errno a socket call in the playground can produce. When a call fails,
//! its result shows the kernel's own error (the symbolic name, the Linux
//! number and the C library's `strerror` message) so students learn the real
//! vocabulary, plus a one-sentence hint explaining what usually causes that
//! error in a socket program and what to try next. Keeping all of this in a
//! single static table means every errno is described exactly once.
//!
//! The hint is written for learners in every language Plugboard speaks (English and
//! Simplified Chinese); the name and message stay as the C library has them, since those are
//! what a learner meets in man pages and real programs.

use crate::i18n::Text;

/// What the kernel said when a call failed, described for a learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Errno {
    /// Symbolic name, e.g. "ECONNREFUSED".
    pub name: &'static str,
    /// The number on Linux, e.g. 111.
    pub code: i32,
    /// The C library's message (strerror), e.g. "Connection refused".
    pub message: &'static str,
    /// One or two sentences for a student: what usually causes it in a socket program and what to do.
    /// Serialized in the language of the request being answered.
    #[schema(value_type = String)]
    pub hint: Text,
}

/// Name used for errno numbers that are not in [`TABLE`].
const UNKNOWN_NAME: &str = "EUNKNOWN";
/// Message used for errno numbers that are not in [`TABLE`].
const UNKNOWN_MESSAGE: &str = "Unknown error";
/// Hint used for errno numbers that are not in [`TABLE`].
const UNKNOWN_HINT: Text = Text {
    en: "The kernel returned an error this playground does not describe. \
         Look the number up with `man errno` and check the man page of the call you made.",
    zh: "内核返回了一个本实验环境没有描述的错误。用 `man errno` 查这个编号，并查看你所做调用的手册页。",
};

/// Every errno the playground describes: (code, name, message, hint, hint in Chinese).
///
/// One row per errno. Aliases share a number on Linux and are listed once:
/// EAGAIN covers EWOULDBLOCK, EOPNOTSUPP covers ENOTSUP.
const TABLE: &[Row] = &[
    (
        libc::EPERM,
        "EPERM",
        "Operation not permitted",
        "The operation needs a privilege the process does not have, for example binding a \
         port below 1024 or opening a raw socket. Use a port of 1024 or above, or a normal \
         TCP/UDP socket.",
        "该操作需要进程不具备的权限，例如绑定 1024 以下的端口或打开原始套接字。请使用 1024 及以上的端口，或使用普通的 TCP/UDP 套接字。",
    ),
    (
        libc::ENOENT,
        "ENOENT",
        "No such file or directory",
        "A path does not exist: for a Unix-domain socket, connect was given a path nobody \
         bound, or a directory in the path is missing. Bind the server socket to that path \
         first.",
        "路径不存在：对 Unix 域套接字来说，connect 的路径没有任何套接字 bind 过，或者路径中的某个目录不存在。请先把服务器套接字 bind 到这个路径。",
    ),
    (
        libc::EINTR,
        "EINTR",
        "Interrupted system call",
        "A signal arrived while the call was waiting (in accept, connect, recv, ...), so it \
         stopped early without doing its work. Nothing is broken: simply make the same call \
         again.",
        "调用在等待时（accept、connect、recv 等）收到了信号，于是提前返回，没有完成工作。这并不是出错：再调用一次即可。",
    ),
    (
        libc::EIO,
        "EIO",
        "Input/output error",
        "A low-level input/output error happened that has no more specific errno. Close the \
         socket and start again; if it keeps happening, the host or network setup is at fault.",
        "发生了底层的输入/输出错误，而且没有更具体的 errno。关闭套接字重新开始；如果反复出现，问题出在主机或网络配置上。",
    ),
    (
        libc::EBADF,
        "EBADF",
        "Bad file descriptor",
        "That file descriptor number is not open: it was never returned by socket or accept, \
         it belongs to the other host, or it was already closed. Check which fd you are using \
         and on which host (A or B).",
        "这个文件描述符没有打开：它从未由 socket 或 accept 返回，或者属于另一台主机，或者已经被 close。检查你用的是哪个 fd、在哪台主机（A 还是 B）上。",
    ),
    (
        libc::ENOMEM,
        "ENOMEM",
        "Cannot allocate memory",
        "The kernel ran out of memory for this request, often because a buffer or socket \
         option value is far too large. Use smaller sizes and close sockets you no longer need.",
        "内核没有足够的内存完成这个请求，通常是缓冲区或套接字选项的值设得太大。请使用更小的值，并关闭不再需要的套接字。",
    ),
    (
        libc::EACCES,
        "EACCES",
        "Permission denied",
        "The call is not allowed: for example sending to a broadcast address without \
         SO_BROADCAST, binding a port below 1024 without privilege, or a Unix socket path you \
         may not write. Set SO_BROADCAST, pick a higher port, or use another path.",
        "这个调用不被允许：例如没有设置 SO_BROADCAST 就向广播地址发送、没有权限却绑定 1024 以下的端口，或者无权写入的 Unix 套接字路径。请设置 SO_BROADCAST、换一个更大的端口号，或换一个路径。",
    ),
    (
        libc::EFAULT,
        "EFAULT",
        "Bad address",
        "A pointer passed to the kernel (a buffer or address structure) points outside the \
         program's memory. In the playground this means an argument was malformed; check the \
         buffer and address you supplied.",
        "传给内核的指针（缓冲区或地址结构）指向了程序内存之外。在这个实验环境里，这意味着某个参数格式不对；请检查你给出的缓冲区和地址。",
    ),
    (
        libc::ENODEV,
        "ENODEV",
        "No such device",
        "The network interface you named does not exist, for example in SO_BINDTODEVICE or a \
         multicast option. List the host's interfaces and use one of their names.",
        "你指定的网络接口不存在，例如在 SO_BINDTODEVICE 或组播选项中。先列出主机的接口，再使用其中的名字。",
    ),
    (
        libc::EINVAL,
        "EINVAL",
        "Invalid argument",
        "An argument is wrong or the call is out of order for this socket's state: binding a \
         socket that is already bound, accepting on a socket that is not listening, or a bad \
         address length or option value. (Calling listen before bind is fine: the kernel picks \
         a port for you.) Check the socket's current state and the arguments.",
        "参数有误，或者对套接字当前的状态来说调用顺序不对：对已经绑定的套接字再次 bind、在没有 listen 的套接字上 accept，或者地址长度、选项值不正确。（先 listen 后 bind 并没有问题：内核会替你选一个端口。）请检查套接字当前的状态和参数。",
    ),
    (
        libc::ENFILE,
        "ENFILE",
        "Too many open files in system",
        "The whole system has hit its limit of open files. Close sockets you no longer need \
         on every host.",
        "整个系统打开的文件数已达上限。在每台主机上关闭不再需要的套接字。",
    ),
    (
        libc::EMFILE,
        "EMFILE",
        "Too many open files",
        "This process has hit its limit of open file descriptors, usually because sockets \
         (often ones returned by accept) are never closed. Close the ones you are done with.",
        "本进程打开的文件描述符已达上限，通常是因为套接字（往往是 accept 返回的那些）从不关闭。把用完的套接字 close 掉。",
    ),
    (
        libc::EPIPE,
        "EPIPE",
        "Broken pipe",
        "You wrote to a socket whose write side is already shut down (shutdown SHUT_WR) or \
         whose peer has closed the connection. Stop sending; close this socket and reconnect \
         if you need to send more.",
        "你向一个写方向已经关闭（shutdown SHUT_WR）或对端已经关闭连接的套接字写数据。停止发送；如果还要发送，关闭这个套接字并重新连接。",
    ),
    (
        libc::ERANGE,
        "ERANGE",
        "Numerical result out of range",
        "A number is outside the range the call accepts, for example a socket option value \
         or buffer size that is too large or too small. Use a value within the documented \
         range.",
        "数值超出了调用接受的范围，例如套接字选项的值或缓冲区大小过大或过小。请使用文档规定范围内的值。",
    ),
    (
        libc::EAGAIN,
        "EAGAIN",
        "Resource temporarily unavailable",
        "The socket is non-blocking and nothing is ready yet: no data to recv, no connection \
         to accept, or no room to send (also known as EWOULDBLOCK). Try again later, after the \
         other host acts, or turn non-blocking mode off. On a blocking socket with a timeout \
         (SO_RCVTIMEO/SO_SNDTIMEO) it means the timeout expired.",
        "套接字处于非阻塞模式，而现在还没有就绪的事：没有数据可 recv、没有连接可 accept，或者发送缓冲区已满（也叫 EWOULDBLOCK）。等另一台主机动作之后再试，或者关闭非阻塞模式。在设置了超时（SO_RCVTIMEO/SO_SNDTIMEO）的阻塞套接字上，它表示超时已到。",
    ),
    (
        libc::ENAMETOOLONG,
        "ENAMETOOLONG",
        "File name too long",
        "The Unix-domain socket path is longer than the address structure allows (about 108 \
         bytes). Use a shorter path.",
        "Unix 域套接字的路径超过了地址结构能容纳的长度（约 108 字节）。请使用更短的路径。",
    ),
    (
        libc::EISDIR,
        "EISDIR",
        "Is a directory",
        "The path names a directory, which unlink does not remove. Unlink the socket's own \
         file, like /tmp/echo.sock.",
        "这个路径是一个目录，unlink 不会删除目录。请 unlink 套接字自己的文件，例如 /tmp/echo.sock。",
    ),
    (
        libc::ENOTDIR,
        "ENOTDIR",
        "Not a directory",
        "A part of the path that should be a directory is a file (a socket's file, say). Check \
         the path.",
        "路径中本应是目录的部分是一个文件（比如某个套接字的文件）。请检查路径。",
    ),
    (
        libc::ELOOP,
        "ELOOP",
        "Too many levels of symbolic links",
        "The path goes through a symbolic link that the call does not follow.",
        "路径经过了一个这个调用不会跟随的符号链接。",
    ),
    (
        libc::ENOSPC,
        "ENOSPC",
        "No space left on device",
        "There is no room for another file. Unlink socket files that are no longer used: a \
         socket's file stays after the socket closes.",
        "没有空间再建文件了。unlink 不再使用的套接字文件：套接字关闭后它的文件仍然留着。",
    ),
    (
        libc::ENOSYS,
        "ENOSYS",
        "Function not implemented",
        "The kernel does not implement this call or feature. Use a different call to achieve \
         the same thing.",
        "内核没有实现这个调用或功能。请用别的调用达到同样的目的。",
    ),
    (
        libc::EPROTO,
        "EPROTO",
        "Protocol error",
        "The protocol detected an error, for example a connection that failed while accept \
         was picking it up. Call accept again for the next connection.",
        "协议检测到了错误，例如某个连接在 accept 取出它时失败了。再调用一次 accept 取下一个连接。",
    ),
    (
        libc::ENOTSOCK,
        "ENOTSOCK",
        "Socket operation on non-socket",
        "The file descriptor is open but is not a socket, so socket calls cannot use it. \
         Pass the fd returned by socket or accept.",
        "这个文件描述符是打开的，但不是套接字，套接字调用不能用它。请传入 socket 或 accept 返回的 fd。",
    ),
    (
        libc::EDESTADDRREQ,
        "EDESTADDRREQ",
        "Destination address required",
        "You sent on a socket that has no destination: a UDP socket that was never connected \
         needs sendto with an address, and a TCP socket must connect first. Give an address \
         or call connect.",
        "你在一个没有目的地址的套接字上发送：从未 connect 的 UDP 套接字需要用带地址的 sendto，TCP 套接字必须先 connect。请给出地址或先调用 connect。",
    ),
    (
        libc::EMSGSIZE,
        "EMSGSIZE",
        "Message too long",
        "The datagram is too big to send in one piece (larger than the UDP limit or the path's \
         maximum size). Send smaller messages or split the data.",
        "数据报太大，无法一次发送（超过 UDP 的上限或路径的最大传输单元）。请发送更小的消息或把数据拆开。",
    ),
    (
        libc::EPROTOTYPE,
        "EPROTOTYPE",
        "Protocol wrong type for socket",
        "The protocol does not match the socket type, for example IPPROTO_UDP with \
         SOCK_STREAM, or connecting to a Unix socket of a different type. Use IPPROTO_TCP with \
         SOCK_STREAM, IPPROTO_UDP with SOCK_DGRAM, or protocol 0.",
        "协议与套接字类型不匹配，例如 SOCK_STREAM 配 IPPROTO_UDP，或连接到另一种类型的 Unix 套接字。SOCK_STREAM 用 IPPROTO_TCP，SOCK_DGRAM 用 IPPROTO_UDP，或者协议填 0。",
    ),
    (
        libc::ENOPROTOOPT,
        "ENOPROTOOPT",
        "Protocol not available",
        "That socket option does not exist at the level you gave, or does not apply to this \
         socket type (for example a TCP option on a UDP socket). Check the option name and \
         level (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP).",
        "在你给出的层级上没有这个套接字选项，或者它不适用于这种套接字（例如在 UDP 套接字上设置 TCP 选项）。请检查选项名和层级（SOL_SOCKET、IPPROTO_TCP、IPPROTO_IP）。",
    ),
    (
        libc::EPROTONOSUPPORT,
        "EPROTONOSUPPORT",
        "Protocol not supported",
        "The protocol number is not supported for this address family and type. Pass 0 to \
         let the kernel choose the usual protocol.",
        "这个地址族和类型不支持该协议号。传 0，让内核选择常用的协议。",
    ),
    (
        libc::ESOCKTNOSUPPORT,
        "ESOCKTNOSUPPORT",
        "Socket type not supported",
        "This socket type is not supported in this address family. Use SOCK_STREAM for TCP \
         or SOCK_DGRAM for UDP.",
        "这个地址族不支持该套接字类型。TCP 用 SOCK_STREAM，UDP 用 SOCK_DGRAM。",
    ),
    (
        libc::EOPNOTSUPP,
        "EOPNOTSUPP",
        "Operation not supported",
        "The operation makes no sense for this kind of socket (also known as ENOTSUP), for \
         example listen or accept on a UDP socket, or an unsupported flag. Use a SOCK_STREAM \
         socket for listen and accept.",
        "这个操作对这种套接字没有意义（也叫 ENOTSUP），例如在 UDP 套接字上 listen 或 accept，或者使用了不支持的标志。listen 和 accept 要用 SOCK_STREAM 套接字。",
    ),
    (
        libc::EPFNOSUPPORT,
        "EPFNOSUPPORT",
        "Protocol family not supported",
        "The protocol family is not supported on this host. Use AF_INET, AF_INET6 or \
         AF_UNIX.",
        "这台主机不支持该协议族。请使用 AF_INET、AF_INET6 或 AF_UNIX。",
    ),
    (
        libc::EAFNOSUPPORT,
        "EAFNOSUPPORT",
        "Address family not supported by protocol",
        "The address family does not match the socket, for example an IPv6 address on an \
         AF_INET socket. Create the socket with the same family as the addresses you use.",
        "地址族与套接字不匹配，例如在 AF_INET 套接字上使用 IPv6 地址。创建套接字时使用与地址相同的地址族。",
    ),
    (
        libc::EADDRINUSE,
        "EADDRINUSE",
        "Address already in use",
        "Another socket already holds this address and port (or an old connection on it is \
         still in TIME_WAIT). Close it, pick another port, or set SO_REUSEADDR before bind.",
        "已经有另一个套接字占用了这个地址和端口（或者这个端口上的旧连接还处于 TIME_WAIT）。关闭它、换一个端口，或在 bind 之前设置 SO_REUSEADDR。",
    ),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "Cannot assign requested address",
        "The address does not belong to this host, so you cannot bind to it (binding host A \
         to host B's address, for instance), or no local ports are left. Bind to one of this \
         host's own addresses or to 0.0.0.0.",
        "这个地址不属于本主机，所以不能 bind 到它上面（比如让主机 A 绑定主机 B 的地址），或者本地端口已经用完。请绑定本主机自己的地址或 0.0.0.0。",
    ),
    (
        libc::ENETDOWN,
        "ENETDOWN",
        "Network is down",
        "The network interface the traffic would leave through is down. Bring the link up \
         before using it.",
        "流量要经过的网络接口处于关闭状态。先把链路启用再使用。",
    ),
    (
        libc::ENETUNREACH,
        "ENETUNREACH",
        "Network is unreachable",
        "This host has no route to the destination's network, often because of a typo in the \
         address. Check the address of the other host (A or B) and that the hosts share a \
         network.",
        "本主机没有通往目的网络的路由，往往是地址写错了。请检查另一台主机（A 或 B）的地址，以及两台主机是否在同一个网络中。",
    ),
    (
        libc::ENETRESET,
        "ENETRESET",
        "Network dropped connection on reset",
        "The connection was dropped because the network was reset, for example a keepalive \
         probe failed. Close the socket and connect again.",
        "由于网络复位，连接被断开，例如保活（keepalive）探测失败。关闭套接字后重新连接。",
    ),
    (
        libc::ECONNABORTED,
        "ECONNABORTED",
        "Software caused connection abort",
        "A connection was aborted on this host, typically one that the peer reset while it \
         waited in the listen queue before accept took it. Call accept again for the next \
         connection.",
        "连接在本主机上被中止，典型情况是：连接还在监听队列里等待 accept 时，对端发来了复位。再调用一次 accept 取下一个连接。",
    ),
    (
        libc::ECONNRESET,
        "ECONNRESET",
        "Connection reset by peer",
        "The other side abruptly reset the connection, for example it closed while unread \
         data was still waiting, or its process went away. Close this socket; reconnect if you \
         need to talk again.",
        "对端突然复位（RST）了连接，例如它在还有未读数据时关闭了套接字，或者它的进程已经退出。关闭这个套接字；如果还要通信，重新连接。",
    ),
    (
        libc::ENOBUFS,
        "ENOBUFS",
        "No buffer space available",
        "The kernel has no buffer space left for this socket or queue, often from sending \
         much faster than the peer reads. Send less at once, read on the other side, or retry \
         later.",
        "内核没有缓冲区空间留给这个套接字或队列了，常见原因是发送速度远快于对端读取的速度。一次少发一些、让对端读取，或稍后再试。",
    ),
    (
        libc::EISCONN,
        "EISCONN",
        "Transport endpoint is already connected",
        "The socket is already connected, so connect cannot be called again (after a \
         non-blocking connect this means it has finished successfully). Use the socket as is, \
         or create a new one to connect elsewhere.",
        "套接字已经连接，不能再次调用 connect（非阻塞 connect 之后出现它，说明连接已经成功建立）。直接使用这个套接字，或新建一个去连接别处。",
    ),
    (
        libc::ENOTCONN,
        "ENOTCONN",
        "Transport endpoint is not connected",
        "The socket is not connected, so it cannot send, recv or shut down. Call connect first \
         (client), or use the fd returned by accept rather than the listening socket (server).",
        "套接字没有连接，因此不能 send、recv 或 shutdown。客户端请先调用 connect；服务器端请使用 accept 返回的 fd，而不是监听套接字。",
    ),
    (
        libc::ESHUTDOWN,
        "ESHUTDOWN",
        "Cannot send after transport endpoint shutdown",
        "The socket's sending side has already been shut down with shutdown, so no more data \
         can be sent. Send everything before calling shutdown.",
        "套接字的发送方向已经被 shutdown 关闭，不能再发送数据了。请在调用 shutdown 之前把数据全部发完。",
    ),
    (
        libc::ETIMEDOUT,
        "ETIMEDOUT",
        "Connection timed out",
        "The other host never answered in time: connect received no reply, or an established \
         connection stopped getting acknowledgements. Check the address and that the other \
         host is reachable, then try again.",
        "对方没有及时应答：connect 没有收到回复，或者已建立的连接再也收不到确认。检查地址以及另一台主机是否可达，然后再试。",
    ),
    (
        libc::ECONNREFUSED,
        "ECONNREFUSED",
        "Connection refused",
        "Nothing is listening at that address and port: the server must call bind and listen \
         before the client connects.",
        "这个地址和端口上没有任何套接字在监听：服务器必须先 bind 并 listen，客户端才能 connect。",
    ),
    (
        libc::EHOSTDOWN,
        "EHOSTDOWN",
        "Host is down",
        "The destination host is down and does not respond. Check that the other host is \
         up and its address is right.",
        "目的主机已关闭，没有响应。检查另一台主机是否在运行，地址是否正确。",
    ),
    (
        libc::EHOSTUNREACH,
        "EHOSTUNREACH",
        "No route to host",
        "The destination host cannot be reached: there is no route to it or it did not answer \
         on the local network. Check the address of the other host (A or B) and the network \
         setup.",
        "无法到达目的主机：没有通往它的路由，或者它在本地网络上没有应答。请检查另一台主机（A 或 B）的地址和网络配置。",
    ),
    (
        libc::EALREADY,
        "EALREADY",
        "Operation already in progress",
        "A non-blocking connect on this socket is still in progress. Wait, then check the \
         result with getsockopt SO_ERROR or call connect again (EISCONN means it finished).",
        "这个套接字上的非阻塞 connect 还在进行中。稍等，然后用 getsockopt SO_ERROR 查看结果，或再调用一次 connect（返回 EISCONN 说明已经完成）。",
    ),
    (
        libc::EINPROGRESS,
        "EINPROGRESS",
        "Operation now in progress",
        "A non-blocking connect has started and will complete in the background. Check the \
         result later with getsockopt SO_ERROR, or call connect again: EALREADY means still in \
         progress, EISCONN means it is done.",
        "非阻塞 connect 已经开始，会在后台完成（三次握手）。稍后用 getsockopt SO_ERROR 查看结果，或再调用一次 connect：EALREADY 表示还在进行，EISCONN 表示已经完成。",
    ),
    (
        libc::ECANCELED,
        "ECANCELED",
        "Operation canceled",
        "The operation was cancelled before it finished, for example a pending call whose \
         socket was closed. Start the operation again if you still need it.",
        "操作在完成之前被取消了，例如一个被阻塞的调用所在的套接字被 close。如果仍然需要，重新发起这个操作。",
    ),
];

/// One row of [`TABLE`].
type Row = (i32, &'static str, &'static str, &'static str, &'static str);

impl Errno {
    /// Build an `Errno` from one row of [`TABLE`].
    fn from_row(&(code, name, message, en, zh): &Row) -> Errno {
        Errno {
            name,
            code,
            message,
            hint: Text { en, zh },
        }
    }

    /// Every errno described, in the table's order (for the test that lists untranslated
    /// texts).
    pub fn all() -> impl Iterator<Item = Errno> {
        TABLE.iter().map(Self::from_row)
    }

    /// The hint of an errno this table does not describe.
    pub fn unknown_hint() -> Text {
        UNKNOWN_HINT
    }

    /// Describe a raw Linux errno number. Unknown numbers keep their number but get
    /// name "EUNKNOWN", message "Unknown error", and a generic hint.
    pub fn from_code(code: i32) -> Errno {
        TABLE
            .iter()
            .find(|row| row.0 == code)
            .map(Self::from_row)
            .unwrap_or(Errno {
                name: UNKNOWN_NAME,
                code,
                message: UNKNOWN_MESSAGE,
                hint: UNKNOWN_HINT,
            })
    }

    /// Describe a std::io::Error (uses raw_os_error; an error without an OS code maps to EIO).
    pub fn from_io(err: &std::io::Error) -> Errno {
        Self::from_code(err.raw_os_error().unwrap_or(libc::EIO))
    }

    /// Look a name up (case-sensitive, e.g. "EAGAIN"), for checks in exercises.
    pub fn from_name(name: &str) -> Option<Errno> {
        TABLE.iter().find(|row| row.1 == name).map(Self::from_row)
    }
}

/// A stored errno is read back by its number: the name, message and hint come from the table
/// of this build, so an old log shows today's wording.
impl<'de> serde::Deserialize<'de> for Errno {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            code: i32,
        }
        let stored = Stored::deserialize(deserializer)?;
        Ok(Errno::from_code(stored.code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn econnrefused_is_described() {
        let e = Errno::from_code(libc::ECONNREFUSED);
        assert_eq!(e.name, "ECONNREFUSED");
        assert_eq!(e.code, 111);
        assert_eq!(e.message, "Connection refused");
        assert!(!e.hint.en.is_empty());
    }

    #[test]
    fn every_name_round_trips() {
        for &(code, name, message, hint, _) in TABLE {
            let e = Errno::from_name(name).expect("name in table must be found");
            assert_eq!(e.name, name);
            assert_eq!(e.code, code);
            assert_eq!(e.message, message);
            assert_eq!(e.hint.en, hint);
            assert_eq!(Errno::from_code(code), e);
            assert!(!message.is_empty(), "{name} has no message");
            assert!(!hint.is_empty(), "{name} has no hint");
        }
    }

    #[test]
    fn no_duplicate_codes_or_names() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for &(code, name, _, _, _) in TABLE {
            assert!(codes.insert(code), "code {code} ({name}) listed twice");
            assert!(names.insert(name), "name {name} listed twice");
        }
    }

    #[test]
    fn required_errnos_are_covered() {
        let required = [
            "EACCES",
            "EADDRINUSE",
            "EADDRNOTAVAIL",
            "EAFNOSUPPORT",
            "EAGAIN",
            "EALREADY",
            "EBADF",
            "ECONNABORTED",
            "ECONNREFUSED",
            "ECONNRESET",
            "EDESTADDRREQ",
            "EFAULT",
            "EHOSTUNREACH",
            "EINPROGRESS",
            "EINTR",
            "EINVAL",
            "EIO",
            "EISCONN",
            "EMFILE",
            "EMSGSIZE",
            "ENETDOWN",
            "ENETUNREACH",
            "ENFILE",
            "ENOBUFS",
            "ENOMEM",
            "ENOPROTOOPT",
            "ENOTCONN",
            "ENOTSOCK",
            "EOPNOTSUPP",
            "EPERM",
            "EPIPE",
            "EPROTONOSUPPORT",
            "EPROTOTYPE",
            "ESOCKTNOSUPPORT",
            "ETIMEDOUT",
            "ESHUTDOWN",
            "ECANCELED",
            "EHOSTDOWN",
            "ENODEV",
            "ENOENT",
            "ERANGE",
            "EISDIR",
            "ENOTDIR",
            "ELOOP",
            "ENOSPC",
        ];
        for name in required {
            assert!(
                Errno::from_name(name).is_some(),
                "{name} missing from table"
            );
        }
    }

    #[test]
    fn aliases_resolve_to_canonical_names() {
        assert_eq!(Errno::from_code(libc::EWOULDBLOCK).name, "EAGAIN");
        assert_eq!(Errno::from_code(libc::ENOTSUP).name, "EOPNOTSUPP");
    }

    #[test]
    fn unknown_code() {
        let e = Errno::from_code(99999);
        assert_eq!(e.name, "EUNKNOWN");
        assert_eq!(e.code, 99999);
        assert_eq!(e.message, "Unknown error");
        assert!(!e.hint.en.is_empty());
        assert!(Errno::from_name("EUNKNOWN").is_none());
        assert!(Errno::from_name("eagain").is_none());
    }

    #[test]
    fn from_io_uses_os_code() {
        let e = Errno::from_io(&std::io::Error::from_raw_os_error(libc::EPIPE));
        assert_eq!(e.name, "EPIPE");
        let e = Errno::from_io(&std::io::Error::other("no os code"));
        assert_eq!(e.name, "EIO");
    }
}
