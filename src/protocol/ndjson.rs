//! Incremental newline-delimited JSON line splitter (Ollama's streaming format): lines end with
//! LF or CRLF, and bytes may be split anywhere, also inside a multi-byte UTF-8 character.
//!
//! A line longer than [`MAX_LINE_BYTES`] ends the split of that body with [`Line::TooLong`], so a
//! server that never sends a newline cannot make the client buffer without limit.

use super::sse::find_line_end;

/// The longest line kept: the same bound as an SSE event, for the same reasons (one Ollama
/// object is one token's delta, or a whole answer at most).
pub const MAX_LINE_BYTES: usize = super::sse::MAX_EVENT_BYTES;

/// One complete, non-empty line, without its line end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Text(&'a str),
    /// The line was not UTF-8.
    InvalidUtf8(&'a [u8]),
    /// A line grew past `limit` bytes; the rest of the body is ignored.
    TooLong {
        limit: usize,
    },
}

/// Splitter state carried across `feed` calls: only the bytes of a line still open.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// A line overflowed [`MAX_LINE_BYTES`]: everything up to [`LineSplitter::finish`] is ignored.
    overflowed: bool,
}

impl LineSplitter {
    #[cfg(any(test, feature = "test-support"))]
    pub fn new() -> Self {
        Self::default()
    }

    /// Splits the next bytes of the body; complete lines are handed to `on`.
    pub fn feed(&mut self, bytes: &[u8], mut on: impl FnMut(Line<'_>)) {
        if self.overflowed {
            return;
        }
        let mut rest = bytes;
        if !self.partial.is_empty() {
            let Some(end) = find_line_end(rest, false) else {
                self.keep_partial(rest, &mut on);
                return;
            };
            let (head, tail) = rest.split_at(end);
            if self.partial.len() + head.len() > MAX_LINE_BYTES {
                self.overflow(&mut on);
                return;
            }
            self.partial.extend_from_slice(head);
            rest = tail.get(1..).unwrap_or_default();
            let line = std::mem::take(&mut self.partial);
            emit(&line, &mut on);
            self.partial = line;
            self.partial.clear();
        }
        while let Some(end) = find_line_end(rest, false) {
            let (line, tail) = rest.split_at(end);
            if line.len() > MAX_LINE_BYTES {
                self.overflow(&mut on);
                return;
            }
            emit(line, &mut on);
            rest = tail.get(1..).unwrap_or_default();
        }
        self.keep_partial(rest, &mut on);
    }

    /// The body ended: a last line without a line end is handed out. The splitter is then ready
    /// for a new body.
    pub fn finish(&mut self, mut on: impl FnMut(Line<'_>)) {
        if !std::mem::take(&mut self.overflowed) {
            let line = std::mem::take(&mut self.partial);
            emit(&line, &mut on);
            self.partial = line;
        }
        self.partial.clear();
    }

    /// Holds the start of a line until its end arrives, unless the line is already too long.
    fn keep_partial(&mut self, bytes: &[u8], on: &mut impl FnMut(Line<'_>)) {
        if self.partial.len() + bytes.len() > MAX_LINE_BYTES {
            self.overflow(on);
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn overflow(&mut self, on: &mut impl FnMut(Line<'_>)) {
        self.overflowed = true;
        // Released, not cleared: the next body should not inherit a buffer of this size.
        self.partial = Vec::new();
        on(Line::TooLong {
            limit: MAX_LINE_BYTES,
        });
    }
}

fn emit(line: &[u8], on: &mut impl FnMut(Line<'_>)) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return;
    }
    match std::str::from_utf8(line) {
        Ok(text) => on(Line::Text(text)),
        Err(_) => on(Line::InvalidUtf8(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::new();
        let mut got = Vec::new();
        let mut push = |line: Line<'_>| match line {
            Line::Text(t) => got.push(t.to_owned()),
            Line::InvalidUtf8(b) => got.push(format!("!{b:?}")),
            Line::TooLong { limit } => got.push(format!("!too_long {limit}")),
        };
        for chunk in chunks {
            splitter.feed(chunk, &mut push);
        }
        splitter.finish(&mut push);
        got
    }

    #[test]
    fn crlf_split_between_feeds_and_missing_last_newline() {
        let got = lines(&[b"{\"a\":1}\r", b"\n\n{\"b\":", b"\"\xC3", b"\xA9\"}"]);
        assert_eq!(got, vec!["{\"a\":1}", "{\"b\":\"é\"}"]);
    }

    #[test]
    fn invalid_utf8_line_is_reported_alone() {
        let got = lines(&[b"\xFF\nok\n"]);
        assert_eq!(got, vec!["![255]".to_owned(), "ok".to_owned()]);
    }

    #[test]
    fn a_line_at_the_limit_is_kept_whole_or_split() {
        let line = "x".repeat(MAX_LINE_BYTES);
        let body = format!("{line}\n");
        let (a, b) = body.as_bytes().split_at(1000);
        assert_eq!(lines(&[body.as_bytes()]), vec![line.clone()]);
        assert_eq!(lines(&[a, b]), vec![line]);
    }

    #[test]
    fn a_line_past_the_limit_ends_the_body_whole_or_split() {
        let body = format!("{}\n{{}}\n", "x".repeat(MAX_LINE_BYTES + 1));
        let want = vec![format!("!too_long {MAX_LINE_BYTES}")];
        assert_eq!(lines(&[body.as_bytes()]), want);
        let chunks: Vec<&[u8]> = body.as_bytes().chunks(64 * 1024).collect();
        assert_eq!(lines(&chunks), want);
    }

    #[test]
    fn a_line_without_end_is_not_buffered_past_the_limit() {
        let mut splitter = LineSplitter::new();
        let mut items = 0;
        let chunk = vec![b'x'; 1024 * 1024];
        for _ in 0..64 {
            splitter.feed(&chunk, |line| {
                assert_eq!(
                    line,
                    Line::TooLong {
                        limit: MAX_LINE_BYTES
                    }
                );
                items += 1;
            });
            assert!(splitter.partial.capacity() <= 2 * MAX_LINE_BYTES);
        }
        splitter.finish(|_| items += 1);
        assert_eq!(items, 1, "one report, no last line at the end");
        let mut got = Vec::new();
        splitter.feed(b"next\n", |line| got.push(format!("{line:?}")));
        assert_eq!(got, vec![format!("{:?}", Line::Text("next"))]);
    }
}
