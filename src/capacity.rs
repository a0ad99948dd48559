//! What a race asks of the machine — file descriptors for its connections and files, memory for
//! its prompts and workers — checked before anything is sent, so a race that cannot work is
//! refused with the setting to lower instead of failing half-way or taking the machine down.

mod descriptors;
mod memory;
pub mod ports;

pub use descriptors::{Reserve, open_file_limit, raise_open_file_limit};
pub use memory::available_memory;

use crate::config::{LoadConfig, PromptSource, RaceConfig};
use crate::workload::PromptsSize;

/// The workers, each with its connection, an endpoint set to `concurrency` has: never more than
/// the requests it sends (warm-ups included), which are all it could ever hold at once.
#[must_use]
pub fn workers(load: &LoadConfig, concurrency: u32) -> u32 {
    let sent = load
        .requests
        .map(|n| n.saturating_add(u64::from(load.warmup_requests)));
    let cap = sent.map_or(u32::MAX, |n| u32::try_from(n).unwrap_or(u32::MAX));
    concurrency.min(cap).max(1)
}

/// Descriptors a race needs besides its connections: stdio, the runtime's own (epoll, signal
/// pipes, timers), the mock servers' listeners, the result files and the replay, with room to
/// spare for TLS roots, DNS and the results files written aside.
pub const SPARE_DESCRIPTORS: u64 = 64;

/// Memory one connection takes at most, about: its task, the HTTP client's read and write
/// buffers, the kernel's socket buffers, and the record of its request in flight.
pub const BYTES_PER_CONNECTION: u64 = 64 * 1024;

/// Memory per prompt and endpoint besides its text: the request body's JSON around it.
const BYTES_PER_BODY: u64 = 512;

/// The share of the available memory a race may plan to take: the rest is for what grows as
/// it runs (histograms, records waiting to be written) and for everything else on the machine.
const MEMORY_SHARE: (u64, u64) = (3, 4);

/// What a race holds at its peak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand {
    /// Each endpoint's connections at once, and whether it is a built-in mock (which runs in
    /// this process, so each connection takes the server's end too).
    pub endpoints: Vec<(u64, bool)>,
    /// The prompts made or read, held once before the race keeps its share of them.
    pub made: PromptsSize,
    /// The prompts kept for the race: each gets a request body on every endpoint and, with a
    /// replay, a copy in its header.
    pub kept: PromptsSize,
    pub replay: bool,
    /// How the user sets the connections, for the message.
    pub knob: Knob,
    /// Where the prompts come from and whether they are shuffled, for the message.
    pub source: Source,
    pub shuffle: bool,
    /// Where each endpoint's connections go, in the order of `endpoints`.
    pub destinations: Vec<ports::Destination>,
}

/// Where a race's prompts come from: what a user changes to have fewer of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Synthetic,
    File,
    /// A built-in set or prompts written in the race file.
    Listed,
}

/// The machine's limits, read once for the checks that follow (either unknown: not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Machine {
    pub open_files: Option<u64>,
    pub memory: Option<u64>,
    /// The ephemeral ports outgoing connections take.
    pub ports: Option<ports::PortRange>,
}

impl Machine {
    /// This process's open-file limit and the memory available now.
    #[must_use]
    pub fn now() -> Machine {
        Machine {
            open_files: open_file_limit(),
            memory: available_memory(),
            ports: ports::PortRange::of_machine(),
        }
    }
}

/// The setting that decides how many connections a race opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    Concurrency,
    ConcurrencyRamp,
    MaxInFlight,
    /// A sweep's concurrency levels.
    SweepLevels,
}

/// A race the machine cannot hold.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CapacityError {
    #[error(
        "the race needs about {needed} open files ({parts}) but this process may open only \
         {limit} (ulimit -n)\n  help: {help}"
    )]
    Descriptors {
        needed: u64,
        /// What they are for: "200 connections, their 200 ends in the built-in mock, 64 …".
        parts: String,
        limit: u64,
        help: String,
    },
    #[error(
        "the race opens up to {connections} connections at once to {destination} but this \
         machine gives one destination only {usable} local ports (net.ipv4.ip_local_port_range \
         {range}, less {spare} kept for other sockets): the connections past them would fail \
         with \"cannot assign requested address\"\n  help: {help}",
        spare = ports::SPARE_PORTS
    )]
    Ports {
        connections: u64,
        destination: String,
        usable: u64,
        /// "32768–60999".
        range: String,
        help: String,
    },
    #[error(
        "the race needs about {needed} of memory ({workers} for its connections, {prompts} for \
         its prompts and request bodies) but only {available} is available\n  help: {help}"
    )]
    Memory {
        needed: String,
        workers: String,
        prompts: String,
        available: String,
        help: String,
    },
}

impl Knob {
    fn of(config: &RaceConfig) -> Knob {
        let load = &config.load;
        if load.open_loop().is_some() {
            Knob::MaxInFlight
        } else if load.concurrency_ramp.is_some() {
            Knob::ConcurrencyRamp
        } else {
            Knob::Concurrency
        }
    }

    /// "lower the concurrency to at most 40 per endpoint (-c 40)", and the like.
    fn advice(self, per_endpoint: u64) -> String {
        let n = per_endpoint.max(1);
        match self {
            Knob::Concurrency => {
                format!("lower the concurrency to at most {n} per endpoint (-c {n})")
            }
            Knob::ConcurrencyRamp => format!(
                "lower the concurrency ramp's peak to at most {n} (--concurrency-ramp FROM..{n}:OVER)"
            ),
            Knob::MaxInFlight => format!(
                "cap the requests in flight at {n} per endpoint (--max-in-flight {n}) and keep \
                 the concurrency at or below it"
            ),
            Knob::SweepLevels => {
                format!("keep the sweep's levels at or below {n} per endpoint (--concurrency)")
            }
        }
    }
}

impl Demand {
    /// What `config` will hold, with the prompts `made` and `kept` of them.
    pub fn of(config: &RaceConfig, made: PromptsSize, kept: PromptsSize, replay: bool) -> Demand {
        let load = &config.load;
        let endpoints = config
            .endpoints
            .iter()
            .map(|e| {
                let closed = workers(load, e.concurrency.unwrap_or(load.concurrency));
                // An open loop opens a connection per request in flight; its cap bounds them,
                // and so do the requests it sends.
                // A trace is replayed by the open loop, and capped the same way.
                let open_loop = load.open_loop().is_some() || load.trace_speed.is_some();
                let open = open_loop
                    .then_some(load.max_in_flight)
                    .flatten()
                    .map_or(0, |cap| workers(load, cap));
                let mock = e.base_url.starts_with("mock://");
                (u64::from(closed.max(open)), mock)
            })
            .collect();
        let source = match &config.workload.prompts {
            PromptSource::Synthetic(_) | PromptSource::SharedPrefix(_) => Source::Synthetic,
            PromptSource::File(_) | PromptSource::Trace(_) => Source::File,
            PromptSource::Builtin(_) | PromptSource::Inline(_) => Source::Listed,
        };
        let destinations = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| ports::Destination::of(i, &e.base_url))
            .collect();
        Demand {
            endpoints,
            destinations,
            made,
            kept,
            replay,
            knob: Knob::of(config),
            source,
            shuffle: config.workload.shuffle,
        }
    }

    fn connections(&self) -> u64 {
        self.endpoints.iter().map(|(n, _)| n).sum()
    }

    /// The descriptors of one more connection on every endpoint: two for a mock's, whose
    /// server end is in this process too.
    fn descriptors_per_level(&self) -> u64 {
        self.endpoints
            .iter()
            .map(|&(_, mock)| 1 + u64::from(mock))
            .sum()
    }

    fn descriptors(&self) -> u64 {
        let ends: u64 = self
            .endpoints
            .iter()
            .map(|&(n, mock)| n * (1 + u64::from(mock)))
            .sum();
        ends + SPARE_DESCRIPTORS
    }

    fn worker_bytes(&self) -> u64 {
        self.connections().saturating_mul(BYTES_PER_CONNECTION)
    }

    /// The prompts made, then for each one kept a request body and the text kept for counting
    /// its tokens per endpoint, and the replay's copy.
    fn prompt_memory(&self) -> u64 {
        let endpoints = self.endpoints.len() as u64;
        let copies = 2 * endpoints + u64::from(self.replay);
        self.made.bytes.saturating_add(
            self.kept
                .bytes
                .saturating_mul(copies)
                .saturating_add(self.kept.count.saturating_mul(BYTES_PER_BODY * endpoints)),
        )
    }

    /// Checks the demand against `machine`.
    pub fn fits(&self, machine: &Machine) -> Result<(), CapacityError> {
        self.check(machine.open_files, machine.memory)?;
        self.check_ports(machine.ports)
    }

    /// Checks that no server gets more connections at once than `range` has ports for
    /// (unknown: not checked).
    pub fn check_ports(&self, range: Option<ports::PortRange>) -> Result<(), CapacityError> {
        let Some(range) = range else {
            return Ok(());
        };
        let each: Vec<_> = self
            .destinations
            .iter()
            .cloned()
            .zip(self.endpoints.iter().map(|&(n, _)| n))
            .collect();
        let Some(over) = ports::over(&each, range) else {
            return Ok(());
        };
        let fit = range.usable() / over.endpoints.max(1);
        Err(CapacityError::Ports {
            connections: over.connections,
            destination: over.name,
            usable: range.usable(),
            range: format!("{}–{}", range.low, range.high),
            help: format!(
                "widen the range (sudo sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"), \
                 {}, or split the race over machines (--shard K/N)",
                self.knob.advice(fit)
            ),
        })
    }

    /// Checks the demand against an open-file limit and the memory available (either unknown:
    /// not checked).
    pub fn check(
        &self,
        open_files: Option<u64>,
        available: Option<u64>,
    ) -> Result<(), CapacityError> {
        if let Some(limit) = open_files
            && self.descriptors() > limit
        {
            let fit = limit.saturating_sub(SPARE_DESCRIPTORS) / self.descriptors_per_level().max(1);
            let mock_ends: u64 = self
                .endpoints
                .iter()
                .filter(|(_, mock)| *mock)
                .map(|(n, _)| n)
                .sum();
            let mock_ends = if mock_ends > 0 {
                format!(", their {mock_ends} ends in the built-in mock")
            } else {
                String::new()
            };
            return Err(CapacityError::Descriptors {
                needed: self.descriptors(),
                parts: format!(
                    "{} connections{mock_ends}, {SPARE_DESCRIPTORS} for its files",
                    self.connections()
                ),
                limit,
                help: format!(
                    "raise the limit (ulimit -n {}; the hard limit `ulimit -Hn` may need root or \
                     limits.conf), or {}",
                    self.descriptors(),
                    self.knob.advice(fit)
                ),
            });
        }
        let Some(available) = available else {
            return Ok(());
        };
        let budget = available / MEMORY_SHARE.1 * MEMORY_SHARE.0;
        let (workers, prompts) = (self.worker_bytes(), self.prompt_memory());
        let needed = workers.saturating_add(prompts);
        if needed <= budget {
            return Ok(());
        }
        let help = if workers >= prompts {
            // The connections are what does not fit: as many as the rest of the budget holds.
            let per_connection = BYTES_PER_CONNECTION * self.endpoints.len().max(1) as u64;
            self.knob
                .advice(budget.saturating_sub(prompts) / per_connection)
        } else {
            self.fewer_prompts(budget.saturating_sub(workers))
        };
        Err(CapacityError::Memory {
            needed: size(needed),
            workers: size(workers),
            prompts: size(prompts),
            available: size(available),
            help,
        })
    }

    /// "use at most 1200 prompts (a smaller `count` …)": how to hold the prompts in `room`
    /// bytes; a request count is offered where it bounds what is held.
    fn fewer_prompts(&self, room: u64) -> String {
        let prompts = self.prompt_memory();
        // Unknown before a file is read: only its size is.
        let fit = (self.made.count > 0 && prompts > 0).then(|| {
            u64::try_from(u128::from(self.made.count) * u128::from(room) / u128::from(prompts))
                .unwrap_or(u64::MAX)
                .max(1)
        });
        let at_most = fit.map_or_else(String::new, |n| format!("at most {n} "));
        let mut help = match self.source {
            Source::Synthetic => format!(
                "use {at_most}prompts (a smaller `count` of synthetic prompts, or fewer \
                 `input_tokens`)"
            ),
            Source::File => format!("use {at_most}prompts (a shorter file, or shorter prompts)"),
            Source::Listed => format!("use {at_most}prompts (fewer or shorter prompts)"),
        };
        // A shuffle makes or reads every prompt to draw from; a file is read whole either way,
        // so a count helps it only when the file itself fits.
        let made_fit = self.made.bytes <= room;
        let counted = match self.source {
            Source::Synthetic => Some("made"),
            Source::File | Source::Listed => made_fit.then_some("kept"),
        };
        if let Some(counted) = counted.filter(|_| !self.shuffle) {
            help.push_str(
                ", or bound the race with a request count (-n N): only that many prompts are \
                 then ",
            );
            help.push_str(counted);
        }
        help
    }
}

/// Bytes for a person: "6.1 GB", "640 MB".
fn size(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a size shown to a person")]
    let bytes = bytes as f64;
    let gb = bytes / 1e9;
    if gb >= 1.0 {
        format!("{gb:.1} GB")
    } else {
        format!("{:.0} MB", (bytes / 1e6).ceil())
    }
}

#[cfg(test)]
mod tests;
