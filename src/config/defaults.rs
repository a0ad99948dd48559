//! The defaults that depend on more than one layer, and the bare race that `-e` endpoints
//! alone start from (the demo race is built on it too).

use crate::pace::Arrivals;

use super::{
    CacheMode, DEFAULT_BUILTIN, DEFAULT_CONCURRENCY, DEFAULT_REQUESTS, LoadConfig, PromptSource,
    RaceConfig, Slo, Timeouts, WorkloadConfig,
};

/// Defaults that depend on more than one layer: a race bounded by neither a request count nor
/// a duration gets the default request count.
pub(crate) fn fill_defaults(race: &mut RaceConfig) {
    let load = &mut race.load;
    // A trace bounds its race by its own rows; any other source gets a speed only by mistake.
    let trace = matches!(race.workload.prompts, PromptSource::Trace(_));
    load.trace_speed = trace.then(|| load.trace_speed.unwrap_or(1.0));
    if load.requests.is_none() && load.duration.is_none() && !trace {
        load.requests = Some(DEFAULT_REQUESTS);
    }
    // A ramp needs its peak of workers on every endpoint.
    if let Some(ramp) = load.concurrency_ramp {
        load.concurrency = ramp.peak();
        race.endpoints.iter_mut().for_each(|e| e.concurrency = None);
    }
    // Recorded, so a run says which arrivals it drew.
    load.arrival_seed = (load.arrivals == Arrivals::Poisson && load.open_loop().is_some())
        .then_some(race.workload.seed);
}

impl WorkloadConfig {
    /// `prompts`, with every other workload setting at its default.
    pub fn of(prompts: PromptSource) -> WorkloadConfig {
        WorkloadConfig {
            prompts,
            max_tokens: None,
            temperature: None,
            stream: true,
            shuffle: false,
            seed: 0,
            sharegpt_output_len: false,
            images: None,
            turns: 1,
            embed_batch: 1,
            think_time: None,
            cache: CacheMode::Cold,
        }
    }
}

/// Defaults only, no endpoints: the base when endpoints come from `-e` alone.
pub(crate) fn bare_race() -> RaceConfig {
    RaceConfig {
        name: "race".to_string(),
        workload: WorkloadConfig::of(PromptSource::Builtin(DEFAULT_BUILTIN.to_string())),
        load: LoadConfig {
            requests: None,
            duration: None,
            concurrency: DEFAULT_CONCURRENCY,
            warmup_requests: 0,
            warm_connections: true,
            rate: None,
            ramp: None,
            arrivals: Arrivals::Constant,
            max_in_flight: None,
            laps: false,
            concurrency_ramp: None,
            arrival_seed: None,
            retries: 0,
            trace_speed: None,
        },
        timeouts: Timeouts::default(),
        slo: Slo::default(),
        endpoints: Vec::new(),
        fail_if: Vec::new(),
        export: super::ExportConfig::default(),
        shard: None,
        proxy: crate::proxy_env::ProxyChoice::Env,
    }
}
