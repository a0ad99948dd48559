//! `llmrace race --check`: the race resolved as `llmrace race` would resolve it (the race file,
//! every flag, the shard split, `--start-at`, the thresholds, the prompts), then an exit,
//! before anything that needs the machine the race will run on: no request sent, no mock
//! server started, no metrics port bound, no file written, no API key read. For scripts that
//! submit a race to run elsewhere (`deploy/slurm/submit.sh`), so that a typo fails the
//! submission instead of every shard.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use crate::config::RaceConfig;
use crate::race::RaceError;
use crate::{print, workload};

use super::CommandError;

/// Checks what a race would check before its start that does not depend on where it runs;
/// says what it checked. Exit code 0; an error is the race's own (exit 2).
pub(super) fn check_race(config: &RaceConfig, base_dir: &Path) -> Result<i32, CommandError> {
    crate::threshold::parse_all(&config.fail_if)?;
    let needed = config
        .load
        .requests
        .map(|n| n.saturating_add(u64::from(config.load.warmup_requests)));
    let stop = AtomicBool::new(false);
    let loading = workload::Loading {
        needed,
        stop: &stop,
        until: None,
    };
    let prompts = workload::load_needed(&config.workload, base_dir, loading)
        .map_err(RaceError::from)?
        .prompts
        .len();
    let shard = config
        .shard
        .map(|s| format!(" as shard {s}"))
        .unwrap_or_default();
    print::out(&format!(
        "Race '{}' checked{shard}: {}, {}; nothing sent (API keys, servers and the machine's \
         capacity are checked when it runs)\n",
        config.name,
        crate::format::count(config.endpoints.len() as u64, "endpoint"),
        crate::format::count(prompts as u64, "prompt"),
    ));
    Ok(0)
}
