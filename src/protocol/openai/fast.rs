//! The fast path for the common OpenAI stream chunk: `{"id":…,"choices":[{"index":0,
//! "delta":{"content":"…"},…}],…}` (or `"text":"…"` for legacy completions), read by a scanner
//! that knows the shape instead of serde, at about half the cost.
//!
//! It either gives exactly the parts serde would, or `None`, and the caller asks serde. It says
//! `None` for anything it does not know to be one of those chunks: tool calls, usage, errors,
//! `timings`, a `message`, several choices, a nested object or array it would have to skip, a
//! key or a skipped string with an escape, duplicate keys, a number outside JSON's grammar,
//! anything after the object. Strings it keeps (id, content, reasoning, finish reason) are
//! borrowed from the chunk unless they hold escapes, which are decoded as serde decodes them
//! (a lone surrogate is left to serde, which rejects it).

use std::borrow::Cow;

use super::super::decode::Str;
use super::{ChoiceParts, Parts};

/// A chat completions chunk's parts (`delta` with `content`, `reasoning_content`, `reasoning`).
pub(super) fn chat(data: &str) -> Option<Parts<'_>> {
    chunk(data, chat_choice)
}

/// A legacy completions chunk's parts (`text`).
pub(super) fn completions(data: &str) -> Option<Parts<'_>> {
    chunk(data, text_choice)
}

type ChoiceFn = for<'a> fn(&mut Scan<'a>) -> Option<ChoiceParts<'a>>;

fn chunk(data: &str, choice_fn: ChoiceFn) -> Option<Parts<'_>> {
    let mut scan = Scan::new(data);
    let mut id = None;
    let mut choice = None;
    // The keys serde's struct knows; a second one is an error there, so `None` here.
    let (mut seen_id, mut seen_object, mut seen_usage, mut seen_error) =
        (false, false, false, false);
    scan.object(|scan, key| {
        match key {
            "id" => {
                once(&mut seen_id)?;
                id = scan.opt_string()?;
            }
            "object" => {
                once(&mut seen_object)?;
                // `"object": "error"` is an error chunk: serde's to read.
                if scan.opt_string()?.is_some_and(|o| o.as_str() == "error") {
                    return None;
                }
            }
            "choices" => {
                if choice.is_some() {
                    return None;
                }
                choice = Some(scan.first_only(choice_fn)?);
            }
            // Only when null: a usage report or an error is serde's.
            "usage" => {
                once(&mut seen_usage)?;
                scan.null()?;
            }
            "error" => {
                once(&mut seen_error)?;
                scan.null()?;
            }
            "timings" => return None,
            _ => scan.skip_scalar()?,
        }
        Some(())
    })?;
    scan.end()?;
    Some(Parts {
        id,
        is_error_object: false,
        has_choices: choice.is_some(),
        choice: choice.flatten().unwrap_or_default(),
        usage: None,
        error: None,
    })
}

/// The first sight of a key serde's struct knows; `None` the second time.
fn once(seen: &mut bool) -> Option<()> {
    if *seen {
        return None;
    }
    *seen = true;
    Some(())
}

/// A chat choice: `delta` (an object or null), `finish_reason`, scalars ignored.
fn chat_choice<'a>(scan: &mut Scan<'a>) -> Option<ChoiceParts<'a>> {
    let mut delta: Option<Option<Delta<'a>>> = None;
    let mut finish_reason = None;
    let mut seen_finish = false;
    scan.object(|scan, key| {
        match key {
            "delta" => {
                if delta.is_some() {
                    return None;
                }
                delta = Some(if scan.peek()? == b'n' {
                    scan.null()?;
                    None
                } else {
                    Some(chat_delta(scan)?)
                });
            }
            "finish_reason" => {
                once(&mut seen_finish)?;
                finish_reason = scan.opt_string()?;
            }
            // A whole message is a body's shape, not a chunk's.
            "message" => return None,
            _ => scan.skip_scalar()?,
        }
        Some(())
    })?;
    let (reasoning, content) = match delta.flatten() {
        Some(d) => (
            d.reasoning_content
                .filter(|r| !r.as_str().is_empty())
                .or(d.reasoning),
            d.content,
        ),
        None => (None, None),
    };
    Some(ChoiceParts {
        reasoning,
        content,
        finish_reason,
        tool_calls: Vec::new(),
    })
}

#[derive(Default)]
struct Delta<'a> {
    content: Option<Str<'a>>,
    reasoning_content: Option<Str<'a>>,
    reasoning: Option<Str<'a>>,
}

fn chat_delta<'a>(scan: &mut Scan<'a>) -> Option<Delta<'a>> {
    let mut delta = Delta::default();
    let mut seen = [false; 4];
    scan.object(|scan, key| {
        match key {
            "content" => {
                once(&mut seen[0])?;
                delta.content = scan.opt_string()?;
            }
            "reasoning_content" => {
                once(&mut seen[1])?;
                delta.reasoning_content = scan.opt_string()?;
            }
            "reasoning" => {
                once(&mut seen[2])?;
                delta.reasoning = scan.opt_string()?;
            }
            // No calls: null or `[]`; any call is serde's.
            "tool_calls" => {
                once(&mut seen[3])?;
                if scan.peek()? == b'[' {
                    scan.bump();
                    scan.expect(b']')?;
                } else {
                    scan.null()?;
                }
            }
            _ => scan.skip_scalar()?,
        }
        Some(())
    })?;
    Some(delta)
}

/// A legacy completions choice: `text`, `finish_reason`, scalars ignored.
fn text_choice<'a>(scan: &mut Scan<'a>) -> Option<ChoiceParts<'a>> {
    let (mut text, mut finish_reason) = (None, None);
    let (mut seen_text, mut seen_finish) = (false, false);
    scan.object(|scan, key| {
        match key {
            "text" => {
                once(&mut seen_text)?;
                text = scan.opt_string()?;
            }
            "finish_reason" => {
                once(&mut seen_finish)?;
                finish_reason = scan.opt_string()?;
            }
            _ => scan.skip_scalar()?,
        }
        Some(())
    })?;
    Some(ChoiceParts {
        reasoning: None,
        content: text,
        finish_reason,
        tool_calls: Vec::new(),
    })
}

/// A cursor over the chunk's bytes. Every method returns `None` where the chunk leaves the
/// shapes this file reads, whether or not it is valid JSON.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON whitespace (exactly serde's: space, tab, line feed, carriage return).
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.at).copied()
    }

    fn bump(&mut self) {
        self.at += 1;
    }

    /// The byte `b` after whitespace, consumed.
    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.bump())
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Option<()> {
        self.ws();
        (self.at == self.text.len()).then_some(())
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let rest = self.bytes().get(self.at..)?;
        rest.starts_with(word).then(|| self.at += word.len())
    }

    fn null(&mut self) -> Option<()> {
        self.ws();
        self.literal(b"null")
    }

    /// An object whose values `field` reads, given each key (a key with an escape is `None`).
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.expect(b'{')?;
        if self.peek()? == b'}' {
            self.bump();
            return Some(());
        }
        loop {
            self.expect(b'"')?;
            let key = self.plain_string_body()?;
            self.expect(b':')?;
            field(self, key)?;
            match self.peek()? {
                b',' => self.bump(),
                b'}' => {
                    self.bump();
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An array holding at most one element, read by `element`; `Some(None)` when empty.
    #[expect(clippy::option_option, reason = "outer: the fast path's shape or not")]
    fn first_only<T>(&mut self, element: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.expect(b'[')?;
        if self.peek()? == b']' {
            self.bump();
            return Some(None);
        }
        let value = element(self)?;
        self.expect(b']')?;
        Some(Some(value))
    }

    /// After the opening quote: the string up to its closing quote when it has no escape and no
    /// control character, the quote consumed.
    fn plain_string_body(&mut self) -> Option<&'a str> {
        let start = self.at;
        let len = self.bytes()[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let end = start + len;
        if self.bytes()[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// A string or null (`Some(None)`).
    #[expect(clippy::option_option, reason = "outer: the fast path's shape or not")]
    fn opt_string(&mut self) -> Option<Option<Str<'a>>> {
        match self.peek()? {
            b'"' => {
                self.bump();
                self.string_body().map(Some)
            }
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// After the opening quote: the string, borrowed when it has no escape, decoded otherwise.
    fn string_body(&mut self) -> Option<Str<'a>> {
        let start = self.at;
        let bytes = self.bytes();
        let len = bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let mut at = start + len;
        if bytes[at] == b'"' {
            self.at = at + 1;
            return Some(Str(Cow::Borrowed(self.text.get(start..at)?)));
        }
        let mut owned = String::with_capacity(len + 16);
        owned.push_str(self.text.get(start..at)?);
        loop {
            match bytes[at] {
                b'"' => {
                    self.at = at + 1;
                    return Some(Str(Cow::Owned(owned)));
                }
                b'\\' => {
                    at = unescape(bytes, at + 1, &mut owned)?;
                }
                _ => return None, // a control character
            }
            let run = bytes[at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
            owned.push_str(self.text.get(at..at + run)?);
            at += run;
        }
    }

    /// A value skipped without being kept: null, true, false, a number, or a string with no
    /// escape. Objects and arrays are not skipped.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.bump();
                self.plain_string_body().map(|_| ())
            }
            b'n' => self.literal(b"null"),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// A number as JSON's grammar has it: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.bytes().get(self.at) == Some(&b'-') {
            self.bump();
        }
        match self.bytes().get(self.at)? {
            b'0' => self.bump(),
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.bytes().get(self.at) == Some(&b'.') {
            self.bump();
            self.one_or_more_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes().get(self.at) {
            self.bump();
            if let Some(b'+' | b'-') = self.bytes().get(self.at) {
                self.bump();
            }
            self.one_or_more_digits()?;
        }
        // `01`, `1.`, `1e`: serde's errors; `1x` fails at the caller's next token.
        match self.bytes().get(self.at) {
            Some(b'0'..=b'9') => None,
            _ => Some(()),
        }
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.bytes().get(self.at) {
            self.bump();
        }
    }

    fn one_or_more_digits(&mut self) -> Option<()> {
        let start = self.at;
        self.digits();
        (self.at > start).then_some(())
    }
}

/// Decodes the escape whose letter is at `at` (after the backslash) into `out`; the position
/// after it.
fn unescape(bytes: &[u8], at: usize, out: &mut String) -> Option<usize> {
    let c = match bytes.get(at)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(bytes, at + 1)?;
            return match high {
                0xD800..=0xDBFF => {
                    // The pair's second half must follow at once.
                    if bytes.get(at + 5..at + 7)? != b"\\u" {
                        return None;
                    }
                    let low = hex4(bytes, at + 7)?;
                    if !(0xDC00..=0xDFFF).contains(&low) {
                        return None;
                    }
                    let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                    out.push(char::from_u32(code)?);
                    Some(at + 11)
                }
                0xDC00..=0xDFFF => None,
                _ => {
                    out.push(char::from_u32(high)?);
                    Some(at + 5)
                }
            };
        }
        _ => return None,
    };
    out.push(c);
    Some(at + 1)
}

/// Four hex digits at `at`.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, &b| {
        let d = char::from(b).to_digit(16)?;
        Some(n * 16 + d)
    })
}

/// Checks that `fast` reads `data` (one chunk's JSON) as `slow`, serde, does: where it gives
/// parts, serde gives the same ones. `name` names the endpoint in the panic.
///
/// # Panics
/// When they differ: that is the finding.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn compare(
    name: &str,
    data: &str,
    fast: fn(&str) -> Option<Parts<'_>>,
    slow: super::ParseFn,
) {
    let Some(fast) = fast(data) else { return };
    let slow = slow(data).unwrap_or_else(|err| {
        panic!("{name}: the fast path read {data:?}, which serde rejects ({err})")
    });
    assert_eq!(
        view(&fast),
        view(&slow),
        "{name}: the fast path and serde read {data:?} differently"
    );
}

/// Everything the decoder uses of a chunk's parts, comparable.
#[cfg(any(test, feature = "test-support"))]
pub(super) fn view<'p>(parts: &'p Parts<'_>) -> impl PartialEq + std::fmt::Debug + 'p {
    let s = |s: &'p Option<Str<'_>>| s.as_ref().map(Str::as_str);
    (
        (s(&parts.id), parts.is_error_object, parts.has_choices),
        (
            s(&parts.choice.reasoning),
            s(&parts.choice.content),
            s(&parts.choice.finish_reason),
        ),
        (
            parts.choice.tool_calls.len(),
            parts.usage.is_some(),
            parts.error.as_ref().map(ToString::to_string),
        ),
    )
}

#[cfg(test)]
mod tests;
