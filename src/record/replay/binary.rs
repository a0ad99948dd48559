//! Replay format 3's records: the events (and the end) after the JSON header and prompt lines,
//! each a few bytes instead of a JSON line. A record is its length (a LEB128 varint) and that
//! many bytes: a tag, then the tag's fields. Event records (tags below [`END`]) start with the
//! time since the previous event, the endpoint and the request as the difference from the
//! previous event's, so a reader can skip a tag it does not know and still follow the times.
//! Content (most events) is packed by hand; every other kind carries its JSON, as rare as it is.
//! README's "Replay format" section is the spec a reader written elsewhere needs.

use crate::event::{EndpointId, EventKind, Offset, RaceEvent, RequestId, ToolCall};

use super::ReplayEnd;

/// A content event: flags, the optional fields they announce, then the text to the record's end.
pub(super) const CONTENT: u8 = 1;
/// Any other event: its kind as JSON (`{"kind":"sent",…}`) to the record's end.
pub(super) const OTHER: u8 = 2;
/// Tags from here on are not events; this one is the race's end: its time, whether it was
/// interrupted, how many events the file holds.
pub(super) const END: u8 = 0x80;

const REASONING: u8 = 1;
const UNSTAMPED: u8 = 1 << 1;
const AFTER: u8 = 1 << 2;
const LATE: u8 = 1 << 3;
const CHUNKS: u8 = 1 << 4;
const TOOL: u8 = 1 << 5;
const TOOL_ID: u8 = 1 << 6;
const TOOL_NAME: u8 = 1 << 7;

/// The previous event's time and request, which the next record is written against.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Deltas {
    t: u64,
    request: u64,
}

/// Writes events as records. Starts from zero time and request 0, as every reader does.
#[derive(Debug, Default)]
pub(crate) struct Encoder {
    last: Deltas,
}

impl Encoder {
    /// Appends `event`'s record to `out`.
    pub(crate) fn event(&mut self, event: &RaceEvent, out: &mut Vec<u8>) {
        let (t, request) = (event.t.0, event.request.0);
        let mut head = Head::default();
        let content = matches!(event.kind, EventKind::Content { .. });
        head.byte(if content { CONTENT } else { OTHER });
        head.varint(zigzag(t.wrapping_sub(self.last.t)));
        head.varint(u64::from(event.endpoint.0));
        head.varint(zigzag(request.wrapping_sub(self.last.request)));
        self.last = Deltas { t, request };
        let EventKind::Content {
            text,
            reasoning,
            chunks,
            after,
            late_us,
            unstamped,
            tool,
        } = &event.kind
        else {
            let start = open(out);
            out.extend_from_slice(head.bytes());
            // Serialising an event kind into memory cannot fail: its maps have string keys.
            let _ = serde_json::to_writer(&mut *out, &event.kind);
            close(out, start);
            return;
        };
        // A token (nearly every record): its fixed fields gathered on the stack and appended
        // with its text in two copies, not a push and a capacity check per byte.
        let text: &str = text;
        let flags = flag(*reasoning, REASONING)
            | flag(*unstamped, UNSTAMPED)
            | flag(after.is_some(), AFTER)
            | flag(late_us.is_some(), LATE)
            | flag(*chunks != 1, CHUNKS)
            | flag(tool.is_some(), TOOL)
            | flag(tool.as_ref().is_some_and(|c| c.id.is_some()), TOOL_ID)
            | flag(tool.as_ref().is_some_and(|c| c.name.is_some()), TOOL_NAME);
        head.byte(flags);
        if *chunks != 1 {
            head.varint(u64::from(*chunks));
        }
        if let Some(after) = after {
            head.varint(after.0);
        }
        if let Some(late) = late_us {
            head.varint(*late);
        }
        out.reserve(1 + head.len + text.len());
        let start = open(out);
        out.extend_from_slice(head.bytes());
        if let Some(tool) = tool {
            put(out, u64::from(tool.index));
            for s in [&tool.id, &tool.name].into_iter().flatten() {
                put(out, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
        }
        out.extend_from_slice(text.as_bytes());
        close(out, start);
    }

    /// Appends the end record.
    #[expect(
        clippy::unused_self,
        reason = "the end is the last record of the encoder that wrote the events"
    )]
    pub(crate) fn end(&mut self, end: ReplayEnd, events: u64, out: &mut Vec<u8>) {
        let start = open(out);
        out.push(END);
        put(out, end.t.0);
        out.push(u8::from(end.interrupted));
        put(out, events);
        close(out, start);
    }
}

/// A record's fixed fields before its text or JSON: a tag, three varints of the deltas and
/// the endpoint, content's flags and up to three more varints, at most 1 + 10 + 3 + 10 + 1 +
/// 5 + 10 + 10 = 50 bytes.
struct Head {
    bytes: [u8; 64],
    len: usize,
}

impl Default for Head {
    fn default() -> Self {
        Head {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl Head {
    fn byte(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// As [`put`] writes it.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the low seven bits are what each byte keeps"
    )]
    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.byte((n as u8) | 0x80);
            n >>= 7;
        }
        self.byte(n as u8);
    }

    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

fn flag(set: bool, bit: u8) -> u8 {
    if set { bit } else { 0 }
}

/// Starts a record in `out`: a byte for its length, which most records (a token's text, a few
/// numbers) fit in. The body is then written straight after it, not into a buffer of its own
/// and copied; returns where the record starts, for [`close`].
fn open(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len() - 1
}

/// Writes the length of the record opened at `start`; a body of 128 bytes or more needs a
/// longer varint, and moves up to make room for it. The bytes are those of the length
/// followed by the body, whichever way they were written.
#[expect(
    clippy::cast_possible_truncation,
    reason = "below 0x80 the length is its own one-byte varint"
)]
fn close(out: &mut Vec<u8>, start: usize) {
    let length = out.len() - start - 1;
    if length < 0x80 {
        out[start] = length as u8;
        return;
    }
    let mut prefix = Vec::with_capacity(10);
    put(&mut prefix, length as u64);
    out.splice(start..=start, prefix);
}

/// `n` as LEB128: seven bits a byte, low first, the high bit set on all but the last.
#[expect(
    clippy::cast_possible_truncation,
    reason = "the low seven bits are what each byte keeps"
)]
pub(crate) fn put(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A difference taken with wrapping arithmetic, zigzagged so that small negative ones are
/// small too (0, -1, 1, -2 … as 0, 1, 2, 3 …).
fn zigzag(difference: u64) -> u64 {
    let n = difference.cast_signed();
    ((n << 1) ^ (n >> 63)).cast_unsigned()
}

/// What one record held.
#[derive(Debug, PartialEq)]
pub(crate) enum Record {
    Event(RaceEvent),
    /// An event of a kind this llmrace does not know (a newer one's), or whose fields do not
    /// read: left out; the times of the events after it are still right.
    Unknown,
    End {
        end: ReplayEnd,
        events: u64,
    },
}

/// Why a record could not be read at all.
#[derive(Debug, PartialEq)]
pub(crate) struct Unreadable;

/// Reads records, keeping the time and request each is written against.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    last: Deltas,
}

impl Decoder {
    /// The record whose bytes (after its length) are `record`.
    pub(crate) fn record(&mut self, record: &[u8]) -> Result<Record, Unreadable> {
        let mut input = Input(record);
        let tag = input.byte()?;
        if tag >= END {
            if tag != END {
                return Ok(Record::Unknown);
            }
            let t = Offset(input.varint()?);
            let interrupted = match input.byte()? {
                0 => false,
                1 => true,
                _ => return Err(Unreadable),
            };
            let events = input.varint()?;
            input.done()?;
            return Ok(Record::End {
                end: ReplayEnd { t, interrupted },
                events,
            });
        }
        let t = self.last.t.wrapping_add(input.signed()?);
        let endpoint = u16::try_from(input.varint()?).map_err(|_| Unreadable)?;
        let request = self.last.request.wrapping_add(input.signed()?);
        // Kept before the rest is read: the next record is written against these even when
        // this one's fields turn out unreadable.
        self.last = Deltas { t, request };
        let kind = match tag {
            CONTENT => content(&mut input).ok(),
            OTHER => serde_json::from_slice::<EventKind>(input.0).ok(),
            _ => None,
        };
        Ok(kind.map_or(Record::Unknown, |kind| {
            Record::Event(RaceEvent {
                t: Offset(t),
                endpoint: EndpointId(endpoint),
                request: RequestId(request),
                kind,
            })
        }))
    }
}

fn content(input: &mut Input<'_>) -> Result<EventKind, Unreadable> {
    let flags = input.byte()?;
    let chunks = if flags & CHUNKS == 0 {
        1
    } else {
        u32::try_from(input.varint()?).map_err(|_| Unreadable)?
    };
    let after = (flags & AFTER != 0)
        .then(|| input.varint().map(Offset))
        .transpose()?;
    let late_us = (flags & LATE != 0).then(|| input.varint()).transpose()?;
    let tool = if flags & TOOL == 0 {
        if flags & (TOOL_ID | TOOL_NAME) != 0 {
            return Err(Unreadable);
        }
        None
    } else {
        let index = u32::try_from(input.varint()?).map_err(|_| Unreadable)?;
        let id = (flags & TOOL_ID != 0).then(|| input.string()).transpose()?;
        let name = (flags & TOOL_NAME != 0)
            .then(|| input.string())
            .transpose()?;
        Some(ToolCall { index, id, name })
    };
    let text = std::str::from_utf8(input.0).map_err(|_| Unreadable)?;
    Ok(EventKind::Content {
        text: text.into(),
        reasoning: flags & REASONING != 0,
        chunks,
        after,
        late_us,
        unstamped: flags & UNSTAMPED != 0,
        tool,
    })
}

/// The bytes of a record not read yet.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Result<u8, Unreadable> {
        let (&first, rest) = self.0.split_first().ok_or(Unreadable)?;
        self.0 = rest;
        Ok(first)
    }

    fn varint(&mut self) -> Result<u64, Unreadable> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit of a u64.
            if shift == 63 && bits > 1 {
                return Err(Unreadable);
            }
            n |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Unreadable)
    }

    fn signed(&mut self) -> Result<u64, Unreadable> {
        let n = self.varint()?;
        Ok(((n >> 1).cast_signed() ^ -((n & 1).cast_signed())).cast_unsigned())
    }

    fn string(&mut self) -> Result<String, Unreadable> {
        let len = usize::try_from(self.varint()?).map_err(|_| Unreadable)?;
        if len > self.0.len() {
            return Err(Unreadable);
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| Unreadable)
    }

    fn done(&self) -> Result<(), Unreadable> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Unreadable)
        }
    }
}

/// The events of records written one after another by one [`Encoder`] from its start (the
/// player's blocks); records that do not read are left out.
pub(crate) fn events(mut records: &[u8]) -> Vec<RaceEvent> {
    let mut decoder = Decoder::default();
    let mut events = Vec::new();
    while let Ok(Some(length)) = read_length(&mut records) {
        let length = usize::try_from(length)
            .unwrap_or(usize::MAX)
            .min(records.len());
        let (record, rest) = records.split_at(length);
        records = rest;
        if let Ok(Record::Event(event)) = decoder.record(record) {
            events.push(event);
        }
    }
    events
}

/// Reads a record's length: `Ok(None)` at the end of the input, an error for one cut in its
/// length or a length that is no varint.
pub(crate) fn read_length(input: &mut impl std::io::BufRead) -> std::io::Result<Option<u64>> {
    let mut n = 0u64;
    let mut shift = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let Some(&byte) = available.first() else {
            return if shift == 0 {
                Ok(None)
            } else {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            };
        };
        input.consume(1);
        if shift > 56 {
            return Err(std::io::Error::other("a record's length is not a number"));
        }
        n |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(Some(n));
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(events: &[RaceEvent]) {
        let (mut encoder, mut decoder) = (Encoder::default(), Decoder::default());
        let mut out = Vec::new();
        for event in events {
            encoder.event(event, &mut out);
        }
        let mut input = &out[..];
        for event in events {
            let len = usize::try_from(read_length(&mut input).unwrap().unwrap()).unwrap();
            let (record, rest) = input.split_at(len);
            input = rest;
            assert_eq!(decoder.record(record), Ok(Record::Event(event.clone())));
        }
        assert!(input.is_empty());
    }

    fn event(t: u64, request: u64, kind: EventKind) -> RaceEvent {
        RaceEvent {
            t: Offset(t),
            endpoint: EndpointId(3),
            request: RequestId(request),
            kind,
        }
    }

    #[test]
    fn every_event_of_the_fixture_race_reads_back_the_same() {
        let replay = super::super::fixture::replay(3, 40);
        round_trip(&replay.events);
    }

    /// A record's body is written after a one-byte length that a longer one replaces: records
    /// whose length needs one, two and three bytes, each after others in the same buffer.
    #[test]
    fn records_of_every_length_around_a_varints_steps_read_back() {
        let lengths = (0..140).chain(16_370..16_400).chain([200_000]);
        let events: Vec<RaceEvent> = lengths
            .enumerate()
            .map(|(i, n)| {
                let kind = EventKind::Content {
                    text: "x".repeat(n).into(),
                    reasoning: false,
                    chunks: 1,
                    after: None,
                    late_us: None,
                    unstamped: false,
                    tool: None,
                };
                event(i as u64 * 1_000, i as u64 % 7, kind)
            })
            .collect();
        round_trip(&events);
        let mut out = Vec::new();
        // The first of 16 384 bytes: 16 370 + 14.
        Encoder::default().event(&events[140 + 14], &mut out);
        let (mut input, body) = (&out[..], out.len() - 3);
        assert_eq!(read_length(&mut input).unwrap(), Some(body as u64));
        assert_eq!(
            input.len(),
            body,
            "the shortest varint: three bytes for 16 KiB"
        );
    }

    /// The bytes themselves, as README's "Replay format 3" specifies them, whatever way the
    /// encoder gathers them: old readers and readers written elsewhere read these.
    #[test]
    fn content_records_are_the_bytes_the_format_specifies() {
        let token = EventKind::Content {
            text: "tok ".into(),
            reasoning: false,
            chunks: 1,
            after: Some(Offset(5)),
            late_us: Some(300),
            unstamped: false,
            tool: None,
        };
        let tool = EventKind::Content {
            text: "x".into(),
            reasoning: false,
            chunks: 1,
            after: None,
            late_us: None,
            unstamped: false,
            tool: Some(ToolCall {
                index: 3,
                id: None,
                name: Some("f".into()),
            }),
        };
        let mut encoder = Encoder::default();
        let mut out = Vec::new();
        encoder.event(&event(1500, 7, token), &mut out);
        encoder.event(&event(1000, 7, tool), &mut out);
        // Length, tag, t +1500 zigzagged, endpoint 3, request +7 zigzagged, flags (after,
        // late), after 5, late 300, then the text.
        let token = [13, CONTENT, 0xB8, 0x17, 3, 14, AFTER | LATE, 5, 0xAC, 0x02];
        // t -500, the same request, flags (a tool call, its name), its index, its name.
        let call = [10, CONTENT, 0xE7, 0x07, 3, 0, TOOL | TOOL_NAME, 3, 1, b'f'];
        assert_eq!(out, [&token[..], b"tok ", &call[..], b"x"].concat());
    }

    #[test]
    fn content_with_every_field_and_extreme_numbers_reads_back_the_same() {
        let full = EventKind::Content {
            text: "ünïcode\n\"quoted\"".into(),
            reasoning: true,
            chunks: u32::MAX,
            after: Some(Offset(u64::MAX)),
            late_us: Some(0),
            unstamped: true,
            tool: Some(ToolCall {
                index: 7,
                id: Some("call_1".into()),
                name: Some(String::new()),
            }),
        };
        let bare = EventKind::Content {
            text: compact_str::CompactString::default(),
            reasoning: false,
            chunks: 0,
            after: None,
            late_us: None,
            unstamped: false,
            tool: Some(ToolCall {
                index: 0,
                id: None,
                name: Some("get_weather".into()),
            }),
        };
        let cancelled = EventKind::Cancelled { bytes: 9 };
        // Times and requests that go backwards and wrap: the differences still read back.
        round_trip(&[
            event(u64::MAX, RequestId::SERVER.0, full),
            event(0, 0, bare),
            event(5, u64::MAX - 1, cancelled.clone()),
            event(1, 2, cancelled),
        ]);
    }

    #[test]
    fn the_end_reads_back_and_a_tag_not_known_is_skipped() {
        let mut out = Vec::new();
        let end = ReplayEnd {
            t: Offset(123_456_789),
            interrupted: true,
        };
        Encoder::default().end(end, 42, &mut out);
        let mut decoder = Decoder::default();
        assert_eq!(
            decoder.record(&out[1..]),
            Ok(Record::End { end, events: 42 })
        );
        assert_eq!(decoder.record(&[0x81, 1, 2]), Ok(Record::Unknown));
        // An event tag not known: its time still counts for the next record.
        assert_eq!(decoder.record(&[9, 20, 0, 0, 0xff]), Ok(Record::Unknown));
        assert_eq!(decoder.last.t, 10);
    }

    #[test]
    fn garbage_is_unreadable_and_never_a_panic() {
        let mut decoder = Decoder::default();
        assert_eq!(decoder.record(&[]), Err(Unreadable));
        assert_eq!(decoder.record(&[CONTENT, 0x80]), Err(Unreadable));
        assert_eq!(decoder.record(&[END, 1, 2, 3]), Err(Unreadable));
        let long = [0xff; 11];
        assert_eq!(Input(&long).varint(), Err(Unreadable));
        // A content record whose text is not UTF-8, or whose tool string runs past its end.
        assert_eq!(
            decoder.record(&[CONTENT, 0, 0, 0, 0, 0xc3]),
            Ok(Record::Unknown)
        );
        assert_eq!(
            decoder.record(&[CONTENT, 0, 0, 0, TOOL | TOOL_ID, 0, 9, b'a']),
            Ok(Record::Unknown)
        );
        let mut cut: &[u8] = &[0x80];
        assert!(read_length(&mut cut).is_err());
        let mut huge: &[u8] = &[0xff; 12];
        assert!(read_length(&mut huge).is_err());
    }
}
