//! The scraper of server metrics: each endpoint's server's `/metrics` page, read once a second
//! from before the start to just after the finish, each scrape sent on as a
//! `RaceEvent` (`EventKind::ServerMetrics`) the way every event goes.
//!
//! It never disturbs the race: one ordinary task per distinct URL on the runtime (it works
//! once a second), its own connection (never a racing one), the page parsed on a blocking
//! thread, not on the threads that read the racing sockets. It sends no key and no header of
//! the endpoint's to the metrics URL (a key sent to another port is a key leaked), follows no
//! redirect, gives up after [`SCRAPE_TIMEOUT`], and reads no more than [`MAX_PAGE_BYTES`].

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio_util::sync::CancellationToken;

use super::connection::{Connection, Origin, Tls};
use super::request::EventSender;
use super::target::Target;
use crate::clock::{RaceClock, Stopwatch};
use crate::config::{EndpointConfig, ServerMetricsSource};
use crate::event::{
    EndpointId, EventKind, MAX_SCRAPE_SERIES, MAX_SERIES_NAME_BYTES, RaceEvent, RequestId,
    ScrapeError, ScrapeFailure, ServerScrape,
};

/// How often each URL is scraped.
pub const SCRAPE_EVERY: Duration = Duration::from_secs(1);
/// The longest a scrape may take, connecting included: a slow page is a gap, not a stall.
pub const SCRAPE_TIMEOUT: Duration = Duration::from_secs(2);
/// The largest page read (vLLM's are 100 to 300 KB with their histograms).
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// How long the scrape after the finish may take (a scrape in flight at the finish
/// included): the race's end does not wait for a slow page.
pub const FINAL_SCRAPE_WAIT: Duration = Duration::from_millis(500);

/// What to scrape: one entry per distinct URL, however many endpoints it serves.
#[derive(Clone, Debug, Default)]
pub struct ScrapePlan {
    pages: Vec<Page>,
}

/// One URL and the endpoints it serves, grouped by model (a server serving several models
/// labels their series apart, so each model is read apart from the same page).
#[derive(Clone, Debug)]
struct Page {
    origin: Arc<Origin>,
    path: String,
    /// The URL as every file and message shows it (redacted).
    shown: String,
    /// The user named it: its failures are told. An automatic one that fails its first try is
    /// dropped without a word (most servers have no `/metrics`).
    named: bool,
    groups: Vec<(String, Vec<EndpointId>)>,
}

impl ScrapePlan {
    /// The pages of the race's endpoints (`endpoints` and `targets` in the same order):
    /// each one's `server_metrics`, or `/metrics` on its origin where that is tried by itself.
    pub fn of(endpoints: &[EndpointConfig], targets: &[Arc<Target>]) -> ScrapePlan {
        let mut plan = ScrapePlan::default();
        for (endpoint, target) in endpoints.iter().zip(targets) {
            let (url, named) = match &endpoint.server_metrics {
                ServerMetricsSource::Off => continue,
                ServerMetricsSource::Url(url) => (url.clone(), true),
                ServerMetricsSource::Auto => {
                    if !crate::config::server_metrics_tried_by_default(
                        endpoint.protocol,
                        &endpoint.base_url,
                    ) {
                        continue;
                    }
                    let origin = target.origin();
                    let scheme = if origin.https { "https" } else { "http" };
                    (format!("{scheme}://{}/metrics", origin.authority), false)
                }
            };
            // Checked when the race was read; a URL that still does not parse is left out.
            let Ok((mut origin, path)) = Origin::parse(&url) else {
                continue;
            };
            origin.proxy = target.proxy_for(&origin);
            plan.add(origin, path, &url, named, &endpoint.model, target.id);
        }
        plan
    }

    fn add(
        &mut self,
        origin: Origin,
        path: String,
        url: &str,
        named: bool,
        model: &str,
        id: EndpointId,
    ) {
        let known = self
            .pages
            .iter()
            .position(|p| *p.origin == origin && p.path == path);
        let index = known.unwrap_or_else(|| {
            self.pages.push(Page {
                origin: Arc::new(origin),
                path,
                shown: crate::secret::redact_url(url),
                named,
                groups: Vec::new(),
            });
            self.pages.len() - 1
        });
        let Some(page) = self.pages.get_mut(index) else {
            return;
        };
        page.named |= named;
        match page.groups.iter_mut().find(|(m, _)| m == model) {
            Some((_, ids)) => ids.push(id),
            None => page.groups.push((model.to_string(), vec![id])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Whether any page is served over TLS.
    pub fn needs_tls(&self) -> bool {
        self.pages.iter().any(|p| p.origin.https)
    }
}

/// When the scraper stops: `finish` after one last scrape (the race ended), `abort` at once
/// (Ctrl-C, a stop).
#[derive(Clone, Debug, Default)]
pub struct ScrapeStops {
    pub finish: CancellationToken,
    pub abort: CancellationToken,
}

/// The scraper of a live race, running.
pub struct Scraper {
    task: tokio::task::JoinHandle<()>,
    finish: CancellationToken,
    /// One per page, told (or dropped) once its first scrape was sent or given up.
    first: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl Scraper {
    /// Starts scraping the pages of the race's endpoints now (`None`: there are none).
    /// `abort` stops it at once (the race's own, cancelled by Ctrl-C and stops).
    pub fn start(
        endpoints: &[EndpointConfig],
        targets: &[Arc<Target>],
        clock: RaceClock,
        events: &EventSender,
        abort: CancellationToken,
    ) -> Option<Scraper> {
        let plan = ScrapePlan::of(endpoints, targets);
        if plan.is_empty() {
            return None;
        }
        let tls = if plan.needs_tls() {
            Tls::new().ok()
        } else {
            None
        };
        let finish = CancellationToken::new();
        let stops = ScrapeStops {
            finish: finish.clone(),
            abort,
        };
        let (told, first): (Vec<_>, Vec<_>) = plan
            .pages
            .iter()
            .map(|_| tokio::sync::oneshot::channel())
            .unzip();
        let task = tokio::spawn(scrape_told(plan, tls, clock, events.clone(), stops, told));
        Some(Scraper {
            task,
            finish,
            first,
        })
    }

    /// Waits until every page's first scrape was sent (or failed, or was dropped), at most
    /// [`SCRAPE_TIMEOUT`] and a little: that scrape is the baseline the server's counters
    /// are measured from, so it must come before the first measured request.
    pub async fn first_scrapes(&mut self) {
        let all = futures_util::future::join_all(self.first.iter_mut());
        let _ = tokio::time::timeout(SCRAPE_TIMEOUT + Duration::from_millis(250), all).await;
    }

    /// Scrapes each page once more (the race just finished), unless it was aborted, and
    /// waits until the scraper has sent its last event: at most [`FINAL_SCRAPE_WAIT`] and a
    /// little, then it is stopped.
    pub async fn finish(self) {
        self.finish.cancel();
        let mut task = self.task;
        let limit = FINAL_SCRAPE_WAIT + Duration::from_millis(500);
        if tokio::time::timeout(limit, &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Scrapes every page of `plan` until `stops` says, sending each scrape to `events`. `tls` is
/// the race's, so metrics pages are trusted as the endpoints are; without it an https page is
/// a failed scrape that says why.
#[cfg(test)]
pub async fn scrape(
    plan: ScrapePlan,
    tls: Option<Tls>,
    clock: RaceClock,
    events: EventSender,
    stops: ScrapeStops,
) {
    scrape_told(plan, tls, clock, events, stops, Vec::new()).await;
}

/// [`scrape`], telling `told` (one per page, in order) when each page's first scrape is sent.
async fn scrape_told(
    plan: ScrapePlan,
    tls: Option<Tls>,
    clock: RaceClock,
    events: EventSender,
    stops: ScrapeStops,
    told: Vec<tokio::sync::oneshot::Sender<()>>,
) {
    let mut tasks = tokio::task::JoinSet::new();
    let mut told = told.into_iter();
    for page in plan.pages {
        tasks.spawn(scrape_page(
            page,
            tls.clone(),
            clock,
            events.clone(),
            stops.clone(),
            told.next(),
        ));
    }
    while tasks.join_next().await.is_some() {}
}

async fn scrape_page(
    page: Page,
    tls: Option<Tls>,
    clock: RaceClock,
    events: EventSender,
    stops: ScrapeStops,
    mut first_told: Option<tokio::sync::oneshot::Sender<()>>,
) {
    let mut connection = Connection::new(Arc::clone(&page.origin), tls.clone(), SCRAPE_TIMEOUT);
    let mut tick = tokio::time::interval(SCRAPE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        let mut last = tokio::select! {
            biased;
            () = stops.abort.cancelled() => return,
            () = stops.finish.cancelled() => true,
            _ = tick.tick() => false,
        };
        let once = scrape_once(&page, &mut connection, tls.is_some(), clock);
        tokio::pin!(once);
        // Once the race has finished (before this scrape or while it is in flight), this is
        // the last scrape, and the race's end waits for it only so long.
        let bounded = async {
            tokio::select! {
                biased;
                scraped = &mut once => return (Some(scraped), false),
                () = stops.finish.cancelled() => {}
            }
            (
                tokio::time::timeout(FINAL_SCRAPE_WAIT, &mut once)
                    .await
                    .ok(),
                true,
            )
        };
        let (scraped, finished) = tokio::select! {
            biased;
            () = stops.abort.cancelled() => return,
            done = bounded => done,
        };
        last |= finished;
        let Some(scraped) = scraped else {
            return;
        };
        if first && !page.named && scraped.iter().any(failed) {
            // Most servers have no `/metrics`: an automatic page that is not one is dropped.
            return;
        }
        first = false;
        for event in scraped {
            if events.send(event).is_err() {
                return;
            }
        }
        if let Some(told) = first_told.take() {
            let _ = told.send(());
        }
        if last {
            return;
        }
    }
}

fn failed(event: &RaceEvent) -> bool {
    matches!(&event.kind, EventKind::ServerMetrics(s) if s.error.is_some())
}

/// One scrape of `page`: an event per model group, for its first endpoint and the others in
/// `also`.
async fn scrape_once(
    page: &Page,
    connection: &mut Connection,
    has_tls: bool,
    clock: RaceClock,
) -> Vec<RaceEvent> {
    let watch = Stopwatch::start();
    let fetched = if page.origin.https && !has_tls {
        Err(failure(
            ScrapeFailure::Connect,
            "an https page needs the system's trusted certificates, which could not be loaded",
        ))
    } else {
        match tokio::time::timeout(SCRAPE_TIMEOUT, fetch(page, connection)).await {
            Ok(fetched) => fetched,
            Err(_) => Err(failure(
                ScrapeFailure::Timeout,
                &format!("no whole page within {} s", SCRAPE_TIMEOUT.as_secs_f64()),
            )),
        }
    };
    if fetched.is_err() {
        // Whatever was left on it (half a page, a request unanswered) is not read again.
        *connection = connection.fresh();
    }
    let t = clock.now();
    let took_ms = watch.elapsed().as_secs_f64() * 1000.0;
    let models: Vec<String> = page.groups.iter().map(|(m, _)| m.clone()).collect();
    let read = match fetched {
        Ok(body) => tokio::task::spawn_blocking(move || read_page(&body, &models))
            .await
            .unwrap_or_else(|_| {
                Err(failure(
                    ScrapeFailure::Garbage,
                    "the page could not be read",
                ))
            }),
        Err(e) => Err(e),
    };
    page.groups
        .iter()
        .enumerate()
        .filter_map(|(i, (_, ids))| {
            let (endpoint, also) = ids.split_first()?;
            let mut scrape = ServerScrape {
                url: page.shown.clone(),
                also: also.to_vec(),
                took_ms,
                ..ServerScrape::default()
            };
            match &read {
                Ok(pages) => {
                    if let Some(page) = pages.get(i) {
                        scrape.reading = Some(page.reading.clone());
                        (scrape.series, scrape.series_left_out) = kept_series(&page.series);
                    }
                }
                Err(e) => {
                    scrape.error = Some(ScrapeError {
                        class: e.class,
                        message: format!("{}: {}", page.shown, e.message),
                    });
                }
            }
            Some(RaceEvent {
                t,
                endpoint: *endpoint,
                request: RequestId::SERVER,
                kind: EventKind::ServerMetrics(Box::new(scrape)),
            })
        })
        .collect()
}

fn failure(class: ScrapeFailure, message: &str) -> ScrapeError {
    ScrapeError {
        class,
        message: message.to_string(),
    }
}

/// The page's body, asked for with no header but `Host`, `Accept` and `User-Agent`.
async fn fetch(page: &Page, connection: &mut Connection) -> Result<Bytes, ScrapeError> {
    let connect = |(_, message): (crate::event::ErrorClass, String)| {
        failure(ScrapeFailure::Connect, &message)
    };
    connection.ready().await.map_err(connect)?;
    let request = http::Request::get(page.path.as_str())
        .header(http::header::HOST, page.origin.authority.as_str())
        .header(
            http::header::ACCEPT,
            "text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.5,*/*;q=0.1",
        )
        .header(
            http::header::USER_AGENT,
            concat!("llmrace/", env!("CARGO_PKG_VERSION")),
        )
        .body(super::connection::Body::default())
        .map_err(|e| failure(ScrapeFailure::Connect, &e.to_string()))?;
    let response = connection.send(request).await.map_err(connect)?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(crate::secret::redact_url)
            .unwrap_or_default();
        return Err(failure(
            ScrapeFailure::Status,
            &format!("HTTP {status}, redirected to `{to}` (not followed: name that URL)"),
        ));
    }
    if status != http::StatusCode::OK {
        return Err(failure(ScrapeFailure::Status, &format!("HTTP {status}")));
    }
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ["text/html", "application/json"]
        .iter()
        .any(|t| content_type.starts_with(t))
    {
        return Err(failure(
            ScrapeFailure::Garbage,
            &format!("not a metrics page (content type {content_type})"),
        ));
    }
    let mut body = response.into_body();
    let mut bytes = BytesMut::new();
    while let Some(data) = connection.next_data(&mut body).await {
        let data = data.map_err(|e| {
            failure(
                ScrapeFailure::Connect,
                &format!("the page was cut off: {e}"),
            )
        })?;
        if bytes.len() + data.len() > MAX_PAGE_BYTES {
            return Err(failure(
                ScrapeFailure::TooLarge,
                &format!("the page is larger than {} MiB", MAX_PAGE_BYTES >> 20),
            ));
        }
        bytes.extend_from_slice(data);
    }
    Ok(bytes.freeze())
}

/// The page read once per model, off the runtime's threads.
fn read_page(
    body: &[u8],
    models: &[String],
) -> Result<Vec<crate::server_metrics::Page>, ScrapeError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        failure(
            ScrapeFailure::Garbage,
            "not a metrics page (not UTF-8 text)",
        )
    })?;
    if !has_a_sample(text) {
        return Err(failure(
            ScrapeFailure::Garbage,
            if text.trim().is_empty() {
                "an empty page"
            } else {
                "not a metrics page (no line of the Prometheus text format)"
            },
        ));
    }
    models
        .iter()
        .map(|model| {
            crate::server_metrics::read(text, Some(model)).map_err(|why| {
                let class = if crate::server_metrics::too_many_series(&why) {
                    ScrapeFailure::TooLarge
                } else {
                    ScrapeFailure::Garbage
                };
                failure(class, &why)
            })
        })
        .collect()
}

/// Whether `text` has at least one line that could be a sample (`name{…} value`): an HTML page
/// or a JSON answer has none, and is not taken for a metrics page with no series.
fn has_a_sample(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        // Label values may hold spaces: the value follows the labels' closing brace.
        let (name, rest) = match line.split_once('{') {
            Some((name, labels)) => (name, labels.rsplit_once('}').map_or("", |(_, r)| r)),
            None => line.split_once(char::is_whitespace).unwrap_or((line, "")),
        };
        let Some(value) = rest.split_whitespace().next() else {
            return false;
        };
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && (value.parse::<f64>().is_ok() || matches!(value, "NaN" | "+Inf" | "-Inf"))
    })
}

/// The series a scrape keeps: finite values, names cut to [`MAX_SERIES_NAME_BYTES`], at most
/// [`MAX_SCRAPE_SERIES`]; and how many were left out.
fn kept_series(series: &[(String, f64)]) -> (Vec<(String, f64)>, u32) {
    let mut kept = Vec::with_capacity(series.len().min(MAX_SCRAPE_SERIES));
    for (name, value) in series {
        if kept.len() == MAX_SCRAPE_SERIES {
            break;
        }
        if value.is_finite() {
            let mut end = name.len().min(MAX_SERIES_NAME_BYTES);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            kept.push((name[..end].to_string(), *value));
        }
    }
    let left_out = u32::try_from(series.len() - kept.len()).unwrap_or(u32::MAX);
    (kept, left_out)
}

#[cfg(test)]
mod tests;
