//! Running a parsed scenario: each step becomes a call on the simulator at its
//! instant, its outcome a trace line, its expectation a check.

use crate::core::{CarrierCall, ChatCall, ServiceCall};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::parse::{Expect, Scenario, Step};
use crate::core::{
    BindingSpec, Caller, Command, ContentType, ConversationState, Error, OutboxFilter, PageRequest,
    ParticipantSpec, Reply, Retention, StateTimers, ThreadOptions, TokenId, TokenProblem,
};
use crate::id::{ThreadId, parse_message_id};
use crate::rules::{Channel, Media, Route, Status};
use crate::sim::Simulator;
use crate::time::{Duration, Instant};
use crate::wire;

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The trace as JSON Lines, the summary line last.
    pub lines: Vec<String>,
    /// One message per failed expectation.
    pub failures: Vec<String>,
    pub digest: String,
}

impl RunReport {
    pub fn jsonl(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The compact human rendering, one line per trace line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&crate::sim::trace::render_line(line));
            out.push('\n');
        }
        out
    }
}

/// What a ref names.
#[derive(Clone, Debug)]
enum Named {
    Thread(ThreadId),
    Message(ThreadId, u32),
    Token(TokenId),
    /// An SMS or WhatsApp participant: its channel and address.
    Binding(Channel, String),
    /// Defined by a step that failed: nothing to point at.
    Nothing,
}

/// One step's outcome line.
#[derive(Serialize)]
struct StepLine<'a> {
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

#[derive(Serialize)]
struct Summary<'a> {
    at_ms: u64,
    kind: &'static str,
    name: Option<&'a str>,
    seed: u64,
    steps: usize,
    failed: usize,
    lines: u64,
    digest: String,
}

/// The outcome of a step as expectations see it.
struct Seen {
    status: u16,
    result: Value,
    error: Option<Error>,
    count: Option<u64>,
}

/// Runs `scenario` to the end.
pub fn run(scenario: &Scenario) -> RunReport {
    // `parse` guarantees a seed; a hand-built scenario without one runs seed 0.
    let seed = scenario.seed.unwrap_or_default();
    let mut sim = Simulator::builder()
        .seed(seed)
        .profile(scenario.profile.clone())
        .build();
    for user in &scenario.users {
        let command = Command::Service(ServiceCall::CreateUser {
            id: Arc::from(user.id.as_str()),
            display_name: user.display_name.as_deref().map(Arc::from),
        });
        // Declared ids are distinct and non-empty; a refusal (an over-long id)
        // is in the trace like any other.
        let _ = sim.execute(None, &command);
    }
    let mut runner = Runner {
        sim,
        refs: BTreeMap::new(),
        failures: Vec::new(),
    };
    for step in &scenario.steps {
        runner.step(step);
    }
    let Runner { sim, failures, .. } = runner;
    let mut lines: Vec<String> = sim.trace().lines().map(str::to_string).collect();
    let digest = sim.digest();
    let summary = Summary {
        at_ms: sim.now().ms(),
        kind: "summary",
        name: scenario.name.as_deref(),
        seed,
        steps: scenario.steps.len(),
        failed: failures.len(),
        lines: sim.trace().len(),
        digest: digest.clone(),
    };
    lines.push(serde_json::to_string(&summary).expect("summary serializes"));
    RunReport {
        lines,
        failures,
        digest,
    }
}

struct Runner {
    sim: Simulator,
    refs: BTreeMap<String, Named>,
    failures: Vec<String>,
}

impl Runner {
    fn step(&mut self, step: &Step) {
        self.sim.run_until(step.at);
        let actor = step.actor.as_deref().and_then(|a| self.sim.user(a));
        let op = step.op.as_str();
        let token = match step.token.as_deref().map(|r| self.refs.get(r)) {
            // A token presented by an unknown identity is nobody's to use.
            Some(_) if step.actor.is_some() && actor.is_none() => Err(Error::Unauthenticated),
            None => Ok(None),
            Some(Some(Named::Token(id))) => Ok(Some(*id)),
            Some(_) => Err(Error::TokenRejected {
                problem: TokenProblem::Unknown,
            }),
        };
        let caller = Caller {
            user: actor,
            connection: 0,
            token: token.clone().unwrap_or_default(),
        };
        let seen = match token.and_then(|_| self.command(step)) {
            Ok(Some(command)) => {
                let style = self.sim.profile().error_style;
                let status = command.success_status();
                let describe =
                    |outcome: &Result<Reply, Error>| step_line(step, outcome, style, status);
                let outcome = self.sim.execute_step(caller, &command, describe);
                self.remember(step, &outcome);
                seen(&command, outcome)
            }
            Ok(None) => self.query(step),
            Err(error) => {
                // Who is calling is checked before what is asked (401 first).
                let known = actor
                    .and_then(|a| self.sim.state().user(a))
                    .is_some_and(|u| !u.deleted);
                let error = if step.token.is_some() {
                    // A step with a token: the token is checked first (401).
                    let now = self.sim.now();
                    match self.sim.state().caller_identity(caller, now) {
                        Err(refused) => refused,
                        Ok(_) => error,
                    }
                } else if step.actor.is_some() && !known {
                    Error::Unauthenticated
                } else {
                    error
                };
                let style = self.sim.profile().error_style;
                self.sim.record(&error_line(step, &error, style));
                seen_error(error)
            }
        };
        if step.reference.is_some() && seen.error.is_some() {
            self.refs
                .insert(step.reference.clone().expect("checked"), Named::Nothing);
        }
        if let Some(failure) = check(&step.expect, &seen) {
            self.failures.push(format!(
                "step {} ({op}) at {}: {failure}",
                step.index, step.at
            ));
        }
    }

    /// Steps that are not calls on the platform: queries of the simulator.
    fn query(&mut self, step: &Step) -> Seen {
        let user = str_field(&step.fields, "user").unwrap_or_default();
        let outcome = if step.op == "outbox" {
            self.outbox_filter(step).map(|filter| {
                serde_json::to_value(self.sim.outbox(&filter)).expect("deliveries serialize")
            })
        } else {
            match self.sim.user(user) {
                Some(id) => {
                    let inbox = self.sim.inbox(id);
                    Ok(serde_json::to_value(&inbox).expect("notifications serialize"))
                }
                None => Err(Error::UserNotFound {
                    user: user.to_string(),
                }),
            }
        };
        let line = match &outcome {
            Ok(items) => StepLine {
                kind: "step",
                step: step.index,
                op: &step.op,
                actor: step.actor.as_deref(),
                status: 200,
                result: Some(Value::Object(Map::from_iter([(
                    "items".to_string(),
                    items.clone(),
                )]))),
                error: None,
                body: None,
            },
            Err(e) => error_line(step, e, self.sim.profile().error_style),
        };
        self.sim.record(&line);
        match outcome {
            Ok(items) => Seen {
                status: 200,
                count: items.as_array().map(|a| a.len() as u64),
                result: Value::Object(Map::from_iter([("items".to_string(), items)])),
                error: None,
            },
            Err(e) => seen_error(e),
        }
    }

    fn remember(&mut self, step: &Step, outcome: &Result<Reply, Error>) {
        if outcome.is_ok() {
            self.remember_bindings(step);
        }
        let (Some(name), Ok(reply)) = (&step.reference, outcome) else {
            return;
        };
        let named = match reply {
            Reply::ThreadCreated { thread, .. } => Named::Thread(thread.id),
            Reply::MessageSent { sequence } => match self.thread_field(step) {
                Ok(thread) => Named::Message(thread, *sequence),
                Err(_) => Named::Nothing,
            },
            Reply::Token(view) => Named::Token(view.id),
            _ => Named::Nothing,
        };
        self.refs.insert(name.clone(), named);
    }

    /// The platform call a step makes, `None` for simulator queries, or the
    /// error the step answers without a call.
    fn command(&self, step: &Step) -> Result<Option<Command>, Error> {
        let f = &step.fields;
        let profile = &self.sim.profile().name;
        let unsupported = |what: &str| Error::UnsupportedByProfile {
            op: what.to_string(),
            profile: profile.clone(),
        };
        let page = || PageRequest {
            page_size: f.get("page_size").and_then(Value::as_u64).map(|n| n as u32),
            continuation: str_field(f, "continuation").map(str::to_string),
        };
        let text = |key: &str| Arc::<str>::from(str_field(f, key).unwrap_or_default());
        let options = thread_options(f)?;
        let command = match step.op.as_str() {
            "inbox" | "outbox" => return Ok(None),
            "inbound" => Command::Carrier(CarrierCall::Inbound {
                channel: channel_field(f),
                from: Arc::from(self.address_field(f, "from")),
                to: Arc::from(self.address_field(f, "to")),
                body: text("body"),
                media: media_field(f),
            }),
            "send_sms" => Command::Carrier(CarrierCall::SendSms {
                from: text("from"),
                to: f
                    .get("to")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(Arc::from).collect())
                    .unwrap_or_default(),
                message: text("message"),
                delivery_report: f
                    .get("delivery_report")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }),
            "create_user" => Command::Service(ServiceCall::CreateUser {
                id: text("id"),
                display_name: str_field(f, "display_name").map(Arc::from),
            }),
            "delete_user" => Command::Service(ServiceCall::DeleteUser { user: text("user") }),
            "create_thread" => {
                if f.contains_key("metadata") {
                    return Err(unsupported("thread metadata"));
                }
                Command::Chat(ChatCall::CreateThread {
                    topic: text("topic"),
                    participants: self.participants(f),
                    bindings: self.bindings(f),
                    idempotency_key: str_field(f, "idempotency_key").map(Arc::from),
                    options,
                })
            }
            "get_thread" => Command::Chat(ChatCall::GetThread {
                thread: self.thread_field(step)?,
            }),
            "list_threads" => Command::Chat(ChatCall::ListThreads { page: page() }),
            "update_thread" => Command::Chat(ChatCall::UpdateThread {
                thread: self.thread_field(step)?,
                topic: str_field(f, "topic").map(Arc::from),
                options,
            }),
            "set_state" => Command::Chat(ChatCall::SetState {
                thread: self.thread_field(step)?,
                state: str_field(f, "state")
                    .and_then(ConversationState::parse)
                    .unwrap_or_default(),
            }),
            "recover_thread" => Command::Service(ServiceCall::RecoverThread {
                thread: self.thread_field(step)?,
            }),
            "issue_token" => Command::Service(ServiceCall::IssueToken {
                user: text("user"),
                scopes: f
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(Arc::from).collect())
                    .unwrap_or_default(),
                expires_in_ms: f.get("expires_in").map(|d| duration_value(d).ms()),
            }),
            "revoke_tokens" => Command::Service(ServiceCall::RevokeTokens { user: text("user") }),
            "delete_thread" => Command::Chat(ChatCall::DeleteThread {
                thread: self.thread_field(step)?,
            }),
            "add_participants" => {
                let bindings = self.bindings(f);
                let participants = self.participants(f);
                match (participants.is_empty(), bindings.is_empty()) {
                    (false, false) => {
                        return Err(Error::InvalidField {
                            field: "participants",
                            reason: "add chat and SMS/WhatsApp participants in separate calls"
                                .to_string(),
                        });
                    }
                    (true, false) => Command::Chat(ChatCall::AddBindings {
                        thread: self.thread_field(step)?,
                        bindings,
                    }),
                    _ => Command::Chat(ChatCall::AddParticipants {
                        thread: self.thread_field(step)?,
                        participants,
                    }),
                }
            }
            "remove_participant" => {
                let who = str_field(f, "participant").unwrap_or_default();
                let binding = match self.refs.get(who) {
                    Some(Named::Binding(channel, address)) => Some((*channel, address.clone())),
                    _ if who.starts_with("whatsapp:") => Some((Channel::Whatsapp, who.to_string())),
                    _ if who.starts_with('+') => Some((Channel::Sms, who.to_string())),
                    _ => None,
                };
                match binding {
                    Some((channel, address)) => Command::Chat(ChatCall::RemoveBinding {
                        thread: self.thread_field(step)?,
                        channel,
                        address: Arc::from(address.as_str()),
                    }),
                    None => Command::Chat(ChatCall::RemoveParticipant {
                        thread: self.thread_field(step)?,
                        user: text("participant"),
                    }),
                }
            }
            "list_participants" => Command::Chat(ChatCall::ListParticipants {
                thread: self.thread_field(step)?,
                page: page(),
            }),
            "send_message" => {
                let content_type = match str_field(f, "type") {
                    None | Some("text") => ContentType::Text,
                    Some("html") => ContentType::Html,
                    Some(other) => {
                        return Err(Error::InvalidField {
                            field: "type",
                            reason: format!("{other:?} is not text or html"),
                        });
                    }
                };
                let metadata = f
                    .get("metadata")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                Command::Chat(ChatCall::SendMessage {
                    thread: self.thread_field(step)?,
                    content: text("content"),
                    content_type,
                    metadata,
                    media: media_field(f),
                    template: str_field(f, "template").map(Arc::from),
                })
            }
            "get_message" => {
                let (thread, message) = self.message_field(step)?;
                Command::Chat(ChatCall::GetMessage { thread, message })
            }
            "list_messages" => Command::Chat(ChatCall::ListMessages {
                thread: self.thread_field(step)?,
                page: page(),
                start_time: f
                    .get("start_time")
                    .map(duration_value)
                    .map(|d| Instant(d.ms())),
            }),
            "update_message" => {
                let (thread, message) = self.message_field(step)?;
                Command::Chat(ChatCall::UpdateMessage {
                    thread,
                    message,
                    content: text("content"),
                })
            }
            "delete_message" => {
                let (thread, message) = self.message_field(step)?;
                Command::Chat(ChatCall::DeleteMessage { thread, message })
            }
            "send_typing" => Command::Chat(ChatCall::SendTyping {
                thread: self.thread_field(step)?,
            }),
            "send_read_receipt" => {
                let (thread, message) = self.message_field(step)?;
                Command::Chat(ChatCall::SendReadReceipt { thread, message })
            }
            "list_read_receipts" => Command::Chat(ChatCall::ListReadReceipts {
                thread: self.thread_field(step)?,
                page: PageRequest::default(),
            }),
            other => return Err(unsupported(other)),
        };
        Ok(Some(command))
    }

    fn thread_field(&self, step: &Step) -> Result<ThreadId, Error> {
        let text = str_field(&step.fields, "thread").unwrap_or_default();
        match self.refs.get(text) {
            Some(Named::Thread(id)) => Ok(*id),
            Some(_) => Err(Error::ThreadNotFound {
                thread: text.to_string(),
            }),
            None => ThreadId::parse(text).ok_or_else(|| Error::ThreadNotFound {
                thread: text.to_string(),
            }),
        }
    }

    fn message_field(&self, step: &Step) -> Result<(ThreadId, u32), Error> {
        let thread = self.thread_field(step)?;
        let text = str_field(&step.fields, "message").unwrap_or_default();
        let not_found = || Error::MessageNotFound {
            thread: thread.to_string(),
            message: text.to_string(),
        };
        match self.refs.get(text) {
            Some(Named::Message(t, seq)) if *t == thread => Ok((thread, *seq)),
            Some(_) => Err(not_found()),
            None => parse_message_id(text)
                .map(|seq| (thread, seq))
                .ok_or_else(not_found),
        }
    }

    fn participants(&self, f: &Map<String, Value>) -> Vec<ParticipantSpec> {
        let Some(Value::Array(items)) = f.get("participants") else {
            return vec![];
        };
        items
            .iter()
            .filter_map(|item| match item {
                // Every user id goes to the core, an empty one too: it comes
                // back as an invalid participant, like any unknown identity.
                Value::String(user) => Some(ParticipantSpec::user(user.as_str())),
                Value::Object(map) if map.contains_key("user") => Some(ParticipantSpec {
                    user: Arc::from(str_field(map, "user").unwrap_or_default()),
                    display_name: str_field(map, "display_name").map(Arc::from),
                    share_history_from: map
                        .get("share_history_from")
                        .map(duration_value)
                        .map(|d| Instant(d.ms())),
                }),
                // SMS and WhatsApp participants are bindings (see `bindings`);
                // `parse` refuses anything else.
                _ => None,
            })
            .collect()
    }

    /// The SMS and WhatsApp participants of a participant list.
    fn bindings(&self, f: &Map<String, Value>) -> Vec<BindingSpec> {
        let Some(Value::Array(items)) = f.get("participants") else {
            return vec![];
        };
        items
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|map| {
                let (channel, address) = binding_field(map)?;
                Some(BindingSpec {
                    channel,
                    address: Arc::from(address),
                    proxy: Arc::from(str_field(map, "proxy").unwrap_or_default()),
                })
            })
            .collect()
    }

    /// Names the refs of the SMS and WhatsApp participants a successful step added.
    fn remember_bindings(&mut self, step: &Step) {
        let Some(Value::Array(items)) = step.fields.get("participants") else {
            return;
        };
        for map in items.iter().filter_map(Value::as_object) {
            let (Some(name), Some((channel, address))) =
                (str_field(map, "ref"), binding_field(map))
            else {
                continue;
            };
            self.refs.insert(
                name.to_string(),
                Named::Binding(channel, address.to_string()),
            );
        }
    }

    /// An address field: a participant's ref or the address itself.
    fn address_field<'a>(&'a self, f: &'a Map<String, Value>, key: &str) -> &'a str {
        let text = str_field(f, key).unwrap_or_default();
        match self.refs.get(text) {
            Some(Named::Binding(_, address)) => address,
            _ => text,
        }
    }

    fn outbox_filter(&self, step: &Step) -> Result<OutboxFilter, Error> {
        let f = &step.fields;
        let channel = match str_field(f, "channel") {
            None => None,
            Some("sms") => Some(Route::Sms),
            Some("mms") => Some(Route::Mms),
            Some("whatsapp") => Some(Route::Whatsapp),
            Some(other) => {
                return Err(Error::InvalidField {
                    field: "channel",
                    reason: format!("{other:?} is not sms, mms or whatsapp"),
                });
            }
        };
        let status = match str_field(f, "status") {
            None => None,
            Some(name) => Some(Status::from_name(name).ok_or_else(|| Error::InvalidField {
                field: "status",
                reason: format!("{name:?} is not a delivery status"),
            })?),
        };
        let thread = match f.get("thread") {
            None => None,
            Some(_) => Some(self.thread_field(step)?),
        };
        if f.contains_key("message") && thread.is_none() {
            return Err(Error::InvalidField {
                field: "message",
                reason: "a message is named with its thread".to_string(),
            });
        }
        let message = match f.get("message") {
            None => None,
            Some(_) => Some(self.message_field(step)?.1),
        };
        Ok(OutboxFilter {
            message,
            to: f.get("to").map(|_| {
                let text = str_field(f, "to").unwrap_or_default();
                match self.refs.get(text) {
                    Some(Named::Binding(Channel::Whatsapp, a)) if !a.starts_with("whatsapp:") => {
                        Arc::from(format!("whatsapp:{a}").as_str())
                    }
                    Some(Named::Binding(_, a)) => Arc::from(a.as_str()),
                    _ => Arc::from(text),
                }
            }),
            channel,
            thread,
            status,
        })
    }
}

fn channel_field(f: &Map<String, Value>) -> Channel {
    match str_field(f, "channel") {
        Some("whatsapp") => Channel::Whatsapp,
        _ => Channel::Sms,
    }
}

/// A media list already validated by the parser.
fn media_field(f: &Map<String, Value>) -> Vec<Media> {
    let Some(Value::Array(items)) = f.get("media") else {
        return vec![];
    };
    items
        .iter()
        .filter_map(Value::as_object)
        .map(|m| Media {
            content_type: Arc::from(str_field(m, "content_type").unwrap_or_default()),
            bytes: m.get("bytes").and_then(Value::as_u64).unwrap_or_default(),
            name: str_field(m, "name").map(Arc::from),
        })
        .collect()
}

/// The lifecycle options of a create or update step. Retention is given as a
/// duration and must be whole days (ACS takes `deleteThreadAfterDays`).
fn thread_options(f: &Map<String, Value>) -> Result<ThreadOptions, Error> {
    let retention = match f.get("retention") {
        None => None,
        Some(Value::Object(map)) => {
            let ms = map
                .get("delete_after")
                .map(duration_value)
                .unwrap_or_default()
                .ms();
            const DAY_MS: u64 = 86_400_000;
            match u32::try_from(ms / DAY_MS) {
                Ok(days) if ms % DAY_MS == 0 => Some(Retention::DeleteAfterDays(days)),
                _ => {
                    return Err(Error::InvalidField {
                        field: "retention",
                        reason: format!("delete after {ms} ms; a policy counts whole days"),
                    });
                }
            }
        }
        Some(_) => Some(Retention::None),
    };
    let timers = f
        .get("timers")
        .and_then(Value::as_object)
        .map(|m| StateTimers {
            inactive: str_field(m, "inactive").map(Arc::from),
            closed: str_field(m, "closed").map(Arc::from),
        });
    Ok(ThreadOptions {
        retention,
        state: str_field(f, "state").and_then(ConversationState::parse),
        timers,
    })
}

fn str_field<'a>(f: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    f.get(key).and_then(Value::as_str)
}

/// The channel and address of an SMS or WhatsApp participant entry.
fn binding_field(map: &Map<String, Value>) -> Option<(Channel, &str)> {
    match (str_field(map, "sms"), str_field(map, "whatsapp")) {
        (Some(address), _) => Some((Channel::Sms, address)),
        (None, Some(address)) => Some((Channel::Whatsapp, address)),
        _ => None,
    }
}

/// A duration field already validated by the parser.
fn duration_value(value: &Value) -> Duration {
    match value {
        Value::String(s) => Duration::parse(s).unwrap_or_default(),
        v => Duration(v.as_u64().unwrap_or_default()),
    }
}

fn step_line<'a>(
    step: &'a Step,
    outcome: &Result<Reply, Error>,
    style: crate::profile::ErrorStyle,
    success_status: u16,
) -> StepLine<'a> {
    match outcome {
        Ok(reply) => StepLine {
            kind: "step",
            step: step.index,
            op: &step.op,
            actor: step.actor.as_deref(),
            status: success_status,
            result: Some(wire::reply_json(reply)),
            error: None,
            body: None,
        },
        Err(e) => error_line(step, e, style),
    }
}

fn error_line<'a>(step: &'a Step, e: &Error, style: crate::profile::ErrorStyle) -> StepLine<'a> {
    StepLine {
        kind: "step",
        step: step.index,
        op: &step.op,
        actor: step.actor.as_deref(),
        status: e.status(),
        result: None,
        error: Some(e.kind().name()),
        body: Some(wire::render_error(e, style)),
    }
}

fn seen(command: &Command, outcome: Result<Reply, Error>) -> Seen {
    match outcome {
        Ok(reply) => Seen {
            status: command.success_status(),
            count: reply.count().map(|c| c as u64),
            result: wire::reply_json(&reply),
            error: None,
        },
        Err(e) => seen_error(e),
    }
}

fn seen_error(e: Error) -> Seen {
    Seen {
        status: e.status(),
        result: Value::Null,
        error: Some(e),
        count: None,
    }
}

/// The first unmet expectation, described.
fn check(expect: &Expect, seen: &Seen) -> Option<String> {
    let happened = match &seen.error {
        None => format!("status {}", seen.status),
        Some(e) => format!("status {} ({}: {e})", seen.status, e.kind().name()),
    };
    if let Some(status) = expect.status
        && status != seen.status
    {
        return Some(format!("expected status {status}, got {happened}"));
    }
    if let Some(ok) = expect.ok
        && ok != seen.error.is_none()
    {
        return Some(format!("expected ok={ok}, got {happened}"));
    }
    if let Some(kind) = expect.error {
        let got = seen.error.as_ref().map(Error::kind);
        if got != Some(kind) {
            return Some(format!("expected error {}, got {happened}", kind.name()));
        }
    }
    if let Some(count) = expect.count
        && seen.count != Some(count)
    {
        return Some(match seen.count {
            Some(n) => format!("expected count {count}, got {n}"),
            None => format!("expected count {count}, but the result is not a listing ({happened})"),
        });
    }
    if let Some(want) = &expect.result
        && let Err(path) = contains(&seen.result, want, "result")
    {
        return Some(format!(
            "expected result to contain {want}, differs at {path}; got {}",
            seen.result
        ));
    }
    None
}

/// The index of the first line where two traces differ, counting a missing
/// line at the end of the shorter one; `None` when they are identical.
pub fn first_divergence(a: &[String], b: &[String]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Whether `got` contains `want` (SCENARIO.md): objects by their given keys,
/// arrays element by element with equal length, other values equal.
pub fn contains(got: &Value, want: &Value, path: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (key, wv) in w {
                let here = format!("{path}.{key}");
                match g.get(key) {
                    Some(gv) => contains(gv, wv, &here)?,
                    None => return Err(here),
                }
            }
            Ok(())
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                return Err(format!("{path} (length {} vs {})", g.len(), w.len()));
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(gv, wv, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (g, w) if g == w => Ok(()),
        _ => Err(path.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn divergence_is_the_first_differing_or_missing_line() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = lines(&["x", "y", "z"]);
        assert_eq!(first_divergence(&a, &a), None);
        assert_eq!(first_divergence(&a, &lines(&["x", "q", "z"])), Some(1));
        assert_eq!(first_divergence(&a, &lines(&["x", "y"])), Some(2));
        assert_eq!(first_divergence(&lines(&[]), &a), Some(0));
    }

    #[test]
    fn containment_follows_the_contract() {
        let got = json!({"a": 1, "b": [1, {"c": 2, "d": 3}], "e": "x"});
        assert!(contains(&got, &json!({"a": 1}), "r").is_ok());
        assert!(contains(&got, &json!({"b": [1, {"c": 2}]}), "r").is_ok());
        assert_eq!(
            contains(&got, &json!({"b": [1]}), "r"),
            Err("r.b (length 2 vs 1)".into())
        );
        assert_eq!(contains(&got, &json!({"z": 1}), "r"), Err("r.z".into()));
        assert_eq!(contains(&got, &json!({"e": "y"}), "r"), Err("r.e".into()));
    }
}
