//! A criterion measurement on the benchmark thread's own CPU clock instead of the wall clock.
//!
//! The benchmark machine is shared: other jobs take turns on the same core whatever their nice
//! value (Linux's autogroup shares a core evenly between sessions). Wall-clock times then
//! include other jobs' slices and vary by 2× between runs; CPU time counts only the work
//! measured. On an idle core the two agree. Outside Unix this falls back to wall time.

use std::time::Duration;

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// CPU time of the calling thread.
pub struct ThreadCpu;

#[cfg(unix)]
fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

#[cfg(not(unix))]
fn now() -> Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    ORIGIN.get_or_init(std::time::Instant::now).elapsed()
}

/// The thread's CPU clock now, for `iter_custom` loops that time only part of an iteration.
pub fn cpu_now() -> Duration {
    now()
}

impl Measurement for ThreadCpu {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        now()
    }

    fn end(&self, started: Duration) -> Duration {
        now().saturating_sub(started)
    }

    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Values are nanoseconds of CPU time; shown in the largest unit that keeps them above 1.
struct CpuFormatter;

fn time_unit(ns: f64) -> (f64, &'static str) {
    match ns {
        n if n < 1e3 => (1.0, "ns"),
        n if n < 1e6 => (1e3, "µs"),
        n if n < 1e9 => (1e6, "ms"),
        _ => (1e9, "s"),
    }
}

fn rate_unit(per_s: f64) -> (f64, &'static str) {
    match per_s {
        r if r < 1e3 => (1.0, ""),
        r if r < 1e6 => (1e3, "K"),
        r if r < 1e9 => (1e6, "M"),
        _ => (1e9, "G"),
    }
}

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = time_unit(typical);
        for v in values {
            *v /= div;
        }
        unit
    }

    fn scale_throughputs(
        &self,
        typical: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let (per_iter, bytes) = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) => (n as f64, true),
            Throughput::Elements(n) => (n as f64, false),
            Throughput::Bits(n) => (n as f64 / 8.0, true),
        };
        let (div, prefix) = rate_unit(per_iter * 1e9 / typical);
        for v in values.iter_mut() {
            *v = per_iter * 1e9 / *v / div;
        }
        match (bytes, prefix) {
            (true, "") => "B/s (CPU)",
            (true, "K") => "KB/s (CPU)",
            (true, "M") => "MB/s (CPU)",
            (true, _) => "GB/s (CPU)",
            (false, "") => "elem/s (CPU)",
            (false, "K") => "Kelem/s (CPU)",
            (false, "M") => "Melem/s (CPU)",
            (false, _) => "Gelem/s (CPU)",
        }
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
