//! The race's commentary: one line at a time about what just happened (a lead changing, an
//! endpoint failing again and again, a latency jumping, a schedule slipping, the first answer
//! home), for the dashboard's feed and its log (`l`). Pure: it is shown snapshots and writes
//! lines stamped with the race time they happened at; no clock, no I/O.
//!
//! The aggregator shows it a snapshot once per second of race time, at the first event of
//! each new second (so a replay, folding the same events in the same order, shows it the same
//! snapshots and gets the same lines, whatever its speed; a rewind restores the aggregator and
//! with it the commentary), and once at the finish.
//!
//! The rules, each judged on the interval since the previous look (about a second):
//! - **Failing repeatedly**: 3 failures or more in the last 3 looks, and more failures than
//!   successes. Told again only after the endpoint recovered (fewer than 3 failures, or more
//!   successes than failures, over the same span).
//! - **First answer home**: the first request of the race to succeed, exactly (from the
//!   requests' own times).
//! - **Falling behind its schedule** (open loop): the requests sent in the interval left, on
//!   average, 100 ms or more after their scheduled time. Told again only after the lag fell
//!   under 50 ms.
//! - **A jump** in TTFT or ITL against the endpoint's own recent baseline: the interval's mean
//!   (of at least 2 values) is at least twice the mean of the previous 10 intervals (at least
//!   5 values) and above it by 50 ms (TTFT) or 10 ms (ITL). Not told again for that endpoint
//!   and metric for 10 s.
//! - **A lead change** on TTFT p50 (lower is better), output tokens/s over the race (higher),
//!   and in a race of laps, laps won by first token and by first finished answer: the sole
//!   best among endpoints with 3 succeeded requests or more, once it has been best at two looks
//!   in a row and differs from the leader last told.
//!
//! Rate-limited like a commentator: at most one line every 3 s of race time. Facts wait in a
//! queue, most important first (failures, the first answer, schedules, jumps, leads), and go
//! stale after 8 s; a newer fact of the same kind about the same thing replaces the older, and
//! a lead that returned to the leader last told is dropped. The finish is always told.

mod track;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

pub use super::comment::Comment;
use super::snapshot::{EndpointSnapshot, RequestState, Snapshot};
use crate::event::Offset;
use crate::format::{ms, rate};
use track::{Jump, Track};

/// Race time between two lines, at least.
pub(super) const GAP: Offset = Offset(3_000_000_000);
/// A fact not told within this long is old news.
const STALE: Offset = Offset(8_000_000_000);
/// Lines kept for the log (the oldest are dropped past it).
const KEPT: usize = 1000;
/// Succeeded requests an endpoint needs before it can lead.
const MIN_TO_LEAD: u64 = 3;

/// The metrics whose lead is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lead {
    Ttft,
    TokensPerS,
    LapsFirstToken,
    LapsFirstFinished,
}

const LEADS: [Lead; 4] = [
    Lead::Ttft,
    Lead::TokensPerS,
    Lead::LapsFirstToken,
    Lead::LapsFirstFinished,
];

impl Lead {
    fn label(self) -> &'static str {
        match self {
            Lead::Ttft => "TTFT p50",
            Lead::TokensPerS => "tokens/s",
            Lead::LapsFirstToken => "laps won by first token",
            Lead::LapsFirstFinished => "laps finished first",
        }
    }

    fn value(self, e: &EndpointSnapshot) -> Option<f64> {
        let text = e.embeddings.is_none() && e.counts.succeeded >= MIN_TO_LEAD;
        let value = match self {
            Lead::Ttft => e.latency.ttft_ms.map(|s| s.p50).filter(|_| text),
            Lead::TokensPerS => text.then_some(e.rates.output_tokens_per_s),
            Lead::LapsFirstToken => (e.laps > 0).then_some(e.wins_first_token as f64),
            Lead::LapsFirstFinished => (e.laps > 0).then_some(e.wins_first_finished as f64),
        };
        value.filter(|v| v.is_finite())
    }

    fn lower_is_better(self) -> bool {
        self == Lead::Ttft
    }

    fn show(self, value: f64) -> String {
        match self {
            Lead::Ttft => ms(Some(value)),
            Lead::TokensPerS => format!("{} tok/s", rate(value)),
            Lead::LapsFirstToken | Lead::LapsFirstFinished => format!("{value:.0}"),
        }
    }

    /// The sole best endpoint and its value; `None` without two contenders or on a tie.
    fn leader(self, snapshot: &Snapshot) -> Option<(usize, f64)> {
        let values: Vec<(usize, f64)> = (snapshot.endpoints.iter().enumerate())
            .filter_map(|(i, e)| self.value(e).map(|v| (i, v)))
            .collect();
        if values.len() < 2 {
            return None;
        }
        let better = |a: f64, b: f64| if self.lower_is_better() { a < b } else { a > b };
        let (mut best, mut tied) = (values[0], false);
        for &(i, v) in &values[1..] {
            if better(v, best.1) {
                (best, tied) = ((i, v), false);
            } else if v.total_cmp(&best.1).is_eq() {
                tied = true;
            }
        }
        (!tied).then_some(best)
    }
}

/// How urgent a fact is (lower first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Priority {
    Failing,
    FirstHome,
    Behind,
    Jump,
    Lead,
}

/// What a fact is about: a newer fact with the same key replaces an untold older one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Failing(usize),
    FirstHome,
    Behind(usize),
    Jump(usize, Jump),
    Lead(usize),
}

/// A fact waiting to be told.
#[derive(Clone, Debug)]
struct Fact {
    priority: Priority,
    key: Key,
    comment: Comment,
    /// A lead change: telling it makes this endpoint the leader told of that metric.
    leads: Option<(usize, usize)>,
}

/// Watches the snapshots it is shown and keeps the lines said so far.
#[derive(Clone, Debug, Default)]
pub struct Commentator {
    /// Race time of the next look (the aggregator looks at the first event at or after it).
    next_look: Offset,
    tracks: Vec<Track>,
    /// Per metric of [`LEADS`]: the leader at the previous look and the leader last told.
    seen_leader: [Option<usize>; 4],
    told_leader: [Option<usize>; 4],
    first_home_told: bool,
    finish_told: bool,
    waiting: Vec<Fact>,
    last_told: Option<Offset>,
    lines: Arc<VecDeque<Comment>>,
}

impl Commentator {
    /// Whether an event at `t` should first have the race looked at (a new second began).
    pub fn due(&self, t: Offset) -> bool {
        t >= self.next_look
    }

    /// The whole second `t` falls in: the time a look before an event at `t` describes.
    pub fn second_of(t: Offset) -> Offset {
        Offset(t.0 - t.0 % 1_000_000_000)
    }

    /// Every line said so far (at most the last thousand), oldest first.
    pub fn lines(&self) -> Arc<VecDeque<Comment>> {
        Arc::clone(&self.lines)
    }

    /// Looks at the race as `snapshot` shows it (its `t` a whole second): notes what happened
    /// since the last look and tells the most important waiting fact when it may.
    pub fn look(&mut self, snapshot: &Snapshot) {
        let t = snapshot.t;
        self.next_look = Offset(Self::second_of(t).0 + 1_000_000_000);
        if self.finish_told {
            return;
        }
        self.tracks
            .resize_with(snapshot.endpoints.len(), Track::default);
        for (i, endpoint) in snapshot.endpoints.iter().enumerate() {
            let name = &endpoint.name;
            let Some(track) = self.tracks.get_mut(i) else {
                continue;
            };
            let seen = track.see(t, endpoint);
            if let Some(failures) = seen.failing {
                let text = format!(
                    "{name} is failing again and again: {failures} failures in {} s",
                    track::FAILING_SPAN
                );
                self.note(Priority::Failing, Key::Failing(i), t, i, text);
            }
            if let Some(lag) = seen.behind {
                let text = format!(
                    "{name} can't keep its schedule: requests leave {} late",
                    ms(Some(lag))
                );
                self.note(Priority::Behind, Key::Behind(i), t, i, text);
            }
            for (jump, now, before) in seen.jumps {
                let text = format!(
                    "{name}'s {} jumps to {} (it was {})",
                    jump.label(),
                    ms(Some(now)),
                    ms(Some(before))
                );
                self.note(Priority::Jump, Key::Jump(i, jump), t, i, text);
            }
        }
        self.first_home(snapshot);
        self.leads(snapshot);
        self.tell(t);
    }

    /// The race is over: says so, with the leaders, whatever the rate limit. Once.
    pub fn finish(&mut self, snapshot: &Snapshot) {
        if self.finish_told {
            return;
        }
        self.finish_told = true;
        // Tenths cut, not rounded, as the header's race clock shows them.
        let tenths = snapshot.t.as_duration().as_millis() / 100;
        let mut text = format!("Finish after {}.{} s", tenths / 10, tenths % 10);
        let mut first = None;
        let mut last_named = None;
        for lead in [Lead::Ttft, Lead::TokensPerS] {
            if let Some((i, v)) = lead.leader(snapshot) {
                let figure = format!("{} ({})", lead.label(), lead.show(v));
                // One name for one endpoint that leads on both.
                let _ = match (first, last_named) {
                    (None, _) => write!(text, ": {} best on {figure}", snapshot.endpoints[i].name),
                    (Some(_), Some(named)) if named == i => write!(text, " and {figure}"),
                    (Some(_), _) => {
                        write!(text, ", {} best on {figure}", snapshot.endpoints[i].name)
                    }
                };
                last_named = Some(i);
                first.get_or_insert(i);
            }
        }
        self.say(Comment {
            t: snapshot.t,
            endpoint: first,
            text,
        });
    }

    fn note(&mut self, priority: Priority, key: Key, t: Offset, endpoint: usize, text: String) {
        let comment = Comment {
            t,
            endpoint: Some(endpoint),
            text,
        };
        self.waiting.retain(|f| f.key != key);
        self.waiting.push(Fact {
            priority,
            key,
            comment,
            leads: None,
        });
    }

    /// The first request of the race to succeed, once.
    fn first_home(&mut self, snapshot: &Snapshot) {
        if self.first_home_told {
            return;
        }
        let first = (snapshot.endpoints.iter().enumerate())
            .flat_map(|(i, e)| e.requests.iter().map(move |r| (i, r)))
            .filter(|(_, r)| r.state == RequestState::Succeeded && !r.warmup)
            .filter_map(|(i, r)| r.ended_ms.map(|d| (r.sent.as_secs_f64() * 1000.0 + d, i)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let Some((at_ms, i)) = first else { return };
        self.first_home_told = true;
        let name = &snapshot.endpoints[i].name;
        let text = format!(
            "{name} is first home: a whole answer at {}",
            ms(Some(at_ms))
        );
        let at = Offset::from_duration(std::time::Duration::from_secs_f64(at_ms / 1000.0));
        self.note(
            Priority::FirstHome,
            Key::FirstHome,
            at.min(snapshot.t),
            i,
            text,
        );
    }

    fn leads(&mut self, snapshot: &Snapshot) {
        for (m, lead) in LEADS.into_iter().enumerate() {
            let leader = lead.leader(snapshot);
            let now = leader.map(|(i, _)| i);
            let steady = now.is_some() && now == self.seen_leader[m];
            self.seen_leader[m] = now;
            let key = Key::Lead(m);
            if now == self.told_leader[m] {
                // Back to the leader told: an untold change is no longer news.
                self.waiting.retain(|f| f.key != key);
            }
            let Some((i, value)) = leader.filter(|_| steady && now != self.told_leader[m]) else {
                continue;
            };
            let name = &snapshot.endpoints[i].name;
            let label = lead.label();
            let shown = lead.show(value);
            let text = match self.told_leader[m].and_then(|j| snapshot.endpoints.get(j)) {
                None => format!("{name} takes the lead on {label} ({shown})"),
                Some(old) => {
                    let theirs = lead
                        .value(old)
                        .map_or_else(String::new, |v| format!(" against {}", lead.show(v)));
                    format!("{name} overtakes {} on {label}: {shown}{theirs}", old.name)
                }
            };
            self.waiting.retain(|f| f.key != key);
            self.waiting.push(Fact {
                priority: Priority::Lead,
                key,
                comment: Comment {
                    t: snapshot.t,
                    endpoint: Some(i),
                    text,
                },
                leads: Some((m, i)),
            });
        }
    }

    /// Tells the most important fact still news, if the last line is old enough.
    fn tell(&mut self, now: Offset) {
        self.waiting
            .retain(|f| now.0.saturating_sub(f.comment.t.0) <= STALE.0);
        if self
            .last_told
            .is_some_and(|last| now.0.saturating_sub(last.0) < GAP.0)
        {
            return;
        }
        let Some(next) = (self.waiting.iter().enumerate())
            .min_by_key(|(_, f)| (f.priority, f.comment.t))
            .map(|(i, _)| i)
        else {
            return;
        };
        let fact = self.waiting.remove(next);
        if let Some((m, i)) = fact.leads {
            self.told_leader[m] = Some(i);
        }
        self.last_told = Some(now);
        // Stamped when said, so that the log reads in order and 3 s apart (a first home
        // noted at the moment it ended may be told seconds later; its text has its time).
        let mut comment = fact.comment;
        comment.t = comment.t.max(now);
        self.say(comment);
    }

    fn say(&mut self, comment: Comment) {
        let lines = Arc::make_mut(&mut self.lines);
        if lines.len() == KEPT {
            lines.pop_front();
        }
        lines.push_back(comment);
    }
}
