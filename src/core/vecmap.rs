//! `VecMap`: a small ordered map kept as two sorted vectors, its keys and
//! its values.
//!
//! A thread's small maps (its current participants, its senders' rate-limit
//! windows) hold tens of entries and are read on every send. As sorted
//! vectors a lookup is a binary search over the keys alone, packed side by
//! side (a few cache lines, where a B-tree chases a pointer per level and a
//! vector of pairs strides over the values too), then one read of the value;
//! a clone is two copies, and iteration is in key order, as a `BTreeMap`'s
//! is, so nothing that iterates one changes what it prints.
//!
//! The price is the insertion and removal of a key in the middle: O(n) moves
//! of the entries after it (a `memmove` of `n` keys and `n` values). Keys
//! that arrive in ascending order append without moves, and a batch goes in
//! with [`VecMap::extend`] in O(n log n) whatever its order. The worst case is
//! a map grown or shrunk one key at a time at its front: a thread's
//! participants are 8-byte entries, so a join into a Twilio-sized thread
//! (1,000) moves 8 KB, well under a microsecond, but a thread of `n`
//! participants (a profile may allow any number) joined one call at a time
//! in descending id order moves O(n²) bytes in all, about 4 GB for 30,000,
//! where a B-tree moves O(n log n).

use std::borrow::Borrow;

/// An ordered map as a vector of keys sorted ascending, each key once, and
/// the vector of their values in the same order. Its methods answer as
/// `BTreeMap`'s of the same name do.
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    keys: Vec<K>,
    values: Vec<V>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> VecMap<K, V> {
        VecMap::new()
    }
}

impl<K, V> VecMap<K, V> {
    /// An empty map (no allocation).
    pub const fn new() -> VecMap<K, V> {
        VecMap {
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Removes every entry and gives back the allocations.
    pub fn clear(&mut self) {
        *self = VecMap::new();
    }

    /// The entries in key order.
    pub fn iter(&self) -> Iter<'_, K, V> {
        self.keys.iter().zip(self.values.iter())
    }

    /// The values in key order.
    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// Where `key` is (`Ok`), or where it would go (`Err`).
    fn find<Q>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.keys.binary_search_by(|k| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.values.get(self.find(key).ok()?)
    }

    /// The value of `key`, writable.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let i = self.find(key).ok()?;
        self.values.get_mut(i)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        self.find(key).is_ok()
    }

    /// Sets `key`'s value; returns the value it replaces. A new key moves
    /// the entries after it: none for a key above every other, O(n) at worst.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => self
                .values
                .get_mut(i)
                .map(|old| std::mem::replace(old, value)),
            Err(i) => {
                self.keys.insert(i, key);
                self.values.insert(i, value);
                None
            }
        }
    }

    /// Removes `key`; returns its value. Moves the entries after it: O(n).
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let i = self.find(key).ok()?;
        self.keys.remove(i);
        Some(self.values.remove(i))
    }

    /// The value of `key`, inserted as `V::default()` where missing (as
    /// `BTreeMap`'s `entry(key).or_default()`).
    pub fn get_or_insert_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.keys.insert(i, key);
                self.values.insert(i, V::default());
                i
            }
        };
        &mut self.values[i]
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    /// Inserts every pair, a later value of a key replacing an earlier one
    /// (as inserting them one by one would): O((n + m) log(n + m)) for `m`
    /// pairs into `n` entries, whatever their order.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        let mut pairs = pairs.into_iter();
        let Some(first) = pairs.next() else {
            return;
        };
        let Some(second) = pairs.next() else {
            // One pair: a binary search and a move, no sort.
            self.insert(first.0, first.1);
            return;
        };
        let keys = std::mem::take(&mut self.keys);
        let values = std::mem::take(&mut self.values);
        let mut all: Vec<(K, V)> = keys.into_iter().zip(values).collect();
        all.extend([first, second]);
        all.extend(pairs);
        // Stable: among equal keys the later pair stays later; the dedup
        // keeps the first of a run, so the later value moves into it.
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        (self.keys, self.values) = all.into_iter().unzip();
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> VecMap<K, V> {
        let mut map = VecMap::new();
        map.extend(pairs);
        map
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// The entries of a [`VecMap`] in key order.
pub type Iter<'a, K, V> = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::Iter<'a, V>>;

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One call on both maps.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u16),
        Remove(u8),
        GetMut(u8, u16),
        Default(u8, u16),
        Extend(Vec<(u8, u16)>),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        // Keys from a small range, so that calls meet existing keys.
        let key = 0u8..48;
        prop_oneof![
            6 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::Insert(k, v)),
            3 => key.clone().prop_map(Op::Remove),
            2 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::GetMut(k, v)),
            3 => (key.clone(), any::<u16>()).prop_map(|(k, v)| Op::Default(k, v)),
            2 => proptest::collection::vec((key, any::<u16>()), 0..12).prop_map(Op::Extend),
            1 => Just(Op::Clear),
        ]
    }

    /// A key as wide as two cache lines, so that a lookup in a map of more
    /// than eight halves its range before it counts.
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
    struct Wide(u8, [u8; 127]);

    /// Runs `ops` on a `VecMap` and a `BTreeMap` with the keys `key` makes:
    /// every call must answer the same, and both must then hold the same
    /// entries in the same order.
    fn same_as_btreemap<K: Ord + Clone + std::fmt::Debug>(
        ops: &[Op],
        probe: u8,
        key: fn(u8) -> K,
    ) -> Result<(), TestCaseError> {
        let mut map: VecMap<K, u16> = VecMap::new();
        let mut model: BTreeMap<K, u16> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    prop_assert_eq!(map.insert(key(*k), *v), model.insert(key(*k), *v))
                }
                Op::Remove(k) => prop_assert_eq!(map.remove(&key(*k)), model.remove(&key(*k))),
                Op::GetMut(k, v) => {
                    let (a, b) = (map.get_mut(&key(*k)), model.get_mut(&key(*k)));
                    prop_assert_eq!(a.is_some(), b.is_some());
                    if let (Some(a), Some(b)) = (a, b) {
                        (*a, *b) = (*v, *v);
                    }
                }
                Op::Default(k, v) => {
                    let a = map.get_or_insert_default(key(*k));
                    let b = model.entry(key(*k)).or_default();
                    prop_assert_eq!(*a, *b);
                    *a = a.wrapping_add(*v);
                    *b = b.wrapping_add(*v);
                }
                Op::Extend(pairs) => {
                    map.extend(pairs.iter().map(|(k, v)| (key(*k), *v)));
                    model.extend(pairs.iter().map(|(k, v)| (key(*k), *v)));
                }
                Op::Clear => {
                    map.clear();
                    model.clear();
                }
            }
            prop_assert_eq!(map.len(), model.len());
            prop_assert!(map.iter().eq(model.iter()));
        }
        prop_assert_eq!(map.is_empty(), model.is_empty());
        for k in 0..=probe {
            prop_assert_eq!(map.get(&key(k)), model.get(&key(k)));
            prop_assert_eq!(map.contains_key(&key(k)), model.contains_key(&key(k)));
        }
        prop_assert!(map.iter().rev().eq(model.iter().rev()));
        prop_assert!(map.iter().map(|(k, _)| k).eq(model.keys()));
        prop_assert!(map.values().eq(model.values()));
        prop_assert_eq!(format!("{map:?}"), format!("{model:?}"));
        let rebuilt: VecMap<K, u16> = model.iter().map(|(k, v)| (k.clone(), *v)).rev().collect();
        prop_assert_eq!(&rebuilt, &map);
        Ok(())
    }

    proptest! {
        /// Every call answers as `BTreeMap`'s does, and afterwards both hold
        /// the same entries in the same order, whatever is asked of them:
        /// with narrow keys (a lookup counts) and wide ones (it halves first).
        #[test]
        fn a_vecmap_is_a_btreemap(ops in proptest::collection::vec(op(), 0..200), probe in 0u8..50) {
            same_as_btreemap(&ops, probe, |k| k)?;
            same_as_btreemap(&ops, probe, |k| Wide(k, [k; 127]))?;
        }
    }

    #[test]
    fn clearing_gives_the_allocation_back() {
        let mut map: VecMap<u32, u64> = (0..100).map(|k| (k, u64::from(k))).collect();
        assert!(map.keys.capacity() >= 100 && map.values.capacity() >= 100);
        map.clear();
        assert_eq!((map.keys.capacity(), map.values.capacity()), (0, 0));
    }

    #[test]
    fn a_later_pair_of_a_batch_wins_as_in_a_btreemap() {
        let mut map: VecMap<&str, u32> = [("b", 1), ("a", 2)].into_iter().collect();
        map.extend([("b", 3), ("c", 4), ("b", 5), ("a", 6)]);
        assert_eq!(
            map.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(),
            [("a", 6), ("b", 5), ("c", 4)]
        );
        // Borrowed lookups, as BTreeMap<String, _> takes &str.
        let owned: VecMap<String, u32> = [("x".to_string(), 1)].into_iter().collect();
        assert_eq!(owned.get("x"), Some(&1));
        assert_eq!(owned.get("y"), None);
    }
}
