//! Oracles: properties every run must keep, checked as it goes.
//!
//! An [`Oracles`] observes a run: each call and whether it was accepted
//! ([`Oracles::call`]), each trace line ([`Oracles::line`]), and at the end
//! the simulator's state ([`Oracles::finish`]). It keeps only what the checks
//! need about live data (per live thread: its last sequence id, its member
//! counts, the sequence ids of its messages not deleted, its retention
//! deadline; the deliveries in flight; the accepted calls inside each rate
//! window), so a month-long workload checks in flat memory.
//!
//! The checks, by [`OracleFailure::kind`]:
//!
//! | kind | the property |
//! | --- | --- |
//! | `message_lost` | every accepted message (`message_sent`, `inbound_received`) is still in its thread's log at the end, unless it was deleted by `delete_message`, by its thread's deletion or by retention |
//! | `delivery_to_removed` | no fan-out reaches more participants than the thread holds once its removals are counted: `message_sent`, `typing_sent` and `read_receipt_sent` reach at most the other chat members, `inbound_received` at most the chat members, `deliveries_created` at most the SMS and WhatsApp participants |
//! | `sequence_order` | the sequence ids a thread's events name (messages, topic and membership changes) strictly increase |
//! | `accepted_over_limit` | no call is accepted while a rejecting rate limit's trailing window already holds its count of accepted calls of the same scope key |
//! | `delivery_unended` | every delivery to an SMS or WhatsApp participant handed to the carrier ends `delivered`, `undelivered` or `failed` within the carrier's longest delay (those refused at once end at once); deliveries of deleted threads, `send_sms` deliveries (whose receipts the trace shows only on request) and deliveries whose final receipt a fault dropped are exempt |
//! | `retention_timing` | a retention deletion happens exactly at its deadline (the thread's creation plus the policy, or at once when a new policy's deadline has passed), and none is missed |
//!
//! [`check_trace`] runs the line checks over a finished trace (the rate-limit
//! check needs the calls, and `message_lost` the state, so those are skipped).

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::{BTreeMap, VecDeque};

use crate::core::Command;
use crate::id::ThreadId;
use crate::profile::{Consequence, Operation, Profile, Scope};
use crate::sim::Simulator;
use crate::time::{Duration, Instant};

/// The most failures an [`Oracles`] keeps; later ones are counted only.
pub const ORACLE_FAILURES_MAX: usize = 100;

/// The oracles' kinds, as [`OracleFailure::kind`] names them.
pub const ORACLE_KINDS: [&str; 6] = [
    "message_lost",
    "delivery_to_removed",
    "sequence_order",
    "accepted_over_limit",
    "delivery_unended",
    "retention_timing",
];

/// One broken property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleFailure {
    /// Which oracle failed: one of [`ORACLE_KINDS`].
    pub kind: &'static str,
    /// When it was seen.
    pub at: Instant,
    /// What was wrong, naming the thread, message or delivery.
    pub message: String,
}

impl std::fmt::Display for OracleFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oracle {} at {}: {}", self.kind, self.at, self.message)
    }
}

/// What the oracles know of one live thread.
#[derive(Clone, Debug, Default)]
struct ThreadRecord {
    last_sequence: u32,
    chat_members: u32,
    bindings: u32,
    /// Accepted messages not deleted, in order (sequence ids arrive in
    /// order, so an insertion is a push).
    live: Vec<u32>,
    /// Deleted by API or retention (kept for the recovery window).
    deleted: bool,
    /// When retention must delete it.
    retention_due: Option<Instant>,
}

/// One message's deliveries (ids `first..first + ids`), of which
/// `unended` were handed to the carrier and have not ended yet (the others
/// were refused at once; which ids those are, only the outbox says).
#[derive(Clone, Copy, Debug)]
struct InFlight {
    thread: ThreadId,
    created_at: Instant,
    ids: u32,
    unended: u32,
    /// Extra delay an injected fault announced.
    delayed_ms: u64,
}

/// The oracles over one run. See the module documentation for the checks.
#[derive(Clone, Debug)]
pub struct Oracles {
    /// The rejecting limits: (index, operations, scope, window, count).
    limits: Vec<(Vec<Operation>, Scope, u64, u32)>,
    /// Accepted instants per (limit index, user, thread), oldest first.
    /// Keyed by thread first, so that a deleted thread's windows go in one
    /// range (a recovered thread starts with empty windows: the check then
    /// counts fewer calls, never more).
    windows: BTreeMap<(Option<ThreadId>, usize, Option<u32>), VecDeque<Instant>>,
    /// Each caller's number in `windows`' keys.
    callers: BTreeMap<String, u32>,
    threads: BTreeMap<ThreadId, ThreadRecord>,
    /// By first delivery id.
    in_flight: BTreeMap<u64, InFlight>,
    /// The carrier's longest delay from hand-over to a final receipt.
    carrier_longest_ms: Option<u64>,
    now: Instant,
    failures: Vec<OracleFailure>,
    failed: u64,
}

/// The fields of the trace lines the oracles read (unknown ones skipped).
#[derive(Deserialize, Default)]
struct Line<'a> {
    at_ms: u64,
    #[serde(borrow)]
    kind: &'a str,
    #[serde(borrow, default)]
    thread: Option<&'a str>,
    #[serde(default)]
    message: Option<u32>,
    #[serde(default)]
    participants: Option<u32>,
    #[serde(default)]
    recipients: Option<u32>,
    #[serde(default)]
    users: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    addresses: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    first: Option<u64>,
    #[serde(default)]
    queued: Option<u32>,
    #[serde(default)]
    failed: Option<u32>,
    #[serde(default)]
    delivery: Option<u64>,
    #[serde(default)]
    delete_at_ms: Option<u64>,
    #[serde(default)]
    retention_dropped: Option<bool>,
    #[serde(borrow, default)]
    op: Option<&'a str>,
    #[serde(default)]
    result: Option<CreatedThread>,
    #[serde(borrow, default)]
    fault: Option<&'a str>,
    #[serde(default)]
    delay_ms: Option<u64>,
    #[serde(borrow, default)]
    receipt: Option<&'a str>,
    /// A delivery's status (a step's is a number, and not read).
    #[serde(default)]
    status: Option<StatusField>,
}

/// A `status` field: a delivery's word, or a step's number.
#[derive(Deserialize)]
#[serde(untagged)]
enum StatusField {
    Word(String),
    Other(IgnoredAny),
}

/// The parts of a `create_thread` result the oracles read.
#[derive(Deserialize)]
struct CreatedThread {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created_at_ms: Option<u64>,
    #[serde(default)]
    retention: Option<RetentionField>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RetentionField {
    After { delete_after: String },
    Other(IgnoredAny),
}

/// The kinds of line the oracles read; the others are skipped unparsed.
const READ_KINDS: &[&str] = &[
    "step",
    "thread_created",
    "thread_deleted",
    "retention_expired",
    "thread_purged",
    "thread_recovered",
    "retention_changed",
    "message_sent",
    "inbound_received",
    "message_deleted",
    "topic_updated",
    "participants_added",
    "participant_removed",
    "bindings_added",
    "binding_removed",
    "typing_sent",
    "read_receipt_sent",
    "deliveries_created",
    "fault",
];

/// A cursor over a trace line's text, for the lines read by hand: their
/// keys come in a fixed order (the trace format), so each is a prefix.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    /// Skips `tag`, which must come next.
    fn tag(&mut self, tag: &str) -> Option<()> {
        self.0 = self.0.strip_prefix(tag)?;
        Some(())
    }

    /// A whole number.
    fn number(&mut self) -> Option<u64> {
        let mut value: u64 = 0;
        let mut n = 0;
        for b in self.0.bytes().take_while(u8::is_ascii_digit) {
            value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            n += 1;
        }
        if n == 0 {
            return None;
        }
        self.0 = &self.0[n..];
        Some(value)
    }

    /// A string's text up to its closing quote (for kinds, thread ids and
    /// statuses, which hold no escapes), the quote skipped.
    fn word(&mut self) -> Option<&'a str> {
        let n = self.0.find('"')?;
        let word = &self.0[..n];
        self.0 = &self.0[n + 1..];
        Some(word)
    }
}

/// A line's instant and kind, and the text after them (every line begins
/// `{"at_ms":N,"kind":"…"`), read without parsing it.
fn head(line: &str) -> Option<(Instant, &str, &str)> {
    let mut c = Cursor(line);
    c.tag("{\"at_ms\":")?;
    let at = c.number()?;
    c.tag(",\"kind\":\"")?;
    let kind = c.word()?;
    Some((Instant(at), kind, c.0))
}

/// The two frequent event lines the oracles read (`message_sent`,
/// `deliveries_created`), by hand from what follows their kind; `None` for
/// the others.
fn read_by_hand<'a>(at: Instant, kind: &'a str, rest: &'a str) -> Option<Line<'a>> {
    let mut c = Cursor(rest);
    c.tag(",\"thread\":\"")?;
    let thread = c.word()?;
    c.tag(",\"message\":")?;
    let mut line = Line {
        at_ms: at.ms(),
        kind,
        thread: Some(thread),
        message: Some(c.number()? as u32),
        ..Line::default()
    };
    match kind {
        "message_sent" => {
            // After `by`, a user's text, which holds no unescaped quote.
            let key = ",\"recipients\":";
            let mut tail = Cursor(&rest[rest.rfind(key)? + key.len()..]);
            line.recipients = Some(tail.number()? as u32);
        }
        "deliveries_created" => {
            c.tag(",\"first\":")?;
            line.first = Some(c.number()?);
            c.tag(",\"queued\":")?;
            line.queued = Some(c.number()? as u32);
            c.tag(",\"failed\":")?;
            line.failed = Some(c.number()? as u32);
        }
        _ => return None,
    }
    Some(line)
}

/// The delivery a `delivery_updated` line ends (`delivered`,
/// `undelivered` or `failed`), read by hand from what follows its kind.
fn delivery_ended(rest: &str) -> Option<u64> {
    let mut c = Cursor(rest);
    c.tag(",\"delivery\":")?;
    let id = c.number()?;
    c.tag(",\"status\":\"")?;
    matches!(c.word()?, "delivered" | "undelivered" | "failed").then_some(id)
}

impl Oracles {
    /// Oracles for a run on `profile`.
    pub fn new(profile: &Profile) -> Oracles {
        let limits = profile
            .rate_limits
            .iter()
            .filter(|l| l.consequence == Consequence::Reject && l.scope != Scope::Sender)
            .map(|l| (l.operations.clone(), l.scope, l.window_ms, l.count))
            .collect();
        let carrier_longest_ms = profile.carriers.as_ref().map(|c| {
            let longest = |m: &crate::profile::CarrierModel| {
                let sent = if m.sent_receipt { m.sent_ms_max } else { 0 };
                sent.saturating_add(m.final_ms_max)
            };
            longest(&c.sms).max(c.whatsapp.as_ref().map_or(0, longest))
        });
        Oracles {
            limits,
            windows: BTreeMap::new(),
            callers: BTreeMap::new(),
            threads: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            carrier_longest_ms,
            now: Instant::ZERO,
            failures: Vec::new(),
            failed: 0,
        }
    }

    /// The failures seen so far (at most [`ORACLE_FAILURES_MAX`]).
    pub fn failures(&self) -> &[OracleFailure] {
        &self.failures
    }

    /// How many failures were seen, those not kept included.
    pub fn failed(&self) -> u64 {
        self.failed
    }

    fn fail(&mut self, kind: &'static str, at: Instant, message: String) {
        self.failed += 1;
        if self.failures.len() < ORACLE_FAILURES_MAX {
            self.failures.push(OracleFailure { kind, at, message });
        }
    }

    /// Observes a call made at `at` by `actor` (`None`: the trusted service
    /// or the carrier) and whether the platform accepted it (a 2xx).
    pub fn call(&mut self, at: Instant, actor: Option<&str>, command: &Command, accepted: bool) {
        if !accepted {
            return;
        }
        let op = command.operation();
        let thread = command.thread();
        let caller = actor.map(|a| match self.callers.get(a) {
            Some(n) => *n,
            None => {
                let n = self.callers.len() as u32;
                self.callers.insert(a.to_string(), n);
                n
            }
        });
        for index in 0..self.limits.len() {
            let (ops, scope, window_ms, count) = &self.limits[index];
            if !ops.contains(&op) {
                continue;
            }
            let (scope, window_ms, count) = (*scope, *window_ms, *count);
            let key = match scope {
                Scope::Resource => (None, index, None),
                Scope::User | Scope::Connection if caller.is_some() => (None, index, caller),
                Scope::Thread if thread.is_some() => (thread, index, None),
                Scope::UserThread if caller.is_some() && thread.is_some() => {
                    (thread, index, caller)
                }
                _ => continue,
            };
            let window = self.windows.entry(key).or_default();
            while window
                .front()
                .is_some_and(|t| at.ms().saturating_sub(t.ms()) >= window_ms)
            {
                window.pop_front();
            }
            if window.len() >= count as usize {
                let first = window[0];
                let message = format!(
                    "{} by {} accepted with {} accepted since {} ({} per {}ms, scope {:?}{})",
                    command.op(),
                    actor.unwrap_or("the service"),
                    window.len(),
                    first,
                    count,
                    window_ms,
                    scope,
                    thread.map_or(String::new(), |t| format!(", thread {t}")),
                );
                window.pop_front();
                window.push_back(at);
                self.fail("accepted_over_limit", at, message);
            } else {
                window.push_back(at);
            }
        }
    }

    /// Observes one trace line (in trace order).
    pub fn line(&mut self, text: &str) {
        let Some((at, kind, rest)) = head(text) else {
            // Not in the trace's own key order (a line written by another
            // tool): parsed whole.
            if let Ok(line) = serde_json::from_str::<Line>(text) {
                self.read(line);
            }
            return;
        };
        self.now = self.now.max(at);
        if kind == "delivery_updated" {
            // The most frequent line: read by hand, without a parse.
            if let Some(id) = delivery_ended(rest) {
                self.ended(id);
            }
            return;
        }
        if !READ_KINDS.contains(&kind) {
            return;
        }
        // Of the step lines, only thread creations are read.
        if kind == "step" && !text.contains(",\"op\":\"create_thread\"") {
            return;
        }
        if let Some(line) = read_by_hand(at, kind, rest).or_else(|| serde_json::from_str(text).ok())
        {
            self.read(line);
        }
    }

    /// Checks one line, parsed.
    fn read(&mut self, line: Line) {
        if line.kind == "delivery_updated" {
            if let (Some(id), Some(StatusField::Word(status))) = (line.delivery, &line.status)
                && matches!(status.as_str(), "delivered" | "undelivered" | "failed")
            {
                self.ended(id);
            }
            return;
        }
        let at = Instant(line.at_ms);
        self.now = self.now.max(at);
        let thread = line.thread.and_then(ThreadId::parse);
        match line.kind {
            "step" => self.step(&line, at),
            "thread_created" => {
                if let Some(t) = thread {
                    let record = self.threads.entry(t).or_default();
                    record.chat_members = line.participants.unwrap_or(0);
                }
            }
            "thread_deleted" | "retention_expired" => {
                if let Some(t) = thread {
                    self.deleted(t, at, line.kind == "retention_expired");
                }
            }
            "thread_purged" => {
                if let Some(t) = thread {
                    self.threads.remove(&t);
                }
            }
            "thread_recovered" => {
                if let Some(record) = thread.and_then(|t| self.threads.get_mut(&t)) {
                    record.deleted = false;
                    if line.retention_dropped == Some(true) {
                        record.retention_due = None;
                    }
                }
            }
            "retention_changed" => {
                if let Some(record) = thread.and_then(|t| self.threads.get_mut(&t)) {
                    // A deadline already passed deletes the thread now.
                    record.retention_due = line.delete_at_ms.map(|d| Instant(d.max(at.ms())));
                }
            }
            "message_sent"
            | "inbound_received"
            | "topic_updated"
            | "participants_added"
            | "participant_removed" => self.sequenced(&line, thread, at),
            "message_deleted" => {
                if let (Some(record), Some(seq)) =
                    (thread.and_then(|t| self.threads.get_mut(&t)), line.message)
                    && let Ok(i) = record.live.binary_search(&seq)
                {
                    record.live.remove(i);
                }
            }
            "bindings_added" | "binding_removed" => {
                if let Some(record) = thread.and_then(|t| self.threads.get_mut(&t)) {
                    match &line.addresses {
                        Some(added) => record.bindings += added.len() as u32,
                        None => record.bindings = record.bindings.saturating_sub(1),
                    }
                }
            }
            "typing_sent" | "read_receipt_sent" => {
                if let Some(t) = thread {
                    self.reach(t, at, line.kind, line.recipients.unwrap_or(0), 1);
                }
            }
            "deliveries_created" => self.deliveries_created(&line, thread, at),
            "fault" => {
                if let Some(id) = line.delivery {
                    let final_receipt =
                        matches!(line.receipt, Some("delivered" | "undelivered" | "failed"));
                    if line.fault == Some("receipt_lost") && final_receipt {
                        self.ended(id);
                    } else if let Some(group) = self.group_of(id) {
                        let d = self.in_flight.get_mut(&group).expect("found");
                        d.delayed_ms = d.delayed_ms.saturating_add(line.delay_ms.unwrap_or(0));
                    }
                }
            }
            _ => {}
        }
    }

    /// The first id of the group in flight that holds delivery `id`.
    fn group_of(&self, id: u64) -> Option<u64> {
        let (first, d) = self.in_flight.range(..=id).next_back()?;
        (id < first + u64::from(d.ids)).then_some(*first)
    }

    /// Delivery `id` ended (or will never be reported: its receipt was lost).
    fn ended(&mut self, id: u64) {
        if let Some(first) = self.group_of(id) {
            let d = self.in_flight.get_mut(&first).expect("found");
            d.unended = d.unended.saturating_sub(1);
            if d.unended == 0 {
                self.in_flight.remove(&first);
            }
        }
    }

    /// A `create_thread` step: its retention deadline.
    fn step(&mut self, line: &Line, _at: Instant) {
        if line.op != Some("create_thread") {
            return;
        }
        let Some(result) = &line.result else { return };
        let (Some(id), Some(created)) = (
            result.id.as_deref().and_then(ThreadId::parse),
            result.created_at_ms,
        ) else {
            return;
        };
        let due = match &result.retention {
            Some(RetentionField::After { delete_after }) => Duration::parse(delete_after)
                .ok()
                .map(|d| Instant(created).after(d)),
            _ => None,
        };
        self.threads.entry(id).or_default().retention_due = due;
    }

    fn deleted(&mut self, thread: ThreadId, at: Instant, by_retention: bool) {
        let due = self.threads.get(&thread).and_then(|r| r.retention_due);
        if by_retention && due != Some(at) {
            let expected = due.map_or("no deadline".to_string(), |d| d.to_string());
            self.fail(
                "retention_timing",
                at,
                format!("{thread} deleted by retention at {at}; its deadline was {expected}"),
            );
        }
        if let Some(record) = self.threads.get_mut(&thread) {
            record.deleted = true;
            record.live.clear();
            if by_retention {
                record.retention_due = None;
            }
        }
        self.in_flight.retain(|_, d| d.thread != thread);
        let first = (Some(thread), 0, None);
        let gone: Vec<_> = self
            .windows
            .range(first..)
            .take_while(|(k, _)| k.0 == Some(thread))
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            self.windows.remove(&key);
        }
    }

    /// An event that takes a sequence id; a message also reaches members.
    fn sequenced(&mut self, line: &Line, thread: Option<ThreadId>, at: Instant) {
        let (Some(t), Some(seq)) = (thread, line.message) else {
            return;
        };
        let record = self.threads.entry(t).or_default();
        let last = record.last_sequence;
        record.last_sequence = record.last_sequence.max(seq);
        match line.kind {
            "message_sent" | "inbound_received" => {
                if let Err(i) = record.live.binary_search(&seq) {
                    record.live.insert(i, seq);
                }
            }
            "participants_added" => {
                record.chat_members += line.users.as_ref().map_or(0, |u| u.len() as u32);
            }
            "participant_removed" => {
                record.chat_members = record.chat_members.saturating_sub(1);
            }
            _ => {}
        }
        if seq <= last {
            self.fail(
                "sequence_order",
                at,
                format!(
                    "{t}: {} has sequence id {seq}, not above the last, {last}",
                    line.kind
                ),
            );
        }
        match line.kind {
            "message_sent" => self.reach(t, at, "message_sent", line.recipients.unwrap_or(0), 1),
            "inbound_received" => {
                self.reach(t, at, "inbound_received", line.recipients.unwrap_or(0), 0)
            }
            _ => {}
        }
    }

    /// `recipients` chat members reached in `thread`, the caller (`own` = 1)
    /// not among them.
    fn reach(&mut self, thread: ThreadId, at: Instant, kind: &str, recipients: u32, own: u32) {
        let members = self.threads.get(&thread).map_or(0, |r| r.chat_members);
        let most = members.saturating_sub(own);
        if recipients > most {
            self.fail(
                "delivery_to_removed",
                at,
                format!(
                    "{thread}: {kind} reached {recipients} chat participants; the thread holds {members}"
                ),
            );
        }
    }

    fn deliveries_created(&mut self, line: &Line, thread: Option<ThreadId>, at: Instant) {
        // `send_sms` (no thread): its receipts are traced only on request.
        let Some(t) = thread else { return };
        let (queued, refused) = (line.queued.unwrap_or(0), line.failed.unwrap_or(0));
        let bindings = self.threads.get(&t).map_or(0, |r| r.bindings);
        if queued + refused > bindings {
            self.fail(
                "delivery_to_removed",
                at,
                format!(
                    "{t}: message {} made {} deliveries; the thread holds {bindings} SMS/WhatsApp participants",
                    line.message.unwrap_or(0),
                    queued + refused
                ),
            );
        }
        if self.carrier_longest_ms.is_some()
            && queued > 0
            && let Some(first) = line.first
        {
            self.in_flight.insert(
                first,
                InFlight {
                    thread: t,
                    created_at: at,
                    ids: queued + refused,
                    unended: queued,
                    delayed_ms: 0,
                },
            );
        }
        self.expire_deliveries(at);
    }

    /// Fails deliveries whose time to end has passed by `now`.
    fn expire_deliveries(&mut self, now: Instant) {
        let Some(longest) = self.carrier_longest_ms else {
            return;
        };
        let overdue: Vec<(u64, InFlight)> = self
            .in_flight
            .iter()
            .take_while(|(_, d)| d.created_at.ms().saturating_add(longest) < now.ms())
            .filter(|(_, d)| {
                d.created_at
                    .ms()
                    .saturating_add(longest)
                    .saturating_add(d.delayed_ms)
                    < now.ms()
            })
            .map(|(id, d)| (*id, *d))
            .collect();
        for (first, d) in overdue {
            self.in_flight.remove(&first);
            self.fail(
                "delivery_unended",
                now,
                format!(
                    "{} of deliveries {first}..={} ({}) handed to the carrier at {} have not ended {}ms later",
                    d.unended,
                    first + u64::from(d.ids) - 1,
                    d.thread,
                    d.created_at,
                    longest + d.delayed_ms
                ),
            );
        }
    }

    /// The checks at the end of a run, with the clock at `end`: deliveries
    /// that should have ended, retention deletions missed, and, given the
    /// simulator, every accepted message still in its thread's log.
    pub fn finish(&mut self, end: Instant, sim: Option<&Simulator>) -> Vec<OracleFailure> {
        self.now = self.now.max(end);
        self.expire_deliveries(end);
        let threads = std::mem::take(&mut self.threads);
        for (t, record) in &threads {
            if record.deleted {
                continue;
            }
            if let Some(due) = record.retention_due
                && due <= end
            {
                self.fail(
                    "retention_timing",
                    end,
                    format!("{t}: retention was due at {due} and has not deleted it"),
                );
            }
            let Some(sim) = sim else { continue };
            let stored = sim.state().thread(*t);
            for seq in &record.live {
                let kept = stored
                    .filter(|th| th.deleted_at.is_none())
                    .and_then(|th| th.message(*seq))
                    .is_some_and(|m| m.deleted_at().is_none());
                if !kept {
                    self.fail(
                        "message_lost",
                        end,
                        format!(
                            "{t}: accepted message {seq} is not in the log and was not deleted"
                        ),
                    );
                }
            }
        }
        self.threads = threads;
        self.failures.clone()
    }
}

/// Runs the line checks over a finished trace (each line as `switchboard
/// run` prints it) of a run on `profile`; the rate-limit and lost-message
/// checks need the calls and the state, and are skipped.
pub fn check_trace<'a>(
    profile: &Profile,
    lines: impl IntoIterator<Item = &'a str>,
) -> Vec<OracleFailure> {
    let mut oracles = Oracles::new(profile);
    for line in lines {
        oracles.line(line);
    }
    let end = oracles.now;
    oracles.finish(end, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instant_and_kind_are_read_without_parsing() {
        assert_eq!(
            head(r#"{"at_ms":5,"kind":"message_sent","thread":"t1"}"#),
            Some((Instant(5), "message_sent", r#","thread":"t1"}"#))
        );
        assert_eq!(head("{}"), None);
        assert_eq!(head(r#"{"at_ms":5,"kind":"#), None);
        assert_eq!(head(r#"{"kind":"step"}"#), None);
    }

    #[test]
    fn frequent_lines_are_read_by_hand_as_serde_reads_them() {
        for text in [
            r#"{"at_ms":7,"kind":"message_sent","thread":"t3","message":12,"by":"a\"recipients\":9","bytes":4,"recipients":2}"#,
            r#"{"at_ms":7,"kind":"deliveries_created","thread":"t3","message":12,"first":40,"queued":2,"failed":1,"segments":1}"#,
        ] {
            let (at, kind, rest) = head(text).unwrap();
            let by_hand = read_by_hand(at, kind, rest).unwrap();
            let by_serde: Line = serde_json::from_str(text).unwrap();
            let fields = |l: &Line| {
                format!(
                    "{} {:?} {:?} {:?} {:?} {:?} {:?}",
                    l.at_ms, l.thread, l.message, l.recipients, l.first, l.queued, l.failed
                )
            };
            assert_eq!(fields(&by_hand), fields(&by_serde), "{text}");
        }
        let created = r#"{"at_ms":7,"kind":"deliveries_created","thread":null,"message":null,"first":40,"queued":2,"failed":0,"segments":1}"#;
        let (at, kind, rest) = head(created).unwrap();
        assert!(read_by_hand(at, kind, rest).is_none());
    }

    #[test]
    fn an_ending_receipt_is_read_by_hand() {
        let line = |status: &str| {
            let text = format!(
                r#"{{"at_ms":9,"kind":"delivery_updated","delivery":42,"status":"{status}"}}"#
            );
            head(&text).unwrap().2.to_string()
        };
        assert_eq!(delivery_ended(&line("delivered")), Some(42));
        assert_eq!(delivery_ended(&line("failed")), Some(42));
        assert_eq!(delivery_ended(&line("undelivered")), Some(42));
        assert_eq!(delivery_ended(&line("sent")), None);
        assert_eq!(delivery_ended(&line("read")), None);
        assert_eq!(delivery_ended(r#","status":"delivered"}"#), None);
    }
}
