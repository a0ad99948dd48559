//! HTTP clients for the race: one per worker, so each worker keeps its own warm connection
//! and can tell whether a request had to open a new one, and how long connecting took.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tower_layer::Layer;
use tower_service::Service;

use crate::clock::Stopwatch;

/// Connections a client opened, and how long the last one took.
#[derive(Debug, Default)]
pub struct ConnectLog {
    opened: AtomicU64,
    last_connect_us: AtomicU64,
}

impl ConnectLog {
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Acquire)
    }

    pub fn last_connect_us(&self) -> u64 {
        self.last_connect_us.load(Ordering::Acquire)
    }
}

/// A client and its connection log.
pub struct WorkerClient {
    pub http: reqwest::Client,
    pub connects: Arc<ConnectLog>,
}

/// Builds the client a worker uses for its whole life.
pub fn worker_client(connect_timeout: Duration) -> Result<WorkerClient, reqwest::Error> {
    install_crypto_provider();
    let connects = Arc::new(ConnectLog::default());
    let http = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        // A worker sends one request at a time: one idle connection is all it can reuse,
        // and it must never be dropped between requests (that would put a connect into TTFT).
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_nodelay(true)
        // Following a redirect would time two servers as one and could carry credentials to
        // another host; a redirect is reported as an error instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("llmrace/", env!("CARGO_PKG_VERSION")))
        .connector_layer(ConnectTimingLayer(Arc::clone(&connects)))
        .build()?;
    Ok(WorkerClient { http, connects })
}

/// reqwest is built without a default TLS provider so that no C crypto library has to be
/// compiled; ring is installed once for the whole process instead.
fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Fails only if another provider was installed first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[derive(Clone)]
struct ConnectTimingLayer(Arc<ConnectLog>);

impl<S> Layer<S> for ConnectTimingLayer {
    type Service = ConnectTiming<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConnectTiming {
            inner,
            log: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
struct ConnectTiming<S> {
    inner: S,
    log: Arc<ConnectLog>,
}

impl<S, R> Service<R> for ConnectTiming<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let watch = Stopwatch::start();
        let connecting = self.inner.call(req);
        let log = Arc::clone(&self.log);
        Box::pin(async move {
            let result = connecting.await;
            if result.is_ok() {
                let us = u64::try_from(watch.elapsed().as_micros()).unwrap_or(u64::MAX);
                log.last_connect_us.store(us, Ordering::Release);
                log.opened.fetch_add(1, Ordering::AcqRel);
            }
            result
        })
    }
}
