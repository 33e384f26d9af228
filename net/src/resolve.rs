//! Address resolution, shared by every `bind` and `connect`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// What `bind` and `connect` accept: a socket address in any of std's
/// forms, or a `"host:port"` string / `(host, port)` pair. A literal
/// address resolves at once; a host name is looked up on gust's blocking
/// pool (the system resolver blocks), so the worker goes on meanwhile. An
/// empty host, Go's `":8080"` or `("", 8080)`, means every interface
/// (`[::]`, dual-stack where the host allows it, then `0.0.0.0`), as in
/// Go's `net.Listen`; dialled, it reaches the local system.
///
/// It is sealed: the forms are those of `std::net::ToSocketAddrs`.
///
/// # Examples
///
/// ```
/// use std::net::{Ipv4Addr, SocketAddr};
/// gust_executor::block_on(async {
///     // A string, an address, an (ip, port) pair: each binds.
///     let a = gust_net::TcpListener::bind("127.0.0.1:0").await?;
///     let b = gust_net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
///     let c = gust_net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
///     // A host name is looked up on the blocking pool.
///     let _s = gust_net::TcpStream::connect(("localhost", a.local_addr()?.port())).await?;
///     drop((b, c));
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub trait ToSocketAddrs: sealed::Sealed {}

mod sealed {
    use super::*;

    /// An address, or a name to look up.
    pub enum Addrs {
        Ready(Vec<SocketAddr>),
        /// Not an address: why.
        Invalid(String),
        Host(String, u16),
        HostPort(String),
    }

    pub trait Sealed {
        fn to_addrs(&self) -> Addrs;
    }
}
use sealed::{Addrs, Sealed};

macro_rules! ready {
    ($($t:ty => |$s:ident| $e:expr;)*) => {$(
        impl ToSocketAddrs for $t {}
        impl Sealed for $t {
            fn to_addrs(&self) -> Addrs {
                let $s = self;
                Addrs::Ready(vec![$e])
            }
        }
    )*};
}

ready! {
    SocketAddr => |a| *a;
    SocketAddrV4 => |a| SocketAddr::V4(*a);
    SocketAddrV6 => |a| SocketAddr::V6(*a);
    (IpAddr, u16) => |a| SocketAddr::new(a.0, a.1);
    (Ipv4Addr, u16) => |a| SocketAddr::new(IpAddr::V4(a.0), a.1);
    (Ipv6Addr, u16) => |a| SocketAddr::new(IpAddr::V6(a.0), a.1);
}

/// Go's empty host (`":8080"`, `("", 8080)`): every interface, IPv6 first
/// (`[::]` is dual-stack where the host allows it, as Go's listeners are),
/// then IPv4 for a host without IPv6. Dialled, these reach the local system
/// (Linux and the BSDs connect an unspecified address to loopback).
fn every_interface(port: u16) -> Vec<SocketAddr> {
    vec![
        SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port),
        SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
    ]
}

impl ToSocketAddrs for str {}
impl Sealed for str {
    fn to_addrs(&self) -> Addrs {
        if let Some(port) = self.strip_prefix(':') {
            return match port.parse() {
                Ok(port) => Addrs::Ready(every_interface(port)),
                Err(_) => Addrs::Invalid(format!(
                    "gust-net: invalid port in address {self:?} (a number from 0 to 65535)"
                )),
            };
        }
        match self.parse() {
            Ok(a) => Addrs::Ready(vec![a]),
            Err(_) => Addrs::HostPort(self.to_owned()),
        }
    }
}

impl ToSocketAddrs for String {}
impl Sealed for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {}
impl Sealed for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        if self.0.is_empty() {
            return Addrs::Ready(every_interface(self.1));
        }
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Addrs::Host(self.0.to_owned(), self.1),
        }
    }
}

impl ToSocketAddrs for (String, u16) {}
impl Sealed for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl ToSocketAddrs for [SocketAddr] {}
impl Sealed for [SocketAddr] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}
impl Sealed for Vec<SocketAddr> {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.clone())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}
impl<T: Sealed + ?Sized> Sealed for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

/// Resolves `addr` to at least one socket address.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs as _;
    let addrs = match addr.to_addrs() {
        Addrs::Ready(v) => v,
        Addrs::Invalid(why) => return Err(io::Error::new(io::ErrorKind::InvalidInput, why)),
        Addrs::Host(host, port) => gust_executor::spawn_blocking(move || {
            (host.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
        })
        .await
        .map_err(|e| io::Error::other(format!("gust-net: address lookup failed: {e}")))??,
        Addrs::HostPort(s) => gust_executor::spawn_blocking(move || {
            s.as_str()
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>)
        })
        .await
        .map_err(|e| io::Error::other(format!("gust-net: address lookup failed: {e}")))??,
    };
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "gust-net: the address resolved to no socket address",
        ));
    }
    Ok(addrs)
}

/// Tries `f` on each address in turn; returns the first success or the
/// last error (std's rule for `TcpStream::connect`).
pub(crate) async fn each<T, F, Fut>(addrs: Vec<SocketAddr>, mut f: F) -> io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns at least one address"))
}
