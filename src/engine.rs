//! The race engine: workers that send the workload to every endpoint at once and report what
//! happens as events. It owns no statistics and knows nothing of views; it only sends.

mod attempts;
pub mod connection;
mod controls;
mod deadlines;
mod laps;
mod open_loop;
mod pacer;
mod read_note;
pub mod reconnect;
pub mod request;
mod response_head;
pub mod retry;
pub mod schedule;
pub mod scrape;
mod senders;
mod session;
mod session_plan;
pub mod target;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Barrier;
use tokio_util::sync::CancellationToken;

use crate::clock::RaceClock;
use crate::config::{RaceConfig, Timeouts};
use crate::pace::ConcurrencyRamp;
use attempts::run_attempts;
use connection::{Connection, Tls};
pub use controls::Controls;
use controls::wait_while_paused;
use laps::run_laps;
pub use open_loop::{OpenLoop, TraceLoop};
use open_loop::{run_open, run_trace};
pub use request::EventSender;
use request::{Payload, RequestContext, SendTag};
pub use senders::{Limits, Worker};
use senders::{Shared, synchronized_start};
use session::run_session;
pub use session_plan::Sessions;
pub use target::{Target, TargetError, TargetSpec};

/// How requests are paced.
#[derive(Clone, Copy, Debug)]
pub enum Pacing {
    /// Each worker sends its next request when its last one ends; with a ramp, the number of
    /// workers allowed to send follows it.
    Closed(Option<ConcurrencyRamp>),
    /// Requests leave on a schedule, however many are in flight.
    Open(OpenLoop),
    /// Head-to-head laps.
    Laps,
    /// A trace replayed: each prompt leaves at its time in the trace, at this speed, however
    /// many are in flight (an open loop whose schedule is the trace's).
    Trace(TraceLoop),
}

/// Everything the engine needs to know about the load of a race.
#[derive(Clone, Debug)]
pub struct Plan {
    pub pacing: Pacing,
    pub limits: Limits,
    /// Retries of an attempt that failed with 429 or 503, at most.
    pub retries: u32,
    /// Multi-turn sessions (turns > 1); the load shapes then count sessions.
    pub sessions: Option<Sessions>,
}

impl Plan {
    /// The plan of a resolved race.
    pub fn of(config: &RaceConfig) -> Plan {
        let load = &config.load;
        let shard = config.shard;
        // A shard's share of the in-flight cap, as of a closed loop's workers.
        let max_in_flight = load
            .max_in_flight
            .map(|cap| shard.map_or(cap, |s| s.slots(cap)));
        let seed = load.arrival_seed.unwrap_or(config.workload.seed);
        let pacing = match load.open_loop() {
            _ if load.trace_speed.is_some() => Pacing::Trace(TraceLoop {
                speed: load.trace_speed.unwrap_or(1.0),
                max_in_flight,
            }),
            Some(shape) => Pacing::Open(OpenLoop {
                shape,
                max_in_flight,
                seed: shard.map_or(seed, |s| s.seed(seed)),
            }),
            None if load.laps => Pacing::Laps,
            None => Pacing::Closed(load.concurrency_ramp),
        };
        Plan {
            pacing,
            limits: Limits {
                requests: load
                    .requests
                    .map(|n| shard.map_or(n, |s| s.requests(n, config.workload.turns))),
                duration: load.duration,
                warmup_requests: load.warmup_requests,
                shard,
            },
            retries: load.retries,
            sessions: (config.workload.turns > 1).then_some(Sessions {
                turns: config.workload.turns,
                think_time: config.workload.think_time,
                seed: config.workload.seed,
            }),
        }
    }
}

/// Runs the race as `plan` says until its limits are reached or it is stopped; every event
/// goes to `events`. Returns when every request has ended, with when the first measured
/// request was handed to be sent and when it was due (none if none was).
pub async fn drive(
    workers: Vec<Worker>,
    plan: Plan,
    timeouts: Timeouts,
    clock: RaceClock,
    events: EventSender,
    controls: Controls,
) -> Option<(crate::event::Offset, crate::event::Offset)> {
    let Plan {
        pacing,
        limits,
        retries,
        sessions,
    } = plan;
    let endpoints = workers
        .iter()
        .map(|w| usize::from(w.target.id.0) + 1)
        .max()
        .unwrap_or(0);
    let shared = Shared {
        limits,
        timeouts,
        clock,
        events,
        controls,
        next_request: AtomicU64::new(0),
        start: Barrier::new(0),
        sequences: (0..endpoints).map(|_| AtomicU64::new(0)).collect(),
        exhausted: (0..endpoints).map(|_| CancellationToken::new()).collect(),
        ramp: None,
        retries,
        sessions,
        next_session: AtomicU64::new(0),
        turns_taken: (0..endpoints).map(|_| AtomicU64::new(0)).collect(),
        first_measured: Arc::default(),
    };
    let first_measured = Arc::clone(&shared.first_measured);
    match pacing {
        Pacing::Closed(ramp) => run_closed(workers, Shared { ramp, ..shared }).await,
        Pacing::Open(open) => run_open(workers, open, shared).await,
        Pacing::Laps => run_laps(workers, shared).await,
        Pacing::Trace(trace) => run_trace(workers, trace, shared).await,
    }
    first_measured.get().copied()
}

/// What warming a connection found.
#[derive(Debug)]
pub struct WarmupProblem {
    pub endpoint: String,
    pub message: String,
}

/// Builds `concurrency` workers per target, each with its own connection (opened later).
/// Fails only when TLS is needed and the trusted certificates cannot be had (see [`Tls::new`]).
pub fn workers(targets: &[Arc<Target>], timeouts: &Timeouts) -> Result<Vec<Worker>, String> {
    let tls = if targets.iter().any(|t| t.origin().https) {
        Some(Tls::new()?)
    } else {
        None
    };
    let mut workers = Vec::new();
    for target in targets {
        // Copies of one connection: with HTTP/2 they share its endpoint's connections.
        let template = Connection::new(Arc::clone(target.origin()), tls.clone(), timeouts.connect)
            .speaking(target.http);
        for slot in 0..target.concurrency {
            workers.push(Worker {
                slot,
                target: Arc::clone(target),
                connection: template.fresh(),
            });
        }
    }
    Ok(workers)
}

/// Opens every worker's connection before the start, so no measured request pays for
/// connecting by accident. Returns one problem per endpoint that could not be reached.
pub async fn warm_connections(workers: &mut [Worker], timeouts: &Timeouts) -> Vec<WarmupProblem> {
    let limit = warming_limit(timeouts);
    let attempts = workers.iter_mut().map(|w| async move {
        let warm = async {
            w.connection.ready().await?;
            let mut body = w
                .connection
                .send(w.target.warmup_request())
                .await?
                .into_body();
            // Reading the whole answer leaves the connection idle, ready for the race.
            w.connection.read_to_end(&mut body).await;
            Ok::<(), connection::ConnectFailure>(())
        };
        match tokio::time::timeout(limit, warm).await {
            Ok(Ok(())) => None,
            Ok(Err((_, message))) => Some((w.target.name.clone(), message)),
            Err(_) => Some((w.target.name.clone(), warming_timed_out(limit))),
        }
    });
    let mut problems: Vec<WarmupProblem> = Vec::new();
    for (endpoint, message) in futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .flatten()
    {
        if !problems.iter().any(|p| p.endpoint == endpoint) {
            problems.push(WarmupProblem { endpoint, message });
        }
    }
    problems
}

/// The HTTP each endpoint's opened connections speak ("1.1" or "2"), by endpoint id, from the
/// first of its workers whose connection is open.
pub fn http_versions(workers: &[Worker]) -> Vec<(crate::event::EndpointId, &'static str)> {
    let mut versions: Vec<(crate::event::EndpointId, &'static str)> = Vec::new();
    for w in workers {
        if let Some(version) = w.connection.http_version()
            && !versions.iter().any(|(id, _)| *id == w.target.id)
        {
            versions.push((w.target.id, version));
        }
    }
    versions
}

/// How long warming a connection may take: connecting, and a first answer (at most 10 s of it).
pub fn warming_limit(timeouts: &Timeouts) -> Duration {
    timeouts.connect + timeouts.first_token.min(Duration::from_secs(10))
}

/// Why a connection was not warm in time, with the settings that decide how long that is.
fn warming_timed_out(limit: Duration) -> String {
    format!(
        "no answer within {} s (the connect timeout plus at most 10 s of the first-token \
         timeout: --connect-timeout and --first-token-timeout, or [timeouts] connect and \
         first_token; --no-warm-connections skips warming)",
        limit.as_secs_f64()
    )
}

/// The closed loop, with an optional concurrency ramp over the workers.
async fn run_closed(workers: Vec<Worker>, shared: Shared) {
    let shared = Arc::new(Shared {
        start: Barrier::new(workers.len()),
        ..shared
    });
    let mut tasks = tokio::task::JoinSet::new();
    for mut worker in workers {
        // A shard's workers are the race's slots it owns, so a ramp reaches them in turn.
        if let Some(shard) = shared.limits.shard {
            worker.slot = shard.slot(worker.slot);
        }
        tasks.spawn(worker_loop(worker, Arc::clone(&shared)));
    }
    while tasks.join_next().await.is_some() {}
}

async fn worker_loop(mut worker: Worker, shared: Arc<Shared>) {
    let ctx = RequestContext {
        clock: &shared.clock,
        events: &shared.events,
        timeouts: &shared.timeouts,
        abort: &shared.controls.abort,
    };
    let stop = &shared.controls.stop_sending;
    let endpoint = usize::from(worker.target.id.0);
    let (Some(sequence), Some(exhausted)) = (
        shared.sequences.get(endpoint),
        shared.exhausted.get(endpoint),
    ) else {
        return;
    };
    let warmups = u64::from(shared.limits.warmup_requests);
    // Sessions reserve their turns from the limit instead (`Shared::reserve_session`).
    let limit = (shared.sessions.is_none())
        .then_some(shared.limits.requests)
        .flatten()
        .map(|n| n + warmups);
    let attempts = shared.attempts();
    let mut send = async |seq: u64| {
        let prompt = worker.target.prompt_for(shared.ordinal(seq));
        let tag = SendTag {
            warmup: seq < warmups,
            ..SendTag::default()
        };
        // A worker runs whole sessions: -c counts sessions at a time. Warm-ups stay single.
        if shared.sessions.is_some() && !tag.warmup {
            let session = (prompt, shared.ordinal(seq) - warmups);
            let connection = &mut worker.connection;
            let target = &worker.target;
            run_session(&shared, &ctx, connection, target, session, tag, &attempts).await;
            return;
        }
        let payload = Payload::of(&worker.target, prompt);
        run_attempts(
            &ctx,
            &mut worker.connection,
            &worker.target,
            &payload,
            tag,
            &attempts,
        )
        .await;
    };
    // Warm-up prompts are taken only while some are left, so that no worker holds a measured
    // prompt while it waits at the start (or for its turn on a rising ramp).
    while let Ok(seq) = sequence.fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
        (s < warmups).then_some(s + 1)
    }) {
        if !wait_while_paused(&shared.controls.paused, stop).await {
            break;
        }
        send(seq).await;
    }
    // Every worker arrives at the start, or the others would wait for ever.
    if !synchronized_start(&shared).await {
        return;
    }
    // The ramp's time counts from the start, and stands still while the race is paused.
    let start = RampStart {
        at: shared.clock.now(),
        paused: shared
            .controls
            .pause_clock
            .borrow()
            .paused_for(std::time::Instant::now()),
    };
    let mut backoff = reconnect::Reconnect::default();
    loop {
        // A worker waits for its turn before taking a prompt, so none is held by a worker a
        // rising ramp has not reached yet, nor lost with one a falling ramp retires.
        if stop.is_cancelled()
            || exhausted.is_cancelled()
            || !wait_for_turn(&shared, worker.slot, start, exhausted).await
        {
            break;
        }
        let seq = sequence.fetch_add(1, Ordering::AcqRel);
        if limit.is_some_and(|limit| seq >= limit) {
            exhausted.cancel();
            break;
        }
        if !wait_while_paused(&shared.controls.paused, stop).await {
            break;
        }
        send(seq).await;
        // A request that could not connect: wait before the next, or a dead port is hammered.
        if let Some(wait) = backoff.after(attempts.unreached.load(Ordering::Relaxed)) {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                () = exhausted.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

/// When a closed loop's ramp began, and how long the race had been paused by then.
#[derive(Clone, Copy)]
struct RampStart {
    at: crate::event::Offset,
    paused: Duration,
}

/// Waits until the concurrency ramp lets worker `slot` send: `false` when it never will again
/// (retired by a falling ramp), or the race stopped or its endpoint ran out of requests
/// (`exhausted`) first. Without a ramp, at once. Time spent paused does not move the ramp.
async fn wait_for_turn(
    shared: &Shared,
    slot: u32,
    start: RampStart,
    exhausted: &CancellationToken,
) -> bool {
    let Some(ramp) = shared.ramp else {
        return true;
    };
    let controls = &shared.controls;
    let stop = &controls.stop_sending;
    let mut pauses = controls.pause_clock.subscribe();
    loop {
        if !wait_while_paused(&controls.paused, stop).await {
            return false;
        }
        let paused = pauses
            .borrow_and_update()
            .paused_for(std::time::Instant::now());
        let elapsed = shared
            .clock
            .now()
            .since(start.at)
            .saturating_sub(paused.saturating_sub(start.paused));
        let Some(turn) = ramp.turn(slot, elapsed) else {
            return false;
        };
        let wait = turn.saturating_sub(elapsed);
        if wait.is_zero() {
            return true;
        }
        let due = tokio::time::Instant::now() + wait;
        tokio::select! {
            biased;
            () = stop.cancelled() => return false,
            () = exhausted.cancelled() => return false,
            // Paused while waiting: the turn moves later by however long the pause lasts.
            changed = pauses.changed() => {
                if changed.is_err() {
                    return false;
                }
            }
            () = tokio::time::sleep_until(due) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_not_warm_in_time_names_the_limit_and_its_settings() {
        let timeouts = Timeouts {
            connect: Duration::from_secs(2),
            first_token: Duration::from_secs(60),
            ..Timeouts::default()
        };
        let message = warming_timed_out(warming_limit(&timeouts));
        for part in [
            "12 s",
            "--connect-timeout",
            "--first-token-timeout",
            "[timeouts]",
        ] {
            assert!(message.contains(part), "{part}: {message}");
        }
    }

    #[test]
    fn a_trace_is_replayed_at_its_speed_with_its_cap() {
        let mut race = crate::config::demo_race();
        race.load.trace_speed = Some(2.0);
        race.load.max_in_flight = Some(3);
        let Pacing::Trace(trace) = Plan::of(&race).pacing else {
            panic!("a trace replay");
        };
        assert!((trace.speed - 2.0).abs() < f64::EPSILON);
        assert_eq!(trace.max_in_flight, Some(3));
    }

    #[test]
    fn a_shards_plan_is_its_share_of_the_race() {
        let mut race = crate::config::demo_race();
        race.load.requests = Some(10);
        race.load.rate = Some("8/s".parse().expect("a rate"));
        race.load.arrivals = crate::pace::Arrivals::Poisson;
        race.load.max_in_flight = Some(6);
        race.workload.seed = 9;
        let shard = crate::config::Shard { index: 1, count: 4 };
        race.shard = Some(shard);
        let plan = Plan::of(&race);
        // Ordinals 1, 5 and 9 of 10; 2 of the 6 in flight (6 = 2 + 2 + 1 + 1).
        assert_eq!(plan.limits.requests, Some(3));
        assert_eq!(plan.limits.shard, Some(shard));
        let Pacing::Open(open) = plan.pacing else {
            panic!("an open loop");
        };
        assert_eq!(open.max_in_flight, Some(2));
        assert_eq!(open.seed, shard.seed(9));
        assert_ne!(open.seed, 9);
    }

    #[test]
    fn the_plan_follows_the_races_load_and_seed() {
        let mut race = crate::config::demo_race();
        race.load.retries = 2;
        let plan = Plan::of(&race);
        assert!(matches!(plan.pacing, Pacing::Closed(None)));
        assert_eq!(plan.retries, 2);

        let ramp: ConcurrencyRamp = "1..8:10s".parse().expect("a ramp");
        race.load.concurrency_ramp = Some(ramp);
        assert!(matches!(Plan::of(&race).pacing, Pacing::Closed(Some(r)) if r == ramp));

        race.load.concurrency_ramp = None;
        race.load.rate = Some("5/s".parse().expect("a rate"));
        race.load.arrivals = crate::pace::Arrivals::Poisson;
        race.workload.seed = 9;
        let Pacing::Open(open) = Plan::of(&race).pacing else {
            panic!("an open loop");
        };
        // The workload's seed drives the arrivals (the config layer records it as well).
        assert_eq!(open.seed, 9);
        race.load.arrival_seed = Some(4);
        let Pacing::Open(open) = Plan::of(&race).pacing else {
            panic!("an open loop");
        };
        assert_eq!(open.seed, 4);
    }
}
