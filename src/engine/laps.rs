//! Head-to-head laps: each prompt goes to every endpoint at the same instant, and the next lap
//! starts only when every endpoint has finished the last one. Each `Sent` carries its lap, so
//! the aggregator can tell who won each lap from the events alone.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::attempts::run_attempts;
use super::connection::Connection;
use super::controls::wait_while_paused;
use super::request::{Payload, RequestContext, SendTag};
use super::senders::{Shared, Worker, arm_duration_limit};
use super::target::Target;

/// Runs laps until the request count (laps, per endpoint) or the duration is reached, or the
/// race is stopped. One connection per endpoint: the first of its workers'.
pub(super) async fn run_laps(workers: Vec<Worker>, shared: Shared) {
    let mut lanes: BTreeMap<u16, (Arc<Target>, Connection)> = BTreeMap::new();
    for worker in workers {
        lanes
            .entry(worker.target.id.0)
            .or_insert((worker.target, worker.connection));
    }
    let mut lanes: Vec<(Arc<Target>, Connection)> = lanes.into_values().collect();
    let Shared {
        limits, controls, ..
    } = &shared;
    let ctx = RequestContext {
        clock: &shared.clock,
        events: &shared.events,
        timeouts: &shared.timeouts,
        abort: &controls.abort,
    };
    let attempts = shared.attempts();
    let stop = &controls.stop_sending;
    let warmups = u64::from(limits.warmup_requests);
    for seq in 0_u64.. {
        let measured = seq.checked_sub(warmups);
        if measured.is_some_and(|lap| limits.requests.is_some_and(|limit| lap >= limit)) {
            break;
        }
        if measured == Some(0)
            && let Some(duration) = limits.duration
        {
            arm_duration_limit(duration, stop.clone());
        }
        if !wait_while_paused(&controls.paused, stop).await {
            break;
        }
        let tag = SendTag {
            warmup: measured.is_none(),
            lap: measured.map(|lap| u32::try_from(lap).unwrap_or(u32::MAX)),
            ..SendTag::default()
        };
        let (ctx, attempts) = (&ctx, &attempts);
        let lap = lanes.iter_mut().map(|(target, connection)| {
            let payload = Payload::of(target, target.prompt_for(seq));
            async move { run_attempts(ctx, connection, target, &payload, tag, attempts).await }
        });
        futures_util::future::join_all(lap.collect::<Vec<_>>()).await;
    }
}
