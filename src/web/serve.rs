//! The connection loop: HTTP/1.1 over TCP with the timeouts a hostile network needs.
//!
//! - A client has [`HEADER_TIMEOUT`] to send a request's headers, counted from the moment
//!   the connection waits for them: on a new connection and between two requests of a
//!   kept-alive one. A silent, half-sent or idle connection is closed then.
//! - At most `max_connections` connections are open at once; beyond, new ones wait in the
//!   kernel's queue until one closes, so the service keeps descriptors for its database
//!   and its sounds folder.
//! - On shutdown, the connections finish the request they are on, then close.
//!
//! Bodies have their own, shorter deadline (`guard::BODY_DEADLINE`), read before a request
//! takes one of the places in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Time allowed to send a request's headers, or to send the next request on a kept-alive
/// connection.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Descriptors kept for the database, the sounds folder and the flows beyond the
/// connections.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections
/// finish the request they are on.
///
/// # Errors
/// None today; the signature keeps room for a listener that fails for good.
///
/// # Panics
/// Never: the connections' semaphore is not closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    warn_when_descriptors_are_short(max_connections);
    let places = Arc::new(Semaphore::new(max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let place = tokio::select! {
            place = Arc::clone(&places).acquire_owned() => place.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    refused_connection(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Answers are small and wanted at once.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(WithPeer { router: router.clone(), peer });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(place);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The router, with the connection's peer address put in each request (as axum's
/// `ConnectInfo`, read by the login's throttle).
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl tower_service::Service<hyper::Request<hyper::body::Incoming>> for WithPeer {
    type Response = <Router as tower_service::Service<hyper::Request<hyper::body::Incoming>>>::Response;
    type Error = std::convert::Infallible;
    type Future = <Router as tower_service::Service<hyper::Request<hyper::body::Incoming>>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        tower_service::Service::<hyper::Request<hyper::body::Incoming>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        self.router.call(request)
    }
}

/// An `accept` that failed: a connection reset before it was taken is nothing; running
/// out of descriptors is waited out (the connections in flight close within their
/// timeouts).
async fn refused_connection(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Says at start when the open-file limit cannot hold `max_connections` and what the
/// service needs beside them (Linux; elsewhere nothing is checked).
fn warn_when_descriptors_are_short(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else { return };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    let wanted = u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(RESERVED_DESCRIPTORS);
    if let Some(soft) = soft.filter(|&soft| soft < wanted) {
        tracing::warn!(
            open_files = soft,
            max_connections,
            "the open-file limit is below max_connections + {RESERVED_DESCRIPTORS}: raise it (LimitNOFILE=) \
             or lower max_connections, or a flood of connections can starve the database"
        );
    }
}
