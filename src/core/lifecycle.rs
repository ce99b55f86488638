//! How threads age and end: ACS retention policies, deletion, the operator's
//! recovery window and the purge that closes it, and Twilio's conversation
//! states with their inactive and closed timers.
//!
//! Every timer is one entry `(instant, kind, thread)` in `State::timers`, an
//! ordered set, mirrored by the `*_due` fields of the thread's [`Lifecycle`](crate::core::thread::Lifecycle);
//! `check_invariants` holds the two equal. The core reads no clock: the shell
//! asks [`State::next_due`] and calls [`State::fire_next`] once its clock has
//! reached that instant. Timers due at one instant fire in (kind, thread) order.
//! A call never arms a timer at or before its own instant (a retention change
//! whose deletion instant has passed deletes the thread within the call), so a
//! call never finds a timer of its own instant still pending.

use std::sync::Arc;

use super::NoticeKind;
use super::log::Log;
use super::thread::TimerKind;
use super::{
    ConversationState, Error, Event, NOBODY, Outcome, Reply, Retention, State, StateChangeReason,
    ThreadOptions,
};
use crate::id::{ThreadId, UserId};
use crate::time::{Duration, Instant};

const DAY_MS: u64 = 86_400_000;

impl Checked {
    /// The retention policy the call sets, if any.
    pub(super) fn retention(&self) -> Option<Retention> {
        self.retention
    }
}

/// Options checked against the profile, ready to apply.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Checked {
    retention: Option<Retention>,
    state: Option<ConversationState>,
    inactive_ms: Option<u64>,
    closed_ms: Option<u64>,
}

/// Parses an ISO-8601 duration of the forms Twilio takes (`PT1M`, `PT10M`,
/// `P1DT2H`, `PT90S`, `P2W`) into milliseconds. Fractions are refused.
pub fn parse_iso_duration(text: &str) -> Option<u64> {
    let rest = text.strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((_, "")) => return None,
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total: u64 = 0;
    for (part, units) in [
        (
            Some(date),
            &[('Y', 0), ('M', 0), ('W', 7 * DAY_MS), ('D', DAY_MS)][..],
        ),
        (time, &[('H', 3_600_000), ('M', 60_000), ('S', 1_000)][..]),
    ] {
        let Some(mut part) = part else { continue };
        let mut next_unit = 0;
        while !part.is_empty() {
            let digits = part.bytes().take_while(u8::is_ascii_digit).count();
            let unit = part[digits..].chars().next()?;
            if digits == 0 {
                return None;
            }
            let n: u64 = part[..digits].parse().ok()?;
            let index = units[next_unit..].iter().position(|(u, _)| *u == unit)? + next_unit;
            // Years and months have no fixed length: refused.
            let ms = units[index].1;
            if ms == 0 {
                return None;
            }
            total = total.checked_add(n.checked_mul(ms)?)?;
            next_unit = index + 1;
            part = &part[digits + unit.len_utf8()..];
        }
    }
    Some(total)
}

impl State {
    // ---- the shell's side: due timers ----

    /// The instant of the earliest pending timer.
    pub fn next_due(&self) -> Option<Instant> {
        self.timers.get_min().map(|t| t.0)
    }

    /// Fires the earliest pending timer if it is due at or before `now`, and
    /// returns what happened (nothing if no timer is due).
    pub fn fire_next(&mut self, now: Instant) -> Vec<Event> {
        let Some(&(at, kind, thread)) = self.timers.get_min() else {
            return vec![];
        };
        if at > now {
            return vec![];
        }
        self.arm(thread, kind, None);
        match kind {
            TimerKind::RetentionDeletion => self.retention_delete(thread, at),
            TimerKind::Purge => vec![self.purge(thread)],
            TimerKind::Inactive | TimerKind::Closed => {
                let to = if kind == TimerKind::Inactive {
                    ConversationState::Inactive
                } else {
                    ConversationState::Closed
                };
                self.change_state(thread, to, at, None, StateChangeReason::Timer)
                    .into_iter()
                    .collect()
            }
        }
    }

    /// Sets the timer of `kind` on `thread` to `due` (None disarms it).
    fn arm(&mut self, thread: ThreadId, kind: TimerKind, due: Option<Instant>) {
        let slot = self.thread_mut(thread).life.slot(kind);
        let old = std::mem::replace(slot, due);
        if let Some(at) = old {
            self.timers.remove(&(at, kind, thread));
        }
        if let Some(at) = due {
            self.timers.insert((at, kind, thread));
        }
    }

    // ---- checks ----

    /// Checks a call's lifecycle options against the profile; on create,
    /// Twilio's creation rules apply too.
    pub(super) fn check_options(
        &self,
        options: &ThreadOptions,
        creating: bool,
    ) -> Result<Checked, Error> {
        let p = &self.profile;
        let unsupported = |op: &str| self.unsupported(op);
        let mut checked = Checked {
            retention: options.retention,
            state: options.state,
            ..Checked::default()
        };
        if let Some(Retention::DeleteAfterDays(days)) = options.retention {
            let Some(range) = &p.retention else {
                return Err(unsupported("retention"));
            };
            if !(range.days_min..=range.days_max).contains(&days) {
                return Err(Error::InvalidField {
                    field: "retention",
                    reason: format!(
                        "delete after {days} days; a policy deletes after {} to {} days",
                        range.days_min, range.days_max
                    ),
                });
            }
        }
        if options.state.is_none() && options.timers.is_none() {
            return Ok(checked);
        }
        let Some(states) = &p.conversation_states else {
            return Err(unsupported("conversation states and timers"));
        };
        if creating && options.state == Some(ConversationState::Closed) {
            return Err(Error::CreatedClosed);
        }
        if creating && options.state.is_none() {
            return Err(Error::TimersWithoutState);
        }
        if let Some(timers) = &options.timers {
            let parse = |timer: &'static str, value: &Option<Arc<str>>, min_ms: u64| {
                let Some(value) = value else {
                    return Ok(None);
                };
                let ms = parse_iso_duration(value).ok_or_else(|| Error::InvalidTimer {
                    timer,
                    value: value.to_string(),
                    // `P1Y`, `P2M`: ISO-8601, but not a fixed length.
                    calendar_units: value.starts_with('P')
                        && value
                            .split('T')
                            .next()
                            .is_some_and(|d| d.contains(['Y', 'M'])),
                })?;
                if ms < min_ms {
                    return Err(Error::TimerTooShort { timer, ms, min_ms });
                }
                Ok(Some(ms))
            };
            checked.inactive_ms =
                parse("inactive", &timers.inactive, states.inactive_timer_min_ms)?;
            checked.closed_ms = parse("closed", &timers.closed, states.closed_timer_min_ms)?;
        }
        Ok(checked)
    }

    // ---- applying options (after every check passed) ----

    /// Applies checked options to `thread` at `now`; returns the events.
    pub(super) fn apply_options(
        &mut self,
        thread: ThreadId,
        checked: &Checked,
        actor: Option<UserId>,
        now: Instant,
        creating: bool,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        let by = actor.map(|a| self.name(a));
        if checked.inactive_ms.is_some() || checked.closed_ms.is_some() {
            let life = &mut self.thread_mut(thread).life;
            if checked.inactive_ms.is_some() {
                life.inactive_after_ms = checked.inactive_ms;
            }
            if checked.closed_ms.is_some() {
                life.closed_after_ms = checked.closed_ms;
            }
            if !creating {
                events.push(Event::TimersSet {
                    thread,
                    by: by.clone().unwrap_or_else(|| Arc::from("system")),
                    inactive_ms: life.inactive_after_ms,
                    closed_ms: life.closed_after_ms,
                });
            }
        }
        match checked.state {
            // A new conversation starts in its state: no change to record.
            Some(state) if creating => self.thread_mut(thread).life.state = state,
            Some(state) => events.extend(self.change_state(
                thread,
                state,
                now,
                by.clone(),
                StateChangeReason::Api,
            )),
            None => {}
        }
        // New timers count from now; so does a fresh conversation's first arm.
        if checked.inactive_ms.is_some() || checked.closed_ms.is_some() || creating {
            self.rearm_state_timers(thread, now);
        }
        if let Some(retention) = checked.retention {
            events.extend(self.set_retention(thread, retention, by, now, creating));
        }
        events
    }

    /// Sets the policy and moves the deletion; a deletion instant that has
    /// already passed deletes the thread now.
    fn set_retention(
        &mut self,
        thread: ThreadId,
        retention: Retention,
        by: Option<Arc<str>>,
        now: Instant,
        creating: bool,
    ) -> Vec<Event> {
        let t = self.thread_mut(thread);
        t.life.retention = retention;
        let due = retention.deletion_at(t.created_at);
        let mut events = Vec::new();
        if !creating {
            events.push(Event::RetentionChanged {
                thread,
                by: by.unwrap_or_else(|| Arc::from("system")),
                retention,
                delete_at_ms: due.map(Instant::ms),
            });
        }
        match due {
            Some(at) if at <= now => {
                self.arm(thread, TimerKind::RetentionDeletion, None);
                events.extend(self.retention_delete(thread, now));
            }
            due => self.arm(thread, TimerKind::RetentionDeletion, due),
        }
        events
    }

    /// The retention policy deletes `thread` at `at`: its participants are
    /// notified, then it is marked deleted.
    fn retention_delete(&mut self, thread: ThreadId, at: Instant) -> Vec<Event> {
        let t = self.thread_mut(thread);
        let notified = t.participant_count();
        t.push_notice(at, NoticeKind::ChatThreadDeleted, NOBODY, 0);
        let mut events = vec![Event::RetentionExpired { thread, notified }];
        events.extend(self.mark_deleted(thread, at));
        events
    }

    /// Marks a thread deleted at `now` (by API or policy): nothing in it is
    /// readable from now on; its data stays for the recovery window, then a
    /// timer purges it (at once if the profile has no window).
    pub(super) fn mark_deleted(&mut self, thread: ThreadId, now: Instant) -> Vec<Event> {
        let window = self.profile.recovery_window_ms;
        let t = self.thread_mut(thread);
        t.deleted_at = Some(now);
        t.windows.clear();
        // Deliveries in flight are dropped; receipts still due change nothing.
        t.deliveries = Log::new();
        t.fanouts = Log::new();
        // The logs grow no more: they give back their spare capacity for
        // the recovery window.
        t.messages.shrink_to_fit();
        t.notices.shrink_to_fit();
        // Its SMS/WhatsApp participants no longer hold their bindings: the
        // index forgets them (a recovery puts them back).
        self.index_bindings(thread, false);
        for kind in [
            TimerKind::RetentionDeletion,
            TimerKind::Inactive,
            TimerKind::Closed,
        ] {
            self.arm(thread, kind, None);
        }
        let Some(window) = window else {
            return vec![self.purge(thread)];
        };
        self.arm(
            thread,
            TimerKind::Purge,
            Some(now.after(Duration::from_ms(window))),
        );
        vec![]
    }

    /// Drops a deleted thread's data for good. Its notification log and
    /// memberships stay: they are the participants' record of what reached
    /// them (their inboxes), not the platform's data.
    fn purge(&mut self, thread: ThreadId) -> Event {
        self.arm(thread, TimerKind::Purge, None);
        // An idempotent create of this thread is forgotten with it.
        let keys: Vec<Arc<str>> = self
            .idempotency
            .iter()
            .filter(|(_, (t, _))| *t == thread)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.idempotency.remove(&key);
        }
        let t = self.thread_mut(thread);
        t.messages = Log::new();
        t.read_receipts.clear();
        t.metacounters.clear();
        t.topic = Arc::from("");
        t.life.purged = true;
        t.notices.shrink_to_fit();
        t.memberships.shrink_to_fit();
        Event::ThreadPurged { thread }
    }

    // ---- the operator's recovery ----

    /// The operator restores a deleted thread within its recovery window. A
    /// retention policy whose deletion instant has passed is dropped (the
    /// thread would otherwise be deleted again at once).
    pub(super) fn recover_thread(
        &mut self,
        thread: ThreadId,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = match self.threads.get(&thread) {
            Some(t) if !t.life.purged => t,
            _ => {
                return Err(Error::ThreadNotFound {
                    thread: thread.to_string(),
                });
            }
        };
        if t.deleted_at.is_none() {
            return Err(Error::NotDeleted { thread });
        }
        // A binding taken by another thread meanwhile cannot come back.
        if let Some(b) = t.bindings.iter().filter(|b| b.is_current()).find(|b| {
            self.binding_holder(b.channel, &b.address, &b.proxy)
                .is_some()
        }) {
            return Err(Error::BindingExists {
                address: b.display().to_string(),
                proxy: b.proxy.to_string(),
            });
        }
        let due = t.life.retention.deletion_at(t.created_at);
        self.arm(thread, TimerKind::Purge, None);
        let t = self.thread_mut(thread);
        t.deleted_at = None;
        // Its SMS/WhatsApp participants hold their bindings again.
        self.index_bindings(thread, true);
        let t = self.thread_mut(thread);
        let retention_dropped = due.is_some_and(|at| at <= now);
        if retention_dropped {
            t.life.retention = Retention::None;
        } else {
            self.arm(thread, TimerKind::RetentionDeletion, due);
        }
        // Deletion disarmed the state timers; a conversation not closed gets
        // back the ones its state runs (an inactive one its closed timer).
        if self.threads[&thread].life.state != ConversationState::Closed {
            self.rearm_state_timers(thread, now);
        }
        let view = self.thread_view(&self.threads[&thread]);
        Ok(Outcome::new(
            Reply::Thread(Box::new(view)),
            vec![Event::ThreadRecovered {
                thread,
                retention_dropped,
            }],
        ))
    }

    // ---- Twilio conversation states ----

    /// Moves a conversation to `to`; returns the event, or None if it was
    /// already there.
    pub(super) fn change_state(
        &mut self,
        thread: ThreadId,
        to: ConversationState,
        now: Instant,
        by: Option<Arc<str>>,
        reason: StateChangeReason,
    ) -> Option<Event> {
        let from = self.threads[&thread].life.state;
        if from == to {
            return None;
        }
        self.thread_mut(thread).life.state = to;
        match to {
            ConversationState::Active => self.rearm_state_timers(thread, now),
            ConversationState::Inactive => self.arm(thread, TimerKind::Inactive, None),
            ConversationState::Closed => {
                self.arm(thread, TimerKind::Inactive, None);
                self.arm(thread, TimerKind::Closed, None);
            }
        }
        Some(Event::StateChanged {
            thread,
            from,
            to,
            by: by.unwrap_or_else(|| Arc::from("system")),
            reason,
        })
    }

    /// Activity on a conversation: both timers count again from `now` (the
    /// inactive timer only while active).
    pub(super) fn rearm_state_timers(&mut self, thread: ThreadId, now: Instant) {
        let life = &self.threads[&thread].life;
        if life.state == ConversationState::Closed {
            return;
        }
        let inactive = life
            .inactive_after_ms
            .filter(|_| life.state == ConversationState::Active)
            .map(|ms| now.after(Duration::from_ms(ms)));
        let closed = life
            .closed_after_ms
            .map(|ms| now.after(Duration::from_ms(ms)));
        let (inactive_due, closed_due) = (life.inactive_due, life.closed_due);
        if inactive_due != inactive {
            self.arm(thread, TimerKind::Inactive, inactive);
        }
        if closed_due != closed {
            self.arm(thread, TimerKind::Closed, closed);
        }
    }

    /// A new message on a conversation: an inactive one becomes active again
    /// and the timers restart.
    pub(super) fn on_message(&mut self, thread: ThreadId, now: Instant) -> Option<Event> {
        let life = &self.threads[&thread].life;
        if life.state == ConversationState::Inactive {
            return self.change_state(
                thread,
                ConversationState::Active,
                now,
                None,
                StateChangeReason::Message,
            );
        }
        if life.inactive_after_ms.is_some() || life.closed_after_ms.is_some() {
            self.rearm_state_timers(thread, now);
        }
        None
    }

    /// `set_state`: a participant moves the conversation (closed is final).
    pub(super) fn apply_set_state(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        state: ConversationState,
        now: Instant,
    ) -> Outcome {
        let by = self.name(actor);
        let events = self
            .change_state(thread, state, now, Some(by), StateChangeReason::Api)
            .into_iter()
            .collect();
        let view = self.thread_view(&self.threads[&thread]);
        Outcome::new(Reply::Thread(Box::new(view)), events)
    }

    /// The lifecycle invariants: the timer set mirrors the threads' armed
    /// timers; deleted threads have only a purge timer, purged ones none and
    /// no content; closed conversations have no state timers.
    pub(super) fn check_lifecycle(&self) -> Result<(), String> {
        let mut armed = 0usize;
        for (id, t) in self.threads.iter() {
            for (at, kind) in t.life.armed() {
                armed += 1;
                if !self.timers.contains(&(at, kind, id)) {
                    return Err(format!("thread {id}: armed {kind:?} timer not queued"));
                }
            }
            let life = &t.life;
            if life.purged
                && (t.deleted_at.is_none() || !t.messages.is_empty() || !t.metacounters.is_empty())
            {
                return Err(format!("thread {id}: purged but holds content"));
            }
            if t.deleted_at.is_some()
                && (life.deletion_due.is_some()
                    || life.inactive_due.is_some()
                    || life.closed_due.is_some()
                    || life.purge_due.is_some() == life.purged
                    || !t.windows.is_empty())
            {
                return Err(format!("thread {id}: deleted with the wrong timers"));
            }
            if t.deleted_at.is_none() && (life.purge_due.is_some() || life.purged) {
                return Err(format!("thread {id}: live but set to purge"));
            }
            if life.state == ConversationState::Closed
                && (life.inactive_due.is_some() || life.closed_due.is_some())
            {
                return Err(format!("thread {id}: closed with state timers"));
            }
            if life.state == ConversationState::Inactive && life.inactive_due.is_some() {
                return Err(format!("thread {id}: inactive with an inactive timer"));
            }
            if let Some(due) = life.deletion_due {
                match life.retention.deletion_at(t.created_at) {
                    None => return Err(format!("thread {id}: deletion armed without a policy")),
                    Some(at) if at != due => {
                        return Err(format!("thread {id}: deletion not at its policy's instant"));
                    }
                    Some(_) => {}
                }
            }
        }
        if armed != self.timers.len() {
            return Err("a queued timer belongs to no thread".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_parse_as_twilio_writes_them() {
        assert_eq!(parse_iso_duration("PT1M"), Some(60_000));
        assert_eq!(parse_iso_duration("PT10M"), Some(600_000));
        assert_eq!(parse_iso_duration("PT59S"), Some(59_000));
        assert_eq!(parse_iso_duration("P1DT2H"), Some(DAY_MS + 7_200_000));
        assert_eq!(parse_iso_duration("P2W"), Some(14 * DAY_MS));
        assert_eq!(parse_iso_duration("PT1H30M5S"), Some(5_405_000));
        for bad in [
            "",
            "P",
            "PT",
            "1M",
            "PT1",
            "PTM",
            "P1M",
            "P1Y",
            "PT1.5M",
            "PT1S1M",
            "PT1M1M",
            "pt1m",
            "P1H",
            "PT1D",
            "PT99999999999999999999S",
        ] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
    }
}
