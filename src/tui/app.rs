//! The dashboard's loop: waits for keys, resizes and new snapshots, and redraws only when
//! something changed, at most ~30 times a second. An idle, finished race draws nothing. The
//! same loop shows replays: their playback keys go out as commands like the race's own.

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::keys::action_for;
use super::state::Effect;
use super::terminal::TerminalGuard;
use super::{RaceInfo, Scene, Theme, ViewState, ranking, screen};
use crate::replay::player::PlaybackCommand;
use crate::stats::Snapshot;

/// What the dashboard asks of the race.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceCommand {
    /// Pause (`true`) or resume sending.
    Pause(bool),
    /// Stop the race: stop sending and cancel what is in flight.
    Stop,
    /// Ctrl-C: in raw mode it is a key, not a signal, but it means what SIGINT means (exit 130).
    Interrupt,
    /// The terminal is gone (reads and writes fail with EIO): what SIGHUP means (exit 129),
    /// whether or not the signal itself reaches llmrace.
    TerminalClosed,
    /// Pause, speed up, seek… the replay being played back.
    Playback(PlaybackCommand),
}

/// What the dashboard watches: the race's snapshots, and the problems writing its files (which
/// must be seen at once, not only at the end).
pub struct Feeds {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub problems: watch::Receiver<Vec<String>>,
}

impl Feeds {
    /// Snapshots only, for a replay: it writes nothing.
    pub fn snapshots(snapshots: watch::Receiver<Arc<Snapshot>>) -> Feeds {
        Feeds {
            snapshots,
            // Its sender is gone at once: no problem ever comes.
            problems: watch::channel(Vec::new()).1,
        }
    }
}

/// The shortest time between two frames drawn for new snapshots (keys draw at once).
const FRAME: Duration = Duration::from_millis(33);

/// Runs the dashboard until the user quits and the race has ended (its results saved), or
/// until `exit` is cancelled (a signal) and the race has ended. A replay has nothing to save:
/// it leaves at once. If the terminal fails (it was closed), the race is stopped: nobody would
/// see it any more.
pub async fn run(
    info: RaceInfo,
    theme: Theme,
    feeds: Feeds,
    commands: mpsc::UnboundedSender<RaceCommand>,
    exit: CancellationToken,
) -> std::io::Result<()> {
    // Also if the dashboard panics: a race nobody sees must not run on to its end.
    let _stop = StopOnLeave(commands.clone());
    let shown = show(info, theme, feeds, &commands, exit).await;
    if let Err(e) = &shown
        && e.raw_os_error() == Some(EIO)
    {
        let _ = commands.send(RaceCommand::TerminalClosed);
    }
    shown
}

/// The errno of I/O on a terminal that was hung up; 5 on Linux, macOS and the BSDs alike.
const EIO: i32 = 5;

/// Stops the race when the dashboard goes, however it goes. After a normal quit the race is
/// already stopped or over, and stopping again changes nothing.
struct StopOnLeave(mpsc::UnboundedSender<RaceCommand>);

impl Drop for StopOnLeave {
    fn drop(&mut self) {
        let _ = self.0.send(RaceCommand::Stop);
    }
}

async fn show(
    mut info: RaceInfo,
    theme: Theme,
    feeds: Feeds,
    commands: &mpsc::UnboundedSender<RaceCommand>,
    exit: CancellationToken,
) -> std::io::Result<()> {
    let Feeds {
        mut snapshots,
        mut problems,
    } = feeds;
    let race_notices = info.notices.clone();
    let mut problems_open = true;
    let mut guard = TerminalGuard::enter()?;
    let mut keys = EventStream::new();
    let mut view = ViewState {
        replay: info.replay,
        priced: info.priced(),
        ..ViewState::default()
    };
    let mut snapshot = Arc::clone(&snapshots.borrow_and_update());
    let mut order = ranking::order(&snapshot, view.rank);
    let mut race_over = false;
    // The demo ends on the arena: a first run shows the answers side by side.
    let mut finale = info.name == crate::config::DEMO_NAME;
    let mut quitting = false;
    let mut dirty = true;
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A closed terminal is noticed when a frame fails to draw; an idle dashboard (the finish
    // screen) draws nothing, and its key reader only sees end-of-file, so it is asked.
    let mut pulse = tokio::time::interval(Duration::from_secs(1));
    pulse.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if quitting && (snapshot.finished || info.replay) {
            break;
        }
        // The snapshots ended before the race finished: the pipeline failed, nothing more
        // will come. Leave, so the error can be told on the normal screen.
        if race_over && !snapshot.finished && !info.replay {
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
                    if is_ctrl_c(key) && !info.replay && !snapshot.finished {
                        let _ = commands.send(RaceCommand::Interrupt);
                    }
                    if let Some(action) = action_for(key, &view) {
                        let effect = view.apply(action, snapshot.endpoints.len());
                        quitting |= pass_on(effect, commands);
                        let now = ranking::order(&snapshot, view.rank);
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
                    let _ = commands.send(RaceCommand::TerminalClosed);
                }
            },
            changed = snapshots.changed(), if !race_over => {
                if changed.is_err() {
                    race_over = true;
                }
                let before = snapshot.t;
                snapshot = Arc::clone(&snapshots.borrow_and_update());
                if finale && snapshot.finished {
                    finale = false;
                    view.finale();
                }
                let now = ranking::order(&snapshot, view.rank);
                reorder(&mut view.previous_order, &mut order, now, snapshot.t < before);
                dirty = true;
            }
            changed = problems.changed(), if problems_open => {
                problems_open = changed.is_ok();
                info.notices.clone_from(&race_notices);
                info.notices.extend(problems.borrow_and_update().iter().cloned());
                dirty = true;
            }
            _ = pulse.tick() => {
                if let Err(e) = crossterm::terminal::window_size()
                    && e.raw_os_error() == Some(EIO)
                {
                    return Err(e);
                }
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

/// Tells the race what an action's `effect` asks of it; `true` when that is to quit.
fn pass_on(effect: Effect, commands: &mpsc::UnboundedSender<RaceCommand>) -> bool {
    let command = match effect {
        Effect::Quit => RaceCommand::Stop,
        Effect::Pause(paused) => RaceCommand::Pause(paused),
        Effect::Playback(command) => RaceCommand::Playback(command),
        Effect::None => return false,
    };
    let _ = commands.send(command);
    effect == Effect::Quit
}

/// Follows the leaderboard's new order `now`: the one it replaces is what moves are shown
/// against. A replay that `went_back` (a seek, a restart) starts afresh: moves since a later
/// moment would be news from the future.
fn reorder(previous: &mut Vec<usize>, order: &mut Vec<usize>, now: Vec<usize>, went_back: bool) {
    if went_back {
        previous.clone_from(&now);
        *order = now;
    } else if now != *order {
        *previous = std::mem::replace(order, now);
    }
}

fn is_ctrl_c(key: crossterm::event::KeyEvent) -> bool {
    key.code == crossterm::event::KeyCode::Char('c')
        && key
            .modifiers
            .contains(crossterm::event::KeyModifiers::CONTROL)
        && key.kind == crossterm::event::KeyEventKind::Press
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
    guard.draw(|frame| screen::draw(frame, &scene))
}

#[cfg(test)]
mod tests {
    use super::reorder;

    #[test]
    fn a_replay_that_goes_back_shows_no_moves() {
        let (mut previous, mut order) = (vec![0, 1, 2], vec![0, 1, 2]);
        reorder(&mut previous, &mut order, vec![2, 0, 1], false);
        assert_eq!((&previous, &order), (&vec![0, 1, 2], &vec![2, 0, 1]));
        // Restarted from the start: the new order is compared with itself, not with the end.
        reorder(&mut previous, &mut order, vec![1, 0, 2], true);
        assert_eq!((&previous, &order), (&vec![1, 0, 2], &vec![1, 0, 2]));
        // Even when the order happens to be the one it had.
        let (mut previous, mut order) = (vec![0, 1], vec![1, 0]);
        reorder(&mut previous, &mut order, vec![1, 0], true);
        assert_eq!(previous, vec![1, 0]);
    }
}
