//! What a race tells its user as it goes, handed to whoever runs it (the command edge prints
//! it): the library itself prints only its live progress display.

use std::sync::Arc;

use crate::signals::Signal;

/// One thing a race tells, at the moment it is known.
#[derive(Debug)]
pub enum Telling<'a> {
    /// The race can start: its prompts are made and its endpoints resolved, so a bad workload
    /// or endpoint has been told alone. Its connections are warmed next.
    Ready,
    /// Warming the connections takes a while: what is being waited for, so start-up is not a
    /// silent wait.
    Warming(&'a str),
    /// Notices: before the start (prompts left out, endpoints not reached), and at the end
    /// (what the final numbers say about the endpoints and the client).
    Notices(&'a [String]),
    /// A signal after the first, while the result files are being completed: it changes
    /// nothing.
    StillSaving(Signal),
}

/// A function that hears what a race tells, from whichever thread the race is on.
type Hear = dyn Fn(Telling<'_>) + Send + Sync;

/// Who hears what a race tells: a function the caller gives, or nobody.
#[derive(Clone, Default)]
pub struct Teller(Option<Arc<Hear>>);

impl Teller {
    /// A teller that hands each [`Telling`] to `hear`, on whichever thread the race is on.
    pub fn new(hear: impl Fn(Telling<'_>) + Send + Sync + 'static) -> Teller {
        Teller(Some(Arc::new(hear)))
    }

    pub(crate) fn tell(&self, telling: Telling<'_>) {
        if let Some(hear) = &self.0 {
            hear(telling);
        }
    }
}

impl std::fmt::Debug for Teller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Teller"
        } else {
            "Teller(nobody)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_teller_hands_on_what_it_is_told() {
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let teller = Teller::new({
            let heard = Arc::clone(&heard);
            move |telling| {
                if let Telling::Notices(notices) = telling {
                    heard
                        .lock()
                        .expect("not poisoned")
                        .extend_from_slice(notices);
                }
            }
        });
        teller.tell(Telling::Notices(&["a".to_string()]));
        Teller::default().tell(Telling::Notices(&["b".to_string()]));
        assert_eq!(*heard.lock().expect("not poisoned"), ["a"]);
    }
}
