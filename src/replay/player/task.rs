//! The playback task: moves a [`Player`] on with real time about 30 times a second, carries out
//! the dashboard's commands and publishes a snapshot when something changed. Paused or at the
//! end it stops ticking, so an idle replay costs nothing and the dashboard draws nothing.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::{PlaybackCommand, Player};
use crate::stats::Snapshot;

/// Time between two playback steps: as often as the dashboard draws.
const TICK: Duration = Duration::from_millis(33);

/// Plays `player` until `commands` closes (the dashboard has gone) or no one watches the
/// snapshots any more.
pub async fn play(
    mut player: Player,
    snapshots: watch::Sender<Arc<Snapshot>>,
    mut commands: mpsc::UnboundedReceiver<PlaybackCommand>,
) {
    if snapshots.send(Arc::new(player.snapshot())).is_err() {
        return;
    }
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Vec::with_capacity(16);
    // Besides clock.rs, the one place that reads time: the virtual clock of a replay moves by
    // the real time measured between steps, so late ticks lose nothing and speed is exact.
    let mut last = Instant::now();
    loop {
        let idle = player.is_idle();
        tokio::select! {
            n = commands.recv_many(&mut batch, 64) => {
                if n == 0 {
                    break;
                }
                // Time up to the command passes at the speed it passed at; idle time not at all.
                let now = Instant::now();
                if !idle {
                    player.advance(now.duration_since(last));
                }
                last = now;
                for command in batch.drain(..) {
                    player.obey(command);
                }
                if idle && !player.is_idle() {
                    ticks.reset();
                }
            }
            _ = ticks.tick(), if !idle => {
                let now = Instant::now();
                player.advance(now.duration_since(last));
                last = now;
            }
        }
        // A seek back folds the replay again from its start here (the views keep the last
        // snapshot meanwhile); a burst of commands folds once.
        if player.changed() && snapshots.send(Arc::new(player.snapshot())).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;
    use crate::replay::player::{EventLog, Speed};

    #[tokio::test]
    async fn plays_to_the_end_obeys_and_ends_with_its_commands() {
        let player = Player::new(EventLog::of(&fixture::replay(2, 30)), Speed::MAX);
        let first = Arc::new(Snapshot {
            t: crate::event::Offset::ZERO,
            finished: false,
            endpoints: Vec::new(),
            costs: std::collections::BTreeMap::new(),
            playback: None,
            commentary: std::sync::Arc::default(),
        });
        let (snapshots, mut seen) = watch::channel(first);
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(play(player, snapshots, rx));

        let end = seen.wait_for(|s| s.finished).await.unwrap().clone();
        assert_eq!(end.endpoints[0].counts.sent, 30);
        // At the end nothing ticks: no new snapshot until a command comes.
        seen.mark_unchanged();
        tokio::time::sleep(TICK * 4).await;
        assert!(!seen.has_changed().unwrap());

        commands.send(PlaybackCommand::ToStart).unwrap();
        commands.send(PlaybackCommand::TogglePause).unwrap();
        let start = seen
            .wait_for(|s| s.playback.as_ref().is_some_and(|p| p.paused))
            .await
            .unwrap()
            .clone();
        assert!(!start.finished);
        assert_eq!(start.t, crate::event::Offset::ZERO);

        drop(commands);
        task.await.unwrap();
    }
}
