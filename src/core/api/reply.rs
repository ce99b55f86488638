//! Replies: what a successful call returns, as typed views of threads,
//! messages, participants, receipts, tokens and deliveries. Vocabulary only:
//! nothing here reads or changes the state.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::event::{Event, Queued};
use super::options::{ConversationState, Retention};
use crate::id::{ThreadId, TokenId};
use crate::profile::Scopes;
use crate::rules::{DropReason, Encoding, Media, Refusal, Route, Status};

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
    pub state: ConversationState,
    /// When the retention policy deletes the thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_at_ms: Option<u64>,
    /// Twilio's timers: when the conversation goes inactive and closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timers: Option<TimersView>,
}

/// Twilio's `timers` of a conversation: absolute instants (the Twilio Conversations API specification).
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
    pub kind: MessageKind,
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
    pub sent: Share,
    pub delivered: Share,
    pub read: Share,
    pub failed: Share,
    pub undelivered: Share,
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
            0 => Share::None,
            n if n == total => Share::All,
            _ => Share::Some,
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

/// A real-time notification as a participant received it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    #[serde(rename = "type")]
    pub kind: NoticeKind,
    pub thread: ThreadId,
    pub at_ms: u64,
    pub from: Arc<str>,
    pub message: Option<String>,
}

/// An issued token's facts, as the API returns them (ACS: `{token,
/// expiresOn}`). The token's text is not a fact of the core: render it with
/// `switchboard::wire::acs::token_text`; present the token by its `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenView {
    /// The identity and the serial (the JWT's `jti`).
    #[serde(skip)]
    pub id: TokenId,
    pub expires_on_ms: u64,
    pub user: Arc<str>,
    pub scopes: Vec<String>,
    /// The scopes as a set (the JWT's `scp` carries its bits).
    #[serde(skip)]
    pub scope_set: Scopes,
    #[serde(skip)]
    pub issued_at_ms: u64,
}

/// The result of a successful call: the reply and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub reply: Reply,
    pub events: Vec<Event>,
    /// Deliveries handed to the carrier (the shell's work, not traced).
    pub queued: Vec<Queued>,
}

/// A delivery as the outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    pub id: u64,
    pub channel: Route,
    pub to: Arc<str>,
    pub from: Arc<str>,
    pub body: Option<Arc<str>>,
    pub media: Vec<Media>,
    pub segments: u32,
    pub encoding: Encoding,
    pub status: Status,
    pub thread: Option<ThreadId>,
    pub message: Option<String>,
    pub error_code: Option<u16>,
    /// What the rules dropped, and why.
    pub dropped: Vec<DroppedView>,
    /// Why nothing was sent, for a delivery refused at creation.
    pub refused: Option<Refusal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedView {
    pub what: String,
    pub why: DropReason,
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Html,
    ParticipantAdded,
    ParticipantRemoved,
    TopicUpdated,
}

impl MessageKind {
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Html => "html",
            MessageKind::ParticipantAdded => "participant_added",
            MessageKind::ParticipantRemoved => "participant_removed",
            MessageKind::TopicUpdated => "topic_updated",
        }
    }

    pub fn is_user_content(self) -> bool {
        matches!(self, MessageKind::Text | MessageKind::Html)
    }
}

/// A real-time notification kind, as the scenario format names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    ChatThreadCreated,
    ChatMessageReceived,
    ChatMessageEdited,
    ChatMessageDeleted,
    TypingIndicatorReceived,
    ReadReceiptReceived,
    ChatThreadPropertiesUpdated,
    ParticipantsAdded,
    ParticipantsRemoved,
    ChatThreadDeleted,
}

impl NoticeKind {
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::ChatThreadCreated => "chat_thread_created",
            NoticeKind::ChatMessageReceived => "chat_message_received",
            NoticeKind::ChatMessageEdited => "chat_message_edited",
            NoticeKind::ChatMessageDeleted => "chat_message_deleted",
            NoticeKind::TypingIndicatorReceived => "typing_indicator_received",
            NoticeKind::ReadReceiptReceived => "read_receipt_received",
            NoticeKind::ChatThreadPropertiesUpdated => "chat_thread_properties_updated",
            NoticeKind::ParticipantsAdded => "participants_added",
            NoticeKind::ParticipantsRemoved => "participants_removed",
            NoticeKind::ChatThreadDeleted => "chat_thread_deleted",
        }
    }
}

/// How many of a message's non-chat deliveries are in a status (Twilio's
/// delivery summary): all, some or none of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Share {
    All,
    Some,
    None,
}

impl std::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

impl std::fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}
