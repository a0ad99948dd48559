//! The dashboard's loop: waits for keys, resizes and new snapshots, and redraws only when
//! something changed, at most ~30 times a second. An idle, finished race draws nothing. The
//! same loop shows replays: their playback keys go out as commands like the race's own.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::state::{Effect, action_for};
use super::terminal::TerminalGuard;
use super::{RaceInfo, Scene, Theme, ViewState, leaderboard, screen};
use crate::player::PlaybackCommand;
use crate::stats::Snapshot;

/// What the dashboard asks of the race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceCommand {
    /// Pause (`true`) or resume sending.
    Pause(bool),
    /// Stop the race: stop sending and cancel what is in flight.
    Stop,
    /// Pause, speed up, seek… the replay being played back.
    Playback(PlaybackCommand),
}

/// The shortest time between two frames drawn for new snapshots (keys draw at once).
const FRAME: Duration = Duration::from_millis(33);

/// Runs the dashboard until the user quits and the race has ended (its results saved), or
/// until `exit` is cancelled (a signal) and the race has ended. A replay has nothing to save:
/// it leaves at once.
pub async fn run(
    info: RaceInfo,
    theme: Theme,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    commands: mpsc::UnboundedSender<RaceCommand>,
    exit: CancellationToken,
) -> std::io::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let mut keys = EventStream::new();
    let mut view = ViewState {
        replay: info.replay,
        priced: info.priced(),
        ..ViewState::default()
    };
    let prices = info.prices();
    let mut snapshot = Arc::clone(&snapshots.borrow_and_update());
    let mut order = leaderboard::order(&snapshot, view.rank, &prices);
    let mut race_over = false;
    let mut quitting = false;
    let mut dirty = true;
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if quitting && (snapshot.finished || info.replay) {
            break;
        }
        tokio::select! {
            biased;
            () = exit.cancelled(), if !quitting => {
                quitting = true;
                let _ = commands.send(RaceCommand::Stop);
            }
            event = keys.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    if let Some(action) = action_for(key, &view) {
                        match view.apply(action, snapshot.endpoints.len()) {
                            Effect::Quit => {
                                quitting = true;
                                let _ = commands.send(RaceCommand::Stop);
                            }
                            Effect::Pause(paused) => {
                                let _ = commands.send(RaceCommand::Pause(paused));
                            }
                            Effect::Playback(command) => {
                                let _ = commands.send(RaceCommand::Playback(command));
                            }
                            Effect::None => {}
                        }
                        let now = leaderboard::order(&snapshot, view.rank, &prices);
                        if now != order {
                            // A new ranking metric starts afresh: no moves to show yet.
                            view.previous_order.clone_from(&now);
                            order = now;
                        }
                        // A key is answered at once; only snapshot frames wait for the tick.
                        draw(&mut guard, &info, &mut view, &snapshot, &theme)?;
                        frames.reset();
                        dirty = false;
                    }
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                // The terminal is gone (closed): stop the race and leave.
                None => {
                    quitting = true;
                    let _ = commands.send(RaceCommand::Stop);
                }
            },
            changed = snapshots.changed(), if !race_over => {
                if changed.is_err() {
                    race_over = true;
                }
                snapshot = Arc::clone(&snapshots.borrow_and_update());
                let now = leaderboard::order(&snapshot, view.rank, &prices);
                if now != order {
                    view.previous_order = std::mem::replace(&mut order, now);
                }
                dirty = true;
            }
            _ = frames.tick(), if dirty => {
                draw(&mut guard, &info, &mut view, &snapshot, &theme)?;
                dirty = false;
            }
        }
    }
    drop(guard);
    Ok(())
}

fn draw(
    guard: &mut TerminalGuard,
    info: &RaceInfo,
    view: &mut ViewState,
    snapshot: &Snapshot,
    theme: &Theme,
) -> std::io::Result<()> {
    view.clamp_to(snapshot);
    let scene = Scene {
        info,
        view,
        snapshot,
        theme,
    };
    guard.terminal.draw(|frame| screen::draw(frame, &scene))?;
    Ok(())
}
