//! Events: what happened, as the trace records it, and the carrier's side of
//! a delivery (the deliveries handed to it, its receipts). Vocabulary only.

use serde::Serialize;
use std::sync::Arc;

use super::error::Kind;
use super::options::{ConversationState, Retention};
use crate::id::ThreadId;
use crate::rules::{Route, Status};
use crate::time::Instant;

/// A delivery the carrier must now carry (not traced: the shell's work list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The delivery to carry.
    pub delivery: DeliveryRef,
    /// How it travels: the carrier route the rule table chose.
    pub route: Route,
    /// When the delivery is handed to the carrier (now, until SMS throughput
    /// limits queue it for later).
    pub handed_at: Instant,
}

/// Where a delivery lives: in a thread, or (ACS `send_sms`) in no thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DeliveryRef {
    /// The thread that holds it; `None` for an ACS `send_sms` recipient.
    pub thread: Option<ThreadId>,
    /// The delivery's global id, counted from 1.
    pub id: u64,
    /// Where it is stored (its index in the thread's deliveries, or among the
    /// SMS call's recipients): a receipt finds it without a search. `id`
    /// confirms it.
    pub slot: u32,
}

/// A carrier's report on one delivery, fed to the core by the shell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The delivery the report is about.
    pub delivery: DeliveryRef,
    /// The status the carrier reports.
    pub status: Status,
    /// The detail or error code (0: none).
    pub code: u16,
}

/// Something that happened, as the trace records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// An identity was created (`create_user`).
    UserCreated {
        /// The identity's name.
        user: Arc<str>,
    },
    /// An identity was deleted, with its tokens (`delete_user`).
    UserDeleted {
        /// The identity's name.
        user: Arc<str>,
    },
    /// A Sendbird user's profile image was replaced.
    ProfileImageUpdated {
        /// The user's name.
        user: Arc<str>,
        /// The image's size, in bytes.
        bytes: u32,
    },
    /// A Sendbird group channel's metacounter was set.
    MetacounterUpdated {
        /// The channel.
        thread: ThreadId,
        /// Who set it.
        by: Arc<str>,
        /// The counter's key.
        key: Arc<str>,
        /// The counter's new value.
        value: i64,
    },
    /// A thread (conversation, group channel) was created.
    ThreadCreated {
        /// The new thread.
        thread: ThreadId,
        /// Who created it.
        by: Arc<str>,
        /// How many chat participants it opened with.
        participants: u32,
    },
    /// A thread's topic (Sendbird's channel name) was changed.
    TopicUpdated {
        /// The thread.
        thread: ThreadId,
        /// Who changed it.
        by: Arc<str>,
        /// The sequence id of the `topic_updated` system message.
        message: u32,
    },
    /// A participant deleted a thread (`delete_thread`).
    ThreadDeleted {
        /// The thread.
        thread: ThreadId,
        /// Who deleted it.
        by: Arc<str>,
        /// How many participants got `chat_thread_deleted`.
        notified: u32,
    },
    /// Chat participants joined a thread (`add_participants`).
    ParticipantsAdded {
        /// The thread.
        thread: ThreadId,
        /// Who added them.
        by: Arc<str>,
        /// The names of the participants added.
        users: Vec<Arc<str>>,
        /// The sequence id of the `participant_added` system message.
        message: u32,
    },
    /// A chat participant left or was removed.
    ParticipantRemoved {
        /// The thread.
        thread: ThreadId,
        /// Who removed them (the participant itself when it left).
        by: Arc<str>,
        /// The participant's name.
        user: Arc<str>,
        /// The sequence id of the `participant_removed` system message.
        message: u32,
    },
    /// A message stored once and fanned out to `recipients` chat participants;
    /// a hidden one (over a display cap) is stored but reaches nobody in real time.
    MessageSent {
        /// The thread.
        thread: ThreadId,
        /// The message's sequence id.
        message: u32,
        /// The sender's name.
        by: Arc<str>,
        /// The content's size, in bytes.
        bytes: u32,
        /// How many chat participants it reached in real time.
        recipients: u32,
        /// Stored but shown to nobody (over a display cap).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        hidden: bool,
    },
    /// A sender edited a message.
    MessageEdited {
        /// The thread.
        thread: ThreadId,
        /// The message's sequence id.
        message: u32,
        /// Who edited it.
        by: Arc<str>,
        /// The new content's size, in bytes.
        bytes: u32,
    },
    /// A message was deleted (soft: its sequence id stays).
    MessageDeleted {
        /// The thread.
        thread: ThreadId,
        /// The message's sequence id.
        message: u32,
        /// Who deleted it.
        by: Arc<str>,
    },
    /// A participant sent a typing indicator.
    TypingSent {
        /// The thread.
        thread: ThreadId,
        /// Who is typing.
        by: Arc<str>,
        /// How many participants were notified.
        recipients: u32,
    },
    /// A participant sent a read receipt.
    ReadReceiptSent {
        /// The thread.
        thread: ThreadId,
        /// Who read.
        by: Arc<str>,
        /// The sequence id of the message read up to.
        message: u32,
        /// How many participants were notified.
        recipients: u32,
    },
    /// SMS or WhatsApp participants joined a thread.
    BindingsAdded {
        /// The thread.
        thread: ThreadId,
        /// Who added them.
        by: Arc<str>,
        /// Their addresses (E.164 or `whatsapp:`).
        addresses: Vec<Arc<str>>,
    },
    /// An SMS or WhatsApp participant left a thread.
    BindingRemoved {
        /// The thread.
        thread: ThreadId,
        /// Who removed it.
        by: Arc<str>,
        /// Its address.
        address: Arc<str>,
    },
    /// A message from an SMS or WhatsApp user, stored once.
    InboundReceived {
        /// The thread it landed in.
        thread: ThreadId,
        /// The message's sequence id.
        message: u32,
        /// The sender's address.
        from: Arc<str>,
        /// The body's size, in bytes.
        bytes: u32,
        /// How many media items it carried.
        media: u32,
        /// How many chat participants it reached in real time.
        recipients: u32,
    },
    /// A message's deliveries to non-chat participants: `queued` went to the
    /// carrier (ids `first`..), `failed` were refused (see the outbox why).
    DeliveriesCreated {
        /// The thread; `None` for ACS `send_sms`.
        thread: Option<ThreadId>,
        /// The message's sequence id; `None` for ACS `send_sms`.
        message: Option<u32>,
        /// The id of the first delivery; the others follow it.
        first: u64,
        /// How many went to the carrier.
        queued: u32,
        /// How many were refused before the carrier (the outbox says why).
        failed: u32,
        /// Segments per delivery (SMS), for billing.
        segments: u32,
    },
    /// A carrier receipt changed a delivery's status. Delivery ids are
    /// global; the outbox has each delivery's thread and address (the event
    /// stays small: it is the most frequent one).
    DeliveryUpdated {
        /// The delivery's global id.
        delivery: u64,
        /// Its new status.
        status: Status,
        /// The carrier's detail or error code, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
    },
    /// A call the platform refused (recorded by the shell, not the core).
    Rejected {
        /// The operation's scenario name (`send_message`, …).
        op: &'static str,
        /// The caller's name; `None` for the trusted service.
        by: Option<Arc<str>>,
        /// The HTTP status the platform answers.
        status: u16,
        /// The canonical error kind.
        error: Kind,
    },
    /// A timer: the retention policy deleted the thread; all `notified`
    /// participants got `chat_thread_deleted`.
    RetentionExpired {
        /// The thread.
        thread: ThreadId,
        /// How many participants got `chat_thread_deleted`.
        notified: u32,
    },
    /// A thread's retention policy was set or removed.
    RetentionChanged {
        /// The thread.
        thread: ThreadId,
        /// Who changed it.
        by: Arc<str>,
        /// The new policy.
        retention: Retention,
        /// When the thread will be deleted, in virtual milliseconds since the epoch; `None` without a policy.
        delete_at_ms: Option<u64>,
    },
    /// A timer: the recovery window of a deleted thread ended; its data is gone.
    ThreadPurged {
        /// The thread purged.
        thread: ThreadId,
    },
    /// The operator restored a deleted thread.
    ThreadRecovered {
        /// The thread recovered.
        thread: ThreadId,
        /// Whether its retention policy was dropped (it would have deleted the thread at once).
        retention_dropped: bool,
    },
    /// A Twilio conversation changed state, by `reason` (`api`, `timer`, `message`).
    StateChanged {
        /// The conversation.
        thread: ThreadId,
        /// The state it left.
        from: ConversationState,
        /// The state it entered.
        to: ConversationState,
        /// Who caused it (`system` for a timer).
        by: Arc<str>,
        /// What caused it.
        reason: StateChangeReason,
    },
    /// A Twilio conversation's state timers were set or cleared.
    TimersSet {
        /// The conversation.
        thread: ThreadId,
        /// Who set them.
        by: Arc<str>,
        /// Time until `inactive` after the last activity, in milliseconds; `None` when unset.
        inactive_ms: Option<u64>,
        /// Time until `closed` after the last activity, in milliseconds; `None` when unset.
        closed_ms: Option<u64>,
    },
    /// An access token was issued to an identity.
    TokenIssued {
        /// The identity's name.
        user: Arc<str>,
        /// The token's scopes, comma-separated.
        scopes: String,
        /// When the token expires, in virtual milliseconds since the epoch.
        expires_at_ms: u64,
    },
    /// An identity's tokens were revoked (`revoke_tokens`, or `delete_user`).
    TokensRevoked {
        /// The identity's name.
        user: Arc<str>,
        /// How many tokens were revoked.
        tokens: u32,
    },
}

/// Why a Twilio conversation changed state: a call, a timer, or a message
/// that woke it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StateChangeReason {
    /// A call set the state (`update_thread`).
    Api,
    /// The inactive or closed timer fired.
    Timer,
    /// A message woke an inactive conversation.
    Message,
}
