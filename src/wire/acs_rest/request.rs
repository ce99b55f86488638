//! Reading an ACS REST request: the route (method and percent-decoded path
//! segments), the query, the `api-version`, the body's content type and JSON,
//! and each operation's fields, into a typed [`AcsCall`]. Paths, fields and
//! their names follow the ACS Chat API specification (2024-03-07, and the
//! 2025-03-15 fields the JavaScript SDK sends), the Identity API (2023-10-01)
//! and the SMS API (2021-03-07).
//!
//! Everything that is wrong with a request by itself is a [`WireError`] here,
//! before the simulator sees it: an unknown path, a bad percent-encoding, a
//! missing or malformed `api-version`, a body that is not JSON or not
//! `application/json`, a field of the wrong type. What depends on the
//! platform's state (a thread that does not exist, a message too large) is
//! the simulator's to answer.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::WireError;
use super::ids::{self, Resource};
use crate::id::{MessageId, ThreadId};
use crate::wire::calendar::{Epoch, parse_rfc3339};

/// Which API a path belongs to, and so which credential it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// `/chat/…`: a user's Bearer token.
    Chat,
    /// `/identities…`: HMAC with the resource's access key.
    Identity,
    /// `/sms`: HMAC with the resource's access key.
    Sms,
}

/// The API a raw path belongs to, if any.
pub fn api_of(path: &str) -> Option<Api> {
    let first = path.trim_start_matches('/').split(['/', '?']).next()?;
    match first {
        "chat" => Some(Api::Chat),
        "identities" => Some(Api::Identity),
        "sms" => Some(Api::Sms),
        _ => None,
    }
}

/// A thread named in a path: one of this resource's, or a name that is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named<T> {
    /// A thread or message of this resource.
    Known(T),
    /// The name as given, which names nothing here (404).
    Unknown(String),
}

/// A chat participant as a create or add call names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// The identifier's raw id (a `communicationUser`'s id).
    pub user: String,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `shareHistoryTime` as a virtual instant (ms).
    pub share_history_from_ms: Option<u64>,
}

/// ACS's `retentionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionPolicy {
    /// `retentionPolicy: null`: no retention.
    None,
    /// `threadCreationDate` policy: delete this many days after creation.
    DeleteAfterDays(u32),
}

/// A page request: `maxPageSize` and where to go on (`skip` or `syncState`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// `maxPageSize`.
    pub max_page_size: Option<u32>,
    /// The core's continuation token (`c<n>`), from `skip` or `syncState`.
    pub continuation: Option<String>,
}

/// One ACS REST call, with its fields read and typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcsCall {
    // Identity
    /// `POST /identities`: create an identity.
    CreateIdentity {
        /// `createTokenWithScopes`: issue a token with the identity.
        token_scopes: Option<Vec<String>>,
        /// `expiresInMinutes` of that token.
        expires_in_minutes: Option<u64>,
    },
    /// `DELETE /identities/{id}`.
    DeleteIdentity {
        /// The identity's raw id.
        user: String,
    },
    /// `POST /identities/{id}/:issueAccessToken`.
    IssueToken {
        /// The identity's raw id.
        user: String,
        /// The scope names (`chat`, `voip`, …).
        scopes: Vec<String>,
        /// `expiresInMinutes`; `None` for the default 24 hours.
        expires_in_minutes: Option<u64>,
    },
    /// `POST /identities/{id}/:revokeAccessTokens`.
    RevokeTokens {
        /// The identity's raw id.
        user: String,
    },
    // SMS
    /// `POST /sms`: one message to its recipients.
    SendSms {
        /// The sending number.
        from: String,
        /// The recipients' numbers.
        to: Vec<String>,
        /// The text.
        message: String,
        /// `enableDeliveryReport`.
        delivery_report: bool,
    },
    // Chat
    /// `POST /chat/threads`.
    CreateThread {
        /// `topic`.
        topic: String,
        /// `participants`.
        participants: Vec<Participant>,
        /// The `repeatability-request-id` header.
        idempotency_key: Option<String>,
        /// `retentionPolicy`.
        retention: Option<RetentionPolicy>,
        /// `metadata`.
        metadata: BTreeMap<String, String>,
    },
    /// `GET /chat/threads`: the caller's threads.
    ListThreads {
        /// The page size and where to go on.
        page: PageQuery,
        /// `startTime`, in virtual milliseconds since the epoch.
        start_time_ms: Option<u64>,
    },
    /// `GET /chat/threads/{id}`.
    GetThread {
        /// The thread.
        thread: Named<ThreadId>,
    },
    /// `PATCH /chat/threads/{id}`.
    UpdateThread {
        /// The thread.
        thread: Named<ThreadId>,
        /// `topic`.
        topic: Option<String>,
        /// `retentionPolicy`.
        retention: Option<RetentionPolicy>,
        /// `metadata`.
        metadata: BTreeMap<String, String>,
    },
    /// `DELETE /chat/threads/{id}`.
    DeleteThread {
        /// The thread.
        thread: Named<ThreadId>,
    },
    /// `POST /chat/threads/{id}/participants/:add`.
    AddParticipants {
        /// The thread.
        thread: Named<ThreadId>,
        /// `participants`.
        participants: Vec<Participant>,
    },
    /// `POST /chat/threads/{id}/participants/:remove`.
    RemoveParticipant {
        /// The thread.
        thread: Named<ThreadId>,
        /// The participant's raw id.
        user: String,
    },
    /// `GET /chat/threads/{id}/participants`.
    ListParticipants {
        /// The thread.
        thread: Named<ThreadId>,
        /// The page size and where to go on.
        page: PageQuery,
    },
    /// `POST /chat/threads/{id}/messages`.
    SendMessage {
        /// The thread.
        thread: Named<ThreadId>,
        /// `content`.
        content: String,
        /// `type: html`.
        html: bool,
        /// `metadata`.
        metadata: BTreeMap<String, String>,
    },
    /// `GET /chat/threads/{id}/messages`.
    ListMessages {
        /// The thread.
        thread: Named<ThreadId>,
        /// The page size and where to go on.
        page: PageQuery,
        /// `startTime`, in virtual milliseconds since the epoch.
        start_time_ms: Option<u64>,
    },
    /// `GET /chat/threads/{id}/messages/{messageId}`.
    GetMessage {
        /// The message.
        message: Named<MessageId>,
    },
    /// `PATCH /chat/threads/{id}/messages/{messageId}`.
    UpdateMessage {
        /// The message.
        message: Named<MessageId>,
        /// `content`.
        content: Option<String>,
        /// `metadata`.
        metadata: Option<BTreeMap<String, String>>,
    },
    /// `DELETE /chat/threads/{id}/messages/{messageId}`.
    DeleteMessage {
        /// The message.
        message: Named<MessageId>,
    },
    /// `POST /chat/threads/{id}/typing`.
    SendTyping {
        /// The thread.
        thread: Named<ThreadId>,
    },
    /// `POST /chat/threads/{id}/readReceipts`.
    SendReadReceipt {
        /// The message read up to (`chatMessageId`).
        message: Named<MessageId>,
    },
    /// `GET /chat/threads/{id}/readReceipts`.
    ListReadReceipts {
        /// The thread.
        thread: Named<ThreadId>,
        /// The page size and where to go on.
        page: PageQuery,
    },
}

/// A request as the HTTP layer hands it over: nothing decoded yet.
#[derive(Clone, Copy, Debug)]
pub struct RawRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query as sent, without `?`.
    pub query: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body's bytes.
    pub body: &'a [u8],
    /// The `repeatability-request-id` header (chat thread creation).
    pub repeatability_request_id: Option<&'a str>,
}

/// What reading a request needs to know of the resource.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The resource's ids and host.
    pub resource: &'a Resource,
    /// The instant virtual time 0 stands for.
    pub epoch: Epoch,
}

/// Percent-decodes one path segment or query component (RFC 3986 section
/// 2.1); the result must be UTF-8.
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            ) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(format!("bad percent-encoding in {text:?}")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}

/// The decoded query pairs, in order.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, WireError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').unwrap_or((part, ""));
        let key = percent_decode(key).map_err(|m| WireError::bad_request("query", m))?;
        let value = percent_decode(value).map_err(|m| WireError::bad_request(&key, m))?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn query_value<'q>(pairs: &'q [(String, String)], key: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Checks the `api-version`: present and of the form `YYYY-MM-DD` with an
/// optional `-suffix` (such as `-preview`). A version this server does not
/// know is accepted and answered in the newest shape it knows.
pub fn check_api_version(pairs: &[(String, String)]) -> Result<(), WireError> {
    let Some(version) = query_value(pairs, "api-version") else {
        return Err(WireError::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
            Some("api-version"),
        ));
    };
    let b = version.as_bytes();
    let date_ok = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10
            || (b[10] == b'-'
                && b.len() > 11
                && b[11..]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'.')));
    if !date_ok {
        return Err(WireError::new(
            400,
            "InvalidApiVersionParameter",
            &format!("The api-version {version:?} is not of the form YYYY-MM-DD[-suffix]."),
            Some("api-version"),
        ));
    }
    Ok(())
}

/// Reads a request of the ACS APIs into its call.
pub fn read(request: &RawRequest<'_>, cx: Context<'_>) -> Result<AcsCall, WireError> {
    let segments = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect::<Result<Vec<String>, String>>()
        .map_err(|m| WireError::bad_request("path", m))?;
    let pairs = query_pairs(request.query)?;
    let route = route(request.method, &segments).ok_or_else(|| {
        WireError::new(
            404,
            "NotFound",
            &format!(
                "No ACS operation answers {} {}.",
                request.method, request.path
            ),
            None,
        )
    })?;
    check_api_version(&pairs)?;
    let body = body(request, route.body)?;
    let reader = Reader {
        cx,
        pairs: &pairs,
        body: &body,
        segments: &segments,
    };
    reader.call(route.op, request.repeatability_request_id)
}

/// How a route takes a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyRule {
    /// No body is read.
    None,
    /// A JSON object is required.
    Required,
    /// A JSON object, or nothing (read as `{}`).
    Optional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    CreateIdentity,
    DeleteIdentity,
    IssueToken,
    RevokeTokens,
    SendSms,
    CreateThread,
    ListThreads,
    GetThread,
    UpdateThread,
    DeleteThread,
    AddParticipants,
    RemoveParticipant,
    ListParticipants,
    SendMessage,
    ListMessages,
    GetMessage,
    UpdateMessage,
    DeleteMessage,
    SendTyping,
    SendReadReceipt,
    ListReadReceipts,
}

struct Route {
    op: Op,
    body: BodyRule,
}

/// The operation at `method` and `segments`, from the APIs' path tables.
fn route(method: &str, segments: &[String]) -> Option<Route> {
    use BodyRule::{None as NoBody, Optional, Required};
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (op, body) = match (method, s.as_slice()) {
        ("POST", ["identities"]) => (Op::CreateIdentity, Optional),
        ("DELETE", ["identities", _]) => (Op::DeleteIdentity, NoBody),
        ("POST", ["identities", _, ":issueAccessToken"]) => (Op::IssueToken, Required),
        ("POST", ["identities", _, ":revokeAccessTokens"]) => (Op::RevokeTokens, Optional),
        ("POST", ["sms"]) => (Op::SendSms, Required),
        ("POST", ["chat", "threads"]) => (Op::CreateThread, Required),
        ("GET", ["chat", "threads"]) => (Op::ListThreads, NoBody),
        ("GET", ["chat", "threads", _]) => (Op::GetThread, NoBody),
        ("PATCH", ["chat", "threads", _]) => (Op::UpdateThread, Required),
        ("DELETE", ["chat", "threads", _]) => (Op::DeleteThread, NoBody),
        ("POST", ["chat", "threads", _, "participants", ":add"]) => (Op::AddParticipants, Required),
        ("POST", ["chat", "threads", _, "participants", ":remove"]) => {
            (Op::RemoveParticipant, Required)
        }
        ("GET", ["chat", "threads", _, "participants"]) => (Op::ListParticipants, NoBody),
        ("POST", ["chat", "threads", _, "messages"]) => (Op::SendMessage, Required),
        ("GET", ["chat", "threads", _, "messages"]) => (Op::ListMessages, NoBody),
        ("GET", ["chat", "threads", _, "messages", _]) => (Op::GetMessage, NoBody),
        ("PATCH", ["chat", "threads", _, "messages", _]) => (Op::UpdateMessage, Required),
        ("DELETE", ["chat", "threads", _, "messages", _]) => (Op::DeleteMessage, NoBody),
        ("POST", ["chat", "threads", _, "typing"]) => (Op::SendTyping, Optional),
        ("POST", ["chat", "threads", _, "readReceipts"]) => (Op::SendReadReceipt, Required),
        ("GET", ["chat", "threads", _, "readReceipts"]) => (Op::ListReadReceipts, NoBody),
        _ => return None,
    };
    Some(Route { op, body })
}

/// The body as a JSON object, by the route's rule.
fn body(request: &RawRequest<'_>, rule: BodyRule) -> Result<Map<String, Value>, WireError> {
    let empty = request.body.iter().all(u8::is_ascii_whitespace);
    match rule {
        BodyRule::None => return Ok(Map::new()),
        BodyRule::Optional if empty => return Ok(Map::new()),
        BodyRule::Required if empty => {
            return Err(WireError::bad_request(
                "body",
                "A request body is required.",
            ));
        }
        _ => {}
    }
    let media_type = request.content_type.map(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    match media_type.as_deref() {
        Some("application/json" | "application/merge-patch+json" | "text/json") => {}
        other => {
            return Err(WireError::new(
                415,
                "UnsupportedMediaType",
                &format!(
                    "The content type {} is not supported; send application/json.",
                    other.map_or("(none)".to_string(), |t| format!("{t:?}"))
                ),
                Some("Content-Type"),
            ));
        }
    }
    let value: Value = serde_json::from_slice(request.body).map_err(|e| {
        WireError::bad_request("body", format!("The request body is not valid JSON: {e}."))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(WireError::bad_request(
            "body",
            "The request body must be a JSON object.",
        )),
    }
}

struct Reader<'a> {
    cx: Context<'a>,
    pairs: &'a [(String, String)],
    body: &'a Map<String, Value>,
    segments: &'a [String],
}

impl Reader<'_> {
    fn call(&self, op: Op, repeatability: Option<&str>) -> Result<AcsCall, WireError> {
        Ok(match op {
            Op::CreateIdentity => AcsCall::CreateIdentity {
                token_scopes: self.opt_strings("createTokenWithScopes")?,
                expires_in_minutes: self.opt_u64("expiresInMinutes")?,
            },
            Op::DeleteIdentity => AcsCall::DeleteIdentity {
                user: self.segments[1].clone(),
            },
            Op::IssueToken => AcsCall::IssueToken {
                user: self.segments[1].clone(),
                scopes: self
                    .opt_strings("scopes")?
                    .ok_or_else(|| missing("scopes"))?,
                expires_in_minutes: self.opt_u64("expiresInMinutes")?,
            },
            Op::RevokeTokens => AcsCall::RevokeTokens {
                user: self.segments[1].clone(),
            },
            Op::SendSms => self.send_sms()?,
            Op::CreateThread => AcsCall::CreateThread {
                topic: self.string("topic")?,
                participants: self.participants("participants", false)?,
                idempotency_key: repeatability.map(str::to_string),
                retention: self.retention()?,
                metadata: self.metadata("metadata")?.unwrap_or_default(),
            },
            Op::ListThreads => AcsCall::ListThreads {
                page: self.page(false)?,
                start_time_ms: self.start_time()?,
            },
            Op::GetThread => AcsCall::GetThread {
                thread: self.thread(),
            },
            Op::UpdateThread => AcsCall::UpdateThread {
                thread: self.thread(),
                topic: self.opt_string("topic")?,
                retention: self.retention()?,
                metadata: self.metadata("metadata")?.unwrap_or_default(),
            },
            Op::DeleteThread => AcsCall::DeleteThread {
                thread: self.thread(),
            },
            Op::AddParticipants => AcsCall::AddParticipants {
                thread: self.thread(),
                participants: self.participants("participants", true)?,
            },
            Op::RemoveParticipant => AcsCall::RemoveParticipant {
                thread: self.thread(),
                user: identifier(&Value::Object(self.body.clone()), "body")?,
            },
            Op::ListParticipants => AcsCall::ListParticipants {
                thread: self.thread(),
                page: self.page(true)?,
            },
            Op::SendMessage => AcsCall::SendMessage {
                thread: self.thread(),
                content: self.string("content")?,
                html: self.message_type()?,
                metadata: self.metadata("metadata")?.unwrap_or_default(),
            },
            Op::ListMessages => AcsCall::ListMessages {
                thread: self.thread(),
                page: self.page(false)?,
                start_time_ms: self.start_time()?,
            },
            Op::GetMessage => AcsCall::GetMessage {
                message: self.message_in_path(),
            },
            Op::UpdateMessage => AcsCall::UpdateMessage {
                message: self.message_in_path(),
                content: self.opt_string("content")?,
                metadata: self.metadata("metadata")?,
            },
            Op::DeleteMessage => AcsCall::DeleteMessage {
                message: self.message_in_path(),
            },
            Op::SendTyping => {
                // senderDisplayName only names the sender in push notifications.
                self.opt_string("senderDisplayName")?;
                AcsCall::SendTyping {
                    thread: self.thread(),
                }
            }
            Op::SendReadReceipt => {
                let id = self.string("chatMessageId")?;
                AcsCall::SendReadReceipt {
                    message: match self.thread() {
                        Named::Known(t) => match ids::parse_message(t, &id) {
                            Some(m) => Named::Known(m),
                            None => Named::Unknown(id),
                        },
                        Named::Unknown(name) => Named::Unknown(name),
                    },
                }
            }
            Op::ListReadReceipts => AcsCall::ListReadReceipts {
                thread: self.thread(),
                page: self.page(true)?,
            },
        })
    }

    fn thread(&self) -> Named<ThreadId> {
        let name = &self.segments[2];
        match self.cx.resource.parse_thread(name) {
            Some(t) => Named::Known(t),
            None => Named::Unknown(name.clone()),
        }
    }

    fn message_in_path(&self) -> Named<MessageId> {
        let name = &self.segments[4];
        match self.thread() {
            Named::Known(t) => match ids::parse_message(t, name) {
                Some(m) => Named::Known(m),
                None => Named::Unknown(name.clone()),
            },
            Named::Unknown(thread) => Named::Unknown(thread),
        }
    }

    fn field(&self, key: &str) -> Option<&Value> {
        self.body.get(key).filter(|v| !v.is_null())
    }

    fn string(&self, key: &str) -> Result<String, WireError> {
        self.opt_string(key)?.ok_or_else(|| missing(key))
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>, WireError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(wrong_type(key, "a string")),
        }
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>, WireError> {
        match self.field(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a non-negative integer")),
        }
    }

    fn opt_strings(&self, key: &str) -> Result<Option<Vec<String>>, WireError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a list of strings")),
            Some(_) => Err(wrong_type(key, "a list of strings")),
        }
    }

    fn metadata(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, WireError> {
        match self.field(key) {
            None => Ok(None),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect::<Option<BTreeMap<_, _>>>()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "an object of string values")),
            Some(_) => Err(wrong_type(key, "an object of string values")),
        }
    }

    fn message_type(&self) -> Result<bool, WireError> {
        match self.opt_string("type")? {
            None => Ok(false),
            Some(t) if t.eq_ignore_ascii_case("text") => Ok(false),
            Some(t) if t.eq_ignore_ascii_case("html") => Ok(true),
            Some(t) => Err(WireError::bad_request(
                "type",
                format!("A message sent is of type text or html, not {t:?}."),
            )),
        }
    }

    fn retention(&self) -> Result<Option<RetentionPolicy>, WireError> {
        let Some(value) = self.field("retentionPolicy") else {
            return Ok(None);
        };
        let bad = || {
            WireError::bad_request(
                "retentionPolicy",
                "retentionPolicy is {\"kind\": \"none\"} or {\"kind\": \"threadCreationDate\", \
                 \"deleteThreadAfterDays\": N}.",
            )
        };
        let map = value.as_object().ok_or_else(bad)?;
        match map.get("kind").and_then(Value::as_str) {
            Some("none") => Ok(Some(RetentionPolicy::None)),
            Some("threadCreationDate") => {
                let days = map
                    .get("deleteThreadAfterDays")
                    .and_then(Value::as_u64)
                    .and_then(|d| u32::try_from(d).ok())
                    .ok_or_else(bad)?;
                Ok(Some(RetentionPolicy::DeleteAfterDays(days)))
            }
            _ => Err(bad()),
        }
    }

    fn participants(&self, key: &str, required: bool) -> Result<Vec<Participant>, WireError> {
        let items = match self.field(key) {
            None if required => return Err(missing(key)),
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(wrong_type(key, "a list of participants")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| self.participant(item, &format!("{key}[{i}]")))
            .collect()
    }

    fn participant(&self, item: &Value, path: &str) -> Result<Participant, WireError> {
        let map = item
            .as_object()
            .ok_or_else(|| wrong_type(path, "a participant object"))?;
        let id = map
            .get("communicationIdentifier")
            .ok_or_else(|| missing(&format!("{path}.communicationIdentifier")))?;
        let user = identifier(id, &format!("{path}.communicationIdentifier"))?;
        let display_name = match map.get("displayName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(wrong_type(&format!("{path}.displayName"), "a string")),
        };
        let share_history_from_ms = match map.get("shareHistoryTime") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                let ms = parse_rfc3339(s)
                    .map_err(|m| WireError::bad_request(&format!("{path}.shareHistoryTime"), m))?;
                Some(self.cx.epoch.instant(ms).ms())
            }
            Some(_) => {
                return Err(wrong_type(
                    &format!("{path}.shareHistoryTime"),
                    "an RFC 3339 date-time",
                ));
            }
        };
        if map
            .get("metadata")
            .and_then(Value::as_object)
            .is_some_and(|m| !m.is_empty())
        {
            return Err(WireError::bad_request(
                &format!("{path}.metadata"),
                "Participant metadata is not supported by this simulator.",
            ));
        }
        Ok(Participant {
            user,
            display_name,
            share_history_from_ms,
        })
    }

    fn page(&self, skip: bool) -> Result<PageQuery, WireError> {
        let max_page_size = match query_value(self.pairs, "maxPageSize") {
            None => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                WireError::bad_request("maxPageSize", format!("{v:?} is not a page size."))
            })?),
        };
        let continuation = if skip {
            match query_value(self.pairs, "skip") {
                None => None,
                Some(v) => match v.parse::<u32>() {
                    Ok(0) => None,
                    Ok(n) => Some(format!("c{n}")),
                    Err(_) => {
                        return Err(WireError::bad_request(
                            "skip",
                            format!("{v:?} is not a number of items to skip."),
                        ));
                    }
                },
            }
        } else {
            query_value(self.pairs, "syncState").map(str::to_string)
        };
        Ok(PageQuery {
            max_page_size,
            continuation,
        })
    }

    fn start_time(&self) -> Result<Option<u64>, WireError> {
        match query_value(self.pairs, "startTime") {
            None => Ok(None),
            Some(v) => {
                let ms = parse_rfc3339(v).map_err(|m| WireError::bad_request("startTime", m))?;
                Ok(Some(self.cx.epoch.instant(ms).ms()))
            }
        }
    }

    fn send_sms(&self) -> Result<AcsCall, WireError> {
        let from = self.string("from")?;
        let message = self.string("message")?;
        let recipients = match self.field("smsRecipients") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(wrong_type("smsRecipients", "a list of recipients")),
            None => return Err(missing("smsRecipients")),
        };
        let to = recipients
            .iter()
            .enumerate()
            .map(|(i, r)| {
                r.get("to")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| missing(&format!("smsRecipients[{i}].to")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let delivery_report = match self.field("smsSendOptions") {
            None => false,
            Some(Value::Object(options)) => match options.get("enableDeliveryReport") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(wrong_type(
                        "smsSendOptions.enableDeliveryReport",
                        "true or false",
                    ));
                }
            },
            Some(_) => return Err(wrong_type("smsSendOptions", "an object")),
        };
        Ok(AcsCall::SendSms {
            from,
            to,
            message,
            delivery_report,
        })
    }
}

/// The raw id of a `CommunicationIdentifierModel`: a `communicationUser`'s
/// id, else its `rawId`.
fn identifier(value: &Value, path: &str) -> Result<String, WireError> {
    let map = value
        .as_object()
        .ok_or_else(|| wrong_type(path, "a communication identifier"))?;
    let user = map
        .get("communicationUser")
        .and_then(|u| u.get("id"))
        .and_then(Value::as_str);
    let raw = map.get("rawId").and_then(Value::as_str);
    match user.or(raw) {
        Some(id) if !id.is_empty() => Ok(id.to_string()),
        _ => Err(WireError::bad_request(
            path,
            "A communication identifier needs communicationUser.id or rawId.",
        )),
    }
}

fn missing(field: &str) -> WireError {
    WireError::bad_request(field, format!("{field} is required."))
}

fn wrong_type(field: &str, expected: &str) -> WireError {
    WireError::bad_request(field, format!("{field} must be {expected}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(resource: &Resource) -> Context<'_> {
        Context {
            resource,
            epoch: Epoch::default(),
        }
    }

    fn raw<'a>(method: &'a str, path: &'a str, query: &'a str, body: &'a str) -> RawRequest<'a> {
        RawRequest {
            method,
            path,
            query: Some(query),
            content_type: Some("application/json"),
            body: body.as_bytes(),
            repeatability_request_id: None,
        }
    }

    #[test]
    fn percent_encoded_thread_ids_are_decoded() {
        let r = Resource::from_seed(1);
        let wire = r
            .thread(ThreadId(3))
            .replace(':', "%3A")
            .replace('@', "%40");
        let path = format!("/chat/threads/{wire}/messages");
        let call = read(
            &raw(
                "POST",
                &path,
                "api-version=2024-03-07",
                r#"{"content":"hi"}"#,
            ),
            cx(&r),
        )
        .unwrap();
        assert_eq!(
            call,
            AcsCall::SendMessage {
                thread: Named::Known(ThreadId(3)),
                content: "hi".into(),
                html: false,
                metadata: BTreeMap::new(),
            }
        );
    }

    #[test]
    fn request_faults_are_wire_errors_with_their_statuses() {
        let r = Resource::from_seed(1);
        let q = "api-version=2024-03-07";
        let status = |req: RawRequest<'_>| read(&req, cx(&r)).unwrap_err().status;
        assert_eq!(status(raw("GET", "/chat/nothing", q, "")), 404);
        assert_eq!(status(raw("PUT", "/chat/threads", q, "")), 404);
        assert_eq!(status(raw("GET", "/chat/threads/%zz", q, "")), 400);
        assert_eq!(status(raw("GET", "/chat/threads/%C3%28", q, "")), 400);
        assert_eq!(status(raw("GET", "/chat/threads", "", "")), 400);
        assert_eq!(
            status(raw("GET", "/chat/threads", "api-version=latest", "")),
            400
        );
        assert_eq!(status(raw("POST", "/chat/threads", q, "{")), 400);
        assert_eq!(status(raw("POST", "/chat/threads", q, "[]")), 400);
        assert_eq!(status(raw("POST", "/chat/threads", q, "")), 400);
        assert_eq!(
            status(raw("POST", "/chat/threads", q, r#"{"topic":1}"#)),
            400
        );
        let mut xml = raw("POST", "/chat/threads", q, r#"{"topic":"x"}"#);
        xml.content_type = Some("application/xml");
        assert_eq!(status(xml), 415);
        // A newer, unknown api-version is accepted.
        let newer = raw("GET", "/chat/threads", "api-version=2099-01-01-preview", "");
        assert!(read(&newer, cx(&r)).is_ok());
    }

    #[test]
    fn a_thread_of_another_resource_is_unknown() {
        let r = Resource::from_seed(1);
        let other = Resource::from_seed(2).thread(ThreadId(1));
        let path = format!("/chat/threads/{other}");
        let call = read(&raw("GET", &path, "api-version=2024-03-07", ""), cx(&r)).unwrap();
        assert_eq!(
            call,
            AcsCall::GetThread {
                thread: Named::Unknown(other)
            }
        );
    }

    #[test]
    fn skip_and_sync_state_are_continuations() {
        let r = Resource::from_seed(1);
        let t = r.thread(ThreadId(1));
        let path = format!("/chat/threads/{t}/participants");
        let call = read(
            &raw(
                "GET",
                &path,
                "skip=2&maxPageSize=2&api-version=2024-03-07",
                "",
            ),
            cx(&r),
        )
        .unwrap();
        let AcsCall::ListParticipants { page, .. } = call else {
            panic!("{call:?}")
        };
        assert_eq!(page.continuation.as_deref(), Some("c2"));
        assert_eq!(page.max_page_size, Some(2));
    }
}
