//! The runtime's I/O driver, for sources of your own: [`Registration`]
//! turns a non-blocking mio source into futures that a gust runtime's
//! workers wake (`gust::net`'s sockets are built on it).
//!
//! ```
//! use gust_executor::io::{Direction, Interest, Registration};
//! use std::io::Write;
//!
//! let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
//! a.set_nonblocking(true).unwrap();
//! let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
//! let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
//! b.write_all(b"x").unwrap();
//! gust_executor::block_on(std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read))).unwrap();
//! reg.deregister(&mut a).unwrap();
//! ```

pub use crate::driver::io::{Direction, ReadyEvent};
pub use crate::driver::{Registration, WaitKey, Waiter, Wakeup};
pub use mio::Interest;
pub use mio::event::Source;

/// The mio version the driver is built on (for [`Source`] implementations
/// and mio's socket types).
pub use mio;
