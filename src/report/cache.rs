//! What every report says about cache hygiene per endpoint: the share of requests that
//! repeated a prompt, and the share of input tokens the server said its cache answered ("—"
//! when it never said, never a 0 % for "unknown").

use crate::format::percent;
use crate::stats::EndpointSnapshot;

/// Whether any endpoint was sent a prompt twice.
pub fn any_repeats(endpoints: &[EndpointSnapshot]) -> bool {
    endpoints.iter().any(|e| e.counts.repeats > 0)
}

/// Whether any endpoint's server said how many input tokens were cached.
pub fn any_reported(endpoints: &[EndpointSnapshot]) -> bool {
    endpoints
        .iter()
        .any(|e| e.tokens.cache_hit_rate().is_some())
}

/// The endpoint's share of repeats, "—" before any request ended.
pub fn repeats(e: &EndpointSnapshot) -> String {
    e.counts
        .repeat_share()
        .map_or_else(|| "—".to_string(), percent)
}

/// The endpoint's cache hit rate, "—" when its server never said.
pub fn hit_rate(e: &EndpointSnapshot) -> String {
    e.tokens
        .cache_hit_rate()
        .map_or_else(|| "—".to_string(), percent)
}

/// One sentence for the reports that are prose (Markdown, HTML), when there is anything to
/// say: each endpoint's repeats and cache hit rate.
pub fn sentence(endpoints: &[EndpointSnapshot]) -> Option<String> {
    if !any_repeats(endpoints) && !any_reported(endpoints) {
        return None;
    }
    let each: Vec<String> = endpoints
        .iter()
        .map(|e| {
            format!(
                "{} {} repeats, cache hit {}",
                e.name,
                repeats(e),
                hit_rate(e)
            )
        })
        .collect();
    Some(format!(
        "Prompt cache (repeats: requests whose prompt the endpoint had been sent before; cache \
         hit: cached input tokens over input tokens, as the server reported them, — when it \
         never did): {}.",
        each.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_is_a_dash_and_nothing_is_said_when_nothing_is_known() {
        let mut e = crate::stats::fixture::race(1, 1).endpoints.remove(0);
        e.counts = crate::stats::snapshot::Counts::default();
        e.tokens = crate::stats::snapshot::Tokens::default();
        assert_eq!((repeats(&e), hit_rate(&e)), ("—".into(), "—".into()));
        assert_eq!(sentence(std::slice::from_ref(&e)), None);
        e.counts.succeeded = 4;
        e.counts.repeats = 1;
        e.tokens.input = 400;
        e.tokens.cache_reported = 4;
        assert_eq!((repeats(&e), hit_rate(&e)), ("25.0%".into(), "0%".into()));
        e.tokens.cached_input = 100;
        assert_eq!(hit_rate(&e), "25.0%");
        assert!(sentence(&[e]).is_some_and(|s| s.contains("25.0% repeats, cache hit 25.0%")));
    }
}
