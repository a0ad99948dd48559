//! The race as one JSON document: the run info, the final summary and the winner of each
//! metric, under stable field names (`report_format` is bumped when a reader would misread it).

use serde::Serialize;

use super::headline::{self, TokenSource, Winner};
use crate::record::{RunInfo, Summary};
use crate::replay::Run;

/// Bumped when a change would make older readers misread the document.
pub const REPORT_FORMAT_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    report_format: u32,
    run: &'a RunInfo,
    summary: &'a Summary,
    /// Where each endpoint's output token counts came from, by endpoint name order.
    token_sources: Vec<EndpointTokenSource<'a>>,
    winners: Vec<Winner>,
    /// The medals (`stats::medals`): empty for a race of one endpoint.
    medals: Vec<super::medals::Entry>,
}

#[derive(Serialize)]
struct EndpointTokenSource<'a> {
    endpoint: &'a str,
    output_tokens: TokenSource,
    estimated_output_requests: u64,
}

pub fn render(run: &Run) -> String {
    let endpoints = &run.summary.endpoints;
    let document = Document {
        report_format: REPORT_FORMAT_VERSION,
        run: &run.info,
        summary: &run.summary,
        token_sources: endpoints
            .iter()
            .map(|e| EndpointTokenSource {
                endpoint: &e.name,
                output_tokens: TokenSource::of(e),
                estimated_output_requests: e.tokens.estimated_output_requests,
            })
            .collect(),
        winners: headline::winners(endpoints)
            .into_iter()
            .map(|(_, w)| w)
            .collect(),
        medals: super::medals::entries(endpoints, &run.summary.costs),
    };
    let mut text = serde_json::to_string_pretty(&document)
        // Plain data (strings, numbers, maps with string keys) always serialises.
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixture_race_as_json() {
        let text = render(&crate::replay::load::fixture(6, 30));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["report_format"], 1);
        assert_eq!(value["summary"]["endpoints"][0]["name"], "turbo");
        insta::assert_snapshot!(text);
    }
}
