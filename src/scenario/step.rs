//! The typed model of a scenario file (the scenario format): what `parse` produces and
//! `run` executes. Every field arrives here already checked and converted
//! (durations, instants, channels, media, participants, page requests, outbox
//! filters, lifecycle settings), so running a step reads no JSON. What stays
//! text is what only the run can resolve: refs and ids of threads, messages
//! and SMS/WhatsApp participants (a ref names something only once its step has
//! run), and identities, which the platform looks up itself.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::core::{
    BindingSpec, ContentType, ConversationState, Kind, ParticipantSpec, StateTimers,
};
use crate::profile::Profile;
use crate::rules::{Channel, Media, Route, Status};
use crate::time::{Duration, Instant};

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub profile: Profile,
    pub users: Vec<UserDecl>,
    pub steps: Vec<Step>,
    /// The `workload` section: calls generated from the seed beside the steps.
    pub workload: Option<super::workload::Workload>,
}

/// A chat identity declared in `users`, created at time 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDecl {
    pub id: String,
    pub display_name: Option<String>,
}

/// One step, with its absolute instant already computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub index: usize,
    pub at: Instant,
    /// `as`: the acting identity (or, for `inbound`, an SMS/WhatsApp
    /// participant's ref).
    pub actor: Option<String>,
    /// `token`: the ref of an issued token the step acts with.
    pub token: Option<String>,
    /// `ref`: the name later steps give what this step created.
    pub reference: Option<String>,
    /// The op's name as files spell it, taken from the parser's table of ops;
    /// trace lines and failure messages print it.
    pub op_name: &'static str,
    pub op: Op,
    pub expect: Expect,
}

/// What a step expects; every given field must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub status: Option<u16>,
    pub ok: Option<bool>,
    pub error: Option<Kind>,
    pub result: Option<Value>,
    /// Contained in the wire body (the reply's JSON, or the error in the
    /// platform's shape: its code, `retry_after_ms`, …).
    pub body: Option<Value>,
    pub count: Option<u64>,
}

/// What a step does, with its fields. `thread` and `message` fields hold a
/// ref defined by an earlier step or an id (checked by `parse`), resolved when
/// the step runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    CreateUser {
        id: Arc<str>,
        display_name: Option<Arc<str>>,
    },
    DeleteUser {
        user: Arc<str>,
    },
    IssueToken {
        user: Arc<str>,
        scopes: Vec<Arc<str>>,
        expires_in: Option<Duration>,
    },
    RevokeTokens {
        user: Arc<str>,
    },
    CreateThread {
        topic: Arc<str>,
        participants: Vec<Participant>,
        settings: ThreadSettings,
        idempotency_key: Option<Arc<str>>,
        /// Thread metadata, which no profile supports yet (the step answers so).
        metadata: Option<BTreeMap<String, String>>,
    },
    GetThread {
        thread: String,
    },
    ListThreads {
        page: PageSpec,
    },
    UpdateThread {
        thread: String,
        topic: Option<Arc<str>>,
        settings: ThreadSettings,
    },
    DeleteThread {
        thread: String,
    },
    RecoverThread {
        thread: String,
    },
    SetState {
        thread: String,
        state: ConversationState,
    },
    AddParticipants {
        thread: String,
        participants: Vec<Participant>,
    },
    /// `participant`: a user id, an SMS/WhatsApp participant's ref, or an
    /// address (`+…` or `whatsapp:+…`).
    RemoveParticipant {
        thread: String,
        participant: String,
    },
    ListParticipants {
        thread: String,
        page: PageSpec,
    },
    SendMessage {
        thread: String,
        content: Arc<str>,
        content_type: ContentType,
        media: Vec<Media>,
        metadata: BTreeMap<String, String>,
        template: Option<Arc<str>>,
    },
    GetMessage {
        thread: String,
        message: String,
    },
    ListMessages {
        thread: String,
        page: PageSpec,
        start_time: Option<Instant>,
    },
    UpdateMessage {
        thread: String,
        message: String,
        content: Arc<str>,
    },
    DeleteMessage {
        thread: String,
        message: String,
    },
    SendTyping {
        thread: String,
    },
    SendReadReceipt {
        thread: String,
        message: String,
    },
    ListReadReceipts {
        thread: String,
        page: PageSpec,
    },
    /// A message from an SMS or WhatsApp user; `from` and `to` are addresses
    /// or SMS/WhatsApp participants' refs. No `body` is an empty body.
    Inbound {
        channel: Channel,
        from: String,
        to: String,
        body: Arc<str>,
        media: Vec<Media>,
    },
    SendSms {
        from: Arc<str>,
        to: Vec<Arc<str>>,
        message: Arc<str>,
        delivery_report: bool,
    },
    /// A query of the simulator: deliveries to SMS/WhatsApp participants.
    Outbox(OutboxQuery),
    /// A query of the simulator: the notifications `user` received.
    Inbox {
        user: String,
    },
    /// Moves the clock to the step's instant, running everything due on the
    /// way (timers, retention, carrier receipts); no call, and no line of
    /// its own in the trace. The server mode records its clock moves so.
    Advance,
}

impl Op {
    /// The thread the step names, for ops that name one.
    pub fn thread(&self) -> Option<&str> {
        match self {
            Op::GetThread { thread }
            | Op::UpdateThread { thread, .. }
            | Op::DeleteThread { thread }
            | Op::RecoverThread { thread }
            | Op::SetState { thread, .. }
            | Op::AddParticipants { thread, .. }
            | Op::RemoveParticipant { thread, .. }
            | Op::ListParticipants { thread, .. }
            | Op::SendMessage { thread, .. }
            | Op::GetMessage { thread, .. }
            | Op::ListMessages { thread, .. }
            | Op::UpdateMessage { thread, .. }
            | Op::DeleteMessage { thread, .. }
            | Op::SendTyping { thread }
            | Op::SendReadReceipt { thread, .. }
            | Op::ListReadReceipts { thread, .. } => Some(thread),
            Op::Outbox(query) => query.thread.as_ref().map(|t| t.thread.as_str()),
            Op::CreateUser { .. }
            | Op::DeleteUser { .. }
            | Op::IssueToken { .. }
            | Op::RevokeTokens { .. }
            | Op::CreateThread { .. }
            | Op::ListThreads { .. }
            | Op::Inbound { .. }
            | Op::SendSms { .. }
            | Op::Inbox { .. }
            | Op::Advance => None,
        }
    }

    /// The participant list of a create or add step (empty for other ops).
    pub fn participants(&self) -> &[Participant] {
        match self {
            Op::CreateThread { participants, .. } | Op::AddParticipants { participants, .. } => {
                participants
            }
            _ => &[],
        }
    }
}

/// One entry of a participant list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Participant {
    /// A chat identity, by id; the platform answers for unknown ones (ACS
    /// lists them as invalid participants), so any id may be named.
    User(ParticipantSpec),
    /// An SMS or WhatsApp participant (an SMS one without a proxy is a group
    /// MMS participant: its proxy is empty), with the ref later steps may name
    /// it by.
    Binding {
        binding: BindingSpec,
        reference: Option<String>,
    },
}

/// A retention policy as a step gives it; the platform counts whole days,
/// which the run checks (a step's 400, not a malformed file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionField {
    None,
    DeleteAfter(Duration),
}

/// The lifecycle fields of a create or update step; `None` leaves a setting
/// as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadSettings {
    pub retention: Option<RetentionField>,
    pub state: Option<ConversationState>,
    /// Twilio's timers as given (ISO-8601 texts the platform checks).
    pub timers: Option<StateTimers>,
}

/// An `outbox` step's filter; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxQuery {
    /// An address, or an SMS/WhatsApp participant's ref.
    pub to: Option<String>,
    pub channel: Option<Route>,
    pub status: Option<Status>,
    pub thread: Option<InThread>,
}

/// The `thread` of an outbox filter, and optionally one of its messages (a
/// message is named with its thread).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InThread {
    pub thread: String,
    pub message: Option<String>,
}

/// A listing step's page: its size, and where to continue from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageSpec {
    pub page_size: Option<u32>,
    pub continuation: Option<Continuation>,
}

/// Where a listing continues: a continuation token as written, or the one an
/// earlier listing step (named by its `ref`) returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Continuation {
    Token(String),
    Of(String),
}
