//! A shared-prefix race's prompt-cache hit rates as rows and lines: the rate its workload
//! should produce beside the one each server reported (built by `record`, never computed here).

use std::fmt::Write as _;

use crate::format::percent;
use crate::record::expected_cache::ExpectedCache;

/// Column names for [`rows`].
pub const COLUMNS: [&str; 4] = ["endpoint", "requests", "expected hit rate", "reported"];

/// One row per endpoint: name, measured requests, expected and reported hit rates.
pub fn rows(expected: Option<&ExpectedCache>) -> Vec<[String; 4]> {
    let Some(expected) = expected else {
        return Vec::new();
    };
    expected
        .endpoints
        .iter()
        .map(|e| {
            [
                e.endpoint.clone(),
                e.requests.to_string(),
                percent(e.expected),
                e.reported.map_or_else(|| "—".to_string(), percent),
            ]
        })
        .collect()
}

/// What the rows are: `shared prefix: 8 groups of 2048-token prefixes + 256 tokens each`.
pub fn title(expected: &ExpectedCache) -> String {
    format!(
        "shared prefix: {} groups of {}-token prefixes + {} tokens each",
        expected.groups, expected.prefix_tokens, expected.suffix_tokens
    )
}

/// What the figures mean, under the rows of a report.
pub const NOTE: &str = "Expected: the share of input tokens a server with a prefix cache \
    should find cached when the requests reach it one after the other (the first prompt of each \
    group finds nothing, a later one its group's prefix). Reported: cached input tokens over \
    input tokens, as the server said.";

/// One line per endpoint, for the terminal: `prompt cache: a 79.9% reported · 80.6% expected
/// (20 requests; shared prefix: …)`; nothing for other races.
pub fn lines(expected: Option<&ExpectedCache>) -> String {
    let mut out = String::new();
    for [name, requests, want, got] in rows(expected) {
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "{name}: prompt cache hit rate {got} reported · {want} expected ({requests} requests)"
        );
    }
    if let Some(expected) = expected.filter(|_| !out.is_empty()) {
        out = format!("{}\n{out}", title(expected));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::expected_cache::EndpointCacheHit;

    #[test]
    fn lines_say_both_rates_and_other_races_say_nothing() {
        let expected = ExpectedCache {
            groups: 8,
            prefix_tokens: 2048,
            suffix_tokens: 256,
            endpoints: vec![
                EndpointCacheHit {
                    endpoint: "a".to_string(),
                    requests: 20,
                    expected: 0.5,
                    reported: Some(0.4),
                },
                EndpointCacheHit {
                    endpoint: "b".to_string(),
                    requests: 0,
                    expected: 0.0,
                    reported: None,
                },
            ],
            remark: None,
        };
        assert_eq!(
            lines(Some(&expected)),
            "shared prefix: 8 groups of 2048-token prefixes + 256 tokens each\n\
             a: prompt cache hit rate 40.0% reported · 50.0% expected (20 requests)\n\
             b: prompt cache hit rate — reported · 0% expected (0 requests)\n"
        );
        assert_eq!(lines(None), "");
    }
}
