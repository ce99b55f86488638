//! Commands (what a caller asks), replies (what a successful call returns) and
//! events (what happened, for the trace).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::lifecycle::{ConversationState, Retention, ThreadOptions};
use super::token::TokenView;
use crate::channel::address::{self, SenderKind};
use crate::channel::{Channel, Media, Route, Status};
use crate::id::ThreadId;
use crate::profile::Operation;
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

/// A call to the platform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    CreateUser {
        id: Arc<str>,
        display_name: Option<Arc<str>>,
    },
    DeleteUser {
        user: Arc<str>,
    },
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
    // ---- lifecycle and access ----
    /// Twilio: move a conversation to a state.
    SetState {
        thread: ThreadId,
        state: ConversationState,
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
    // ---- non-chat channels (issue 3) ----
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

impl Command {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            Command::CreateUser { .. } => "create_user",
            Command::DeleteUser { .. } => "delete_user",
            Command::CreateThread { .. } => "create_thread",
            Command::GetThread { .. } => "get_thread",
            Command::ListThreads { .. } => "list_threads",
            Command::UpdateThread { .. } => "update_thread",
            Command::DeleteThread { .. } => "delete_thread",
            Command::AddParticipants { .. } => "add_participants",
            Command::RemoveParticipant { .. } => "remove_participant",
            Command::ListParticipants { .. } => "list_participants",
            Command::SendMessage { .. } => "send_message",
            Command::GetMessage { .. } => "get_message",
            Command::ListMessages { .. } => "list_messages",
            Command::UpdateMessage { .. } => "update_message",
            Command::DeleteMessage { .. } => "delete_message",
            Command::SendTyping { .. } => "send_typing",
            Command::SendReadReceipt { .. } => "send_read_receipt",
            Command::ListReadReceipts { .. } => "list_read_receipts",
            Command::UpdateProfileImage { .. } => "update_profile_image",
            Command::UpdateMetacounter { .. } => "update_metacounter",
            Command::SetState { .. } => "set_state",
            Command::RecoverThread { .. } => "recover_thread",
            Command::IssueToken { .. } => "issue_token",
            Command::RevokeTokens { .. } => "revoke_tokens",
            Command::AddBindings { .. } => "add_participants",
            Command::RemoveBinding { .. } => "remove_participant",
            Command::Inbound { .. } => "inbound",
            Command::SendSms { .. } => "send_sms",
        }
    }

    /// The HTTP-like status of success.
    pub fn success_status(&self) -> u16 {
        match self {
            Command::CreateUser { .. }
            | Command::CreateThread { .. }
            | Command::AddParticipants { .. }
            | Command::SendMessage { .. }
            | Command::AddBindings { .. }
            | Command::Inbound { .. } => 201,
            Command::SendSms { .. } => 202,
            Command::RemoveBinding { .. } => 204,
            Command::DeleteUser { .. }
            | Command::RevokeTokens { .. }
            | Command::UpdateThread { .. }
            | Command::DeleteThread { .. }
            | Command::RemoveParticipant { .. }
            | Command::UpdateMessage { .. }
            | Command::DeleteMessage { .. } => 204,
            _ => 200,
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            Command::CreateUser { .. } => Operation::CreateIdentity,
            Command::DeleteUser { .. } => Operation::DeleteIdentity,
            Command::IssueToken { .. } => Operation::IssueToken,
            Command::RevokeTokens { .. } => Operation::RevokeTokens,
            Command::RecoverThread { .. } => Operation::RecoverThread,
            Command::CreateThread { .. } => Operation::CreateThread,
            Command::SetState { .. } => Operation::UpdateThread,
            Command::GetThread { .. } => Operation::GetThread,
            Command::ListThreads { .. } => Operation::ListThreads,
            Command::UpdateThread { .. } => Operation::UpdateThread,
            Command::DeleteThread { .. } => Operation::DeleteThread,
            Command::AddParticipants { .. } | Command::RemoveParticipant { .. } => {
                Operation::UpdateRoster
            }
            Command::ListParticipants { .. } => Operation::ListParticipants,
            Command::SendMessage { media, .. } => Operation::message(!media.is_empty()),
            Command::GetMessage { .. } => Operation::GetMessage,
            Command::ListMessages { .. } => Operation::ListMessages,
            Command::UpdateMessage { .. } => Operation::UpdateMessage,
            Command::DeleteMessage { .. } => Operation::DeleteMessage,
            Command::SendTyping { .. } => Operation::SendTyping,
            Command::SendReadReceipt { .. } => Operation::SendReadReceipt,
            Command::ListReadReceipts { .. } => Operation::ListReadReceipts,
            Command::UpdateProfileImage { .. } => Operation::UpdateProfileImage,
            Command::UpdateMetacounter { .. } => Operation::UpdateMetacounter,
            Command::AddBindings { .. } | Command::RemoveBinding { .. } => Operation::UpdateRoster,
            Command::Inbound { .. } => Operation::Inbound,
            Command::SendSms { from, .. } => match address::sender_kind(from) {
                SenderKind::TollFree => Operation::SendSmsTollFree,
                SenderKind::ShortCode => Operation::SendSmsShortCode,
                SenderKind::Other => Operation::SendSms,
            },
        }
    }

    /// The operation of a call that only reads, `None` for calls that write.
    pub fn read_operation(&self) -> Option<Operation> {
        match self {
            Command::GetThread { .. }
            | Command::ListThreads { .. }
            | Command::ListParticipants { .. }
            | Command::GetMessage { .. }
            | Command::ListMessages { .. }
            | Command::ListReadReceipts { .. } => Some(self.operation()),
            _ => None,
        }
    }

    /// The thread the call targets, if any.
    pub fn thread(&self) -> Option<ThreadId> {
        match self {
            Command::GetThread { thread }
            | Command::UpdateThread { thread, .. }
            | Command::DeleteThread { thread }
            | Command::AddParticipants { thread, .. }
            | Command::RemoveParticipant { thread, .. }
            | Command::ListParticipants { thread, .. }
            | Command::SendMessage { thread, .. }
            | Command::GetMessage { thread, .. }
            | Command::ListMessages { thread, .. }
            | Command::UpdateMessage { thread, .. }
            | Command::DeleteMessage { thread, .. }
            | Command::SendTyping { thread }
            | Command::SendReadReceipt { thread, .. }
            | Command::ListReadReceipts { thread, .. }
            | Command::UpdateMetacounter { thread, .. }
            | Command::SetState { thread, .. }
            | Command::RecoverThread { thread }
            | Command::AddBindings { thread, .. }
            | Command::RemoveBinding { thread, .. } => Some(*thread),
            _ => None,
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
    pub fn of(statuses: impl Iterator<Item = crate::channel::Status>) -> Option<DeliverySummary> {
        use crate::channel::Status;
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
    pub code: &'static str,
    pub message: &'static str,
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
