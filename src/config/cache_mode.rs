//! Cache hygiene as a race asks for it: `cold` (the default) salts every prompt so that no
//! server's prefix cache can answer it from an earlier run; `reuse` sends prompts as written.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheMode {
    /// A salt unique to each endpoint of each run starts every prompt.
    #[default]
    Cold,
    /// Prompts exactly as written: a server may answer them from an earlier run's cache.
    Reuse,
}

impl CacheMode {
    pub const NAMES: [&'static str; 2] = ["cold", "reuse"];

    pub fn parse(text: &str) -> Option<CacheMode> {
        match text {
            "cold" => Some(CacheMode::Cold),
            "reuse" => Some(CacheMode::Reuse),
            _ => None,
        }
    }

    /// How a `run.json` written before salts existed reads: its prompts went as written.
    pub(crate) fn before_salts() -> CacheMode {
        CacheMode::Reuse
    }
}
