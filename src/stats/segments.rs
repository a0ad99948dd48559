//! A request's text segments as the inspector's views hold them: append-only, in chunks of
//! [`CHUNK`] that are frozen and shared once full, so a published snapshot and the aggregator's
//! copy share everything but the last chunk.
//!
//! Why: a request's view is copied on write (`stats/recent.rs`) whenever a published snapshot
//! still holds it, and a streaming request's view is written some thirty times a second. With
//! the text in one `Vec` every copy cloned every segment so far (a `String` each), so publishing
//! cost grew with the text that existed; now it costs one pointer per full chunk and the clones
//! of at most `CHUNK - 1` segments (BENCHMARKS.md, "Pipeline, second pass").

use std::fmt;
use std::iter::{Chain, FlatMap};
use std::ops::Index;
use std::slice;
use std::sync::Arc;

/// Text that arrived together, `at_ms` after the request was sent. Unsanitised model output:
/// views must make it inert before drawing it. The text is a `CompactString`: a token (almost
/// every segment) fits in its 24 bytes, so keeping it allocates nothing, and dropping it frees
/// nothing, on the pipeline's thread.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub at_ms: f64,
    pub text: compact_str::CompactString,
    pub reasoning: bool,
    pub chunks: u32,
    /// The text is arguments of this tool call. Boxed: most segments are tokens of text, and
    /// a call held inline would make every segment twice as large to copy, freeze and free.
    pub tool: Option<Box<crate::event::ToolCall>>,
}

/// Segments per frozen chunk: small enough that the part copied on write stays a few
/// segments, large enough that the chunk pointers copied with it stay few.
pub const CHUNK: usize = 16;

/// The segments of a [`Segments`] in arrival order.
pub type Iter<'a> = Chain<
    FlatMap<
        slice::Iter<'a, Arc<[Segment]>>,
        slice::Iter<'a, Segment>,
        fn(&'a Arc<[Segment]>) -> slice::Iter<'a, Segment>,
    >,
    slice::Iter<'a, Segment>,
>;

/// A request's segments in arrival order. Reads like a slice (`iter`, `len`, indexing);
/// grows only at its end.
#[derive(Clone, Default)]
pub struct Segments {
    /// Full chunks, each exactly [`CHUNK`] long, shared by every copy.
    frozen: Vec<Arc<[Segment]>>,
    /// The last, growing chunk: never empty once a segment was pushed, at most [`CHUNK`] long.
    tail: Vec<Segment>,
}

impl Segments {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.frozen.len() * CHUNK + self.tail.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tail.is_empty() && self.frozen.is_empty()
    }

    /// Appends a segment; a full last chunk is frozen first, so the last segment is always in
    /// the tail (see [`Segments::last_mut`]).
    pub fn push(&mut self, segment: Segment) {
        if self.tail.len() == CHUNK {
            let full = std::mem::replace(&mut self.tail, Vec::with_capacity(CHUNK));
            self.frozen.push(full.into());
        } else if self.tail.capacity() == 0 {
            self.tail.reserve_exact(CHUNK);
        }
        self.tail.push(segment);
    }

    /// The last segment, to merge later text into (it is never in a shared chunk).
    pub fn last_mut(&mut self) -> Option<&mut Segment> {
        self.tail.last_mut()
    }

    #[must_use]
    pub fn first(&self) -> Option<&Segment> {
        self.iter().next()
    }

    #[must_use]
    pub fn last(&self) -> Option<&Segment> {
        self.tail.last()
    }

    #[must_use]
    pub fn get(&self, index: usize) -> Option<&Segment> {
        match self.frozen.get(index / CHUNK) {
            Some(chunk) => chunk.get(index % CHUNK),
            None => self.tail.get(index - self.frozen.len() * CHUNK),
        }
    }

    /// The segments in arrival order.
    pub fn iter(&self) -> Iter<'_> {
        let chunk: fn(&Arc<[Segment]>) -> slice::Iter<'_, Segment> = |chunk| chunk.iter();
        self.frozen.iter().flat_map(chunk).chain(self.tail.iter())
    }
}

impl Index<usize> for Segments {
    type Output = Segment;

    fn index(&self, index: usize) -> &Segment {
        let len = self.len();
        self.get(index).unwrap_or_else(|| {
            panic!("segment {index} out of range: the request has {len}");
        })
    }
}

impl<'a> IntoIterator for &'a Segments {
    type Item = &'a Segment;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<Segment> for Segments {
    fn from_iter<I: IntoIterator<Item = Segment>>(segments: I) -> Self {
        let mut all = Segments::new();
        for segment in segments {
            all.push(segment);
        }
        all
    }
}

impl From<Vec<Segment>> for Segments {
    fn from(segments: Vec<Segment>) -> Self {
        segments.into_iter().collect()
    }
}

impl PartialEq for Segments {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Segments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(n: usize) -> Segment {
        Segment {
            at_ms: n as f64,
            text: format!("t{n}").into(),
            reasoning: false,
            chunks: 1,
            tool: None,
        }
    }

    #[test]
    fn reads_like_the_vec_it_replaces_at_every_length() {
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5] {
            let plain: Vec<Segment> = (0..n).map(segment).collect();
            let chunked = Segments::from(plain.clone());
            assert_eq!(chunked.len(), n);
            assert_eq!(chunked.is_empty(), n == 0);
            assert!(chunked.iter().eq(plain.iter()), "{n} segments in order");
            assert!(chunked.iter().rev().eq(plain.iter().rev()));
            assert_eq!(chunked.first(), plain.first());
            assert_eq!(chunked.last(), plain.last());
            for (i, s) in plain.iter().enumerate() {
                assert_eq!(&chunked[i], s);
            }
            assert_eq!(chunked.get(n), None);
            assert_eq!(format!("{chunked:?}"), format!("{plain:?}"));
        }
    }

    #[test]
    fn a_copy_shares_the_full_chunks_and_diverges_only_in_its_tail() {
        let mut growing: Segments = (0..2 * CHUNK + 3).map(segment).collect();
        let published = growing.clone();
        for (a, b) in growing.frozen.iter().zip(&published.frozen) {
            assert!(Arc::ptr_eq(a, b), "full chunks are shared, not cloned");
        }
        growing.push(segment(99));
        if let Some(last) = growing.last_mut() {
            last.text.push_str(" more");
        }
        assert_eq!(
            published.len(),
            2 * CHUNK + 3,
            "the published copy does not move"
        );
        assert_eq!(published.last().map(|s| s.text.as_str()), Some("t34"));
        assert_eq!(growing.len(), 2 * CHUNK + 4);
        assert_eq!(growing.last().map(|s| s.text.as_str()), Some("t99 more"));
        assert_ne!(growing, published);
    }

    /// A token's segment is copied when pushed and when its chunk freezes, and freed when the
    /// last view holding it goes: it stays small, a tool call behind a pointer.
    #[test]
    fn a_segment_stays_small() {
        assert!(
            std::mem::size_of::<Segment>() <= 48,
            "{} bytes",
            std::mem::size_of::<Segment>()
        );
    }

    #[test]
    fn the_last_segment_is_always_writable_after_a_chunk_fills() {
        let mut segments: Segments = (0..CHUNK).map(segment).collect();
        segments.push(segment(CHUNK));
        assert_eq!(segments.frozen.len(), 1);
        assert_eq!(segments.last_mut().map(|s| s.at_ms), Some(CHUNK as f64));
    }
}
