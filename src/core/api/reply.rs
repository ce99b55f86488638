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
    /// The thread's id.
    pub id: ThreadId,
    /// The topic (Sendbird: the channel name; Twilio: the friendly name).
    pub topic: Arc<str>,
    /// The creator's name.
    pub created_by: Arc<str>,
    /// When it was created, in virtual milliseconds since the epoch.
    pub created_at_ms: u64,
    /// When it was deleted (in its recovery window), in virtual milliseconds since the epoch.
    pub deleted_at_ms: Option<u64>,
    /// How many chat participants it has now.
    pub participant_count: u32,
    /// The retention policy.
    pub retention: Retention,
    /// The Twilio conversation state (`active` on other profiles).
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
    /// When the conversation goes inactive, in virtual milliseconds since the epoch.
    pub date_inactive_ms: Option<u64>,
    /// When the conversation closes, in virtual milliseconds since the epoch.
    pub date_closed_ms: Option<u64>,
}

/// A message as the API returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// The message id inside its thread: `m` and the sequence id (`m3`).
    pub id: String,
    /// The position in the thread's log, counted from 1.
    pub sequence_id: u32,
    /// Text, HTML, or a system message.
    #[serde(rename = "type")]
    pub kind: MessageKind,
    /// Who sent it: the identity's name (for a system message, whoever made
    /// the change), or an SMS/WhatsApp participant's address.
    pub sender: Arc<str>,
    /// The text or HTML; `None` once deleted and for system messages.
    pub content: Option<Arc<str>>,
    /// The new topic, for a `topic_updated` system message.
    pub topic: Option<Arc<str>>,
    /// The participants added or removed, for a participant system message.
    pub participants: Option<Vec<Arc<str>>>,
    /// The sender's key-value metadata.
    pub metadata: BTreeMap<String, String>,
    /// The media attached (Twilio, Sendbird).
    pub media: Vec<Media>,
    /// When it was sent, in virtual milliseconds since the epoch.
    pub created_at_ms: u64,
    /// When it was last edited, in virtual milliseconds since the epoch.
    pub edited_at_ms: Option<u64>,
    /// When it was deleted, in virtual milliseconds since the epoch.
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
    /// How many deliveries the message has.
    pub total: u32,
    /// Whether all, some or none are `sent`.
    pub sent: Share,
    /// Whether all, some or none are `delivered`.
    pub delivered: Share,
    /// Whether all, some or none are `read`.
    pub read: Share,
    /// Whether all, some or none are `failed`.
    pub failed: Share,
    /// Whether all, some or none are `undelivered`.
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
    /// The participant's name.
    pub user: Arc<str>,
    /// The display name given when it was added.
    pub display_name: Option<Arc<str>>,
    /// From when it may read the history, in virtual milliseconds since the epoch.
    pub share_history_from_ms: u64,
}

/// A read receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadReceiptView {
    /// Who read.
    pub sender: Arc<str>,
    /// The id of the message read up to.
    pub message: String,
    /// When it was read, in virtual milliseconds since the epoch.
    pub read_at_ms: u64,
}

/// A participant a create or add call could not add, with the reason, as
/// ACS's `invalidParticipants` (the call itself succeeds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InvalidParticipant {
    /// The identity that could not be added.
    pub target: Arc<str>,
    /// The platform's error code for it.
    pub code: String,
    /// The platform's message for it.
    pub message: String,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The page's items, in the listing's order.
    pub items: Vec<T>,
    /// The token that fetches the next page; `None` on the last.
    pub continuation: Option<String>,
}

/// What a successful call returns. The large views are boxed so that a
/// reply, and the `Outcome` that carries it up the call path, stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// A call that returns no body.
    None,
    /// A created identity.
    User {
        /// The identity's name.
        id: Arc<str>,
    },
    /// A created thread.
    ThreadCreated {
        /// The thread as created.
        thread: Box<ThreadView>,
        /// The participants that could not be added (ACS).
        invalid_participants: Vec<InvalidParticipant>,
    },
    /// One thread.
    Thread(Box<ThreadView>),
    /// A page of threads.
    Threads(Page<ThreadView>),
    /// Participants added.
    ParticipantsAdded {
        /// The participants that could not be added (ACS).
        invalid_participants: Vec<InvalidParticipant>,
    },
    /// A page of participants.
    Participants(Page<ParticipantView>),
    /// A sent message.
    MessageSent {
        /// Its sequence id.
        sequence: u32,
    },
    /// One message.
    Message(Box<MessageView>),
    /// A page of messages.
    Messages(Page<MessageView>),
    /// A page of read receipts.
    ReadReceipts(Page<ReadReceiptView>),
    /// A Sendbird metacounter's value.
    Counter {
        /// The counter's key.
        key: Arc<str>,
        /// Its value.
        value: i64,
    },
    /// An issued access token.
    Token(Box<TokenView>),
    /// ACS `send_sms`: one result per recipient, in the order given.
    SmsSent(Vec<SmsResult>),
}

/// One recipient's result of an ACS `send_sms` call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmsResult {
    /// The recipient's phone number.
    pub to: Arc<str>,
    /// The message id; `None` when refused.
    pub message_id: Option<String>,
    /// The recipient's HTTP status (202 accepted, 400 refused).
    pub http_status: u16,
    /// Whether the message was accepted.
    pub successful: bool,
    /// Why it was refused.
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
    /// What happened.
    #[serde(rename = "type")]
    pub kind: NoticeKind,
    /// The thread it concerns.
    pub thread: ThreadId,
    /// When it was received, in virtual milliseconds since the epoch.
    pub at_ms: u64,
    /// Who caused it.
    pub from: Arc<str>,
    /// The id of the message it concerns, if any.
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
    /// When it expires, in virtual milliseconds since the epoch.
    pub expires_on_ms: u64,
    /// The identity's name.
    pub user: Arc<str>,
    /// The scope names, as the platform spells them.
    pub scopes: Vec<String>,
    /// The scopes as a set (the JWT's `scp` carries its bits).
    #[serde(skip)]
    pub scope_set: Scopes,
    /// When it was issued, in virtual milliseconds since the epoch.
    #[serde(skip)]
    pub issued_at_ms: u64,
}

/// The result of a successful call: the reply and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What the caller gets back.
    pub reply: Reply,
    /// What happened, for the trace.
    pub events: Vec<Event>,
    /// Deliveries handed to the carrier (the shell's work, not traced).
    pub queued: Vec<Queued>,
}

/// A delivery as the outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    /// The delivery's global id.
    pub id: u64,
    /// The route it travels (SMS, MMS or WhatsApp).
    pub channel: Route,
    /// The recipient's address.
    pub to: Arc<str>,
    /// The sender's address (the proxy number).
    pub from: Arc<str>,
    /// The body sent, after the rules; `None` if none.
    pub body: Option<Arc<str>>,
    /// The media sent, after the rules.
    pub media: Vec<Media>,
    /// Segments billed (SMS).
    pub segments: u32,
    /// GSM-7 or UCS-2.
    pub encoding: Encoding,
    /// The carrier status.
    pub status: Status,
    /// The thread; `None` for ACS `send_sms`.
    pub thread: Option<ThreadId>,
    /// The message id; `None` for ACS `send_sms`.
    pub message: Option<String>,
    /// The carrier's error code, if any.
    pub error_code: Option<u16>,
    /// What the rules dropped, and why.
    pub dropped: Vec<DroppedView>,
    /// Why nothing was sent, for a delivery refused at creation.
    pub refused: Option<Refusal>,
}

/// Something the channel rules dropped from a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedView {
    /// What was dropped: a media item's name, or the body.
    pub what: String,
    /// Why it was dropped.
    pub why: DropReason,
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MessageKind {
    /// Plain text sent by a participant.
    Text,
    /// HTML sent by a participant (ACS), sanitized.
    Html,
    /// System message: participants joined.
    ParticipantAdded,
    /// System message: a participant left or was removed.
    ParticipantRemoved,
    /// System message: the topic changed.
    TopicUpdated,
}

impl MessageKind {
    /// The name the scenario format and the trace use.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Html => "html",
            MessageKind::ParticipantAdded => "participant_added",
            MessageKind::ParticipantRemoved => "participant_removed",
            MessageKind::TopicUpdated => "topic_updated",
        }
    }

    /// Whether a participant wrote it (text or HTML), not the system.
    pub fn is_user_content(self) -> bool {
        matches!(self, MessageKind::Text | MessageKind::Html)
    }
}

/// A real-time notification kind, as the scenario format names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoticeKind {
    /// A thread the recipient belongs to was created.
    ChatThreadCreated,
    /// A message arrived.
    ChatMessageReceived,
    /// A message was edited.
    ChatMessageEdited,
    /// A message was deleted.
    ChatMessageDeleted,
    /// Someone is typing.
    TypingIndicatorReceived,
    /// Someone read up to a message.
    ReadReceiptReceived,
    /// The topic or retention changed.
    ChatThreadPropertiesUpdated,
    /// Participants joined.
    ParticipantsAdded,
    /// Participants left or were removed.
    ParticipantsRemoved,
    /// The thread was deleted.
    ChatThreadDeleted,
}

impl NoticeKind {
    /// The name the scenario format and the trace use.
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
    /// All deliveries are in the status.
    All,
    /// Some, not all, are.
    Some,
    /// None is.
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
