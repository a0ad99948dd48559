//! The open-file limit: raised to its hard limit at start, as servers do, read for the check
//! before a race, and a few descriptors held back for the result files written at its end.

/// How many descriptors [`Reserve`] holds back: enough to write `run.json` and `summary.json`
/// aside and rename them, and to end the replay.
const RESERVED: usize = 4;

/// Raises this process's soft limit on open files to its hard limit, so that a race at a high
/// concurrency is not refused for a limit the user never chose. Quietly keeps the limit where
/// raising it fails: the check before the race tells what to do then.
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        // No hard limit: the kernel still caps it (macOS at OPEN_MAX), so ask for a sane ceiling.
        let target = limit.maximum.unwrap_or(1 << 20);
        if limit.current.is_some_and(|current| current < target) {
            let raised = rustix::process::Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_err() {
                // macOS refuses more than OPEN_MAX for the soft limit.
                let _ = setrlimit(
                    Resource::Nofile,
                    rustix::process::Rlimit {
                        current: Some(target.min(10_240)),
                        maximum: limit.maximum,
                    },
                );
            }
        }
    }
}

/// How many files this process may have open at once; `None` where that cannot be told.
#[must_use]
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Descriptors held back while a race runs, so the files written at its end can be opened
/// even when its connections took every other descriptor (an open loop with no cap opens one
/// per request in flight). Release them just before writing.
pub struct Reserve {
    held: Vec<std::fs::File>,
}

impl Reserve {
    /// Holds back what it can: a machine short of descriptors already is not made worse.
    #[must_use]
    pub fn hold() -> Reserve {
        let held = (0..RESERVED)
            .map_while(|_| std::fs::File::open(null_device()).ok())
            .collect();
        Reserve { held }
    }

    /// How many are held back.
    #[must_use]
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Gives them back for the result files.
    pub fn release(self) {
        drop(self.held);
    }
}

fn null_device() -> &'static str {
    if cfg!(windows) { "NUL" } else { "/dev/null" }
}
