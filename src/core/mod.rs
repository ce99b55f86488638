//! The pure core: the platform's state and its transitions.
//!
//! The core decides everything and does nothing else: it reads no clock (time is
//! an argument), holds no RNG and does no I/O. [`State::execute`] runs every check
//! of a call before it changes anything, so a rejected call returns its error and
//! leaves the state exactly as it was.
//!
//! State is persistent at a coarse grain: `imbl` maps of users and of threads,
//! each thread plain data behind an `Arc`. Cloning a whole world is O(1); a write
//! after a clone copies the map path and the one thread it touches.

pub mod api;
mod binding;
mod fanout;
mod identity;
mod inbound;
mod invariants;
pub mod lifecycle;
pub mod limit;
pub mod log;
mod message;
mod outbox;
mod page;
mod participant;
mod pipeline;
mod receipt;
mod sms;
mod table;
pub mod thread;
mod threads;
pub mod token;
pub mod vecmap;
mod view;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use crate::id::TokenId;
pub use api::command::{
    BindingSpec, Caller, CarrierCall, ChatCall, Command, ContentType, OutboxFilter, PageRequest,
    ParticipantSpec, ServiceCall,
};
pub use api::error::{Error, Kind, TokenProblem};
pub use api::event::{DeliveryRef, Event, Queued, Receipt, StateChangeReason};
pub use api::options::{ConversationState, Retention, StateTimers, ThreadOptions};
pub use api::reply::{
    DeliverySummary, DeliveryView, DroppedView, InvalidParticipant, MessageKind, MessageView,
    NoticeKind, Notification, Outcome, Page, ParticipantView, ReadReceiptView, Reply, Share,
    SmsResult, ThreadView, TimersView, TokenView,
};
pub use sms::SmsBatch;
pub use thread::{Timer, TimerKind};

use crate::id::{ThreadId, UserId};
use crate::profile::Profile;
use limit::{Subject, WindowKey, Windows};
use thread::Thread;

/// A chat identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The identity's public id.
    pub id: Arc<str>,
    /// The display name.
    pub display_name: Option<Arc<str>>,
    /// Whether it was deleted (its id stays taken).
    pub deleted: bool,
    /// Every thread the user has ever been a participant of.
    pub threads: BTreeSet<ThreadId>,
    /// The size of the uploaded profile image, if any.
    pub profile_image_bytes: Option<u32>,
}

impl From<Option<UserId>> for Caller {
    fn from(user: Option<UserId>) -> Caller {
        Caller {
            user,
            connection: 0,
            token: None,
        }
    }
}

impl From<Caller> for Subject {
    fn from(caller: Caller) -> Subject {
        caller.subject()
    }
}

impl From<UserId> for Caller {
    fn from(user: UserId) -> Caller {
        Caller::from(Some(user))
    }
}

impl Caller {
    /// Who the limits count for this call, acting as `user` (the identity it
    /// authenticated as, or none for the trusted service).
    pub(super) fn subject(self) -> Subject {
        Subject {
            user: self.user,
            connection: self.connection,
            sender: None,
        }
    }

    /// The caller once authenticated as `user` (a token's owner when only
    /// the token came).
    fn acting_as(self, user: UserId) -> Caller {
        Caller {
            user: Some(user),
            ..self
        }
    }
}

/// The whole platform state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    profile: Arc<Profile>,
    users: table::Table<UserId, User>,
    user_ids: imbl::OrdMap<Arc<str>, UserId>,
    threads: table::Table<ThreadId, Thread>,
    /// Idempotency key to the thread it created and that call's invalid participants.
    idempotency: imbl::OrdMap<Arc<str>, (ThreadId, Vec<InvalidParticipant>)>,
    /// Windows of user- and resource-scoped rate limits.
    windows: imbl::OrdMap<WindowKey, Windows>,
    /// The profile's rate limits by operation, sorted once.
    limits: Arc<limit::Index>,
    next_user: u32,
    next_thread: u32,
    /// Pending timers (retention, purge, conversation states), earliest first.
    timers: imbl::OrdSet<Timer>,
    /// Issued tokens that may still be accepted.
    tokens: imbl::OrdMap<TokenId, token::TokenRecord>,
    next_token: u32,
    /// Which thread holds each (channel, address, proxy) binding; an entry
    /// whose thread no longer holds it is free (see `Thread::holds_bindings`).
    binding_index: imbl::OrdMap<binding::BindingKey, ThreadId>,
    /// ACS `send_sms` calls by their first delivery id.
    sms_batches: imbl::OrdMap<u64, Arc<SmsBatch>>,
    next_delivery: u64,
}

impl Outcome {
    fn new(reply: Reply, events: Vec<Event>) -> Outcome {
        Outcome {
            reply,
            events,
            queued: Vec::new(),
        }
    }
}

/// The system user id used as actor of notices without one.
const NOBODY: UserId = UserId(u32::MAX);

impl State {
    /// An empty platform with `profile`.
    pub fn new(profile: Profile) -> State {
        State {
            limits: Arc::new(limit::Index::new(&profile)),
            profile: Arc::new(profile),
            users: table::Table::default(),
            user_ids: imbl::OrdMap::new(),
            threads: table::Table::default(),
            idempotency: imbl::OrdMap::new(),
            windows: imbl::OrdMap::new(),
            next_user: 1,
            next_thread: 1,
            timers: imbl::OrdSet::new(),
            tokens: imbl::OrdMap::new(),
            next_token: 1,
            binding_index: imbl::OrdMap::new(),
            sms_batches: imbl::OrdMap::new(),
            next_delivery: 1,
        }
    }

    /// The platform's profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The user with public id `id`, deleted or not.
    pub fn user_id(&self, id: &str) -> Option<UserId> {
        self.user_ids.get(id).copied()
    }

    /// The identity `user`, deleted or not.
    pub fn user(&self, user: UserId) -> Option<&User> {
        self.users.get(&user)
    }

    /// The thread, until it is purged.
    pub fn thread(&self, thread: ThreadId) -> Option<&Thread> {
        self.threads.get(&thread)
    }

    /// The id the next created thread gets (ids come from a counter).
    pub fn next_thread_id(&self) -> ThreadId {
        ThreadId(self.next_thread)
    }

    /// Number of threads not deleted.
    pub fn live_threads(&self) -> usize {
        self.threads
            .values()
            .filter(|t| t.deleted_at.is_none())
            .count()
    }
}
