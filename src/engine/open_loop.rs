//! The open loop: requests leave at scheduled times (a rate's, a ramp's, or a replayed trace's),
//! however many are still in flight, each on an idle connection from its endpoint's pool or on
//! a new one. How late each one left (its lag) goes into its `Sent` event, so a client that
//! falls behind its schedule shows it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{Barrier, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::attempts::run_attempts;
use super::connection::Connection;
use super::pacer::Pacer;
use super::request::{Payload, RequestContext, SendTag};
use super::schedule::{LoadShape, Schedule, trace_schedule};
use super::senders::{Shared, Worker, synchronized_start};
use super::session::run_session;
use super::target::Target;
use crate::config::Shard;
use crate::event::Offset;

/// How an open-loop race sends.
#[derive(Clone, Copy, Debug)]
pub struct OpenLoop {
    pub shape: LoadShape,
    /// Requests in flight per endpoint at most; a request due while this many are in flight
    /// waits for one to end (and its lag grows). `None`: no cap.
    pub max_in_flight: Option<u32>,
    /// The Poisson schedule's seed; each endpoint draws from its own seed derived from it.
    pub seed: u64,
}

/// How a trace is replayed: an open loop whose schedule is the trace's times.
#[derive(Clone, Copy, Debug)]
pub struct TraceLoop {
    /// How many times faster than the trace (2: twice as fast).
    pub speed: f64,
    /// Requests in flight per endpoint at most, as [`OpenLoop::max_in_flight`].
    pub max_in_flight: Option<u32>,
}

/// Where the send times come from.
#[derive(Clone, Copy, Debug)]
enum Timetable {
    /// A rate or ramp with its arrivals, and the race's arrival seed.
    Shape(LoadShape, u64),
    /// The targets' trace times, at this speed.
    Trace(f64),
}

/// Runs an open-loop race: one dispatcher per endpoint sends at the scheduled times until the
/// limits are reached or the race is stopped. The workers' (warmed) connections seed each
/// endpoint's pool of idle connections. Returns when every request has ended.
pub(super) async fn run_open(workers: Vec<Worker>, open: OpenLoop, shared: Shared) {
    let timetable = Timetable::Shape(open.shape, open.seed);
    run_scheduled(workers, timetable, open.max_in_flight, shared).await;
}

/// Replays a trace: every endpoint sends prompt `i` at the trace's time `i` (at its speed),
/// as the open loop sends, until the trace or the limits end or the race is stopped.
pub(super) async fn run_trace(workers: Vec<Worker>, trace: TraceLoop, shared: Shared) {
    let timetable = Timetable::Trace(trace.speed);
    run_scheduled(workers, timetable, trace.max_in_flight, shared).await;
}

async fn run_scheduled(
    workers: Vec<Worker>,
    timetable: Timetable,
    max_in_flight: Option<u32>,
    shared: Shared,
) {
    let mut pools: BTreeMap<u16, (Arc<Target>, Vec<Connection>)> = BTreeMap::new();
    for worker in workers {
        pools
            .entry(worker.target.id.0)
            .or_insert_with(|| (Arc::clone(&worker.target), Vec::new()))
            .1
            .push(worker.connection);
    }
    let shared = Arc::new(Shared {
        start: Barrier::new(pools.len()),
        ..shared
    });
    let mut tasks = JoinSet::new();
    for (target, connections) in pools.into_values() {
        tasks.spawn(dispatch(
            target,
            connections,
            timetable,
            max_in_flight,
            Arc::clone(&shared),
        ));
    }
    while tasks.join_next().await.is_some() {}
}

/// Idle connections of one endpoint. A channel, so a finished request hands its connection
/// back without a lock.
struct Pool {
    idle_tx: mpsc::UnboundedSender<Connection>,
    idle_rx: mpsc::UnboundedReceiver<Connection>,
    /// A template for new connections to the endpoint's origin.
    template: Connection,
}

impl Pool {
    fn new(connections: Vec<Connection>) -> Option<Pool> {
        let template = connections.first()?.fresh();
        let (idle_tx, idle_rx) = mpsc::unbounded_channel();
        for connection in connections {
            let _ = idle_tx.send(connection);
        }
        Some(Pool {
            idle_tx,
            idle_rx,
            template,
        })
    }

    /// An idle connection, or a new one (which connects when used, and says so) if none is.
    fn take(&mut self) -> Connection {
        self.idle_rx
            .try_recv()
            .unwrap_or_else(|_| self.template.fresh())
    }
}

async fn dispatch(
    target: Arc<Target>,
    connections: Vec<Connection>,
    timetable: Timetable,
    max_in_flight: Option<u32>,
    shared: Arc<Shared>,
) {
    let Some(mut pool) = Pool::new(connections) else {
        synchronized_start(&shared).await;
        return;
    };
    let Some(sequence) = shared.sequences.get(usize::from(target.id.0)) else {
        synchronized_start(&shared).await;
        return;
    };
    let stop = shared.controls.stop_sending.clone();
    let exhausted = shared
        .exhausted
        .get(usize::from(target.id.0))
        .cloned()
        .unwrap_or_default();
    // Warm-up requests go one at a time before the start, as in the closed loop.
    let warmups = u64::from(shared.limits.warmup_requests);
    for _ in 0..warmups {
        if stop.is_cancelled() {
            break;
        }
        let seq = sequence.fetch_add(1, Ordering::AcqRel);
        let mut connection = pool.take();
        send(&shared, &target, &mut connection, seq, true, None).await;
        let _ = pool.idle_tx.send(connection);
    }
    if !synchronized_start(&shared).await {
        return;
    }
    let start = shared.clock.now();
    let offsets = offsets(timetable, &target, shared.limits.shard);
    let cap =
        max_in_flight.map(|n| Arc::new(Semaphore::new(usize::try_from(n).unwrap_or(usize::MAX))));
    let mut in_flight = JoinSet::new();
    // Sends leave on time to the tens of microseconds, not on tokio's millisecond ticks.
    let pacer = Pacer::start();
    // Time spent paused moves the rest of the schedule later: resuming continues the schedule
    // rather than firing every request that fell due while paused at once.
    let mut paused_for = Duration::ZERO;
    for (sent, offset) in (0_u64..).zip(offsets) {
        // Sessions reserve their turns from the limit, and exhaust the endpoint at it.
        let limit = shared.limits.requests.filter(|_| shared.sessions.is_none());
        if limit.is_some_and(|limit| sent >= limit) || exhausted.is_cancelled() {
            break;
        }
        let scheduled = Offset::from_duration(start.as_duration() + offset + paused_for);
        let due = shared.clock.instant_at(scheduled);
        let wait = async {
            match &pacer {
                Some(pacer) => pacer.until(due).await,
                None => tokio::time::sleep_until(due.into()).await,
            }
        };
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            () = exhausted.cancelled() => break,
            () = wait => {}
        }
        if shared.controls.is_paused() {
            let since = shared.clock.now();
            if !super::controls::wait_while_paused(&shared.controls.paused, &stop).await {
                break;
            }
            paused_for += shared.clock.now().since(since);
        } else if stop.is_cancelled() {
            break;
        }
        // The request that met the pause is due when it ends: its lag counts from the resume.
        let scheduled = Offset::from_duration(start.as_duration() + offset + paused_for);
        let permit = match &cap {
            Some(cap) => tokio::select! {
                biased;
                () = stop.cancelled() => break,
                permit = Arc::clone(cap).acquire_owned() => permit.ok(),
            },
            None => None,
        };
        let seq = sequence.fetch_add(1, Ordering::AcqRel);
        let mut connection = pool.take();
        let idle = pool.idle_tx.clone();
        let shared = Arc::clone(&shared);
        let target = Arc::clone(&target);
        in_flight.spawn(async move {
            let due = Offset::from_duration(offset);
            send(
                &shared,
                &target,
                &mut connection,
                seq,
                false,
                Some((scheduled, due)),
            )
            .await;
            let _ = idle.send(connection);
            drop(permit);
        });
        // Reaps what ended, so a long race does not keep a handle per request.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// The send offsets of `target`'s requests: the rate's or the trace's, a shard's share of them.
fn offsets(
    timetable: Timetable,
    target: &Target,
    shard: Option<Shard>,
) -> Box<dyn Iterator<Item = Duration> + Send + '_> {
    match timetable {
        Timetable::Shape(shape, seed) => Box::new(Schedule::sharded(
            shape,
            super::schedule::endpoint_seed(seed, target.id.0),
            shard,
        )),
        // A shard replays the trace's rows it owns, at their times.
        Timetable::Trace(speed) => {
            let rows = trace_schedule(target.trace_times(), speed);
            match shard {
                Some(shard) => Box::new(
                    rows.skip(usize::try_from(shard.index).unwrap_or(usize::MAX))
                        .step_by(usize::try_from(shard.count).unwrap_or(1)),
                ),
                None => Box::new(rows),
            }
        }
    }
}

async fn send(
    shared: &Shared,
    target: &Target,
    connection: &mut Connection,
    seq: u64,
    warmup: bool,
    scheduled: Option<(Offset, Offset)>,
) {
    let ctx = RequestContext {
        clock: &shared.clock,
        events: &shared.events,
        timeouts: &shared.timeouts,
        abort: &shared.controls.abort,
    };
    let prompt = target.prompt_for(shared.ordinal(seq));
    let tag = SendTag {
        warmup,
        scheduled: scheduled.map(|(at, _)| at),
        due: scheduled.map(|(_, due)| due),
        ..SendTag::default()
    };
    // `--rate` starts sessions; each keeps the connection it started on.
    if shared.sessions.is_some() && !warmup {
        let number = shared.ordinal(seq) - u64::from(shared.limits.warmup_requests);
        let attempts = shared.attempts();
        let session = (prompt, number);
        run_session(shared, &ctx, connection, target, session, tag, &attempts).await;
        return;
    }
    let payload = Payload::of(target, prompt);
    run_attempts(&ctx, connection, target, &payload, tag, &shared.attempts()).await;
}
