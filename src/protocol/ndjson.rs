//! Incremental newline-delimited JSON line splitter (Ollama's streaming format): lines end with
//! LF or CRLF, and bytes may be split anywhere, also inside a multi-byte UTF-8 character.

use super::sse::find_line_end;

/// One complete, non-empty line, without its line end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Text(&'a str),
    /// The line was not UTF-8.
    InvalidUtf8(&'a [u8]),
}

/// Splitter state carried across `feed` calls: only the bytes of a line still open.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Splits the next bytes of the body; complete lines are handed to `on`.
    pub fn feed(&mut self, bytes: &[u8], mut on: impl FnMut(Line<'_>)) {
        let mut rest = bytes;
        if !self.partial.is_empty() {
            let Some(end) = find_line_end(rest, false) else {
                self.partial.extend_from_slice(rest);
                return;
            };
            let (head, tail) = rest.split_at(end);
            self.partial.extend_from_slice(head);
            rest = tail.get(1..).unwrap_or_default();
            let line = std::mem::take(&mut self.partial);
            emit(&line, &mut on);
            self.partial = line;
            self.partial.clear();
        }
        while let Some(end) = find_line_end(rest, false) {
            let (line, tail) = rest.split_at(end);
            emit(line, &mut on);
            rest = tail.get(1..).unwrap_or_default();
        }
        self.partial.extend_from_slice(rest);
    }

    /// The body ended: a last line without a line end is handed out.
    pub fn finish(&mut self, mut on: impl FnMut(Line<'_>)) {
        let line = std::mem::take(&mut self.partial);
        emit(&line, &mut on);
        self.partial = line;
        self.partial.clear();
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
}
