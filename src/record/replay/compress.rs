//! The replay's compression on a thread of its own. The pipeline's thread only serialises
//! events into blocks of lines; this thread deflates them and writes the file, so gzip's cost
//! is off the thread that folds the statistics and is paid per block rather than per event.
//! The file is the same gzip stream of JSON lines as before.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flate2::write::GzEncoder;

/// Lines are handed to the compressor in blocks of about this many bytes.
pub(super) const BLOCK_BYTES: usize = 64 * 1024;

/// Blocks that may wait for the compressor: if the disk or the compression falls this far
/// behind, the pipeline waits for it, as it did when it compressed itself.
const QUEUED_BLOCKS: usize = 16;

/// The gzip stream being written.
pub(super) type Out = GzEncoder<BufWriter<File>>;

enum Job {
    Block(Vec<u8>),
    /// Push what is compressed so far to the file, so a crash loses little.
    Flush,
}

/// The compressing thread and the way to it.
pub(super) struct Compressor {
    jobs: Option<SyncSender<Job>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Compressor {
    /// Starts the thread that compresses into `out` (its header already written).
    pub(super) fn start(out: Out) -> io::Result<Compressor> {
        let (jobs, queue) = sync_channel(QUEUED_BLOCKS);
        let thread = std::thread::Builder::new()
            .name("llmrace-replay".to_string())
            .spawn(move || compress(out, &queue))?;
        Ok(Compressor {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    /// Hands a block of whole lines over.
    pub(super) fn block(&mut self, block: Vec<u8>) -> io::Result<()> {
        self.send(Job::Block(block))
    }

    /// Asks for what was handed over so far to reach the file; does not wait for it.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        self.send(Job::Flush)
    }

    /// Completes the gzip stream, the file synced; the first error the thread met, if any.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.jobs = None;
        self.join()
    }

    fn send(&mut self, job: Job) -> io::Result<()> {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if sent {
            return Ok(());
        }
        // The thread stopped at an error: that error, once.
        self.jobs = None;
        match self.join() {
            Ok(()) => Err(io::Error::other("the replay's compression stopped")),
            Err(e) => Err(e),
        }
    }

    fn join(&mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the replay's compression failed")),
            None => Err(io::Error::other("the replay's compression stopped")),
        }
    }
}

impl Drop for Compressor {
    /// Without `finish` (the race unwound): the blocks handed over are still compressed and the
    /// stream ended, so the file reads up to them.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread's body: every block into the stream until the channel closes, then the end.
fn compress(mut out: Out, queue: &Receiver<Job>) -> io::Result<()> {
    while let Ok(job) = queue.recv() {
        match job {
            Job::Block(block) => out.write_all(&block)?,
            Job::Flush => out.flush()?,
        }
    }
    out.finish()?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::read::MultiGzDecoder;
    use std::io::Read;

    fn out(path: &std::path::Path) -> Out {
        GzEncoder::new(
            BufWriter::new(File::create(path).unwrap()),
            Compression::new(6),
        )
    }

    fn read(path: &std::path::Path) -> String {
        let mut text = String::new();
        MultiGzDecoder::new(File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn blocks_reach_the_file_in_order_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.gz");
        let mut compressor = Compressor::start(out(&path)).unwrap();
        for i in 0..100 {
            compressor
                .block(format!("line {i}\n").into_bytes())
                .unwrap();
            if i % 10 == 0 {
                compressor.flush().unwrap();
            }
        }
        compressor.finish().unwrap();
        let lines: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        assert_eq!(read(&path), lines.join("\n") + "\n");
    }

    #[test]
    fn a_compressor_dropped_unfinished_still_ends_the_stream() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.gz");
        let mut compressor = Compressor::start(out(&path)).unwrap();
        compressor.block(b"one\n".to_vec()).unwrap();
        drop(compressor);
        assert_eq!(read(&path), "one\n");
    }

    /// /dev/full takes the open and refuses every write: the error comes back to the writer.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_that_fails_is_told_to_the_writer() {
        let file = File::options().write(true).open("/dev/full").unwrap();
        let full = GzEncoder::new(BufWriter::with_capacity(16, file), Compression::new(6));
        let mut compressor = Compressor::start(full).unwrap();
        let mut failed = None;
        for _ in 0..1000 {
            let block = compressor
                .block(vec![b'x'; BLOCK_BYTES])
                .and_then(|()| compressor.flush());
            if let Err(e) = block {
                failed = Some(e);
                break;
            }
        }
        let error = failed.unwrap_or_else(|| compressor.finish().unwrap_err());
        assert!(error.to_string().contains("No space"), "{error}");
    }
}
