//! Reading a replay as a stream: the header first, then one event at a time, then how the file
//! ended. Lines are capped, so neither a long run nor a damaged file makes reading it hold more
//! than one line.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

use super::binary::{self, Record};
use super::damage::Damage;
use super::{EndLine, PromptLine, REPLAY_FORMAT_VERSION, ReplayEnd, ReplayError, ReplayHeader};
use crate::event::{Offset, RaceEvent};
use crate::record::files::REPLAY_FILE;

/// The longest line a replay may have. Real events are a few hundred bytes (a content delta
/// carries one chunk's text); a prompt has a line of its own, cut by the writer to fit. A
/// longer line is damage, read no further, so a corrupt or hostile file cannot make the
/// reader allocate without bound.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// A replay read as a stream: the header at once, then its events one at a time (the
/// iterator), then how it ended. Memory stays flat however long the race was, so reports and
/// folds of long runs need no more than the aggregator does.
pub struct ReplayReader<R = BufReader<MultiGzDecoder<Tally<File>>>> {
    header: ReplayHeader,
    progress: Option<Progress>,
    input: R,
    line: Vec<u8>,
    /// The number of the line read last (the header is line 1).
    number: usize,
    last_t: Option<Offset>,
    end: Option<ReplayEnd>,
    /// What is wrong inside the file, as found so far.
    problems: Damage,
    /// The header's first line, to know it when it is repeated.
    header_line: Vec<u8>,
    /// All of it in one line, once the events are read.
    damage: Option<String>,
    done: bool,
    /// Format 3: the records read so far.
    records_read: usize,
    /// Format 3's events are records after the prompt lines, not lines: read with this.
    binary: Option<Records>,
}

/// Where a format-3 reader is in the records.
struct Records {
    decoder: binary::Decoder,
    /// Event records read so far, the unreadable ones too: the number of the last.
    events: u64,
}

impl ReplayReader {
    /// Opens a replay file, or a results folder holding one, and reads its header.
    pub fn open(path: &Path) -> Result<ReplayReader, ReplayError> {
        let path = if path.is_dir() {
            let file = path.join(REPLAY_FILE);
            if !file.exists() {
                return Err(ReplayError::NoReplay {
                    dir: path.to_path_buf(),
                });
            }
            file
        } else {
            path.to_path_buf()
        };
        let read_error = |source| ReplayError::Read {
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(read_error)?;
        let mut magic = [0u8; 2];
        let is_gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
        if !is_gzip {
            return Err(ReplayError::NotAReplay {
                path,
                why: "it is not gzip-compressed".to_string(),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let progress = Progress {
            read: Arc::new(AtomicU64::new(0)),
            total: file.metadata().map_or(0, |m| m.len()),
        };
        let file = Tally {
            inner: file,
            read: Arc::clone(&progress.read),
        };
        let mut reader = ReplayReader::new(
            // Small reads: a damaged stream fails at the read that reaches the damage, and what
            // was decompressed before it still comes out as whole lines.
            BufReader::with_capacity(8 * 1024, MultiGzDecoder::new(file)),
            &path,
        )?;
        reader.progress = Some(progress);
        Ok(reader)
    }

    /// How far through its file the reader is, readable from another thread while it reads.
    pub fn progress(&self) -> Option<Progress> {
        self.progress.clone()
    }
}

/// How much of a replay file has been read, of how much.
#[derive(Clone, Debug)]
pub struct Progress {
    read: Arc<AtomicU64>,
    total: u64,
}

impl Progress {
    /// The part read, from 0 to 1.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        (self.read.load(Ordering::Relaxed) as f64 / self.total as f64).min(1.0)
    }
}

/// A file that counts the bytes read from it.
pub struct Tally<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> ReplayReader<R> {
    /// Reads the header from decompressed replay lines; `path` is for messages.
    pub(crate) fn new(mut input: R, path: &Path) -> Result<ReplayReader<R>, ReplayError> {
        let not_a_replay = |why: String| ReplayError::NotAReplay {
            path: path.to_path_buf(),
            why,
        };
        let mut line = Vec::with_capacity(512);
        match read_line(&mut input, &mut line) {
            Ok(Line::Eof) => return Err(not_a_replay("it is empty".to_string())),
            Ok(Line::Whole | Line::Cut) => {}
            Ok(Line::TooLong) => {
                return Err(not_a_replay(format!(
                    "its first line is longer than {} MiB",
                    MAX_LINE_BYTES >> 20
                )));
            }
            Err(e) => {
                return Err(not_a_replay(format!(
                    "it cannot be decompressed before the end of its header: {e}"
                )));
            }
        }
        let version: serde_json::Value = serde_json::from_slice(&line)
            .map_err(|_| not_a_replay("its first line is not a replay header".to_string()))?;
        let found = version
            .get("llmrace_replay")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| not_a_replay("its first line is not a replay header".to_string()))?;
        let found = u32::try_from(found).unwrap_or(u32::MAX);
        if found > REPLAY_FORMAT_VERSION {
            return Err(ReplayError::TooNew {
                path: path.to_path_buf(),
                found,
            });
        }
        let prompt_lines = version
            .get("prompt_lines")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let mut header: ReplayHeader = serde_json::from_value(version)
            .map_err(|e| not_a_replay(format!("its header is damaged: {e}")))?;
        let mut problems = damage_rules(found, header.event_format);
        let mut number = 1;
        let header_line = line.clone();
        let mut prompt = 0;
        while prompt < prompt_lines {
            number += 1;
            match read_line(&mut input, &mut line) {
                Ok(Line::Whole) => {}
                Ok(Line::TooLong) => {
                    return Err(not_a_replay(format!(
                        "line {number}, a prompt, is longer than {} MiB",
                        MAX_LINE_BYTES >> 20
                    )));
                }
                _ => {
                    return Err(not_a_replay(format!(
                        "it stops in its prompts, at line {number}"
                    )));
                }
            }
            let messages = match serde_json::from_slice::<PromptLine<'_>>(&line) {
                Ok(p) if p.prompt as u64 == prompt => p.messages.into_owned(),
                // The header or a prompt read already, again: left out, the prompt still due.
                Ok(p) if (p.prompt as u64) < prompt => {
                    problems.header_repeated(number);
                    continue;
                }
                _ if line == header_line => {
                    problems.header_repeated(number);
                    continue;
                }
                // The inspector shows that one prompt as empty; the race itself is whole.
                _ => {
                    problems.unreadable(number);
                    Vec::new()
                }
            };
            header.prompts.push(messages);
            prompt += 1;
        }
        Ok(ReplayReader {
            header,
            progress: None,
            input,
            line,
            number,
            last_t: None,
            end: None,
            problems,
            header_line,
            damage: None,
            done: false,
            records_read: 0,
            binary: (found >= 3).then(|| Records {
                decoder: binary::Decoder::default(),
                events: 0,
            }),
        })
    }

    pub fn header(&self) -> &ReplayHeader {
        &self.header
    }

    /// The end line, once the events are read; `None` when the file stops before it (a crash,
    /// a cut download).
    pub fn end(&self) -> Option<ReplayEnd> {
        self.end
    }

    /// What was wrong with the file past its last whole event, once the events are read.
    pub fn damage(&self) -> Option<&str> {
        self.damage.as_deref()
    }

    /// The race time the events read so far cover: the end, or the last event when cut short.
    pub fn duration(&self) -> Offset {
        self.end
            .map(|e| e.t)
            .or(self.last_t)
            .unwrap_or(Offset::ZERO)
    }

    /// The header, how the file ended and its damage, once the events are read.
    pub fn into_parts(self) -> (ReplayHeader, Option<ReplayEnd>, Option<String>) {
        (self.header, self.end, self.damage)
    }

    fn stop(&mut self, why: Option<String>) -> Option<RaceEvent> {
        self.done = true;
        if let Some(why) = why {
            self.problems.stopped(why);
        } else if self.end.is_none() {
            self.problems
                .stopped("the file stops before the race's end (was the race cut off?)".into());
        }
        self.damage = self.problems.told();
        None
    }
}

impl<R: BufRead> Iterator for ReplayReader<R> {
    type Item = RaceEvent;

    fn next(&mut self) -> Option<RaceEvent> {
        while !self.done {
            if let Some(event) = self.read_event() {
                return Some(event);
            }
        }
        None
    }
}

impl<R: BufRead> ReplayReader<R> {
    /// Reads one line: the event it holds, or `None` for a line left out or the end.
    fn read_event(&mut self) -> Option<RaceEvent> {
        if self.binary.is_some() {
            return self.read_record();
        }
        self.number += 1;
        let number = self.number;
        match read_line(&mut self.input, &mut self.line) {
            Ok(Line::Whole) => {}
            Ok(Line::Eof) => return self.stop(None),
            Ok(Line::Cut) => {
                return self.stop(Some(format!(
                    "the file ends in the middle of line {number}"
                )));
            }
            Ok(Line::TooLong) => {
                return self.stop(Some(format!(
                    "line {number} is longer than {} MiB",
                    MAX_LINE_BYTES >> 20
                )));
            }
            Err(e) => {
                return self.stop(Some(format!(
                    "the file is cut or damaged after line {}: {e}",
                    number - 1
                )));
            }
        }
        match serde_json::from_slice::<RaceEvent>(&self.line) {
            Ok(event) => {
                if !self.problems.keep(event_number(&self.line), number) {
                    return None;
                }
                self.last_t = Some(event.t);
                Some(event)
            }
            Err(_) => match serde_json::from_slice::<EndLine>(&self.line) {
                Ok(e) => {
                    self.end = Some(e.end);
                    self.problems.ended(e.events, number);
                    self.stop(None)
                }
                Err(_)
                    if self.line == self.header_line
                        || serde_json::from_slice::<PromptLine<'_>>(&self.line).is_ok() =>
                {
                    self.problems.header_repeated(number);
                    None
                }
                Err(_) => {
                    self.problems.unknown(event_number(&self.line), number);
                    None
                }
            },
        }
    }
}

impl<R: BufRead> ReplayReader<R> {
    /// Reads one record of format 3: the event it holds, or `None` for a record left out or
    /// the end. Records are numbered from 1 in what the file tells.
    fn read_record(&mut self) -> Option<RaceEvent> {
        let number = self.records_read + 1;
        // Where the file stops inside a record: cut there, or unreadable from there on.
        let ends_inside = || format!("the file ends in the middle of record {number}");
        let damaged_after = |e: &std::io::Error| {
            format!(
                "the file is cut or damaged after record {}: {e}",
                number - 1
            )
        };
        let length = match binary::read_length(&mut self.input) {
            Ok(Some(length)) => length,
            Ok(None) => return self.stop(None),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return self.stop(Some(ends_inside()));
            }
            Err(e) => return self.stop(Some(damaged_after(&e))),
        };
        if length == 0 {
            // Every record holds at least its tag: zeros here are a zeroed or made-up tail
            // (a disk's after a crash, a gzip bomb), which would otherwise read as billions of
            // unreadable records, each told.
            return self.stop(Some(format!(
                "record {number} is empty (zero bytes where a record's length belongs)"
            )));
        }
        if length > MAX_LINE_BYTES as u64 {
            return self.stop(Some(format!(
                "record {number} is longer than {} MiB",
                MAX_LINE_BYTES >> 20
            )));
        }
        match read_exactly(&mut self.input, &mut self.line, length) {
            Ok(true) => {}
            Ok(false) => return self.stop(Some(ends_inside())),
            Err(e) => return self.stop(Some(damaged_after(&e))),
        }
        self.records_read = number;
        let records = self.binary.as_mut()?;
        let is_event = self.line.first().is_none_or(|&tag| tag < binary::END);
        if is_event {
            records.events += 1;
        }
        let event_number = Some(records.events).filter(|_| is_event);
        match records.decoder.record(&self.line) {
            Ok(Record::Event(event)) => {
                if !self.problems.keep(event_number, number) {
                    return None;
                }
                self.last_t = Some(event.t);
                Some(event)
            }
            Ok(Record::End { end, events }) => {
                self.end = Some(end);
                self.problems.ended(Some(events), number);
                self.stop(None)
            }
            Ok(Record::Unknown) => {
                self.problems.unknown(event_number, number);
                None
            }
            Err(binary::Unreadable) => {
                self.problems.unreadable(number);
                None
            }
        }
    }
}

/// How damage is found in a file of replay format `found` whose events are of `event_format`:
/// numbered lines from format 2, numbered records from format 3.
fn damage_rules(found: u32, event_format: u32) -> Damage {
    let mut problems = match found {
        3.. => Damage::records(),
        2 => Damage::numbered(),
        _ => Damage::default(),
    };
    if event_format > crate::event::EVENT_FORMAT_VERSION {
        problems.newer(event_format);
    }
    problems
}

/// Reads `length` bytes into `buffer` (cleared first) as they come, so that a length a
/// damaged file made up costs no more memory than the bytes that are really there; false when
/// the input ends first.
fn read_exactly(
    input: &mut impl BufRead,
    buffer: &mut Vec<u8>,
    length: u64,
) -> std::io::Result<bool> {
    buffer.clear();
    let mut left = usize::try_from(length).unwrap_or(usize::MAX);
    while left > 0 {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(false);
        }
        let taken = available.len().min(left);
        buffer.extend_from_slice(&available[..taken]);
        input.consume(taken);
        left -= taken;
    }
    Ok(true)
}

/// The number an event line starts with (`{"n":12,…`, as the writer puts it first).
fn event_number(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(br#"{"n":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// How reading one line went.
#[derive(Debug, PartialEq)]
pub(crate) enum Line {
    /// A line with its newline.
    Whole,
    /// The input ended in the middle of a line.
    Cut,
    /// Nothing was left to read.
    Eof,
    /// The line is longer than [`MAX_LINE_BYTES`]: what was read of it is dropped.
    TooLong,
}

/// Reads one line into `line` (cleared first), never holding more than [`MAX_LINE_BYTES`].
pub(crate) fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    line.clear();
    loop {
        let available = match input.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Line::Eof
            } else {
                Line::Cut
            });
        }
        let (taken, whole) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > MAX_LINE_BYTES {
            line.clear();
            line.shrink_to(512);
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&available[..taken]);
        input.consume(taken);
        if whole {
            return Ok(Line::Whole);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor, Read};

    use super::*;

    /// The fixture race with a format-2 header: these tests write its events as JSON lines.
    fn replay(endpoints: usize, requests: usize) -> super::super::Replay {
        let mut replay = crate::record::replay::fixture::replay(endpoints, requests);
        replay.header.llmrace_replay = 2;
        replay
    }

    /// Appends `replay`'s events, numbered from 1, and its end line, as the writer does.
    fn push_events_and_end(text: &mut Vec<u8>, replay: &super::super::Replay) {
        use super::super::EventLine;
        for (n, event) in (1..).zip(&replay.events) {
            text.extend(serde_json::to_vec(&EventLine { n, event }).unwrap());
            text.push(b'\n');
        }
        let events = Some(replay.events.len() as u64);
        let end = replay.end.unwrap();
        text.extend(serde_json::to_vec(&EndLine { end, events }).unwrap());
        text.push(b'\n');
    }

    fn lines(replay: &super::super::Replay) -> Vec<u8> {
        let mut text = serde_json::to_vec(&replay.header).unwrap();
        text.push(b'\n');
        for event in &replay.events {
            text.extend(serde_json::to_vec(event).unwrap());
            text.push(b'\n');
        }
        text
    }

    #[test]
    fn an_over_long_line_is_damage_and_never_read_whole() {
        let replay = replay(2, 3);
        // The events, then a line longer than the cap that never ends: the reader must stop
        // at the cap, not try to hold it.
        let input = Cursor::new(lines(&replay)).chain(std::io::repeat(b'x').take(u64::MAX));
        let mut reader = ReplayReader::new(BufReader::new(input), Path::new("long.gz")).unwrap();
        let events: Vec<RaceEvent> = reader.by_ref().collect();
        assert_eq!(events, replay.events);
        let line = replay.events.len() + 2;
        assert_eq!(
            reader.damage(),
            Some(format!("line {line} is longer than 16 MiB").as_str())
        );
        assert_eq!(reader.end(), None);
        assert!(reader.line.capacity() <= MAX_LINE_BYTES);
    }

    #[test]
    fn an_over_long_header_is_not_a_replay() {
        let input = BufReader::new(std::io::repeat(b'{').take(u64::MAX));
        let Err(error) = ReplayReader::new(input, Path::new("huge.gz")) else {
            panic!("a header longer than the cap was read");
        };
        assert!(error.to_string().contains("longer than 16 MiB"), "{error}");
    }

    #[test]
    fn a_whole_file_tells_its_end_and_its_duration_once_read() {
        let replay = replay(2, 4);
        let mut text = lines(&replay);
        let end = replay.end.unwrap();
        text.extend(serde_json::to_vec(&EndLine { end, events: None }).unwrap());
        text.push(b'\n');
        let mut reader = ReplayReader::new(Cursor::new(text), Path::new("x.gz")).unwrap();
        assert_eq!(reader.header(), &replay.header);
        assert_eq!(reader.by_ref().count(), replay.events.len());
        assert_eq!(reader.end(), Some(end));
        assert_eq!(reader.damage(), None);
        assert_eq!(reader.duration(), replay.duration());
        // Past the end it stays ended.
        assert_eq!(reader.next(), None);
    }

    #[test]
    fn a_damaged_prompt_line_leaves_that_prompt_empty_and_the_race_whole() {
        use super::super::HeaderLine;
        let mut replay = replay(2, 3);
        replay.header.prompts = vec![Vec::new(); 2];
        let mut text = serde_json::to_vec(&HeaderLine {
            header: &replay.header,
            prompt_lines: 2,
        })
        .unwrap();
        text.push(b'\n');
        text.extend(b"{\"prompt\":0,\"messages\":[{\"role\"\n");
        text.extend(b"{\"prompt\":1,\"messages\":[]}\n");
        push_events_and_end(&mut text, &replay);
        let mut reader = ReplayReader::new(Cursor::new(text), Path::new("x.gz")).unwrap();
        assert_eq!(reader.header().prompts, vec![Vec::new(); 2]);
        assert_eq!(reader.by_ref().count(), replay.events.len());
        assert_eq!(
            reader.damage(),
            Some("1 line unreadable: line 2 is unreadable and left out")
        );
    }

    /// The header's first line and a prompt line written twice: each left out, the prompts
    /// and events all read, the repeat told once, and nothing said to be lost.
    #[test]
    fn a_repeated_header_or_prompt_line_is_left_out_and_told_once() {
        use super::super::HeaderLine;
        let replay = replay(2, 3);
        let mut header = serde_json::to_vec(&HeaderLine {
            header: &replay.header,
            prompt_lines: 2,
        })
        .unwrap();
        header.push(b'\n');
        let prompt = |n: u32| format!("{{\"prompt\":{n},\"messages\":[]}}\n").into_bytes();
        let mut text = [header.clone(), header, prompt(0), prompt(1), prompt(1)].concat();
        push_events_and_end(&mut text, &replay);
        let mut reader = ReplayReader::new(Cursor::new(text), Path::new("x.gz")).unwrap();
        assert_eq!(reader.header().prompts.len(), 2);
        assert_eq!(reader.by_ref().count(), replay.events.len());
        let damage = reader.damage().unwrap();
        assert_eq!(
            damage,
            "2 header lines repeated: the header is repeated at line 2 and left out; nothing \
             was lost"
        );
        assert!(!super::super::damage::notice(damage).contains("what was lost"));
    }

    #[test]
    fn lines_are_read_whole_cut_or_not_at_all() {
        let mut line = Vec::new();
        let mut input = BufReader::with_capacity(2, Cursor::new(b"ab\ncd".to_vec()));
        assert_eq!(read_line(&mut input, &mut line).unwrap(), Line::Whole);
        assert_eq!(line, b"ab\n");
        assert_eq!(read_line(&mut input, &mut line).unwrap(), Line::Cut);
        assert_eq!(line, b"cd");
        assert_eq!(read_line(&mut input, &mut line).unwrap(), Line::Eof);
    }
}
