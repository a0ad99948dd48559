//! The exporter's HTTP side: a listener bound before the race sends anything (a port in use is
//! a setup error), `GET /metrics` answered from the latest snapshots, a page on `/` that says
//! where they are, 404 or 405 for anything else; and the wait after the finish.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Publisher;

/// The exporter could not listen where the user asked.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "cannot serve metrics on {addr} (--metrics-addr / [export] prometheus): {source}; \
         {help}"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
        help: &'static str,
    },
}

/// Serving `/metrics` until closed.
pub struct Exporter {
    addr: SocketAddr,
    publisher: Publisher,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Exporter {
    /// Listens on `addr` now (port 0: a free port, see [`Exporter::addr`]) and serves from the
    /// runtime this is called on.
    pub fn bind(addr: SocketAddr) -> Result<Exporter, ExportError> {
        let bind_error = |source: std::io::Error| {
            let help = match source.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "another program (or another llmrace) listens there: pick another port"
                }
                std::io::ErrorKind::AddrNotAvailable => {
                    "that address is not one of this machine's: use 127.0.0.1, 0.0.0.0 or one \
                     of its own addresses"
                }
                std::io::ErrorKind::PermissionDenied => {
                    "ports below 1024 need privileges: pick a port above 1024, e.g. 9464"
                }
                _ => "pick another address or port",
            };
            ExportError::Bind { addr, source, help }
        };
        let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let local = listener.local_addr().map_err(bind_error)?;
        let listener = TcpListener::from_std(listener).map_err(bind_error)?;
        let publisher = Publisher::new(url(local));
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(listener, publisher.clone(), stop.clone()));
        Ok(Exporter {
            addr: local,
            publisher,
            stop,
            task,
        })
    }

    /// Where it listens (the port chosen when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The page's URL as a scraper on this machine reaches it: `http://127.0.0.1:9464/metrics`,
    /// and for an unspecified address (`0.0.0.0`, `[::]`) the loopback one, saying it listens
    /// on all interfaces (`0.0.0.0` is no address to browse to).
    pub fn url(&self) -> String {
        url(self.addr())
    }

    /// Where races hand it their snapshots.
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// Keeps serving the final values for `linger`, or until a stopping signal (Ctrl-C ends
    /// the wait at once), then stops listening.
    pub async fn close_after(self, linger: Option<Duration>) {
        if let Some(linger) = linger {
            tokio::select! {
                () = tokio::time::sleep(linger) => {}
                _ = crate::signals::shutdown() => {}
            }
        }
        self.stop.cancel();
        let _ = self.task.await;
    }
}

fn url(addr: SocketAddr) -> String {
    if !addr.ip().is_unspecified() {
        return format!("http://{addr}/metrics");
    }
    let loopback = match addr {
        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    format!(
        "http://{}/metrics (listening on all interfaces)",
        SocketAddr::new(loopback, addr.port())
    )
}

/// Connections held at once; more are closed as they come, so that a flood of connections
/// cannot take the file descriptors the race needs. Idle ones cost nothing but a descriptor:
/// the work is bounded by [`PAGE_WRITES`], and a connection that sends no request head within
/// [`HEAD_TIMEOUT`] is closed.
const MAX_CONNECTIONS: usize = 1024;

/// Pages written at once (each takes a blocking thread for a moment); other scrapes wait.
const PAGE_WRITES: usize = 4;

/// How long a connection may take to send its request head (a scraper sends it at once).
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

async fn serve(listener: TcpListener, publisher: Publisher, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    let writes = Arc::new(Semaphore::new(PAGE_WRITES));
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(_) if connections.len() >= MAX_CONNECTIONS => {}
                Ok((stream, _)) => {
                    let publisher = publisher.clone();
                    let writes = Arc::clone(&writes);
                    connections.spawn(async move {
                        let service = service_fn(move |req| {
                            let publisher = publisher.clone();
                            let writes = Arc::clone(&writes);
                            async move {
                                Ok::<_, Infallible>(answer(&req, &publisher, &writes).await)
                            }
                        });
                        // A scraper that goes away mid-answer is no one's problem.
                        let _ = http1::Builder::new()
                            .timer(hyper_util::rt::TokioTimer::new())
                            .header_read_timeout(HEAD_TIMEOUT)
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
                // Out of file descriptors and the like: pause instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

const INDEX: &str = "llmrace serves this race's metrics for Prometheus at /metrics \
                     (Prometheus text format; OpenMetrics when the Accept header asks).\n";

async fn answer(
    req: &Request<Incoming>,
    publisher: &Publisher,
    writes: &Semaphore,
) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let method = req.method();
    let is_get = method == Method::GET || method == Method::HEAD;
    match path {
        "/metrics" | "/" if !is_get => {
            let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET is served\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            response
        }
        "/metrics" => {
            let openmetrics = wants_openmetrics(req.headers().get(ACCEPT));
            // Never closed, so acquiring cannot fail; a turn is still taken if it did.
            let _turn = writes.acquire().await.ok();
            let latest = publisher.latest();
            // Writing the page takes a fraction of a millisecond per endpoint: off the
            // runtime's workers, which read the race's sockets.
            let Ok(page) =
                tokio::task::spawn_blocking(move || super::encode(latest, openmetrics)).await
            else {
                return plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "llmrace failed to write its metrics (a bug)\n",
                );
            };
            let mut response = Response::new(Full::new(Bytes::from(page)));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(if openmetrics {
                    super::OPENMETRICS
                } else {
                    super::PROMETHEUS_TEXT
                }),
            );
            response
        }
        "/" => plain(StatusCode::OK, INDEX),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found: llmrace serves its metrics at /metrics\n",
        ),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Whether the scraper's `Accept` takes OpenMetrics (any entry for it with a weight above 0):
/// Prometheus asks for it first by default; curl and browsers get the text format.
fn wants_openmetrics(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|entry| {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        let weight = parts
            .find_map(|p| p.strip_prefix("q="))
            .map_or(1.0, |q| q.parse::<f64>().unwrap_or(0.0));
        media.eq_ignore_ascii_case("application/openmetrics-text") && weight > 0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_only_when_accepted() {
        let h = |s: &'static str| Some(HeaderValue::from_static(s));
        assert!(!wants_openmetrics(None));
        assert!(!wants_openmetrics(h("*/*").as_ref()));
        assert!(!wants_openmetrics(h("text/plain;version=0.0.4").as_ref()));
        assert!(wants_openmetrics(
            h(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
               version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )
            .as_ref()
        ));
        assert!(!wants_openmetrics(
            h("application/openmetrics-text;q=0, text/plain").as_ref()
        ));
    }

    #[test]
    fn the_url_is_one_to_browse_to() {
        let url = |s: &str| url(s.parse().unwrap());
        assert_eq!(url("127.0.0.1:9464"), "http://127.0.0.1:9464/metrics");
        assert_eq!(url("[::1]:9464"), "http://[::1]:9464/metrics");
        assert_eq!(
            url("0.0.0.0:9464"),
            "http://127.0.0.1:9464/metrics (listening on all interfaces)"
        );
        assert_eq!(
            url("[::]:9464"),
            "http://[::1]:9464/metrics (listening on all interfaces)"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn silent_connections_do_not_block_a_scrape() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let exporter = Exporter::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let addr = exporter.addr();
        let mut silent = Vec::new();
        for _ in 0..64 {
            silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
        }
        let mut scraper = tokio::net::TcpStream::connect(addr).await.unwrap();
        scraper
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        scraper.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        drop(silent);
        exporter.close_after(None).await;
    }
}
