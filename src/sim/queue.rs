//! The queue of pending happenings, in order of (instant, class, insertion).
//!
//! Most happenings are carrier receipts due a few seconds after the call that
//! made them, so the queue is a timing wheel: one slot per millisecond of a
//! window of [`SLOTS`] milliseconds from `base` (no later than the clock and
//! than anything in the wheel), each slot the list of its items in (class,
//! insertion) order, linked through a slab of nodes, and a two-level bitmap
//! of the occupied slots to find the next one. Putting an item in is
//! appending it to its slot's list; taking one is unlinking the head of the
//! first occupied slot.
//!
//! An item the wheel cannot take in order goes to a binary heap beside it,
//! ordered by the whole key: one due outside the window (a long timer, or one
//! earlier than the window), or one of a lower class than the last item of
//! its slot. Taking an item compares the fronts of the two.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;

use crate::time::Instant;

/// Bits of the order word below the class.
const CLASS_SHIFT: u32 = 56;

/// Milliseconds the wheel spans: more than the carrier's usual longest delay
/// (5 s), a power of two so that an instant's slot is its low bits.
const SLOTS: usize = 1 << 13;

/// Words of the occupied slots' bitmap: one bit each in the summary.
const WORDS: usize = SLOTS / 64;
const _: () = assert!(WORDS == 128);

/// No node: an empty slot, the end of the free list.
const NONE: u32 = u32::MAX;

/// Happenings in order of (instant, class, insertion).
#[derive(Clone)]
pub(super) struct Queue<T> {
    /// The slots; allocated when first used.
    wheel: Option<Box<Wheel>>,
    /// The wheel's items, and free nodes linked through `next`.
    nodes: Vec<Node<T>>,
    /// The first free node, or `NONE`.
    free: u32,
    /// Every item in the wheel is due in `base .. base + SLOTS`.
    base: Instant,
    /// When the wheel's first item is due (while it holds any).
    front: Instant,
    /// How many items the wheel holds.
    wheel_len: usize,
    /// The items the wheel could not take in order.
    heap: BinaryHeap<Far<T>>,
    next_sequence: u64,
}

/// The slots of the wheel, by an instant's low bits.
#[derive(Clone)]
struct Wheel {
    /// Per slot, the last node of its circular list (whose `next` is the
    /// first), or `NONE`.
    tails: [u32; SLOTS],
    /// One bit per slot: set when its list is not empty.
    occupied: [u64; WORDS],
    /// One bit per word of `occupied`: set when it is not zero.
    summary: u128,
}

impl Wheel {
    /// Out of line and cold: its value is built on the stack first, which
    /// would otherwise take 33 KiB of stack frame in every push.
    #[cold]
    #[inline(never)]
    fn new() -> Box<Wheel> {
        Box::new(Wheel {
            tails: [NONE; SLOTS],
            occupied: [0; WORDS],
            summary: 0,
        })
    }

    fn mark(&mut self, slot: usize) {
        self.occupied[slot / 64] |= 1 << (slot % 64);
        self.summary |= 1 << (slot / 64);
    }

    fn unmark(&mut self, slot: usize) {
        let word = &mut self.occupied[slot / 64];
        *word &= !(1 << (slot % 64));
        if *word == 0 {
            self.summary &= !(1 << (slot / 64));
        }
    }

    /// How many slots after `from` the first occupied one comes, going
    /// round the wheel (`from` itself unoccupied); `None` if none is.
    fn next_occupied(&self, from: usize) -> Option<usize> {
        let word = from / 64;
        let bits = self.occupied[word] & (u64::MAX << (from % 64));
        let slot = if bits != 0 {
            word * 64 + bits.trailing_zeros() as usize
        } else {
            // The words after this one, else round from the first.
            let later = self.summary & !((2u128 << word).wrapping_sub(1));
            let summary = if later != 0 { later } else { self.summary };
            if summary == 0 {
                return None;
            }
            let word = summary.trailing_zeros() as usize;
            word * 64 + self.occupied[word].trailing_zeros() as usize
        };
        Some(slot.wrapping_sub(from) % SLOTS)
    }
}

/// An item in the wheel.
#[derive(Clone)]
struct Node<T> {
    item: Option<T>,
    /// The class and insertion sequence, as in the heap's order word.
    order: u64,
    next: u32,
}

/// An item in the heap: the least (instant, order) on top.
#[derive(Clone)]
struct Far<T> {
    at: Instant,
    order: u64,
    item: T,
}

impl<T> PartialEq for Far<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}

impl<T> Eq for Far<T> {}

impl<T> PartialOrd for Far<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Far<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.order).cmp(&(self.at, self.order))
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            wheel: None,
            nodes: Vec::new(),
            free: NONE,
            base: Instant::ZERO,
            front: Instant::ZERO,
            wheel_len: 0,
            heap: BinaryHeap::new(),
            next_sequence: 0,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("len", &self.len())
            .field("next_at", &self.next_at())
            .finish_non_exhaustive()
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
        if at >= self.base && at.0 - self.base.0 < SLOTS as u64 {
            if let Some(item) = self.push_wheel(at, order, item) {
                self.push_far(at, order, item);
            }
        } else {
            self.push_far(at, order, item);
        }
    }

    /// Puts `item` in the heap (out of line: the wheel takes most items).
    #[inline(never)]
    fn push_far(&mut self, at: Instant, order: u64, item: T) {
        self.heap.push(Far { at, order, item });
    }

    /// Puts `item` in the wheel (`at` in the window), or hands it back if its
    /// slot's last item comes after it.
    fn push_wheel(&mut self, at: Instant, order: u64, item: T) -> Option<T> {
        if self.free == NONE && self.nodes.len() >= NONE as usize {
            return Some(item);
        }
        let wheel = self.wheel.get_or_insert_with(Wheel::new);
        let slot = at.0 as usize % SLOTS;
        let tail = wheel.tails[slot];
        // The sequence only grows, so this is "a higher class".
        if tail != NONE && self.nodes[tail as usize].order > order {
            return Some(item);
        }
        let node = match self.free {
            NONE => {
                self.nodes.push(Node {
                    item: Some(item),
                    order,
                    next: NONE,
                });
                (self.nodes.len() - 1) as u32
            }
            free => {
                let node = &mut self.nodes[free as usize];
                self.free = node.next;
                node.item = Some(item);
                node.order = order;
                free
            }
        };
        // After the tail, before the head: the new tail.
        let next = if tail == NONE {
            wheel.mark(slot);
            if self.wheel_len == 0 || at < self.front {
                self.front = at;
            }
            node
        } else {
            std::mem::replace(&mut self.nodes[tail as usize].next, node)
        };
        self.nodes[node as usize].next = next;
        wheel.tails[slot] = node;
        self.wheel_len += 1;
        None
    }

    /// The clock reads `now`: the window moves up to it, or to the wheel's
    /// first item if that is earlier, so that what is pushed next (due a
    /// little after now) finds room in the wheel.
    pub(super) fn advance(&mut self, now: Instant) {
        let to = if self.wheel_len == 0 {
            now
        } else {
            now.min(self.front)
        };
        self.base = self.base.max(to);
    }

    /// When the next item is due.
    pub(super) fn next_at(&self) -> Option<Instant> {
        let far = self.heap.peek().map(|far| far.at);
        if self.wheel_len == 0 {
            return far;
        }
        Some(far.map_or(self.front, |far| far.min(self.front)))
    }

    /// Takes the next item.
    pub(super) fn pop(&mut self) -> Option<(Instant, T)> {
        let from_wheel = match self.heap.peek() {
            None => self.wheel_len > 0,
            Some(far) => {
                self.wheel_len > 0 && (self.front, self.front_order()) < (far.at, far.order)
            }
        };
        let (at, item) = if from_wheel {
            self.pop_wheel()?
        } else {
            let far = self.heap.pop()?;
            (far.at, far.item)
        };
        // It was the least: nothing left in the wheel is due before it.
        self.base = self.base.max(at);
        Some((at, item))
    }

    /// The order word of the wheel's first item (the wheel not empty).
    fn front_order(&self) -> u64 {
        let Some(wheel) = self.wheel.as_deref() else {
            return u64::MAX;
        };
        let tail = wheel.tails[self.front.0 as usize % SLOTS];
        self.nodes[self.nodes[tail as usize].next as usize].order
    }

    /// Takes the wheel's first item.
    fn pop_wheel(&mut self) -> Option<(Instant, T)> {
        let wheel = self.wheel.as_deref_mut()?;
        let at = self.front;
        let slot = at.0 as usize % SLOTS;
        let tail = wheel.tails[slot];
        let head = self.nodes[tail as usize].next;
        let node = &mut self.nodes[head as usize];
        let item = node.item.take()?;
        let after = std::mem::replace(&mut node.next, self.free);
        self.free = head;
        self.wheel_len -= 1;
        if head == tail {
            wheel.tails[slot] = NONE;
            wheel.unmark(slot);
            if let Some(distance) = wheel.next_occupied(slot) {
                self.front = Instant(at.0 + distance as u64);
            }
        } else {
            self.nodes[tail as usize].next = after;
        }
        Some((at, item))
    }

    /// How many items wait.
    pub(super) fn len(&self) -> usize {
        self.wheel_len + self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

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

    #[test]
    fn instants_a_wheel_apart_share_no_list() {
        let mut q = Queue::default();
        q.push(Instant(10), 1, "first");
        assert_eq!(q.pop(), Some((Instant(10), "first")));
        // The window is now 10 .. 10 + SLOTS: these two share a slot's bits.
        q.push(Instant(10 + SLOTS as u64), 1, "out");
        q.push(Instant(10 + SLOTS as u64 - 1), 2, "last in");
        q.push(Instant(10), 2, "now");
        q.push(Instant(9), 2, "past");
        q.push(Instant(u64::MAX), 0, "end");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                (Instant(9), "past"),
                (Instant(10), "now"),
                (Instant(10 + SLOTS as u64 - 1), "last in"),
                (Instant(10 + SLOTS as u64), "out"),
                (Instant(u64::MAX), "end"),
            ]
        );
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Push at the last popped instant plus this offset (wrapping), or
        /// at this absolute instant.
        Push {
            at: When,
            class: u8,
        },
        Pop,
        /// Go on with a copy (a fork).
        Fork,
        /// The clock moves to the last popped instant plus this offset.
        Advance(i64),
    }

    #[derive(Clone, Debug)]
    enum When {
        After(i64),
        At(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let when = prop_oneof![
            6 => (-3i64..24).prop_map(When::After),
            6 => (-20_000i64..20_000).prop_map(When::After),
            1 => (SLOTS as i64 - 3..SLOTS as i64 + 3).prop_map(When::After),
            1 => any::<u64>().prop_map(When::At),
            1 => (u64::MAX - 3..=u64::MAX).prop_map(When::At),
            1 => (0u64..4).prop_map(When::At),
        ];
        prop_oneof![
            5 => (when, 0u8..4).prop_map(|(at, class)| Op::Push { at, class }),
            4 => Just(Op::Pop),
            1 => (-10i64..10_000).prop_map(Op::Advance),
            1 => Just(Op::Fork),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The queue against a sorted map of (instant, class, insertion).
        #[test]
        fn the_queue_keeps_the_order_of_a_sorted_map(ops in prop::collection::vec(op(), 0..400)) {
            let mut q = Queue::default();
            let mut reference = BTreeMap::new();
            let mut last = Instant(50_000);
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::Push { at, class } => {
                        let at = match at {
                            When::After(d) => Instant(last.0.wrapping_add_signed(d)),
                            When::At(at) => Instant(at),
                        };
                        q.push(at, class, n);
                        reference.insert((at, class, n), n);
                    }
                    Op::Pop => {
                        let expected = reference.pop_first().map(|((at, _, _), n)| (at, n));
                        prop_assert_eq!(q.pop(), expected);
                        if let Some((at, _)) = expected {
                            last = at;
                        }
                    }
                    Op::Fork => q = q.clone(),
                    Op::Advance(d) => q.advance(Instant(last.0.wrapping_add_signed(d))),
                }
                prop_assert_eq!(q.len(), reference.len());
                prop_assert_eq!(q.next_at(), reference.keys().next().map(|k| k.0));
            }
            while let Some(((at, _, _), n)) = reference.pop_first() {
                prop_assert_eq!(q.pop(), Some((at, n)));
            }
            prop_assert_eq!(q.pop(), None);
            prop_assert_eq!(q.next_at(), None);
        }
    }
}
