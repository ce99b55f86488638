//! A persistent table of records keyed by ids allocated in order from 1
//! (users, threads), indexed by `id - 1`, since records are never removed (a
//! deleted user or purged thread keeps its record, flagged). A lookup is two
//! indexings instead of a key search.
//!
//! The sharing is counted with `triomphe::Arc`, an `Arc` without weak
//! references: whether a chunk or record is shared is one load, where the
//! standard `Arc::make_mut` takes a locked compare-and-swap, and a receipt
//! or a send makes three of them writable.

use std::marker::PhantomData;
use triomphe::Arc;

use crate::id::{ThreadId, UserId};

/// `Arc::make_mut` with the copy out of line: a write finds what it
/// writes shared only the first time after a clone, and the copy inlined
/// (a whole thread's clone) keeps the common case from being inlined.
#[inline(always)]
pub(crate) fn writable<T: Clone>(arc: &mut Arc<T>) -> &mut T {
    if !arc.is_unique() {
        unshare(arc);
    }
    Arc::get_mut(arc).expect("unique once unshared")
}

/// Replaces the shared `arc` with a copy of its own.
#[cold]
#[inline(never)]
fn unshare<T: Clone>(arc: &mut Arc<T>) {
    *arc = Arc::new(T::clone(arc));
}

/// An id allocated in order from 1.
pub(crate) trait Serial: Copy {
    /// The id's position in allocation order (1 is 0); `None` for 0.
    fn position(self) -> Option<usize>;
    /// The id at `position`.
    fn at(position: usize) -> Self;
}

impl Serial for UserId {
    fn position(self) -> Option<usize> {
        (self.0 as usize).checked_sub(1)
    }
    fn at(position: usize) -> Self {
        UserId(position as u32 + 1)
    }
}

impl Serial for ThreadId {
    fn position(self) -> Option<usize> {
        (self.0 as usize).checked_sub(1)
    }
    fn at(position: usize) -> Self {
        ThreadId(position as u32 + 1)
    }
}

/// Records per chunk: a write after a clone copies one chunk of this many
/// pointers and the list of chunks.
const CHUNK: usize = 64;

/// Records by serial id: chunks of [`CHUNK`] records behind `Arc`s, the list
/// of chunks behind one more. Cloning is O(1); the first write to a record
/// after a clone copies the chunk list and that record's chunk (pointers
/// only), then the record itself when the caller makes it mutable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table<K, V> {
    chunks: Arc<Vec<Arc<Vec<Arc<V>>>>>,
    len: usize,
    ids: PhantomData<K>,
}

impl<K: Serial, V: Clone> Default for Table<K, V> {
    fn default() -> Self {
        Table {
            chunks: Arc::new(Vec::new()),
            len: 0,
            ids: PhantomData,
        }
    }
}

impl<K: Serial, V: Clone> Table<K, V> {
    /// The record of `id`.
    pub(crate) fn get(&self, id: &K) -> Option<&V> {
        let p = id.position()?;
        self.chunks.get(p / CHUNK)?.get(p % CHUNK).map(|r| &**r)
    }

    /// The record of `id`, to change (copied first if a clone shares it:
    /// the chunk list, the chunk, the record).
    #[inline]
    pub(crate) fn get_mut(&mut self, id: &K) -> Option<&mut V> {
        let p = id.position().filter(|&p| p < self.len)?;
        let chunk = writable(&mut self.chunks).get_mut(p / CHUNK)?;
        writable(chunk).get_mut(p % CHUNK).map(writable)
    }

    /// Whether `id` has a record.
    pub(crate) fn contains_key(&self, id: &K) -> bool {
        self.get(id).is_some()
    }

    /// Adds the record of the next id, which must be `id`.
    pub(crate) fn push(&mut self, id: K, record: V) {
        debug_assert_eq!(id.position(), Some(self.len), "ids in order");
        let chunks = Arc::make_mut(&mut self.chunks);
        if self.len.is_multiple_of(CHUNK) {
            chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let last = chunks.last_mut().expect("a chunk with room");
        Arc::make_mut(last).push(Arc::new(record));
        self.len += 1;
    }

    /// How many records.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every record, in id order.
    pub(crate) fn values(&self) -> impl DoubleEndedIterator<Item = &V> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter().map(|r| &**r))
    }

    /// Every id and record, in id order.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = (K, &V)> {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            chunk
                .iter()
                .enumerate()
                .map(move |(i, record)| (K::at(c * CHUNK + i), &**record))
        })
    }
}

impl<K: Serial, V: Clone> std::ops::Index<&K> for Table<K, V> {
    type Output = V;

    /// The record of `id`, which must exist (as a map's index).
    fn index(&self, id: &K) -> &V {
        self.get(id).expect("a record for every id handed out")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A write after a clone copies what it touches: the original keeps
    /// its records, and a second write to the clone copies nothing more.
    #[test]
    fn a_write_after_a_clone_leaves_the_original_alone() {
        let mut table: Table<UserId, u64> = Table::default();
        for i in 1..=130 {
            table.push(UserId(i), u64::from(i));
        }
        let original = table.clone();
        let mut copy = table.clone();
        for i in [1, 64, 65, 130] {
            *copy.get_mut(&UserId(i)).unwrap() += 1_000;
        }
        let chunks = Arc::as_ptr(&copy.chunks);
        *copy.get_mut(&UserId(2)).unwrap() += 1_000;
        assert_eq!(Arc::as_ptr(&copy.chunks), chunks, "copied once");
        assert_eq!(table, original);
        for i in 1..=130 {
            let plus = if [1, 2, 64, 65, 130].contains(&i) {
                1_000
            } else {
                0
            };
            assert_eq!(copy.get(&UserId(i)), Some(&(u64::from(i) + plus)));
            assert_eq!(table.get(&UserId(i)), Some(&u64::from(i)));
        }
        assert_eq!(copy.get_mut(&UserId(0)), None);
        assert_eq!(copy.get_mut(&UserId(131)), None);
    }
}
