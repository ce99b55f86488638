//! `Log`: an append-only sequence of records in chunks of a few kilobytes, for
//! a thread's message, notification and delivery logs.
//!
//! A `Vec` that grows by doubling copies its whole content at each growth and
//! holds on average a quarter of its size spare; for logs that grow all run
//! long (the hot path of every send) both are the largest costs after the
//! work itself. A `Log` fills a tail `Vec` up to one chunk, then freezes it
//! behind an `Arc`: nothing is copied twice, the spare room is at most one
//! chunk, and a clone (a thread written after a fork) shares the frozen
//! chunks instead of copying them; writing into a shared frozen chunk copies
//! that chunk only.

use std::fmt;
use std::ops::{Index, IndexMut};
use triomphe::Arc;

/// Bytes a chunk holds, about: the chunk length is the largest power of two
/// of records that fits (at least 16 records).
const CHUNK_BYTES: usize = 4096;

/// An append-only sequence: frozen chunks of exactly [`Log::CHUNK`] records,
/// then a tail of fewer than that.
#[derive(Clone, PartialEq, Eq)]
pub struct Log<T> {
    frozen: Vec<Arc<Vec<T>>>,
    tail: Vec<T>,
}

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log {
            frozen: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Log<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> Log<T> {
    /// log2 of the records a chunk holds.
    const SHIFT: u32 = {
        let size = if size_of::<T>() == 0 {
            1
        } else {
            size_of::<T>()
        };
        let fits = CHUNK_BYTES / size;
        usize::BITS - 1 - (if fits < 16 { 16 } else { fits }).leading_zeros()
    };
    /// Records a frozen chunk holds.
    pub const CHUNK: usize = 1 << Self::SHIFT;
    const MASK: usize = Self::CHUNK - 1;

    /// An empty log.
    pub fn new() -> Log<T> {
        Log::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        (self.frozen.len() << Self::SHIFT) + self.tail.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.frozen.is_empty() && self.tail.is_empty()
    }

    /// Appends `record`.
    #[inline]
    pub fn push(&mut self, record: T) {
        if self.tail.len() == Self::CHUNK {
            let full = std::mem::take(&mut self.tail);
            self.frozen.push(Arc::new(full));
        }
        // The tail grows by doubling from a small power of two, so it is never
        // allocated beyond one chunk.
        self.tail.push(record);
    }

    /// Record `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        match self.frozen.get(i >> Self::SHIFT) {
            Some(chunk) => chunk.get(i & Self::MASK),
            None => self.tail.get(i - (self.frozen.len() << Self::SHIFT)),
        }
    }

    /// Record `i` to change, if there is one; a frozen chunk shared with a
    /// clone is copied first.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T>
    where
        T: Clone,
    {
        let base = self.frozen.len() << Self::SHIFT;
        match self.frozen.get_mut(i >> Self::SHIFT) {
            Some(chunk) => super::table::writable(chunk).get_mut(i & Self::MASK),
            None => self.tail.get_mut(i - base),
        }
    }

    /// The first record.
    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    /// The last record.
    pub fn last(&self) -> Option<&T> {
        self.tail
            .last()
            .or_else(|| self.frozen.last().and_then(|c| c.last()))
    }

    /// The records in order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone {
        self.frozen
            .iter()
            .flat_map(|chunk| chunk.iter())
            .chain(self.tail.iter())
    }

    /// Records `start..end` in order (clamped to the log).
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &T> {
        let end = end.min(self.len());
        (start.min(end)..end).filter_map(move |i| self.get(i))
    }

    /// Each record with the one after it.
    pub fn pairs(&self) -> impl Iterator<Item = (&T, &T)> {
        self.iter().zip(self.iter().skip(1))
    }

    /// The index of the first record for which `pred` is false, given that
    /// `pred` is true for a prefix of the log and false after it (as
    /// `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        // Chunks whose last record passes pass whole; the boundary lies in
        // the first chunk whose last record fails (or in the tail).
        let whole = self
            .frozen
            .partition_point(|chunk| chunk.last().is_some_and(&mut pred));
        let within = match self.frozen.get(whole) {
            Some(chunk) => chunk.partition_point(pred),
            None => self.tail.partition_point(pred),
        };
        (whole << Self::SHIFT) + within
    }

    /// Gives back the tail's spare room (a log that grows no more).
    pub fn shrink_to_fit(&mut self) {
        self.tail.shrink_to_fit();
        self.frozen.shrink_to_fit();
    }
}

impl<T> Index<usize> for Log<T> {
    type Output = T;

    /// Record `i`; panics when there is none, as a slice does.
    #[inline]
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(record) => record,
            None => panic!("log index {i} out of range for length {}", self.len()),
        }
    }
}

impl<T: Clone> IndexMut<usize> for Log<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len();
        match self.get_mut(i) {
            Some(record) => record,
            None => panic!("log index {i} out of range for length {len}"),
        }
    }
}

impl<T> FromIterator<T> for Log<T> {
    fn from_iter<I: IntoIterator<Item = T>>(records: I) -> Self {
        let mut log = Log::new();
        for record in records {
            log.push(record);
        }
        log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chunks_are_powers_of_two_of_about_four_kilobytes() {
        assert_eq!(Log::<u64>::CHUNK, 512);
        assert_eq!(Log::<[u8; 40]>::CHUNK, 64);
        assert_eq!(Log::<[u8; 4096]>::CHUNK, 16);
        assert_eq!(Log::<()>::CHUNK, 4096);
    }

    proptest! {
        /// A log answers every question as a `Vec` of the same records does,
        /// across chunk boundaries, and a clone written to leaves the original alone.
        #[test]
        fn a_log_is_a_vec(n in 0usize..1300, probe in 0usize..1400, cut in 0u64..1300) {
            let vec: Vec<u64> = (0..n as u64).map(|i| i * 3).collect();
            let mut log: Log<u64> = vec.iter().copied().collect();
            prop_assert_eq!(log.len(), vec.len());
            prop_assert_eq!(log.is_empty(), vec.is_empty());
            prop_assert_eq!(log.get(probe), vec.get(probe));
            prop_assert_eq!(log.first(), vec.first());
            prop_assert_eq!(log.last(), vec.last());
            prop_assert!(log.iter().eq(vec.iter()));
            prop_assert!(log.iter().rev().eq(vec.iter().rev()));
            prop_assert!(log.range(probe, probe + 600).eq(vec.iter().skip(probe).take(600)));
            prop_assert_eq!(
                log.partition_point(|&x| x < cut * 3),
                vec.partition_point(|&x| x < cut * 3)
            );
            prop_assert_eq!(log.pairs().count(), n.saturating_sub(1));
            let before = log.clone();
            let mut written = log.clone();
            if let Some(x) = written.get_mut(probe) {
                *x = u64::MAX;
            }
            prop_assert_eq!(written.get(probe).copied(), vec.get(probe).map(|_| u64::MAX));
            written.push(7);
            prop_assert_eq!(&log, &before);
            prop_assert_eq!(written.last(), Some(&7));
            log.shrink_to_fit();
            prop_assert_eq!(&log, &before);
        }
    }
}
