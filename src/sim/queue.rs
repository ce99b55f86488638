//! The queue of pending happenings: a binary heap of small keys (the
//! instant, then the class and a sequence number packed in one word) with
//! the happenings themselves in a slab beside it, so that the heap's sifting
//! moves 24-byte keys, not the happenings.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Instant;

/// Bits of the order word below the class.
const CLASS_SHIFT: u32 = 56;

/// Happenings in order of (instant, class, insertion).
#[derive(Clone, Debug)]
pub(super) struct Queue<T> {
    heap: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    slab: Vec<Option<T>>,
    free: Vec<u32>,
    next_sequence: u64,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            next_sequence: 0,
        }
    }
}

impl<T> Queue<T> {
    /// Queues `item` at `at`; within an instant, lower classes first, then
    /// in the order pushed.
    pub(super) fn push(&mut self, at: Instant, class: u8, item: T) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        debug_assert!(sequence < 1 << CLASS_SHIFT);
        let order = (u64::from(class) << CLASS_SHIFT) | sequence;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(item);
                slot
            }
            None => {
                self.slab.push(Some(item));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((at, order, slot)));
    }

    /// When the next item is due.
    pub(super) fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Takes the next item.
    pub(super) fn pop(&mut self) -> Option<(Instant, T)> {
        let Reverse((at, _, slot)) = self.heap.pop()?;
        let item = self.slab[slot as usize]
            .take()
            .expect("a queued slot holds its item");
        self.free.push(slot);
        Some((at, item))
    }

    /// How many items wait.
    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_by_instant_then_class_then_insertion() {
        let mut q = Queue::default();
        q.push(Instant(5), 2, "c5");
        q.push(Instant(5), 1, "r5a");
        q.push(Instant(1), 2, "c1");
        q.push(Instant(5), 1, "r5b");
        assert_eq!(q.next_at(), Some(Instant(1)));
        assert_eq!(q.pop(), Some((Instant(1), "c1")));
        // A freed slot is reused without disturbing the order.
        q.push(Instant(3), 2, "c3");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                (Instant(3), "c3"),
                (Instant(5), "r5a"),
                (Instant(5), "r5b"),
                (Instant(5), "c5")
            ]
        );
        assert_eq!(q.len(), 0);
    }
}
