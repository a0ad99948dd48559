//! The race as CSV: one row per endpoint with its headline numbers, raw (milliseconds,
//! per-second rates, shares as fractions), under a header row.

use serde::Serialize;

use super::headline::TokenSource;
use crate::replay::Run;

/// One endpoint's headline numbers. Field names are the column names: keep them stable.
#[derive(Debug, Serialize)]
struct Row<'a> {
    endpoint: &'a str,
    protocol: &'a str,
    model: &'a str,
    sent: u64,
    succeeded: u64,
    failed: u64,
    cancelled: u64,
    success_rate: f64,
    ttft_p50_ms: Option<f64>,
    ttft_p90_ms: Option<f64>,
    ttft_p99_ms: Option<f64>,
    ttlt_p50_ms: Option<f64>,
    ttlt_p90_ms: Option<f64>,
    ttlt_p99_ms: Option<f64>,
    tpot_p50_ms: Option<f64>,
    tpot_p99_ms: Option<f64>,
    itl_p50_ms: Option<f64>,
    itl_p99_ms: Option<f64>,
    /// Empty for an embeddings endpoint, which writes no tokens.
    output_tokens_per_s: Option<f64>,
    requests_per_min: f64,
    goodput_per_s: f64,
    input_tokens: u64,
    output_tokens: u64,
    /// `usage`, `estimated`, `mixed` or `none`.
    output_tokens_source: &'static str,
    errors: String,
    /// USD, empty when the endpoint has no price.
    cost_usd: Option<f64>,
    cost_per_1k_requests_usd: Option<f64>,
    cost_per_million_output_usd: Option<f64>,
    /// Columns added later go at the end. Cached input tokens as the server reported them.
    cached_input_tokens: u64,
    /// Empty when the server never said how many tokens were cached.
    cache_hit_rate: Option<f64>,
    /// A shared-prefix race's expected hit rate; empty otherwise.
    expected_cache_hit_rate: Option<f64>,
    repeats: u64,
    repeat_share: f64,
    /// Embeddings endpoints only (empty otherwise): inputs per request, inputs embedded per
    /// second, and the vectors' dimension.
    embed_batch: Option<u32>,
    inputs_per_s: Option<f64>,
    embedding_dimension: Option<u32>,
    /// The proxy the endpoint went through (redacted); empty when direct.
    proxy: Option<&'a str>,
}

pub fn render(run: &Run) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for e in &run.summary.endpoints {
        let info = run.info.endpoints.iter().find(|i| i.name == e.name);
        let l = &e.latency;
        let cost = run.summary.costs.get(&e.name);
        let errors: Vec<String> = e
            .errors
            .iter()
            .map(|(c, n)| format!("{}={n}", c.name()))
            .collect();
        let row = Row {
            endpoint: &e.name,
            protocol: info.map_or("", |i| i.protocol.as_str()),
            model: info.map_or("", |i| i.model.as_str()),
            sent: e.counts.sent,
            succeeded: e.counts.succeeded,
            failed: e.counts.failed,
            cancelled: e.counts.cancelled,
            success_rate: e.rates.success_rate,
            ttft_p50_ms: l.ttft_ms.map(|s| s.p50),
            ttft_p90_ms: l.ttft_ms.map(|s| s.p90),
            ttft_p99_ms: l.ttft_ms.map(|s| s.p99),
            ttlt_p50_ms: l.ttlt_ms.map(|s| s.p50),
            ttlt_p90_ms: l.ttlt_ms.map(|s| s.p90),
            ttlt_p99_ms: l.ttlt_ms.map(|s| s.p99),
            tpot_p50_ms: l.tpot_ms.map(|s| s.p50),
            tpot_p99_ms: l.tpot_ms.map(|s| s.p99),
            itl_p50_ms: l.itl_ms.map(|s| s.p50),
            itl_p99_ms: l.itl_ms.map(|s| s.p99),
            output_tokens_per_s: e
                .embeddings
                .is_none()
                .then_some(e.rates.output_tokens_per_s),
            requests_per_min: e.rates.requests_per_min,
            goodput_per_s: e.rates.goodput_per_s,
            input_tokens: e.tokens.input,
            output_tokens: e.tokens.output,
            output_tokens_source: TokenSource::of(e).key(),
            errors: errors.join(";"),
            cost_usd: cost.map(|c| c.total_usd),
            cost_per_1k_requests_usd: cost.and_then(|c| c.per_1k_requests_usd),
            cost_per_million_output_usd: cost.and_then(|c| c.per_million_output_usd),
            cached_input_tokens: e.tokens.cached_input,
            cache_hit_rate: e.tokens.cache_hit_rate(),
            expected_cache_hit_rate: run.summary.expected_cache.as_ref().and_then(|x| {
                x.endpoints
                    .iter()
                    .find(|c| c.endpoint == e.name)
                    .map(|c| c.expected)
            }),
            repeats: e.counts.repeats,
            repeat_share: e.rates.repeat_share,
            embed_batch: e.embeddings.map(|m| m.batch),
            inputs_per_s: e.embeddings.map(|m| m.inputs_per_s),
            embedding_dimension: e.embeddings.and_then(|m| m.dimension),
            proxy: info.and_then(|i| i.proxy.as_deref()),
        };
        // Writing to memory cannot fail, and every field is a plain value.
        let _ = writer.serialize(row);
    }
    if run.summary.endpoints.is_empty() {
        // serde writes the header with the first row; a race without endpoints still has one.
        let _ = writer.write_record(HEADER);
    }
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

const HEADER: [&str; 37] = [
    "endpoint",
    "protocol",
    "model",
    "sent",
    "succeeded",
    "failed",
    "cancelled",
    "success_rate",
    "ttft_p50_ms",
    "ttft_p90_ms",
    "ttft_p99_ms",
    "ttlt_p50_ms",
    "ttlt_p90_ms",
    "ttlt_p99_ms",
    "tpot_p50_ms",
    "tpot_p99_ms",
    "itl_p50_ms",
    "itl_p99_ms",
    "output_tokens_per_s",
    "requests_per_min",
    "goodput_per_s",
    "input_tokens",
    "output_tokens",
    "output_tokens_source",
    "errors",
    "cost_usd",
    "cost_per_1k_requests_usd",
    "cost_per_million_output_usd",
    "cached_input_tokens",
    "cache_hit_rate",
    "expected_cache_hit_rate",
    "repeats",
    "repeat_share",
    "embed_batch",
    "inputs_per_s",
    "embedding_dimension",
    "proxy",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[expect(
        clippy::float_cmp,
        reason = "exact values: parsed from literals or computed from whole numbers"
    )]
    #[test]
    fn rows_parse_back_with_their_numbers() {
        let run = crate::replay::load::fixture(6, 30);
        let text = render(&run);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(header, HEADER);
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 6);
        for (row, e) in rows.iter().zip(&run.summary.endpoints) {
            assert_eq!(&row[0], e.name);
            assert_eq!(row[3].parse::<u64>().unwrap(), e.counts.sent);
            let ttft: f64 = row[8].parse().unwrap();
            assert_eq!(ttft, e.latency.ttft_ms.unwrap().p50);
            let tps: f64 = row[18].parse().unwrap();
            assert_eq!(tps, e.rates.output_tokens_per_s);
            assert_eq!(row[28].parse::<u64>().unwrap(), e.tokens.cached_input);
            let hit = e.tokens.cache_hit_rate().map(|r| r.to_string());
            assert_eq!(&row[29], hit.as_deref().unwrap_or(""));
            assert_eq!(row[31].parse::<u64>().unwrap(), e.counts.repeats);
        }
        assert_eq!(&rows[5][23], "estimated", "bursty estimates its usage");
        assert!(rows[3][24].contains("server_error="), "{:?}", &rows[3]);
    }

    #[test]
    fn names_with_commas_and_quotes_survive_and_an_empty_race_has_a_header() {
        let mut run = crate::replay::load::fixture(1, 3);
        run.summary.endpoints[0].name = "a, \"b\"\nc".to_string();
        let text = render(&run);
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[0], "a, \"b\"\nc");

        run.summary.endpoints.clear();
        let text = render(&run);
        assert_eq!(text.trim_end(), HEADER.join(","));
    }
}
