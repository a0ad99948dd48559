//! Folds the scrapes of each endpoint's server metrics (`EventKind::ServerMetrics`) into the
//! [`ServerView`] its snapshots carry: a point per good scrape, the failures counted by kind,
//! and the race's summary. Rates over an interval come from the server's own counters, whose
//! resets (a server restarted mid-race) are taken as a new count from zero, never a negative
//! rate.

use std::sync::Arc;

use super::server::{ServerPoint, ServerSummary, ServerView};
use crate::event::{EndpointId, Offset, ServerScrape};
use crate::server_metrics::ServerReading;

/// Every endpoint's server track, in `EndpointId` order; `None` until its first scrape.
#[derive(Clone, Debug, Default)]
pub struct Servers(Vec<Option<Track>>);

impl Servers {
    pub fn new(endpoints: usize) -> Self {
        Servers(vec![None; endpoints])
    }

    /// Folds one scrape into the endpoint of its event and every endpoint that shares it.
    pub fn apply(&mut self, t: Offset, endpoint: EndpointId, scrape: &ServerScrape) {
        for id in std::iter::once(endpoint).chain(scrape.also.iter().copied()) {
            if let Some(slot) = self.0.get_mut(usize::from(id.0)) {
                slot.get_or_insert_with(|| Track::new(&scrape.url))
                    .apply(t, scrape);
            }
        }
    }

    /// The view of endpoint `index`'s server, shared between snapshots until a scrape (or
    /// `during`) changes it. `during` is while the race ran (its first request sent to its
    /// last ended, open while it runs): the means and maxes are over the scrapes then, not the
    /// idle ones before the start and after the finish (kept in the series all the same).
    pub fn view(&mut self, index: usize, during: During) -> Option<Arc<ServerView>> {
        self.0
            .get_mut(index)?
            .as_mut()
            .map(|track| track.view(during))
    }
}

/// While the race ran: from its first request sent (`None`: none yet, every scrape counts)
/// to its last request's end (`None`: still running).
pub type During = (Option<Offset>, Option<Offset>);

/// One endpoint's server over the race.
#[derive(Clone, Debug)]
struct Track {
    view: ServerView,
    /// The view as last handed out and the span it was made for; `None` once a scrape
    /// changed it.
    shared: Option<(Arc<ServerView>, During)>,
    /// The last good reading, for the counters' differences.
    last: Option<ServerReading>,
    prefix_queries: Counter,
    prefix_hits: Counter,
    spec_drafted: Counter,
    spec_accepted: Counter,
    preemptions: Counter,
    /// The rates servers state themselves, for servers without counters.
    prefix_rate: Gauge,
    spec_rate: Gauge,
}

impl Track {
    fn new(url: &str) -> Self {
        Track {
            view: ServerView {
                source: url.to_string(),
                ..ServerView::default()
            },
            shared: None,
            last: None,
            prefix_queries: Counter::default(),
            prefix_hits: Counter::default(),
            spec_drafted: Counter::default(),
            spec_accepted: Counter::default(),
            preemptions: Counter::default(),
            prefix_rate: Gauge::default(),
            spec_rate: Gauge::default(),
        }
    }

    fn apply(&mut self, t: Offset, scrape: &ServerScrape) {
        self.shared = None;
        let view = &mut self.view;
        view.scrapes += 1;
        let reading = match (&scrape.reading, &scrape.error) {
            (Some(reading), None) => finite(reading),
            (_, error) => {
                view.failed += 1;
                if let Some(error) = error {
                    *view.failed_by.entry(error.class).or_default() += 1;
                    view.last_error = Some(error.message.clone());
                }
                return;
            }
        };
        if reading.server.is_some() {
            view.server = reading.server;
        }
        let last = self.last.as_ref();
        let prefix = (
            self.prefix_hits
                .add(last, &reading, |r| r.prefix_hits_total),
            self.prefix_queries
                .add(last, &reading, |r| r.prefix_queries_total),
        );
        let spec = (
            self.spec_accepted
                .add(last, &reading, |r| r.spec_accepted_total),
            self.spec_drafted
                .add(last, &reading, |r| r.spec_drafted_total),
        );
        self.preemptions
            .add(last, &reading, |r| r.preemptions_total);
        self.prefix_rate.add(reading.prefix_hit_rate);
        self.spec_rate.add(reading.spec_accept_rate);
        view.points.push(ServerPoint {
            t,
            queue: reading.queue,
            running: reading.running,
            kv_cache: reading.kv_cache,
            prefix_hit: share(prefix).or(reading.prefix_hit_rate),
            spec_accept: share(spec).or(reading.spec_accept_rate),
        });
        self.last = Some(reading);
    }

    fn view(&mut self, during: During) -> Arc<ServerView> {
        if let Some((shared, made_for)) = &self.shared
            && *made_for == during
        {
            return Arc::clone(shared);
        }
        let (from, to) = during;
        let (mut queue, mut running, mut kv_cache) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        for point in self
            .view
            .points
            .iter()
            .filter(|p| from.is_none_or(|from| p.t >= from) && to.is_none_or(|to| p.t <= to))
        {
            queue.add(point.queue);
            running.add(point.running);
            kv_cache.add(point.kv_cache);
        }
        self.view.summary = ServerSummary {
            queue_mean: queue.mean(),
            queue_max: queue.max,
            running_mean: running.mean(),
            running_max: running.max,
            kv_cache_mean: kv_cache.mean(),
            kv_cache_max: kv_cache.max,
            prefix_hit: share((self.prefix_hits.total, self.prefix_queries.total))
                .or_else(|| self.prefix_rate.mean()),
            spec_accept: share((self.spec_accepted.total, self.spec_drafted.total))
                .or_else(|| self.spec_rate.mean()),
            preemptions: self.preemptions.total,
        };
        let shared = Arc::new(self.view.clone());
        self.shared = Some((Arc::clone(&shared), during));
        shared
    }
}

/// The reading with every value that is not a finite number taken as not published.
fn finite(reading: &ServerReading) -> ServerReading {
    let keep = |v: Option<f64>| v.filter(|v| v.is_finite());
    ServerReading {
        server: reading.server,
        queue: keep(reading.queue),
        running: keep(reading.running),
        kv_cache: keep(reading.kv_cache),
        prefix_queries_total: keep(reading.prefix_queries_total),
        prefix_hits_total: keep(reading.prefix_hits_total),
        prefix_hit_rate: keep(reading.prefix_hit_rate),
        spec_drafted_total: keep(reading.spec_drafted_total),
        spec_accepted_total: keep(reading.spec_accepted_total),
        spec_accept_rate: keep(reading.spec_accept_rate),
        preemptions_total: keep(reading.preemptions_total),
    }
}

/// `part` of `whole`, 0 to 1, when there was any whole.
fn share((part, whole): (Option<f64>, Option<f64>)) -> Option<f64> {
    match (part, whole) {
        (Some(part), Some(whole)) if whole > 0.0 => Some((part / whole).clamp(0.0, 1.0)),
        _ => None,
    }
}

/// A gauge's mean and maximum over the good scrapes that published it.
#[derive(Clone, Copy, Debug, Default)]
struct Gauge {
    sum: f64,
    count: u32,
    max: Option<f64>,
}

impl Gauge {
    fn add(&mut self, value: Option<f64>) {
        if let Some(v) = value {
            self.sum += v;
            self.count += 1;
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }
}

/// What a cumulative counter grew by over the race, from one good scrape to the next.
#[derive(Clone, Copy, Debug, Default)]
struct Counter {
    /// `None` until two scrapes in a row published it.
    total: Option<f64>,
}

impl Counter {
    /// Adds the growth since `last` and returns it (`None` when either reading lacks it). A
    /// counter lower than before was reset (the server restarted): it counted from zero.
    fn add(
        &mut self,
        last: Option<&ServerReading>,
        now: &ServerReading,
        field: impl Fn(&ServerReading) -> Option<f64>,
    ) -> Option<f64> {
        let (before, after) = (field(last?)?, field(now)?);
        let grew = if after >= before {
            after - before
        } else {
            after
        };
        self.total = Some(self.total.unwrap_or(0.0) + grew);
        Some(grew)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{ScrapeError, ScrapeFailure};
    use crate::server_metrics::ServerKind;

    fn s(n: u64) -> Offset {
        Offset(n * 1_000_000_000)
    }

    /// No request sent yet: every scrape counts.
    const ALL: During = (None, None);

    fn good(reading: ServerReading) -> ServerScrape {
        ServerScrape {
            url: "http://127.0.0.1:8000/metrics".into(),
            reading: Some(reading),
            ..ServerScrape::default()
        }
    }

    fn failed(class: ScrapeFailure, message: &str) -> ServerScrape {
        ServerScrape {
            url: "http://127.0.0.1:8000/metrics".into(),
            error: Some(ScrapeError {
                class,
                message: message.into(),
            }),
            ..ServerScrape::default()
        }
    }

    fn counters(queries: f64, hits: f64) -> ServerReading {
        ServerReading {
            server: Some(ServerKind::Vllm),
            prefix_queries_total: Some(queries),
            prefix_hits_total: Some(hits),
            ..ServerReading::default()
        }
    }

    #[test]
    fn gauges_give_points_means_and_maxes() {
        let mut servers = Servers::new(1);
        assert!(servers.view(0, ALL).is_none(), "no scrape, no view");
        for (t, queue, kv) in [(1, 0.0, 0.1), (2, 4.0, 0.5), (3, 2.0, 0.3)] {
            let reading = ServerReading {
                queue: Some(queue),
                kv_cache: Some(kv),
                ..ServerReading::default()
            };
            servers.apply(s(t), EndpointId(0), &good(reading));
        }
        let view = servers.view(0, ALL).unwrap();
        assert_eq!(view.points.len(), 3);
        assert_eq!(view.points[1].t, s(2));
        assert_eq!(view.points[1].queue, Some(4.0));
        assert_eq!((view.scrapes, view.failed), (3, 0));
        let summary = view.summary;
        assert_eq!(summary.queue_mean, Some(2.0));
        assert_eq!(summary.queue_max, Some(4.0));
        assert!((summary.kv_cache_mean.unwrap() - 0.3).abs() < 1e-12);
        assert_eq!(summary.kv_cache_max, Some(0.5));
        assert_eq!(summary.running_mean, None, "never published");
        assert_eq!(view.source, "http://127.0.0.1:8000/metrics");
    }

    #[test]
    fn means_and_maxes_are_over_the_scrapes_while_the_race_ran() {
        let mut servers = Servers::new(1);
        // Idle before the start (the baseline) and after the finish (the final counters).
        for (t, running, queries) in [(0, 0.0, 0.0), (2, 4.0, 100.0), (5, 0.0, 200.0)] {
            let reading = ServerReading {
                running: Some(running),
                ..counters(queries, queries / 2.0)
            };
            servers.apply(s(t), EndpointId(0), &good(reading));
        }
        let view = servers.view(0, (Some(s(1)), Some(s(4)))).unwrap();
        assert_eq!(view.points.len(), 3, "the idle points stay in the series");
        assert_eq!(view.summary.running_mean, Some(4.0));
        assert_eq!(view.summary.running_max, Some(4.0));
        assert_eq!(view.summary.prefix_hit, Some(0.5), "first to last scrape");
        // While it runs, its end is open.
        let live = servers.view(0, (Some(s(1)), None)).unwrap();
        assert_eq!(live.summary.running_mean, Some(2.0));
    }

    #[test]
    fn prefix_hits_come_from_counter_differences_across_a_reset() {
        let mut servers = Servers::new(1);
        // Before the race the server had looked up 1000 tokens and found 900: not ours.
        servers.apply(s(0), EndpointId(0), &good(counters(1000.0, 900.0)));
        servers.apply(s(1), EndpointId(0), &good(counters(1100.0, 925.0)));
        // The server restarted: its counters began again from zero.
        servers.apply(s(2), EndpointId(0), &good(counters(100.0, 75.0)));
        let view = servers.view(0, ALL).unwrap();
        assert_eq!(view.points[0].prefix_hit, None, "no interval yet");
        assert_eq!(view.points[1].prefix_hit, Some(0.25));
        assert_eq!(view.points[2].prefix_hit, Some(0.75));
        // 25 + 75 hits of 100 + 100 lookups.
        assert_eq!(view.summary.prefix_hit, Some(0.5));
        assert_eq!(view.server, Some(ServerKind::Vllm));
    }

    #[test]
    fn spec_decoding_and_preemptions_over_the_race() {
        let mut servers = Servers::new(1);
        let reading = |drafted: f64, accepted: f64, preempted: f64| ServerReading {
            spec_drafted_total: Some(drafted),
            spec_accepted_total: Some(accepted),
            preemptions_total: Some(preempted),
            ..ServerReading::default()
        };
        servers.apply(s(0), EndpointId(0), &good(reading(10.0, 5.0, 7.0)));
        servers.apply(s(1), EndpointId(0), &good(reading(110.0, 65.0, 9.0)));
        servers.apply(s(2), EndpointId(0), &good(reading(210.0, 105.0, 10.0)));
        let summary = servers.view(0, ALL).unwrap().summary;
        assert_eq!(summary.spec_accept, Some(0.5));
        assert_eq!(summary.preemptions, Some(3.0));
    }

    #[test]
    fn a_servers_own_rate_stands_in_for_missing_counters() {
        let mut servers = Servers::new(1);
        for rate in [0.2, 0.4] {
            let reading = ServerReading {
                prefix_hit_rate: Some(rate),
                ..ServerReading::default()
            };
            servers.apply(s(1), EndpointId(0), &good(reading));
        }
        let view = servers.view(0, ALL).unwrap();
        assert_eq!(view.points[1].prefix_hit, Some(0.4));
        assert!((view.summary.prefix_hit.unwrap() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn failures_are_gaps_counted_by_kind() {
        let mut servers = Servers::new(2);
        let shared = ServerScrape {
            also: vec![EndpointId(1)],
            ..good(ServerReading {
                queue: Some(f64::NAN),
                running: Some(3.0),
                ..ServerReading::default()
            })
        };
        servers.apply(s(1), EndpointId(0), &shared);
        servers.apply(s(2), EndpointId(0), &failed(ScrapeFailure::Timeout, "slow"));
        servers.apply(s(3), EndpointId(0), &failed(ScrapeFailure::Timeout, "slow"));
        servers.apply(s(4), EndpointId(0), &failed(ScrapeFailure::Garbage, "html"));
        let view = servers.view(0, ALL).unwrap();
        assert_eq!((view.scrapes, view.failed), (4, 3));
        assert_eq!(view.points.len(), 1, "a failure is a gap");
        assert_eq!(view.points[0].queue, None, "NaN is not a value");
        assert_eq!(view.failed_by.get(&ScrapeFailure::Timeout), Some(&2));
        assert_eq!(view.failed_by.get(&ScrapeFailure::Garbage), Some(&1));
        assert_eq!(view.last_error.as_deref(), Some("html"));
        // The endpoint that shared the first scrape has it too.
        let other = servers.view(1, ALL).unwrap();
        assert_eq!((other.scrapes, other.points[0].running), (1, Some(3.0)));
    }

    #[test]
    fn snapshots_share_the_view_until_a_scrape_changes_it() {
        let mut servers = Servers::new(1);
        servers.apply(s(1), EndpointId(0), &good(ServerReading::default()));
        let (a, b) = (servers.view(0, ALL).unwrap(), servers.view(0, ALL).unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        servers.apply(s(2), EndpointId(0), &good(ServerReading::default()));
        assert!(!Arc::ptr_eq(&a, &servers.view(0, ALL).unwrap()));
    }
}
