//! HTTP/1.1's chunked transfer coding (RFC 9112 §7.1) decoded in place: the framing bytes are
//! consumed one at a time, so a size line or a trailer split across reads needs no buffer of
//! its own, and each chunk's data is handed on as a range of the bytes given.
//!
//! Hostile servers are expected: a size that is not hex, has too many digits, a line or a
//! trailer section without end, data not followed by CRLF. Each is an error saying what was
//! wrong, never a panic or an unbounded wait for memory.

use std::ops::Range;

/// The most hex digits a chunk size may have: 16 hold any `u64`; more is garbage or an attack.
const MAX_SIZE_DIGITS: u32 = 16;

/// The most bytes a size line may have with its extensions (which are ignored).
const MAX_LINE: usize = 4 * 1024;

/// The most bytes of trailer fields after the last chunk (which are ignored).
const MAX_TRAILERS: usize = 16 * 1024;

/// How much of a bad size line a message quotes.
const QUOTED: usize = 24;

/// Where the decoder is in the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In a chunk's size: its digits so far, how many.
    Size {
        size: u64,
        digits: u32,
    },
    /// After the size: an extension (`;name=value`) or white space, up to the line's CR.
    Extension {
        size: u64,
    },
    /// The size line's CR was read: its LF is next.
    SizeLf {
        size: u64,
    },
    /// Inside a chunk's data: this many bytes left.
    Data(u64),
    /// After a chunk's data: its CR, then its LF.
    DataCr,
    DataLf,
    /// After the last chunk: a trailer line (`at_start`: nothing of it read yet), up to the
    /// empty line that ends the body.
    Trailer {
        at_start: bool,
    },
    TrailerLf {
        empty: bool,
    },
    /// The body is complete.
    Done,
}

/// What was wrong with a chunked body; `Display` says it for a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// The size line did not start with a hex digit (`-5`, `zz`, an empty line): what it began.
    NotHex(String),
    /// More hex digits than any sane size has.
    TooLarge(String),
    /// The size line went on without its CRLF.
    LineTooLong,
    /// A CR not followed by LF, or a size line's stray byte: where.
    BadLineEnd(&'static str),
    /// The trailer fields went on without the empty line that ends them.
    TrailersTooLong,
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkError::NotHex(line) => {
                write!(f, "the server's chunk size line was not hex: `{line}`")
            }
            ChunkError::TooLarge(line) => write!(
                f,
                "the server's chunk size has more than {MAX_SIZE_DIGITS} hex digits: `{line}`"
            ),
            ChunkError::LineTooLong => write!(
                f,
                "the server's chunk size line has no end in {MAX_LINE} bytes"
            ),
            ChunkError::BadLineEnd(what) => {
                write!(f, "the server's chunked body has no CRLF {what}")
            }
            ChunkError::TrailersTooLong => write!(
                f,
                "the server's trailer fields after the last chunk have no end in \
                 {MAX_TRAILERS} bytes"
            ),
        }
    }
}

/// The decoder of one chunked body.
#[derive(Clone, Debug)]
pub struct Chunked {
    state: State,
    /// Bytes of the current size line, or of the trailer section, so far.
    line: usize,
    /// The first bytes of the current size line, quoted when it is bad.
    quoted: [u8; QUOTED],
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            state: State::Size { size: 0, digits: 0 },
            line: 0,
            quoted: [0; QUOTED],
        }
    }
}

/// One step of decoding: how many of the bytes given were consumed, and the range of them
/// (within the consumed ones) that is chunk data, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub consumed: usize,
    pub data: Option<Range<usize>>,
}

impl Chunked {
    /// Whether the body ended (the last chunk and its trailers were read).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes framing from `input` up to and including the next piece of data, or all of it
    /// when it holds none; stops at the body's end (the bytes after it are the next
    /// response's, or garbage: not consumed).
    ///
    /// # Errors
    /// The body's framing is malformed: the connection cannot be read further.
    pub fn step(&mut self, input: &[u8]) -> Result<Step, ChunkError> {
        let mut at = 0;
        while at < input.len() {
            if let State::Data(left) = self.state {
                let take = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(input.len() - at);
                let left = left - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data(left)
                };
                return Ok(Step {
                    consumed: at + take,
                    data: Some(at..at + take),
                });
            }
            if self.state == State::Done {
                break;
            }
            self.byte(input[at])?;
            at += 1;
        }
        Ok(Step {
            consumed: at,
            data: None,
        })
    }

    /// One byte of framing.
    fn byte(&mut self, b: u8) -> Result<(), ChunkError> {
        self.state = match self.state {
            State::Size { size, digits } => {
                self.note(b)?;
                match hex(b) {
                    Some(v) if digits < MAX_SIZE_DIGITS => State::Size {
                        size: (size << 4) | u64::from(v),
                        digits: digits + 1,
                    },
                    Some(_) => return Err(ChunkError::TooLarge(self.quote())),
                    None if digits == 0 => return Err(ChunkError::NotHex(self.quote())),
                    None => self.after_size(b, size)?,
                }
            }
            State::Extension { size } => {
                self.note(b)?;
                self.after_size(b, size)?
            }
            State::SizeLf { size } => {
                if b != b'\n' {
                    return Err(ChunkError::BadLineEnd("after a chunk size"));
                }
                self.line = 0;
                if size == 0 {
                    State::Trailer { at_start: true }
                } else {
                    State::Data(size)
                }
            }
            State::Data(_) | State::Done => self.state,
            State::DataCr if b == b'\r' => State::DataLf,
            State::DataLf if b == b'\n' => State::Size { size: 0, digits: 0 },
            State::DataCr | State::DataLf => {
                return Err(ChunkError::BadLineEnd("after a chunk's data"));
            }
            State::Trailer { at_start } => {
                self.line += 1;
                if self.line > MAX_TRAILERS {
                    return Err(ChunkError::TrailersTooLong);
                }
                match b {
                    b'\r' => State::TrailerLf { empty: at_start },
                    _ => State::Trailer { at_start: false },
                }
            }
            State::TrailerLf { empty } => {
                if b != b'\n' {
                    return Err(ChunkError::BadLineEnd("in the trailer fields"));
                }
                if empty {
                    State::Done
                } else {
                    State::Trailer { at_start: true }
                }
            }
        };
        Ok(())
    }

    /// After a size's digits: an extension or white space goes on, a CR ends the line.
    fn after_size(&self, b: u8, size: u64) -> Result<State, ChunkError> {
        match b {
            b'\r' => Ok(State::SizeLf { size }),
            b'\n' => Err(ChunkError::BadLineEnd("after a chunk size")),
            b';' | b' ' | b'\t' => Ok(State::Extension { size }),
            _ if matches!(self.state, State::Extension { .. }) => Ok(State::Extension { size }),
            _ => Err(ChunkError::NotHex(self.quote())),
        }
    }

    /// Counts a byte of the size line, keeping the first few to quote.
    fn note(&mut self, b: u8) -> Result<(), ChunkError> {
        if let Some(slot) = self.quoted.get_mut(self.line) {
            *slot = b;
        }
        self.line += 1;
        if self.line > MAX_LINE {
            return Err(ChunkError::LineTooLong);
        }
        Ok(())
    }

    /// The size line so far, printable.
    fn quote(&self) -> String {
        let quoted = &self.quoted[..self.line.min(QUOTED)];
        String::from_utf8_lossy(quoted)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
