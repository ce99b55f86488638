//! The trace: every step outcome and event of a run as JSON Lines, a compact
//! human rendering of each line, and a stable streaming digest.
//!
//! The digest is defined over the exact JSONL bytes (each line plus `\n`), so two
//! runs with equal digests printed equal traces. Lines are kept only when asked
//! (`keep_lines`); the digest is always on. Kept lines live in a persistent
//! vector so that forking a simulator stays O(1).

use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;

use crate::core::Event;
use crate::time::{Duration, Instant};

/// A streaming 64-bit digest of bytes: word-at-a-time multiply-rotate mixing with
/// a length fold. Stable across releases; the tests pin known values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    len: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Digest::new()
    }
}

impl Digest {
    const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
    const MUL: u64 = 0xFF51_AFD7_ED55_8CCD;

    /// The digest of no line.
    pub fn new() -> Digest {
        Digest {
            state: Digest::SEED,
            len: 0,
        }
    }

    fn mix(&mut self, word: u64) {
        self.state = (self.state ^ word)
            .wrapping_mul(Digest::MUL)
            .rotate_left(29);
    }

    /// Absorbs `bytes`. Absorbing a line in one call or in pieces at arbitrary
    /// boundaries differs, so callers always absorb whole lines.
    pub fn absorb(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // The remainder length is folded in so "a" and "a\0" differ.
        self.mix(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 56));
        self.len = self.len.wrapping_add(bytes.len() as u64);
    }

    /// The digest as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        let mut finished = *self;
        finished.mix(self.len);
        let mut x = finished.state;
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^= x >> 33;
        format!("{x:016x}")
    }
}

/// A scenario step's line (see the trace format's "Step lines").
#[derive(Clone, Debug)]
pub struct StepLine<'a> {
    /// The step's index in the file.
    pub step: usize,
    /// The op's name.
    pub op: &'a str,
    /// The step's `as`.
    pub actor: Option<&'a str>,
    /// The success status, or the error's.
    pub status: u16,
    /// On success: the result.
    pub result: Option<StepResult>,
    /// On refusal: the canonical error kind.
    pub error: Option<&'static str>,
    /// On refusal: the error in the profile's wire shape.
    pub body: Option<Value>,
}

/// A step line's `result`.
#[derive(Clone, Debug)]
pub enum StepResult {
    /// The reply's JSON.
    Json(Value),
    /// A sent message: `{"id": "m<sequence>", "sequence_id": <sequence>}`,
    /// the JSON of `Reply::MessageSent`, written without a JSON value (the
    /// most frequent result).
    Sent(u32),
}

/// The trace of a run.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    digest: Digest,
    lines: Option<imbl::Vector<String>>,
    count: u64,
    buffer: Vec<u8>,
}

impl Trace {
    /// A trace that keeps its lines when `keep_lines`, else only the digest.
    pub fn new(keep_lines: bool) -> Trace {
        Trace {
            lines: keep_lines.then(imbl::Vector::new),
            ..Trace::default()
        }
    }

    /// Records one line: `{"at_ms":N, ...fields of item}`. `item` must serialize
    /// to a non-empty JSON object (every event and step outcome does).
    pub fn record<T: Serialize>(&mut self, at: Instant, item: &T) {
        self.start_line(at);
        // The item's own opening brace becomes the comma after our field.
        let body_start = self.buffer.len() - 1;
        self.buffer.pop();
        serde_json::to_writer(&mut self.buffer, item).expect("trace items serialize");
        assert_eq!(
            self.buffer.get(body_start..body_start + 2),
            Some(&b"{\""[..]),
            "a trace item must be a non-empty JSON object"
        );
        self.buffer[body_start] = b',';
        self.end_line();
    }

    /// Records an event. The most frequent ones (a carrier's delivery update,
    /// most lines of a run with SMS; a message and its deliveries) are written
    /// by hand, byte for byte what serde writes (pinned by a test); the others
    /// go through [`Trace::record`].
    pub fn record_event(&mut self, at: Instant, event: &Event) {
        match event {
            Event::DeliveryUpdated {
                delivery,
                status,
                code,
            } => {
                self.start_line(at);
                self.push(b"\"kind\":\"delivery_updated\",\"delivery\":");
                push_u64(&mut self.buffer, *delivery);
                self.push(b",\"status\":\"");
                self.push(status.name().as_bytes());
                self.push(b"\"");
                if let Some(code) = code {
                    self.push(b",\"code\":");
                    push_u64(&mut self.buffer, u64::from(*code));
                }
            }
            Event::MessageSent {
                thread,
                message,
                by,
                bytes,
                recipients,
                hidden,
            } => {
                self.start_line(at);
                self.push(b"\"kind\":\"message_sent\",\"thread\":\"t");
                push_u64(&mut self.buffer, u64::from(thread.0));
                self.push(b"\",\"message\":");
                push_u64(&mut self.buffer, u64::from(*message));
                self.push(b",\"by\":");
                push_json_str(&mut self.buffer, by);
                self.push(b",\"bytes\":");
                push_u64(&mut self.buffer, u64::from(*bytes));
                self.push(b",\"recipients\":");
                push_u64(&mut self.buffer, u64::from(*recipients));
                if *hidden {
                    self.push(b",\"hidden\":true");
                }
            }
            Event::DeliveriesCreated {
                thread,
                message,
                first,
                queued,
                failed,
                segments,
            } => {
                self.start_line(at);
                self.push(b"\"kind\":\"deliveries_created\",\"thread\":");
                match thread {
                    Some(t) => {
                        self.push(b"\"t");
                        push_u64(&mut self.buffer, u64::from(t.0));
                        self.push(b"\"");
                    }
                    None => self.push(b"null"),
                }
                self.push(b",\"message\":");
                match message {
                    Some(m) => push_u64(&mut self.buffer, u64::from(*m)),
                    None => self.push(b"null"),
                }
                for (name, value) in [
                    (&b",\"first\":"[..], *first),
                    (b",\"queued\":", u64::from(*queued)),
                    (b",\"failed\":", u64::from(*failed)),
                    (b",\"segments\":", u64::from(*segments)),
                ] {
                    self.push(name);
                    push_u64(&mut self.buffer, value);
                }
            }
            _ => return self.record(at, event),
        }
        self.push(b"}");
        self.end_line();
    }

    /// Records a scenario step's line, written by hand byte for byte as
    /// serde would write it (pinned by a test): one a step, so the most
    /// frequent line after the carrier's.
    pub fn record_step(&mut self, at: Instant, line: &StepLine<'_>) {
        self.start_line(at);
        self.push(b"\"kind\":\"step\",\"step\":");
        push_u64(&mut self.buffer, line.step as u64);
        self.push(b",\"op\":");
        push_json_str(&mut self.buffer, line.op);
        if let Some(actor) = line.actor {
            self.push(b",\"as\":");
            push_json_str(&mut self.buffer, actor);
        }
        self.push(b",\"status\":");
        push_u64(&mut self.buffer, u64::from(line.status));
        match &line.result {
            None => {}
            Some(StepResult::Sent(sequence)) => {
                self.push(b",\"result\":{\"id\":\"m");
                push_u64(&mut self.buffer, u64::from(*sequence));
                self.push(b"\",\"sequence_id\":");
                push_u64(&mut self.buffer, u64::from(*sequence));
                self.push(b"}");
            }
            Some(StepResult::Json(value)) => {
                self.push(b",\"result\":");
                serde_json::to_writer(&mut self.buffer, value).expect("values serialize");
            }
        }
        if let Some(error) = line.error {
            self.push(b",\"error\":");
            push_json_str(&mut self.buffer, error);
        }
        if let Some(body) = &line.body {
            self.push(b",\"body\":");
            serde_json::to_writer(&mut self.buffer, body).expect("values serialize");
        }
        self.push(b"}");
        self.end_line();
    }

    #[inline(always)]
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Starts a line in the buffer: `{"at_ms":N,`.
    fn start_line(&mut self, at: Instant) {
        self.buffer.clear();
        self.buffer.extend_from_slice(b"{\"at_ms\":");
        push_u64(&mut self.buffer, at.ms());
        self.buffer.push(b',');
    }

    /// Ends the line in the buffer and records it: digest, count, kept lines.
    fn end_line(&mut self) {
        self.buffer.push(b'\n');
        self.digest.absorb(&self.buffer);
        self.count += 1;
        if let Some(lines) = &mut self.lines {
            let text = std::str::from_utf8(&self.buffer[..self.buffer.len() - 1])
                .expect("trace lines are UTF-8");
            lines.push_back(text.to_string());
        }
    }

    /// The digest of every line so far, in 16 hex digits.
    pub fn digest(&self) -> String {
        self.digest.hex()
    }

    /// Number of lines recorded (kept or not).
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no line was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Takes the kept lines recorded so far out of the trace (the digest and
    /// the count go on): a caller that streams them keeps memory flat.
    pub fn take_lines(&mut self) -> imbl::Vector<String> {
        match &mut self.lines {
            Some(lines) => std::mem::take(lines),
            None => imbl::Vector::new(),
        }
    }

    /// The kept lines, without trailing newlines; empty when lines are not kept.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().flat_map(|l| l.iter().map(String::as_str))
    }

    /// The kept trace as JSON Lines.
    pub fn jsonl(&self) -> String {
        let mut out = String::new();
        for line in self.lines() {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The kept trace in the compact human rendering, one line per entry.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in self.lines() {
            out.push_str(&render_line(line));
            out.push('\n');
        }
        out
    }
}

/// Appends `text` as a JSON string, as serde_json writes it: plain text as it
/// is, anything that needs escaping through serde_json itself.
fn push_json_str(buffer: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        buffer.push(b'"');
        buffer.extend_from_slice(text.as_bytes());
        buffer.push(b'"');
    } else {
        serde_json::to_writer(&mut *buffer, text).expect("strings serialize");
    }
}

/// Appends the decimal digits of `n`.
#[inline(always)]
fn push_u64(buffer: &mut Vec<u8>, n: u64) {
    buffer.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Renders one JSONL trace line compactly: `+1h30m  kind  key=value ...`, keys in
/// order, nested values as compact JSON. Lines that are not trace objects are
/// returned as they are.
pub fn render_line(line: &str) -> String {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let at = map.get("at_ms").and_then(Value::as_u64).unwrap_or(0);
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("?");
    let mut out = format!("{:>10} {kind}", Duration(at).to_string());
    for (key, value) in &map {
        if key == "at_ms" || key == "kind" {
            continue;
        }
        match value {
            Value::String(s) => {
                let _ = write!(out, " {key}={s}");
            }
            other => {
                let _ = write!(out, " {key}={other}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_message_lines_are_the_bytes_serde_writes() {
        use crate::id::ThreadId;
        use std::sync::Arc;
        let names = [
            "ana",
            "",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "\u{1}",
            "ünï €😀",
            "\u{7f}",
        ];
        let mut events = Vec::new();
        for name in names {
            for hidden in [false, true] {
                events.push(Event::MessageSent {
                    thread: ThreadId(7),
                    message: 3,
                    by: Arc::from(name),
                    bytes: u32::MAX,
                    recipients: 0,
                    hidden,
                });
            }
        }
        for thread in [None, Some(ThreadId(0)), Some(ThreadId(u32::MAX))] {
            for message in [None, Some(1)] {
                events.push(Event::DeliveriesCreated {
                    thread,
                    message,
                    first: u64::MAX,
                    queued: 10,
                    failed: 0,
                    segments: 2,
                });
            }
        }
        for event in events {
            let (mut fast, mut slow) = (Trace::new(true), Trace::new(true));
            fast.record_event(Instant(42), &event);
            slow.record(Instant(42), &event);
            assert_eq!(fast.jsonl(), slow.jsonl());
        }
    }

    #[test]
    fn hand_written_step_lines_are_the_bytes_serde_writes() {
        /// The step line as serde writes it.
        #[derive(Serialize)]
        struct Derived<'a> {
            kind: &'static str,
            step: usize,
            op: &'a str,
            #[serde(rename = "as", skip_serializing_if = "Option::is_none")]
            actor: Option<&'a str>,
            status: u16,
            #[serde(skip_serializing_if = "Option::is_none")]
            result: Option<Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'static str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            body: Option<Value>,
        }
        let results = [
            None,
            Some(StepResult::Sent(0)),
            Some(StepResult::Sent(u32::MAX)),
            Some(StepResult::Json(
                serde_json::json!({"z": 1, "a": ["q\"", null]}),
            )),
            Some(StepResult::Json(Value::Null)),
        ];
        for actor in [None, Some("ana"), Some("q\"uote\t"), Some("ünï 😀")] {
            for result in &results {
                for (error, body) in [
                    (None, None),
                    (
                        Some("too_many_requests"),
                        Some(serde_json::json!({"code": 1})),
                    ),
                ] {
                    let line = StepLine {
                        step: usize::MAX,
                        op: "send_message",
                        actor,
                        status: 429,
                        result: result.clone(),
                        error,
                        body: body.clone(),
                    };
                    let derived = Derived {
                        kind: "step",
                        step: line.step,
                        op: line.op,
                        actor,
                        status: line.status,
                        result: result.as_ref().map(|r| match r {
                            StepResult::Json(v) => v.clone(),
                            StepResult::Sent(s) => serde_json::json!({
                                "id": crate::id::message_id(*s),
                                "sequence_id": s
                            }),
                        }),
                        error,
                        body,
                    };
                    let (mut fast, mut slow) = (Trace::new(true), Trace::new(true));
                    fast.record_step(Instant(7), &line);
                    slow.record(Instant(7), &derived);
                    assert_eq!(fast.jsonl(), slow.jsonl());
                }
            }
        }
    }

    #[test]
    fn hand_written_lines_are_the_bytes_serde_writes() {
        for status in crate::rules::Status::ALL {
            for code in [None, Some(0), Some(2000), Some(u16::MAX)] {
                for (at, delivery) in [(0, 0), (9, 10), (u64::MAX, u64::MAX)] {
                    let event = Event::DeliveryUpdated {
                        delivery,
                        status,
                        code,
                    };
                    let (mut fast, mut slow) = (Trace::new(true), Trace::new(true));
                    fast.record_event(Instant(at), &event);
                    slow.record(Instant(at), &event);
                    assert_eq!(fast.jsonl(), slow.jsonl());
                    assert_eq!(fast.digest(), slow.digest());
                }
            }
        }
    }

    #[test]
    fn digest_is_pinned() {
        let mut d = Digest::new();
        d.absorb(b"{\"at_ms\":0,\"kind\":\"user_created\"}\n");
        assert_eq!(d.hex(), "6198dfab6c728b14");
        assert_eq!(Digest::new().hex(), "16e0b737c246e6c8");
    }

    #[test]
    fn digest_separates_near_inputs() {
        let hex = |parts: &[&[u8]]| {
            let mut d = Digest::new();
            for p in parts {
                d.absorb(p);
            }
            d.hex()
        };
        assert_ne!(hex(&[b"a"]), hex(&[b"a\0"]));
        assert_ne!(hex(&[b"ab", b"c"]), hex(&[b"a", b"bc"]));
        assert_ne!(hex(&[b"12345678"]), hex(&[b"12345679"]));
        assert_eq!(hex(&[b"same"]), hex(&[b"same"]));
    }

    #[derive(Serialize)]
    struct Item {
        kind: &'static str,
        n: u32,
    }

    #[test]
    fn records_lines_with_time_first_and_renders_them() {
        let mut t = Trace::new(true);
        t.record(Instant(5_400_000), &Item { kind: "ping", n: 3 });
        assert_eq!(t.jsonl(), "{\"at_ms\":5400000,\"kind\":\"ping\",\"n\":3}\n");
        assert_eq!(t.render(), "     1h30m ping n=3\n");
        let mut digest_only = Trace::new(false);
        digest_only.record(Instant(5_400_000), &Item { kind: "ping", n: 3 });
        assert_eq!(digest_only.digest(), t.digest());
        assert_eq!(digest_only.jsonl(), "");
        assert_eq!(digest_only.len(), 1);
    }
}
