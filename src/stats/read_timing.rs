//! What a request's network reads say about how far its times can be trusted: whether its first
//! token came in one read with later content (its time is then only an upper bound, over a
//! known floor), and how late the client read what arrived.
//!
//! A read is stamped with the arrival of its last segment, so content events that share a
//! read share a timestamp. Two reads practically never share a nanosecond stamp, so events
//! with the first token's exact time came in its read: this is a function of the timestamps
//! alone and holds for replays recorded before reads were noted.

use crate::event::Offset;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ReadTiming {
    /// When the first content arrived, as its read was stamped.
    first: Option<Offset>,
    /// Content events (SSE events, NDJSON lines) stamped with the first content's time.
    first_read_events: u32,
    /// None of the first content's read arrived before this (the previous read), if noted.
    after: Option<Offset>,
    late_max_us: Option<u64>,
    /// Content events whose read had no kernel stamp: how late those were read is unknown.
    unstamped: u32,
}

impl ReadTiming {
    /// Folds in a content event stamped `t` that merged `chunks` protocol events, with what its
    /// read noted: its floor (first content only), how late it was read, whether it was
    /// stamped at all.
    pub(crate) fn content(
        &mut self,
        t: Offset,
        chunks: u32,
        after: Option<Offset>,
        late_us: Option<u64>,
        unstamped: bool,
    ) {
        self.unstamped += u32::from(unstamped);
        if let Some(late) = late_us {
            self.late_max_us = Some(self.late_max_us.map_or(late, |max| max.max(late)));
        }
        match self.first {
            None => {
                self.first = Some(t);
                self.first_read_events = chunks;
                self.after = after;
            }
            Some(first) if first == t => {
                self.first_read_events = self.first_read_events.saturating_add(chunks);
            }
            Some(_) => {}
        }
    }

    /// How many content events the read that carried the first token held; `None` before it.
    pub(crate) fn first_read_events(&self) -> Option<u32> {
        self.first.map(|_| self.first_read_events)
    }

    /// The first token came in one read with later content: when it arrived is not known, only
    /// that it was between [`ReadTiming::first_token_floor`] and its read's stamp.
    pub(crate) fn batched_first_token(&self) -> bool {
        self.first_read_events > 1
    }

    /// The earliest a batched first token can have arrived: the read before its own, or else
    /// the headers when they came in an earlier read, and never before the request was sent.
    /// `None` when the first token's time is its own.
    pub(crate) fn first_token_floor(
        &self,
        sent: Offset,
        headers: Option<Offset>,
    ) -> Option<Offset> {
        let first = self.first.filter(|_| self.batched_first_token())?;
        let earlier_headers = headers.filter(|h| *h < first);
        let floor = self
            .after
            .into_iter()
            .chain(earlier_headers)
            .fold(sent, Offset::max);
        Some(floor.min(first))
    }

    /// The longest any of its content waited in the socket for the client to read it (a lower
    /// bound: measured from the read's last segment), when one did for a noted time.
    pub(crate) fn late_max_us(&self) -> Option<u64> {
        self.late_max_us
    }

    /// Content events read without a kernel stamp, whose lateness was not measured.
    pub(crate) fn unstamped(&self) -> u32 {
        self.unstamped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Offset {
        Offset(n * 1_000_000)
    }

    #[test]
    fn a_first_token_read_alone_keeps_its_time() {
        let mut reads = ReadTiming::default();
        assert_eq!(reads.first_read_events(), None);
        reads.content(ms(100), 1, Some(ms(3)), None, false);
        reads.content(ms(120), 1, None, None, false);
        assert_eq!(reads.first_read_events(), Some(1));
        assert!(!reads.batched_first_token());
        assert_eq!(reads.first_token_floor(ms(0), Some(ms(2))), None);
        assert_eq!(reads.late_max_us(), None);
        assert_eq!(reads.unstamped(), 0);
    }

    #[test]
    fn content_sharing_the_first_tokens_stamp_makes_it_an_upper_bound() {
        let mut reads = ReadTiming::default();
        reads.content(ms(160), 1, Some(ms(40)), Some(60_000), false);
        reads.content(ms(160), 2, None, Some(60_000), false);
        reads.content(ms(180), 1, None, Some(2_000), true);
        assert_eq!(reads.first_read_events(), Some(3));
        assert!(reads.batched_first_token());
        // The previous read is a closer floor than the headers' arrival.
        assert_eq!(reads.first_token_floor(ms(0), Some(ms(5))), Some(ms(40)));
        assert_eq!(reads.late_max_us(), Some(60_000));
        assert_eq!(reads.unstamped(), 1);
    }

    #[test]
    fn one_event_merging_several_protocol_events_is_batched_too() {
        let mut reads = ReadTiming::default();
        reads.content(ms(160), 4, None, None, false);
        assert!(reads.batched_first_token());
        assert_eq!(reads.first_read_events(), Some(4));
    }

    #[test]
    fn without_a_noted_read_the_floor_is_the_earlier_headers_or_the_sending() {
        let mut reads = ReadTiming::default();
        reads.content(ms(160), 2, None, None, false);
        assert_eq!(reads.first_token_floor(ms(10), Some(ms(50))), Some(ms(50)));
        // Headers read with the first token say nothing earlier than the sending.
        assert_eq!(reads.first_token_floor(ms(10), Some(ms(160))), Some(ms(10)));
        assert_eq!(reads.first_token_floor(ms(10), None), Some(ms(10)));
    }
}
