//! A replay played in the dashboard (`llmrace replay`): the player's task, the dashboard and the
//! signal listener wired together, as the live race's wiring joins the engine, the aggregator
//! and the same views. It lies above `replay/` (the player) and `tui/` (the dashboard), which
//! it joins; everything else about replays is in `replay/`.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::race::RaceError;
use crate::replay::player::{self, EventLog};
use crate::{event, record, tui, workload};

/// Plays a replay back in the dashboard: the same aggregator and views as the live race, on a
/// virtual clock the user steers (pause, speed, seek, step). Returns when the user quits, with
/// the signal that made it quit if one did (its exit code is 128 + its number). With
/// `metrics`, what the dashboard shows is served for Prometheus as it plays.
pub async fn play(
    log: EventLog,
    theme: tui::Theme,
    speed: player::Speed,
    metrics: Option<crate::export::Publisher>,
) -> Result<Option<crate::signals::Signal>, RaceError> {
    let info = tui::RaceInfo {
        metrics: metrics.as_ref().map(|m| m.url().to_string()),
        ..replay_info(&log)
    };
    let race = log.header.race.clone();
    let mut player = player::Player::new(log, speed);
    // The first frame shows the replay's start, not an empty board.
    let (snapshots_tx, snapshots_rx) = watch::channel(Arc::new(player.snapshot()));
    if let Some(metrics) = metrics {
        metrics.publish(&race, snapshots_rx.clone());
    }
    let (playback_tx, playback_rx) = mpsc::unbounded_channel();
    let playback = tokio::spawn(player::play(player, snapshots_tx, playback_rx));
    let (commands_tx, mut commands_rx) = mpsc::unbounded_channel();
    let forward = tokio::spawn(async move {
        while let Some(command) = commands_rx.recv().await {
            match command {
                tui::app::RaceCommand::Playback(command) => {
                    if playback_tx.send(command).is_err() {
                        break;
                    }
                }
                // A replay has no sending to pause or stop: quitting just leaves.
                tui::app::RaceCommand::Pause(_)
                | tui::app::RaceCommand::Stop
                | tui::app::RaceCommand::Interrupt
                | tui::app::RaceCommand::TerminalClosed => {}
            }
        }
    });
    // A signal (the terminal's Ctrl-C reaches the dashboard as a key) leaves the replay too.
    let exit = tokio_util::sync::CancellationToken::new();
    let mut shutdown = crate::signals::Shutdown::listen();
    let signals = tokio::spawn({
        let exit = exit.clone();
        async move {
            let signal = shutdown.recv().await;
            exit.cancel();
            signal
        }
    });
    let feeds = tui::app::Feeds::snapshots(snapshots_rx);
    let shown = tui::app::run(info, theme, feeds, commands_tx, exit).await;
    // Aborting a listener that already returned keeps what it returned.
    signals.abort();
    let signal = signals.await.ok();
    // The dashboard dropped its command sender: forwarding ends, and with it playback.
    let _ = forward.await;
    let _ = playback.await;
    shown.map_err(|e| RaceError::Dashboard(e.to_string()))?;
    Ok(signal)
}

/// The recorded race as the dashboard describes it, with what is wrong with the file told.
fn replay_info(replay: &EventLog) -> tui::RaceInfo {
    race_info(
        &replay.header,
        replay.end.is_some_and(|end| end.interrupted),
        replay.damage.as_deref(),
    )
}

/// A recorded race as the dashboard describes it, from its replay's header, whether it was
/// stopped early and what is wrong with the file (`llmrace replay`, `llmrace share`).
pub(crate) fn race_info(
    header: &record::ReplayHeader,
    interrupted: bool,
    damage: Option<&str>,
) -> tui::RaceInfo {
    let race = &header.race;
    let lanes = header
        .endpoints
        .iter()
        .map(|e| tui::LaneInfo {
            name: e.name.clone(),
            model: e.model.clone(),
            protocol: e.protocol.clone(),
            color: race
                .endpoints
                .iter()
                .find(|c| c.name == e.name)
                .and_then(|c| c.color.clone()),
            price: race
                .endpoints
                .iter()
                .find(|c| c.name == e.name)
                .and_then(|c| c.price),
            simulated: e.simulated,
            concurrency: e.concurrency,
            salt: e.salt.clone(),
        })
        .collect();
    let prompts: Vec<workload::Prompt> = header
        .prompts
        .iter()
        .enumerate()
        .map(|(i, messages)| {
            workload::Prompt::new(
                event::PromptId(u32::try_from(i).unwrap_or(u32::MAX)),
                messages.clone(),
            )
        })
        .collect();
    let mut notices = header.notices.clone();
    if interrupted {
        notices.push("the race was stopped early: the replay ends where it stopped".to_string());
    }
    if let Some(damage) = damage {
        notices.push(record::replay::damage::notice(damage));
    }
    tui::RaceInfo {
        name: header.name.clone(),
        lanes,
        requests: race.load.requests,
        duration: race.load.duration,
        load: format!(
            "closed loop, {} in flight per endpoint",
            race.load.concurrency
        ),
        prompts: prompts.into(),
        replay: true,
        notices,
        metrics: None,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::replay::fixture;

    #[test]
    fn a_replay_is_described_from_its_header_with_its_damage_told() {
        let mut replay = fixture::replay(3, 10);
        replay.header.prompts = vec![Vec::new(), Vec::new()];
        // The race as run names endpoint 0 differently: no colour is guessed for it.
        replay.header.race.endpoints[0].name = "elsewhere".to_string();
        replay.damage = Some("the file ends in the middle of line 7".to_string());
        let info = replay_info(&EventLog::of(&replay));
        assert!(info.replay);
        let names: Vec<&str> = info.lanes.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["turbo", "steady", "thinker"]);
        // Colours come from the race as run, matched by name.
        assert_eq!(info.lanes[1].color.as_deref(), Some("green"));
        assert_eq!(info.lanes[0].color, None);
        assert_eq!(info.prompts[1].id, event::PromptId(1));
        assert_eq!(info.notices.len(), 1);
        assert!(info.notices[0].contains("line 7"), "{:?}", info.notices);
    }
}
