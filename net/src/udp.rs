//! [`UdpSocket`]: Go's `net.ListenUDP` / `net.DialUDP`.

use crate::registered::Registered;
use crate::resolve::{ToSocketAddrs, each, resolve};
use gust_executor::io::Direction;
use gust_executor::io::mio::net as mnet;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

/// A UDP socket. Every method takes `&self`: share it between tasks with an
/// `Arc` (one task receiving while another sends, as Go's goroutines do).
///
/// # Examples
///
/// ```
/// use gust_net::UdpSocket;
/// gust_executor::block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UdpSocket {
    io: Registered<mnet::UdpSocket>,
}

impl UdpSocket {
    /// Binds a socket to `addr` (port 0 picks one); with several addresses,
    /// the first that binds wins.
    ///
    /// # Errors
    ///
    /// `AddrInUse`, `AddrNotAvailable`, a lookup error, ...
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(s.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let addrs = resolve(&addr).await?;
        each(addrs, |a| async move {
            UdpSocket::from_mio(mnet::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Wraps a std socket. It is made non-blocking here.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the runtime's driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::from_std(std_sock).unwrap();
    ///     assert!(s.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        Self::from_mio(mnet::UdpSocket::from_std(s))
    }

    fn from_mio(s: mnet::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: Registered::new(s)?,
        })
    }

    /// Sends one datagram to `target`; returns the bytes sent.
    ///
    /// # Errors
    ///
    /// What `sendto(2)` says; a lookup error.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.send_to(b"ping", b.local_addr()?).await?, 4);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addrs = resolve(&target).await?;
        // The first address of this socket's family (Go's `":port"`
        // resolves to `[::]` and `0.0.0.0`; an IPv4 socket cannot send to
        // the first).
        let v4 = self.io.get().local_addr().is_ok_and(|a| a.is_ipv4());
        let to = addrs
            .iter()
            .copied()
            .find(|a| a.is_ipv4() == v4)
            .unwrap_or(addrs[0]);
        self.io.io(Direction::Write, |s| s.send_to(buf, to)).await
    }

    /// Receives one datagram: its length (the part that fit in `buf`; the
    /// rest is dropped, as in Go) and its sender. Cancel-safe: a dropped
    /// `recv_from` took no datagram.
    ///
    /// # Errors
    ///
    /// What `recvfrom(2)` says (on Linux, an ICMP port-unreachable from an
    /// earlier send shows up here as `ConnectionRefused`).
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"hello", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 2];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     // What did not fit in `buf` is gone.
    ///     assert_eq!((&buf[..n], from), (&b"he"[..], a.local_addr()?));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Like [`recv_from`](Self::recv_from), leaving the datagram queued.
    ///
    /// # Errors
    ///
    /// As `recv_from`.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.send_to(b"hi", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, _) = b.peek_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     // Still queued: the next receive gets it again.
    ///     let (n, _) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.peek_from(buf)).await
    }

    /// Sets the default peer: `send` goes there, and `recv` takes only its
    /// datagrams (Go's `DialUDP`).
    ///
    /// # Errors
    ///
    /// What `connect(2)` says; a lookup error.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        let addrs = resolve(&addr).await?;
        let mut last = None;
        for a in addrs {
            match self.io.get().connect(a) {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// Sends one datagram to the peer set by [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// `NotConnected` without a peer; what `send(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     // Not connected yet: an error, not a panic.
    ///     assert!(a.send(b"lost").await.is_err());
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.send(b"hi").await?, 2);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the peer set by [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// What `recv(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     b.connect(a.local_addr()?).await?;
    ///     a.send_to(b"hi", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let addr = s.local_addr()?;
    ///     assert!(addr.ip().is_loopback());
    ///     assert_ne!(addr.port(), 0);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer set by [`connect`](Self::connect).
    ///
    /// # Errors
    ///
    /// `NotConnected` without one.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     let b = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    ///     a.connect(b.local_addr()?).await?;
    ///     assert_eq!(a.peer_addr()?, b.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Allows sending to broadcast addresses.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     assert!(!s.broadcast()?);
    ///     s.set_broadcast(true)?;
    ///     assert!(s.broadcast()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get().set_broadcast(on)
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_ttl(8)?;
    ///     assert_eq!(s.ttl()?, 8);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// Whether sending to broadcast addresses is allowed.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_broadcast(true)?;
    ///     assert!(s.broadcast()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get().broadcast()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED`: the system's choice), as Go's
    /// `net.ListenMulticastUDP` does for its socket.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says (`InvalidInput` for an address that is not
    /// a multicast one, for example).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     s.set_multicast_loop_v4(true)?;
    ///     assert!(s.multicast_loop_v4()?);
    ///     s.set_multicast_ttl_v4(4)?;
    ///     assert_eq!(s.multicast_ttl_v4()?, 4);
    ///     // Not a multicast address: an error, not a panic.
    ///     assert!(s.join_multicast_v4(Ipv4Addr::LOCALHOST, Ipv4Addr::UNSPECIFIED).is_err());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group joined with
    /// [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     let group = Ipv4Addr::new(239, 255, 0, 1);
    ///     s.join_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
    ///     s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?;
    ///     // Not a member any more: an error.
    ///     assert!(s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST).is_err());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on the interface with index
    /// `interface` (0: the system's choice).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// gust_executor::block_on(async {
    ///     // A host without IPv6 cannot bind `[::1]`; there is nothing to show then.
    ///     let Ok(s) = gust_net::UdpSocket::bind("[::1]:0").await else { return Ok(()) };
    ///     let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///     s.join_multicast_v6(group, 0)?;
    ///     s.leave_multicast_v6(group, 0)?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get().join_multicast_v6(&group, interface)
    }

    /// Leaves an IPv6 multicast group joined with
    /// [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// gust_executor::block_on(async {
    ///     // A host without IPv6 cannot bind `[::1]`; there is nothing to show then.
    ///     let Ok(s) = gust_net::UdpSocket::bind("[::1]:0").await else { return Ok(()) };
    ///     let group: Ipv6Addr = "ff02::1:3".parse().unwrap();
    ///     // Not a member: an error.
    ///     assert!(s.leave_multicast_v6(group, 0).is_err());
    ///     s.join_multicast_v6(group, 0)?;
    ///     s.leave_multicast_v6(group, 0)?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get().leave_multicast_v6(&group, interface)
    }

    /// Whether IPv4 multicast datagrams this socket sends loop back to the
    /// host's own members of the group.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     s.set_multicast_loop_v4(false)?;
    ///     assert!(!s.multicast_loop_v4()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get().set_multicast_loop_v4(on)
    }

    /// See [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     assert!(s.multicast_loop_v4()?); // on by default
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get().multicast_loop_v4()
    }

    /// The time-to-live of IPv4 multicast datagrams this socket sends
    /// (1 by default: the local network).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     s.set_multicast_ttl_v4(16)?;
    ///     assert_eq!(s.multicast_ttl_v4()?, 16);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_multicast_ttl_v4(ttl)
    }

    /// See [`set_multicast_ttl_v4`](Self::set_multicast_ttl_v4).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("0.0.0.0:0").await?;
    ///     assert_eq!(s.multicast_ttl_v4()?, 1);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get().multicast_ttl_v4()
    }

    /// Whether IPv6 multicast datagrams this socket sends loop back.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     // A host without IPv6 cannot bind `[::1]`; there is nothing to show then.
    ///     let Ok(s) = gust_net::UdpSocket::bind("[::1]:0").await else { return Ok(()) };
    ///     s.set_multicast_loop_v6(false)?;
    ///     assert!(!s.multicast_loop_v6()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_multicast_loop_v6(&self, on: bool) -> io::Result<()> {
        self.io.get().set_multicast_loop_v6(on)
    }

    /// See [`set_multicast_loop_v6`](Self::set_multicast_loop_v6).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     // A host without IPv6 cannot bind `[::1]`; there is nothing to show then.
    ///     let Ok(s) = gust_net::UdpSocket::bind("[::1]:0").await else { return Ok(()) };
    ///     assert!(s.multicast_loop_v6()?); // on by default
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.io.get().multicast_loop_v6()
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     s.set_ttl(3)?;
    ///     assert_eq!(s.ttl()?, 3);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UdpSocket::bind("127.0.0.1:0").await?;
    ///     assert!(s.take_error()?.is_none());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }
}

impl_fd!(UdpSocket);

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

crate::deadline::setters!(
    UdpSocket,
    "    let s = gust_net::UdpSocket::bind(\"127.0.0.1:0\").await?;
    let to = s.local_addr()?;",
    "s.recv_from(&mut [0u8; 8])",
    "s.send_to(b\"x\", to)"
);
