//! Which HTTP an endpoint is spoken to in: `http = "auto" | "1.1" | "2"` in an `[[endpoint]]`
//! table, and `--http1-only` / `--http2-prior-knowledge` on the command line for every endpoint.

use serde::{Deserialize, Serialize};

use super::EndpointConfig;
use super::validate::Problem;

/// An endpoint's `http`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpVersion {
    /// Left out: over TLS, ALPN offers `h2` and `http/1.1` and the server picks; cleartext
    /// speaks HTTP/1.1 (no `Upgrade: h2c`, which no LLM server needs).
    #[default]
    #[serde(rename = "auto")]
    Auto,
    /// HTTP/1.1 only: over TLS, ALPN offers `http/1.1` alone.
    #[serde(rename = "1.1")]
    Http1,
    /// HTTP/2 only: over TLS, ALPN offers `h2` alone; cleartext speaks it with prior knowledge
    /// (h2c, no upgrade), as curl's `--http2-prior-knowledge`.
    #[serde(rename = "2")]
    Http2,
}

impl HttpVersion {
    #[allow(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's skip_serializing_if passes &T"
    )]
    pub fn is_auto(&self) -> bool {
        *self == HttpVersion::Auto
    }

    /// As written in a race file.
    pub fn name(self) -> &'static str {
        match self {
            HttpVersion::Auto => "auto",
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }
}

/// Reads a race file's `http` value.
pub(super) fn parse(value: &str) -> Result<HttpVersion, Problem> {
    match value.trim() {
        "auto" => Ok(HttpVersion::Auto),
        "1.1" | "1" | "http/1.1" => Ok(HttpVersion::Http1),
        "2" | "h2" | "http/2" => Ok(HttpVersion::Http2),
        other => Err(Problem::new(
            format!("`{other}` is not an HTTP version llmrace speaks"),
            r#"write `http = "auto"` (HTTP/2 when a TLS server offers it), `http = "1.1"` or `http = "2"` (HTTP/2 only; over http:// without upgrade)"#,
        )),
    }
}

/// `--http1-only` or `--http2-prior-knowledge` (clap lets only one through): every endpoint
/// speaks that, whatever its race file says.
pub fn apply_flags(endpoints: &mut [EndpointConfig], http1_only: bool, http2_prior: bool) {
    let forced = if http1_only {
        HttpVersion::Http1
    } else if http2_prior {
        HttpVersion::Http2
    } else {
        return;
    };
    for endpoint in endpoints {
        endpoint.http = forced;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_and_bad_ones_say_what_to_write() {
        assert_eq!(parse("auto").unwrap(), HttpVersion::Auto);
        assert_eq!(parse("1.1").unwrap(), HttpVersion::Http1);
        assert_eq!(parse("2").unwrap(), HttpVersion::Http2);
        let e = parse("3").unwrap_err();
        assert!(e.problem.contains("`3`"), "{}", e.problem);
        assert!(e.help.contains(r#"http = "2""#), "{}", e.help);
        for v in [HttpVersion::Auto, HttpVersion::Http1, HttpVersion::Http2] {
            assert_eq!(parse(v.name()).unwrap(), v);
        }
    }
}
