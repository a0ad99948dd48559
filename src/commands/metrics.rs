//! The exporter as the command edge runs it: bound before the race (a port in use is a setup
//! error), announced on stderr with the address it got, and kept serving the final values
//! after the finish for `--metrics-linger`.

use std::time::Duration;

use crate::config::ExportConfig;
use crate::export::{ExportError, Exporter};
use crate::print;

/// Listens where `[export] prometheus` / `--metrics-addr` says, if anywhere.
pub(super) fn start(export: &ExportConfig) -> Result<Option<Exporter>, ExportError> {
    let Some(addr) = export.prometheus else {
        return Ok(None);
    };
    let exporter = Exporter::bind(addr)?;
    // Always said, quiet or not: with port 0 this is the only way to learn the port.
    print::err(&format!(
        "Serving metrics for Prometheus on {}",
        exporter.url()
    ));
    Ok(Some(exporter))
}

/// Serves the final values for `linger` (Ctrl-C ends the wait), then stops listening.
pub(super) async fn linger(exporter: Option<Exporter>, linger: Option<Duration>) {
    let Some(exporter) = exporter else { return };
    if let Some(wait) = linger {
        print::err(&format!(
            "Still serving the final metrics on {} for {} (Ctrl-C ends the wait)",
            exporter.url(),
            humantime::format_duration(wait)
        ));
    }
    exporter.close_after(linger).await;
}
