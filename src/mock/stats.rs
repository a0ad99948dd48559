//! What the running mock counts about itself: connections, requests, injected faults, and how
//! late it wrote against its own schedule, so benchmarks can tell mock error from client error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::faults::Fault;

/// How many recent first-content records the mock keeps.
const RECENT: usize = 4096;
/// Lateness above this (µs) is recorded as this: a mock an hour late is broken anyway.
const MAX_LATENESS_US: u64 = 3_600_000_000;

/// A snapshot of the mock's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MockStats {
    pub connections_accepted: u64,
    /// Connections open right now (a client that gave up on a hang should bring this down).
    pub connections_open: u64,
    /// Every HTTP request, generation or not.
    pub requests: u64,
    pub faults_injected: u64,
    /// Faults injected so far, by kind; kinds never injected are left out.
    pub faults_by_kind: Vec<(Fault, u64)>,
    /// How late each scheduled write was handed to the connection, against its deadline.
    pub write_lateness: Lateness,
    /// The same for the first content of each response only (what TTFT measures).
    pub first_content_lateness: Lateness,
    /// How late each connection's close came after a stream, against its `close_after_stream`:
    /// a client judges how soon after its request the close came, so a late mock is named.
    pub close_lateness: Lateness,
    /// The most recent responses' first content, oldest first (at most 4096).
    pub recent: Vec<FirstContent>,
    /// When the first request of any kind arrived (wall clock), and the first generation:
    /// start-up benchmarks time a client from its exec to these.
    pub first_request_at: Option<SystemTime>,
    pub first_generation_at: Option<SystemTime>,
}

/// A lateness distribution, at microsecond resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lateness {
    pub samples: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// When one response's first content was due and when the mock handed it to the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirstContent {
    /// The request's sequence number: the `<n>` of its response id (`chatcmpl-mock-<n>`).
    pub request: u64,
    /// When the request reached the machine: the kernel's receive stamp of the read that
    /// completed its headers (that read's own instant where the kernel gives none). The
    /// schedule runs from here, so time the request waited for the mock to read it is the
    /// mock's (late if it misses `due`), never the client's.
    pub arrived: std::time::Instant,
    pub due: std::time::Instant,
    pub written: std::time::Instant,
}

/// The live counters, shared by every connection.
pub(crate) struct Counters {
    connections: AtomicU64,
    open: AtomicU64,
    requests: AtomicU64,
    /// Generations between arrival and their last byte (or abandonment).
    busy: AtomicU64,
    faults: [AtomicU64; Fault::ALL.len()],
    writes: Mutex<Option<Histogram<u64>>>,
    firsts: Mutex<Option<Histogram<u64>>>,
    closes: Mutex<Option<Histogram<u64>>>,
    recent: Mutex<VecDeque<FirstContent>>,
    /// The monotonic origin of the per-request times `GET /mock/stats` reports.
    started: Instant,
    first_request_at: OnceLock<SystemTime>,
    first_generation_at: OnceLock<SystemTime>,
    /// What `GET /metrics` reports besides: tokens held, prefix-cache lookups.
    pub(crate) load: super::metrics::Load,
    /// Tests only: the request bodies received.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) received: super::received::Received,
    /// Told whenever a request arrives or a fault is injected, for tests that wait for the
    /// mock to have seen their requests.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) counted: tokio::sync::Notify,
}

/// One generation in progress, counted until dropped (with its response or its task), and
/// the KV-cache tokens it holds until then.
pub(crate) struct Busy(Arc<Counters>, u64);

impl Busy {
    /// Holds `tokens` more of the mock's KV cache until this generation ends.
    pub(crate) fn hold(&mut self, tokens: u64) {
        self.0.load.hold(tokens);
        self.1 += tokens;
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::Relaxed);
        self.0.load.release(self.1);
    }
}

/// One open connection, counted until dropped.
pub(crate) struct OpenConnection(Arc<Counters>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

fn histogram() -> Option<Histogram<u64>> {
    Histogram::new_with_max(MAX_LATENESS_US, 2).ok()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn record(h: &Mutex<Option<Histogram<u64>>>, late: Duration) {
    let mut h = h.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(h) = h.as_mut() {
        h.saturating_record(micros(late).min(MAX_LATENESS_US));
    }
}

fn summarise(h: &Mutex<Option<Histogram<u64>>>) -> Lateness {
    let h = h.lock().unwrap_or_else(PoisonError::into_inner);
    match h.as_ref() {
        Some(h) if !h.is_empty() => Lateness {
            samples: h.len(),
            p50: Duration::from_micros(h.value_at_quantile(0.5)),
            p99: Duration::from_micros(h.value_at_quantile(0.99)),
            max: Duration::from_micros(h.max()),
        },
        _ => Lateness::default(),
    }
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            connections: AtomicU64::new(0),
            open: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            busy: AtomicU64::new(0),
            faults: std::array::from_fn(|_| AtomicU64::new(0)),
            writes: Mutex::new(histogram()),
            firsts: Mutex::new(histogram()),
            closes: Mutex::new(histogram()),
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            started: Instant::now(),
            first_request_at: OnceLock::new(),
            first_generation_at: OnceLock::new(),
            load: super::metrics::Load::default(),
            #[cfg(any(test, feature = "test-support"))]
            received: super::received::Received::default(),
            #[cfg(any(test, feature = "test-support"))]
            counted: tokio::sync::Notify::new(),
        }
    }

    /// Counts a connection; it stays open until the returned guard is dropped, which also
    /// happens when its task is aborted.
    pub(crate) fn connection_accepted(self: &Arc<Self>) -> OpenConnection {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenConnection(Arc::clone(self))
    }

    /// Counts a generation in progress; returns its guard and how many others were already
    /// in progress, which is what a load-dependent profile slows down by.
    pub(crate) fn generation_started(self: &Arc<Self>) -> (Busy, u64) {
        let others = self.busy.fetch_add(1, Ordering::Relaxed);
        (Busy(Arc::clone(self), 0), others)
    }

    /// Generations in progress now.
    pub(crate) fn in_progress(&self) -> u64 {
        self.busy.load(Ordering::Relaxed)
    }

    /// Counts a request and returns its sequence number, from 1.
    pub(crate) fn request_arrived(&self) -> u64 {
        let seq = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if seq == 1 {
            let _ = self.first_request_at.set(SystemTime::now());
        }
        #[cfg(any(test, feature = "test-support"))]
        self.counted.notify_waiters();
        seq
    }

    /// Notes the first generation request's arrival (later calls cost one atomic load).
    pub(crate) fn generation_arrived(&self) {
        if self.first_generation_at.get().is_none() {
            let _ = self.first_generation_at.set(SystemTime::now());
        }
    }

    pub(crate) fn fault_injected(&self, fault: Fault) {
        self.faults[fault.index()].fetch_add(1, Ordering::Relaxed);
        #[cfg(any(test, feature = "test-support"))]
        self.counted.notify_waiters();
    }

    pub(crate) fn write_late(&self, late: Duration) {
        record(&self.writes, late);
    }

    pub(crate) fn close_late(&self, late: Duration) {
        record(&self.closes, late);
    }

    pub(crate) fn first_content(&self, first: FirstContent) {
        record(
            &self.firsts,
            first.written.saturating_duration_since(first.due),
        );
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(first);
    }

    pub(crate) fn snapshot(&self) -> MockStats {
        let faults_by_kind: Vec<(Fault, u64)> = Fault::ALL
            .into_iter()
            .map(|f| (f, self.faults[f.index()].load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        MockStats {
            connections_accepted: self.connections.load(Ordering::Relaxed),
            connections_open: self.open.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
            faults_injected: faults_by_kind.iter().map(|(_, n)| n).sum(),
            faults_by_kind,
            write_lateness: summarise(&self.writes),
            first_content_lateness: summarise(&self.firsts),
            close_lateness: summarise(&self.closes),
            recent: self
                .recent
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .copied()
                .collect(),
            first_request_at: self.first_request_at.get().copied(),
            first_generation_at: self.first_generation_at.get().copied(),
        }
    }

    /// The counters as JSON for `GET /mock/stats`: lateness in µs, per-request times in µs
    /// since the mock started (one monotonic clock, so they subtract exactly), first arrivals
    /// in µs since the Unix epoch (to compare with another process's wall clock).
    pub(crate) fn report(&self) -> Value {
        let s = self.snapshot();
        let since_start = |t: Instant| micros(t.saturating_duration_since(self.started));
        let unix = |t: Option<SystemTime>| {
            t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(micros)
        };
        let lateness = |l: Lateness| {
            json!({
                "samples": l.samples,
                "p50": micros(l.p50),
                "p99": micros(l.p99),
                "max": micros(l.max),
            })
        };
        let recent: Vec<Value> = s
            .recent
            .iter()
            .map(|r| {
                json!({
                    "request": r.request,
                    "arrived_us": since_start(r.arrived),
                    "due_us": since_start(r.due),
                    "written_us": since_start(r.written),
                })
            })
            .collect();
        json!({
            "connections_accepted": s.connections_accepted,
            "connections_open": s.connections_open,
            "requests": s.requests,
            "faults_injected": s.faults_injected,
            "write_lateness_us": lateness(s.write_lateness),
            "first_content_lateness_us": lateness(s.first_content_lateness),
            "first_request_unix_us": unix(s.first_request_at),
            "first_generation_unix_us": unix(s.first_generation_at),
            "recent": recent,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn counts_and_summarises() {
        let c = Counters::new();
        assert_eq!(c.request_arrived(), 1);
        assert_eq!(c.request_arrived(), 2);
        c.fault_injected(Fault::Huge);
        c.fault_injected(Fault::Huge);
        for us in [100, 200, 300] {
            c.write_late(Duration::from_micros(us));
        }
        let s = c.snapshot();
        assert_eq!(s.requests, 2);
        assert_eq!(s.faults_injected, 2);
        assert_eq!(s.faults_by_kind, vec![(Fault::Huge, 2)]);
        assert_eq!(s.write_lateness.samples, 3);
        assert!(s.write_lateness.max >= Duration::from_micros(299));
        assert_eq!(s.first_content_lateness, Lateness::default());
        assert!(s.first_request_at.is_some());
        assert!(s.first_generation_at.is_none());
    }

    #[test]
    fn reports_per_request_times_on_one_clock() {
        let c = Counters::new();
        c.generation_arrived();
        let arrived = c.started + Duration::from_millis(5);
        c.first_content(FirstContent {
            request: 7,
            arrived,
            due: arrived + Duration::from_millis(200),
            written: arrived + Duration::from_micros(200_150),
        });
        let r = c.report();
        let first = &r["recent"][0];
        assert_eq!(first["request"], 7);
        assert_eq!(first["arrived_us"], 5_000);
        assert_eq!(first["due_us"], 205_000);
        assert_eq!(first["written_us"], 205_150);
        assert_eq!(r["first_content_lateness_us"]["samples"], 1);
        assert!(r["first_request_unix_us"].is_null());
        assert!(r["first_generation_unix_us"].as_u64().unwrap() > 1_700_000_000_000_000);
    }
}
