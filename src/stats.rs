//! The aggregator: the only owner of statistics. It folds race events into per-request records
//! and per-endpoint statistics, and builds immutable [`Snapshot`]s for the views. Live races and
//! replays feed it the same events, so both give the same numbers.

pub mod buckets;
pub mod comment;
pub mod commentary;
#[cfg(test)]
mod commentary_tests;
pub mod cost;
pub mod distribution;
pub mod endpoint;
pub mod figures;
#[cfg(any(test, feature = "test-support"))]
pub mod fixture;
pub mod gaps;
pub mod health;
pub mod heats;
pub mod laps;
pub mod medals;
mod quantile;
mod read_timing;
pub mod recent;
pub mod repeats;
pub mod request;
pub mod segments;
pub mod server;
mod server_track;
pub mod snapshot;
pub mod turns;
pub mod window;

use chrono::{DateTime, Utc};

use crate::config::{Price, RaceConfig, Slo};
use crate::event::{EventKind, Offset, PromptId, RaceEvent, RequestId};
use crate::protocol::Message;
use endpoint::EndpointStats;
use recent::ViewHandle;
pub use request::{Outcome, RequestRecord, RequestTrace};
#[cfg(any(test, feature = "test-support"))]
pub use snapshot::RequestState;
pub use snapshot::{Cost, EndpointSnapshot, Health, Snapshot};

/// Cloned by the replay player to keep its state every so many events.
#[derive(Clone)]
pub struct Aggregator {
    endpoints: Vec<EndpointStats>,
    /// Looked up for every event: hashed with foldhash, not std's `SipHash` (ids are ours, not
    /// an attacker's, and the lookup was a tenth of this thread's time).
    in_flight: foldhash::HashMap<RequestId, InFlight>,
    slo: Slo,
    wall_start: DateTime<Utc>,
    last_t: Offset,
    changed: bool,
    laps: laps::LapTally,
    /// Each endpoint's price, in `EndpointId` order: what prices its snapshots' costs.
    prices: Vec<Option<Price>>,
    /// The prompts each endpoint has been sent, in `EndpointId` order.
    repeats: Vec<repeats::Repeats>,
    /// For each prompt, the first with the same messages (`repeats::first_of_each`); empty
    /// when not known (each prompt is then its own).
    same_prompt: Vec<PromptId>,
    /// Each endpoint's server metrics, from its scrapes.
    servers: server_track::Servers,
    /// The commentary, shown the race once per second of race time (`stats::commentary`).
    commentary: commentary::Commentator,
}

/// A request between its `Sent` and its end: its timings and its place in the inspector.
#[derive(Clone)]
struct InFlight {
    trace: RequestTrace,
    view: ViewHandle,
}

impl Aggregator {
    /// One entry per endpoint, in `EndpointId` order.
    /// `wall_start` is the race's UTC start, from which each request's `request_time` follows.
    pub fn new(endpoint_names: &[String], slo: Slo, wall_start: DateTime<Utc>) -> Self {
        Aggregator {
            endpoints: endpoint_names
                .iter()
                .map(|n| EndpointStats::new(n))
                .collect(),
            in_flight: foldhash::HashMap::default(),
            slo,
            wall_start,
            last_t: Offset::ZERO,
            changed: true,
            laps: laps::LapTally::new(endpoint_names.len()),
            prices: Vec::new(),
            repeats: vec![repeats::Repeats::default(); endpoint_names.len()],
            same_prompt: Vec::new(),
            servers: server_track::Servers::new(endpoint_names.len()),
            commentary: commentary::Commentator::default(),
        }
    }

    /// Knows the race's prompts, so one that a dataset holds twice counts as a repeat when it
    /// is sent the second time.
    #[must_use]
    pub fn knowing<'a>(mut self, prompts: impl IntoIterator<Item = &'a [Message]>) -> Self {
        self.same_prompt = repeats::first_of_each(prompts);
        self
    }

    /// Prices every endpoint `race` gives a price, by name: each snapshot then carries what
    /// the race has cost so far.
    #[must_use]
    pub fn priced(mut self, race: &RaceConfig) -> Self {
        let names: Vec<String> = self
            .endpoints
            .iter()
            .map(|e| e.name().to_string())
            .collect();
        self.prices = cost::prices(race, &names);
        self
    }

    /// Folds one event in. Returns the request's record when the event ended the request.
    /// Events for unknown endpoints or requests (a damaged stream) are ignored.
    pub fn apply(&mut self, event: &RaceEvent) -> Option<RequestRecord> {
        self.fold(event, None)
    }

    /// [`Aggregator::apply`] for the events a request record tells of, when a race is rebuilt
    /// from its records alone (cut without a replay): at the request's end `record` stands in
    /// for the one its events would give. The record keeps its times to the microsecond, so
    /// figures derived from them again (TPOT, tokens/s) could move by a digit.
    pub fn apply_recorded(&mut self, event: &RaceEvent, record: &RequestRecord) {
        self.fold(event, Some(record));
    }

    /// The one fold of events into statistics, live, replayed or rebuilt from records.
    fn fold(
        &mut self,
        event: &RaceEvent,
        recorded: Option<&RequestRecord>,
    ) -> Option<RequestRecord> {
        self.changed = true;
        if let EventKind::ServerMetrics(scrape) = &event.kind {
            // The scrape after the finish does not make the race longer.
            self.servers.apply(event.t, event.endpoint, scrape);
            return None;
        }
        if self.commentary.due(event.t) {
            self.look(event.t);
        }
        self.last_t = self.last_t.max(event.t);
        let index = usize::from(event.endpoint.0);
        let stats = self.endpoints.get_mut(index)?;
        match &event.kind {
            EventKind::Sent {
                prompt,
                bytes,
                warmup,
                lag_us,
                lap,
                retry,
                session,
                turn,
                inputs,
            } => {
                if let Some(lap) = lap
                    && !warmup
                {
                    self.laps
                        .on_sent(event.request, event.endpoint, *lap, event.t);
                }
                let mut view = stats.on_sent(
                    event.t,
                    event.request,
                    *prompt,
                    *warmup,
                    *lag_us,
                    retry.is_some(),
                );
                if session.is_some() {
                    stats.follow(&mut view, event.t, &event.kind);
                }
                if let Some(n) = inputs.filter(|_| !warmup) {
                    stats.on_embeddings_sent(n);
                }
                let trace = RequestTrace::new(
                    event.request,
                    event.endpoint,
                    *prompt,
                    *warmup,
                    event.t,
                    *bytes,
                )
                .sent_as(*lag_us, *retry)
                .in_session(*session, *turn)
                .carrying(*inputs)
                .repeated(
                    self.repeats
                        .get_mut(index)
                        .is_some_and(|r| r.on_sent(&event.kind, &self.same_prompt)),
                );
                self.in_flight
                    .insert(event.request, InFlight { trace, view });
                None
            }
            EventKind::Finished { .. } | EventKind::Failed { .. } | EventKind::Cancelled { .. } => {
                let finished = matches!(event.kind, EventKind::Finished { .. });
                self.laps.on_ended(event.request, event.t, finished);
                let InFlight { trace, mut view } = self.in_flight.remove(&event.request)?;
                stats.follow(&mut view, event.t, &event.kind);
                if let Some(record) = recorded {
                    stats.on_finished(event.t, record, &view, &self.slo);
                    return None;
                }
                let record = trace.finish(event.t, &event.kind, stats.name(), self.wall_start)?;
                stats.on_finished(event.t, &record, &view, &self.slo);
                Some(record)
            }
            kind => {
                if let EventKind::Resent { .. } = kind {
                    // The lap, like the record, counts from the second send.
                    self.laps.on_resent(event.request, event.t);
                }
                let InFlight { trace, view } = self.in_flight.get_mut(&event.request)?;
                if let EventKind::Content { chunks, .. } = kind
                    && !trace.is_warmup()
                {
                    self.laps.on_content(event.request, event.t);
                    stats.on_content(event.t, *chunks);
                }
                let before = (trace.ttfb(), trace.ttft());
                trace.apply(event.t, kind);
                if !trace.is_warmup() {
                    stats.on_first_moments(event.t, before, (trace.ttfb(), trace.ttft()));
                }
                stats.follow(view, event.t, kind);
                None
            }
        }
    }

    /// Shows the commentary the race as it stood when the second `t` falls in began (the
    /// events before `t`), in the order events were folded, live or replayed alike.
    fn look(&mut self, t: Offset) {
        let snapshot = self.snapshot(commentary::Commentator::second_of(t), false);
        self.commentary.look(&snapshot);
        self.changed = true;
    }

    /// Whether anything arrived since the last snapshot.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// While the race ran: its first request sent to its last request's end once it is
    /// finished (open until then).
    fn during(&self, finished: bool) -> server_track::During {
        let spans = self.endpoints.iter().map(EndpointStats::span);
        let from = spans.clone().filter_map(|(sent, _)| sent).min();
        let to = finished
            .then(|| spans.filter_map(|(_, ended)| ended).max())
            .flatten();
        (from, to)
    }

    /// The race as of `now` (at least the last event's time).
    pub fn snapshot(&mut self, now: Offset, finished: bool) -> Snapshot {
        self.changed = false;
        let t = now.max(self.last_t);
        let during = self.during(finished);
        let servers = &mut self.servers;
        let endpoints: Vec<EndpointSnapshot> = self
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (first_token, first_finished) = self.laps.wins(i);
                EndpointSnapshot {
                    wins_first_token: first_token,
                    wins_first_finished: first_finished,
                    laps: self.laps.judged(),
                    server: servers.view(i, during),
                    ..e.snapshot(t, finished)
                }
            })
            .collect();
        let mut snapshot = Snapshot {
            t,
            finished,
            costs: cost::costs(&endpoints, &self.prices),
            endpoints,
            playback: None,
            commentary: std::sync::Arc::default(),
        };
        if finished {
            self.commentary.finish(&snapshot);
        }
        snapshot.commentary = self.commentary.lines();
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::{EndpointId, ErrorClass, PromptId, TokenSource};

    fn ms(n: u64) -> Offset {
        Offset(n * 1_000_000)
    }

    fn aggregator() -> Aggregator {
        Aggregator::new(
            &["a".to_string(), "b".to_string()],
            Slo::default(),
            DateTime::<Utc>::UNIX_EPOCH,
        )
    }

    fn event(t: u64, endpoint: u16, request: u64, kind: EventKind) -> RaceEvent {
        RaceEvent {
            t: ms(t),
            endpoint: EndpointId(endpoint),
            request: RequestId(request),
            kind,
        }
    }

    fn sent(t: u64, endpoint: u16, request: u64, warmup: bool) -> RaceEvent {
        let kind = EventKind::Sent {
            prompt: PromptId(0),
            bytes: 10,
            warmup,
            lag_us: None,
            lap: None,
            retry: None,
            session: None,
            turn: None,
            inputs: None,
        };
        event(t, endpoint, request, kind)
    }

    fn content(t: u64, request: u64, text: &str) -> RaceEvent {
        let kind = EventKind::Content {
            text: text.into(),
            reasoning: false,
            chunks: 1,
            after: None,
            late_us: None,
            unstamped: false,
            tool: None,
        };
        event(t, 0, request, kind)
    }

    fn finished(t: u64, request: u64) -> RaceEvent {
        let kind = EventKind::Finished {
            finish_reason: Some("stop".into()),
            response_id: None,
            bytes: 10,
            json_valid: None,
            dimension: None,
        };
        event(t, 0, request, kind)
    }

    #[test]
    fn requests_are_followed_into_the_snapshot() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, true));
        agg.apply(&sent(10, 0, 2, false));
        agg.apply(&sent(10, 1, 3, false));
        agg.apply(&content(60, 2, "hi"));
        let usage = EventKind::Usage {
            input: Some(5),
            output: Some(7),
            cached_input: None,
            cache_write: None,
            reasoning: None,
            reported: crate::event::ReportedUsage::new(),
            source: TokenSource::Usage,
        };
        agg.apply(&event(65, 0, 2, usage));
        // An estimate never replaces the server's count, in the view as in the record.
        let estimate = EventKind::Usage {
            input: None,
            output: Some(99),
            cached_input: None,
            cache_write: None,
            reasoning: None,
            reported: crate::event::ReportedUsage::new(),
            source: TokenSource::Estimate,
        };
        agg.apply(&event(66, 0, 2, estimate));
        let record = agg.apply(&finished(70, 2)).unwrap();
        let failed = EventKind::Failed {
            class: ErrorClass::Auth,
            message: "HTTP 401".into(),
            status: Some(401),
            bytes: 0,
        };
        agg.apply(&event(30, 1, 3, failed));

        let s = agg.snapshot(ms(100), false);
        let a = &s.endpoints[0].requests;
        assert_eq!(a.len(), 2);
        assert!(a[0].warmup && a[0].state == RequestState::InFlight);
        let r = &a[1];
        assert_eq!(r.state, RequestState::Succeeded);
        assert_eq!(r.ttft_ms, record.ttft_ms);
        assert_eq!(r.ended_ms, record.ttlt_ms);
        assert_eq!(r.output_tokens, Some(7));
        assert_eq!(r.segments.len(), 1);
        let b = &s.endpoints[1].requests;
        assert_eq!(b.len(), 1);
        assert!(matches!(
            b[0].state,
            RequestState::Failed {
                class: ErrorClass::Auth,
                ..
            }
        ));
        assert_eq!(b[0].http_status, Some(401));
        assert_eq!(b[0].ended_ms, Some(20.0));
    }

    #[test]
    fn snapshots_share_unchanged_requests() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, false));
        agg.apply(&sent(0, 0, 2, false));
        let first = agg.snapshot(ms(1), false);
        agg.apply(&content(5, 2, "x"));
        let second = agg.snapshot(ms(6), false);
        let (before, after) = (&first.endpoints[0].requests, &second.endpoints[0].requests);
        assert!(Arc::ptr_eq(&before[0], &after[0]));
        assert!(!Arc::ptr_eq(&before[1], &after[1]));
        assert!(before[1].segments.is_empty());
        assert_eq!(after[1].segments.len(), 1);
    }

    #[test]
    fn the_ring_stays_bounded_in_a_long_race() {
        let mut agg = aggregator();
        let n = recent::RECENT_REQUESTS as u64 * 4;
        for r in 0..n {
            agg.apply(&sent(r, 0, r, false));
        }
        // The oldest requests end after they left the ring: nothing breaks, counts stay right.
        for r in 0..n {
            agg.apply(&content(n + r, r, "t"));
            agg.apply(&finished(n + r + 1, r));
        }
        let s = agg.snapshot(ms(3 * n), true);
        let e = &s.endpoints[0];
        assert_eq!(e.counts.succeeded, n);
        assert_eq!(e.requests.len(), recent::RECENT_REQUESTS);
        let oldest_kept = n - recent::RECENT_REQUESTS as u64;
        assert_eq!(e.requests[0].request, RequestId(oldest_kept));
        assert!(
            e.requests
                .iter()
                .all(|r| r.state == RequestState::Succeeded)
        );
        assert!(agg.in_flight.is_empty());
        assert_eq!(e.health, Health::Healthy);
    }

    #[test]
    fn first_tokens_show_their_ttft_before_any_request_ends() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, false));
        agg.apply(&sent(0, 0, 2, false));
        let headers = EventKind::Headers {
            status: 200,
            new_connection: false,
            connect_us: None,
            server_request_id: None,
            headers: Vec::new(),
        };
        agg.apply(&event(20, 0, 1, headers));
        agg.apply(&content(60, 1, "hi"));
        agg.apply(&content(90, 1, " there"));
        let latency = agg.snapshot(ms(100), false).endpoints[0].latency.clone();
        // The histograms keep three significant digits.
        let near = |s: Option<distribution::Summary>, ms: f64| {
            s.is_some_and(|s| s.count == 1 && (s.p50 - ms).abs() < ms / 100.0)
        };
        assert!(near(latency.ttfb_ms, 20.0), "{:?}", latency.ttfb_ms);
        assert!(near(latency.ttft_ms, 60.0), "{:?}", latency.ttft_ms);
        // The TTFT charts and sparklines have it in the second it arrived.
        let seconds = agg.snapshot(ms(100), false).endpoints[0]
            .recent_seconds
            .clone();
        assert_eq!(seconds.iter().map(|s| s.ttft_count).sum::<u32>(), 1);

        // A request that then fails counted while it streamed, never in the final figures.
        let failed = EventKind::Failed {
            class: ErrorClass::StreamCut,
            message: "cut".into(),
            status: None,
            bytes: 0,
        };
        agg.apply(&event(120, 0, 1, failed));
        agg.apply(&finished(130, 2));
        let last = agg.snapshot(ms(130), true).endpoints[0].latency.clone();
        assert_eq!(last.ttft_ms, None);
        assert_eq!(last.ttfb_ms.map(|s| s.count), Some(1));
    }

    fn in_lap(t: u64, endpoint: u16, request: u64) -> RaceEvent {
        let mut e = sent(t, endpoint, request, false);
        if let EventKind::Sent { lap, .. } = &mut e.kind {
            *lap = Some(0);
        }
        e
    }

    fn resent(t: u64, endpoint: u16, request: u64) -> RaceEvent {
        let lost = "connection_lost: closed".to_string();
        event(t, endpoint, request, EventKind::Resent { lost })
    }

    fn on(endpoint: u16, mut e: RaceEvent) -> RaceEvent {
        e.endpoint = EndpointId(endpoint);
        e
    }

    /// A request sent again counts from its second send everywhere: its TTFT, its lap, its
    /// counts (once); one cancelled before it went out again counts once, as cancelled.
    #[test]
    fn a_request_sent_again_counts_from_its_second_send() {
        let mut agg = aggregator();
        // Lap 0: `a` lost 500 ms on a dead connection, then answered in 20 ms; `b` in 100.
        agg.apply(&in_lap(0, 0, 1));
        agg.apply(&in_lap(0, 1, 2));
        agg.apply(&resent(500, 0, 1));
        let headers = EventKind::Headers {
            status: 200,
            new_connection: true,
            connect_us: Some(1000),
            server_request_id: None,
            headers: Vec::new(),
        };
        agg.apply(&event(510, 0, 1, headers));
        agg.apply(&on(1, content(100, 2, "b")));
        agg.apply(&on(1, finished(110, 2)));
        agg.apply(&content(520, 1, "a"));
        let record = agg.apply(&finished(530, 1)).unwrap();
        assert_eq!((record.ttft_ms, record.lost_ms), (Some(20.0), Some(500.0)));
        // Another of `a`'s is lost, and the race stops before it goes out again.
        agg.apply(&sent(600, 0, 3, false));
        agg.apply(&resent(700, 0, 3));
        let cancelled = agg.apply(&event(701, 0, 3, EventKind::Cancelled { bytes: 0 }));
        assert_eq!(
            cancelled.map(|r| r.outcome),
            Some(request::Outcome::Cancelled)
        );

        let s = agg.snapshot(ms(800), true);
        let a = &s.endpoints[0];
        assert_eq!(
            (a.counts.sent, a.counts.succeeded, a.counts.cancelled),
            (2, 1, 1)
        );
        let ttft = a.latency.ttft_ms.unwrap();
        assert!((ttft.p50 - 20.0).abs() < 0.2, "{ttft:?}");
        assert_eq!(
            (a.wins_first_token, s.endpoints[1].wins_first_token),
            (1, 0),
            "the lap counts `a` from its second send"
        );
    }

    #[test]
    fn live_ttft_keeps_every_first_token_until_the_ended_catch_up() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, false));
        agg.apply(&sent(0, 0, 2, false));
        agg.apply(&content(50, 1, "a"));
        agg.apply(&content(400, 2, "b"));
        let ttft = |agg: &mut Aggregator, t: u64| {
            agg.snapshot(ms(t), false).endpoints[0]
                .latency
                .ttft_ms
                .map(|s| (s.count, s.max.round()))
        };
        assert_eq!(ttft(&mut agg, 410), Some((2, 400.0)));
        // The fast request ends: showing it alone would drop the slow one's 400 ms meanwhile.
        agg.apply(&finished(420, 1));
        assert_eq!(ttft(&mut agg, 430), Some((2, 400.0)));
        agg.apply(&finished(500, 2));
        assert_eq!(ttft(&mut agg, 510), Some((2, 400.0)));
    }

    #[test]
    fn a_finished_snapshot_shows_ended_requests_only() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, false));
        agg.apply(&content(50, 1, "a"));
        // Stopped with the request still streaming: no stand-in in the final figures.
        let latency = agg.snapshot(ms(60), true).endpoints[0].latency.clone();
        assert_eq!(latency.ttft_ms, None);
        assert_eq!(latency.ttfb_ms, None);
    }

    #[test]
    fn the_window_starts_at_the_earliest_send_whatever_order_sends_arrive_in() {
        // Request 2 left first but its worker was slower to say so: a race's rebuild from its
        // records sorts them by time, so a live race must take the earliest send too.
        let mut agg = aggregator();
        agg.apply(&sent(30, 0, 1, false));
        agg.apply(&sent(10, 0, 2, false));
        agg.apply(&finished(100, 1));
        agg.apply(&finished(110, 2));
        let s = agg.snapshot(ms(110), true);
        assert!(
            (s.endpoints[0].rates.window_s - 0.1).abs() < 1e-9,
            "{}",
            s.endpoints[0].rates.window_s
        );
    }

    #[test]
    fn health_starts_warming_up() {
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 1, false));
        assert_eq!(
            agg.snapshot(ms(1), false).endpoints[0].health,
            Health::WarmingUp
        );
    }

    #[test]
    fn the_live_rate_of_a_race_younger_than_its_window_counts_only_the_seconds_run() {
        // 100 chunks a second for 3.5 s: the live rate is 100/s, not 30/s (three seconds'
        // chunks over a ten-second window).
        let mut agg = aggregator();
        agg.apply(&sent(0, 0, 0, false));
        for k in 1..350 {
            agg.apply(&content(k * 10, 0, "w"));
        }
        let live = agg.snapshot(ms(3_500), false).endpoints[0]
            .rates
            .live_output_tokens_per_s;
        assert!((90.0..=110.0).contains(&live), "{live}");
        // Nothing run yet: no rate, no division by zero.
        let mut agg = aggregator();
        let live = agg.snapshot(ms(0), false).endpoints[0]
            .rates
            .live_output_tokens_per_s;
        assert!(live.abs() < f64::EPSILON, "{live}");
    }
}
