//! Head-to-head lap wins, from events alone: in each lap every endpoint ran the same prompt
//! from the same instant; the winner by first token is the one whose first content came
//! soonest after its send, the winner by first finished the one that succeeded soonest. A lap
//! is judged once every endpoint's request in it has ended; an unfinished lap counts for no one.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::event::{EndpointId, Offset, RequestId};

#[derive(Clone, Debug, Default)]
pub struct LapTally {
    entrants: usize,
    requests: HashMap<RequestId, Entry>,
    laps: BTreeMap<u32, Lap>,
    /// Per endpoint (by id): laps won by first token, laps won by first finished.
    wins: Vec<(u64, u64)>,
    judged: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    lap: u32,
    endpoint: EndpointId,
    sent: Offset,
    first_token: bool,
}

#[derive(Clone, Debug, Default)]
struct Lap {
    ended: usize,
    first_token: Option<(Duration, EndpointId)>,
    first_finished: Option<(Duration, EndpointId)>,
}

/// Keeps the sooner of two (time, endpoint) marks; a tie goes to the one already held.
fn sooner(best: &mut Option<(Duration, EndpointId)>, candidate: (Duration, EndpointId)) {
    if best.is_none_or(|(t, _)| candidate.0 < t) {
        *best = Some(candidate);
    }
}

impl LapTally {
    /// `entrants`: how many endpoints run each lap.
    pub fn new(entrants: usize) -> Self {
        LapTally {
            entrants,
            wins: vec![(0, 0); entrants],
            ..LapTally::default()
        }
    }

    pub fn on_sent(&mut self, request: RequestId, endpoint: EndpointId, lap: u32, t: Offset) {
        self.requests.insert(
            request,
            Entry {
                lap,
                endpoint,
                sent: t,
                first_token: false,
            },
        );
        self.laps.entry(lap).or_default();
    }

    /// The request went out again at `t` (its first connection was lost unanswered): it
    /// counts from there, as its record does.
    pub fn on_resent(&mut self, request: RequestId, t: Offset) {
        if let Some(entry) = self.requests.get_mut(&request) {
            entry.sent = t;
        }
    }

    pub fn on_content(&mut self, request: RequestId, t: Offset) {
        let Some(entry) = self.requests.get_mut(&request) else {
            return;
        };
        if entry.first_token {
            return;
        }
        entry.first_token = true;
        if let Some(lap) = self.laps.get_mut(&entry.lap) {
            sooner(&mut lap.first_token, (t.since(entry.sent), entry.endpoint));
        }
    }

    /// The request ended at `t`; `succeeded` when it finished as the protocol says.
    pub fn on_ended(&mut self, request: RequestId, t: Offset, succeeded: bool) {
        let Some(entry) = self.requests.remove(&request) else {
            return;
        };
        let Some(lap) = self.laps.get_mut(&entry.lap) else {
            return;
        };
        if succeeded {
            sooner(
                &mut lap.first_finished,
                (t.since(entry.sent), entry.endpoint),
            );
        }
        lap.ended += 1;
        if lap.ended >= self.entrants
            && let Some(lap) = self.laps.remove(&entry.lap)
        {
            self.judged += 1;
            if let Some((_, winner)) = lap.first_token
                && let Some(wins) = self.wins.get_mut(usize::from(winner.0))
            {
                wins.0 += 1;
            }
            if let Some((_, winner)) = lap.first_finished
                && let Some(wins) = self.wins.get_mut(usize::from(winner.0))
            {
                wins.1 += 1;
            }
        }
    }

    /// Laps judged so far.
    pub fn judged(&self) -> u64 {
        self.judged
    }

    /// Laps won by `endpoint`: (by first token, by first finished).
    pub fn wins(&self, endpoint: usize) -> (u64, u64) {
        self.wins.get(endpoint).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Offset {
        Offset(n * 1_000_000)
    }

    #[test]
    fn the_sooner_endpoint_wins_each_judged_lap() {
        let mut tally = LapTally::new(2);
        let (a, b) = (EndpointId(0), EndpointId(1));
        // Lap 0: b's first token comes first, but a finishes first.
        tally.on_sent(RequestId(0), a, 0, ms(0));
        tally.on_sent(RequestId(1), b, 0, ms(0));
        tally.on_content(RequestId(1), ms(5));
        tally.on_content(RequestId(0), ms(10));
        tally.on_content(RequestId(1), ms(11));
        tally.on_ended(RequestId(0), ms(20), true);
        assert_eq!(
            tally.wins(0),
            (0, 0),
            "not judged before every entrant ended"
        );
        tally.on_ended(RequestId(1), ms(30), true);
        assert_eq!((tally.wins(0), tally.wins(1)), ((0, 1), (1, 0)));
        // Lap 1: a failed request cannot win by finishing.
        tally.on_sent(RequestId(2), a, 1, ms(40));
        tally.on_sent(RequestId(3), b, 1, ms(40));
        tally.on_ended(RequestId(2), ms(41), false);
        tally.on_content(RequestId(3), ms(60));
        tally.on_ended(RequestId(3), ms(70), true);
        assert_eq!((tally.wins(0), tally.wins(1)), ((0, 1), (2, 1)));
        assert_eq!(tally.judged(), 2);
        // Lap 2 never ends: it counts for no one.
        tally.on_sent(RequestId(4), a, 2, ms(80));
        tally.on_content(RequestId(4), ms(81));
        tally.on_ended(RequestId(4), ms(82), true);
        assert_eq!((tally.wins(0), tally.wins(1)), ((0, 1), (2, 1)));
    }
}
