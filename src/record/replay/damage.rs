//! What is wrong inside a replay, found as it is read: events missing or repeated (told by
//! their numbers), lines that are not events, and how the file stopped; all told in one line
//! that names what was lost, so every output built from the replay can say it.

/// How many problems are told one by one; past these only their count is.
const TOLD: usize = 5;

/// The damage found so far in one replay.
#[derive(Debug, Default)]
pub(super) struct Damage {
    /// The number the next event should have; `None` when the file's events carry none
    /// (format 1).
    next: Option<u64>,
    missing: u64,
    repeated: u64,
    unreadable: u64,
    told: Vec<String>,
    untold: usize,
    /// Why the file stopped before its end line, if it did.
    stopped: Option<String>,
}

impl Damage {
    /// For a file whose events are numbered from 1.
    pub fn numbered() -> Damage {
        Damage {
            next: Some(1),
            ..Damage::default()
        }
    }

    /// Checks the number of the event read on `line`; false when the event is a repeat, to
    /// be left out so that nothing is counted twice.
    pub fn keep(&mut self, number: Option<u64>, line: usize) -> bool {
        let (Some(next), Some(number)) = (self.next, number) else {
            return true;
        };
        if number < next {
            self.repeated += 1;
            self.tell(format!(
                "event {number} is repeated at line {line} and left out"
            ));
            return false;
        }
        self.lost(next, number, &format!("before line {line}"));
        self.next = Some(number + 1);
        true
    }

    /// A whole line on `line` that cannot be read for what it should hold.
    pub fn unreadable(&mut self, line: usize) {
        self.unreadable += 1;
        self.tell(format!("line {line} is unreadable and left out"));
    }

    /// The end line on `line` says how many events the file holds.
    pub fn ended(&mut self, events: Option<u64>, line: usize) {
        if let (Some(next), Some(events)) = (self.next, events) {
            self.lost(
                next,
                events + 1,
                &format!("before the end line, line {line}"),
            );
        }
    }

    /// The file stopped before its end line, for this reason.
    pub fn stopped(&mut self, why: String) {
        self.stopped = Some(why);
    }

    /// Everything found, in one line; `None` for a sound file.
    pub fn told(&self) -> Option<String> {
        let mut counts = Vec::new();
        let mut count = |n: u64, one: &str, many: &str| match n {
            0 => {}
            1 => counts.push(format!("1 {one}")),
            n => counts.push(format!("{n} {many}")),
        };
        count(self.missing, "event missing", "events missing");
        count(self.repeated, "event repeated", "events repeated");
        count(self.unreadable, "line unreadable", "lines unreadable");
        let mut parts = Vec::new();
        if !counts.is_empty() {
            let mut details = self.told.join("; ");
            if self.untold > 0 {
                details.push_str(&format!("; and {} more", self.untold));
            }
            parts.push(format!("{}: {details}", counts.join(", ")));
        }
        parts.extend(self.stopped.clone());
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// Events numbered from `from` up to `to` (excluded) never arrived.
    fn lost(&mut self, from: u64, to: u64, place: &str) {
        match to.saturating_sub(from) {
            0 => {}
            1 => self.tell(format!("event {from} is missing {place}")),
            _ => self.tell(format!("events {from}–{} are missing {place}", to - 1)),
        }
        self.missing += to.saturating_sub(from);
    }

    fn tell(&mut self, problem: String) {
        if self.told.len() < TOLD {
            self.told.push(problem);
        } else {
            self.untold += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sound_file_has_no_damage() {
        let mut damage = Damage::numbered();
        for n in 1..=3 {
            assert!(damage.keep(Some(n), n as usize + 1));
        }
        damage.ended(Some(3), 5);
        assert_eq!(damage.told(), None);
    }

    #[test]
    fn missing_and_repeated_events_are_named() {
        let mut damage = Damage::numbered();
        assert!(damage.keep(Some(1), 2));
        assert!(damage.keep(Some(2), 3));
        assert!(!damage.keep(Some(2), 4));
        assert!(damage.keep(Some(5), 5));
        damage.unreadable(6);
        damage.ended(Some(7), 7);
        assert_eq!(
            damage.told().unwrap(),
            "4 events missing, 1 event repeated, 1 line unreadable: event 2 is repeated at line \
             4 and left out; events 3–4 are missing before line 5; line 6 is unreadable and \
             left out; events 6–7 are missing before the end line, line 7"
        );
    }

    #[test]
    fn unnumbered_events_are_kept_and_a_stop_is_told_alone() {
        let mut damage = Damage::default();
        assert!(damage.keep(None, 2));
        assert!(damage.keep(Some(9), 3));
        damage.stopped("the file ends in the middle of line 4".to_string());
        assert_eq!(
            damage.told().as_deref(),
            Some("the file ends in the middle of line 4")
        );
    }

    #[test]
    fn past_a_few_problems_only_their_count_is_told() {
        let mut damage = Damage::numbered();
        for line in 0..20 {
            damage.unreadable(line);
        }
        let told = damage.told().unwrap();
        assert!(told.starts_with("20 lines unreadable"), "{told}");
        assert!(told.ends_with("; and 15 more"), "{told}");
    }
}
