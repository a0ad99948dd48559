//! The built-in mock LLM server: speaks OpenAI (chat and legacy completions), Anthropic
//! Messages and Ollama over real HTTP on loopback, with seeded latency and fault profiles, so a
//! first run needs no keys or network and every test and benchmark has a precise opponent.
//! `GET /mock/stats` reports how late the mock itself was, per request, so benchmarks can
//! subtract it from what a client measured.

mod body;
mod corpus;
mod delivery;
mod embeddings;
mod faults;
mod gemini_path;
mod images;
mod linger;
mod metrics;
mod plan;
mod prefix;
mod profile;
#[cfg(any(test, feature = "test-support"))]
mod received;
mod request;
#[cfg(any(test, feature = "test-support"))]
mod sample;
mod server;
mod shape;
mod spec;
mod stats;
mod text;
mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use profile::Profile;
pub use spec::ProfileError;
pub use stats::MockStats;
#[cfg(any(test, feature = "test-support"))]
pub use {delivery::Delivery, faults::Fault, profile::TokenCount, sample::streamed_body};

use crate::protocol::Protocol;
use server::Shared;
use stats::Counters;

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
pub enum MockError {
    #[error(
        "refusing to serve the mock on {addr}, which is not a loopback address: bind 127.0.0.1 \
         or ::1, or pass allow_non_loopback to expose it on purpose"
    )]
    NotLoopback { addr: SocketAddr },
    #[error("cannot listen on {addr} for the mock server: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running mock server. Dropping it or calling [`MockServer::shutdown`] stops it and closes
/// every connection, hanging ones included.
pub struct MockServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Starts serving on `addr` (port 0 picks a free port); only loopback addresses.
    ///
    /// # Errors
    /// [`MockError::NotLoopback`] for any other address, [`MockError::Bind`] when the
    /// address cannot be listened on.
    pub async fn start(addr: SocketAddr, profile: Profile) -> Result<MockServer, MockError> {
        MockServer::start_with(addr, profile, false).await
    }

    /// Starts serving on `addr`; a non-loopback address needs `allow_non_loopback`.
    ///
    /// # Errors
    /// As [`MockServer::start`].
    #[expect(
        clippy::unused_async,
        reason = "it spawns the server's task, so it must run inside a runtime: async says so"
    )]
    pub async fn start_with(
        addr: SocketAddr,
        profile: Profile,
        allow_non_loopback: bool,
    ) -> Result<MockServer, MockError> {
        if !addr.ip().is_loopback() && !allow_non_loopback {
            return Err(MockError::NotLoopback { addr });
        }
        let listener = listen(addr).map_err(|source| MockError::Bind { addr, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| MockError::Bind { addr, source })?;
        let started = chrono::Utc::now();
        let counters = Arc::new(Counters::new());
        let shared = Arc::new(Shared {
            cache: prefix::PrefixCache::new(profile.cache),
            profile,
            counters: Arc::clone(&counters),
            created: u64::try_from(started.timestamp()).unwrap_or(0),
            created_at: started.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        });
        let stop = CancellationToken::new();
        let task = tokio::spawn(server::serve(listener, shared, stop.clone()));
        Ok(MockServer {
            addr: bound,
            counters,
            stop,
            task: Some(task),
        })
    }

    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL a client of `protocol` is configured with: `/v1` for OpenAI and
    /// Anthropic, the server root for Ollama.
    #[must_use]
    pub fn base_url(&self, protocol: Protocol) -> String {
        // A wildcard bind is reached through loopback.
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let root = SocketAddr::new(ip, self.addr.port());
        match protocol {
            Protocol::OpenAiChat
            | Protocol::OpenAiCompletions
            | Protocol::Anthropic
            | Protocol::Responses
            | Protocol::OpenAiEmbeddings => format!("http://{root}/v1"),
            Protocol::Ollama | Protocol::Gemini | Protocol::Bedrock => format!("http://{root}"),
        }
    }

    #[must_use]
    pub fn stats(&self) -> MockStats {
        self.counters.snapshot()
    }

    /// The generation request bodies received so far, in order (the first 1 024): what a
    /// client really sent, for tests.
    #[cfg(any(test, feature = "test-support"))]
    #[must_use]
    pub fn received_bodies(&self) -> Vec<bytes::Bytes> {
        self.counters.received.bodies()
    }

    /// Waits until the mock's counters satisfy `done` (checked as each request arrives and
    /// each fault is injected): a test's requests have reached the mock, whatever the load.
    #[cfg(any(test, feature = "test-support"))]
    pub async fn counted(&self, done: impl Fn(&MockStats) -> bool) {
        loop {
            // Registered before the look, so a count between the two is not missed.
            let counted = self.counters.counted.notified();
            tokio::pin!(counted);
            counted.as_mut().enable();
            if done(&self.stats()) {
                return;
            }
            counted.await;
        }
    }

    /// Stops accepting, closes every connection and waits until they are gone.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// How many connections may wait to be accepted. The usual 128 overflows when a client opens
/// a few hundred connections at once (a race warming 1000 streams): the kernel then drops
/// SYNs, and each dropped one costs the client a 1 s retransmission. Real inference servers
/// listen with 2048 or more; the kernel caps this at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restarted mock can take its port back at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
