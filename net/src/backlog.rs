//! Listening sockets with the system's largest accept queue, as Go's
//! `net.Listen` makes them.
//!
//! std's and mio's listeners ask `listen(2)` for a backlog of 128. A burst
//! of connections that arrives faster than the server accepts overflows
//! it: Linux then drops the handshake's last ACK, and with SYN cookies
//! the client believes it is connected until its first write is reset
//! (an outside check: 2,000 clients at once, 200-560 of them reset). Go
//! reads `/proc/sys/net/core/somaxconn` (4096 on current kernels) and
//! asks for that; so do we, with socket2 to make the socket.

use socket2::{Domain, Socket, Type};
use std::io;
use std::net::SocketAddr;

/// The backlog Go's `net.Listen` asks for on Linux: the kernel's
/// `somaxconn`, read once (the kernel caps `listen(2)`'s argument at it
/// anyway); 4096 where it cannot be read (the value Linux has used by
/// default since 5.4; larger ones are cut to 65535, as Go does).
pub(crate) fn backlog() -> i32 {
    static BACKLOG: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *BACKLOG.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|&n| n > 0)
            .map_or(4096, |n| n.min(65_535))
    })
}

/// A TCP socket bound to `addr` and listening, with `SO_REUSEADDR` on Unix
/// (as std's and Go's listeners), close-on-exec (socket2's default), and
/// dual-stack when `addr` is IPv6's unspecified address.
pub(crate) fn tcp(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        // Dual-stack, as Go's listeners on `[::]` and `":port"`, whatever
        // the system's default; a system that cannot (OpenBSD) stays IPv6.
        let _ = socket.set_only_v6(false);
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog())?;
    Ok(socket.into())
}

/// A Unix stream socket bound to `path` and listening: a socket file, or,
/// for a path that starts with a NUL byte, an abstract name (Linux); any
/// other path with a NUL in it is refused (`unix::sock_addr`).
#[cfg(unix)]
pub(crate) fn unix(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixListener> {
    let addr = crate::unix::sock_addr(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&addr)?;
    socket.listen(backlog())?;
    Ok(std::os::fd::OwnedFd::from(socket).into())
}
