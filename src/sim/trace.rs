//! The trace: every step outcome and event of a run as JSON Lines, a compact
//! human rendering of each line, and a stable streaming digest.
//!
//! The digest is defined over a compact binary record of each line (a tag
//! word naming the line's shape, then its fields as 64-bit words; see
//! docs/trace-format.md, "The digest"), not over the JSON text, so that a run
//! that keeps no lines renders none of its frequent lines. The encoding is
//! injective (two different lines never give the same record) and the record
//! is a function of the line's text alone (a line recorded through
//! [`Trace::record`] that the hand-written path could have written gets that
//! path's record), so two runs have equal digests exactly when, up to hash
//! collisions, they printed equal traces. Lines are kept only when asked
//! (`keep_lines`); the digest is always on and the same either way. Kept
//! lines live in a persistent vector so that forking a simulator stays O(1).

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use crate::core::Event;
use crate::id::ThreadId;
use crate::rules::Status;
use crate::time::{Duration, Instant};

/// A streaming 64-bit digest of 64-bit words: multiply-rotate mixing of each
/// word, then a fold of the word count. Stable across releases; the tests pin
/// known values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    words: u64,
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
            words: 0,
        }
    }

    #[inline(always)]
    fn mix(&mut self, word: u64) {
        self.state = (self.state ^ word)
            .wrapping_mul(Digest::MUL)
            .rotate_left(29);
    }

    /// Absorbs one word.
    #[inline(always)]
    pub fn absorb_word(&mut self, word: u64) {
        self.mix(word);
        self.words = self.words.wrapping_add(1);
    }

    /// Absorbs `words` in order.
    #[inline(always)]
    fn absorb_words(&mut self, words: &[u64]) {
        for &word in words {
            self.absorb_word(word);
        }
    }

    /// Absorbs a string: its length in bytes as a word, then its bytes in
    /// 8-byte little-endian words, the last one padded with zero bytes.
    pub fn absorb_str(&mut self, text: &str) {
        self.absorb_bytes(text.as_bytes());
    }

    fn absorb_bytes(&mut self, bytes: &[u8]) {
        self.absorb_word(bytes.len() as u64);
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.absorb_word(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.absorb_word(u64::from_le_bytes(last));
        }
    }

    /// Absorbs an optional string: the word 0 when absent, else the word 1
    /// and the string.
    fn absorb_optional_str(&mut self, text: Option<&[u8]>) {
        match text {
            None => self.absorb_word(0),
            Some(text) => {
                self.absorb_word(1);
                self.absorb_bytes(text);
            }
        }
    }

    /// The digest as 16 lowercase hex digits: the word count mixed in, then
    /// a final avalanche.
    pub fn hex(&self) -> String {
        let mut finished = *self;
        finished.mix(self.words);
        let mut x = finished.state;
        x ^= x >> 33;
        x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        x ^= x >> 33;
        format!("{x:016x}")
    }
}

/// The tag word that opens each line's record, naming its shape
/// (docs/trace-format.md, "The digest").
mod tag {
    /// Any other line: its JSON text.
    pub const LINE: u64 = 1;
    /// A step line.
    pub const STEP: u64 = 2;
    /// A `delivery_updated` event.
    pub const DELIVERY_UPDATED: u64 = 3;
    /// A `message_sent` event.
    pub const MESSAGE_SENT: u64 = 4;
    /// A `deliveries_created` event.
    pub const DELIVERIES_CREATED: u64 = 5;
}

/// An optional integer below 2^32 as one word: 0 when absent, 2^32 + the
/// value when present.
fn optional(value: Option<u32>) -> u64 {
    value.map_or(0, |v| (1 << 32) | u64::from(v))
}

/// A delivery status as one word: its place in the order a delivery moves
/// through them (spelled out, so that reordering the enum cannot move it).
fn status_word(status: Status) -> u64 {
    match status {
        Status::Queued => 0,
        Status::Sent => 1,
        Status::Delivered => 2,
        Status::Undelivered => 3,
        Status::Failed => 4,
        Status::Read => 5,
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
    pub error: Option<&'a str>,
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
    /// most frequent result). A `Json` result of exactly this text has the
    /// same record.
    Sent(u32),
}

/// The sequence id of a JSON result that is written exactly as a
/// [`StepResult::Sent`] is: `{"id":"m<n>","sequence_id":<n>}`, `n` a u32.
fn sent_shape(value: &Value) -> Option<u32> {
    let Value::Object(map) = value else {
        return None;
    };
    let mut entries = map.iter();
    let (Some(("id", Value::String(id))), Some(("sequence_id", sequence)), None) = (
        entries.next().map(|(k, v)| (k.as_str(), v)),
        entries.next().map(|(k, v)| (k.as_str(), v)),
        entries.next(),
    ) else {
        return None;
    };
    let sequence = u32::try_from(sequence.as_u64()?).ok()?;
    (id.strip_prefix('m') == Some(itoa::Buffer::new().format(sequence))).then_some(sequence)
}

/// Where a step line's JSON texts are in a buffer: its result (when it is
/// JSON not of the sent shape) and its body (empty ranges when absent).
#[derive(Default)]
struct StepTexts {
    result: Range<usize>,
    body: Range<usize>,
}

/// Why a line of the caller's own was not recorded (nothing was).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The item did not serialize to JSON (the serializer's reason).
    Unserializable(String),
    /// The item is not a JSON object with at least one field.
    NotAnObject,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Unserializable(why) => {
                write!(f, "a trace line must serialize to JSON: {why}")
            }
            RecordError::NotAnObject => {
                write!(
                    f,
                    "a trace line must be a JSON object with at least one field"
                )
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// The trace of a run.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    digest: Digest,
    lines: Option<imbl::Vector<String>>,
    count: u64,
    /// The line being written (or, digest only, a step's JSON texts).
    buffer: Vec<u8>,
    /// A hand-written rendering of a line recorded through `record`.
    scratch: Vec<u8>,
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
    /// to a JSON object with at least one field (every event and step outcome
    /// does); anything else is refused and nothing is recorded. Its record is
    /// the generic one (the tag, then the line's text), unless the line is one
    /// the hand-written paths write, byte for byte: then it is theirs, so the
    /// digest depends on the text alone.
    pub fn record<T: Serialize>(&mut self, at: Instant, item: &T) -> Result<(), RecordError> {
        self.buffer.clear();
        open_line(&mut self.buffer, at);
        // The item's own opening brace becomes the comma after our field.
        let body_start = self.buffer.len() - 1;
        self.buffer.pop();
        serde_json::to_writer(&mut self.buffer, item)
            .map_err(|e| RecordError::Unserializable(e.to_string()))?;
        if self.buffer.get(body_start..body_start + 2) != Some(&b"{\""[..]) {
            return Err(RecordError::NotAnObject);
        }
        self.buffer[body_start] = b',';
        let hot = names_hot_kind(&self.buffer)
            && absorb_as_written_by_hand(&mut self.digest, &mut self.scratch, &self.buffer);
        if !hot {
            self.digest.absorb_word(tag::LINE);
            self.digest.absorb_bytes(&self.buffer);
        }
        self.end_line();
        Ok(())
    }

    /// Records an item of the simulator's own, which serializes to a JSON
    /// object by construction (an event, a fault line).
    pub(crate) fn record_own<T: Serialize>(&mut self, at: Instant, item: &T) {
        self.record(at, item)
            .expect("the simulator's own trace items are JSON objects");
    }

    /// Records an event. The most frequent ones (a carrier's delivery update,
    /// most lines of a run with SMS; a message and its deliveries) have
    /// records of their own and are written by hand, byte for byte what serde
    /// writes (pinned by a test), and only when lines are kept; the others go
    /// through [`Trace::record`].
    pub fn record_event(&mut self, at: Instant, event: &Event) {
        if self.lines.is_some() {
            self.buffer.clear();
            if !write_event(&mut self.buffer, at, event) {
                return self.record_own(at, event);
            }
            absorb_event(&mut self.digest, at, event);
        } else if !absorb_event(&mut self.digest, at, event) {
            return self.record_own(at, event);
        }
        self.end_line();
    }

    /// Records the `delivery_updated` event of `delivery`, now `status`
    /// with `code`: the same line and record as [`Trace::record_event`]
    /// gives that event, without building it (one per carrier receipt).
    #[inline]
    pub fn record_delivery_update(
        &mut self,
        at: Instant,
        delivery: u64,
        status: Status,
        code: Option<u16>,
    ) {
        if self.lines.is_some() {
            self.buffer.clear();
            write_delivery_update(&mut self.buffer, at, delivery, status, code);
            self.buffer.push(b'}');
        }
        absorb_delivery_update(&mut self.digest, at, delivery, status, code);
        self.end_line();
    }

    /// Records a scenario step's line, written by hand byte for byte as
    /// serde would write it (pinned by a test): one a step, so the most
    /// frequent line after the carrier's. When lines are not kept, only the
    /// JSON values of its result and body are rendered, for its record.
    pub fn record_step(&mut self, at: Instant, line: &StepLine<'_>) {
        self.buffer.clear();
        let texts = if self.lines.is_some() {
            write_step(&mut self.buffer, at, line)
        } else {
            write_step_values(&mut self.buffer, line)
        };
        absorb_step(&mut self.digest, at, line, &texts, &self.buffer);
        self.end_line();
    }

    /// Counts the line just recorded, and keeps it (the buffer) when lines
    /// are kept.
    #[inline(always)]
    fn end_line(&mut self) {
        self.count += 1;
        if self.lines.is_some() {
            self.keep_line();
        }
    }

    /// Keeps the line in the buffer (out of line: a digest-only run keeps none).
    #[inline(never)]
    fn keep_line(&mut self) {
        if let Some(lines) = &mut self.lines {
            let text = std::str::from_utf8(&self.buffer).expect("trace lines are UTF-8");
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

/// Absorbs the record of an event that has one of its own; false, having
/// absorbed nothing, for any other event.
fn absorb_event(digest: &mut Digest, at: Instant, event: &Event) -> bool {
    match event {
        Event::DeliveryUpdated {
            delivery,
            status,
            code,
        } => absorb_delivery_update(digest, at, *delivery, *status, *code),
        Event::MessageSent {
            thread,
            message,
            by,
            bytes,
            recipients,
            hidden,
        } => {
            digest.absorb_words(&[
                tag::MESSAGE_SENT,
                at.ms(),
                u64::from(thread.0),
                u64::from(*message),
            ]);
            digest.absorb_str(by);
            digest.absorb_words(&[
                u64::from(*bytes),
                u64::from(*recipients),
                u64::from(*hidden),
            ]);
        }
        Event::DeliveriesCreated {
            thread,
            message,
            first,
            queued,
            failed,
            segments,
        } => digest.absorb_words(&[
            tag::DELIVERIES_CREATED,
            at.ms(),
            optional(thread.map(|t| t.0)),
            optional(*message),
            *first,
            u64::from(*queued),
            u64::from(*failed),
            u64::from(*segments),
        ]),
        _ => return false,
    }
    true
}

/// Absorbs the record of a `delivery_updated` event.
#[inline(always)]
fn absorb_delivery_update(
    digest: &mut Digest,
    at: Instant,
    delivery: u64,
    status: Status,
    code: Option<u16>,
) {
    digest.absorb_words(&[
        tag::DELIVERY_UPDATED,
        at.ms(),
        delivery,
        status_word(status),
        optional(code.map(u32::from)),
    ]);
}

/// Writes the line of a `delivery_updated` event but its closing brace.
fn write_delivery_update(
    buffer: &mut Vec<u8>,
    at: Instant,
    delivery: u64,
    status: Status,
    code: Option<u16>,
) {
    open_line(buffer, at);
    buffer.extend_from_slice(b"\"kind\":\"delivery_updated\",\"delivery\":");
    push_u64(buffer, delivery);
    buffer.extend_from_slice(b",\"status\":\"");
    buffer.extend_from_slice(status.name().as_bytes());
    buffer.push(b'"');
    if let Some(code) = code {
        buffer.extend_from_slice(b",\"code\":");
        push_u64(buffer, u64::from(code));
    }
}

/// Writes the line of an event that has a record of its own, by hand, byte
/// for byte what serde writes; false, having written nothing, for any other
/// event.
fn write_event(buffer: &mut Vec<u8>, at: Instant, event: &Event) -> bool {
    match event {
        Event::DeliveryUpdated {
            delivery,
            status,
            code,
        } => write_delivery_update(buffer, at, *delivery, *status, *code),
        Event::MessageSent {
            thread,
            message,
            by,
            bytes,
            recipients,
            hidden,
        } => {
            open_line(buffer, at);
            buffer.extend_from_slice(b"\"kind\":\"message_sent\",\"thread\":\"t");
            push_u64(buffer, u64::from(thread.0));
            buffer.extend_from_slice(b"\",\"message\":");
            push_u64(buffer, u64::from(*message));
            buffer.extend_from_slice(b",\"by\":");
            push_json_str(buffer, by);
            buffer.extend_from_slice(b",\"bytes\":");
            push_u64(buffer, u64::from(*bytes));
            buffer.extend_from_slice(b",\"recipients\":");
            push_u64(buffer, u64::from(*recipients));
            if *hidden {
                buffer.extend_from_slice(b",\"hidden\":true");
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
            open_line(buffer, at);
            buffer.extend_from_slice(b"\"kind\":\"deliveries_created\",\"thread\":");
            match thread {
                Some(t) => {
                    buffer.extend_from_slice(b"\"t");
                    push_u64(buffer, u64::from(t.0));
                    buffer.push(b'"');
                }
                None => buffer.extend_from_slice(b"null"),
            }
            buffer.extend_from_slice(b",\"message\":");
            match message {
                Some(m) => push_u64(buffer, u64::from(*m)),
                None => buffer.extend_from_slice(b"null"),
            }
            for (name, value) in [
                (&b",\"first\":"[..], *first),
                (b",\"queued\":", u64::from(*queued)),
                (b",\"failed\":", u64::from(*failed)),
                (b",\"segments\":", u64::from(*segments)),
            ] {
                buffer.extend_from_slice(name);
                push_u64(buffer, value);
            }
        }
        _ => return false,
    }
    buffer.push(b'}');
    true
}

/// Writes a step line by hand, byte for byte as serde writes it, and says
/// where its JSON texts are.
fn write_step(buffer: &mut Vec<u8>, at: Instant, line: &StepLine<'_>) -> StepTexts {
    let mut texts = StepTexts::default();
    open_line(buffer, at);
    buffer.extend_from_slice(b"\"kind\":\"step\",\"step\":");
    push_u64(buffer, line.step as u64);
    buffer.extend_from_slice(b",\"op\":");
    push_json_str(buffer, line.op);
    if let Some(actor) = line.actor {
        buffer.extend_from_slice(b",\"as\":");
        push_json_str(buffer, actor);
    }
    buffer.extend_from_slice(b",\"status\":");
    push_u64(buffer, u64::from(line.status));
    match &line.result {
        None => {}
        Some(StepResult::Sent(sequence)) => {
            buffer.extend_from_slice(b",\"result\":{\"id\":\"m");
            push_u64(buffer, u64::from(*sequence));
            buffer.extend_from_slice(b"\",\"sequence_id\":");
            push_u64(buffer, u64::from(*sequence));
            buffer.push(b'}');
        }
        Some(StepResult::Json(value)) => {
            buffer.extend_from_slice(b",\"result\":");
            texts.result = push_json(buffer, value);
        }
    }
    if let Some(error) = line.error {
        buffer.extend_from_slice(b",\"error\":");
        push_json_str(buffer, error);
    }
    if let Some(body) = &line.body {
        buffer.extend_from_slice(b",\"body\":");
        texts.body = push_json(buffer, body);
    }
    buffer.push(b'}');
    texts
}

/// Writes only what a step line's record needs of its JSON values: its
/// result (unless it is of the sent shape) and its body.
fn write_step_values(buffer: &mut Vec<u8>, line: &StepLine<'_>) -> StepTexts {
    let mut texts = StepTexts::default();
    if let Some(StepResult::Json(value)) = &line.result
        && sent_shape(value).is_none()
    {
        texts.result = push_json(buffer, value);
    }
    if let Some(body) = &line.body {
        texts.body = push_json(buffer, body);
    }
    texts
}

/// Absorbs a step line's record, its JSON texts taken from `buffer`.
fn absorb_step(
    digest: &mut Digest,
    at: Instant,
    line: &StepLine<'_>,
    texts: &StepTexts,
    buffer: &[u8],
) {
    digest.absorb_words(&[tag::STEP, at.ms(), line.step as u64]);
    digest.absorb_str(line.op);
    digest.absorb_optional_str(line.actor.map(str::as_bytes));
    digest.absorb_word(u64::from(line.status));
    let sent = match &line.result {
        None => None,
        Some(StepResult::Sent(sequence)) => Some(*sequence),
        Some(StepResult::Json(value)) => sent_shape(value),
    };
    match (&line.result, sent) {
        (None, _) => digest.absorb_word(0),
        (Some(_), Some(sequence)) => digest.absorb_words(&[1, u64::from(sequence)]),
        (Some(_), None) => {
            digest.absorb_word(2);
            digest.absorb_bytes(&buffer[texts.result.clone()]);
        }
    }
    digest.absorb_optional_str(line.error.map(str::as_bytes));
    digest.absorb_optional_str(line.body.as_ref().map(|_| &buffer[texts.body.clone()]));
}

/// Whether a line names, as its first key after `at_ms`, the kind of a line
/// that has a record of its own.
fn names_hot_kind(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"{\"at_ms\":") else {
        return false;
    };
    let rest = &rest[rest.iter().take_while(|b| b.is_ascii_digit()).count()..];
    [
        &b",\"kind\":\"step\","[..],
        b",\"kind\":\"delivery_updated\",",
        b",\"kind\":\"message_sent\",",
        b",\"kind\":\"deliveries_created\",",
    ]
    .iter()
    .any(|prefix| rest.starts_with(prefix))
}

/// Absorbs the record of `line` (written through [`Trace::record`]) as the
/// hand-written path would have, if that path writes exactly this line:
/// read back, written by hand into `scratch`, and compared byte for byte.
/// False, having absorbed nothing, otherwise.
fn absorb_as_written_by_hand(digest: &mut Digest, scratch: &mut Vec<u8>, line: &[u8]) -> bool {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(line) else {
        return false;
    };
    let Some(at) = map.get("at_ms").and_then(Value::as_u64).map(Instant) else {
        return false;
    };
    scratch.clear();
    if map.get("kind").and_then(Value::as_str) == Some("step") {
        let result = map.remove("result").map(StepResult::Json);
        let body = map.remove("body");
        let Some(step) = step_from(&map, result, body) else {
            return false;
        };
        let texts = write_step(scratch, at, &step);
        if scratch.as_slice() != line {
            return false;
        }
        absorb_step(digest, at, &step, &texts, scratch);
        return true;
    }
    let Some(event) = event_from(&map) else {
        return false;
    };
    if !write_event(scratch, at, &event) || scratch.as_slice() != line {
        return false;
    }
    absorb_event(digest, at, &event)
}

/// The step line whose fields a parsed line has (checked against the text
/// by the caller).
fn step_from<'a>(
    map: &'a Map<String, Value>,
    result: Option<StepResult>,
    body: Option<Value>,
) -> Option<StepLine<'a>> {
    let text = |key: &str| match map.get(key) {
        None => Some(None),
        Some(Value::String(s)) => Some(Some(s.as_str())),
        Some(_) => None,
    };
    Some(StepLine {
        step: usize::try_from(map.get("step")?.as_u64()?).ok()?,
        op: text("op")??,
        actor: text("as")?,
        status: u16::try_from(map.get("status")?.as_u64()?).ok()?,
        result,
        error: text("error")?,
        body,
    })
}

/// The event with a record of its own whose fields a parsed line has
/// (checked against the text by the caller).
fn event_from(map: &Map<String, Value>) -> Option<Event> {
    let number = |key: &str| map.get(key).and_then(Value::as_u64);
    let small = |key: &str| number(key).and_then(|n| u32::try_from(n).ok());
    let thread = |value: &Value| {
        let digits = value.as_str()?.strip_prefix('t')?;
        digits.parse().ok().map(ThreadId)
    };
    let event = match map.get("kind")?.as_str()? {
        "delivery_updated" => Event::DeliveryUpdated {
            delivery: number("delivery")?,
            status: Status::from_name(map.get("status")?.as_str()?)?,
            code: match map.get("code") {
                None => None,
                Some(code) => Some(u16::try_from(code.as_u64()?).ok()?),
            },
        },
        "message_sent" => Event::MessageSent {
            thread: thread(map.get("thread")?)?,
            message: small("message")?,
            by: Arc::from(map.get("by")?.as_str()?),
            bytes: small("bytes")?,
            recipients: small("recipients")?,
            hidden: map.get("hidden") == Some(&Value::Bool(true)),
        },
        "deliveries_created" => Event::DeliveriesCreated {
            thread: match map.get("thread")? {
                Value::Null => None,
                value => Some(thread(value)?),
            },
            message: match map.get("message")? {
                Value::Null => None,
                _ => Some(small("message")?),
            },
            first: number("first")?,
            queued: small("queued")?,
            failed: small("failed")?,
            segments: small("segments")?,
        },
        _ => return None,
    };
    Some(event)
}

/// Starts a line: `{"at_ms":N,`.
fn open_line(buffer: &mut Vec<u8>, at: Instant) {
    buffer.extend_from_slice(b"{\"at_ms\":");
    push_u64(buffer, at.ms());
    buffer.push(b',');
}

/// Appends `value` as compact JSON; returns where it is.
fn push_json(buffer: &mut Vec<u8>, value: &Value) -> Range<usize> {
    let start = buffer.len();
    serde_json::to_writer(&mut *buffer, value).expect("values serialize");
    start..buffer.len()
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
    use std::collections::BTreeMap;

    /// Records one line four ways (by `hand`, and through serde by `derived`,
    /// each keeping lines and not), checks that they agree (the same text,
    /// the same digest) and returns the text and the digest.
    fn four_ways(hand: impl Fn(&mut Trace), derived: impl Fn(&mut Trace)) -> (String, String) {
        let mut traces = [
            Trace::new(true),
            Trace::new(false),
            Trace::new(true),
            Trace::new(false),
        ];
        hand(&mut traces[0]);
        hand(&mut traces[1]);
        derived(&mut traces[2]);
        derived(&mut traces[3]);
        let text = traces[0].jsonl();
        assert_eq!(traces[2].jsonl(), text, "hand-written against serde");
        assert_eq!(traces[1].jsonl(), "");
        for trace in &traces {
            assert_eq!(trace.len(), 1);
            assert_eq!(trace.digest(), traces[0].digest(), "{text}");
        }
        (text, traces[0].digest())
    }

    /// Equal lines have equal digests, and different lines different ones.
    fn assert_one_to_one(seen: &[(String, String)]) {
        let (mut by_text, mut by_digest) = (BTreeMap::new(), BTreeMap::new());
        for (text, digest) in seen {
            assert_eq!(*by_text.entry(text).or_insert(digest), digest, "{text}");
            assert_eq!(*by_digest.entry(digest).or_insert(text), text, "{digest}");
        }
    }

    fn events() -> Vec<(Instant, Event)> {
        let mut events = Vec::new();
        let names = [
            "ana",
            "",
            "a\0",
            "q\"uote",
            "back\\slash",
            "tab\t",
            "\u{1}",
            "ünï €😀",
            "\u{7f}",
            "eight ch",
            "eight chars, then",
        ];
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
            for message in [None, Some(0), Some(1)] {
                for first in [0, u64::MAX] {
                    events.push(Event::DeliveriesCreated {
                        thread,
                        message,
                        first,
                        queued: 10,
                        failed: 0,
                        segments: 2,
                    });
                }
            }
        }
        for status in Status::ALL {
            for code in [None, Some(0), Some(1), Some(2000), Some(u16::MAX)] {
                for delivery in [0, 10, u64::MAX] {
                    events.push(Event::DeliveryUpdated {
                        delivery,
                        status,
                        code,
                    });
                }
            }
        }
        let mut timed = Vec::new();
        for at in [0, 42, u64::MAX] {
            timed.extend(events.iter().map(|e| (Instant(at), e.clone())));
        }
        timed
    }

    #[test]
    fn hand_written_event_lines_are_the_bytes_serde_writes_and_digest_alike() {
        let mut seen = Vec::new();
        for (at, event) in events() {
            seen.push(four_ways(
                |t| t.record_event(at, &event),
                |t| t.record_own(at, &event),
            ));
        }
        assert_one_to_one(&seen);
    }

    #[test]
    fn a_delivery_update_recorded_from_its_fields_is_its_event_line() {
        let mut seen = Vec::new();
        for (at, event) in events() {
            let Event::DeliveryUpdated {
                delivery,
                status,
                code,
            } = event
            else {
                continue;
            };
            seen.push(four_ways(
                |t| t.record_delivery_update(at, delivery, status, code),
                |t| t.record_own(at, &event),
            ));
        }
        assert_eq!(seen.len(), 3 * Status::ALL.len() * 5 * 3);
        assert_one_to_one(&seen);
    }

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
        error: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    }

    impl<'a> Derived<'a> {
        fn of(line: &StepLine<'a>) -> Derived<'a> {
            Derived {
                kind: "step",
                step: line.step,
                op: line.op,
                actor: line.actor,
                status: line.status,
                result: line.result.as_ref().map(|r| match r {
                    StepResult::Json(v) => v.clone(),
                    StepResult::Sent(s) => serde_json::json!({
                        "id": crate::id::message_id(*s),
                        "sequence_id": s
                    }),
                }),
                error: line.error,
                body: line.body.clone(),
            }
        }
    }

    #[test]
    fn hand_written_step_lines_are_the_bytes_serde_writes_and_digest_alike() {
        use serde_json::json;
        let results = [
            None,
            Some(StepResult::Sent(0)),
            Some(StepResult::Sent(5)),
            Some(StepResult::Sent(u32::MAX)),
            // The text of Sent(5): the same line, so the same digest.
            Some(StepResult::Json(json!({"id": "m5", "sequence_id": 5}))),
            Some(StepResult::Json(json!({"id": "m5", "sequence_id": 6}))),
            Some(StepResult::Json(json!({"id": "m05", "sequence_id": 5}))),
            Some(StepResult::Json(json!({"id": "m5", "sequence_id": 5.0}))),
            Some(StepResult::Json(
                json!({"id": "m5", "sequence_id": 5, "x": 1}),
            )),
            Some(StepResult::Json(
                json!({"id": "m4294967296", "sequence_id": 4_294_967_296_u64}),
            )),
            Some(StepResult::Json(json!({"z": 1, "a": ["q\"", null]}))),
            Some(StepResult::Json(Value::Null)),
            Some(StepResult::Json(json!("send_message"))),
        ];
        let refusals = [
            (None, None),
            (Some("too_many_requests"), Some(json!({"code": 1}))),
            (Some(""), None),
            (None, Some(Value::Null)),
        ];
        let mut seen = Vec::new();
        for (step, op) in [(0, "send_message"), (usize::MAX, ""), (3, "a\"b")] {
            for actor in [
                None,
                Some(""),
                Some("ana"),
                Some("q\"uote\t"),
                Some("ünï 😀"),
            ] {
                for result in &results {
                    for (error, body) in &refusals {
                        let line = StepLine {
                            step,
                            op,
                            actor,
                            status: 429,
                            result: result.clone(),
                            error: *error,
                            body: body.clone(),
                        };
                        let derived = Derived::of(&line);
                        seen.push(four_ways(
                            |t| t.record_step(Instant(7), &line),
                            |t| t.record_own(Instant(7), &derived),
                        ));
                    }
                }
            }
        }
        assert_one_to_one(&seen);
    }

    #[derive(Serialize)]
    struct Item {
        kind: &'static str,
        n: u32,
    }

    /// A line of a hot kind written in a way the hand-written path never
    /// writes it.
    #[derive(Serialize)]
    struct Lookalike {
        kind: &'static str,
        delivery: Value,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<Value>,
    }

    #[test]
    fn generic_lines_digest_alike_kept_or_not() {
        let mut seen = Vec::new();
        let mut record = |at: u64, item: &dyn erased::Item| {
            let (mut kept, mut not) = (Trace::new(true), Trace::new(false));
            item.record(&mut kept, Instant(at));
            item.record(&mut not, Instant(at));
            assert_eq!(kept.digest(), not.digest());
            seen.push((kept.jsonl(), kept.digest()));
        };
        for at in [0, 5_400_000, u64::MAX] {
            for n in [0, 1, u32::MAX] {
                record(at, &Item { kind: "ping", n });
                record(at, &Item { kind: "step", n });
            }
            for (delivery, code) in [
                (Value::from(5_u64), None),
                (Value::from(5_u64), Some(Value::from(0_u64))),
                (Value::from(5.0), None),
                (Value::from(5_u64), Some(Value::Null)),
                (Value::from("5"), None),
            ] {
                record(
                    at,
                    &Lookalike {
                        kind: "delivery_updated",
                        delivery,
                        status: "sent",
                        code,
                    },
                );
            }
            // A line without a record of its own is its text.
            let ping = Item { kind: "ping", n: 3 };
            let mut trace = Trace::new(false);
            trace.record_own(Instant(at), &ping);
            let mut text = Digest::new();
            text.absorb_word(tag::LINE);
            text.absorb_str(&format!("{{\"at_ms\":{at},\"kind\":\"ping\",\"n\":3}}"));
            assert_eq!(trace.digest(), text.hex());
            record(
                at,
                &Event::Rejected {
                    op: "get_thread",
                    by: None,
                    status: 404,
                    error: crate::core::Kind::NotFound,
                },
            );
        }
        assert_one_to_one(&seen);
    }

    /// Records any serializable item through the generic path.
    mod erased {
        use super::*;
        pub trait Item {
            fn record(&self, trace: &mut Trace, at: Instant);
        }
        impl<T: Serialize> Item for T {
            fn record(&self, trace: &mut Trace, at: Instant) {
                trace.record_own(at, self);
            }
        }
    }

    #[test]
    fn a_lookalike_of_a_hot_line_is_hot_only_when_byte_equal() {
        let event = Event::DeliveryUpdated {
            delivery: 5,
            status: Status::Sent,
            code: Some(0),
        };
        let exact = Lookalike {
            kind: "delivery_updated",
            delivery: Value::from(5_u64),
            status: "sent",
            code: Some(Value::from(0_u64)),
        };
        let float = Lookalike {
            kind: "delivery_updated",
            delivery: Value::from(5.0),
            status: "sent",
            code: Some(Value::from(0_u64)),
        };
        let digest = |f: &dyn Fn(&mut Trace)| {
            let mut t = Trace::new(false);
            f(&mut t);
            t.digest()
        };
        let hot = digest(&|t| t.record_event(Instant(1), &event));
        assert_eq!(digest(&|t| t.record_own(Instant(1), &exact)), hot);
        assert_ne!(digest(&|t| t.record_own(Instant(1), &float)), hot);
        // The generic record of the same text would differ: the record is the
        // shape's, not the text's.
        let mut generic = Digest::new();
        generic.absorb_word(tag::LINE);
        generic.absorb_str(
            "{\"at_ms\":1,\"kind\":\"delivery_updated\",\"delivery\":5,\"status\":\"sent\",\"code\":0}",
        );
        assert_ne!(generic.hex(), hot);
    }

    #[test]
    fn near_inputs_have_different_digests() {
        let digest = |f: &dyn Fn(&mut Trace)| {
            let mut t = Trace::new(false);
            f(&mut t);
            t.digest()
        };
        let updated = |code| {
            digest(&|t: &mut Trace| {
                t.record_event(
                    Instant(1),
                    &Event::DeliveryUpdated {
                        delivery: 1,
                        status: Status::Failed,
                        code,
                    },
                )
            })
        };
        assert_ne!(updated(None), updated(Some(0)));
        let step = |op: &'static str, actor: Option<&'static str>| {
            digest(&|t: &mut Trace| {
                t.record_step(
                    Instant(1),
                    &StepLine {
                        step: 0,
                        op,
                        actor,
                        status: 200,
                        result: None,
                        error: None,
                        body: None,
                    },
                )
            })
        };
        assert_ne!(step("inbox", None), step("inbox", Some("")));
        assert_ne!(step("ab", Some("c")), step("a", Some("bc")));
        assert_ne!(step("a", None), step("a\0", None));
        // Two lines against one, in either order.
        let two = |first: u64, second: u64| {
            digest(&|t: &mut Trace| {
                for delivery in [first, second] {
                    t.record_event(
                        Instant(1),
                        &Event::DeliveryUpdated {
                            delivery,
                            status: Status::Sent,
                            code: None,
                        },
                    );
                }
            })
        };
        assert_ne!(two(1, 2), two(2, 1));
        assert_eq!(two(1, 2), two(1, 2));
    }

    /// The values are those of the encoding as docs/trace-format.md states
    /// it, computed from the page by a separate implementation.
    #[test]
    fn digest_is_pinned() {
        assert_eq!(Digest::new().hex(), "16e0b737c246e6c8");
        let mut d = Digest::new();
        d.absorb_word(0);
        assert_eq!(d.hex(), "a799a509b9ae4905");
        let mut d = Digest::new();
        d.absorb_str("user_created");
        assert_eq!(d.hex(), "5eff175ee64794a7");
        let pin = |f: &dyn Fn(&mut Trace)| {
            let mut t = Trace::new(false);
            f(&mut t);
            t.digest()
        };
        let updated = Event::DeliveryUpdated {
            delivery: 21,
            status: Status::Failed,
            code: Some(30003),
        };
        assert_eq!(
            pin(&|t| t.record_event(Instant(52_665), &updated)),
            "d589457773d7a444"
        );
        let sent = Event::MessageSent {
            thread: ThreadId(1),
            message: 3,
            by: Arc::from("bo"),
            bytes: 6,
            recipients: 1,
            hidden: false,
        };
        assert_eq!(
            pin(&|t| t.record_event(Instant(32_420_000), &sent)),
            "6f1aac3989a60cae"
        );
        let created = Event::DeliveriesCreated {
            thread: None,
            message: None,
            first: 1,
            queued: 2,
            failed: 0,
            segments: 1,
        };
        assert_eq!(
            pin(&|t| t.record_event(Instant(0), &created)),
            "2fd5fe9f0e19e190"
        );
        let step = StepLine {
            step: 1,
            op: "send_message",
            actor: Some("bo"),
            status: 201,
            result: Some(StepResult::Sent(3)),
            error: None,
            body: None,
        };
        assert_eq!(
            pin(&|t| t.record_step(Instant(32_420_000), &step)),
            "5124ead20a12e006"
        );
        let refused = StepLine {
            step: 2,
            op: "update_message",
            actor: Some("ana"),
            status: 403,
            result: None,
            error: Some("forbidden"),
            body: Some(serde_json::json!({"error": {"code": "Forbidden"}})),
        };
        assert_eq!(
            pin(&|t| t.record_step(Instant(32_425_000), &refused)),
            "5134ab7afcea4f7b"
        );
        let user = Event::UserCreated {
            user: Arc::from("ana"),
        };
        assert_eq!(
            pin(&|t| t.record_event(Instant(0), &user)),
            "0456f962e77deaee"
        );
        let all = pin(&|t| {
            t.record_event(Instant(0), &user);
            t.record_step(Instant(32_420_000), &step);
            t.record_event(Instant(32_420_000), &sent);
            t.record_event(Instant(52_665), &updated);
        });
        assert_eq!(all, "a70616115775c1c8");
    }

    #[test]
    fn records_lines_with_time_first_and_renders_them() {
        let mut t = Trace::new(true);
        t.record_own(Instant(5_400_000), &Item { kind: "ping", n: 3 });
        assert_eq!(t.jsonl(), "{\"at_ms\":5400000,\"kind\":\"ping\",\"n\":3}\n");
        assert_eq!(t.render(), "     1h30m ping n=3\n");
        let mut digest_only = Trace::new(false);
        digest_only.record_own(Instant(5_400_000), &Item { kind: "ping", n: 3 });
        assert_eq!(digest_only.digest(), t.digest());
        assert_eq!(digest_only.jsonl(), "");
        assert_eq!(digest_only.len(), 1);
    }

    #[test]
    fn a_line_that_is_not_an_object_is_refused_and_changes_nothing() {
        let mut t = Trace::new(true);
        t.record_own(Instant(1), &Item { kind: "ping", n: 1 });
        let (digest, lines) = (t.digest(), t.jsonl());
        let mut keyed = std::collections::BTreeMap::new();
        keyed.insert((1u8, 2u8), 3u8);
        assert!(matches!(
            t.record(Instant(2), &keyed),
            Err(RecordError::Unserializable(_))
        ));
        for refused in [
            serde_json::json!(5),
            serde_json::json!("text"),
            serde_json::json!([1]),
            serde_json::json!({}),
            Value::Null,
        ] {
            assert_eq!(
                t.record(Instant(2), &refused),
                Err(RecordError::NotAnObject)
            );
        }
        assert_eq!((t.digest(), t.jsonl(), t.len()), (digest, lines, 1));
        assert_eq!(
            t.record(Instant(3), &serde_json::json!({"kind": "note"})),
            Ok(())
        );
        assert_eq!(t.len(), 2);
    }
}
