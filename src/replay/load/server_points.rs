//! The servers' series over time for a run loaded from its result files: `summary.json` keeps
//! each server's summary but not its points (they are for drawing), so the HTML report reads
//! them back from `server_metrics.jsonl`, every scrape as it was written. Only the gauges a
//! chart draws (queue, running, KV-cache use) are taken, as the server stated them; a line
//! that cannot be read is passed over (the file is the record, the chart only a view of it),
//! and a run without the file keeps its summaries alone.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::event::Offset;
use crate::stats::EndpointSnapshot;
use crate::stats::server::ServerPoint;

use crate::record::files::SERVER_METRICS_JSONL as FILE;

/// What a line of the file gives a chart; every other field is ignored.
#[derive(Deserialize)]
struct Line {
    /// Seconds since the race's start.
    t_s: f64,
    /// The endpoints this scrape was for (several may share one server).
    endpoints: Vec<String>,
    #[serde(default)]
    reading: Option<Gauges>,
}

#[derive(Deserialize)]
struct Gauges {
    #[serde(default)]
    queue: Option<f64>,
    #[serde(default)]
    running: Option<f64>,
    #[serde(default)]
    kv_cache: Option<f64>,
}

/// Gives each endpoint of `endpoints` that has a server view and no points the points of
/// `dir`'s `server_metrics.jsonl`, oldest first.
pub(super) fn attach(dir: &Path, endpoints: &mut [EndpointSnapshot]) {
    let wanted = |e: &EndpointSnapshot| e.server.as_ref().is_some_and(|v| v.points.is_empty());
    if !endpoints.iter().any(wanted) {
        return;
    }
    let Ok(file) = std::fs::File::open(dir.join(FILE)) else {
        return;
    };
    let mut points: Vec<Vec<ServerPoint>> = vec![Vec::new(); endpoints.len()];
    for line in BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        let Ok(Line {
            t_s,
            endpoints: names,
            reading: Some(reading),
        }) = serde_json::from_str::<Line>(&line)
        else {
            continue;
        };
        if !t_s.is_finite() || t_s < 0.0 {
            continue;
        }
        let point = ServerPoint {
            t: Offset::from_duration(std::time::Duration::from_secs_f64(t_s)),
            queue: reading.queue,
            running: reading.running,
            kv_cache: reading.kv_cache,
            prefix_hit: None,
            spec_accept: None,
        };
        for name in &names {
            if let Some(i) = endpoints.iter().position(|e| &e.name == name) {
                points[i].push(point);
            }
        }
    }
    for (endpoint, mut points) in endpoints.iter_mut().zip(points) {
        if !wanted(endpoint) || points.is_empty() {
            continue;
        }
        points.sort_by_key(|p| p.t);
        if let Some(view) = &mut endpoint.server {
            Arc::make_mut(view).points = points;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::server::ServerView;

    #[test]
    fn the_gauges_of_each_scrape_come_back_and_bad_lines_are_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"{"t_s":1.5,"time":"x","endpoints":["a","b"],"url":"u","took_ms":2,"reading":{"server":"vllm","queue":3,"running":8,"kv_cache":0.5},"series":[["vllm:x",1]]}"#,
            r#"{"t_s":0.5,"endpoints":["a"],"reading":{"queue":1}}"#,
            r#"{"t_s":2.5,"endpoints":["a"],"error":{"kind":"timeout"},"series":[]}"#,
            "not json",
            r#"{"t_s":3.5,"endpoints":["a"],"reading":{"queue":"lots"}}"#,
        ];
        std::fs::write(dir.path().join(FILE), lines.join("\n")).unwrap();
        let mut endpoints = crate::stats::fixture::finished_race(3, 5).endpoints;
        endpoints[0].name = "a".into();
        endpoints[1].name = "b".into();
        endpoints[0].server = Some(Arc::new(ServerView::default()));
        endpoints[2].server = Some(Arc::new(ServerView::default()));
        attach(dir.path(), &mut endpoints);
        let a = &endpoints[0].server.as_ref().unwrap().points;
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].queue, a[1].queue),
            (Some(1.0), Some(3.0)),
            "oldest first"
        );
        assert_eq!(a[1].kv_cache, Some(0.5));
        assert!(
            endpoints[1].server.is_none(),
            "b had no server view to fill"
        );
        assert!(endpoints[2].server.as_ref().unwrap().points.is_empty());
    }

    #[test]
    fn no_file_no_points() {
        let dir = tempfile::tempdir().unwrap();
        let mut endpoints = crate::stats::fixture::finished_race(1, 5).endpoints;
        endpoints[0].server = Some(Arc::new(ServerView::default()));
        attach(dir.path(), &mut endpoints);
        assert!(endpoints[0].server.as_ref().unwrap().points.is_empty());
    }
}
