//! The ops of scenario files (the scenario format) and their fields: one row per op in
//! [`OPS`], its name (as files spell it and the trace prints it) and its
//! parser, and the readers that turn each field's JSON into its type.
//!
//! A parser asks a [`Fields`] reader for every field its op takes, and only
//! then gives up on a missing or bad one. The reader keeps what was asked and
//! what went wrong, so a key no parser asked for is an unknown field without a
//! second list of field names, and of several problems in one step the first
//! in the step's key order is reported.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::parse::{ParseError, check_ref_name, duration, error, quote};
use super::step::{
    Continuation, InThread, Op, OutboxQuery, PageSpec, Participant, RetentionField, ThreadSettings,
};
use crate::core::{BindingSpec, ContentType, ConversationState, ParticipantSpec, StateTimers};
use crate::rules::{Channel, Media, Route, Status};
use crate::time::{Duration, Instant};

/// The row of the op named `name`: the name as the table spells it, and the
/// op's parser.
pub(super) fn find(name: &str) -> Option<(&'static str, Parser)> {
    OPS.iter().copied().find(|(known, _)| *known == name)
}

/// Reads the op fields of the step at `path` (`$.steps[i]`) with `parse`, the
/// parser of op `name`; `refs` are the refs earlier steps defined.
pub(super) fn read(
    name: &str,
    parse: Parser,
    map: &Map<String, Value>,
    path: &str,
    refs: &BTreeMap<String, usize>,
) -> Result<Op, ParseError> {
    let mut fields = Fields {
        map,
        path,
        refs,
        asked: Vec::new(),
        problems: Vec::new(),
        missing: Vec::new(),
    };
    let op = parse(&mut fields);
    fields.finish(op, name)
}

/// An op's parser: builds the op from the fields it asks `Fields` for. It asks
/// for every field it takes before giving up on a missing or bad one (`None`).
pub(super) type Parser = fn(&mut Fields) -> Option<Op>;

/// Every op: its name, as files spell it and the trace prints it, and its
/// parser. The one place an op's name is written in the scenario module.
const OPS: &[(&str, Parser)] = &[
    ("create_user", create_user),
    ("delete_user", |f| {
        let user = f.required("user", text);
        Some(Op::DeleteUser { user: user? })
    }),
    ("issue_token", issue_token),
    ("revoke_tokens", |f| {
        let user = f.required("user", text);
        Some(Op::RevokeTokens { user: user? })
    }),
    ("create_thread", create_thread),
    ("get_thread", |f| {
        let thread = f.target("thread", true);
        Some(Op::GetThread { thread: thread? })
    }),
    ("list_threads", |f| {
        let page = page(f);
        Some(Op::ListThreads { page })
    }),
    ("update_thread", update_thread),
    ("delete_thread", |f| {
        let thread = f.target("thread", true);
        Some(Op::DeleteThread { thread: thread? })
    }),
    ("recover_thread", |f| {
        let thread = f.target("thread", true);
        Some(Op::RecoverThread { thread: thread? })
    }),
    ("set_state", |f| {
        let thread = f.target("thread", true);
        let state = f.required("state", state);
        Some(Op::SetState {
            thread: thread?,
            state: state?,
        })
    }),
    ("add_participants", |f| {
        let thread = f.target("thread", true);
        let participants = f.required("participants", participants);
        Some(Op::AddParticipants {
            thread: thread?,
            participants: participants?,
        })
    }),
    ("remove_participant", |f| {
        let thread = f.target("thread", true);
        let participant = f.required("participant", string);
        Some(Op::RemoveParticipant {
            thread: thread?,
            participant: participant?,
        })
    }),
    ("list_participants", |f| {
        let thread = f.target("thread", true);
        let page = page(f);
        Some(Op::ListParticipants {
            thread: thread?,
            page,
        })
    }),
    ("send_message", send_message),
    ("get_message", |f| {
        let (thread, message) = (f.target("thread", true), f.target("message", true));
        Some(Op::GetMessage {
            thread: thread?,
            message: message?,
        })
    }),
    ("list_messages", |f| {
        let thread = f.target("thread", true);
        let page = page(f);
        let start_time = f.optional("start_time", instant);
        Some(Op::ListMessages {
            thread: thread?,
            page,
            start_time,
        })
    }),
    ("update_message", |f| {
        let (thread, message) = (f.target("thread", true), f.target("message", true));
        let content = f.required("content", text);
        Some(Op::UpdateMessage {
            thread: thread?,
            message: message?,
            content: content?,
        })
    }),
    ("delete_message", |f| {
        let (thread, message) = (f.target("thread", true), f.target("message", true));
        Some(Op::DeleteMessage {
            thread: thread?,
            message: message?,
        })
    }),
    ("send_typing", |f| {
        let thread = f.target("thread", true);
        Some(Op::SendTyping { thread: thread? })
    }),
    ("send_read_receipt", |f| {
        let (thread, message) = (f.target("thread", true), f.target("message", true));
        Some(Op::SendReadReceipt {
            thread: thread?,
            message: message?,
        })
    }),
    ("list_read_receipts", |f| {
        let thread = f.target("thread", true);
        let page = page(f);
        Some(Op::ListReadReceipts {
            thread: thread?,
            page,
        })
    }),
    ("update_metacounter", |f| {
        let thread = f.target("thread", true);
        let key = f.required("key", text);
        let delta = f.required("delta", integer);
        Some(Op::UpdateMetacounter {
            thread: thread?,
            key: key?,
            delta: delta?,
        })
    }),
    ("inbound", inbound),
    ("send_sms", send_sms),
    ("outbox", outbox),
    ("inbox", |f| {
        let user = f.required("user", string);
        Some(Op::Inbox { user: user? })
    }),
    ("webhook", webhook),
    ("advance", |_| Some(Op::Advance)),
];

fn webhook(f: &mut Fields) -> Option<Op> {
    let phase = f.required("phase", |value, path| match value.as_str() {
        Some(p @ ("pre" | "post")) => Ok(Arc::from(p)),
        _ => Err(error(path, "expected \"pre\" or \"post\"")),
    });
    let event = f.required("event", text);
    let url = f.required("url", text);
    let params = f.optional("params", metadata);
    let status = f.required("status", |value, path| {
        value
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n <= 999)
            .ok_or_else(|| error(path, "expected an HTTP status (0 for no answer)"))
    });
    Some(Op::Webhook {
        phase: phase?,
        event: event?,
        url: url?,
        params: params.unwrap_or_default(),
        status: status?,
    })
}

fn create_user(f: &mut Fields) -> Option<Op> {
    let id = f.required("id", text);
    let display_name = f.optional("display_name", text);
    Some(Op::CreateUser {
        id: id?,
        display_name,
    })
}

fn issue_token(f: &mut Fields) -> Option<Op> {
    let user = f.required("user", text);
    let scopes = f.required("scopes", texts);
    let expires_in = f.optional("expires_in", duration_field);
    Some(Op::IssueToken {
        user: user?,
        scopes: scopes?,
        expires_in,
    })
}

fn create_thread(f: &mut Fields) -> Option<Op> {
    let topic = f.required("topic", text);
    let participants = f.optional("participants", participants);
    let settings = thread_settings(f);
    let idempotency_key = f.optional("idempotency_key", text);
    let metadata = f.optional("metadata", metadata);
    Some(Op::CreateThread {
        topic: topic?,
        participants: participants.unwrap_or_default(),
        settings,
        idempotency_key,
        metadata,
    })
}

fn update_thread(f: &mut Fields) -> Option<Op> {
    let thread = f.target("thread", true);
    let topic = f.optional("topic", text);
    let settings = thread_settings(f);
    Some(Op::UpdateThread {
        thread: thread?,
        topic,
        settings,
    })
}

fn send_message(f: &mut Fields) -> Option<Op> {
    let thread = f.target("thread", true);
    let content = f.required("content", text);
    let content_type = f.optional("type", content_type);
    let media = f.optional("media", media);
    let metadata = f.optional("metadata", metadata);
    let template = f.optional("template", text);
    Some(Op::SendMessage {
        thread: thread?,
        content: content?,
        content_type: content_type.unwrap_or_default(),
        media: media.unwrap_or_default(),
        metadata: metadata.unwrap_or_default(),
        template,
    })
}

fn inbound(f: &mut Fields) -> Option<Op> {
    let channel = f.required("channel", channel);
    let from = f.required("from", string);
    let to = f.required("to", string);
    // No body is an empty one (a media-only message).
    let body = f.optional("body", text);
    let media = f.optional("media", media);
    Some(Op::Inbound {
        channel: channel?,
        from: from?,
        to: to?,
        body: body.unwrap_or_else(|| Arc::from("")),
        media: media.unwrap_or_default(),
    })
}

fn send_sms(f: &mut Fields) -> Option<Op> {
    let from = f.required("from", text);
    let to = f.required("to", texts);
    let message = f.required("message", text);
    let delivery_report = f.optional("delivery_report", flag);
    Some(Op::SendSms {
        from: from?,
        to: to?,
        message: message?,
        delivery_report: delivery_report.unwrap_or(false),
    })
}

fn outbox(f: &mut Fields) -> Option<Op> {
    let to = f.optional("to", string);
    let channel = f.optional("channel", route);
    let thread = f.target("thread", false);
    let status = f.optional("status", status);
    let message = f.target("message", false);
    let thread = match (thread, message) {
        (Some(thread), message) => Some(InThread { thread, message }),
        (None, Some(_)) if !f.map.contains_key("thread") => {
            f.problem(
                "message",
                "a message is named with its thread: give thread too",
            );
            None
        }
        _ => None,
    };
    Some(Op::Outbox(OutboxQuery {
        to,
        channel,
        status,
        thread,
    }))
}

/// `page_size` and `continuation`: a token, or `{"of": REF}`, the
/// continuation an earlier listing step named REF returned.
fn page(f: &mut Fields) -> PageSpec {
    let refs = f.refs;
    PageSpec {
        page_size: f.optional("page_size", page_size),
        continuation: f.read("continuation", false, |value, path| {
            continuation(value, path, refs)
        }),
    }
}

fn continuation(
    value: &Value,
    path: &str,
    refs: &BTreeMap<String, usize>,
) -> Result<Continuation, ParseError> {
    match value {
        Value::String(token) => Ok(Continuation::Token(token.clone())),
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| *k != "of") {
                return Err(error(&format!("{path}.{key}"), "unknown field"));
            }
            let of = format!("{path}.of");
            let name = map
                .get("of")
                .ok_or_else(|| error(&of, "missing (the ref of an earlier listing step)"))?
                .as_str()
                .ok_or_else(|| error(&of, "expected a ref (a string)"))?;
            if !refs.contains_key(name) {
                return Err(error(
                    &of,
                    format!("{} is not a ref defined by an earlier step", quote(name)),
                ));
            }
            Ok(Continuation::Of(name.to_string()))
        }
        _ => Err(error(
            path,
            "expected a continuation token or {\"of\": REF}",
        )),
    }
}

/// `retention`, `state` and `timers` of a create or update step.
fn thread_settings(f: &mut Fields) -> ThreadSettings {
    ThreadSettings {
        retention: f.optional("retention", retention),
        state: f.optional("state", state),
        timers: f.optional("timers", timers),
    }
}

/// Keys every step may carry besides its op's fields.
const STEP_KEYS: [&str; 6] = ["at", "as", "token", "op", "ref", "expect"];

/// One step's op fields, as its parser reads them.
pub(super) struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// The step's path, `$.steps[i]`.
    path: &'a str,
    refs: &'a BTreeMap<String, usize>,
    /// The fields the parser asked for, in the order it asked.
    asked: Vec<&'static str>,
    /// The problem with each field that had one.
    problems: Vec<(&'static str, ParseError)>,
    /// Required fields the step lacks, in the order they were asked for.
    missing: Vec<&'static str>,
}

impl Fields<'_> {
    fn required<T>(&mut self, key: &'static str, read: Read<T>) -> Option<T> {
        self.read(key, true, read)
    }

    fn optional<T>(&mut self, key: &'static str, read: Read<T>) -> Option<T> {
        self.read(key, false, read)
    }

    /// A thread or message: a ref defined by an earlier step, or an id.
    fn target(&mut self, key: &'static str, required: bool) -> Option<String> {
        let refs = self.refs;
        self.read(key, required, |value, path| target(value, path, refs))
    }

    fn read<T>(
        &mut self,
        key: &'static str,
        required: bool,
        read: impl FnOnce(&Value, &str) -> Result<T, ParseError>,
    ) -> Option<T> {
        self.asked.push(key);
        let Some(value) = self.map.get(key) else {
            if required {
                self.missing.push(key);
            }
            return None;
        };
        match read(value, &format!("{}.{key}", self.path)) {
            Ok(read) => Some(read),
            Err(problem) => {
                self.problems.push((key, problem));
                None
            }
        }
    }

    /// A problem that is not one field's shape (fields that go together).
    fn problem(&mut self, key: &'static str, message: &str) {
        let problem = error(&format!("{}.{key}", self.path), message);
        self.problems.push((key, problem));
    }

    /// The op, or the step's first problem: in the step's key order an
    /// unknown field or a bad one, then the first missing required field.
    fn finish(self, op: Option<Op>, op_name: &str) -> Result<Op, ParseError> {
        for key in self.map.keys() {
            if STEP_KEYS.contains(&key.as_str()) {
                continue;
            }
            if !self.asked.contains(&key.as_str()) {
                return Err(error(
                    &format!("{}.{key}", self.path),
                    format!("unknown field for op {op_name}"),
                ));
            }
            if let Some((_, problem)) = self.problems.iter().find(|(k, _)| k == key) {
                return Err(problem.clone());
            }
        }
        if let Some(key) = self.missing.first() {
            return Err(error(
                &format!("{}.{key}", self.path),
                format!("missing (required by op {op_name})"),
            ));
        }
        op.ok_or_else(|| error(self.path, format!("op {op_name} could not be read")))
    }
}

/// Reads one field's value at its path.
type Read<T> = fn(&Value, &str) -> Result<T, ParseError>;

fn text(value: &Value, path: &str) -> Result<Arc<str>, ParseError> {
    value
        .as_str()
        .map(Arc::from)
        .ok_or_else(|| error(path, "expected a string"))
}

fn string(value: &Value, path: &str) -> Result<String, ParseError> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| error(path, "expected a string"))
}

fn texts(value: &Value, path: &str) -> Result<Vec<Arc<str>>, ParseError> {
    let list = value.as_array().and_then(|items| {
        items
            .iter()
            .map(|item| item.as_str().map(Arc::from))
            .collect::<Option<Vec<_>>>()
    });
    list.ok_or_else(|| error(path, "expected a list of strings"))
}

fn integer(value: &Value, path: &str) -> Result<i64, ParseError> {
    value
        .as_i64()
        .ok_or_else(|| error(path, "expected an integer (64-bit, signed)"))
}

fn flag(value: &Value, path: &str) -> Result<bool, ParseError> {
    value
        .as_bool()
        .ok_or_else(|| error(path, "expected true or false"))
}

fn page_size(value: &Value, path: &str) -> Result<u32, ParseError> {
    let n = value
        .as_u64()
        .ok_or_else(|| error(path, "expected a non-negative integer"))?;
    u32::try_from(n).map_err(|_| {
        error(
            path,
            format!("{n} is larger than any page size (at most {})", u32::MAX),
        )
    })
}

/// A duration text such as `"90s"`, or a number of milliseconds; `None` for
/// any other value.
fn duration_value(value: &Value, path: &str) -> Result<Option<Duration>, ParseError> {
    match value {
        Value::String(text) => duration(text, path).map(Some),
        other => Ok(other.as_u64().map(Duration)),
    }
}

fn duration_field(value: &Value, path: &str) -> Result<Duration, ParseError> {
    duration_value(value, path)?.ok_or_else(|| {
        error(
            path,
            "expected a duration such as \"90s\" or a number of ms",
        )
    })
}

/// An instant given as the duration since the start.
fn instant(value: &Value, path: &str) -> Result<Instant, ParseError> {
    duration_field(value, path).map(|d| Instant(d.ms()))
}

/// A thread or message field: a ref defined by an earlier step, or an id.
fn target(value: &Value, path: &str, refs: &BTreeMap<String, usize>) -> Result<String, ParseError> {
    let Value::String(text) = value else {
        return Err(error(path, "expected a ref or an id (a string)"));
    };
    let is_id =
        crate::id::ThreadId::parse(text).is_some() || crate::id::parse_message_id(text).is_some();
    if refs.contains_key(text) || is_id {
        Ok(text.clone())
    } else {
        Err(error(
            path,
            format!(
                "{} is neither a ref defined by an earlier step nor an id",
                quote(text)
            ),
        ))
    }
}

fn retention(value: &Value, path: &str) -> Result<RetentionField, ParseError> {
    let expected = || error(path, "expected \"none\" or {\"delete_after\": \"30d\"}");
    match value {
        Value::String(s) if s == "none" => Ok(RetentionField::None),
        Value::Object(map) if map.len() == 1 => match map.get("delete_after") {
            Some(Value::String(s)) => {
                duration(s, &format!("{path}.delete_after")).map(RetentionField::DeleteAfter)
            }
            _ => Err(expected()),
        },
        _ => Err(expected()),
    }
}

fn metadata(value: &Value, path: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let entries = value.as_object().and_then(|map| {
        map.iter()
            .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect::<Option<BTreeMap<_, _>>>()
    });
    entries.ok_or_else(|| error(path, "expected an object of string values"))
}

fn state(value: &Value, path: &str) -> Result<ConversationState, ParseError> {
    value
        .as_str()
        .and_then(ConversationState::parse)
        .ok_or_else(|| error(path, "expected \"active\", \"inactive\" or \"closed\""))
}

/// A channel: `"sms"` or `"whatsapp"` (an `inbound` step's, a fault's).
pub(super) fn channel(value: &Value, path: &str) -> Result<Channel, ParseError> {
    match value.as_str() {
        Some("sms") => Ok(Channel::Sms),
        Some("whatsapp") => Ok(Channel::Whatsapp),
        _ => Err(error(path, "expected \"sms\" or \"whatsapp\"")),
    }
}

fn content_type(value: &Value, path: &str) -> Result<ContentType, ParseError> {
    match value.as_str() {
        Some("text") => Ok(ContentType::Text),
        Some("html") => Ok(ContentType::Html),
        _ => Err(error(path, "expected \"text\" or \"html\"")),
    }
}

/// Twilio's timers; their values are checked by the platform (Twilio's
/// 50379), not here.
fn timers(value: &Value, path: &str) -> Result<StateTimers, ParseError> {
    let timers = value.as_object().and_then(|map| {
        let valid = !map.is_empty()
            && map
                .iter()
                .all(|(k, v)| (k == "inactive" || k == "closed") && v.is_string());
        valid.then(|| StateTimers {
            inactive: map.get("inactive").and_then(Value::as_str).map(Arc::from),
            closed: map.get("closed").and_then(Value::as_str).map(Arc::from),
        })
    });
    timers.ok_or_else(|| {
        error(
            path,
            "expected {\"inactive\"?: \"PT1M\", \"closed\"?: \"PT10M\"} (ISO-8601 durations)",
        )
    })
}

/// The delivery route an outbox filter names.
fn route(value: &Value, path: &str) -> Result<Route, ParseError> {
    let name = value
        .as_str()
        .ok_or_else(|| error(path, "expected \"sms\", \"mms\" or \"whatsapp\""))?;
    [Route::Sms, Route::Mms, Route::Whatsapp]
        .into_iter()
        .find(|route| route.name() == name)
        .ok_or_else(|| error(path, format!("{} is not sms, mms or whatsapp", quote(name))))
}

/// The delivery status an outbox filter names.
fn status(value: &Value, path: &str) -> Result<Status, ParseError> {
    let known = || {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        names.join(", ")
    };
    let name = value
        .as_str()
        .ok_or_else(|| error(path, format!("expected a delivery status ({})", known())))?;
    Status::from_name(name).ok_or_else(|| {
        error(
            path,
            format!("{} is not a delivery status ({})", quote(name), known()),
        )
    })
}

const ONE_KIND: &str = "a participant has exactly one of user, sms, whatsapp";

fn participants(value: &Value, path: &str) -> Result<Vec<Participant>, ParseError> {
    let Value::Array(items) = value else {
        return Err(error(path, "expected a list of participants"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| participant(item, &format!("{path}[{i}]")))
        .collect()
}

fn participant(item: &Value, path: &str) -> Result<Participant, ParseError> {
    let map = match item {
        Value::String(user) if !user.is_empty() => {
            return Ok(Participant::User(ParticipantSpec::user(user.as_str())));
        }
        Value::Object(map) => map,
        _ => return Err(error(path, "expected a user id or a participant object")),
    };
    let kinds = ["user", "sms", "whatsapp"]
        .iter()
        .filter(|k| map.contains_key(**k))
        .count();
    if kinds != 1 {
        return Err(error(path, ONE_KIND));
    }
    let mut user = None;
    let mut display_name = None;
    let mut share_history_from = None;
    let mut sms = None;
    let mut whatsapp = None;
    let mut proxy = None;
    let mut reference = None;
    for (key, value) in map {
        let here = format!("{path}.{key}");
        let non_empty = || error(&here, "expected a non-empty string");
        if key == "share_history_from" {
            let from = duration_value(value, &here)?.ok_or_else(non_empty)?;
            share_history_from = Some(Instant(from.ms()));
            continue;
        }
        let slot = match key.as_str() {
            "user" => &mut user,
            "display_name" => &mut display_name,
            "sms" => &mut sms,
            "whatsapp" => &mut whatsapp,
            "proxy" => &mut proxy,
            "ref" => &mut reference,
            _ => return Err(error(&here, "unknown field")),
        };
        let text = value
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(non_empty)?;
        if key == "ref" {
            check_ref_name(text, &here)?;
        }
        *slot = Some(text);
    }
    let binding = |channel: Channel, address: &str| Participant::Binding {
        binding: BindingSpec {
            channel,
            address: Arc::from(address),
            // An SMS participant without a proxy is a group MMS participant.
            proxy: Arc::from(proxy.unwrap_or("")),
        },
        reference: reference.map(str::to_string),
    };
    match (user, sms, whatsapp) {
        (Some(user), _, _) => Ok(Participant::User(ParticipantSpec {
            user: Arc::from(user),
            display_name: display_name.map(Arc::from),
            share_history_from,
        })),
        (None, Some(address), _) => Ok(binding(Channel::Sms, address)),
        (None, None, Some(address)) => Ok(binding(Channel::Whatsapp, address)),
        (None, None, None) => Err(error(path, ONE_KIND)),
    }
}

fn media(value: &Value, path: &str) -> Result<Vec<Media>, ParseError> {
    let Value::Array(items) = value else {
        return Err(error(path, "expected a list of media items"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| medium(item, &format!("{path}[{i}]")))
        .collect()
}

fn medium(item: &Value, path: &str) -> Result<Media, ParseError> {
    let Value::Object(map) = item else {
        return Err(error(path, "expected {content_type, bytes, name?}"));
    };
    for key in map.keys() {
        if !["content_type", "bytes", "name"].contains(&key.as_str()) {
            return Err(error(&format!("{path}.{key}"), "unknown field"));
        }
    }
    let content_type = map
        .get("content_type")
        .and_then(Value::as_str)
        .ok_or_else(|| error(&format!("{path}.content_type"), "expected a string"))?;
    let bytes = map
        .get("bytes")
        .and_then(Value::as_u64)
        .ok_or_else(|| error(&format!("{path}.bytes"), "expected a non-negative integer"))?;
    let name = match map.get("name") {
        None => None,
        Some(Value::String(name)) => Some(Arc::from(name.as_str())),
        Some(_) => return Err(error(&format!("{path}.name"), "expected a string")),
    };
    Ok(Media {
        content_type: Arc::from(content_type),
        bytes,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields `parse` asks for when the step holds `map`.
    fn asked(parse: Parser, map: &Map<String, Value>) -> Vec<&'static str> {
        let refs = BTreeMap::new();
        let mut fields = Fields {
            map,
            path: "$.steps[0]",
            refs: &refs,
            asked: Vec::new(),
            problems: Vec::new(),
            missing: Vec::new(),
        };
        parse(&mut fields);
        fields.asked
    }

    #[test]
    fn each_op_is_named_once() {
        for (i, (name, _)) in OPS.iter().enumerate() {
            assert!(
                OPS[..i].iter().all(|(earlier, _)| earlier != name),
                "{name} twice"
            );
            assert_eq!(find(name).map(|(n, _)| n), Some(*name));
        }
        assert!(find("teleport").is_none());
    }

    /// A parser that stopped at the first missing or bad field would make
    /// the fields after it look unknown: every parser asks for the same
    /// fields whether they are absent, all bad, or all good enough to pass.
    #[test]
    fn every_parser_asks_for_all_its_fields_whatever_their_values() {
        for (name, parse) in OPS {
            let all = asked(*parse, &Map::new());
            let nulls: Map<String, Value> =
                all.iter().map(|k| (k.to_string(), Value::Null)).collect();
            assert_eq!(asked(*parse, &nulls), all, "{name}");
            let strings: Map<String, Value> = all
                .iter()
                .map(|k| (k.to_string(), Value::from("t1")))
                .collect();
            assert_eq!(asked(*parse, &strings), all, "{name}");
        }
    }

    #[test]
    fn a_step_without_its_required_fields_names_the_first_missing() {
        let refs = BTreeMap::new();
        let (name, parse) = find("update_message").unwrap();
        let e = read(name, parse, &Map::new(), "$.steps[4]", &refs).unwrap_err();
        assert_eq!(e.path, "$.steps[4].thread");
        assert_eq!(e.message, "missing (required by op update_message)");
    }
}
