//! What is wrong inside a replay, found as it is read: events missing or repeated (told by
//! their numbers), lines that are not events, and how the file stopped; all told in one line
//! that names what was lost, so every output built from the replay can say it.

use std::fmt::Write as _;

/// How many problems are told one by one; past these only their count is.
const TOLD: usize = 5;

/// How every output opens the damage told: [`notice`] gives it, [`is_notice`] knows it.
const DAMAGED: &str = "the replay is damaged: ";

/// How the notice of a replay with events this llmrace does not know opens: not damage.
const NEWER: &str = "the replay was written by a newer llmrace";

/// How the damage told ends when only repeated lines were found: nothing is lost.
const NOTHING_LOST: &str = "nothing was lost";

/// The notice of a damaged replay, the same in every output built from it.
pub fn notice(damage: &str) -> String {
    if damage.starts_with(NEWER) {
        return damage.to_string();
    }
    if damage.ends_with(NOTHING_LOST) {
        return format!("{DAMAGED}{damage}");
    }
    format!("{DAMAGED}{damage}; what was lost is left out")
}

/// Whether a run's notice is the damage [`notice`]: a report's body tells it, where the other
/// notices go to stderr.
pub fn is_notice(notice: &str) -> bool {
    notice.starts_with(DAMAGED) || notice.starts_with(NEWER)
}

/// An event number this far past the one due is taken for a garbled number, not for events
/// lost: believed, it would leave every later event out as a repeat.
const FAR_AHEAD: u64 = 1 << 20;

/// The damage found so far in one replay.
#[derive(Debug, Default)]
pub(super) struct Damage {
    /// The number the next event should have; `None` when the file's events carry none
    /// (format 1).
    next: Option<u64>,
    missing: u64,
    repeated: u64,
    /// Lines of the header (its first line or a prompt line) found again, told once.
    header_repeated: u64,
    unreadable: u64,
    told: Vec<String>,
    untold: usize,
    /// Why the file stopped before its end line, if it did.
    stopped: Option<String>,
    /// The line just left out as unreadable, and where among `told` it is told: the event
    /// found missing right after it is the one it held, told once with it.
    garbled: Option<(usize, Option<usize>)>,
    /// The event format of a file newer than this llmrace reads: a line it cannot read may
    /// be an event it does not know, not damage.
    newer: Option<u32>,
    /// Lines of such a file not read.
    unknown: u64,
    /// The file's events are records (format 3), not lines: places are told as records.
    records: bool,
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
        let garbled = self.garbled.take().filter(|(at, _)| at + 1 == line);
        let (Some(next), Some(number)) = (self.next, number) else {
            return true;
        };
        if number < next {
            self.repeated += 1;
            let unit = self.unit();
            self.tell(format!(
                "event {number} is repeated at {unit} {line} and left out"
            ));
            return false;
        }
        if number - next > FAR_AHEAD {
            self.unreadable(line);
            return false;
        }
        let place = format!("before {} {line}", self.unit());
        self.lost(next, number, &place, garbled);
        self.next = Some(number + 1);
        true
    }

    /// For a file of format 3: events numbered from 1 by their place, in records.
    pub fn records() -> Damage {
        Damage {
            records: true,
            ..Damage::numbered()
        }
    }

    /// What a place in the file is: a line, or a record of format 3.
    fn unit(&self) -> &'static str {
        if self.records { "record" } else { "line" }
    }

    /// The file's events are of `format`, newer than this llmrace's.
    pub fn newer(&mut self, format: u32) {
        self.newer = Some(format);
    }

    /// A whole line that cannot be read for what it should hold, numbered `number` if it
    /// says: in a file of a newer event format, an event this llmrace does not know, left out
    /// and not counted as damage; otherwise unreadable.
    pub fn unknown(&mut self, number: Option<u64>, line: usize) {
        if self.newer.is_none() {
            self.unreadable(line);
            return;
        }
        self.unknown += 1;
        if let (Some(next), Some(number)) = (self.next, number)
            && number >= next
            && number - next <= FAR_AHEAD
        {
            let garbled = self.garbled.take().filter(|(at, _)| at + 1 == line);
            let place = format!("before {} {line}", self.unit());
            self.lost(next, number, &place, garbled);
            self.next = Some(number + 1);
        }
    }

    /// The header's first line or one of its prompt lines, read already, is on `line` again:
    /// left out, and told once however many there are.
    pub fn header_repeated(&mut self, line: usize) {
        self.header_repeated += 1;
        if self.header_repeated == 1 {
            self.tell(format!(
                "the header is repeated at line {line} and left out"
            ));
        }
    }

    /// A whole line on `line` that cannot be read for what it should hold.
    pub fn unreadable(&mut self, line: usize) {
        self.unreadable += 1;
        let told = self.tell(format!("{} {line} is unreadable and left out", self.unit()));
        self.garbled = Some((line, told));
    }

    /// The end line on `line` says how many events the file holds.
    pub fn ended(&mut self, events: Option<u64>, line: usize) {
        let garbled = self.garbled.take().filter(|(at, _)| at + 1 == line);
        if let (Some(next), Some(events)) = (self.next, events) {
            let place = if self.records {
                format!("before the end record, record {line}")
            } else {
                format!("before the end line, line {line}")
            };
            self.lost(next, events.saturating_add(1), &place, garbled);
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
        count(
            self.header_repeated,
            "header line repeated",
            "header lines repeated",
        );
        if self.records {
            count(self.unreadable, "record unreadable", "records unreadable");
        } else {
            count(self.unreadable, "line unreadable", "lines unreadable");
        }
        let mut parts = Vec::new();
        if !counts.is_empty() {
            let mut details = self.told.join("; ");
            if self.untold > 0 {
                let _ = write!(details, "; and {} more", self.untold);
            }
            parts.push(format!("{}: {details}", counts.join(", ")));
        }
        parts.extend(self.stopped.clone());
        if !parts.is_empty() && self.missing == 0 && self.unreadable == 0 && self.stopped.is_none()
        {
            parts.push(NOTHING_LOST.to_string());
        }
        let damage = (!parts.is_empty()).then(|| parts.join("; "));
        let Some(format) = self.newer.filter(|_| self.unknown > 0) else {
            return damage;
        };
        let events = if self.unknown == 1 { "event" } else { "events" };
        let newer = format!(
            "{NEWER} (event format {format}; this one reads up to {}): {} {events} it does not \
             know left out; update llmrace to read them",
            crate::event::EVENT_FORMAT_VERSION,
            self.unknown
        );
        Some(match damage {
            Some(damage) => format!("{newer}; and {DAMAGED}{damage}"),
            None => newer,
        })
    }

    /// Events numbered from `from` up to `to` (excluded) never arrived; the first was on the
    /// `garbled` line just before, if there is one.
    fn lost(
        &mut self,
        mut from: u64,
        to: u64,
        place: &str,
        garbled: Option<(usize, Option<usize>)>,
    ) {
        if let Some((line, told)) = garbled.filter(|_| to > from) {
            self.unreadable -= 1;
            self.missing += 1;
            if let Some(told) = told {
                self.told[told] = format!(
                    "{} {line} is unreadable: event {from} is lost with it",
                    self.unit()
                );
            }
            from += 1;
        }
        match to.saturating_sub(from) {
            0 => {}
            1 => {
                self.tell(format!("event {from} is missing {place}"));
            }
            _ => {
                self.tell(format!("events {from}–{} are missing {place}", to - 1));
            }
        }
        self.missing += to.saturating_sub(from);
    }

    /// Tells `problem`, or only counts it past [`TOLD`]; returns where it is told.
    fn tell(&mut self, problem: String) -> Option<usize> {
        if self.told.len() < TOLD {
            self.told.push(problem);
            Some(self.told.len() - 1)
        } else {
            self.untold += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Events a newer llmrace wrote that this one does not know are not damage: the notice
    /// says to update, and real damage beside them is still told.
    #[test]
    fn unknown_events_of_a_newer_format_are_not_damage() {
        let newer = crate::event::EVENT_FORMAT_VERSION + 1;
        let mut damage = Damage::numbered();
        damage.newer(newer);
        assert!(damage.keep(Some(1), 2));
        damage.unknown(Some(2), 3);
        damage.unknown(Some(3), 4);
        assert!(damage.keep(Some(4), 5));
        let told = damage.told().unwrap();
        assert!(
            told.starts_with(&format!(
                "the replay was written by a newer llmrace (event format {newer}"
            )),
            "{told}"
        );
        assert!(told.contains("2 events it does not know"), "{told}");
        assert!(!told.contains("damaged"), "{told}");
        assert_eq!(notice(&told), told);
        assert!(is_notice(&notice(&told)));
        damage.stopped("the file ends in the middle of line 6".into());
        let told = damage.told().unwrap();
        assert!(
            told.contains("; and the replay is damaged: the file ends"),
            "{told}"
        );
        // The same lines in a file of this llmrace's format are damage.
        let mut damage = Damage::numbered();
        damage.unknown(Some(1), 2);
        assert!(damage.told().unwrap().starts_with("1 line unreadable"));
    }

    #[test]
    fn a_sound_file_has_no_damage() {
        let mut damage = Damage::numbered();
        for n in 1..=3 {
            assert!(damage.keep(Some(n), usize::try_from(n).unwrap() + 1));
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
            "4 events missing, 1 event repeated: event 2 is repeated at line 4 and left out; \
             events 3–4 are missing before line 5; line 6 is unreadable: event 6 is lost with \
             it; event 7 is missing before the end line, line 7"
        );
    }

    /// A repeated event is left out: nothing is lost, and the notice does not say it is.
    #[test]
    fn a_repeated_event_alone_loses_nothing() {
        let mut damage = Damage::numbered();
        assert!(damage.keep(Some(1), 2));
        assert!(!damage.keep(Some(1), 3));
        assert!(damage.keep(Some(2), 4));
        damage.ended(Some(2), 5);
        let told = damage.told().unwrap();
        assert_eq!(
            notice(&told),
            "the replay is damaged: 1 event repeated: event 1 is repeated at line 3 and left \
             out; nothing was lost"
        );
        // A header line repeated too is told once, however many.
        damage.header_repeated(6);
        damage.header_repeated(7);
        assert!(
            damage
                .told()
                .unwrap()
                .contains("2 header lines repeated: event 1 is repeated at line 3 and left out; the header is repeated at line 6 and left out; nothing was lost"),
            "{:?}",
            damage.told()
        );
        // Something lost besides: said so.
        damage.unreadable(8);
        assert!(notice(&damage.told().unwrap()).ends_with("what was lost is left out"));
    }

    #[test]
    fn a_garbled_line_is_told_once_and_a_far_number_is_not_believed() {
        let mut damage = Damage::numbered();
        assert!(damage.keep(Some(1), 2));
        damage.unreadable(3);
        assert!(damage.keep(Some(3), 4));
        // Event 4's number garbled upward: that line alone is lost, not the events after it.
        assert!(!damage.keep(Some(1_000_000_000), 5));
        for n in 5..=7 {
            assert!(damage.keep(Some(n), usize::try_from(n).unwrap() + 1));
        }
        damage.unreadable(9);
        assert!(damage.keep(Some(9), 11));
        damage.ended(Some(9), 12);
        assert_eq!(
            damage.told().unwrap(),
            "3 events missing, 1 line unreadable: line 3 is unreadable: event 2 is lost with \
             it; line 5 is unreadable: event 4 is lost with it; line 9 is unreadable and left \
             out; event 8 is missing before line 11"
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
