//! Why an endpoint failed, told at once: when every request of an endpoint failed, the line
//! under the table says what the server said the first time (as the inspector and
//! `requests.jsonl` have it), not only the error's class, so a wrong key, model or URL shows
//! without opening anything.

use crate::stats::snapshot::{EndpointSnapshot, RequestState};

/// The most of a message the line shows: the files have all of it.
const SHOWN_CHARS: usize = 160;

/// `o: every request failed; the first: HTTP 404 … — nothing at POST /v1/chat`, when every
/// request of the endpoint that ended failed. The message is the first failure still among
/// the endpoint's recent requests (a live race's oldest kept), already redacted where the
/// race received it; control characters are made inert and it is cut to one short line.
#[must_use]
pub fn note(endpoint: &EndpointSnapshot) -> Option<String> {
    let c = endpoint.counts;
    if c.failed == 0 || c.succeeded > 0 {
        return None;
    }
    let message = endpoint.requests.iter().find_map(|r| match &r.state {
        RequestState::Failed { message, .. } if !message.trim().is_empty() => Some(message),
        _ => None,
    })?;
    Some(format!(
        "{}: every request failed; the first said: {}",
        endpoint.name,
        one_line(message)
    ))
}

/// `message` on one line: whitespace and control characters as single spaces, at most
/// [`SHOWN_CHARS`] characters, `…` where it was cut.
fn one_line(message: &str) -> String {
    let spaced: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let words = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut shown: String = words.chars().take(SHOWN_CHARS).collect();
    if shown.len() < words.len() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::ErrorClass;
    use crate::stats::fixture::finished_race;

    fn failing(messages: &[&str]) -> EndpointSnapshot {
        let mut endpoint = finished_race(1, 3).endpoints.remove(0);
        endpoint.counts.succeeded = 0;
        endpoint.counts.failed = u64::try_from(messages.len()).unwrap();
        let template = Arc::clone(&endpoint.requests[0]);
        endpoint.requests = messages
            .iter()
            .map(|m| {
                let mut view = (*template).clone();
                view.state = RequestState::Failed {
                    class: ErrorClass::BadRequest,
                    message: (*m).to_owned(),
                };
                Arc::new(view)
            })
            .collect();
        endpoint
    }

    #[test]
    fn an_endpoint_whose_every_request_failed_says_the_first_message() {
        let endpoint = failing(&[
            "HTTP 404 Not Found: model `gpt-5` does not exist",
            "HTTP 404 Not Found: something else",
        ]);
        assert_eq!(
            note(&endpoint).unwrap(),
            format!(
                "{}: every request failed; the first said: HTTP 404 Not Found: model `gpt-5` \
                 does not exist",
                endpoint.name
            )
        );
    }

    #[test]
    fn control_characters_are_inert_and_a_long_message_is_cut() {
        let long = format!("\x1b[31mred\x1b[0m\nnext {}", "x".repeat(400));
        let told = note(&failing(&[&long])).unwrap();
        assert!(!told.chars().any(char::is_control), "{told:?}");
        assert!(told.contains("[31mred [0m next x"), "{told}");
        assert!(told.ends_with('…'), "{told}");
        assert!(told.chars().count() < 220, "{told}");
    }

    #[test]
    fn an_endpoint_with_a_success_or_no_failure_says_nothing() {
        let mut endpoint = failing(&["boom"]);
        endpoint.counts.succeeded = 1;
        assert_eq!(note(&endpoint), None);
        let endpoint = finished_race(1, 3).endpoints.remove(0);
        if endpoint.counts.failed == 0 || endpoint.counts.succeeded > 0 {
            assert_eq!(note(&endpoint), None);
        }
        // Every request failed but none is kept with a message: no line rather than a guess.
        let mut endpoint = failing(&["  "]);
        endpoint.counts.failed = 5;
        assert_eq!(note(&endpoint), None);
    }
}
