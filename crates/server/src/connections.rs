//! The accept loop: HTTP/1.1 connections served by hyper under limits that keep idle or
//! trickling clients from holding the server. At most `max_connections` are served at once
//! (another is answered 503 and closed at once, so it costs one file descriptor for a moment); a
//! request's line and headers must arrive within `header_read_timeout` of the connection's
//! opening or of the request's first byte; a kept-alive connection must start its next request
//! within `idle_timeout`. A request's body has its own timeout, in the handler that reads it
//! (`AppState::body_read_timeout`).
//!
//! hyper's own header timeout is not used: it starts when hyper waits for a request, so it would
//! also cut every kept-alive connection that waits longer than a header may take.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::metrics::{Metrics, TimeoutPhase};

/// How many connections one listener serves and how long it waits for them.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: u32,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// What a refused connection is told before it is closed: one non-blocking write of a constant
/// (not waited for), and an answer AWS SDKs retry.
const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Serves `router` on `listener` until `stop` turns true, then lets the connections finish their
/// requests and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(
        usize::try_from(limits.max_connections).unwrap_or(Semaphore::MAX_PERMITS),
    ));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(e).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            metrics.connection_refused();
            let _ = stream.try_write(REFUSAL);
            continue;
        };
        metrics.connection_opened();
        let router = router.clone();
        let metrics = Arc::clone(&metrics);
        let stop = stop.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, limits, &metrics, stop).await;
            metrics.connection_closed();
            drop(slot);
        });
    }
    // New clients are refused by the system from now on, not left waiting in the backlog.
    drop(listener);
    // Each connection holds its slot until it is closed: all slots back means all closed.
    let _ = slots.acquire_many(limits.max_connections).await;
}

/// Accept errors other than a client's own abort are about this process (out of file
/// descriptors, of memory): wait a little for connections to close instead of spinning.
async fn accept_failed(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    metrics: &Metrics,
    mut stop: watch::Receiver<bool>,
) {
    let phase = Arc::new(Phase::new());
    let io = TokioIo::new(Watched {
        stream,
        phase: Arc::clone(&phase),
    });
    let service = {
        let phase = Arc::clone(&phase);
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            phase.request_started();
            let router = router.clone();
            let phase = Arc::clone(&phase);
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                phase.request_answered();
                response
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut stopping = false;
    // One timer for the connection's life, moved when its deadline moves (cheaper than a new
    // timer at every turn of the loop).
    let timer = tokio::time::sleep(limits.header_read_timeout);
    let mut timer = std::pin::pin!(timer);
    let mut armed = None;
    loop {
        let deadline = phase.deadline(&limits).map(|(at, _)| at);
        if deadline != armed {
            if let Some(at) = deadline {
                timer.as_mut().reset(at);
            }
            armed = deadline;
        }
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
                return;
            }
            () = timer.as_mut(), if armed.is_some() => {
                // The phase may have moved on since this deadline was computed.
                if let Some((at, timed_out)) = phase.deadline(&limits)
                    && at <= Instant::now()
                {
                    metrics.connection_timed_out(timed_out);
                    tracing::debug!(%peer, phase = timed_out.as_str(), "connection closed: read timeout");
                    return;
                }
                armed = None;
            }
            () = phase.changed.notified() => {}
            _ = stop.wait_for(|stop| *stop), if !stopping => {
                // Idle connections close now, busy ones after their response; the read
                // timeouts still hold the others.
                connection.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

/// Where a connection is in its request cycle, which decides the wait it is allowed.
#[derive(Debug, Clone, Copy)]
enum State {
    /// Reading a request's line and headers, since the connection opened or the request's first
    /// byte arrived.
    Head { since: Instant },
    /// A request is being handled (its body read under the handler's timeout).
    Busy,
    /// Kept alive after a response, waiting for the next request.
    Idle { since: Instant },
}

#[derive(Debug)]
struct Phase {
    state: Mutex<State>,
    /// Woken when the deadline may have come nearer (or appeared).
    changed: Notify,
}

impl Phase {
    fn new() -> Self {
        Phase {
            state: Mutex::new(State::Head {
                since: Instant::now(),
            }),
            changed: Notify::new(),
        }
    }

    fn set(&self, update: impl FnOnce(State) -> Option<State>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = update(*state) {
            *state = next;
            drop(state);
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: on an idle connection they start a request's head.
    fn bytes_read(&self) {
        self.set(|state| match state {
            State::Idle { .. } => Some(State::Head {
                since: Instant::now(),
            }),
            State::Head { .. } | State::Busy => None,
        });
    }

    fn request_started(&self) {
        // No wake-up needed: the deadline only moves away.
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = State::Busy;
    }

    fn request_answered(&self) {
        self.set(|_| {
            Some(State::Idle {
                since: Instant::now(),
            })
        });
    }

    fn deadline(&self, limits: &ConnectionLimits) -> Option<(Instant, TimeoutPhase)> {
        match *self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            State::Head { since } => {
                Some((since + limits.header_read_timeout, TimeoutPhase::Header))
            }
            State::Busy => None,
            State::Idle { since } => Some((since + limits.idle_timeout, TimeoutPhase::Idle)),
        }
    }
}

/// The connection's socket, telling its [`Phase`] when bytes arrive.
struct Watched {
    stream: TcpStream,
    phase: Arc<Phase>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.phase.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
