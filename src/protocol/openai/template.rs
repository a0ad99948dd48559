//! The chunks of one stream repeat one shape: the same bytes around a token that changes
//! (`{"id":"x",…,"delta":{"content":"` + token + `"},"finish_reason":null}]}`). A chunk the fast
//! path read becomes the stream's template; a later chunk that is the template's bytes with
//! another plain string in the token's place is read without scanning its JSON at all.
//!
//! Exact, not a guess: the fast path reads a chunk left to right and nothing it decides before
//! a string depends on what comes after it. A chunk with the template's head reaches the token
//! in the same state; a token with no quote, backslash or control character ends at the same
//! closing quote; the template's tail then reads as it did. So the parts are the template's,
//! found at the same places, with the new token: what the fast path itself would give. An
//! empty token is left to the fast path (an empty `reasoning_content` gives way to
//! `reasoning`), and so is anything else that does not match byte for byte.

use std::borrow::Cow;
use std::ops::Range;

use super::super::decode::Str;
use super::{ChoiceParts, Parts};

/// After this many chunks that did not match, with fewer matches than that, a stream whose
/// chunks differ in more than the token (a per-chunk nonce or time stamp) stops learning.
const GIVE_UP_MISSES: u32 = 16;

/// The longest chunk learned from: a token's chunk is a few hundred bytes; a server whose every
/// chunk carries a huge field gains nothing from a template, and its requests should not each
/// hold a copy of one.
const MAX_TEMPLATE_BYTES: usize = 4096;

/// Where a string of the template's lies: in its head, or in its tail (counted from the
/// tail's start).
#[derive(Clone, Debug)]
enum Place {
    Head(Range<usize>),
    Tail(Range<usize>),
}

/// One stream's template, once a chunk has given one.
#[derive(Debug, Default)]
pub(super) struct Template {
    /// The template chunk without its token: up to the token (the opening quote included),
    /// then from its closing quote on. One buffer, so that a match reads one run of memory.
    frame: Vec<u8>,
    /// Where the head ends in `frame`.
    head_len: usize,
    learned: bool,
    /// The token is the reasoning, not the content.
    reasoning: bool,
    id: Option<Place>,
    /// The other of content and reasoning, when the template had it as well.
    other: Option<Place>,
    finish_reason: Option<Place>,
    /// A chunk that matches gives nothing but its token (no other text, no finish reason),
    /// and head and tail hold no line end: such a chunk is one `data:` line whatever its
    /// token, and [`Template::line`] may read it straight from the read.
    token_only: bool,
    hits: u32,
    misses: u32,
}

impl Template {
    /// `data`'s parts when it is the template with another token in its place.
    pub fn read<'a>(&mut self, data: &'a str) -> Option<Parts<'a>> {
        let token = self.token(data);
        if token.is_none() {
            self.misses += 1;
        } else {
            self.hits += 1;
        }
        let token = token?;
        let tail_at = data.len() - self.tail().len();
        let at = |place: &Option<Place>| -> Option<Str<'a>> {
            let range = match place.as_ref()? {
                Place::Head(range) => range.clone(),
                Place::Tail(range) => range.start + tail_at..range.end + tail_at,
            };
            data.get(range).map(|s| Str(Cow::Borrowed(s)))
        };
        let token = Some(Str(Cow::Borrowed(token)));
        let (reasoning, content) = if self.reasoning {
            (token, at(&self.other))
        } else {
            (at(&self.other), token)
        };
        Some(Parts {
            id: at(&self.id),
            is_error_object: false,
            has_choices: true,
            choice: ChoiceParts {
                reasoning,
                content,
                finish_reason: at(&self.finish_reason),
                tool_calls: Vec::new(),
            },
            usage: None,
            error: None,
        })
    }

    fn head(&self) -> &[u8] {
        self.frame.get(..self.head_len).unwrap_or_default()
    }

    fn tail(&self) -> &[u8] {
        self.frame.get(self.head_len..).unwrap_or_default()
    }

    /// The token of a chunk that matches the template: non-empty, no quote, backslash or
    /// control character.
    fn token<'a>(&self, data: &'a str) -> Option<&'a str> {
        if !self.learned {
            return None;
        }
        let bytes = data.as_bytes();
        let end = bytes.len().checked_sub(self.tail().len())?;
        if end <= self.head_len || !bytes.starts_with(self.head()) || !bytes.ends_with(self.tail())
        {
            return None;
        }
        let token = bytes.get(self.head_len..end)?;
        if token.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
            return None;
        }
        // Between two ASCII quotes of a `str`: on character boundaries.
        data.get(self.head_len..end)
    }

    /// The token of a chunk at the start of `value` (a `data:` line's value, up to the end of
    /// the read), when the template reads it and it gives nothing else: the token, and where
    /// the chunk ends in `value`. The line must end there for the chunk to be the event's
    /// data (the caller checks); that is counted as a hit by [`Template::hit`].
    ///
    /// What [`Template::read`] would read of that line, found without knowing where the line
    /// ends: the token holds no quote, so the first quote after the head is the one that
    /// ends it; the UTF-8 of head and tail is the template's, so only the token's is checked.
    pub fn line<'a>(&self, value: &'a [u8]) -> Option<(&'a str, usize)> {
        if !self.token_only {
            return None;
        }
        let rest = value.strip_prefix(self.head())?;
        let end = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let (token, after) = rest.split_at(end);
        if token.is_empty() || !after.starts_with(self.tail()) {
            return None;
        }
        let token = std::str::from_utf8(token).ok()?;
        Some((token, self.head_len + end + self.tail().len()))
    }

    /// Whether [`Template::line`] may read a chunk.
    pub fn reads_lines(&self) -> bool {
        self.token_only
    }

    /// A chunk [`Template::line`] found was read.
    pub fn hit(&mut self) {
        self.hits += 1;
    }

    /// The template's token is the reasoning.
    pub fn reasoning(&self) -> bool {
        self.reasoning
    }

    /// A chunk that matches carries a non-empty id.
    pub fn has_id(&self) -> bool {
        self.id.as_ref().is_some_and(|place| match place {
            Place::Head(range) | Place::Tail(range) => !range.is_empty(),
        })
    }

    /// Whether a chunk that did not match should be learned from.
    pub fn wants(&self) -> bool {
        self.misses < GIVE_UP_MISSES || self.hits >= self.misses
    }

    /// Makes `data`, which the fast path read as `parts`, the template, when it has the shape:
    /// choices with a plain (borrowed) content or reasoning, every other string it keeps
    /// borrowed, no tool call, usage or error.
    pub fn learn(&mut self, data: &str, parts: &Parts<'_>) {
        self.learned = false;
        self.token_only = false;
        if data.len() > MAX_TEMPLATE_BYTES
            || !parts.has_choices
            || parts.is_error_object
            || parts.usage.is_some()
            || parts.error.is_some()
            || !parts.choice.tool_calls.is_empty()
        {
            return;
        }
        let choice = &parts.choice;
        let (reasoning, token, other) = match (&choice.content, &choice.reasoning) {
            (Some(content), other) => (false, content, other),
            (None, Some(reasoning)) => (true, reasoning, &None),
            (None, None) => return,
        };
        let Some(token) = span(data, token).filter(|t| !t.is_empty()) else {
            return;
        };
        let (head_end, tail_start) = (token.start, token.end);
        let place = |s: &Option<Str<'_>>| -> Option<Option<Place>> {
            let Some(s) = s else { return Some(None) };
            let range = span(data, s)?;
            if range.end <= head_end {
                Some(Some(Place::Head(range)))
            } else if range.start >= tail_start {
                Some(Some(Place::Tail(
                    range.start - tail_start..range.end - tail_start,
                )))
            } else {
                None
            }
        };
        let (Some(id), Some(other), Some(finish_reason)) =
            (place(&parts.id), place(other), place(&choice.finish_reason))
        else {
            return;
        };
        let bytes = data.as_bytes();
        // The token's quotes: what the fast path found around a plain string.
        if bytes.get(head_end.wrapping_sub(1)) != Some(&b'"')
            || bytes.get(tail_start) != Some(&b'"')
        {
            return;
        }
        self.frame.clear();
        self.frame.extend_from_slice(&bytes[..head_end]);
        self.frame.extend_from_slice(&bytes[tail_start..]);
        self.head_len = head_end;
        self.reasoning = reasoning;
        self.id = id;
        self.other = other;
        let line_end = |b: &u8| *b == b'\r' || *b == b'\n';
        self.token_only =
            self.other.is_none() && finish_reason.is_none() && !self.frame.iter().any(line_end);
        self.finish_reason = finish_reason;
        self.learned = true;
    }
}

/// Where a string borrowed from `data` lies in it; `None` for one decoded from escapes.
fn span(data: &str, s: &Str<'_>) -> Option<Range<usize>> {
    let Cow::Borrowed(s) = &s.0 else { return None };
    let start = s.as_ptr().addr().checked_sub(data.as_ptr().addr())?;
    let end = start + s.len();
    (end <= data.len()).then_some(start..end)
}

#[cfg(test)]
mod tests;
