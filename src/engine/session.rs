//! Multi-turn sessions: a session sends its prompt, waits for the real answer, appends it and
//! the next user message, and sends the conversation so far as its next turn, on the same
//! connection, after a think time. Each turn is a request of its own (its own events, record,
//! retries) that names its session and turn. A failed turn ends its session; a stop ends it
//! before its next turn. The request limit counts turns: a session the limit cuts stops there.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::attempts::run_attempts;
use super::connection::Connection;
use super::controls::wait_while_paused;
use super::request::{Payload, RequestContext, SendTag};
use super::senders::Shared;
use super::target::Target;
use crate::config::{ThinkDistribution, ThinkTime};
use crate::event::PromptId;
use crate::protocol::Message;

/// How a race's sessions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sessions {
    /// Turns per session, at least 2.
    pub turns: u32,
    pub think_time: Option<ThinkTime>,
    /// The think times' seed (the workload's): the same seed gives the same pauses.
    pub seed: u64,
}

impl Sessions {
    /// The pause before turn `turn` (from 2) of the session numbered `number` at its endpoint:
    /// the same for every endpoint and every run with the same seed.
    pub fn think_before(&self, number: u64, turn: u32) -> Duration {
        let Some(think) = self.think_time else {
            return Duration::ZERO;
        };
        match think.distribution {
            ThinkDistribution::Fixed => think.mean,
            ThinkDistribution::Exponential => {
                let draw = mix(self.seed ^ mix(number ^ mix(u64::from(turn))));
                // A uniform draw in (0, 1]: never 0, whose logarithm is infinite.
                #[expect(
                    clippy::cast_precision_loss,
                    reason = "53 random bits make an exact double"
                )]
                let u = ((draw >> 11) + 1) as f64 / (1_u64 << 53) as f64;
                think.mean.mul_f64(-u.ln())
            }
        }
    }
}

/// SplitMix64's finaliser: a well-mixed 64-bit value from any input.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// One session of `prompt` (the `number`th at its endpoint) on `connection`: its turns, each
/// with the answers so far, until the last turn, a failed one, the request limit or a stop.
/// `tag` is the first turn's (an open loop's schedule); later turns have none.
pub(super) async fn run_session(
    shared: &Shared,
    ctx: &RequestContext<'_>,
    connection: &mut Connection,
    target: &Target,
    (prompt, number): (PromptId, u64),
    tag: SendTag,
) {
    let Some(sessions) = shared.sessions else {
        return;
    };
    let session = shared.next_session.fetch_add(1, Ordering::Relaxed);
    let controls = &shared.controls;
    let stop = &controls.stop_sending;
    let attempts = shared.attempts();
    let follow_ups = target.follow_ups(prompt);
    let mut conversation: Vec<Message> = Vec::new();
    for turn in 1..=sessions.turns {
        if turn > 1 {
            let think = sessions.think_before(number, turn);
            if !think.is_zero() {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(think) => {}
                }
            }
        }
        if stop.is_cancelled()
            || !shared.take_turn(target)
            || !wait_while_paused(&controls.paused, stop).await
        {
            return;
        }
        let payload = if turn == 1 {
            Payload::of(target, prompt)
        } else {
            Payload {
                prompt,
                body: target.turn_body(prompt, &conversation),
                text: Some(text_of(&conversation)),
            }
        };
        let tag = SendTag {
            session: Some(session),
            turn: Some(turn),
            scheduled: tag.scheduled.filter(|_| turn == 1),
            ..tag
        };
        let Some(answer) = run_attempts(ctx, connection, target, &payload, tag, &attempts).await
        else {
            return;
        };
        let Some(next) = follow_ups.get(turn as usize - 1) else {
            return;
        };
        if conversation.is_empty() {
            conversation = target.messages(prompt).to_vec();
        }
        conversation.push(Message::assistant(answer));
        conversation.push(Message::user(next.as_str()));
    }
}

/// A conversation's text, for token estimates.
fn text_of(messages: &[Message]) -> String {
    messages
        .iter()
        .map(|m| m.content.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(distribution: ThinkDistribution) -> Sessions {
        Sessions {
            turns: 4,
            think_time: Some(ThinkTime {
                mean: Duration::from_secs(2),
                distribution,
            }),
            seed: 7,
        }
    }

    #[test]
    fn a_fixed_think_time_is_the_mean() {
        let fixed = sessions(ThinkDistribution::Fixed);
        assert_eq!(fixed.think_before(3, 2), Duration::from_secs(2));
        let none = Sessions {
            think_time: None,
            ..fixed
        };
        assert_eq!(none.think_before(3, 2), Duration::ZERO);
    }

    #[test]
    fn exponential_think_times_are_seeded_and_average_to_the_mean() {
        let exp = sessions(ThinkDistribution::Exponential);
        assert_eq!(exp.think_before(5, 2), exp.think_before(5, 2));
        assert_ne!(exp.think_before(5, 2), exp.think_before(5, 3));
        let other = Sessions { seed: 8, ..exp };
        assert_ne!(exp.think_before(5, 2), other.think_before(5, 2));
        let n = 20_000_u32;
        let total: f64 = (0..u64::from(n))
            .map(|i| exp.think_before(i, 2).as_secs_f64())
            .sum();
        let mean = total / f64::from(n);
        assert!((mean - 2.0).abs() < 0.1, "{mean}");
    }
}
