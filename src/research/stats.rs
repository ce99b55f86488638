//! `switchboard stats`: the figures of one trace, gathered line by line (a
//! month-long trace streams through in flat memory but for the deliveries in
//! flight). Every field of the JSON report is documented in
//! `docs/research.md`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::percentile;
use super::plot::{Series, Timeline};

/// The channels of non-chat deliveries, as the stats name them.
const SMS: &str = "sms";
const WHATSAPP: &str = "whatsapp";
/// A delivery whose channel the trace does not tell (see `docs/research.md`).
const UNKNOWN: &str = "unknown";

/// A rate limit as a 429's message names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Limit {
    /// What the limit counts per: `user`, `thread`, `user in a thread`,
    /// `resource`, `connection`, `sending number` (Sendbird: `user`,
    /// `channel`, `app`), or `unknown`.
    pub scope: String,
    /// How many calls its window admits (0 when unknown).
    pub count: u64,
    /// Its window in milliseconds (0 when unknown).
    pub window_ms: u64,
}

/// Percentiles of a set of durations, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Spread {
    /// How many values.
    pub count: u64,
    /// The median (nearest rank).
    pub p50: Option<u64>,
    /// The 90th percentile.
    pub p90: Option<u64>,
    /// The 99th percentile.
    pub p99: Option<u64>,
    /// The largest value.
    pub max: Option<u64>,
}

impl Spread {
    fn of(values: &mut [u64]) -> Spread {
        values.sort_unstable();
        Spread {
            count: values.len() as u64,
            p50: percentile(values, 50),
            p90: percentile(values, 90),
            p99: percentile(values, 99),
            max: values.last().copied(),
        }
    }
}

/// The calls of a trace: step lines and `rejected` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Calls {
    /// Every call.
    pub total: u64,
    /// Answered with a 2xx status.
    pub accepted: u64,
    /// Answered 429.
    pub throttled: u64,
    /// Calls by op, then by status.
    pub by_op: BTreeMap<String, BTreeMap<u16, u64>>,
}

/// Messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Messages {
    /// Messages accepted from chat identities (`message_sent`).
    pub accepted: u64,
    /// Of those, stored but hidden over Sendbird's display cap.
    pub hidden: u64,
    /// Messages received from SMS/WhatsApp participants (`inbound_received`).
    pub inbound: u64,
    /// Edits (`message_edited`).
    pub edited: u64,
    /// Deletions (`message_deleted`).
    pub deleted: u64,
}

/// Throttled calls.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Throttled {
    /// Every 429.
    pub total: u64,
    /// 429s by the limit that refused them.
    pub by_limit: Vec<LimitCount>,
    /// The retry-after of the 429s.
    pub retry_after_ms: Spread,
}

/// How many 429s one limit gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitCount {
    /// The limit.
    #[serde(flatten)]
    pub limit: Limit,
    /// Its 429s.
    pub calls: u64,
}

/// One channel's non-chat deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChannelDeliveries {
    /// Deliveries made on the channel (queued or refused at once).
    pub created: u64,
    /// Refused at once (never handed to the carrier).
    pub failed_at_once: u64,
    /// By final status: `delivered`, `undelivered`, `failed` from the
    /// carrier's receipts, and `none` for a queued delivery with no final
    /// receipt by the end (in flight, or its thread deleted).
    pub final_status: BTreeMap<String, u64>,
}

/// Non-chat deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NonChat {
    /// Every delivery made.
    pub created: u64,
    /// Handed to the carrier.
    pub queued: u64,
    /// Refused at once.
    pub failed_at_once: u64,
    /// `read` receipts.
    pub read: u64,
    /// By channel (`sms`, `whatsapp`, `unknown`).
    pub by_channel: BTreeMap<String, ChannelDeliveries>,
    /// From hand-over to the final receipt, by channel.
    pub latency_ms: BTreeMap<String, Spread>,
}

/// SMS segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Segments {
    /// Segments billed: each SMS text delivery's segments.
    pub total: u64,
    /// SMS text deliveries.
    pub sms: u64,
    /// SMS text deliveries by their segment count.
    pub per_sms: BTreeMap<u64, u64>,
}

/// Threads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Threads {
    /// `thread_created`.
    pub created: u64,
    /// Deleted by a call (`thread_deleted`).
    pub deleted_by_api: u64,
    /// Deleted by their retention policy (`retention_expired`).
    pub deleted_by_retention: u64,
    /// Purged at the end of the recovery window (`thread_purged`).
    pub purged: u64,
    /// Recovered (`thread_recovered`).
    pub recovered: u64,
}

/// The figures of one trace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Trace lines read (the summary line included).
    pub lines: u64,
    /// The last line's instant.
    pub end_ms: u64,
    /// The seed the summary line gives, if any.
    pub seed: Option<u64>,
    /// The digest the summary line gives, if any.
    pub digest: Option<String>,
    /// Calls.
    pub calls: Calls,
    /// Messages.
    pub messages: Messages,
    /// Throttled calls.
    pub throttled: Throttled,
    /// Real-time chat deliveries: the recipients of every message.
    pub chat_deliveries: u64,
    /// SMS and WhatsApp deliveries.
    pub non_chat: NonChat,
    /// SMS segments.
    pub segments: Segments,
    /// Threads.
    pub threads: Threads,
    /// Notifications by type, as far as the trace counts them.
    pub notifications: BTreeMap<String, u64>,
}

/// A delivery handed to the carrier and not yet final.
struct InFlight {
    channel: &'static str,
    since_ms: u64,
}

/// The accumulator: feed it lines, then take the report.
#[derive(Default)]
pub struct Stats {
    report: Report,
    limits: BTreeMap<Limit, u64>,
    retry_after: Vec<u64>,
    latency: BTreeMap<&'static str, Vec<u64>>,
    /// Each thread's SMS/WhatsApp participants in the order they joined:
    /// (address, still current).
    bindings: BTreeMap<String, Vec<(String, bool)>>,
    /// Each thread's chat participants now (how many).
    members: BTreeMap<String, u64>,
    /// The sender to leave out of the next fan-out: (thread, message, address).
    inbound_from: Option<(String, u64, String)>,
    in_flight: BTreeMap<u64, InFlight>,
    bad_lines: u64,
    /// What `plot` draws, when asked for.
    timeline: Option<Timeline>,
}

fn channel_of(address: &str) -> &'static str {
    if address.starts_with("whatsapp:") {
        WHATSAPP
    } else {
        SMS
    }
}

/// The limit a 429's body names, from its message in the platform's shape.
fn limit_of(body: &Value) -> Limit {
    let message = body["error"]["message"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or("");
    // acs, twilio: "Rate limit exceeded (50 per 60000 ms per user in a thread); …"
    if let Some(rest) = message.strip_prefix("Rate limit exceeded (")
        && let Some((inside, _)) = rest.split_once(')')
        && let Some((count, rest)) = inside.split_once(" per ")
        && let Some((window, scope)) = rest.split_once(" ms per ")
        && let (Ok(count), Ok(window_ms)) = (count.parse(), window.parse())
    {
        return Limit {
            scope: scope.to_string(),
            count,
            window_ms,
        };
    }
    // sendbird: "Too many requests (scope: user, limit: 5;w=1, …)"
    if let Some(rest) = message.strip_prefix("Too many requests (scope: ")
        && let Some((scope, rest)) = rest.split_once(", limit: ")
        && let Some((count, rest)) = rest.split_once(";w=")
        && let Some((window, _)) = rest.split_once(',')
        && let (Ok(count), Ok(window_s)) = (count.parse(), window.parse::<u64>())
    {
        return Limit {
            scope: scope.to_string(),
            count,
            window_ms: window_s.saturating_mul(1000),
        };
    }
    Limit {
        scope: UNKNOWN.to_string(),
        count: 0,
        window_ms: 0,
    }
}

/// Adds `n`, a number read from the trace, without overflowing on a hostile
/// one.
fn add(to: &mut u64, n: u64) {
    *to = to.saturating_add(n);
}

/// The most deliveries one `deliveries_created` line may make: more than any
/// profile's fan-out (a thread's SMS/WhatsApp participants, `send_sms`'s 100
/// recipients); a line claiming more is not a trace line.
const FANOUT_MAX: u64 = 100_000;

fn num(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or(0)
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or("").to_string()
}

impl Stats {
    /// A fresh accumulator.
    pub fn new() -> Stats {
        Stats::default()
    }

    /// A fresh accumulator that also keeps a timeline for `plot`.
    pub fn with_timeline() -> Stats {
        Stats {
            timeline: Some(Timeline::default()),
            ..Stats::default()
        }
    }

    /// The timeline, when kept.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// Every delivery latency so far (hand-over to final receipt, in
    /// milliseconds), by channel, in trace order.
    pub fn latencies(&self) -> BTreeMap<String, Vec<u64>> {
        self.latency
            .iter()
            .map(|(c, v)| (c.to_string(), v.clone()))
            .collect()
    }

    fn mark(&mut self, at: u64, series: Series, n: u64) {
        if let Some(t) = self.timeline.as_mut() {
            t.count(at, series, n);
        }
    }

    fn live(&mut self, at: u64, delta: i64) {
        if let Some(t) = self.timeline.as_mut() {
            t.threads(at, delta);
        }
    }

    /// Lines that were not trace lines (not JSON objects with `at_ms` and
    /// `kind`), skipped.
    pub fn bad_lines(&self) -> u64 {
        self.bad_lines
    }

    /// Counts one trace line.
    pub fn add_line(&mut self, line: &str) {
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v["kind"].is_string() && v["at_ms"].is_u64() => self.add(&v),
            _ => self.bad_lines += 1,
        }
    }

    /// Counts one parsed trace line.
    pub fn add(&mut self, v: &Value) {
        if v["kind"] == super::replay::INPUTS || v["kind"] == super::replay::INPUT {
            // What the run was given, not what it did.
            return;
        }
        let r = &mut self.report;
        r.lines += 1;
        let at = num(v, "at_ms");
        r.end_ms = r.end_ms.max(at);
        if let Some(t) = self.timeline.as_mut() {
            t.seen(at);
        }
        let kind = v["kind"].as_str().unwrap_or("");
        let notify = |r: &mut Report, kind: &str, n: u64| {
            if n > 0 {
                add(r.notifications.entry(kind.to_string()).or_default(), n);
            }
        };
        // A change in a thread reaches every chat participant but the one
        // who made it.
        let thread = v["thread"].as_str().unwrap_or("");
        let others = self
            .members
            .get(thread)
            .copied()
            .unwrap_or(0)
            .saturating_sub(1);
        match kind {
            "step" | "rejected" => self.call(v, at),
            "summary" => {
                r.seed = v["seed"].as_u64();
                r.digest = v["digest"].as_str().map(str::to_string);
            }
            "message_sent" => {
                r.messages.accepted += 1;
                if v["hidden"] == true {
                    r.messages.hidden += 1;
                }
                add(&mut r.chat_deliveries, num(v, "recipients"));
                notify(r, "chat_message_received", num(v, "recipients"));
            }
            "inbound_received" => {
                r.messages.inbound += 1;
                add(&mut r.chat_deliveries, num(v, "recipients"));
                notify(r, "chat_message_received", num(v, "recipients"));
                self.inbound_from = Some((text(v, "thread"), num(v, "message"), text(v, "from")));
            }
            "message_edited" => {
                r.messages.edited += 1;
                notify(r, "chat_message_edited", others);
            }
            "message_deleted" => {
                r.messages.deleted += 1;
                notify(r, "chat_message_deleted", others);
            }
            "topic_updated" => notify(r, "chat_thread_properties_updated", others),
            "participants_added" => {
                let added = v["users"].as_array().map_or(0, |u| u.len() as u64);
                let members = self.members.entry(thread.to_string()).or_default();
                add(members, added);
                // The added participants get it too.
                notify(r, "participants_added", members.saturating_sub(1));
            }
            "participant_removed" => {
                // The removed participant gets it too.
                notify(r, "participants_removed", others);
                let members = self.members.entry(thread.to_string()).or_default();
                *members = members.saturating_sub(1);
            }
            "typing_sent" => notify(r, "typing_indicator_received", num(v, "recipients")),
            "read_receipt_sent" => notify(r, "read_receipt_received", num(v, "recipients")),
            "thread_created" => {
                r.threads.created += 1;
                let named = num(v, "participants").saturating_sub(1);
                notify(r, "chat_thread_created", named);
                self.members
                    .insert(thread.to_string(), num(v, "participants"));
                self.live(at, 1);
            }
            "thread_deleted" => {
                r.threads.deleted_by_api += 1;
                notify(r, "chat_thread_deleted", num(v, "notified"));
                self.live(at, -1);
                self.mark(at, Series::DeletedByApi, 1);
            }
            "retention_expired" => {
                r.threads.deleted_by_retention += 1;
                notify(r, "chat_thread_deleted", num(v, "notified"));
                self.live(at, -1);
                self.mark(at, Series::DeletedByRetention, 1);
            }
            "thread_purged" => {
                r.threads.purged += 1;
                self.bindings.remove(thread);
                self.members.remove(thread);
                self.mark(at, Series::Purged, 1);
            }
            "thread_recovered" => {
                r.threads.recovered += 1;
                self.live(at, 1);
            }
            "bindings_added" => {
                let list = self.bindings.entry(text(v, "thread")).or_default();
                if let Some(addresses) = v["addresses"].as_array() {
                    for a in addresses {
                        list.push((a.as_str().unwrap_or("").to_string(), true));
                    }
                }
            }
            "binding_removed" => {
                let address = text(v, "address");
                if let Some(list) = self.bindings.get_mut(v["thread"].as_str().unwrap_or(""))
                    && let Some(b) = list
                        .iter_mut()
                        .find(|(a, current)| *current && *a == address)
                {
                    b.1 = false;
                }
            }
            "deliveries_created" => self.deliveries(v, at),
            "delivery_updated" => self.receipt(v, at),
            _ => {}
        }
    }

    fn call(&mut self, v: &Value, at: u64) {
        let r = &mut self.report;
        let Some(status) = v["status"].as_u64().and_then(|s| u16::try_from(s).ok()) else {
            return;
        };
        r.calls.total += 1;
        let op = v["op"].as_str().unwrap_or("");
        // The simulator's own queries are no platform traffic.
        let query = matches!(op, "outbox" | "inbox");
        if (200..300).contains(&status) {
            r.calls.accepted += 1;
            if !query {
                self.mark(at, Series::ChatAccepted, 1);
            }
        }
        let r = &mut self.report;
        *r.calls
            .by_op
            .entry(text(v, "op"))
            .or_default()
            .entry(status)
            .or_default() += 1;
        if status == 429 {
            let series = if op == "send_sms" {
                Series::SmsThrottled
            } else {
                Series::ChatThrottled
            };
            self.mark(at, series, 1);
            let r = &mut self.report;
            r.calls.throttled += 1;
            r.throttled.total += 1;
            let body = &v["body"];
            *self.limits.entry(limit_of(body)).or_default() += 1;
            let retry = body["error"]["retry_after_ms"]
                .as_u64()
                .or_else(|| body["retry_after_ms"].as_u64());
            if let Some(ms) = retry {
                self.retry_after.push(ms);
            }
        }
    }

    /// A fan-out: its deliveries' channels are the thread's current
    /// SMS/WhatsApp participants in the order they joined, the sender of an
    /// inbound message left out (the order the core creates them in).
    fn deliveries(&mut self, v: &Value, at: u64) {
        let r = &mut self.report;
        let (queued, failed) = (num(v, "queued"), num(v, "failed"));
        let made = queued.saturating_add(failed);
        let first = num(v, "first");
        if made > FANOUT_MAX || first.checked_add(made).is_none() {
            self.bad_lines += 1;
            return;
        }
        add(&mut r.non_chat.created, made);
        add(&mut r.non_chat.queued, queued);
        add(&mut r.non_chat.failed_at_once, failed);
        let channels: Vec<&'static str> = if v["thread"].is_null() {
            // ACS send_sms.
            vec![SMS; made as usize]
        } else {
            let thread = text(v, "thread");
            let message = num(v, "message");
            let exclude = match self.inbound_from.take() {
                Some((t, m, from)) if t == thread && m == message => Some(from),
                _ => None,
            };
            let mut excluded = false;
            let mut out = Vec::new();
            for (address, current) in self.bindings.get(&thread).into_iter().flatten() {
                if !current {
                    continue;
                }
                if !excluded && exclude.as_deref() == Some(address.as_str()) {
                    excluded = true;
                    continue;
                }
                out.push(channel_of(address));
            }
            if out.len() as u64 == made {
                out
            } else {
                vec![UNKNOWN; made as usize]
            }
        };
        let count = |c: &str| channels.iter().filter(|x| **x == c).count() as u64;
        // Which channel the refusals were on: exact when the fan-out has one
        // channel, or when only one channel has as many deliveries as refused.
        let failed_on = if failed == 0 {
            None
        } else {
            let (sms, wa) = (count(SMS), count(WHATSAPP));
            Some(match (sms, wa) {
                (_, 0) if count(UNKNOWN) == 0 => SMS,
                (0, _) if count(UNKNOWN) == 0 => WHATSAPP,
                (s, w) if w == failed && s != failed => WHATSAPP,
                (s, w) if s == failed && w != failed => SMS,
                _ => UNKNOWN,
            })
        };
        let segments = num(v, "segments");
        if segments > 0 {
            // The segments are the SMS text deliveries': every queued SMS
            // delivery of the fan-out, but those refused if they were SMS.
            let sms_failed = if failed_on == Some(SMS) { failed } else { 0 };
            let texts = count(SMS).saturating_sub(sms_failed);
            add(&mut r.segments.total, segments.saturating_mul(texts));
            r.segments.sms += texts;
            if texts > 0 {
                *r.segments.per_sms.entry(segments).or_default() += texts;
            }
        }
        for c in &channels {
            r.non_chat
                .by_channel
                .entry(c.to_string())
                .or_default()
                .created += 1;
        }
        if let Some(c) = failed_on {
            let channel = r.non_chat.by_channel.entry(c.to_string()).or_default();
            add(&mut channel.failed_at_once, failed);
        }
        self.mark(at, Series::Failed, failed);
        for (channel, series) in [(SMS, Series::SmsQueued), (WHATSAPP, Series::WhatsappQueued)] {
            let refused = if failed_on == Some(channel) {
                failed
            } else {
                0
            };
            self.mark(at, series, count(channel).saturating_sub(refused));
        }
        for (i, channel) in channels.into_iter().enumerate() {
            self.in_flight.insert(
                first + i as u64,
                InFlight {
                    channel,
                    since_ms: at,
                },
            );
        }
    }

    fn receipt(&mut self, v: &Value, at: u64) {
        let status = v["status"].as_str().unwrap_or("");
        if status == "read" {
            self.report.non_chat.read += 1;
            self.mark(at, Series::Read, 1);
            return;
        }
        if !matches!(status, "delivered" | "undelivered" | "failed") {
            return;
        }
        let Some(d) = self.in_flight.remove(&num(v, "delivery")) else {
            return;
        };
        let series = match status {
            "delivered" => Series::Delivered,
            "undelivered" => Series::Undelivered,
            _ => Series::Failed,
        };
        self.mark(at, series, 1);
        *self
            .report
            .non_chat
            .by_channel
            .entry(d.channel.to_string())
            .or_default()
            .final_status
            .entry(status.to_string())
            .or_default() += 1;
        self.latency
            .entry(d.channel)
            .or_default()
            .push(at.saturating_sub(d.since_ms));
    }

    /// The figures so far.
    pub fn report(mut self) -> Report {
        let mut r = self.report;
        r.throttled.by_limit = self
            .limits
            .into_iter()
            .map(|(limit, calls)| LimitCount { limit, calls })
            .collect();
        r.throttled.retry_after_ms = Spread::of(&mut self.retry_after);
        for (channel, mut values) in self.latency {
            r.non_chat
                .latency_ms
                .insert(channel.to_string(), Spread::of(&mut values));
        }
        // Deliveries still waiting for a final receipt, less those refused at
        // once (which never get one).
        let mut waiting: BTreeMap<&str, u64> = BTreeMap::new();
        for d in self.in_flight.values() {
            *waiting.entry(d.channel).or_default() += 1;
        }
        for (channel, c) in &mut r.non_chat.by_channel {
            let left = waiting
                .get(channel.as_str())
                .copied()
                .unwrap_or(0)
                .saturating_sub(c.failed_at_once);
            if left > 0 {
                c.final_status.insert("none".to_string(), left);
            }
        }
        r
    }
}

impl Report {
    /// The headline figures a sweep compares across seeds, by name.
    pub fn headline(&self) -> Vec<(&'static str, u64)> {
        let latency_p99 = self
            .non_chat
            .latency_ms
            .values()
            .filter_map(|s| s.p99)
            .max()
            .unwrap_or(0);
        vec![
            ("calls", self.calls.total),
            ("accepted", self.calls.accepted),
            ("throttled", self.calls.throttled),
            ("messages", self.messages.accepted + self.messages.inbound),
            ("chat_deliveries", self.chat_deliveries),
            ("non_chat_deliveries", self.non_chat.created),
            ("latency_p99_ms", latency_p99),
            ("end_ms", self.end_ms),
        ]
    }

    /// The report as a table for people.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let spread = |s: &Spread| match (s.p50, s.p90, s.p99, s.max) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                format!("p50 {a}  p90 {b}  p99 {c}  max {d}  (n={})", s.count)
            }
            _ => "none".to_string(),
        };
        let _ = writeln!(
            out,
            "trace            {} lines, ends at {} ({} ms){}",
            self.lines,
            super::human_time(self.end_ms),
            self.end_ms,
            match (&self.seed, &self.digest) {
                (Some(s), Some(d)) => format!(", seed {s}, digest {d}"),
                _ => String::new(),
            }
        );
        let _ = writeln!(
            out,
            "calls            {} ({} accepted, {} throttled)",
            self.calls.total, self.calls.accepted, self.calls.throttled
        );
        for (op, statuses) in &self.calls.by_op {
            let list: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}: {n}")).collect();
            let _ = writeln!(out, "  {op:<22} {}", list.join(", "));
        }
        let m = &self.messages;
        let _ = writeln!(
            out,
            "messages         {} accepted ({} hidden), {} inbound, {} edited, {} deleted",
            m.accepted, m.hidden, m.inbound, m.edited, m.deleted
        );
        let _ = writeln!(out, "throttled        {}", self.throttled.total);
        for l in &self.throttled.by_limit {
            let _ = writeln!(
                out,
                "  per {:<18} {} per {} ms: {}",
                l.limit.scope, l.limit.count, l.limit.window_ms, l.calls
            );
        }
        let _ = writeln!(
            out,
            "  retry-after ms {}",
            spread(&self.throttled.retry_after_ms)
        );
        let _ = writeln!(out, "chat deliveries  {}", self.chat_deliveries);
        let n = &self.non_chat;
        let _ = writeln!(
            out,
            "non-chat         {} deliveries ({} queued, {} refused at once), {} read receipts",
            n.created, n.queued, n.failed_at_once, n.read
        );
        for (channel, c) in &n.by_channel {
            let list: Vec<String> = c
                .final_status
                .iter()
                .map(|(s, k)| format!("{s}: {k}"))
                .collect();
            let _ = writeln!(
                out,
                "  {channel:<9} {} made, {} refused at once; final {}",
                c.created,
                c.failed_at_once,
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(", ")
                }
            );
        }
        for (channel, s) in &n.latency_ms {
            let _ = writeln!(out, "  latency ms {channel:<9} {}", spread(s));
        }
        let s = &self.segments;
        let per: Vec<String> = s.per_sms.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        let _ = writeln!(
            out,
            "SMS segments     {} over {} SMS texts (segments per SMS: {})",
            s.total,
            s.sms,
            if per.is_empty() {
                "none".to_string()
            } else {
                per.join(", ")
            }
        );
        let t = &self.threads;
        let _ = writeln!(
            out,
            "threads          {} created; deleted {} by API, {} by retention; {} purged, {} recovered",
            t.created, t.deleted_by_api, t.deleted_by_retention, t.purged, t.recovered
        );
        let _ = writeln!(out, "notifications");
        for (kind, count) in &self.notifications {
            let _ = writeln!(out, "  {kind:<30} {count}");
        }
        out
    }
}
