//! The race's readers: HTTP/1.1 response bodies read without a task wake-up per segment.
//!
//! A request's task sends its request and reads the response head itself, then hands the body
//! (its connection, its decoding so far, its deadlines and the race's stop: a [`Body`]) to one
//! of the race's readers and sleeps until the body ended. A reader is one task that owns many
//! bodies, each a slot in a table: every socket's readiness, every body's timer and stop is
//! registered with a waker of its own that only notes the slot in the reader's ready list and
//! wakes the reader. So a wake-up of the reader serves every socket that became readable since
//! the last (one timestamped read each, as before), and per segment there is no task scheduled,
//! no future stack polled, no guard looked at: the driver's dispatch of the readiness, a note
//! in the ready list, the read and the decoding.
//!
//! There is one reader per runtime worker thread, and bodies are handed to them in turn, so a
//! machine with N cores reads its bodies on N readers (tokio moves a busy reader's worker's
//! other tasks away, as it does any task's).
//!
//! What a body does is [`BodyRead`]'s, shared with the task path (HTTP/2): a piece decoded, a
//! deadline computed and expired, the stop. The order is the task path's too: bytes that are
//! there when the timer fires count; a stop ends the body as cancelled.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use tokio::sync::oneshot;
use tokio::time::Sleep;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::decode::StreamEnd;
use super::stream::{BodyRead, cut};
use crate::engine::connection::H1;

/// A body to read: its connection, what reading it needs, and the race's stop.
pub(super) struct Body {
    pub(super) h1: H1,
    pub(super) read: BodyRead,
    pub(super) abort: CancellationToken,
}

/// A body given back: its connection, its decoding, and how it ended (`None`: the race
/// stopped it, its `Cancelled` sent).
pub(super) type Done = (H1, BodyRead, Option<StreamEnd>);

/// The race's readers; dropped, they end once the bodies they hold have.
pub struct Readers {
    shards: Vec<Arc<Shared>>,
    next: AtomicUsize,
}

impl Readers {
    /// Starts one reader per worker thread of the current runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[must_use]
    pub fn start() -> Readers {
        let workers = tokio::runtime::Handle::current().metrics().num_workers();
        let shards = (0..workers.max(1))
            .map(|_| {
                let shared = Arc::new(Shared::default());
                tokio::spawn(tokio::task::unconstrained(Reader::new(Arc::clone(&shared))));
                shared
            })
            .collect();
        Readers {
            shards,
            next: AtomicUsize::new(0),
        }
    }

    /// Has `body` read to its end by one of the readers; `None` when the readers are gone.
    pub(super) async fn read(&self, body: Body) -> Option<Done> {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        let shared = &self.shards[at];
        let (reply, done) = oneshot::channel();
        shared
            .inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((body, reply));
        shared.note(INBOX);
        done.await.ok()
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        for shared in &self.shards {
            shared.closed.store(true, Ordering::Release);
            shared.note(INBOX);
        }
    }
}

/// What a reader shares with its wakers and with whoever hands it bodies.
#[derive(Default)]
struct Shared {
    /// The keys whose waker fired since the reader last looked.
    ready: Mutex<Vec<u32>>,
    inbox: Mutex<Vec<(Body, oneshot::Sender<Done>)>>,
    /// The reader's task, woken once for any number of notes.
    task: AtomicWaker,
    /// No more bodies will come.
    closed: AtomicBool,
}

impl Shared {
    fn note(&self, key: u32) {
        self.ready
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(key);
        self.task.wake();
    }
}

/// A key in the ready list: a slot's index times [`KINDS`] plus what woke: its socket, its
/// stop or its timer. [`INBOX`]: bodies were handed in.
const KINDS: u32 = 3;
const SOCKET: u32 = 0;
const STOP: u32 = 1;
const TIMER: u32 = 2;
const INBOX: u32 = u32::MAX;

/// The waker of one key.
struct Note {
    key: u32,
    shared: Arc<Shared>,
}

impl Wake for Note {
    fn wake(self: Arc<Self>) {
        self.shared.note(self.key);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.note(self.key);
    }
}

/// The most pieces a slot takes per visit before the others get theirs: a socket its server
/// fills as fast as it is read would otherwise hold the reader.
const PIECES_PER_VISIT: u32 = 64;

/// One body being read.
struct Slot {
    body: Body,
    reply: oneshot::Sender<Done>,
    /// Kept for its registration: its waker notes [`STOP`].
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    expiry: Pin<Box<Sleep>>,
    socket: Waker,
    stop_waker: Waker,
    timer: Waker,
}

/// One reader: its table of bodies, driven by the keys its wakers note.
struct Reader {
    shared: Arc<Shared>,
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// The ready list taken, its buffer kept.
    keys: Vec<u32>,
}

impl Reader {
    fn new(shared: Arc<Shared>) -> Reader {
        Reader {
            shared,
            slots: Vec::new(),
            free: Vec::new(),
            keys: Vec::new(),
        }
    }

    fn waker(&self, key: u32) -> Waker {
        Waker::from(Arc::new(Note {
            key,
            shared: Arc::clone(&self.shared),
        }))
    }

    /// Takes the bodies handed in, each into a free slot, and reads what they already have.
    fn take_inbox(&mut self) {
        let bodies = std::mem::take(
            &mut *self
                .shared
                .inbox
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for (body, reply) in bodies {
            let index = self.free.pop().unwrap_or_else(|| {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX / KINDS - 1)
            });
            let key = index * KINDS;
            let deadline = body.read.sent.deadlines.before_first_token();
            let mut slot = Slot {
                stop: Box::pin(body.abort.clone().cancelled_owned()),
                expiry: Box::pin(tokio::time::sleep_until(deadline)),
                body,
                reply,
                socket: self.waker(key + SOCKET),
                stop_waker: self.waker(key + STOP),
                timer: self.waker(key + TIMER),
            };
            // Registered now; from here on polled only when they woke the reader.
            let stopped = slot
                .stop
                .as_mut()
                .poll(&mut Context::from_waker(&slot.stop_waker))
                .is_ready();
            let _ = slot
                .expiry
                .as_mut()
                .poll(&mut Context::from_waker(&slot.timer));
            if let Some(place) = self.slots.get_mut(index as usize) {
                *place = Some(slot);
            }
            if stopped {
                self.visit(index, STOP);
            } else {
                // Body bytes may have come with the head.
                self.visit(index, SOCKET);
            }
        }
    }

    /// Does what woke slot `index`: `kind` is what did.
    fn visit(&mut self, index: u32, kind: u32) {
        let Some(slot) = self.slots.get_mut(index as usize).and_then(Option::as_mut) else {
            // A waker of a body that has ended.
            return;
        };
        let end = match kind {
            STOP => {
                if slot.body.abort.is_cancelled() {
                    let read = &mut slot.body.read;
                    read.stream.cancel(&read.clock);
                    Some(None)
                } else {
                    None
                }
            }
            TIMER => {
                let fired = slot
                    .expiry
                    .as_mut()
                    .poll(&mut Context::from_waker(&slot.timer))
                    .is_ready();
                // Bytes there when it fires count.
                match slot.read_pieces(&self.shared, index) {
                    Some(end) => Some(Some(end)),
                    None if fired => {
                        let deadline = slot.body.read.deadline();
                        if deadline > slot.expiry.deadline() {
                            // Later bytes pushed the deadline back.
                            slot.move_timer(deadline);
                            None
                        } else {
                            Some(Some(slot.body.read.expired()))
                        }
                    }
                    None => None,
                }
            }
            _ => slot.read_pieces(&self.shared, index).map(Some),
        };
        if let Some(end) = end {
            self.end(index, end);
        }
    }

    /// Gives slot `index`'s body back, ended as `end` says.
    fn end(&mut self, index: u32, end: Option<StreamEnd>) {
        let Some(slot) = self.slots.get_mut(index as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        let Slot { body, reply, .. } = slot;
        // A request whose task is gone has nobody to tell.
        let _ = reply.send((body.h1, body.read, end));
    }

    /// Ends every body whose request's task is gone (the race torn down).
    fn drop_orphans(&mut self) {
        for index in 0..self.slots.len() {
            if self.slots[index]
                .as_ref()
                .is_some_and(|slot| slot.reply.is_closed())
            {
                self.slots[index] = None;
                self.free.push(u32::try_from(index).unwrap_or(u32::MAX));
            }
        }
    }

    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

impl Slot {
    /// Takes the pieces the body has (reading its socket when it needs more), decoding each,
    /// until the socket has nothing more, the body ends (how) or the visit's share is taken.
    fn read_pieces(&mut self, shared: &Shared, index: u32) -> Option<StreamEnd> {
        let mut cx = Context::from_waker(&self.socket);
        let read = &mut self.body.read;
        let mut more = true;
        for _ in 0..PIECES_PER_VISIT {
            let before_frame = read.before_frame();
            let end = match self.body.h1.poll_piece(&mut cx) {
                Poll::Pending => {
                    more = false;
                    break;
                }
                Poll::Ready(Some(Ok(range))) => {
                    read.on_piece(self.body.h1.piece_at(range), before_frame)
                }
                Poll::Ready(None) => Some(read.stream.on_body_end()),
                Poll::Ready(Some(Err(err))) => Some(cut(&err)),
            };
            if end.is_some() {
                return end;
            }
        }
        // Its share taken with more to read: it comes back after the others.
        if more {
            shared.note(index * KINDS + SOCKET);
        }
        let deadline = self.body.read.deadline();
        if deadline < self.expiry.deadline() {
            self.move_timer(deadline);
        }
        None
    }

    fn move_timer(&mut self, deadline: tokio::time::Instant) {
        self.expiry.as_mut().reset(deadline);
        let _ = self
            .expiry
            .as_mut()
            .poll(&mut Context::from_waker(&self.timer));
    }
}

impl Future for Reader {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // Registered before the list is taken: a note after it wakes the task again.
        this.shared.task.register(cx.waker());
        let mut keys = std::mem::take(&mut this.keys);
        std::mem::swap(
            &mut keys,
            &mut *this
                .shared
                .ready
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for &key in &keys {
            if key == INBOX {
                this.take_inbox();
            } else {
                this.visit(key / KINDS, key % KINDS);
            }
        }
        keys.clear();
        this.keys = keys;
        if this.shared.closed.load(Ordering::Acquire) {
            this.take_inbox();
            this.drop_orphans();
            if this.live() == 0 {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
