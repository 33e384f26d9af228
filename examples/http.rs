//! An HTTP/1.1 server: hyper 1's `http1` server on gust's own sockets, a
//! task per connection (what Go's `net/http` does with a goroutine per
//! connection).
//!
//! ```sh
//! cargo run --release --example http -- 127.0.0.1:8080
//! curl http://127.0.0.1:8080/                       # hello from gust
//! curl 'http://127.0.0.1:8080/sleep?ms=500'         # answers after 500 ms
//! curl --data-binary @some-file http://127.0.0.1:8080/echo
//! ```
//!
//! Routes (`HEAD` too, wherever `GET`): `GET /` says hello; `GET /sleep?ms=N` answers after N ms (at most
//! [`MAX_SLEEP_MS`]) of `gust::time::sleep`, which parks only its own task,
//! so many sleeping requests wait at the same time; `POST /echo` sends the
//! body back (at most [`MAX_ECHO`] bytes, else 413); anything else is 404.
//!
//! It prints `listening on http://ADDR` once it accepts connections (port 0
//! picks a free port, which the line names). `--requests N` (or the
//! `GUST_HTTP_REQUESTS` environment variable) makes it shut down gracefully
//! after N requests: it stops accepting, lets every connection finish the
//! response it is writing, and exits 0.
//!
//! # The glue
//!
//! hyper is runtime-agnostic: it asks for its own I/O traits
//! (`hyper::rt::Read`/`Write`) and, for timeouts, a `hyper::rt::Timer`.
//! [`HyperIo`] adapts any futures-io stream (here `gust::net::TcpStream`) to
//! the former with safe code (one copy through a per-connection buffer,
//! rather than `unsafe` writes into hyper's uninitialized buffer), and
//! [`GustTimer`] adapts `gust::time::sleep` to the latter, so hyper's 30 s
//! header read timeout applies: a client that never finishes its request
//! head does not hold a connection forever. The http1 server needs no
//! executor.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};
use gust::net::TcpListener;
use gust::{CancelFunc, Context, WaitGroup, select};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};

/// The longest `/sleep` accepted, in milliseconds.
const MAX_SLEEP_MS: u64 = 60_000;

/// The largest body `/echo` sends back.
const MAX_ECHO: usize = 1 << 20;

/// A futures-io stream as hyper's I/O: `hyper::rt::Read` + `Write`.
struct HyperIo<T> {
    io: T,
    /// Where reads land before they are copied into hyper's buffer, which
    /// may be uninitialized and so cannot be handed out as `&mut [u8]`
    /// without `unsafe`. Zeroed once per connection.
    scratch: Box<[u8]>,
}

impl<T> HyperIo<T> {
    fn new(io: T) -> HyperIo<T> {
        HyperIo {
            io,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(this.scratch.len());
        // A pending read reads nothing, so nothing is lost if hyper drops
        // this poll.
        let n = match Pin::new(&mut this.io).poll_read(cx, &mut this.scratch[..want]) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        // gust's TcpStream writes vectors with one `writev`: hyper then
        // sends a response's head and body without copying them together.
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// `gust::time` as hyper's timer.
#[derive(Clone, Copy, Debug)]
struct GustTimer;

/// A `gust::time::Sleep` as a `hyper::rt::Sleep`.
struct GustSleep(gust::time::Sleep);

impl Future for GustSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        // `gust::time::Sleep` is `Unpin`, as the compiler checks here.
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for GustSleep {}

impl hyper::rt::Timer for GustTimer {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GustSleep(gust::time::sleep(d)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GustSleep(gust::time::sleep_until(deadline)))
    }
}

/// What every connection shares.
struct Server {
    /// Requests answered so far.
    served: AtomicU64,
    /// Stop after this many requests; `None`: never.
    limit: Option<u64>,
    /// Cancels `stop`: every connection finishes its response and closes,
    /// and the accept loop ends.
    stop: CancelFunc,
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp
}

/// The `ms` parameter of a query string like `ms=200`.
fn sleep_ms(query: Option<&str>) -> Option<u64> {
    let ms = query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("ms="))?
        .parse()
        .ok()?;
    (ms <= MAX_SLEEP_MS).then_some(ms)
}

async fn route(req: Request<Incoming>) -> Response<Full<Bytes>> {
    // HEAD wherever GET (RFC 9110 9.3.2, as Go's net/http): hyper sends
    // the head of the GET response and leaves its body out.
    match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => text(StatusCode::OK, "hello from gust\n"),
        (&Method::GET | &Method::HEAD, "/sleep") => match sleep_ms(req.uri().query()) {
            Some(ms) => {
                gust::time::sleep(Duration::from_millis(ms)).await;
                text(StatusCode::OK, format!("slept {ms} ms\n"))
            }
            None => text(
                StatusCode::BAD_REQUEST,
                format!("want /sleep?ms=N with N at most {MAX_SLEEP_MS}\n"),
            ),
        },
        (&Method::POST, "/echo") => match Limited::new(req.into_body(), MAX_ECHO).collect().await {
            Ok(body) => text(StatusCode::OK, body.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is longer than {MAX_ECHO} bytes\n"),
            ),
            Err(e) => text(StatusCode::BAD_REQUEST, format!("reading the body: {e}\n")),
        },
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

async fn handle(
    req: Request<Incoming>,
    server: Arc<Server>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let resp = route(req).await;
    // Relaxed: the count is only compared with the limit; the cancellation
    // orders what follows it.
    let served = server.served.fetch_add(1, Ordering::Relaxed) + 1;
    if server.limit == Some(served) {
        server.stop.cancel();
    }
    Ok(resp)
}

/// Serves one connection until the client closes it or `stop` ends; then
/// the request in progress is answered before the connection closes.
async fn serve_conn(stream: gust::net::TcpStream, server: Arc<Server>, stop: Context) {
    // Responses are written whole; Nagle would only delay the last segment.
    let _ = stream.set_nodelay(true);
    let conn = http1::Builder::new().timer(GustTimer).serve_connection(
        HyperIo::new(stream),
        service_fn(move |req| handle(req, server.clone())),
    );
    let mut conn = std::pin::pin!(conn);
    let finished = select! {
        _ = &mut conn => true,
        _ = stop.done() => false,
    };
    if !finished {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
    // Errors are the client's business (a reset, a malformed request: hyper
    // has already answered 400 where it could), so they are not logged.
}

async fn serve(listener: TcpListener, server: Arc<Server>, stop: Context) {
    let wg = WaitGroup::new();
    loop {
        let accepted = select! {
            a = listener.accept() => a,
            _ = stop.done() => break,
        };
        match accepted {
            Ok((stream, _peer)) => {
                wg.go(serve_conn(stream, server.clone(), stop.clone()));
            }
            Err(e) => {
                eprintln!("http: accept failed: {e}");
                // Out of file descriptors, say: pause, as Go's http.Server
                // does, rather than spin.
                gust::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    wg.wait().await;
}

/// `[ADDR] [--requests N]`, with `GUST_HTTP_REQUESTS` as the default N.
fn parse_args() -> Result<(SocketAddr, Option<u64>), String> {
    let mut addr = None;
    let mut limit = std::env::var("GUST_HTTP_REQUESTS").ok();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--requests" {
            limit = Some(args.next().ok_or("--requests needs a number")?);
        } else if let Some(n) = arg.strip_prefix("--requests=") {
            limit = Some(n.to_string());
        } else if addr.is_none() {
            addr = Some(arg);
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    let addr = addr.unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let addr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an address like 127.0.0.1:8080"))?;
    let limit = match limit {
        None => None,
        Some(n) => match n.parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(format!("--requests wants a positive integer, not {n:?}")),
        },
    };
    Ok((addr, limit))
}

fn main() -> ExitCode {
    let (addr, limit) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("http: {e}");
            return ExitCode::from(2);
        }
    };
    gust::block_on(async move {
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("http: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(local) => println!("listening on http://{local}"),
            Err(e) => {
                eprintln!("http: {e}");
                return ExitCode::FAILURE;
            }
        }
        let (stop, cancel) = Context::background().with_cancel();
        let server = Arc::new(Server {
            served: AtomicU64::new(0),
            limit,
            stop: cancel,
        });
        serve(listener, server, stop).await;
        ExitCode::SUCCESS
    })
}
