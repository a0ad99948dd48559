//! The pace of sending as users describe it (load shapes: rates, rate ramps, arrivals,
//! concurrency ramps), shared by the command line, the race file and the engine. Pure values and
//! arithmetic: no clock and no I/O; the engine turns them into sends.

mod concurrency_ramp;
mod rate;

pub use concurrency_ramp::ConcurrencyRamp;
#[cfg(test)]
pub use rate::RateError;
pub(crate) use rate::humantime_secs;
pub use rate::{Arrivals, LoadShape, Ramp, Rate, RateShape};
