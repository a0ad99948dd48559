//! The signals that end a race early — SIGINT (Ctrl-C), SIGTERM (a supervisor or `kill`) and
//! SIGHUP (the terminal was closed) — as one listener every command waits on. It tells which
//! signal came, so the exit code can say it the way shells do: 128 + the signal's number.

/// A signal that asks llmrace to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C (in the dashboard, Ctrl-C arrives as a key and counts as this too).
    Interrupt,
    /// SIGTERM: `kill`, a CI runner's timeout, a container stopping.
    Terminate,
    /// SIGHUP: the terminal went away; writing to it may fail from now on.
    Hangup,
}

impl Signal {
    /// The POSIX number, the same on every Unix for these three.
    #[must_use]
    pub fn number(self) -> u8 {
        match self {
            Signal::Hangup => 1,
            Signal::Interrupt => 2,
            Signal::Terminate => 15,
        }
    }

    /// 130, 143 or 129: what a shell reports for a program these signals ended.
    #[must_use]
    pub fn exit_code(self) -> i32 {
        128 + i32::from(self.number())
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Signal::Hangup => "SIGHUP",
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// Listens for the stopping signals from the moment it is created: from then on they no longer
/// end the process outright (tokio never gives a handler back), so files can be completed.
pub struct Shutdown {
    #[cfg(unix)]
    streams: [(Signal, Option<tokio::signal::unix::Signal>); 3],
}

impl Shutdown {
    /// Starts listening now, before anything worth saving exists. A signal whose handler
    /// cannot be installed keeps its default action (the process ends), which is no worse than
    /// before.
    #[must_use]
    pub fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Shutdown {
                streams: [
                    (Signal::Interrupt, signal(SignalKind::interrupt()).ok()),
                    (Signal::Terminate, signal(SignalKind::terminate()).ok()),
                    (Signal::Hangup, signal(SignalKind::hangup()).ok()),
                ],
            }
        }
        #[cfg(not(unix))]
        {
            Shutdown {}
        }
    }

    /// Waits for the next stopping signal.
    pub async fn recv(&mut self) -> Signal {
        #[cfg(unix)]
        {
            let [(a, sa), (b, sb), (c, sc)] = &mut self.streams;
            tokio::select! {
                () = next(sa) => *a,
                () = next(sb) => *b,
                () = next(sc) => *c,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            Signal::Interrupt
        }
    }
}

#[cfg(unix)]
async fn next(stream: &mut Option<tokio::signal::unix::Signal>) {
    let received = match stream {
        Some(stream) => stream.recv().await.is_some(),
        None => false,
    };
    if !received {
        // No handler, or its stream ended: this signal never comes through here.
        std::future::pending::<()>().await;
    }
}

/// Waits for the first stopping signal (for commands with nothing to save, like `mock`).
pub async fn shutdown() -> Signal {
    Shutdown::listen().recv().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Hangup.exit_code(), 129);
        assert_eq!(Signal::Hangup.name(), "SIGHUP");
    }
}
