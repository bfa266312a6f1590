//! Owns the table of errno names, numbers, messages and learner hints for
//! every errno a socket call in the playground can produce. When a call fails,
//! its result shows the kernel's own error (the symbolic name, the Linux
//! number and the C library's `strerror` message) so students learn the real
//! vocabulary, plus a one-sentence hint explaining what usually causes that
//! error in a socket program and what to try next. Keeping all of this in a
//! single static table means every errno is described exactly once.

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
    pub hint: &'static str,
}

/// Name used for errno numbers that are not in [`TABLE`].
const UNKNOWN_NAME: &str = "EUNKNOWN";
/// Message used for errno numbers that are not in [`TABLE`].
const UNKNOWN_MESSAGE: &str = "Unknown error";
/// Hint used for errno numbers that are not in [`TABLE`].
const UNKNOWN_HINT: &str = "The kernel returned an error this playground does not describe. \
     Look the number up with `man errno` and check the man page of the call you made.";

/// Every errno the playground describes: (code, name, message, hint).
///
/// One row per errno. Aliases share a number on Linux and are listed once:
/// EAGAIN covers EWOULDBLOCK, EOPNOTSUPP covers ENOTSUP.
const TABLE: &[(i32, &str, &str, &str)] = &[
    (
        libc::EPERM,
        "EPERM",
        "Operation not permitted",
        "The operation needs a privilege the process does not have, for example binding a \
         port below 1024 or opening a raw socket. Use a port of 1024 or above, or a normal \
         TCP/UDP socket.",
    ),
    (
        libc::ENOENT,
        "ENOENT",
        "No such file or directory",
        "A path does not exist: for a Unix-domain socket, connect was given a path nobody \
         bound, or a directory in the path is missing. Bind the server socket to that path \
         first.",
    ),
    (
        libc::EINTR,
        "EINTR",
        "Interrupted system call",
        "A signal arrived while the call was waiting (in accept, connect, recv, ...), so it \
         stopped early without doing its work. Nothing is broken: simply make the same call \
         again.",
    ),
    (
        libc::EIO,
        "EIO",
        "Input/output error",
        "A low-level input/output error happened that has no more specific errno. Close the \
         socket and start again; if it keeps happening, the host or network setup is at fault.",
    ),
    (
        libc::EBADF,
        "EBADF",
        "Bad file descriptor",
        "That file descriptor number is not open: it was never returned by socket or accept, \
         it belongs to the other host, or it was already closed. Check which fd you are using \
         and on which host (A or B).",
    ),
    (
        libc::ENOMEM,
        "ENOMEM",
        "Cannot allocate memory",
        "The kernel ran out of memory for this request, often because a buffer or socket \
         option value is far too large. Use smaller sizes and close sockets you no longer need.",
    ),
    (
        libc::EACCES,
        "EACCES",
        "Permission denied",
        "The call is not allowed: for example sending to a broadcast address without \
         SO_BROADCAST, binding a port below 1024 without privilege, or a Unix socket path you \
         may not write. Set SO_BROADCAST, pick a higher port, or use another path.",
    ),
    (
        libc::EFAULT,
        "EFAULT",
        "Bad address",
        "A pointer passed to the kernel (a buffer or address structure) points outside the \
         program's memory. In the playground this means an argument was malformed; check the \
         buffer and address you supplied.",
    ),
    (
        libc::ENODEV,
        "ENODEV",
        "No such device",
        "The network interface you named does not exist, for example in SO_BINDTODEVICE or a \
         multicast option. List the host's interfaces and use one of their names.",
    ),
    (
        libc::EINVAL,
        "EINVAL",
        "Invalid argument",
        "An argument is wrong or the call is out of order for this socket's state: binding a \
         socket that is already bound, accepting on a socket that is not listening, or a bad \
         address length or option value. (Calling listen before bind is fine: the kernel picks \
         a port for you.) Check the socket's current state and the arguments.",
    ),
    (
        libc::ENFILE,
        "ENFILE",
        "Too many open files in system",
        "The whole system has hit its limit of open files. Close sockets you no longer need \
         on every host.",
    ),
    (
        libc::EMFILE,
        "EMFILE",
        "Too many open files",
        "This process has hit its limit of open file descriptors, usually because sockets \
         (often ones returned by accept) are never closed. Close the ones you are done with.",
    ),
    (
        libc::EPIPE,
        "EPIPE",
        "Broken pipe",
        "You wrote to a socket whose write side is already shut down (shutdown SHUT_WR) or \
         whose peer has closed the connection. Stop sending; close this socket and reconnect \
         if you need to send more.",
    ),
    (
        libc::ERANGE,
        "ERANGE",
        "Numerical result out of range",
        "A number is outside the range the call accepts, for example a socket option value \
         or buffer size that is too large or too small. Use a value within the documented \
         range.",
    ),
    (
        libc::EAGAIN,
        "EAGAIN",
        "Resource temporarily unavailable",
        "The socket is non-blocking and nothing is ready yet: no data to recv, no connection \
         to accept, or no room to send (also known as EWOULDBLOCK). Try again later, after the \
         other host acts, or turn non-blocking mode off. On a blocking socket with a timeout \
         (SO_RCVTIMEO/SO_SNDTIMEO) it means the timeout expired.",
    ),
    (
        libc::ENAMETOOLONG,
        "ENAMETOOLONG",
        "File name too long",
        "The Unix-domain socket path is longer than the address structure allows (about 108 \
         bytes). Use a shorter path.",
    ),
    (
        libc::EISDIR,
        "EISDIR",
        "Is a directory",
        "The path names a directory, which unlink does not remove. Unlink the socket's own \
         file, like /tmp/echo.sock.",
    ),
    (
        libc::ENOTDIR,
        "ENOTDIR",
        "Not a directory",
        "A part of the path that should be a directory is a file (a socket's file, say). Check \
         the path.",
    ),
    (
        libc::ELOOP,
        "ELOOP",
        "Too many levels of symbolic links",
        "The path goes through a symbolic link that the call does not follow.",
    ),
    (
        libc::ENOSPC,
        "ENOSPC",
        "No space left on device",
        "There is no room for another file. Unlink socket files that are no longer used: a \
         socket's file stays after the socket closes.",
    ),
    (
        libc::ENOSYS,
        "ENOSYS",
        "Function not implemented",
        "The kernel does not implement this call or feature. Use a different call to achieve \
         the same thing.",
    ),
    (
        libc::EPROTO,
        "EPROTO",
        "Protocol error",
        "The protocol detected an error, for example a connection that failed while accept \
         was picking it up. Call accept again for the next connection.",
    ),
    (
        libc::ENOTSOCK,
        "ENOTSOCK",
        "Socket operation on non-socket",
        "The file descriptor is open but is not a socket, so socket calls cannot use it. \
         Pass the fd returned by socket or accept.",
    ),
    (
        libc::EDESTADDRREQ,
        "EDESTADDRREQ",
        "Destination address required",
        "You sent on a socket that has no destination: a UDP socket that was never connected \
         needs sendto with an address, and a TCP socket must connect first. Give an address \
         or call connect.",
    ),
    (
        libc::EMSGSIZE,
        "EMSGSIZE",
        "Message too long",
        "The datagram is too big to send in one piece (larger than the UDP limit or the path's \
         maximum size). Send smaller messages or split the data.",
    ),
    (
        libc::EPROTOTYPE,
        "EPROTOTYPE",
        "Protocol wrong type for socket",
        "The protocol does not match the socket type, for example IPPROTO_UDP with \
         SOCK_STREAM, or connecting to a Unix socket of a different type. Use IPPROTO_TCP with \
         SOCK_STREAM, IPPROTO_UDP with SOCK_DGRAM, or protocol 0.",
    ),
    (
        libc::ENOPROTOOPT,
        "ENOPROTOOPT",
        "Protocol not available",
        "That socket option does not exist at the level you gave, or does not apply to this \
         socket type (for example a TCP option on a UDP socket). Check the option name and \
         level (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP).",
    ),
    (
        libc::EPROTONOSUPPORT,
        "EPROTONOSUPPORT",
        "Protocol not supported",
        "The protocol number is not supported for this address family and type. Pass 0 to \
         let the kernel choose the usual protocol.",
    ),
    (
        libc::ESOCKTNOSUPPORT,
        "ESOCKTNOSUPPORT",
        "Socket type not supported",
        "This socket type is not supported in this address family. Use SOCK_STREAM for TCP \
         or SOCK_DGRAM for UDP.",
    ),
    (
        libc::EOPNOTSUPP,
        "EOPNOTSUPP",
        "Operation not supported",
        "The operation makes no sense for this kind of socket (also known as ENOTSUP), for \
         example listen or accept on a UDP socket, or an unsupported flag. Use a SOCK_STREAM \
         socket for listen and accept.",
    ),
    (
        libc::EPFNOSUPPORT,
        "EPFNOSUPPORT",
        "Protocol family not supported",
        "The protocol family is not supported on this host. Use AF_INET, AF_INET6 or \
         AF_UNIX.",
    ),
    (
        libc::EAFNOSUPPORT,
        "EAFNOSUPPORT",
        "Address family not supported by protocol",
        "The address family does not match the socket, for example an IPv6 address on an \
         AF_INET socket. Create the socket with the same family as the addresses you use.",
    ),
    (
        libc::EADDRINUSE,
        "EADDRINUSE",
        "Address already in use",
        "Another socket already holds this address and port (or an old connection on it is \
         still in TIME_WAIT). Close it, pick another port, or set SO_REUSEADDR before bind.",
    ),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "Cannot assign requested address",
        "The address does not belong to this host, so you cannot bind to it (binding host A \
         to host B's address, for instance), or no local ports are left. Bind to one of this \
         host's own addresses or to 0.0.0.0.",
    ),
    (
        libc::ENETDOWN,
        "ENETDOWN",
        "Network is down",
        "The network interface the traffic would leave through is down. Bring the link up \
         before using it.",
    ),
    (
        libc::ENETUNREACH,
        "ENETUNREACH",
        "Network is unreachable",
        "This host has no route to the destination's network, often because of a typo in the \
         address. Check the address of the other host (A or B) and that the hosts share a \
         network.",
    ),
    (
        libc::ENETRESET,
        "ENETRESET",
        "Network dropped connection on reset",
        "The connection was dropped because the network was reset, for example a keepalive \
         probe failed. Close the socket and connect again.",
    ),
    (
        libc::ECONNABORTED,
        "ECONNABORTED",
        "Software caused connection abort",
        "A connection was aborted on this host, typically one that the peer reset while it \
         waited in the listen queue before accept took it. Call accept again for the next \
         connection.",
    ),
    (
        libc::ECONNRESET,
        "ECONNRESET",
        "Connection reset by peer",
        "The other side abruptly reset the connection, for example it closed while unread \
         data was still waiting, or its process went away. Close this socket; reconnect if you \
         need to talk again.",
    ),
    (
        libc::ENOBUFS,
        "ENOBUFS",
        "No buffer space available",
        "The kernel has no buffer space left for this socket or queue, often from sending \
         much faster than the peer reads. Send less at once, read on the other side, or retry \
         later.",
    ),
    (
        libc::EISCONN,
        "EISCONN",
        "Transport endpoint is already connected",
        "The socket is already connected, so connect cannot be called again (after a \
         non-blocking connect this means it has finished successfully). Use the socket as is, \
         or create a new one to connect elsewhere.",
    ),
    (
        libc::ENOTCONN,
        "ENOTCONN",
        "Transport endpoint is not connected",
        "The socket is not connected, so it cannot send, recv or shut down. Call connect first \
         (client), or use the fd returned by accept rather than the listening socket (server).",
    ),
    (
        libc::ESHUTDOWN,
        "ESHUTDOWN",
        "Cannot send after transport endpoint shutdown",
        "The socket's sending side has already been shut down with shutdown, so no more data \
         can be sent. Send everything before calling shutdown.",
    ),
    (
        libc::ETIMEDOUT,
        "ETIMEDOUT",
        "Connection timed out",
        "The other host never answered in time: connect received no reply, or an established \
         connection stopped getting acknowledgements. Check the address and that the other \
         host is reachable, then try again.",
    ),
    (
        libc::ECONNREFUSED,
        "ECONNREFUSED",
        "Connection refused",
        "Nothing is listening at that address and port: the server must call bind and listen \
         before the client connects.",
    ),
    (
        libc::EHOSTDOWN,
        "EHOSTDOWN",
        "Host is down",
        "The destination host is down and does not respond. Check that the other host is \
         up and its address is right.",
    ),
    (
        libc::EHOSTUNREACH,
        "EHOSTUNREACH",
        "No route to host",
        "The destination host cannot be reached: there is no route to it or it did not answer \
         on the local network. Check the address of the other host (A or B) and the network \
         setup.",
    ),
    (
        libc::EALREADY,
        "EALREADY",
        "Operation already in progress",
        "A non-blocking connect on this socket is still in progress. Wait, then check the \
         result with getsockopt SO_ERROR or call connect again (EISCONN means it finished).",
    ),
    (
        libc::EINPROGRESS,
        "EINPROGRESS",
        "Operation now in progress",
        "A non-blocking connect has started and will complete in the background. Check the \
         result later with getsockopt SO_ERROR, or call connect again: EALREADY means still in \
         progress, EISCONN means it is done.",
    ),
    (
        libc::ECANCELED,
        "ECANCELED",
        "Operation canceled",
        "The operation was cancelled before it finished, for example a pending call whose \
         socket was closed. Start the operation again if you still need it.",
    ),
];

impl Errno {
    /// Build an `Errno` from one row of [`TABLE`].
    fn from_row(
        &(code, name, message, hint): &(i32, &'static str, &'static str, &'static str),
    ) -> Errno {
        Errno {
            name,
            code,
            message,
            hint,
        }
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
        assert!(!e.hint.is_empty());
    }

    #[test]
    fn every_name_round_trips() {
        for &(code, name, message, hint) in TABLE {
            let e = Errno::from_name(name).expect("name in table must be found");
            assert_eq!(e.name, name);
            assert_eq!(e.code, code);
            assert_eq!(e.message, message);
            assert_eq!(e.hint, hint);
            assert_eq!(Errno::from_code(code), e);
            assert!(!message.is_empty(), "{name} has no message");
            assert!(!hint.is_empty(), "{name} has no hint");
        }
    }

    #[test]
    fn no_duplicate_codes_or_names() {
        let mut codes = HashSet::new();
        let mut names = HashSet::new();
        for &(code, name, _, _) in TABLE {
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
        assert!(!e.hint.is_empty());
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
