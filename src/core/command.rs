//! Commands (what a caller asks), replies (what a successful call returns) and
//! events (what happened, for the trace).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::lifecycle::{ConversationState, Retention, ThreadOptions};
use super::token::TokenView;
use crate::id::ThreadId;
use crate::profile::Operation;
use crate::rules::address::{self, SenderKind};
use crate::rules::{Channel, Media, Route, Status};
use crate::time::Instant;

/// A participant named in a create or add call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantSpec {
    /// The identity, by its public id.
    pub user: Arc<str>,
    pub display_name: Option<Arc<str>>,
    /// History visible from this instant; `None` shares the whole history.
    pub share_history_from: Option<Instant>,
}

impl ParticipantSpec {
    pub fn user(user: impl Into<Arc<str>>) -> ParticipantSpec {
        ParticipantSpec {
            user: user.into(),
            display_name: None,
            share_history_from: None,
        }
    }
}

/// A non-chat participant named in a call: a binding of an address and the
/// proxy address it talks through, as given (validated by the core).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingSpec {
    pub channel: Channel,
    pub address: Arc<str>,
    pub proxy: Arc<str>,
}

/// A query of the deliveries to non-chat recipients; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    /// An address (a WhatsApp address with or without `whatsapp:`).
    pub to: Option<Arc<str>>,
    /// `sms`, `mms` or `whatsapp`.
    pub channel: Option<Route>,
    pub thread: Option<ThreadId>,
    pub status: Option<Status>,
    /// A message's sequence id (with `thread`): its delivery receipts.
    pub message: Option<u32>,
}

/// A page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub page_size: Option<u32>,
    pub continuation: Option<String>,
}

/// text or html.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ContentType {
    #[default]
    Text,
    Html,
}

/// A call to the platform, grouped by who makes it: each family has its own
/// path through [`State::execute`](super::State::execute), so no dispatcher
/// meets a call it cannot handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A call by a chat identity (authenticated, authorized, rate-limited).
    Chat(ChatCall),
    /// A call by the trusted service or the operator: no chat identity.
    Service(ServiceCall),
    /// Traffic from the telephone side: inbound SMS/WhatsApp and ACS `send_sms`.
    Carrier(CarrierCall),
}

/// A call a chat identity makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatCall {
    /// Creates a thread with chat participants, SMS/WhatsApp participants
    /// (`bindings`, Twilio) and lifecycle options (retention; Twilio state and
    /// timers); all or nothing.
    CreateThread {
        topic: Arc<str>,
        participants: Vec<ParticipantSpec>,
        bindings: Vec<BindingSpec>,
        idempotency_key: Option<Arc<str>>,
        options: ThreadOptions,
    },
    GetThread {
        thread: ThreadId,
    },
    ListThreads {
        page: PageRequest,
    },
    /// Changes the topic and lifecycle options (a retention change moves the
    /// deletion; a Twilio state change moves the conversation).
    UpdateThread {
        thread: ThreadId,
        topic: Option<Arc<str>>,
        options: ThreadOptions,
    },
    DeleteThread {
        thread: ThreadId,
    },
    AddParticipants {
        thread: ThreadId,
        participants: Vec<ParticipantSpec>,
    },
    RemoveParticipant {
        thread: ThreadId,
        user: Arc<str>,
    },
    ListParticipants {
        thread: ThreadId,
        page: PageRequest,
    },
    /// A chat message, with media or as a template (WhatsApp's 24-hour window
    /// does not apply to templates); empty content is allowed with media.
    SendMessage {
        thread: ThreadId,
        content: Arc<str>,
        content_type: ContentType,
        metadata: BTreeMap<String, String>,
        media: Vec<Media>,
        template: Option<Arc<str>>,
    },
    GetMessage {
        thread: ThreadId,
        message: u32,
    },
    ListMessages {
        thread: ThreadId,
        page: PageRequest,
        start_time: Option<Instant>,
    },
    UpdateMessage {
        thread: ThreadId,
        message: u32,
        content: Arc<str>,
    },
    DeleteMessage {
        thread: ThreadId,
        message: u32,
    },
    SendTyping {
        thread: ThreadId,
    },
    SendReadReceipt {
        thread: ThreadId,
        message: u32,
    },
    ListReadReceipts {
        thread: ThreadId,
        page: PageRequest,
    },
    /// Uploads the caller's profile image (Sendbird), `bytes` in size.
    UpdateProfileImage {
        bytes: u32,
    },
    /// Adds `delta` to the thread's counter `key` (Sendbird's channel
    /// metacounters; a new key starts at 0).
    UpdateMetacounter {
        thread: ThreadId,
        key: Arc<str>,
        delta: i64,
    },
    /// Twilio: move a conversation to a state.
    SetState {
        thread: ThreadId,
        state: ConversationState,
    },
    /// Adds SMS or WhatsApp participants, all or nothing.
    AddBindings {
        thread: ThreadId,
        bindings: Vec<BindingSpec>,
    },
    /// Removes an SMS or WhatsApp participant, freeing its binding.
    RemoveBinding {
        thread: ThreadId,
        channel: Channel,
        address: Arc<str>,
    },
}

/// A call of the trusted service (identities and tokens) or of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceCall {
    CreateUser {
        id: Arc<str>,
        display_name: Option<Arc<str>>,
    },
    DeleteUser {
        user: Arc<str>,
    },
    /// The operator restores a deleted thread within its recovery window.
    RecoverThread {
        thread: ThreadId,
    },
    /// The trusted service issues an access token.
    IssueToken {
        user: Arc<str>,
        scopes: Vec<Arc<str>>,
        /// The lifetime (whole minutes); `None` takes the profile's default.
        expires_in_ms: Option<u64>,
    },
    /// The trusted service revokes every token of an identity.
    RevokeTokens {
        user: Arc<str>,
    },
}

/// A call from the telephone side, with no chat identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CarrierCall {
    /// A message from an SMS or WhatsApp user to the proxy address of a binding
    /// (the carrier's call: no identity).
    Inbound {
        channel: Channel,
        from: Arc<str>,
        to: Arc<str>,
        body: Arc<str>,
        media: Vec<Media>,
    },
    /// ACS's SMS API: one message to 1..100 recipients (the resource's call).
    SendSms {
        from: Arc<str>,
        to: Vec<Arc<str>>,
        message: Arc<str>,
        delivery_report: bool,
    },
}

impl From<ChatCall> for Command {
    fn from(call: ChatCall) -> Command {
        Command::Chat(call)
    }
}

impl From<ServiceCall> for Command {
    fn from(call: ServiceCall) -> Command {
        Command::Service(call)
    }
}

impl From<CarrierCall> for Command {
    fn from(call: CarrierCall) -> Command {
        Command::Carrier(call)
    }
}

impl Command {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            Command::Chat(call) => call.op(),
            Command::Service(call) => call.op(),
            Command::Carrier(call) => call.op(),
        }
    }

    /// The HTTP-like status of success.
    pub fn success_status(&self) -> u16 {
        match self {
            Command::Chat(call) => call.success_status(),
            Command::Service(ServiceCall::CreateUser { .. }) => 201,
            Command::Service(ServiceCall::DeleteUser { .. } | ServiceCall::RevokeTokens { .. }) => {
                204
            }
            Command::Service(
                ServiceCall::IssueToken { .. } | ServiceCall::RecoverThread { .. },
            ) => 200,
            Command::Carrier(CarrierCall::Inbound { .. }) => 201,
            Command::Carrier(CarrierCall::SendSms { .. }) => 202,
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            Command::Chat(call) => call.operation(),
            Command::Service(call) => call.operation(),
            Command::Carrier(call) => call.operation(),
        }
    }

    /// The thread the call targets, if any.
    pub fn thread(&self) -> Option<ThreadId> {
        match self {
            Command::Chat(call) => call.thread(),
            Command::Service(ServiceCall::RecoverThread { thread }) => Some(*thread),
            Command::Service(_) | Command::Carrier(_) => None,
        }
    }
}

impl ChatCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            ChatCall::CreateThread { .. } => "create_thread",
            ChatCall::GetThread { .. } => "get_thread",
            ChatCall::ListThreads { .. } => "list_threads",
            ChatCall::UpdateThread { .. } => "update_thread",
            ChatCall::DeleteThread { .. } => "delete_thread",
            ChatCall::AddParticipants { .. } | ChatCall::AddBindings { .. } => "add_participants",
            ChatCall::RemoveParticipant { .. } | ChatCall::RemoveBinding { .. } => {
                "remove_participant"
            }
            ChatCall::ListParticipants { .. } => "list_participants",
            ChatCall::SendMessage { .. } => "send_message",
            ChatCall::GetMessage { .. } => "get_message",
            ChatCall::ListMessages { .. } => "list_messages",
            ChatCall::UpdateMessage { .. } => "update_message",
            ChatCall::DeleteMessage { .. } => "delete_message",
            ChatCall::SendTyping { .. } => "send_typing",
            ChatCall::SendReadReceipt { .. } => "send_read_receipt",
            ChatCall::ListReadReceipts { .. } => "list_read_receipts",
            ChatCall::UpdateProfileImage { .. } => "update_profile_image",
            ChatCall::UpdateMetacounter { .. } => "update_metacounter",
            ChatCall::SetState { .. } => "set_state",
        }
    }

    /// The HTTP-like status of success.
    pub fn success_status(&self) -> u16 {
        match self {
            ChatCall::CreateThread { .. }
            | ChatCall::AddParticipants { .. }
            | ChatCall::SendMessage { .. }
            | ChatCall::AddBindings { .. } => 201,
            ChatCall::UpdateThread { .. }
            | ChatCall::DeleteThread { .. }
            | ChatCall::RemoveParticipant { .. }
            | ChatCall::RemoveBinding { .. }
            | ChatCall::UpdateMessage { .. }
            | ChatCall::DeleteMessage { .. } => 204,
            _ => 200,
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            ChatCall::CreateThread { .. } => Operation::CreateThread,
            ChatCall::GetThread { .. } => Operation::GetThread,
            ChatCall::ListThreads { .. } => Operation::ListThreads,
            ChatCall::UpdateThread { .. } | ChatCall::SetState { .. } => Operation::UpdateThread,
            ChatCall::DeleteThread { .. } => Operation::DeleteThread,
            ChatCall::AddParticipants { .. }
            | ChatCall::RemoveParticipant { .. }
            | ChatCall::AddBindings { .. }
            | ChatCall::RemoveBinding { .. } => Operation::UpdateRoster,
            ChatCall::ListParticipants { .. } => Operation::ListParticipants,
            ChatCall::SendMessage { media, .. } => Operation::message(!media.is_empty()),
            ChatCall::GetMessage { .. } => Operation::GetMessage,
            ChatCall::ListMessages { .. } => Operation::ListMessages,
            ChatCall::UpdateMessage { .. } => Operation::UpdateMessage,
            ChatCall::DeleteMessage { .. } => Operation::DeleteMessage,
            ChatCall::SendTyping { .. } => Operation::SendTyping,
            ChatCall::SendReadReceipt { .. } => Operation::SendReadReceipt,
            ChatCall::ListReadReceipts { .. } => Operation::ListReadReceipts,
            ChatCall::UpdateProfileImage { .. } => Operation::UpdateProfileImage,
            ChatCall::UpdateMetacounter { .. } => Operation::UpdateMetacounter,
        }
    }

    /// The thread the call targets, if any.
    pub fn thread(&self) -> Option<ThreadId> {
        match self {
            ChatCall::GetThread { thread }
            | ChatCall::UpdateThread { thread, .. }
            | ChatCall::DeleteThread { thread }
            | ChatCall::AddParticipants { thread, .. }
            | ChatCall::RemoveParticipant { thread, .. }
            | ChatCall::ListParticipants { thread, .. }
            | ChatCall::SendMessage { thread, .. }
            | ChatCall::GetMessage { thread, .. }
            | ChatCall::ListMessages { thread, .. }
            | ChatCall::UpdateMessage { thread, .. }
            | ChatCall::DeleteMessage { thread, .. }
            | ChatCall::SendTyping { thread }
            | ChatCall::SendReadReceipt { thread, .. }
            | ChatCall::ListReadReceipts { thread, .. }
            | ChatCall::UpdateMetacounter { thread, .. }
            | ChatCall::SetState { thread, .. }
            | ChatCall::AddBindings { thread, .. }
            | ChatCall::RemoveBinding { thread, .. } => Some(*thread),
            ChatCall::CreateThread { .. }
            | ChatCall::ListThreads { .. }
            | ChatCall::UpdateProfileImage { .. } => None,
        }
    }
}

impl ServiceCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            ServiceCall::CreateUser { .. } => "create_user",
            ServiceCall::DeleteUser { .. } => "delete_user",
            ServiceCall::IssueToken { .. } => "issue_token",
            ServiceCall::RevokeTokens { .. } => "revoke_tokens",
            ServiceCall::RecoverThread { .. } => "recover_thread",
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            ServiceCall::CreateUser { .. } => Operation::CreateIdentity,
            ServiceCall::DeleteUser { .. } => Operation::DeleteIdentity,
            ServiceCall::IssueToken { .. } => Operation::IssueToken,
            ServiceCall::RevokeTokens { .. } => Operation::RevokeTokens,
            ServiceCall::RecoverThread { .. } => Operation::RecoverThread,
        }
    }
}

impl CarrierCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            CarrierCall::Inbound { .. } => "inbound",
            CarrierCall::SendSms { .. } => "send_sms",
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            CarrierCall::Inbound { .. } => Operation::Inbound,
            CarrierCall::SendSms { from, .. } => match address::sender_kind(from) {
                SenderKind::TollFree => Operation::SendSmsTollFree,
                SenderKind::ShortCode => Operation::SendSmsShortCode,
                SenderKind::Other => Operation::SendSms,
            },
        }
    }
}

/// A thread as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ThreadView {
    pub id: ThreadId,
    pub topic: Arc<str>,
    pub created_by: Arc<str>,
    pub created_at_ms: u64,
    pub deleted_at_ms: Option<u64>,
    pub participant_count: u32,
    pub retention: Retention,
    pub state: &'static str,
    /// When the retention policy deletes the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_at_ms: Option<u64>,
    /// Twilio's timers: when the conversation goes inactive and closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timers: Option<TimersView>,
}

/// Twilio's `timers` of a conversation: absolute instants (T1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimersView {
    pub date_inactive_ms: Option<u64>,
    pub date_closed_ms: Option<u64>,
}

/// A message as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    pub id: String,
    pub sequence_id: u32,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sender: Arc<str>,
    pub content: Option<Arc<str>>,
    pub topic: Option<Arc<str>>,
    pub participants: Option<Vec<Arc<str>>>,
    pub metadata: BTreeMap<String, String>,
    pub media: Vec<Media>,
    pub created_at_ms: u64,
    pub edited_at_ms: Option<u64>,
    pub deleted_at_ms: Option<u64>,
    /// Twilio's delivery summary over the message's SMS/WhatsApp deliveries;
    /// absent for a message that reached no such participant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliverySummary>,
}

/// How far a message's non-chat deliveries got (Twilio's `delivery`): the
/// total, and for each status whether `all`, `some` or `none` of them are in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliverySummary {
    pub total: u32,
    pub sent: &'static str,
    pub delivered: &'static str,
    pub read: &'static str,
    pub failed: &'static str,
    pub undelivered: &'static str,
}

impl DeliverySummary {
    /// The summary of deliveries in `statuses` (none: no summary).
    pub fn of(statuses: impl Iterator<Item = crate::rules::Status>) -> Option<DeliverySummary> {
        use crate::rules::Status;
        let mut counts = [0u32; Status::ALL.len()];
        for status in statuses {
            counts[status as usize] += 1;
        }
        let total: u32 = counts.iter().sum();
        let share = |status: Status| match counts[status as usize] {
            0 => "none",
            n if n == total => "all",
            _ => "some",
        };
        (total > 0).then(|| DeliverySummary {
            total,
            sent: share(Status::Sent),
            delivered: share(Status::Delivered),
            read: share(Status::Read),
            failed: share(Status::Failed),
            undelivered: share(Status::Undelivered),
        })
    }
}

/// A participant as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParticipantView {
    pub user: Arc<str>,
    pub display_name: Option<Arc<str>>,
    pub share_history_from_ms: u64,
}

/// A read receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadReceiptView {
    pub sender: Arc<str>,
    pub message: String,
    pub read_at_ms: u64,
}

/// A participant a create or add call could not add, with the reason, as
/// ACS's `invalidParticipants` (the call itself succeeds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidParticipant {
    pub target: Arc<str>,
    pub code: String,
    pub message: String,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub continuation: Option<String>,
}

/// What a successful call returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    None,
    User {
        id: Arc<str>,
    },
    ThreadCreated {
        thread: ThreadView,
        invalid_participants: Vec<InvalidParticipant>,
    },
    Thread(ThreadView),
    Threads(Page<ThreadView>),
    ParticipantsAdded {
        invalid_participants: Vec<InvalidParticipant>,
    },
    Participants(Page<ParticipantView>),
    MessageSent {
        sequence: u32,
    },
    Message(MessageView),
    Messages(Page<MessageView>),
    ReadReceipts(Page<ReadReceiptView>),
    Counter {
        key: Arc<str>,
        value: i64,
    },
    Token(TokenView),
    /// ACS `send_sms`: one result per recipient, in the order given.
    SmsSent(Vec<SmsResult>),
}

/// One recipient's result of an ACS `send_sms` call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmsResult {
    pub to: Arc<str>,
    pub message_id: Option<String>,
    pub http_status: u16,
    pub successful: bool,
    pub error_message: Option<String>,
}

/// A delivery the carrier must now carry (not traced: the shell's work list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    pub delivery: DeliveryRef,
    pub route: Route,
    /// When the delivery is handed to the carrier (now, until SMS throughput
    /// limits queue it for later).
    pub handed_at: Instant,
}

/// Where a delivery lives: in a thread, or (ACS `send_sms`) in no thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DeliveryRef {
    pub thread: Option<ThreadId>,
    pub id: u64,
    /// Where it is stored (its index in the thread's deliveries, or among the
    /// SMS call's recipients): a receipt finds it without a search. `id`
    /// confirms it.
    pub slot: u32,
}

/// A carrier's report on one delivery, fed to the core by the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub delivery: DeliveryRef,
    pub status: Status,
    /// The detail or error code (0: none).
    pub code: u16,
}

impl Reply {
    /// The number of items, for listings.
    pub fn count(&self) -> Option<usize> {
        match self {
            Reply::Threads(p) => Some(p.items.len()),
            Reply::Participants(p) => Some(p.items.len()),
            Reply::Messages(p) => Some(p.items.len()),
            Reply::ReadReceipts(p) => Some(p.items.len()),
            Reply::SmsSent(results) => Some(results.len()),
            _ => None,
        }
    }
}

/// Something that happened, as the trace records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    UserCreated {
        user: Arc<str>,
    },
    UserDeleted {
        user: Arc<str>,
    },
    ProfileImageUpdated {
        user: Arc<str>,
        bytes: u32,
    },
    MetacounterUpdated {
        thread: ThreadId,
        by: Arc<str>,
        key: Arc<str>,
        value: i64,
    },
    ThreadCreated {
        thread: ThreadId,
        by: Arc<str>,
        participants: u32,
    },
    TopicUpdated {
        thread: ThreadId,
        by: Arc<str>,
        message: u32,
    },
    ThreadDeleted {
        thread: ThreadId,
        by: Arc<str>,
        notified: u32,
    },
    ParticipantsAdded {
        thread: ThreadId,
        by: Arc<str>,
        users: Vec<Arc<str>>,
        message: u32,
    },
    ParticipantRemoved {
        thread: ThreadId,
        by: Arc<str>,
        user: Arc<str>,
        message: u32,
    },
    /// A message stored once and fanned out to `recipients` chat participants;
    /// a hidden one (over a display cap) is stored but reaches nobody in real time.
    MessageSent {
        thread: ThreadId,
        message: u32,
        by: Arc<str>,
        bytes: u32,
        recipients: u32,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        hidden: bool,
    },
    MessageEdited {
        thread: ThreadId,
        message: u32,
        by: Arc<str>,
        bytes: u32,
    },
    MessageDeleted {
        thread: ThreadId,
        message: u32,
        by: Arc<str>,
    },
    TypingSent {
        thread: ThreadId,
        by: Arc<str>,
        recipients: u32,
    },
    ReadReceiptSent {
        thread: ThreadId,
        by: Arc<str>,
        message: u32,
        recipients: u32,
    },
    /// SMS or WhatsApp participants joined a thread.
    BindingsAdded {
        thread: ThreadId,
        by: Arc<str>,
        addresses: Vec<Arc<str>>,
    },
    BindingRemoved {
        thread: ThreadId,
        by: Arc<str>,
        address: Arc<str>,
    },
    /// A message from an SMS or WhatsApp user, stored once.
    InboundReceived {
        thread: ThreadId,
        message: u32,
        from: Arc<str>,
        bytes: u32,
        media: u32,
        recipients: u32,
    },
    /// A message's deliveries to non-chat participants: `queued` went to the
    /// carrier (ids `first`..), `failed` were refused (see the outbox why).
    DeliveriesCreated {
        thread: Option<ThreadId>,
        message: Option<u32>,
        first: u64,
        queued: u32,
        failed: u32,
        segments: u32,
    },
    /// A carrier receipt changed a delivery's status. Delivery ids are
    /// global; the outbox has each delivery's thread and address (the event
    /// stays small: it is the most frequent one).
    DeliveryUpdated {
        delivery: u64,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
    },
    /// A call the platform refused (recorded by the shell, not the core).
    Rejected {
        op: &'static str,
        by: Option<Arc<str>>,
        status: u16,
        error: &'static str,
    },
    /// A timer: the retention policy deleted the thread; all `notified`
    /// participants got `chat_thread_deleted`.
    RetentionExpired {
        thread: ThreadId,
        notified: u32,
    },
    RetentionChanged {
        thread: ThreadId,
        by: Arc<str>,
        retention: Retention,
        delete_at_ms: Option<u64>,
    },
    /// A timer: the recovery window of a deleted thread ended; its data is gone.
    ThreadPurged {
        thread: ThreadId,
    },
    /// The operator restored a deleted thread.
    ThreadRecovered {
        thread: ThreadId,
        retention_dropped: bool,
    },
    /// A Twilio conversation changed state, by `reason` (`api`, `timer`, `message`).
    StateChanged {
        thread: ThreadId,
        from: &'static str,
        to: &'static str,
        by: Arc<str>,
        reason: &'static str,
    },
    TimersSet {
        thread: ThreadId,
        by: Arc<str>,
        inactive_ms: Option<u64>,
        closed_ms: Option<u64>,
    },
    TokenIssued {
        user: Arc<str>,
        scopes: String,
        expires_at_ms: u64,
    },
    TokensRevoked {
        user: Arc<str>,
        tokens: u32,
    },
}

/// A real-time notification as a participant received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub thread: ThreadId,
    pub at_ms: u64,
    pub from: Arc<str>,
    pub message: Option<String>,
}
