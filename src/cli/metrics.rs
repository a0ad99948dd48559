//! The exporter's flags, the same for `race`, `sweep` and `replay`: where the race's metrics
//! are served for Prometheus and how long after the finish.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

/// `--metrics-addr`, `--metrics-linger`; they override the race file's `[export]`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Args)]
pub struct MetricsArgs {
    /// Serve the race's metrics on `http://ADDR/metrics` for Prometheus while it runs: a port
    /// (9464 is 127.0.0.1:9464) or HOST:PORT (0.0.0.0:9464 lets other machines scrape it).
    #[arg(long = "metrics-addr", value_name = "ADDR", help_heading = "Prometheus",
          value_parser = parse_metrics_addr)]
    pub addr: Option<SocketAddr>,

    /// Keep serving the final values this long after the finish, so the last scrape sees
    /// them (Ctrl-C ends the wait).
    #[arg(long = "metrics-linger", value_name = "DURATION", help_heading = "Prometheus",
          value_parser = super::parse_duration)]
    pub linger: Option<Duration>,
}

fn parse_metrics_addr(text: &str) -> Result<SocketAddr, String> {
    crate::config::listen_addr(text).map_err(|p| format!("{}; {}", p.problem, p.help))
}
