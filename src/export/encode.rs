//! A page of metrics from the races' latest snapshots, in the Prometheus text format (0.0.4)
//! or OpenMetrics 1.0, written by the `prometheus-client` crate's encoders: every value is
//! read from a snapshot, none computed here.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use super::RaceLabels;
use crate::stats::buckets::Buckets;
use crate::stats::server::{ServerPoint, ServerView};
use crate::stats::{EndpointSnapshot, Snapshot};

/// The Prometheus text format's content type.
pub const PROMETHEUS_TEXT: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
/// OpenMetrics' content type.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The page for these races: OpenMetrics (ending `# EOF`) or the Prometheus text format.
pub fn encode(races: Vec<(Arc<RaceLabels>, Arc<Snapshot>)>, openmetrics: bool) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Races(races)));
    let mut page = String::new();
    // Writing to a String cannot fail; a failed encoder would leave a shorter page.
    let _ = if openmetrics {
        prometheus_client::encoding::text::encode(&mut page, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut page, &registry)
    };
    page
}

#[derive(Debug)]
struct Races(Vec<(Arc<RaceLabels>, Arc<Snapshot>)>);

type Labels = Vec<(&'static str, String)>;

/// One family: its name (without `_total` or the unit), help, type and unit.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    unit: Option<Unit>,
}

const fn family(name: &'static str, help: &'static str, kind: MetricType) -> Family {
    Family {
        name,
        help,
        kind,
        unit: None,
    }
}

const fn seconds(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: MetricType::Histogram,
        unit: Some(Unit::Seconds),
    }
}

impl Races {
    /// Every endpoint of every race, with its labels.
    fn endpoints(&self) -> impl Iterator<Item = (Labels, &EndpointSnapshot)> {
        self.0.iter().flat_map(|(labels, snapshot)| {
            snapshot.endpoints.iter().enumerate().map(move |(i, e)| {
                let own = labels.endpoints.get(i);
                let mut set: Labels = vec![
                    ("race", labels.race.clone()),
                    (
                        "endpoint",
                        own.map_or_else(|| e.name.clone(), |o| o.endpoint.clone()),
                    ),
                    ("model", own.map(|o| o.model.clone()).unwrap_or_default()),
                    (
                        "protocol",
                        own.map(|o| o.protocol.clone()).unwrap_or_default(),
                    ),
                ];
                if let Some(level) = &labels.level {
                    set.push(("level", level.clone()));
                }
                (set, e)
            })
        })
    }

    /// One family, a sample (or histogram) per endpoint that `value` gives one for.
    fn write(
        &self,
        encoder: &mut DescriptorEncoder,
        family: &Family,
        value: impl Fn(&EndpointSnapshot, &Labels, &mut MetricEncoder) -> Result<(), std::fmt::Error>,
    ) -> Result<(), std::fmt::Error> {
        let mut metric = encoder.encode_descriptor(
            family.name,
            family.help,
            family.unit.as_ref(),
            family.kind,
        )?;
        for (labels, endpoint) in self.endpoints() {
            value(endpoint, &labels, &mut metric)?;
        }
        Ok(())
    }
}

fn counter(metric: &mut MetricEncoder, labels: &Labels, v: u64) -> Result<(), std::fmt::Error> {
    metric
        .encode_family(labels)?
        .encode_counter::<NoLabelSet, u64, u64>(&v, None)
}

fn gauge(metric: &mut MetricEncoder, labels: &Labels, v: f64) -> Result<(), std::fmt::Error> {
    metric.encode_family(labels)?.encode_gauge(&v)
}

fn histogram(
    metric: &mut MetricEncoder,
    labels: &Labels,
    b: &Buckets,
) -> Result<(), std::fmt::Error> {
    metric
        .encode_family(labels)?
        .encode_histogram::<NoLabelSet>(b.sum_s(), b.count(), &b.per_bucket(), None)
}

fn with(labels: &Labels, key: &'static str, value: &str) -> Labels {
    let mut set = labels.clone();
    set.push((key, value.to_string()));
    set
}

impl Collector for Races {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.counts(&mut encoder)?;
        self.tokens(&mut encoder)?;
        self.latencies(&mut encoder)?;
        self.server(&mut encoder)
    }
}

impl Races {
    /// Requests by outcome, errors by class, requests in flight.
    fn counts(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.write(
            e,
            &family(
                "llmrace_requests",
                "Measured requests that ended, by outcome (ok, failed, cancelled); warm-up \
                 requests left out.",
                MetricType::Counter,
            ),
            |s, l, m| {
                counter(m, &with(l, "outcome", "ok"), s.counts.succeeded)?;
                counter(m, &with(l, "outcome", "failed"), s.counts.failed)?;
                counter(m, &with(l, "outcome", "cancelled"), s.counts.cancelled)
            },
        )?;
        self.write(
            e,
            &family(
                "llmrace_errors",
                "Failed requests by error class.",
                MetricType::Counter,
            ),
            |s, l, m| {
                for (class, n) in &s.errors {
                    counter(m, &with(l, "class", class.name()), *n)?;
                }
                Ok(())
            },
        )?;
        self.write(
            e,
            &family(
                "llmrace_in_flight",
                "Measured requests sent and not ended yet.",
                MetricType::Gauge,
            ),
            |s, l, m| gauge(m, l, s.counts.in_flight as f64),
        )
    }

    fn tokens(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in [
            (
                "llmrace_output_tokens",
                "Output tokens of succeeded requests (the server's usage, or estimated).",
                (|s: &EndpointSnapshot| s.tokens.output) as fn(&EndpointSnapshot) -> u64,
            ),
            (
                "llmrace_input_tokens",
                "Input (prompt) tokens of ended requests, cached ones included.",
                |s| s.tokens.input,
            ),
            (
                "llmrace_cached_input_tokens",
                "Of the input tokens, those the server read from its prompt cache.",
                |s| s.tokens.cached_input,
            ),
        ] {
            self.write(e, &family(name, help, MetricType::Counter), |s, l, m| {
                // An embeddings endpoint writes no tokens: no sample rather than a zero.
                if name == "llmrace_output_tokens" && s.embeddings.is_some() {
                    return Ok(());
                }
                counter(m, l, value(s))
            })?;
        }
        if self.endpoints().any(|(_, s)| s.embeddings.is_some()) {
            let inputs = family(
                "llmrace_embedding_inputs",
                "Inputs embedded by succeeded requests of embeddings endpoints (a vector each).",
                MetricType::Counter,
            );
            self.write(e, &inputs, |s, l, m| match s.embeddings {
                Some(embeddings) => counter(m, l, embeddings.inputs),
                None => Ok(()),
            })?;
        }
        Ok(())
    }

    fn latencies(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, buckets) in [
            (
                "llmrace_ttft",
                "Time to first token of succeeded requests.",
                (|s: &EndpointSnapshot| &s.buckets.ttft) as fn(&EndpointSnapshot) -> &Buckets,
            ),
            (
                "llmrace_ttfa",
                "Time to first answer token (after any reasoning) of succeeded requests.",
                |s| &s.buckets.ttfa,
            ),
            (
                "llmrace_ttlt",
                "Time to last token (the whole response) of succeeded requests.",
                |s| &s.buckets.ttlt,
            ),
            (
                "llmrace_itl",
                "Inter-token latency: each gap between two content chunks of succeeded requests.",
                |s| &s.buckets.itl,
            ),
            (
                "llmrace_tpot",
                "Time per output token after the first, per succeeded request.",
                |s| &s.buckets.tpot,
            ),
        ] {
            self.write(e, &seconds(name, help), |s, l, m| {
                // An embeddings endpoint has no tokens to time: its latency is its TTLT.
                if name != "llmrace_ttlt" && s.embeddings.is_some() {
                    return Ok(());
                }
                histogram(m, l, buckets(s))
            })?;
        }
        Ok(())
    }

    /// The server's own metrics for the endpoints whose server published them (a family no
    /// endpoint has is left out): queue, running and KV cache as its last scrape said, the
    /// prefix-cache and speculative-decoding shares over the race so far (the last interval
    /// alone has no lookups once the race is over, and jumps about while it runs).
    fn server(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in [
            (
                "llmrace_server_queue",
                "Requests waiting in the server's queue, as its own /metrics said last.",
                (|v: &ServerView| last(v).and_then(|p| p.queue)) as fn(&ServerView) -> Option<f64>,
            ),
            (
                "llmrace_server_running",
                "Requests the server was running, as its own /metrics said last.",
                |v| last(v).and_then(|p| p.running),
            ),
            (
                "llmrace_server_kv_cache_ratio",
                "Share of the server's KV cache in use (0 to 1).",
                |v| last(v).and_then(|p| p.kv_cache),
            ),
            (
                "llmrace_server_prefix_cache_hit_ratio",
                "Share of looked-up prompt tokens the server found in its prefix cache over the \
                 race so far (0 to 1).",
                |v| v.summary.prefix_hit,
            ),
            (
                "llmrace_server_spec_decode_accept_ratio",
                "Share of speculative draft tokens the server accepted over the race so far \
                 (0 to 1).",
                |v| v.summary.spec_accept,
            ),
        ] {
            let any = self
                .endpoints()
                .any(|(_, s)| s.server.as_deref().and_then(value).is_some());
            if any {
                self.write(e, &family(name, help, MetricType::Gauge), |s, l, m| match s
                    .server
                    .as_deref()
                    .and_then(value)
                {
                    Some(v) => gauge(m, l, v),
                    None => Ok(()),
                })?;
            }
        }
        Ok(())
    }
}

fn last(v: &ServerView) -> Option<&ServerPoint> {
    v.points.last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::EndpointLabels;

    fn races(name: &str) -> Vec<(Arc<RaceLabels>, Arc<Snapshot>)> {
        let snapshot = crate::stats::fixture::finished_race(2, 50);
        let labels = RaceLabels {
            race: "r".to_string(),
            level: Some("8".to_string()),
            endpoints: vec![
                EndpointLabels {
                    endpoint: name.to_string(),
                    model: "m".to_string(),
                    protocol: "openai".to_string(),
                },
                EndpointLabels {
                    endpoint: "b".to_string(),
                    model: "m".to_string(),
                    protocol: "ollama".to_string(),
                },
            ],
        };
        vec![(Arc::new(labels), Arc::new(snapshot))]
    }

    #[test]
    fn each_endpoint_gets_its_counts_and_histograms_with_its_labels() {
        let races = races("a");
        let snapshot = Arc::clone(&races[0].1);
        let page = encode(races, false);
        let e = &snapshot.endpoints[0];
        let labels = r#"race="r",endpoint="a",model="m",protocol="openai",level="8""#;
        assert!(
            page.contains(&format!(
                "llmrace_requests_total{{{labels},outcome=\"ok\"}} {}\n",
                e.counts.succeeded
            )),
            "{page}"
        );
        assert!(page.contains(&format!(
            "llmrace_ttft_seconds_count{{{labels}}} {}\n",
            e.buckets.ttft.count()
        )));
        assert!(e.buckets.ttft.count() > 0);
        assert!(page.contains("# TYPE llmrace_ttft_seconds histogram\n"));
        assert!(page.contains(r#"le="+Inf"} "#));
        assert!(!page.contains("# EOF"));
        // No server was scraped: no server family at all.
        assert!(!page.contains("llmrace_server_"));
    }

    #[test]
    fn an_embeddings_endpoint_has_inputs_and_its_latency_but_no_token_families() {
        let mut races = races("a");
        let snapshot = crate::stats::fixture::finished_race_with_embeddings(2, 20);
        let inputs = snapshot.endpoints[1].embeddings.map(|m| m.inputs);
        races[0].1 = Arc::new(snapshot);
        let page = encode(races, false);
        let b = r#"race="r",endpoint="b",model="m",protocol="ollama",level="8""#;
        let line = |family: &str| format!("{family}{{{b}}} ");
        assert!(
            page.contains(&format!(
                "{}{}\n",
                line("llmrace_embedding_inputs_total"),
                inputs.unwrap()
            )),
            "{page}"
        );
        assert!(page.contains(&line("llmrace_ttlt_seconds_count")), "{page}");
        for family in [
            "llmrace_ttft_seconds_count",
            "llmrace_tpot_seconds_count",
            "llmrace_itl_seconds_count",
            "llmrace_output_tokens_total",
        ] {
            assert!(!page.contains(&line(family)), "{family}: {page}");
        }
        // The chat endpoint has no embeddings sample.
        assert!(!page.contains(r#"llmrace_embedding_inputs_total{race="r",endpoint="a""#));
    }

    #[test]
    fn cache_shares_are_over_the_race_not_the_last_interval() {
        let mut races = races("a");
        let mut snapshot = crate::stats::fixture::with_servers((*races[0].1).clone());
        let mut view = (**snapshot.endpoints[0].server.as_ref().unwrap()).clone();
        // After the finish the last interval looked nothing up: no share of its own.
        let last = view.points.last_mut().unwrap();
        last.prefix_hit = None;
        last.spec_accept = None;
        view.summary.prefix_hit = Some(0.3);
        view.summary.spec_accept = Some(0.6);
        snapshot.endpoints[0].server = Some(Arc::new(view));
        races[0].1 = Arc::new(snapshot);
        let page = encode(races, false);
        let labels = r#"race="r",endpoint="a",model="m",protocol="openai",level="8""#;
        assert!(
            page.contains(&format!(
                "llmrace_server_prefix_cache_hit_ratio{{{labels}}} 0.3\n"
            )),
            "{page}"
        );
        assert!(page.contains(&format!(
            "llmrace_server_spec_decode_accept_ratio{{{labels}}} 0.6\n"
        )));
    }

    #[test]
    fn openmetrics_ends_with_eof_and_names_counters_without_total() {
        let page = encode(races("a"), true);
        assert!(page.ends_with("# EOF\n"));
        assert!(page.contains("# TYPE llmrace_requests counter\n"));
        assert!(page.contains("# UNIT llmrace_ttft_seconds seconds\n"));
    }

    #[test]
    fn hostile_names_are_escaped_not_broken_out_of() {
        let page = encode(races("a\"}\nllmrace_in_flight{x=\"1"), false);
        // Every sample line still starts with a family of ours; the name is inside quotes.
        for line in page.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("llmrace_"), "{line}");
        }
        assert!(page.contains(r#"endpoint="a\"}\nllmrace_in_flight{x=\"1""#));
    }
}
