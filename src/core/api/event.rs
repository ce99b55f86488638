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
        error: Kind,
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
        from: ConversationState,
        to: ConversationState,
        by: Arc<str>,
        reason: StateChangeReason,
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

/// Why a Twilio conversation changed state: a call, a timer, or a message
/// that woke it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StateChangeReason {
    Api,
    Timer,
    Message,
}
