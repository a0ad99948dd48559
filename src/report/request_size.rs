//! What requests weigh on the wire, told where it matters: when an endpoint's requests are
//! large (images, long prompts), a line says how large, so the cost of images shows beside the
//! times they cost.

use crate::format::bytes;
use crate::stats::EndpointSnapshot;

/// Requests at least this large on average are worth a line: a few pages of text are not.
const WORTH_TELLING: u64 = 64_000;

/// `turbo: 542 kB sent per request on average`, when the endpoint's requests are large.
#[must_use]
pub fn note(endpoint: &EndpointSnapshot) -> Option<String> {
    let mean = endpoint.mean_request_bytes()?;
    (mean >= WORTH_TELLING).then(|| {
        format!(
            "{}: {} sent per request on average",
            endpoint.name,
            bytes(mean)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::fixture::race;

    #[test]
    fn only_large_requests_are_told() {
        let mut endpoint = race(1, 4).endpoints.remove(0);
        let c = endpoint.counts;
        let ended = c.succeeded + c.failed + c.cancelled;
        endpoint.tokens.request_bytes = 1_000 * ended;
        assert_eq!(note(&endpoint), None);
        endpoint.tokens.request_bytes = 542_000 * ended;
        let told = note(&endpoint).unwrap_or_default();
        assert!(
            told.ends_with(": 542 kB sent per request on average"),
            "{told}"
        );
    }
}
