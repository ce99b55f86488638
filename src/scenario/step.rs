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
    /// `name`: what the trace's summary line calls the run.
    pub name: Option<String>,
    /// `seed`: the seed of every random stream, unless the command line replaces it.
    pub seed: Option<u64>,
    /// `profile`: the platform, with the file's overrides applied.
    pub profile: Profile,
    /// `users`: the identities created at time 0.
    pub users: Vec<UserDecl>,
    /// `steps`: in the order of their instants.
    pub steps: Vec<Step>,
    /// The `workload` section: calls generated from the seed beside the steps.
    pub workload: Option<super::workload::Workload>,
    /// The `faults` section: the fault plan the run injects.
    pub faults: Option<super::faults::FaultPlan>,
}

/// A chat identity declared in `users`, created at time 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDecl {
    /// The identity's id, as later steps name it.
    pub id: String,
    /// The display name chat participants see.
    pub display_name: Option<String>,
}

/// One step, with its absolute instant already computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The step's position in the file, counted from 0.
    pub index: usize,
    /// When the step runs, on the virtual clock.
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
    /// What the step does.
    pub op: Op,
    /// What it must answer.
    pub expect: Expect,
    /// Made by a workload, not written in the file: whatever it answers is the
    /// workload's traffic (a 429 or a send to a replaced thread included), so
    /// `--strict` does not count a refusal as unexpected.
    pub generated: bool,
}

/// What a step expects; every given field must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    /// The HTTP status.
    pub status: Option<u16>,
    /// Whether the call succeeded (`true`) or was refused (`false`).
    pub ok: Option<bool>,
    /// The canonical error kind of a refusal.
    pub error: Option<Kind>,
    /// Contained in the reply's JSON.
    pub result: Option<Value>,
    /// Contained in the wire body (the reply's JSON, or the error in the
    /// platform's shape: its code, `retry_after_ms`, …).
    pub body: Option<Value>,
    /// How many items a listing, inbox or outbox returned.
    pub count: Option<u64>,
}

impl Expect {
    /// Whether a check of this expectation looks at the outcome's JSON
    /// (`result` or `body`).
    pub fn wants_json(&self) -> bool {
        self.result.is_some() || self.body.is_some()
    }
}

/// What a step does, with its fields. `thread` and `message` fields hold a
/// ref defined by an earlier step or an id (checked by `parse`), resolved when
/// the step runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `create_user`: the trusted service creates an identity.
    CreateUser {
        /// The identity's id.
        id: Arc<str>,
        /// The display name chat participants see.
        display_name: Option<Arc<str>>,
    },
    /// `delete_user`: the trusted service deletes an identity and its tokens.
    DeleteUser {
        /// The identity's id.
        user: Arc<str>,
    },
    /// `issue_token`: the trusted service issues an access token.
    IssueToken {
        /// The identity's id.
        user: Arc<str>,
        /// The scope names, as the platform spells them.
        scopes: Vec<Arc<str>>,
        /// The token's lifetime; `None` for the platform's default.
        expires_in: Option<Duration>,
    },
    /// `revoke_tokens`: the trusted service revokes an identity's tokens.
    RevokeTokens {
        /// The identity's id.
        user: Arc<str>,
    },
    /// `create_thread`: the actor creates a thread and joins it.
    CreateThread {
        /// The topic.
        topic: Arc<str>,
        /// The other participants, chat or SMS/WhatsApp.
        participants: Vec<Participant>,
        /// Retention, state and timers to start with.
        settings: ThreadSettings,
        /// ACS's `repeatabilityRequestId`: a retry with the same key returns the first thread.
        idempotency_key: Option<Arc<str>>,
        /// Thread metadata, which no profile supports yet (the step answers so).
        metadata: Option<BTreeMap<String, String>>,
    },
    /// `get_thread`.
    GetThread {
        /// The thread: a ref or an id.
        thread: String,
    },
    /// `list_threads`: the threads the actor belongs to.
    ListThreads {
        /// The page size and where to continue.
        page: PageSpec,
    },
    /// `update_thread`: the topic and lifecycle settings.
    UpdateThread {
        /// The thread: a ref or an id.
        thread: String,
        /// The new topic.
        topic: Option<Arc<str>>,
        /// Retention, state and timers to change.
        settings: ThreadSettings,
    },
    /// `delete_thread`.
    DeleteThread {
        /// The thread: a ref or an id.
        thread: String,
    },
    /// `recover_thread`: the operator restores a deleted thread in its recovery window.
    RecoverThread {
        /// The thread: a ref or an id.
        thread: String,
    },
    /// `set_state`: a Twilio conversation's state.
    SetState {
        /// The thread: a ref or an id.
        thread: String,
        /// The new state.
        state: ConversationState,
    },
    /// `add_participants`.
    AddParticipants {
        /// The thread: a ref or an id.
        thread: String,
        /// Chat or SMS/WhatsApp participants to add.
        participants: Vec<Participant>,
    },
    /// `participant`: a user id, an SMS/WhatsApp participant's ref, or an
    /// address (`+…` or `whatsapp:+…`).
    RemoveParticipant {
        /// The thread: a ref or an id.
        thread: String,
        /// Who leaves.
        participant: String,
    },
    /// `list_participants`.
    ListParticipants {
        /// The thread: a ref or an id.
        thread: String,
        /// The page size and where to continue.
        page: PageSpec,
    },
    /// `send_message`.
    SendMessage {
        /// The thread: a ref or an id.
        thread: String,
        /// The text or HTML.
        content: Arc<str>,
        /// Text or HTML.
        content_type: ContentType,
        /// Media attached (Twilio, Sendbird).
        media: Vec<Media>,
        /// Key-value metadata.
        metadata: BTreeMap<String, String>,
        /// A WhatsApp template's name, for a message outside the 24-hour window.
        template: Option<Arc<str>>,
    },
    /// `get_message`.
    GetMessage {
        /// The thread: a ref or an id.
        thread: String,
        /// The message: a ref or a sequence id.
        message: String,
    },
    /// `list_messages`.
    ListMessages {
        /// The thread: a ref or an id.
        thread: String,
        /// The page size and where to continue.
        page: PageSpec,
        /// Only messages from this instant on.
        start_time: Option<Instant>,
    },
    /// `update_message`: the sender edits a message.
    UpdateMessage {
        /// The thread: a ref or an id.
        thread: String,
        /// The message: a ref or a sequence id.
        message: String,
        /// The new text.
        content: Arc<str>,
    },
    /// `delete_message`.
    DeleteMessage {
        /// The thread: a ref or an id.
        thread: String,
        /// The message: a ref or a sequence id.
        message: String,
    },
    /// `send_typing`.
    SendTyping {
        /// The thread: a ref or an id.
        thread: String,
    },
    /// `send_read_receipt`.
    SendReadReceipt {
        /// The thread: a ref or an id.
        thread: String,
        /// The message read up to: a ref or a sequence id.
        message: String,
    },
    /// `list_read_receipts`.
    ListReadReceipts {
        /// The thread: a ref or an id.
        thread: String,
        /// The page size and where to continue.
        page: PageSpec,
    },
    /// `update_metacounter`: adds `delta` to a Sendbird channel's counter.
    UpdateMetacounter {
        /// The thread: a ref or an id.
        thread: String,
        /// The counter's key.
        key: Arc<str>,
        /// What to add (negative subtracts).
        delta: i64,
    },
    /// A message from an SMS or WhatsApp user; `from` and `to` are addresses
    /// or SMS/WhatsApp participants' refs. No `body` is an empty body.
    Inbound {
        /// SMS or WhatsApp.
        channel: Channel,
        /// The sender: an address or a ref.
        from: String,
        /// The proxy it was sent to: an address or a ref.
        to: String,
        /// The text.
        body: Arc<str>,
        /// Media attached (MMS, WhatsApp).
        media: Vec<Media>,
    },
    /// `send_sms`: ACS's SMS API, outside any thread.
    SendSms {
        /// The sending number.
        from: Arc<str>,
        /// The recipients' numbers.
        to: Vec<Arc<str>>,
        /// The text.
        message: Arc<str>,
        /// Whether the carrier's delivery reports are wanted.
        delivery_report: bool,
    },
    /// A query of the simulator: deliveries to SMS/WhatsApp participants.
    Outbox(OutboxQuery),
    /// A query of the simulator: the notifications `user` received.
    Inbox {
        /// The user: an id.
        user: String,
    },
    /// `webhook`: a webhook call the server mode made and the answer it got
    /// (an input, recorded so that the session replays without the
    /// receiver). It changes nothing; the trace shows it as a line of its own.
    Webhook {
        /// `pre` or `post`.
        phase: Arc<str>,
        /// The platform's event name (`onMessageAdded`).
        event: Arc<str>,
        /// Where it was sent.
        url: Arc<str>,
        /// The parameters sent.
        params: BTreeMap<String, String>,
        /// The receiver's HTTP status; 0 when no answer came.
        status: u16,
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
            | Op::ListReadReceipts { thread, .. }
            | Op::UpdateMetacounter { thread, .. } => Some(thread),
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
            | Op::Webhook { .. }
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
        /// The channel, address and proxy.
        binding: BindingSpec,
        /// The name later steps give it.
        reference: Option<String>,
    },
}

/// A retention policy as a step gives it; the platform counts whole days,
/// which the run checks (a step's 400, not a malformed file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionField {
    /// No retention: the thread lives until deleted.
    None,
    /// Delete the thread this long after its creation.
    DeleteAfter(Duration),
}

/// The lifecycle fields of a create or update step; `None` leaves a setting
/// as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadSettings {
    /// The retention policy to set.
    pub retention: Option<RetentionField>,
    /// The Twilio conversation state to set.
    pub state: Option<ConversationState>,
    /// Twilio's timers as given (ISO-8601 texts the platform checks).
    pub timers: Option<StateTimers>,
}

/// An `outbox` step's filter; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxQuery {
    /// An address, or an SMS/WhatsApp participant's ref.
    pub to: Option<String>,
    /// Only this route (SMS, MMS, WhatsApp).
    pub channel: Option<Route>,
    /// Only this carrier status.
    pub status: Option<Status>,
    /// Only this thread, or one of its messages.
    pub thread: Option<InThread>,
}

/// The `thread` of an outbox filter, and optionally one of its messages (a
/// message is named with its thread).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InThread {
    /// The thread: a ref or an id.
    pub thread: String,
    /// The message: a ref or a sequence id.
    pub message: Option<String>,
}

/// A listing step's page: its size, and where to continue from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageSpec {
    /// How many items a page holds; `None` for the platform's default.
    pub page_size: Option<u32>,
    /// Where to continue; `None` for the first page.
    pub continuation: Option<Continuation>,
}

/// Where a listing continues: a continuation token as written, or the one an
/// earlier listing step (named by its `ref`) returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Continuation {
    /// A continuation token, as written.
    Token(String),
    /// The token the listing step with this `ref` returned.
    Of(String),
}
