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
//! once, however many limits apply.

use std::collections::VecDeque;

use crate::id::UserId;
use crate::profile::{Consequence, LIMITS_MAX, Operation, Profile, RateLimit, Scope};
use crate::time::{Duration, Instant};

use super::Error;

/// A sliding window: the instants counted in it, oldest first, at most the
/// limit's count of them (older ones can no longer matter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    counted: VecDeque<u64>,
}

impl Window {
    /// A window with nothing counted yet.
    pub const EMPTY: Window = Window {
        counted: VecDeque::new(),
    };

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
        if self.counted.len() < count as usize {
            // Room in the log; queued instants may lie ahead of `now`.
            return self
                .counted
                .back()
                .map_or(0, |&last| last.saturating_sub(now));
        }
        // The log is full: the oldest counted instant must leave the window.
        let Some(frees_at) = self.counted[0].checked_add(window_ms) else {
            return u64::MAX;
        };
        let last = *self.counted.back().expect("full");
        frees_at.max(last).saturating_sub(now)
    }

    /// Counts a call at `at` (never before an instant already counted),
    /// forgetting instants that can no longer matter.
    pub fn count(&mut self, at: u64, window_ms: u64, count: u32) {
        if count == 0 {
            return;
        }
        // `t` has left the window at `at` (by subtraction: no overflow).
        while self
            .counted
            .front()
            .is_some_and(|&t| at.saturating_sub(t) >= window_ms)
        {
            self.counted.pop_front();
        }
        while self.counted.len() >= count as usize {
            self.counted.pop_front();
        }
        self.counted.push_back(at);
    }

    /// [`Window::wait`] once a call at `now` is counted too: the exact wait
    /// a refused call gets where throttled calls count.
    pub fn wait_counted(&self, now: Instant, window_ms: u64, count: u32) -> u64 {
        let mut after = self.clone();
        after.count(now.ms(), window_ms, count);
        after.wait(now, window_ms, count)
    }

    /// How many calls the window holds.
    pub fn len(&self) -> usize {
        self.counted.len()
    }

    /// Whether the window holds no call.
    pub fn is_empty(&self) -> bool {
        self.counted.is_empty()
    }

    /// Whether its instants are in order (an invariant).
    pub fn is_sorted(&self) -> bool {
        self.counted
            .iter()
            .zip(self.counted.iter().skip(1))
            .all(|(a, b)| a <= b)
    }
}

/// The window of a limit that has counted nothing yet.
static NOTHING_COUNTED: Window = Window::EMPTY;

/// The windows of one scope subject, by limit index (ascending).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Windows {
    by_limit: Vec<(u16, Window)>,
}

impl Windows {
    /// The window of limit number `index`, if it has counted anything.
    pub fn get(&self, index: usize) -> Option<&Window> {
        self.by_limit
            .iter()
            .find(|(i, _)| usize::from(*i) == index)
            .map(|(_, w)| w)
    }

    fn get_or_insert(&mut self, index: usize) -> &mut Window {
        let at = self
            .by_limit
            .partition_point(|(i, _)| usize::from(*i) < index);
        if self
            .by_limit
            .get(at)
            .is_none_or(|(i, _)| usize::from(*i) != index)
        {
            self.by_limit.insert(at, (index as u16, Window::default()));
        }
        &mut self.by_limit[at].1
    }

    /// (limit index, window) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Window)> {
        self.by_limit.iter().map(|(i, w)| (usize::from(*i), w))
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

/// Whether any limit in `counted` keeps its windows in the thread: only then
/// does counting a call write the thread (a read after a fork copies nothing).
pub fn counts_in_thread(profile: &Profile, counted: LimitSet) -> bool {
    profile
        .rate_limits
        .iter()
        .take(LIMITS_MAX)
        .enumerate()
        .any(|(i, limit)| counted & (1 << i) != 0 && thread_scoped(limit.scope))
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

/// The limits of `profile` that apply to `op`, with their index. Limits past
/// [`LIMITS_MAX`] (which `Profile::validate` refuses) are never consulted.
pub fn applicable(
    profile: &Profile,
    op: Operation,
) -> impl Iterator<Item = (usize, &RateLimit)> + '_ {
    profile
        .rate_limits
        .iter()
        .take(LIMITS_MAX)
        .enumerate()
        .filter(move |(_, limit)| limit.operations.contains(&op))
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

/// Decides `op` by `subject` at `now`, reading windows from `outside` (the
/// state's) and `thread` (the target thread's, if the call has one).
/// Every rejecting limit must admit the call; the error names the one that
/// blocks longest, so its retry-after is exact for all of them. When
/// `refused_counts` (the profile counts throttled calls), the waits are those
/// that hold once the refused call is counted in every rejecting window.
pub fn decide(
    profile: &Profile,
    op: Operation,
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
    // The last subject looked up: consecutive limits usually share it.
    let mut last: Option<(WindowKey, Option<&Windows>)> = None;
    let mut window_of = |index: usize, limit: &RateLimit| -> Option<&Window> {
        let key = key(limit.scope, subject)?;
        let windows = match last {
            Some((k, w)) if k == key => w,
            _ => {
                let w = if thread_scoped(limit.scope) {
                    // No thread: a thread scope does not apply.
                    thread?.windows(&key)
                } else {
                    outside.windows(&key)
                };
                last = Some((key, w));
                w
            }
        };
        Some(
            windows
                .and_then(|w| w.get(index))
                .unwrap_or(&NOTHING_COUNTED),
        )
    };
    for (index, limit) in applicable(profile, op) {
        let Some(window) = window_of(index, limit) else {
            continue;
        };
        let wait = window.wait(now, limit.window_ms, limit.count);
        match limit.consequence {
            Consequence::Reject => {
                if wait > 0 && blocked.is_none_or(|(longest, _)| wait > longest) {
                    blocked = Some((wait, limit));
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
        // The refused call is counted in every rejecting window; the longest
        // wait once it is (a window that had room may be full now) holds.
        let before = blocked.take();
        for (index, limit) in applicable(profile, op) {
            if limit.consequence != Consequence::Reject {
                continue;
            }
            let Some(window) = window_of(index, limit) else {
                continue;
            };
            let wait = window.wait_counted(now, limit.window_ms, limit.count);
            if wait > 0 && blocked.is_none_or(|(longest, _)| wait > longest) {
                blocked = Some((wait, limit));
            }
        }
        blocked = blocked.or(before);
    }
    match blocked {
        Some((retry_after_ms, limit)) => Err(Error::RateLimited {
            operation: op,
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
        let mut same = (1 << index) | todo;
        while same != 0 {
            let i = same.trailing_zeros() as usize;
            same &= same - 1;
            let Some(l) = profile.rate_limits.get(i) else {
                continue;
            };
            if l.scope != limit.scope {
                continue;
            }
            todo &= !(1 << i);
            let at = match l.consequence {
                Consequence::Queue => verdict.effective_at,
                Consequence::Reject | Consequence::Hide => now,
            };
            windows
                .get_or_insert(i)
                .count(at.ms(), l.window_ms, l.count);
        }
    }
}

/// The rejecting limits that apply to `op`: what a throttled call counts in
/// on platforms where throttled calls count.
pub fn rejecting(profile: &Profile, op: Operation) -> LimitSet {
    applicable(profile, op)
        .filter(|(_, limit)| limit.consequence == Consequence::Reject)
        .fold(0, |set, (i, _)| set | (1 << i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_count_then_gives_exact_wait() {
        let mut w = Window::default();
        for t in [0u64, 10, 20] {
            assert_eq!(w.wait(Instant(t), 1000, 3), 0);
            w.count(t, 1000, 3);
        }
        // Full: the oldest (0) leaves at 1000.
        assert_eq!(w.wait(Instant(500), 1000, 3), 500);
        assert_eq!(w.wait(Instant(999), 1000, 3), 1);
        assert_eq!(w.wait(Instant(1000), 1000, 3), 0);
        w.count(1000, 1000, 3);
        // Now 10, 20, 1000 are live: next room at 1010.
        assert_eq!(w.wait(Instant(1000), 1000, 3), 10);
        assert!(w.len() <= 3);
    }

    #[test]
    fn a_zero_count_never_admits_and_the_end_of_time_does_not_wrap() {
        let mut w = Window::default();
        assert_eq!(w.wait(Instant(5), 1000, 0), u64::MAX);
        w.count(5, 1000, 0); // returns at once, counts nothing
        assert!(w.is_empty());
        // Two counted calls just before the end of time: the window stays full
        // until the clock can no longer reach its end.
        let end = u64::MAX;
        w.count(end - 600, 1000, 2);
        w.count(end - 200, 1000, 2);
        assert_eq!(w.wait(Instant(end), 1000, 2), u64::MAX);
        assert_eq!(w.wait(Instant(end - 100), 1000, 2), u64::MAX);
        // A window as long as time: a call at 0 leaves it only at the very end.
        let mut w = Window::default();
        w.count(0, u64::MAX, 1);
        assert_eq!(w.wait(Instant(end - 1), u64::MAX, 1), 1);
        w.count(1, u64::MAX, 1);
        assert_eq!(w.wait(Instant(end), u64::MAX, 1), u64::MAX);
    }

    #[test]
    fn queued_instants_push_the_next_slot_forward() {
        let mut w = Window::default();
        // Three slots per second, four calls at 0: the fourth goes at 1000.
        let mut slots = Vec::new();
        for _ in 0..4 {
            let at = w.wait(Instant(0), 1000, 3);
            w.count(at, 1000, 3);
            slots.push(at);
        }
        assert_eq!(slots, [0, 0, 0, 1000]);
        // A fifth at 10 must wait for the second slot (0) to leave at 1000, and
        // may not go before the last queued instant.
        assert_eq!(w.wait(Instant(10), 1000, 3), 990);
        assert!(w.is_sorted());
    }
}
