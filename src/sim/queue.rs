//! The queue of pending happenings, in order of (instant, class, insertion).
//!
//! Most happenings are carrier receipts due a few seconds after the call that
//! made them, so the queue is a timing wheel: [`SLOTS`] slots of
//! 2^[`GRAIN`] milliseconds each over a window from the slot of `base` (the
//! clock, or the wheel's first item or last item taken if earlier; never
//! moving back), each slot the sorted list of its items, linked through a slab of nodes, and a bitmap of the occupied slots
//! to find the next one. Putting an item in is appending it to its slot's
//! list (or inserting it a few places back); taking one is unlinking the head
//! of the first occupied slot. The slots and the bitmap take 2 KiB, so they
//! stay in the cache.
//!
//! An item the wheel cannot take cheaply goes to a binary heap beside it,
//! ordered by the same key: one due outside the window (a long timer, or one
//! before the window), or one that would go more than [`WALK`] places back in
//! its slot's list. Taking an item compares the fronts of the two.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;

use crate::time::Instant;

/// Bits of the order word below the class.
const CLASS_SHIFT: u32 = 56;

/// A slot spans 2^GRAIN milliseconds.
const GRAIN: u32 = 4;

/// Slots in the wheel: with [`GRAIN`], a window of 8,192 ms, more than the
/// carrier's usual longest delay (5 s).
const SLOTS: usize = 512;

/// Words of the occupied slots' bitmap.
const WORDS: usize = SLOTS / 64;

/// The most places an item is inserted back from its slot's last; an item
/// due further back goes to the heap.
const WALK: usize = 8;

/// No node: an empty slot, the end of the free list.
const NONE: u32 = u32::MAX;

/// Happenings in order of (instant, class, insertion).
#[derive(Clone)]
pub(super) struct Queue<T> {
    /// Per slot, the last node of its circular list (whose `next` is the
    /// first), or `NONE`.
    tails: [u32; SLOTS],
    /// One bit per slot: set when its list is not empty.
    occupied: [u64; WORDS],
    /// The wheel's items, and free nodes linked through `next`.
    nodes: Vec<Node<T>>,
    /// The first free node, or `NONE`.
    free: u32,
    /// Every item in the wheel is due in a slot from `base`'s on, less than
    /// `SLOTS` slots on.
    base: Instant,
    /// The first occupied slot, and when its first item is due (while the
    /// wheel holds any).
    front_slot: usize,
    front: Instant,
    /// How many items the wheel holds.
    wheel_len: usize,
    /// The items the wheel did not take.
    heap: BinaryHeap<Far<T>>,
    next_sequence: u64,
}

/// An item in the wheel.
#[derive(Clone)]
struct Node<T> {
    item: Option<T>,
    at: Instant,
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
            tails: [NONE; SLOTS],
            occupied: [0; WORDS],
            nodes: Vec::new(),
            free: NONE,
            base: Instant::ZERO,
            front_slot: 0,
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
        let (grain, first) = (at.0 >> GRAIN, self.base.0 >> GRAIN);
        let room = self.free != NONE || self.nodes.len() < NONE as usize;
        if grain >= first && grain - first < SLOTS as u64 && room {
            if let Some(item) = self.push_wheel(at, order, grain as usize % SLOTS, item) {
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

    /// Puts `item` in the wheel's `slot`, or hands it back if it would go
    /// too far back in the slot's list.
    fn push_wheel(&mut self, at: Instant, order: u64, slot: usize, item: T) -> Option<T> {
        let tail = self.tails[slot];
        // The node to link the new one after, and whether it is the new tail.
        let (after, last) = if tail == NONE {
            (NONE, true)
        } else if self.key(tail) < (at, order) {
            (tail, true)
        } else {
            let mut before = tail;
            let mut steps = 0;
            loop {
                let next = self.nodes[before as usize].next;
                if self.key(next) > (at, order) {
                    break (before, false);
                }
                steps += 1;
                if steps == WALK {
                    return Some(item);
                }
                before = next;
            }
        };
        let node = match self.free {
            NONE => {
                self.nodes.push(Node {
                    item: Some(item),
                    at,
                    order,
                    next: NONE,
                });
                (self.nodes.len() - 1) as u32
            }
            free => {
                let node = &mut self.nodes[free as usize];
                self.free = node.next;
                node.item = Some(item);
                node.at = at;
                node.order = order;
                free
            }
        };
        let next = if after == NONE {
            self.occupied[slot / 64] |= 1 << (slot % 64);
            node
        } else {
            std::mem::replace(&mut self.nodes[after as usize].next, node)
        };
        self.nodes[node as usize].next = next;
        if last {
            self.tails[slot] = node;
        }
        if self.wheel_len == 0 || at < self.front {
            self.front = at;
            self.front_slot = slot;
        }
        self.wheel_len += 1;
        None
    }

    /// The (instant, order) of a node in the wheel.
    fn key(&self, node: u32) -> (Instant, u64) {
        let node = &self.nodes[node as usize];
        (node.at, node.order)
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

    /// Takes the next item (the simulator takes them through `pop_if`).
    #[cfg(test)]
    pub(super) fn pop(&mut self) -> Option<(Instant, T)> {
        self.pop_if(|_| true)
    }

    /// Takes the next item if `due` says yes to when it is due.
    #[inline]
    pub(super) fn pop_if(&mut self, due: impl FnOnce(Instant) -> bool) -> Option<(Instant, T)> {
        let from_wheel = match self.heap.peek() {
            None => self.wheel_len > 0,
            Some(far) => {
                self.wheel_len > 0 && self.key(self.head(self.front_slot)) < (far.at, far.order)
            }
        };
        let (at, item) = if from_wheel {
            if !due(self.front) {
                return None;
            }
            self.pop_wheel()?
        } else {
            if !due(self.heap.peek()?.at) {
                return None;
            }
            let far = self.heap.pop()?;
            (far.at, far.item)
        };
        // It was the least: nothing left in the wheel is due before it.
        self.base = self.base.max(at);
        Some((at, item))
    }

    /// The first node of an occupied slot.
    fn head(&self, slot: usize) -> u32 {
        self.nodes[self.tails[slot] as usize].next
    }

    /// Takes the wheel's first item.
    fn pop_wheel(&mut self) -> Option<(Instant, T)> {
        let slot = self.front_slot;
        let tail = self.tails[slot];
        let head = self.nodes[tail as usize].next;
        let node = &mut self.nodes[head as usize];
        let item = node.item.take()?;
        let at = node.at;
        let after = std::mem::replace(&mut node.next, self.free);
        self.free = head;
        self.wheel_len -= 1;
        if head == tail {
            self.tails[slot] = NONE;
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            if let Some(next) = self.next_occupied(slot) {
                self.front_slot = next;
                self.front = self.nodes[self.head(next) as usize].at;
            }
        } else {
            self.nodes[tail as usize].next = after;
            self.front = self.nodes[after as usize].at;
        }
        Some((at, item))
    }

    /// The first occupied slot from `from` on, going round the wheel.
    fn next_occupied(&self, from: usize) -> Option<usize> {
        let word = from / 64;
        let bits = self.occupied[word] & (u64::MAX << (from % 64));
        if bits != 0 {
            return Some(word * 64 + bits.trailing_zeros() as usize);
        }
        // The words after, then this one again for its slots before `from`.
        (1..=WORDS).find_map(|step| {
            let word = (word + step) % WORDS;
            let bits = self.occupied[word];
            (bits != 0).then(|| word * 64 + bits.trailing_zeros() as usize)
        })
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

    /// Milliseconds the window spans.
    const SPAN: u64 = (SLOTS as u64) << GRAIN;

    #[test]
    fn instants_a_window_apart_share_no_list() {
        let mut q = Queue::default();
        q.push(Instant(10), 1, "first");
        assert_eq!(q.pop(), Some((Instant(10), "first")));
        // The window is now 0 .. SPAN: these two share a slot.
        q.push(Instant(SPAN), 1, "out");
        q.push(Instant(SPAN - 1), 2, "last in");
        q.push(Instant(10), 2, "now");
        q.push(Instant(9), 2, "before");
        q.push(Instant(u64::MAX), 0, "end");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            order,
            [
                (Instant(9), "before"),
                (Instant(10), "now"),
                (Instant(SPAN - 1), "last in"),
                (Instant(SPAN), "out"),
                (Instant(u64::MAX), "end"),
            ]
        );
    }

    #[test]
    fn a_slot_filled_backwards_keeps_its_order() {
        let mut q = Queue::default();
        // One slot's instants in order, then a lower class at each: the
        // first few go back a few places in the slot's list, the rest to the
        // heap.
        let grain = 1u64 << GRAIN;
        for at in 0..grain {
            q.push(Instant(at), 2, (at, 2));
        }
        for at in 0..grain {
            q.push(Instant(at), 1, (at, 1));
        }
        assert!(!q.heap.is_empty() && q.wheel_len > WALK);
        let order: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|(_, item)| item)
            .collect();
        let expected: Vec<_> = (0..grain).flat_map(|at| [(at, 1), (at, 2)]).collect();
        assert_eq!(order, expected);
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
        /// Pop if the next item is due at or before the last popped
        /// instant plus this offset.
        PopBy(i64),
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
            3 => (0i64..4).prop_map(When::After),
            6 => (-20_000i64..20_000).prop_map(When::After),
            1 => (SPAN as i64 - 20..SPAN as i64 + 20).prop_map(When::After),
            1 => any::<u64>().prop_map(When::At),
            1 => (u64::MAX - 3..=u64::MAX).prop_map(When::At),
            1 => (0u64..4).prop_map(When::At),
        ];
        prop_oneof![
            5 => (when, 0u8..4).prop_map(|(at, class)| Op::Push { at, class }),
            4 => Just(Op::Pop),
            2 => (-3i64..24).prop_map(Op::PopBy),
            1 => (-10i64..10_000).prop_map(Op::PopBy),
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
                    Op::PopBy(d) => {
                        let by = Instant(last.0.wrapping_add_signed(d));
                        let expected = match reference.first_key_value() {
                            Some((&(at, _, _), _)) if at <= by => {
                                reference.pop_first().map(|((at, _, _), n)| (at, n))
                            }
                            _ => None,
                        };
                        prop_assert_eq!(q.pop_if(|at| at <= by), expected);
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
