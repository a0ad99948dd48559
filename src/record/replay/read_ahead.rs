//! Reading a replay on a thread of its own: inflating and parsing the file is most of the work
//! of any pass over a replay, so it runs beside what is done with the events (folding them,
//! keeping them for playback) instead of before it.

use std::io::BufRead;

use super::ReplayReader;
use crate::event::RaceEvent;

impl<R: BufRead + Send> ReplayReader<R> {
    /// Hands every event left, in order, to `each`, while the next ones are being read. The
    /// reader is then at its end, as after iterating it.
    pub fn read_ahead(&mut self, mut each: impl FnMut(&RaceEvent)) {
        let reader = &mut *self;
        let read_ahead = std::thread::scope(|scope| {
            // A few batches in flight keep both threads busy without holding much.
            let (batches, read) = std::sync::mpsc::sync_channel::<Vec<RaceEvent>>(4);
            let reading = std::thread::Builder::new().name("replay reader".into());
            let reading = reading.spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH_EVENTS);
                for event in reader.by_ref() {
                    batch.push(event);
                    let full = batch.len() >= BATCH_EVENTS;
                    let next = || Vec::with_capacity(BATCH_EVENTS);
                    if full && batches.send(std::mem::replace(&mut batch, next())).is_err() {
                        // The receiver is gone: the caller panicked, and the scope re-raises it.
                        return;
                    }
                }
                let _ = batches.send(batch);
            });
            let Ok(reading) = reading else {
                return false;
            };
            for batch in read {
                batch.iter().for_each(&mut each);
            }
            // A panic while reading is the caller's, as it would be on one thread.
            if let Err(panic) = reading.join() {
                std::panic::resume_unwind(panic);
            }
            true
        });
        if !read_ahead {
            // No thread to be had (a process limit): the same, one event after another.
            for event in self.by_ref() {
                each(&event);
            }
        }
    }
}

/// Events handed over together: one send per event would cost more than reading the event.
const BATCH_EVENTS: usize = 1024;

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::path::Path;

    use super::*;
    use crate::record::replay::fixture;

    type InMemory = ReplayReader<Cursor<Vec<u8>>>;

    /// Reads `text` (decompressed replay lines) ahead, returning what was handed over.
    fn read_ahead(text: Vec<u8>) -> (Vec<RaceEvent>, InMemory) {
        let mut reader = ReplayReader::new(Cursor::new(text), Path::new("x.gz")).unwrap();
        let mut events = Vec::new();
        reader.read_ahead(|event| events.push(event.clone()));
        (events, reader)
    }

    /// A format-2 header: its events are JSON lines.
    fn header_line(replay: &crate::record::Replay) -> Vec<u8> {
        let mut header = replay.header.clone();
        header.llmrace_replay = 2;
        let mut text = serde_json::to_vec(&header).unwrap();
        text.push(b'\n');
        text
    }

    #[test]
    fn every_event_is_handed_over_in_order() {
        let replay = fixture::replay(4, 300);
        // Full batches and a part-full last one.
        assert_ne!(replay.events.len() % BATCH_EVENTS, 0);
        assert!(replay.events.len() > 2 * BATCH_EVENTS);
        let mut text = header_line(&replay);
        for (i, event) in replay.events.iter().enumerate() {
            // Lines as another writer might make them: spaces, CRLF.
            let json = serde_json::to_string(event).unwrap();
            let line = if i % 3 == 0 {
                format!(" {json} \r\n")
            } else {
                format!("{json}\n")
            };
            text.extend_from_slice(line.as_bytes());
        }
        let (events, reader) = read_ahead(text);
        assert_eq!(events, replay.events);
        // Without an end line the file was cut: the reader says so, as after iterating it.
        assert_eq!(reader.end(), None);
        assert!(
            reader.damage().unwrap().contains("stops before"),
            "{:?}",
            reader.damage()
        );
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "the share read is exactly 1.0 once every byte was read"
    )]
    fn a_whole_file_read_ahead_tells_how_it_ended() {
        let dir = tempfile::tempdir().unwrap();
        let replay = fixture::replay(2, 30);
        fixture::write_file(dir.path(), &replay, None);
        let mut reader = ReplayReader::open(dir.path()).unwrap();
        let mut count = 0;
        reader.read_ahead(|_| count += 1);
        assert_eq!(count, replay.events.len());
        assert_eq!(reader.end(), replay.end);
        assert_eq!(reader.damage(), None);
        assert_eq!(reader.progress().unwrap().fraction(), 1.0);
        // It stays at its end.
        assert_eq!(reader.next(), None);
    }
}
