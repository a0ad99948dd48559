//! The faults the mock can inject: their stable names (used in profile specs and the
//! `x-mock-fault` header), what each one does, and where in a response it strikes.

use std::fmt;

/// One way a response can go wrong. Every kind is fully reproducible: at rate 1.0 (or forced
/// with `x-mock-fault`) it happens the same way on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Http429,
    Http500,
    Http503,
    Http401,
    Http400,
    Html,
    WrongProtocol,
    MalformedChunk,
    InvalidUtf8,
    NoTerminator,
    ErrorMidStream,
    ResetBeforeHeaders,
    ResetMidStream,
    HangBeforeHeaders,
    HangMidStream,
    SlowHeaders,
    Huge,
    ZeroUsage,
    BadJson,
}

/// A name accepted for a fault besides its own.
const ALIASES: &[(&str, Fault)] = &[("cut", Fault::ResetMidStream)];

impl Fault {
    pub const ALL: [Fault; 19] = [
        Fault::Http429,
        Fault::Http500,
        Fault::Http503,
        Fault::Http401,
        Fault::Http400,
        Fault::Html,
        Fault::WrongProtocol,
        Fault::MalformedChunk,
        Fault::InvalidUtf8,
        Fault::NoTerminator,
        Fault::ErrorMidStream,
        Fault::ResetBeforeHeaders,
        Fault::ResetMidStream,
        Fault::HangBeforeHeaders,
        Fault::HangMidStream,
        Fault::SlowHeaders,
        Fault::Huge,
        Fault::ZeroUsage,
        Fault::BadJson,
    ];

    /// The stable name used in specs, headers and stats.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Fault::Http429 => "http_429",
            Fault::Http500 => "http_500",
            Fault::Http503 => "http_503",
            Fault::Http401 => "http_401",
            Fault::Http400 => "http_400",
            Fault::Html => "html",
            Fault::WrongProtocol => "wrong_protocol",
            Fault::MalformedChunk => "malformed_chunk",
            Fault::InvalidUtf8 => "invalid_utf8",
            Fault::NoTerminator => "no_terminator",
            Fault::ErrorMidStream => "error_mid_stream",
            Fault::ResetBeforeHeaders => "reset_before_headers",
            Fault::ResetMidStream => "reset_mid_stream",
            Fault::HangBeforeHeaders => "hang_before_headers",
            Fault::HangMidStream => "hang_mid_stream",
            Fault::SlowHeaders => "slow_headers",
            Fault::Huge => "huge",
            Fault::ZeroUsage => "zero_usage",
            Fault::BadJson => "bad_json",
        }
    }

    /// One line for `--help` and error messages.
    #[must_use]
    pub fn description(self) -> &'static str {
        match self {
            Fault::Http429 => "HTTP 429 with Retry-After: 1",
            Fault::Http500 => "HTTP 500",
            Fault::Http503 => "HTTP 503",
            Fault::Http401 => "HTTP 401",
            Fault::Http400 => "HTTP 400",
            Fault::Html => "200 with an HTML error page",
            Fault::WrongProtocol => "200 with a body of another protocol",
            Fault::MalformedChunk => "one chunk of broken JSON mid-stream",
            Fault::InvalidUtf8 => "one chunk with invalid UTF-8 mid-stream",
            Fault::NoTerminator => "the body ends cleanly without finish, usage or end marker",
            Fault::ErrorMidStream => "an error event mid-stream, then the body ends",
            Fault::ResetBeforeHeaders => "the connection closes before any response",
            Fault::ResetMidStream => "the connection aborts after a few tokens (alias: cut)",
            Fault::HangBeforeHeaders => "no response at all, the connection stays open",
            Fault::HangMidStream => "silence after a few tokens, the connection stays open",
            Fault::SlowHeaders => "headers late by header_delay, then a normal response",
            Fault::Huge => "100000 tokens at full speed, ignoring max_tokens",
            Fault::ZeroUsage => "the whole answer, with usage reporting 0 output tokens",
            Fault::BadJson => "a JSON answer (the request asked for JSON) left unclosed",
        }
    }

    /// Position in [`Fault::ALL`], for per-kind counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Whether the fault strikes inside a response body that has already begun.
    pub(crate) fn is_mid_stream(self) -> bool {
        matches!(
            self,
            Fault::MalformedChunk
                | Fault::InvalidUtf8
                | Fault::NoTerminator
                | Fault::ErrorMidStream
                | Fault::ResetMidStream
                | Fault::HangMidStream
        )
    }

    /// Looks a fault up by its name or an alias.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Fault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .or_else(|| ALIASES.iter().find(|(a, _)| *a == name).map(|(_, f)| *f))
    }

    /// The accepted names, comma separated, for error messages.
    #[must_use]
    pub fn names_list() -> String {
        let mut names: Vec<&str> = Fault::ALL.iter().map(|f| f.name()).collect();
        names.extend(ALIASES.iter().map(|(a, _)| *a));
        names.join(", ")
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_position() {
        for (i, f) in Fault::ALL.into_iter().enumerate() {
            assert_eq!(Fault::from_name(f.name()), Some(f));
            assert_eq!(f.index(), i);
        }
        assert_eq!(Fault::from_name("cut"), Some(Fault::ResetMidStream));
        assert_eq!(Fault::from_name("nope"), None);
    }
}
