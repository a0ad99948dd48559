//! Incremental Server-Sent Events parser, following the WHATWG "event stream interpretation"
//! rules, fed with whatever byte slices the network hands over.
//!
//! This is a synchronous push parser (`feed(&[u8])`) rather than the `eventsource-stream` crate's
//! `Stream` adapter: the engine stamps arrival times per network read and must see the events of
//! that read right away, and benchmarks and fixture tests drive it with plain byte slices.
//!
//! Deviations from the spec, on purpose: a last event not followed by a blank line is still
//! dispatched by [`SseParser::finish`] (many servers end the body right after the last `data:`
//! line), and invalid UTF-8 is reported instead of being replaced with U+FFFD, so a decoder can
//! flag the body as malformed.
//!
//! Memory is bounded: a line or an event's data longer than [`MAX_EVENT_BYTES`] ends the parse
//! of that body with [`SseItem::TooLong`], so a server that never sends a line end cannot make
//! the client buffer without limit.

/// The longest line, and the most data one event may carry. Real events are a few hundred bytes
/// (one token's delta) to a few hundred KiB (a whole non-streamed answer sent as one event); 4 MiB
/// is ten times the largest answer a 128k-token context can produce, yet 200 concurrent requests
/// stuck at the limit hold under 1 GiB.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// What the parser reports while fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SseItem<'a> {
    /// A dispatched event.
    Event(SseEvent<'a>),
    /// A `data:` or `event:` line that was not UTF-8 (the whole line, without its line end).
    /// The event it belonged to is dropped.
    InvalidUtf8(&'a [u8]),
    /// A line or an event's data grew past `limit` bytes. The rest of the body is ignored: an
    /// event was lost, so nothing after it can be trusted to be complete.
    TooLong { limit: usize },
}

/// One dispatched event. `data` holds the event's `data:` lines joined with `"\n"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` name; `"message"` when the event had none, as the spec says.
    pub event: &'a str,
    pub data: &'a str,
}

/// Parser state carried across `feed` calls. Buffers are reused from event to event, so a
/// steady stream allocates nothing once they have grown to the size of its events.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The bytes of a line whose end has not arrived yet.
    partial: Vec<u8>,
    /// The previous feed ended on a CR: an LF opening the next feed belongs to that line end.
    skip_lf: bool,
    /// The first line has been seen (a byte order mark is only stripped from the first line).
    started: bool,
    event: String,
    /// The event's data lines so far, unless the only one still lives in the caller's slice.
    data: String,
    has_data: bool,
    /// The length of the event's data, wherever it lives.
    data_len: usize,
    /// A line of the current event was not UTF-8: the event is dropped at dispatch.
    poisoned: bool,
    /// The body overflowed [`MAX_EVENT_BYTES`]: everything up to [`SseParser::finish`] is ignored.
    overflowed: bool,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses the next bytes of the body; complete events are handed to `on` as they are found.
    pub fn feed(&mut self, bytes: &[u8], mut on: impl FnMut(SseItem<'_>)) {
        if self.overflowed {
            return;
        }
        let mut rest = bytes;
        if self.skip_lf && !rest.is_empty() {
            self.skip_lf = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        // Finish the line the previous feed left open before lines borrowed in place.
        if !self.partial.is_empty() {
            let Some(end) = line_end(rest) else {
                self.keep_partial(rest, &mut on);
                return;
            };
            let (head, tail) = rest.split_at(end);
            if self.partial.len() + head.len() > MAX_EVENT_BYTES {
                self.overflow(&mut on);
                return;
            }
            self.partial.extend_from_slice(head);
            rest = self.skip_line_end(tail);
            let line = std::mem::take(&mut self.partial);
            self.line_owned(&line, &mut on);
            self.partial = line;
            self.partial.clear();
        }
        // The data of an event whose only data line sits in `bytes` is handed out without a copy.
        let mut single: Option<&str> = None;
        while !self.overflowed
            && let Some(end) = line_end(rest)
        {
            let (line, tail) = rest.split_at(end);
            rest = self.skip_line_end(tail);
            self.line(line, &mut single, &mut on);
        }
        if self.overflowed {
            return;
        }
        if let Some(s) = single {
            self.data.push_str(s);
        }
        self.keep_partial(rest, &mut on);
    }

    /// The body ended: a line without a line end and an event without its blank line are
    /// dispatched. The parser is then ready for a new body.
    pub fn finish(&mut self, mut on: impl FnMut(SseItem<'_>)) {
        if !self.overflowed && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line_owned(&line, &mut on);
            self.partial = line;
        }
        if !self.overflowed {
            let mut single = None;
            self.line(b"", &mut single, &mut on);
        }
        self.partial.clear();
        self.event.clear();
        self.data.clear();
        self.data_len = 0;
        self.has_data = false;
        self.poisoned = false;
        self.overflowed = false;
        self.skip_lf = false;
        self.started = false;
    }

    /// Between two events: no line begun, no field of an event seen, the first line (and its
    /// byte order mark) past. A whole event read from here on by someone else leaves the
    /// parser as it would have left it: as it is.
    pub fn between_events(&self) -> bool {
        self.started
            && self.partial.is_empty()
            && !self.skip_lf
            && !self.has_data
            && self.event.is_empty()
            && !self.poisoned
            && !self.overflowed
    }

    /// Holds the start of a line until its end arrives, unless the line is already too long.
    fn keep_partial(&mut self, bytes: &[u8], on: &mut impl FnMut(SseItem<'_>)) {
        if self.partial.len() + bytes.len() > MAX_EVENT_BYTES {
            self.overflow(on);
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn overflow(&mut self, on: &mut impl FnMut(SseItem<'_>)) {
        self.overflowed = true;
        // Released, not cleared: the next body should not inherit a buffer of this size.
        self.partial = Vec::new();
        self.data = String::new();
        on(SseItem::TooLong {
            limit: MAX_EVENT_BYTES,
        });
    }

    /// A line held in a buffer of ours: its data is copied before the buffer is reused.
    fn line_owned(&mut self, line: &[u8], on: &mut impl FnMut(SseItem<'_>)) {
        let mut single = None;
        self.line(line, &mut single, on);
        if let Some(s) = single {
            self.data.push_str(s);
        }
    }

    /// Consumes the line end at the start of `tail` (CR, LF or CRLF).
    fn skip_line_end<'b>(&mut self, tail: &'b [u8]) -> &'b [u8] {
        match tail {
            [b'\r'] => {
                self.skip_lf = true;
                &[]
            }
            [b'\r', b'\n', rest @ ..] | [_, rest @ ..] => rest,
            [] => tail,
        }
    }

    fn line<'l>(
        &mut self,
        mut line: &'l [u8],
        single: &mut Option<&'l str>,
        on: &mut impl FnMut(SseItem<'_>),
    ) {
        if line.len() > MAX_EVENT_BYTES {
            self.overflow(on);
            return;
        }
        if !self.started {
            self.started = true;
            if let [0xEF, 0xBB, 0xBF, rest @ ..] = line {
                line = rest;
            }
        }
        if line.is_empty() {
            self.dispatch(single.take(), on);
            return;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return, // a comment, often a keep-alive
            Some(colon) => {
                let value = line.get(colon + 1..).unwrap_or_default();
                let value = value.strip_prefix(b" ").unwrap_or(value);
                (line.get(..colon).unwrap_or_default(), value)
            }
            None => (line, &[][..]),
        };
        // `id`, `retry` and unknown fields do not matter to a decoder, so only the two fields
        // that do are checked for UTF-8.
        let is_data = match name {
            b"data" => true,
            b"event" => false,
            _ => return,
        };
        let Ok(value) = std::str::from_utf8(value) else {
            self.poisoned = true;
            on(SseItem::InvalidUtf8(line));
            return;
        };
        if !is_data {
            self.event.clear();
            self.event.push_str(value);
        } else if !self.has_data {
            self.has_data = true;
            self.data_len = value.len();
            *single = Some(value);
        } else {
            self.data_len += 1 + value.len();
            if self.data_len > MAX_EVENT_BYTES {
                *single = None;
                self.overflow(on);
                return;
            }
            if let Some(first) = single.take() {
                self.data.push_str(first);
            }
            self.data.push('\n');
            self.data.push_str(value);
        }
    }

    fn dispatch(&mut self, single: Option<&str>, on: &mut impl FnMut(SseItem<'_>)) {
        if self.has_data && !self.poisoned {
            let event = if self.event.is_empty() {
                "message"
            } else {
                &self.event
            };
            let data = single.unwrap_or(&self.data);
            on(SseItem::Event(SseEvent { event, data }));
        }
        self.event.clear();
        self.data.clear();
        self.data_len = 0;
        self.has_data = false;
        self.poisoned = false;
    }
}

/// The bytes of a `data:` line's value (after the one space the spec strips), when `bytes`, read
/// between events, starts with such a line: for a decoder that reads whole events itself.
pub(super) fn data_value(bytes: &[u8]) -> Option<(&[u8], usize)> {
    match bytes {
        [b'd', b'a', b't', b'a', b':', b' ', value @ ..] => Some((value, 6)),
        [b'd', b'a', b't', b'a', b':', value @ ..] => Some((value, 5)),
        _ => None,
    }
}

/// When the `len` bytes that start `value` are the whole rest of a `data:` line (the decoder
/// checked they hold no CR or LF) and a blank line follows, so the event ends there: how many
/// bytes the line and the blank line take. The usual ends only (LF LF, CR LF CR LF); any other
/// is the parser's to read.
pub(super) fn event_end(value: &[u8], len: usize) -> Option<usize> {
    match value.get(len..)? {
        [b'\n', b'\n', ..] => Some(len + 2),
        [b'\r', b'\n', b'\r', b'\n', ..] => Some(len + 4),
        _ => None,
    }
}

/// Where the first LF LF in `bytes` ends: the end of an event, for a caller that splits a read
/// there (a blank line after another line end, or one of CR LF, is found at a later LF LF).
pub(super) fn first_blank_line_end(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let lf = from + find_line_end(bytes.get(from..)?, false)?;
        if bytes.get(lf + 1) == Some(&b'\n') {
            return Some(lf + 2);
        }
        from = lf + 1;
    }
}

/// Index of the first LF, or of the first CR or LF when `cr` (an SSE line end). Eight bytes at
/// a time: words with no byte below 0x0E (CR is 0x0D, LF 0x0A) are skipped whole, which is
/// nearly every word of JSON text.
pub(super) fn find_line_end(bytes: &[u8], cr: bool) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let is_end = |b: &u8| *b == b'\n' || cr && *b == b'\r';
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in &mut words {
        let w = u64::from_ne_bytes(<[u8; 8]>::try_from(word).unwrap_or_default());
        if w.wrapping_sub(ONES * 0x0E) & !w & HIGHS != 0
            && let Some(i) = word.iter().position(is_end)
        {
            return Some(start + i);
        }
        start += 8;
    }
    words.remainder().iter().position(is_end).map(|i| start + i)
}

fn line_end(bytes: &[u8]) -> Option<usize> {
    find_line_end(bytes, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(chunks: &[&[u8]]) -> Vec<(String, String)> {
        let mut parser = SseParser::new();
        let mut got = Vec::new();
        let mut push = |item: SseItem<'_>| match item {
            SseItem::Event(e) => got.push((e.event.to_owned(), e.data.to_owned())),
            SseItem::InvalidUtf8(line) => got.push(("!utf8".to_owned(), format!("{line:?}"))),
            SseItem::TooLong { limit } => got.push(("!too_long".to_owned(), limit.to_string())),
        };
        for chunk in chunks {
            parser.feed(chunk, &mut push);
        }
        parser.finish(&mut push);
        got
    }

    fn ev(event: &str, data: &str) -> (String, String) {
        (event.to_owned(), data.to_owned())
    }

    #[test]
    fn cr_split_from_its_lf_is_one_line_end() {
        let got = events(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(got, vec![ev("message", "a\nb")]);
    }

    #[test]
    fn multi_line_data_across_feeds_is_joined() {
        let got = events(&[b"event: x\ndata: one\nda", b"ta:two\ndata\n\n"]);
        assert_eq!(got, vec![ev("x", "one\ntwo\n")]);
    }

    #[test]
    fn blank_line_without_data_dispatches_nothing_and_resets_the_name() {
        let got = events(&[b"event: a\n\ndata: 1\n\n"]);
        assert_eq!(got, vec![ev("message", "1")]);
    }

    #[test]
    fn bom_is_stripped_from_the_first_line_only() {
        let got = events(&[b"\xEF\xBB", b"\xBFdata: 1\n\n\xEF\xBB\xBFdata: 2\n\n"]);
        assert_eq!(got, vec![ev("message", "1")]);
    }

    #[test]
    fn last_event_without_blank_line_is_dispatched_at_finish() {
        assert_eq!(events(&[b"data: end"]), vec![ev("message", "end")]);
        assert_eq!(events(&[b"data: end\r"]), vec![ev("message", "end")]);
    }

    #[test]
    fn invalid_utf8_drops_the_event_and_is_reported() {
        let got = events(&[b"data: \xFF\n\ndata: ok\n\n"]);
        assert_eq!(
            got,
            vec![
                ev("!utf8", "[100, 97, 116, 97, 58, 32, 255]"),
                ev("message", "ok")
            ]
        );
    }

    #[test]
    fn line_end_search_agrees_with_a_plain_scan() {
        for filler in [0x00, 0x09, 0x0B, 0x0E, 0x20, 0x7F, 0x80, 0xFF] {
            for len in 0..24 {
                for at in 0..=len {
                    for end in [b'\r', b'\n'] {
                        let mut bytes = vec![filler; len];
                        if at < len {
                            bytes[at] = end;
                        }
                        for cr in [true, false] {
                            let plain = bytes.iter().position(|&b| b == b'\n' || cr && b == b'\r');
                            assert_eq!(find_line_end(&bytes, cr), plain, "{bytes:?} cr={cr}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_first_blank_line_is_found_after_any_line() {
        for (bytes, end) in [
            (&b"a\n\nb"[..], Some(3)),
            (b"\n\n", Some(2)),
            (b"data: x\ndata: y\n\ndata: z\n\n", Some(17)),
            (b"a\n\n", Some(3)),
            (b"a\r\n\r\nb", None),
            (b"a\nb\n", None),
            (b"", None),
        ] {
            assert_eq!(first_blank_line_end(bytes), end, "{bytes:?}");
        }
    }

    #[test]
    fn only_one_space_after_the_colon_is_stripped() {
        assert_eq!(events(&[b"data:  x\n\n"]), vec![ev("message", " x")]);
    }

    fn too_long() -> (String, String) {
        ev("!too_long", &MAX_EVENT_BYTES.to_string())
    }

    #[test]
    fn a_line_at_the_limit_is_kept_whole_or_split() {
        let data = "x".repeat(MAX_EVENT_BYTES - "data: ".len());
        let body = format!("data: {data}\n\n");
        let (a, b) = body.as_bytes().split_at(body.len() / 2);
        assert_eq!(events(&[body.as_bytes()]), vec![ev("message", &data)]);
        assert_eq!(events(&[a, b]), vec![ev("message", &data)]);
    }

    #[test]
    fn a_line_past_the_limit_ends_the_body_whole_or_split() {
        let body = format!("data: {}\n\ndata: after\n\n", "x".repeat(MAX_EVENT_BYTES));
        let bytes = body.as_bytes();
        assert_eq!(events(&[bytes]), vec![too_long()]);
        let chunks: Vec<&[u8]> = bytes.chunks(64 * 1024).collect();
        assert_eq!(events(&chunks), vec![too_long()]);
    }

    #[test]
    fn a_line_without_end_is_not_buffered_past_the_limit() {
        let mut parser = SseParser::new();
        let mut items = 0;
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..64 {
            parser.feed(&chunk, |item| {
                assert_eq!(
                    item,
                    SseItem::TooLong {
                        limit: MAX_EVENT_BYTES
                    }
                );
                items += 1;
            });
            assert!(parser.partial.capacity() <= 2 * MAX_EVENT_BYTES);
        }
        parser.finish(|_| items += 1);
        assert_eq!(items, 1, "one report, nothing dispatched at the end");
    }

    #[test]
    fn many_data_lines_past_the_limit_end_the_body() {
        let line = format!("data: {}\n", "y".repeat(1024));
        let body = line.repeat(MAX_EVENT_BYTES / 1024 + 1);
        assert_eq!(events(&[body.as_bytes()]), vec![too_long()]);
        let chunks: Vec<&[u8]> = body.as_bytes().chunks(1000).collect();
        assert_eq!(events(&chunks), vec![too_long()]);
    }

    #[test]
    fn the_parser_is_fresh_after_an_overflowed_body() {
        let mut parser = SseParser::new();
        parser.feed(&vec![b'z'; MAX_EVENT_BYTES + 1], |_| {});
        parser.finish(|_| {});
        let mut got = Vec::new();
        parser.feed(b"data: next\n\n", |item| {
            if let SseItem::Event(e) = item {
                got.push(e.data.to_owned());
            }
        });
        assert_eq!(got, vec!["next".to_owned()]);
    }
}
