//! Rate limits: one mechanism for every platform's throttling tables.
//!
//! A limit (profile data) is an operation set, a scope, a window and a count:
//! at most `count` counted calls per scope key in any trailing `window_ms`. Each
//! key has a [`Window`], a sliding log of the instants it counted, oldest first
//! and never more than `count` of them, so memory per key is bounded and a check
//! is O(1). Every limit that applies to a call must let it through; what
//! happens when one does not is the limit's [`Consequence`].
//!
//! Windows are grouped by scope subject: one map entry per user, thread,
//! user-in-thread or connection holds the windows of every limit of that scope
//! ([`Windows`]), so a check reads one entry per scope and a count writes it
//! once, however many limits apply. The entry's windows live in one
//! allocation, each a ring of at most its limit's count of instants, so a
//! check follows one pointer from the map entry to the instants it reads.

use crate::id::UserId;
use crate::profile::{Consequence, LIMITS_MAX, Operation, Profile, RateLimit, Scope};
use crate::time::{Duration, Instant};

use super::Error;
use super::vecmap::VecMap;

/// A sliding window, read: the instants counted in it, oldest first, at most
/// the limit's count of them (older ones can no longer matter). A view of a
/// ring inside its subject's [`Windows`].
#[derive(Clone, Copy, Debug)]
pub struct Window<'a> {
    /// The ring's storage (its capacity is the slice's length).
    ring: &'a [u64],
    /// Where the oldest instant is.
    head: usize,
    /// How many instants the ring holds.
    len: usize,
}

impl<'a> Window<'a> {
    /// A window with nothing counted yet.
    pub const EMPTY: Window<'static> = Window {
        ring: &[],
        head: 0,
        len: 0,
    };

    /// The `i`th instant, oldest first (`i < len`).
    fn at(&self, i: usize) -> u64 {
        self.ring[wrap(self.head + i, self.ring.len())]
    }

    /// How long from `now` until one more call fits `count` per `window_ms`:
    /// 0 if it fits now. Exact: a call exactly that much later fits, and, with
    /// nothing counted in between, none earlier does.
    /// `u64::MAX` when no call can ever fit (a count of 0, or a window that
    /// would outlast the clock).
    pub fn wait(&self, now: Instant, window_ms: u64, count: u32) -> u64 {
        let now = now.ms();
        if count == 0 {
            return u64::MAX;
        }
        if self.len == 0 {
            return 0;
        }
        let last = self.at(self.len - 1);
        if self.len < count as usize {
            // Room in the log; queued instants may lie ahead of `now`.
            return last.saturating_sub(now);
        }
        // The log is full: the oldest counted instant must leave the window.
        let Some(frees_at) = self.at(0).checked_add(window_ms) else {
            return u64::MAX;
        };
        frees_at.max(last).saturating_sub(now)
    }

    /// [`Window::wait`] once a call at `now` is counted too: the exact wait
    /// a refused call gets where throttled calls count. Worked out without
    /// counting: the count forgets the instants that have left the window
    /// (a prefix, the log being in order) and all but the newest `count - 1`
    /// of the rest, then appends `now`. So the window is full after it
    /// exactly when the `count - 1`th newest instant has not left (any
    /// instant, when `count` is 1), and then that instant (or `now`) is the
    /// oldest and must leave; one that has left gives 0 the same way.
    pub fn wait_counted(&self, now: Instant, window_ms: u64, count: u32) -> u64 {
        let now = now.ms();
        let oldest = match (count as usize).checked_sub(1) {
            None => return u64::MAX,
            Some(0) => now,
            Some(keep) if self.len < keep => return 0,
            Some(keep) => self.at(self.len - keep),
        };
        oldest
            .checked_add(window_ms)
            .map_or(u64::MAX, |frees_at| frees_at.saturating_sub(now))
    }

    /// How many calls the window holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// How many instants the window has room for (at most its limit's
    /// count: an invariant).
    pub fn capacity(&self) -> usize {
        self.ring.len()
    }

    /// Whether the window holds no call.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The counted instants, oldest first.
    pub fn instants(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len).map(|i| self.at(i))
    }

    /// Whether its instants are in order (an invariant).
    pub fn is_sorted(&self) -> bool {
        self.instants()
            .zip(self.instants().skip(1))
            .all(|(a, b)| a <= b)
    }
}

/// `i` reduced into `0..cap`, for `i < 2 * cap` (a ring position).
fn wrap(i: usize, cap: usize) -> usize {
    if i >= cap { i - cap } else { i }
}

/// The capacity a new ring starts with (at most its limit's count): most
/// windows hold one or two live instants at a time.
const RING_START: u64 = 2;

/// Words of a slot's header, before its ring.
const HEADER: usize = 2;

/// The windows of one scope subject, by limit index (ascending), in one
/// allocation: each limit's slot is a header of two words (`index << 32 |
/// capacity`, `head << 32 | len`) followed by its ring of `capacity`
/// instants. A ring's capacity never exceeds its limit's count; it starts
/// small and doubles when full.
#[derive(Clone, Default)]
pub struct Windows {
    words: Words,
}

/// Words kept in the map entry itself up to this many: one limit's slot
/// with its first ring (most subjects never need more).
const INLINE: usize = HEADER + RING_START as usize;

/// A subject's words: in the entry while they fit, else on the heap (and
/// there for good: a subject that needed more will again).
#[derive(Clone)]
enum Words {
    Inline(u8, [u64; INLINE]),
    Heap(Vec<u64>),
}

impl Default for Words {
    fn default() -> Words {
        Words::Inline(0, [0; INLINE])
    }
}

impl std::ops::Deref for Words {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        match self {
            Words::Inline(len, words) => &words[..usize::from(*len)],
            Words::Heap(words) => words,
        }
    }
}

impl std::ops::DerefMut for Words {
    fn deref_mut(&mut self) -> &mut [u64] {
        match self {
            Words::Inline(len, words) => &mut words[..usize::from(*len)],
            Words::Heap(words) => words,
        }
    }
}

impl Words {
    /// Makes room for `n` words at `at`, zeroed, in one allocation at most.
    fn insert_zeros(&mut self, at: usize, n: usize) {
        let len = self.len();
        match self {
            Words::Inline(used, words) if len + n <= INLINE => {
                *used = (len + n) as u8;
                words.copy_within(at..len, at + n);
                words[at..at + n].fill(0);
            }
            Words::Inline(_, words) => {
                let mut heap = Vec::with_capacity(len + n);
                heap.extend_from_slice(&words[..at]);
                heap.resize(at + n, 0);
                heap.extend_from_slice(&words[at..len]);
                *self = Words::Heap(heap);
            }
            Words::Heap(words) => {
                words.reserve_exact(n);
                words.resize(len + n, 0);
                words.copy_within(at..len, at + n);
                words[at..at + n].fill(0);
            }
        }
    }
}

/// A slot's header, unpacked.
#[derive(Clone, Copy)]
struct Slot {
    /// Where the slot's header starts in `words`.
    at: usize,
    index: usize,
    cap: usize,
    head: usize,
    len: usize,
}

impl Slot {
    fn ring(&self) -> std::ops::Range<usize> {
        self.at + HEADER..self.at + HEADER + self.cap
    }
}

impl Slot {
    /// The slot whose header is at `words[at]`.
    fn read(words: &[u64], at: usize) -> Slot {
        let (a, b) = (words[at], words[at + 1]);
        Slot {
            at,
            index: (a >> 32) as usize,
            cap: (a & u64::from(u32::MAX)) as usize,
            head: (b >> 32) as usize,
            len: (b & u64::from(u32::MAX)) as usize,
        }
    }

    /// The slots of `words`, in index order.
    fn all(words: &[u64]) -> impl Iterator<Item = Slot> + '_ {
        let mut at = 0;
        std::iter::from_fn(move || {
            (at < words.len()).then(|| {
                let slot = Slot::read(words, at);
                at += HEADER + slot.cap;
                slot
            })
        })
    }

    /// The slot's window in `words`.
    fn view(self, words: &[u64]) -> Window<'_> {
        Window {
            ring: &words[self.ring()],
            head: self.head,
            len: self.len,
        }
    }
}

impl Windows {
    /// Whether no limit has counted anything here.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The window of limit number `index`, if it has counted anything.
    pub fn get(&self, index: usize) -> Option<Window<'_>> {
        let words: &[u64] = &self.words;
        Slot::all(words)
            .find(|s| s.index >= index)
            .filter(|s| s.index == index)
            .map(|s| s.view(words))
    }

    /// (limit index, window) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, Window<'_>)> {
        let words: &[u64] = &self.words;
        Slot::all(words).map(|s| (s.index, s.view(words)))
    }

    /// Counts a call at `at` (never before an instant already counted) in
    /// the window of limit `index` (`count` per `window_ms`), forgetting
    /// instants that can no longer matter.
    pub fn count(&mut self, index: usize, at: u64, window_ms: u64, count: u32) {
        let mut slot = self.slot_or_insert(index, count);
        if count == 0 {
            return;
        }
        // The oldest instant has left the window at `at` (by subtraction:
        // no overflow), or there is no room for one more.
        let ring = &self.words[slot.ring()];
        while slot.len > 0 {
            let oldest = ring[slot.head];
            if at.saturating_sub(oldest) < window_ms && slot.len < count as usize {
                break;
            }
            slot.head = wrap(slot.head + 1, slot.cap);
            slot.len -= 1;
        }
        if slot.len == slot.cap {
            // Full below the count (the loop above made room under it).
            slot = self.grow(slot, count);
        }
        let words: &mut [u64] = &mut self.words;
        words[slot.at + HEADER + wrap(slot.head + slot.len, slot.cap)] = at;
        slot.len += 1;
        words[slot.at + 1] = ((slot.head as u64) << 32) | slot.len as u64;
    }

    /// The slot of limit `index`, created empty (a ring of at most `count`)
    /// where missing.
    fn slot_or_insert(&mut self, index: usize, count: u32) -> Slot {
        let mut at = self.words.len();
        for slot in Slot::all(&self.words) {
            if slot.index == index {
                return slot;
            }
            if slot.index > index {
                at = slot.at;
                break;
            }
        }
        let cap = RING_START.min(u64::from(count));
        self.words.insert_zeros(at, HEADER + cap as usize);
        self.words[at] = ((index as u64) << 32) | cap;
        Slot::read(&self.words, at)
    }

    /// `slot` with a larger ring (doubled, at most `count`), its instants
    /// moved to the ring's start.
    fn grow(&mut self, mut slot: Slot, count: u32) -> Slot {
        let cap = (slot.cap * 2).clamp(1, count as usize);
        self.words[slot.ring()].rotate_left(slot.head);
        self.words.insert_zeros(slot.ring().end, cap - slot.cap);
        slot.cap = cap;
        slot.head = 0;
        self.words[slot.at] = ((slot.index as u64) << 32) | cap as u64;
        slot
    }
}

impl PartialEq for Windows {
    /// The same limits with the same instants, however the rings lie.
    fn eq(&self, other: &Windows) -> bool {
        self.iter().count() == other.iter().count()
            && self.iter().zip(other.iter()).all(|((i, a), (j, b))| {
                i == j && a.len() == b.len() && a.instants().eq(b.instants())
            })
    }
}

impl Eq for Windows {}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|(i, w)| (i, w.instants().collect::<Vec<_>>())),
            )
            .finish()
    }
}

/// A scope subject: the scope and who in it (user, user and connection, or 0
/// when the scope has none).
pub type WindowKey = (u8, u64);

/// A set of the profile's rate limits by index (profiles hold at most 64).
pub type LimitSet = u64;

/// Who a limit counts: the calling user and the connection the call came
/// through. The trusted service has no user and no connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subject {
    /// The caller's identity; `None` for the trusted service.
    pub user: Option<UserId>,
    /// The connection the call came through.
    pub connection: u32,
    /// The sending number of an SMS call (see `rules::address::sender_key`).
    pub sender: Option<u64>,
}

/// Whether the limit keeps its windows in the thread (they die with it) or in
/// the state.
pub fn thread_scoped(scope: Scope) -> bool {
    matches!(scope, Scope::Thread | Scope::UserThread)
}

/// The subject key of `scope` for `subject`; None when the scope needs a
/// user and the call has none.
pub fn key(scope: Scope, subject: Subject) -> Option<WindowKey> {
    let who = match scope {
        Scope::Thread | Scope::Resource => 0,
        Scope::User | Scope::UserThread => u64::from(subject.user?.0),
        Scope::Connection => (u64::from(subject.user?.0) << 32) | u64::from(subject.connection),
        Scope::Sender => subject.sender?,
    };
    Some((scope as u8, who))
}

/// The limits of `profile` that apply to `op`, as a set. Limits past
/// [`LIMITS_MAX`] (which `Profile::validate` refuses) are never consulted.
fn applicable(profile: &Profile, op: Operation) -> LimitSet {
    profile
        .rate_limits
        .iter()
        .take(LIMITS_MAX)
        .enumerate()
        .filter(|(_, limit)| limit.operations.contains(&op))
        .fold(0, |set, (i, _)| set | (1 << i))
}

/// The limits of `profile` in `set`, with their index, in index order.
fn limits_in(profile: &Profile, set: LimitSet) -> impl Iterator<Item = (usize, &RateLimit)> {
    let mut todo = set;
    std::iter::from_fn(move || {
        (todo != 0).then(|| {
            let index = todo.trailing_zeros() as usize;
            todo &= todo - 1;
            index
        })
    })
    .filter_map(|index| Some((index, profile.rate_limits.get(index)?)))
}

/// An operation and the limits that apply to it: what a check walks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applying {
    /// The operation checked.
    pub op: Operation,
    /// The profile's limits that count it.
    pub limits: LimitSet,
}

impl Applying {
    /// The limits of `profile` that apply to `op`, found by reading every
    /// limit's operations (an [`Index`] has them at hand).
    pub fn scan(profile: &Profile, op: Operation) -> Applying {
        Applying {
            op,
            limits: applicable(profile, op),
        }
    }
}

/// How many operations an [`Index`] keeps a set for.
const OPERATIONS: usize = Operation::ALL.len();

/// A profile's rate limits sorted once, when the state is made, so that a
/// check reads the set of its operation's limits instead of every limit's
/// operation list, and only the limits in that set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Index {
    /// The limits that apply to each operation, by `op as usize`.
    by_operation: [Option<LimitSet>; OPERATIONS],
    /// The limits that refuse a call over them.
    rejecting: LimitSet,
    /// The limits whose windows live in the thread.
    in_thread: LimitSet,
}

impl Index {
    /// The index of `profile`'s limits.
    pub fn new(profile: &Profile) -> Index {
        let mut by_operation = [None; OPERATIONS];
        for op in Operation::ALL {
            if let Some(set) = by_operation.get_mut(op as usize) {
                *set = Some(applicable(profile, op));
            }
        }
        let (mut rejecting, mut in_thread) = (0, 0);
        for (i, limit) in profile.rate_limits.iter().take(LIMITS_MAX).enumerate() {
            if limit.consequence == Consequence::Reject {
                rejecting |= 1 << i;
            }
            if thread_scoped(limit.scope) {
                in_thread |= 1 << i;
            }
        }
        Index {
            by_operation,
            rejecting,
            in_thread,
        }
    }

    /// The limits of `profile` (this index's) that apply to `op`.
    pub fn applying(&self, profile: &Profile, op: Operation) -> Applying {
        match self.by_operation.get(op as usize) {
            Some(&Some(limits)) => Applying { op, limits },
            // An operation `Operation::ALL` does not list.
            _ => Applying::scan(profile, op),
        }
    }

    /// The rejecting limits that apply to `op`: what a throttled call counts
    /// in on platforms where throttled calls count.
    pub fn rejecting(&self, applying: Applying) -> LimitSet {
        applying.limits & self.rejecting
    }

    /// Whether any limit in `counted` keeps its windows in the thread: only
    /// then does counting a call write the thread (a read after a fork
    /// copies nothing).
    pub fn counts_in_thread(&self, counted: LimitSet) -> bool {
        counted & self.in_thread != 0
    }
}

/// Where windows are kept: the state's map, or a thread's.
pub trait Store {
    /// The windows kept under `key`, if any.
    fn windows(&self, key: &WindowKey) -> Option<&Windows>;
    /// The windows kept under `key`, created empty if missing.
    fn windows_mut(&mut self, key: WindowKey) -> &mut Windows;
}

impl Store for imbl::OrdMap<WindowKey, Windows> {
    fn windows(&self, key: &WindowKey) -> Option<&Windows> {
        self.get(key)
    }

    fn windows_mut(&mut self, key: WindowKey) -> &mut Windows {
        // A known subject: a read descent, then a write descent along the
        // same (now cached) path; the entry API costs more here.
        if !self.contains_key(&key) {
            self.insert(key, Windows::default());
        }
        self.get_mut(&key).expect("just ensured")
    }
}

impl Store for std::collections::BTreeMap<WindowKey, Windows> {
    fn windows(&self, key: &WindowKey) -> Option<&Windows> {
        self.get(key)
    }

    fn windows_mut(&mut self, key: WindowKey) -> &mut Windows {
        self.entry(key).or_default()
    }
}

/// A thread's rate windows (those of its thread-scoped limits): the thread's
/// own subject in place, each sender's by user id, packed four bytes a key,
/// so that a send reads one short search and no long one. Any other key (a
/// caller of [`Store`] may pass one; the core does not) has its own map.
/// A sender's first count in the thread moves the senders after it (44
/// bytes each: 44 KB in a thread of 1,000 senders).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadWindows {
    /// The thread's subject (`Scope::Thread`).
    thread: Windows,
    /// Each user's subject in the thread (`Scope::UserThread`), by user id.
    users: VecMap<u32, Windows>,
    /// Any other subject.
    other: VecMap<WindowKey, Windows>,
}

/// Where a [`ThreadWindows`] keeps a subject.
enum Place {
    Thread,
    User(u32),
    Other,
}

impl Place {
    fn of(key: &WindowKey) -> Place {
        match *key {
            (scope, 0) if scope == Scope::Thread as u8 => Place::Thread,
            (scope, who) if scope == Scope::UserThread as u8 => {
                u32::try_from(who).map_or(Place::Other, Place::User)
            }
            _ => Place::Other,
        }
    }
}

impl ThreadWindows {
    /// Whether no subject has counted anything.
    pub fn is_empty(&self) -> bool {
        self.thread.is_empty() && self.users.is_empty() && self.other.is_empty()
    }

    /// Forgets every window, giving back their memory.
    pub fn clear(&mut self) {
        *self = ThreadWindows::default();
    }

    /// Every subject's windows.
    pub fn values(&self) -> impl Iterator<Item = &Windows> {
        std::iter::once(&self.thread)
            .filter(|w| !w.is_empty())
            .chain(self.users.values())
            .chain(self.other.values())
    }
}

impl Store for ThreadWindows {
    fn windows(&self, key: &WindowKey) -> Option<&Windows> {
        match Place::of(key) {
            Place::Thread => Some(&self.thread),
            Place::User(user) => self.users.get(&user),
            Place::Other => self.other.get(key),
        }
    }

    fn windows_mut(&mut self, key: WindowKey) -> &mut Windows {
        match Place::of(&key) {
            Place::Thread => &mut self.thread,
            Place::User(user) => self.users.get_or_insert_default(user),
            Place::Other => self.other.get_or_insert_default(key),
        }
    }
}

/// What a change counts in its thread's rate windows: the verdict of the
/// limits, who it counts for, and when.
pub(super) struct Count {
    pub verdict: Verdict,
    pub subject: Subject,
    pub now: Instant,
}

/// What the limits decided for a call that none of them refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The limits that count this call once it succeeds.
    pub counted: LimitSet,
    /// False when a display cap was reached: the call is stored but not shown
    /// to the others in real time.
    pub shown: bool,
    /// When the call takes effect: now, or later when a queueing limit is full.
    pub effective_at: Instant,
}

/// Decides `applying.op` by `subject` at `now` against the limits in
/// `applying`, reading windows from `outside` (the state's) and `thread` (the
/// target thread's, if the call has one).
/// Every rejecting limit must admit the call; the error names the one that
/// blocks longest, so its retry-after is exact for all of them. When
/// `refused_counts` (the profile counts throttled calls), the waits are those
/// that hold once the refused call is counted in every rejecting window.
pub fn decide(
    profile: &Profile,
    applying: Applying,
    subject: Subject,
    now: Instant,
    outside: &impl Store,
    thread: Option<&impl Store>,
    refused_counts: bool,
) -> Result<Verdict, Error> {
    let mut verdict = Verdict {
        counted: 0,
        shown: true,
        effective_at: now,
    };
    let mut blocked: Option<(u64, &RateLimit)> = None;
    // Where throttled calls count: the longest wait once the refused call is
    // counted in every rejecting window (a window that had room may be full
    // then), worked out in the same pass.
    let mut blocked_counted: Option<(u64, &RateLimit)> = None;
    // The last subject looked up: consecutive limits usually share it.
    let mut last: Option<(WindowKey, Option<&Windows>)> = None;
    for (index, limit) in limits_in(profile, applying.limits) {
        let Some(key) = key(limit.scope, subject) else {
            continue;
        };
        let windows = match last {
            Some((k, w)) if k == key => w,
            _ => {
                let w = if thread_scoped(limit.scope) {
                    // No thread: a thread scope does not apply.
                    let Some(thread) = thread else {
                        continue;
                    };
                    thread.windows(&key)
                } else {
                    outside.windows(&key)
                };
                last = Some((key, w));
                w
            }
        };
        let window = windows.and_then(|w| w.get(index)).unwrap_or(Window::EMPTY);
        let wait = window.wait(now, limit.window_ms, limit.count);
        match limit.consequence {
            Consequence::Reject => {
                if wait > 0 && blocked.is_none_or(|(longest, _)| wait > longest) {
                    blocked = Some((wait, limit));
                }
                if refused_counts {
                    let wait = window.wait_counted(now, limit.window_ms, limit.count);
                    if wait > 0 && blocked_counted.is_none_or(|(longest, _)| wait > longest) {
                        blocked_counted = Some((wait, limit));
                    }
                }
                verdict.counted |= 1 << index;
            }
            Consequence::Hide => {
                if wait > 0 {
                    verdict.shown = false;
                } else {
                    verdict.counted |= 1 << index;
                }
            }
            Consequence::Queue => {
                verdict.effective_at = verdict.effective_at.max(now.after(Duration(wait)));
                verdict.counted |= 1 << index;
            }
        }
    }
    if blocked.is_some() && refused_counts {
        blocked = blocked_counted.or(blocked);
    }
    match blocked {
        Some((retry_after_ms, limit)) => Err(Error::RateLimited {
            operation: applying.op,
            scope: limit.scope,
            window_ms: limit.window_ms,
            count: limit.count,
            socket: limit.socket,
            retry_after_ms,
        }),
        None => Ok(verdict),
    }
}

/// Counts the call in the windows of the limits in `verdict.counted` kept in
/// `store` (thread-scoped ones when `in_thread`, the others otherwise): at
/// the effective instant for queueing limits, now for the rest. Each subject's
/// entry is written once.
pub fn count(
    profile: &Profile,
    verdict: &Verdict,
    subject: Subject,
    in_thread: bool,
    now: Instant,
    store: &mut impl Store,
) {
    // The counted limits, by set bit (a profile holds at most LIMITS_MAX).
    let mut todo = verdict.counted;
    while todo != 0 {
        let index = todo.trailing_zeros() as usize;
        todo &= todo - 1;
        let Some(limit) = profile.rate_limits.get(index) else {
            continue;
        };
        if thread_scoped(limit.scope) != in_thread {
            continue;
        }
        let Some(key) = key(limit.scope, subject) else {
            continue;
        };
        let windows = store.windows_mut(key);
        // Every counted limit of this subject, in one visit.
        for (i, l) in limits_in(profile, (1 << index) | todo) {
            if l.scope != limit.scope {
                continue;
            }
            todo &= !(1 << i);
            let at = match l.consequence {
                Consequence::Queue => verdict.effective_at,
                Consequence::Reject | Consequence::Hide => now,
            };
            windows.count(i, at.ms(), l.window_ms, l.count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One limit's window, kept as the core keeps it (limit 3 of a subject).
    #[derive(Clone, Default)]
    struct Log(Windows);

    impl Log {
        fn count(&mut self, at: u64, window_ms: u64, count: u32) {
            self.0.count(3, at, window_ms, count);
        }

        fn window(&self) -> Window<'_> {
            self.0.get(3).unwrap_or(Window::EMPTY)
        }

        fn wait(&self, now: u64, window_ms: u64, count: u32) -> u64 {
            self.window().wait(Instant(now), window_ms, count)
        }
    }

    #[test]
    fn window_admits_count_then_gives_exact_wait() {
        let mut w = Log::default();
        for t in [0u64, 10, 20] {
            assert_eq!(w.wait(t, 1000, 3), 0);
            w.count(t, 1000, 3);
        }
        // Full: the oldest (0) leaves at 1000.
        assert_eq!(w.wait(500, 1000, 3), 500);
        assert_eq!(w.wait(999, 1000, 3), 1);
        assert_eq!(w.wait(1000, 1000, 3), 0);
        w.count(1000, 1000, 3);
        // Now 10, 20, 1000 are live: next room at 1010.
        assert_eq!(w.wait(1000, 1000, 3), 10);
        assert!(w.window().len() <= 3);
        assert_eq!(w.window().instants().collect::<Vec<_>>(), [10, 20, 1000]);
    }

    #[test]
    fn a_zero_count_never_admits_and_the_end_of_time_does_not_wrap() {
        let mut w = Log::default();
        assert_eq!(w.wait(5, 1000, 0), u64::MAX);
        w.count(5, 1000, 0); // counts nothing
        assert!(w.window().is_empty());
        // Two counted calls just before the end of time: the window stays full
        // until the clock can no longer reach its end.
        let end = u64::MAX;
        let mut w = Log::default();
        w.count(end - 600, 1000, 2);
        w.count(end - 200, 1000, 2);
        assert_eq!(w.wait(end, 1000, 2), u64::MAX);
        assert_eq!(w.wait(end - 100, 1000, 2), u64::MAX);
        // A window as long as time: a call at 0 leaves it only at the very end.
        let mut w = Log::default();
        w.count(0, u64::MAX, 1);
        assert_eq!(w.wait(end - 1, u64::MAX, 1), 1);
        w.count(1, u64::MAX, 1);
        assert_eq!(w.wait(end, u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn queued_instants_push_the_next_slot_forward() {
        let mut w = Log::default();
        // Three slots per second, four calls at 0: the fourth goes at 1000.
        let mut slots = Vec::new();
        for _ in 0..4 {
            let at = w.wait(0, 1000, 3);
            w.count(at, 1000, 3);
            slots.push(at);
        }
        assert_eq!(slots, [0, 0, 0, 1000]);
        // A fifth at 10 must wait for the second slot (0) to leave at 1000, and
        // may not go before the last queued instant.
        assert_eq!(w.wait(10, 1000, 3), 990);
        assert!(w.window().is_sorted());
    }

    /// A tiny deterministic stream for the brute-force comparisons.
    fn next(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *state >> 33
    }

    #[test]
    fn each_ring_matches_a_plain_log_and_stays_within_its_count() {
        // Three limits in one subject, counted in a random order, against
        // the plain log the ring replaces: forget what has left the window,
        // then the oldest while full, then append.
        let limits = [(0usize, 50u64, 1u32), (2, 400, 7), (5, 3000, 40)];
        let mut rng = 7;
        let mut windows = Windows::default();
        let mut plain: Vec<Vec<u64>> = vec![Vec::new(); limits.len()];
        let mut now = 0;
        for _ in 0..5000 {
            now += next(&mut rng) % 60;
            let which = (next(&mut rng) % 3) as usize;
            let (index, window_ms, count) = limits[which];
            let log = &mut plain[which];
            log.retain(|&t| now - t < window_ms);
            while log.len() >= count as usize {
                log.remove(0);
            }
            log.push(now);
            windows.count(index, now, window_ms, count);
            for (k, &(index, _, count)) in limits.iter().enumerate() {
                let Some(w) = windows.get(index) else {
                    assert!(plain[k].is_empty());
                    continue;
                };
                assert_eq!(w.instants().collect::<Vec<_>>(), plain[k]);
                assert!(w.len() <= count as usize && w.capacity() <= count as usize);
            }
        }
        assert_eq!(
            windows.iter().map(|(i, _)| i).collect::<Vec<_>>(),
            [0, 2, 5]
        );
    }

    #[test]
    fn wait_counted_is_the_wait_after_counting() {
        let mut rng = 11;
        for case in 0..3000 {
            // Times on a 10 ms grid, so that instants often lie exactly
            // one window apart.
            let count = 1 + (next(&mut rng) % 6) as u32;
            let window_ms = 10 * (1 + next(&mut rng) % 50);
            let mut w = Log::default();
            let mut now = 10 * (next(&mut rng) % 10);
            for _ in 0..next(&mut rng) % 12 {
                w.count(now, window_ms, count);
                now += 10 * (next(&mut rng) % 20);
            }
            // Near the end of time too, where a window's end does not fit.
            let shift = if case % 5 == 0 { u64::MAX - 2400 } else { 0 };
            let mut shifted = Log::default();
            for t in w.window().instants() {
                shifted.count(t + shift, window_ms, count);
            }
            let now = now + shift;
            let mut after = shifted.clone();
            after.count(now, window_ms, count);
            assert_eq!(
                shifted
                    .window()
                    .wait_counted(Instant(now), window_ms, count),
                after.wait(now, window_ms, count),
                "case {case}: {:?} at {now}, {count} per {window_ms}",
                shifted.0
            );
        }
        assert_eq!(Window::EMPTY.wait_counted(Instant(3), 10, 0), u64::MAX);
    }

    #[test]
    fn the_index_has_every_operations_limits_at_hand() {
        for profile in [Profile::acs(), Profile::twilio(), Profile::sendbird()] {
            let index = Index::new(&profile);
            for op in Operation::ALL {
                // Every operation has its own slot, so none is scanned.
                assert!(matches!(index.by_operation.get(op as usize), Some(Some(_))));
                let applying = index.applying(&profile, op);
                assert_eq!(applying, Applying::scan(&profile, op));
                let (rejecting, in_thread): (Vec<_>, Vec<_>) = profile
                    .rate_limits
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.operations.contains(&op))
                    .map(|(i, l)| {
                        let bit = 1u64 << i;
                        let rejects = l.consequence == Consequence::Reject;
                        (
                            bit * u64::from(rejects),
                            bit * u64::from(thread_scoped(l.scope)),
                        )
                    })
                    .unzip();
                assert_eq!(
                    index.rejecting(applying),
                    rejecting.iter().fold(0, |a, b| a | b)
                );
                let thread_bits = in_thread.iter().fold(0, |a, b| a | b);
                assert_eq!(index.counts_in_thread(applying.limits), thread_bits != 0);
            }
        }
    }

    #[test]
    fn a_subject_outgrowing_its_entry_moves_to_the_heap_whole() {
        let mut w = Windows::default();
        w.count(4, 10, 1000, 5);
        w.count(4, 20, 1000, 5);
        assert!(matches!(w.words, Words::Inline(4, _)));
        // A limit before it: the new slot goes first, the words move out.
        w.count(1, 30, 1000, 5);
        assert!(matches!(w.words, Words::Heap(_)));
        let instants = |i| w.get(i).map(|w| w.instants().collect::<Vec<_>>());
        assert_eq!(instants(1), Some(vec![30]));
        assert_eq!(instants(4), Some(vec![10, 20]));
        assert_eq!(instants(2), None);
    }

    #[test]
    fn a_threads_windows_keep_each_subject_apart_as_a_map_does() {
        // Subjects of every kind: the thread's, users' in the thread, and
        // keys the core never passes a thread (other scopes, a user id past
        // 32 bits, a thread scope with a subject), against a BTreeMap.
        let (thread, user_thread) = (Scope::Thread as u8, Scope::UserThread as u8);
        let keys: [WindowKey; 9] = [
            (thread, 0),
            (thread, 7),
            (user_thread, 0),
            (user_thread, 3),
            (user_thread, u64::from(u32::MAX)),
            (user_thread, 1 << 32),
            (Scope::User as u8, 3),
            (Scope::Resource as u8, 0),
            (Scope::Sender as u8, u64::MAX),
        ];
        let mut rng = 5;
        let mut windows = ThreadWindows::default();
        let mut model: std::collections::BTreeMap<WindowKey, Windows> = Default::default();
        assert!(windows.is_empty());
        for now in 0..2000 {
            let key = keys[(next(&mut rng) % keys.len() as u64) as usize];
            let limit = (next(&mut rng) % 3) as usize;
            windows.windows_mut(key).count(limit, now, 100, 4);
            model.windows_mut(key).count(limit, now, 100, 4);
            for key in &keys {
                let empty = Windows::default();
                assert_eq!(
                    windows.windows(key).unwrap_or(&empty),
                    model.windows(key).unwrap_or(&empty),
                    "{key:?} at {now}"
                );
            }
            assert!(!windows.is_empty());
            assert_eq!(windows.values().count(), model.len());
        }
        windows.clear();
        assert!(windows.is_empty() && windows.values().next().is_none());
        assert_eq!(windows, ThreadWindows::default());
    }

    #[test]
    fn windows_are_equal_by_their_instants_not_their_rings() {
        let (mut a, mut b) = (Windows::default(), Windows::default());
        for t in 0..9 {
            a.count(1, t, 1000, 4);
        }
        for t in 5..9 {
            b.count(1, t, 1000, 4);
        }
        assert_eq!(a, b);
        b.count(1, 9, 1000, 4);
        assert_ne!(a, b);
        assert_ne!(Windows::default(), {
            let mut c = Windows::default();
            c.count(0, 1, 1000, 0);
            c
        });
    }
}
