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

mod channels;
pub mod command;
pub mod error;
pub mod thread;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use channels::{DeliveryView, DroppedView, SmsBatch};
pub use command::{BindingSpec, DeliveryRef, OutboxFilter, Queued, Receipt, SmsResult};
pub use command::{
    Command, ContentType, Event, InvalidParticipant, MessageView, Notification, Page, PageRequest,
    ParticipantSpec, ParticipantView, ReadReceiptView, Reply, ThreadView,
};
pub use error::{Error, Kind};

use crate::id::{ThreadId, UserId, message_id};
use crate::profile::{Operation, Profile, Scope};
use crate::time::Instant;
use thread::{Message, MessageExtra, MessageKind, NoticeKind, Thread, Window, WindowKey};

/// A chat identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: Arc<str>,
    pub display_name: Option<Arc<str>>,
    pub deleted: bool,
    /// Every thread the user has ever been a participant of.
    pub threads: BTreeSet<ThreadId>,
}

/// Who makes a call: the identity (None for the trusted service) and the
/// connection it calls through (rate limits scoped per connection count it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Caller {
    pub user: Option<UserId>,
    pub connection: u32,
}

impl From<Option<UserId>> for Caller {
    fn from(user: Option<UserId>) -> Caller {
        Caller {
            user,
            connection: 0,
        }
    }
}

impl From<UserId> for Caller {
    fn from(user: UserId) -> Caller {
        Caller::from(Some(user))
    }
}

/// The whole platform state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    profile: Arc<Profile>,
    users: imbl::OrdMap<UserId, Arc<User>>,
    user_ids: imbl::OrdMap<Arc<str>, UserId>,
    threads: imbl::OrdMap<ThreadId, Arc<Thread>>,
    /// Idempotency key to the thread it created and that call's invalid participants.
    idempotency: imbl::OrdMap<Arc<str>, (ThreadId, Vec<InvalidParticipant>)>,
    /// Windows of user- and resource-scoped rate limits.
    windows: imbl::OrdMap<WindowKey, Window>,
    next_user: u32,
    next_thread: u32,
    /// Which thread holds each (channel, address, proxy) binding; an entry
    /// whose thread no longer holds it is free (see `Thread::holds_bindings`).
    binding_index: imbl::OrdMap<channels::BindingKey, ThreadId>,
    /// ACS `send_sms` calls by their first delivery id.
    sms_batches: imbl::OrdMap<u64, Arc<SmsBatch>>,
    next_delivery: u64,
}

/// The result of a successful call: the reply and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub reply: Reply,
    pub events: Vec<Event>,
    /// Deliveries handed to the carrier (the shell's work, not traced).
    pub queued: Vec<Queued>,
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
    pub fn new(profile: Profile) -> State {
        State {
            profile: Arc::new(profile),
            users: imbl::OrdMap::new(),
            user_ids: imbl::OrdMap::new(),
            threads: imbl::OrdMap::new(),
            idempotency: imbl::OrdMap::new(),
            windows: imbl::OrdMap::new(),
            next_user: 1,
            next_thread: 1,
            binding_index: imbl::OrdMap::new(),
            sms_batches: imbl::OrdMap::new(),
            next_delivery: 1,
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The user with public id `id`, deleted or not.
    pub fn user_id(&self, id: &str) -> Option<UserId> {
        self.user_ids.get(id).copied()
    }

    pub fn user(&self, user: UserId) -> Option<&User> {
        self.users.get(&user).map(|u| &**u)
    }

    pub fn thread(&self, thread: ThreadId) -> Option<&Thread> {
        self.threads.get(&thread).map(|t| &**t)
    }

    /// Number of threads not deleted.
    pub fn live_threads(&self) -> usize {
        self.threads
            .values()
            .filter(|t| t.deleted_at.is_none())
            .count()
    }

    fn name(&self, user: UserId) -> Arc<str> {
        self.users
            .get(&user)
            .map(|u| u.id.clone())
            .unwrap_or_else(|| Arc::from("system"))
    }

    /// Executes one call by `caller` at `now`. `now` never decreases from one
    /// call to the next (the simulator's clock guarantees it; a caller driving
    /// `State` directly must too).
    pub fn execute(
        &mut self,
        caller: impl Into<Caller>,
        command: &Command,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let caller = caller.into();
        match command {
            Command::CreateUser { id, display_name } => self.create_user(id, display_name),
            Command::DeleteUser { user } => self.delete_user(user),
            // The carrier's and the SMS API's calls carry no chat identity.
            Command::Inbound {
                channel,
                from,
                to,
                body,
                media,
            } => self.inbound(*channel, from, to, body, media, now),
            Command::SendSms {
                from,
                to,
                message,
                delivery_report,
            } => self.send_sms(from, to, message, *delivery_report, now),
            _ => {
                let actor = self.authenticate(caller.user)?;
                self.execute_chat(actor, command, now)
            }
        }
    }

    fn authenticate(&self, actor: Option<UserId>) -> Result<UserId, Error> {
        match actor.and_then(|a| self.users.get(&a).map(|u| (a, u))) {
            Some((a, user)) if !user.deleted => Ok(a),
            _ => Err(Error::Unauthenticated),
        }
    }

    fn execute_chat(
        &mut self,
        actor: UserId,
        command: &Command,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if let Some(op) = command.read_operation() {
            // Reads change nothing but their rate windows, which count only a
            // read that would otherwise succeed (429 comes last).
            let outcome = self.read(actor, command)?;
            let thread = command.thread();
            let admitted =
                self.check_limits(op, actor, thread.and_then(|t| self.thread(t)), now)?;
            // No limit, no write: a read after a fork copies nothing.
            match thread {
                Some(t) if admitted != 0 => {
                    self.commit(admitted, actor, t, now);
                }
                _ => self.record_limits(admitted, actor, now),
            }
            return Ok(outcome);
        }
        match command {
            Command::CreateThread {
                topic,
                participants,
                idempotency_key,
            } => self.create_thread(actor, topic, participants, idempotency_key.as_ref(), now),
            Command::UpdateThread { thread, topic } => {
                self.update_thread(actor, *thread, topic.as_ref(), now)
            }
            Command::DeleteThread { thread } => self.delete_thread(actor, *thread, now),
            Command::AddParticipants {
                thread,
                participants,
            } => self.add_participants(actor, *thread, participants, now),
            Command::RemoveParticipant { thread, user } => {
                self.remove_participant(actor, *thread, user, now)
            }
            Command::SendMessage {
                thread,
                content,
                content_type,
                metadata,
            } => {
                let sent = self.send_message(actor, *thread, content, *content_type, metadata, now);
                self.fan_out_sent(sent, *thread, now)
            }
            Command::CreateThreadWithBindings {
                topic,
                participants,
                bindings,
                idempotency_key,
            } => self.create_thread_with_bindings(
                actor,
                topic,
                participants,
                bindings,
                idempotency_key.as_ref(),
                now,
            ),
            Command::AddBindings { thread, bindings } => {
                self.add_bindings(actor, *thread, bindings, now)
            }
            Command::RemoveBinding {
                thread,
                channel,
                address,
            } => self.remove_binding(actor, *thread, *channel, address, now),
            Command::SendRichMessage {
                thread,
                content,
                content_type,
                metadata,
                media,
                template,
            } => self.send_rich_message(
                actor,
                *thread,
                content,
                *content_type,
                metadata,
                media,
                template.is_some(),
                now,
            ),
            Command::Inbound { .. } | Command::SendSms { .. } => {
                unreachable!("carrier calls are dispatched before authentication")
            }
            Command::UpdateMessage {
                thread,
                message,
                content,
            } => self.update_message(actor, *thread, *message, content, now),
            Command::DeleteMessage { thread, message } => {
                self.delete_message(actor, *thread, *message, now)
            }
            Command::SendTyping { thread } => self.send_typing(actor, *thread, now),
            Command::SendReadReceipt { thread, message } => {
                self.send_read_receipt(actor, *thread, *message, now)
            }
            Command::CreateUser { .. } | Command::DeleteUser { .. } => {
                unreachable!("identity calls are dispatched before authentication")
            }
            _ => unreachable!("reads are dispatched to State::read"),
        }
    }

    /// The calls that only read: every check, no change.
    fn read(&self, actor: UserId, command: &Command) -> Result<Outcome, Error> {
        match command {
            Command::ListThreads { page } => self.list_threads(actor, page),
            Command::GetThread { thread } => {
                let t = self.readable(actor, *thread)?;
                Ok(Outcome::new(Reply::Thread(self.thread_view(t)), vec![]))
            }
            Command::ListParticipants { thread, page } => {
                self.list_participants(actor, *thread, page)
            }
            Command::GetMessage { thread, message } => {
                let t = self.readable(actor, *thread)?;
                let m = self.visible_message(actor, t, *message)?;
                Ok(Outcome::new(
                    Reply::Message(self.message_view(*message, m)),
                    vec![],
                ))
            }
            Command::ListMessages {
                thread,
                page,
                start_time,
            } => self.list_messages(actor, *thread, page, *start_time),
            Command::ListReadReceipts { thread, page } => {
                self.list_read_receipts(actor, *thread, page)
            }
            _ => unreachable!("only reads are dispatched here"),
        }
    }

    // ---- identities ----

    fn create_user(
        &mut self,
        id: &Arc<str>,
        display_name: &Option<Arc<str>>,
    ) -> Result<Outcome, Error> {
        check_identity(id, self.profile.identity_chars_max)?;
        if self.user_ids.contains_key(id) {
            return Err(Error::UserExists {
                user: id.to_string(),
            });
        }
        let user = UserId(self.next_user);
        self.next_user += 1;
        self.users.insert(
            user,
            Arc::new(User {
                id: id.clone(),
                display_name: display_name.clone(),
                deleted: false,
                threads: BTreeSet::new(),
            }),
        );
        self.user_ids.insert(id.clone(), user);
        Ok(Outcome::new(
            Reply::User { id: id.clone() },
            vec![Event::UserCreated { user: id.clone() }],
        ))
    }

    /// Deleting an identity revokes its access; its messages stay in threads
    /// (ACS keeps a deleted user's messages, attributed to the old identity).
    fn delete_user(&mut self, id: &Arc<str>) -> Result<Outcome, Error> {
        let user = self
            .user_ids
            .get(id)
            .copied()
            .filter(|u| self.users.get(u).is_some_and(|u| !u.deleted))
            .ok_or_else(|| Error::UserNotFound {
                user: id.to_string(),
            })?;
        let record = self.users.get_mut(&user).expect("indexed user exists");
        Arc::make_mut(record).deleted = true;
        Ok(Outcome::new(
            Reply::None,
            vec![Event::UserDeleted { user: id.clone() }],
        ))
    }

    // ---- lookups shared by the checks ----

    /// The thread, if it exists and is not deleted.
    fn live_thread(&self, thread: ThreadId) -> Result<&Thread, Error> {
        match self.threads.get(&thread) {
            Some(t) if t.deleted_at.is_none() => Ok(t),
            _ => Err(Error::ThreadNotFound {
                thread: thread.to_string(),
            }),
        }
    }

    /// The thread, for a caller who is or was a participant (removed
    /// participants keep read access to the history up to their removal).
    fn readable(&self, actor: UserId, thread: ThreadId) -> Result<&Thread, Error> {
        let t = self.live_thread(thread)?;
        if t.was_ever_participant(actor) {
            Ok(t)
        } else {
            Err(self.not_a_participant(t, actor))
        }
    }

    /// The thread, for a caller who is a participant now.
    fn writable(&self, actor: UserId, thread: ThreadId) -> Result<&Thread, Error> {
        let t = self.live_thread(thread)?;
        if t.is_participant(actor) {
            Ok(t)
        } else {
            Err(self.not_a_participant(t, actor))
        }
    }

    fn not_a_participant(&self, t: &Thread, actor: UserId) -> Error {
        Error::NotAParticipant {
            thread: t.id.to_string(),
            user: self.name(actor).to_string(),
        }
    }

    fn visible_message<'t>(
        &self,
        actor: UserId,
        t: &'t Thread,
        seq: u32,
    ) -> Result<&'t Message, Error> {
        match t.message(seq) {
            Some(m) if t.can_read(actor, seq) => Ok(m),
            _ => Err(Error::MessageNotFound {
                thread: t.id.to_string(),
                message: message_id(seq),
            }),
        }
    }

    fn thread_mut(&mut self, thread: ThreadId) -> &mut Thread {
        Arc::make_mut(
            self.threads
                .get_mut(&thread)
                .expect("checked before mutation"),
        )
    }

    // ---- rate limits ----

    /// Checks every limit that applies to `op` by `actor` on `thread`; all must
    /// admit. Returns the set of limits (bit i: the profile's limit i) to record
    /// once the call succeeds.
    fn check_limits(
        &self,
        op: Operation,
        actor: UserId,
        thread: Option<&Thread>,
        now: Instant,
    ) -> Result<Admitted, Error> {
        let mut admitted: Admitted = 0;
        for (index, limit) in self.profile.rate_limits.iter().enumerate() {
            if !limit.operations.contains(&op) {
                continue;
            }
            let key = window_key(index as u16, limit.scope, actor);
            let window = match limit.scope {
                Scope::Thread | Scope::UserThread => match thread {
                    Some(t) => t.windows.get(&key),
                    None => continue,
                },
                Scope::User | Scope::Resource => self.windows.get(&key),
            };
            if let Some(window) = window
                && let Err(retry_after_ms) = window.check(now, limit.window_ms, limit.count)
            {
                return Err(Error::RateLimited {
                    operation: op,
                    scope: limit.scope,
                    window_ms: limit.window_ms,
                    count: limit.count,
                    retry_after_ms,
                });
            }
            admitted |= 1 << index;
        }
        Ok(admitted)
    }

    /// Records the admitted call in the user- and resource-scoped windows.
    fn record_limits(&mut self, admitted: Admitted, actor: UserId, now: Instant) {
        for (key, window_ms, count) in admitted_windows(&self.profile, admitted, actor, false) {
            self.windows
                .entry(key)
                .or_default()
                .admit(now, window_ms, count);
        }
    }

    /// Records the admitted call in every window and returns the thread for the
    /// call's own change: one lookup of the thread for both.
    fn commit(
        &mut self,
        admitted: Admitted,
        actor: UserId,
        thread: ThreadId,
        now: Instant,
    ) -> &mut Thread {
        self.record_limits(admitted, actor, now);
        let profile = Arc::clone(&self.profile);
        let t = self.thread_mut(thread);
        for (key, window_ms, count) in admitted_windows(&profile, admitted, actor, true) {
            t.windows
                .entry(key)
                .or_default()
                .admit(now, window_ms, count);
        }
        t
    }

    // ---- threads ----

    fn create_thread(
        &mut self,
        actor: UserId,
        topic: &Arc<str>,
        participants: &[ParticipantSpec],
        idempotency_key: Option<&Arc<str>>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if let Some((existing, invalid)) = idempotency_key.and_then(|k| self.idempotency.get(k)) {
            // Same key: the first response again, nothing executed twice.
            let t = self.threads.get(existing).expect("keys point at threads");
            return Ok(Outcome::new(
                Reply::ThreadCreated {
                    thread: self.thread_view(t),
                    invalid_participants: invalid.clone(),
                },
                vec![],
            ));
        }
        check_topic(topic, self.profile.topic_chars_max)?;
        let max = self.profile.participants_per_create_max;
        if participants.len() as u64 > u64::from(max) {
            return Err(Error::TooManyParticipantsInCall {
                count: participants.len() as u32,
                max,
            });
        }
        let (joining, invalid) = self.resolve_participants(participants, |u| u == actor);
        let total = 1 + joining.len() as u32;
        let max = self.profile.participants_per_thread_max;
        if total > max {
            return Err(Error::ThreadFull { count: total, max });
        }
        self.check_identity_threads(std::iter::once(actor).chain(joining.iter().map(|j| j.0)))?;
        let admitted = self.check_limits(Operation::CreateThread, actor, None, now)?;

        let id = ThreadId(self.next_thread);
        self.next_thread += 1;
        let mut t = Thread::new(id, topic.clone(), actor, now);
        t.memberships.reserve_exact(1 + joining.len());
        let notice = t.push_notice(now, NoticeKind::ChatThreadCreated, actor, 0);
        t.join(actor, None, Instant::ZERO, notice);
        for (user, spec) in &joining {
            t.join(
                *user,
                spec.display_name.clone(),
                spec.share_history_from.unwrap_or(Instant::ZERO),
                notice,
            );
        }
        // ACS starts every history with participantAdded then topicUpdated.
        let added: Vec<UserId> = t.current_memberships().iter().map(|m| m.user).collect();
        t.push_message(system_message(
            MessageKind::ParticipantAdded,
            actor,
            now,
            Arc::from(""),
            added.clone(),
        ));
        t.push_message(system_message(
            MessageKind::TopicUpdated,
            actor,
            now,
            topic.clone(),
            vec![],
        ));
        let count = t.participant_count();
        self.threads.insert(id, Arc::new(t));
        for user in &added {
            self.user_mut(*user).threads.insert(id);
        }
        if let Some(key) = idempotency_key {
            self.idempotency.insert(key.clone(), (id, invalid.clone()));
        }
        self.record_limits(admitted, actor, now);
        let view = self.thread_view(&self.threads[&id]);
        Ok(Outcome::new(
            Reply::ThreadCreated {
                thread: view,
                invalid_participants: invalid,
            },
            vec![Event::ThreadCreated {
                thread: id,
                by: self.name(actor),
                participants: count,
            }],
        ))
    }

    fn user_mut(&mut self, user: UserId) -> &mut User {
        Arc::make_mut(self.users.get_mut(&user).expect("known user"))
    }

    /// Splits named participants into those who can join (existing, not deleted,
    /// not `skip`, first mention only) and ACS-style invalid participants.
    fn resolve_participants<'s>(
        &self,
        specs: &'s [ParticipantSpec],
        skip: impl Fn(UserId) -> bool,
    ) -> (Vec<(UserId, &'s ParticipantSpec)>, Vec<InvalidParticipant>) {
        let mut joining: Vec<(UserId, &ParticipantSpec)> = Vec::new();
        let mut invalid = Vec::new();
        for spec in specs {
            match self.user_ids.get(&spec.user) {
                Some(&u) if !self.users[&u].deleted => {
                    if !skip(u) && !joining.iter().any(|(j, _)| *j == u) {
                        joining.push((u, spec));
                    }
                }
                _ => invalid.push(InvalidParticipant {
                    target: spec.user.clone(),
                    code: "404",
                    message: "Not found",
                }),
            }
        }
        (joining, invalid)
    }

    fn list_threads(&self, actor: UserId, page: &PageRequest) -> Result<Outcome, Error> {
        let size = self.page_size(page)?;
        let before = match &page.continuation {
            None => u32::MAX,
            Some(token) => parse_continuation(token)?,
        };
        let user = &self.users[&actor];
        let mut items = Vec::new();
        let mut continuation = None;
        // Newest thread first; only threads the caller is in now.
        for id in user.threads.range(..ThreadId(before)).rev() {
            let t = &self.threads[id];
            if t.deleted_at.is_some() || !t.is_participant(actor) {
                continue;
            }
            if items.len() == size {
                continuation = Some(continuation_token(id.0 + 1));
                break;
            }
            items.push(self.thread_view(t));
        }
        Ok(Outcome::new(
            Reply::Threads(Page {
                items,
                continuation,
            }),
            vec![],
        ))
    }

    fn update_thread(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        topic: Option<&Arc<str>>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if let Some(topic) = topic {
            check_topic(topic, self.profile.topic_chars_max)?;
        }
        let t = self.writable(actor, thread)?;
        let admitted = self.check_limits(Operation::UpdateThread, actor, Some(t), now)?;
        let by = self.name(actor);
        let t = self.commit(admitted, actor, thread, now);
        let mut events = vec![];
        if let Some(topic) = topic {
            t.topic = topic.clone();
            let seq = t.push_message(system_message(
                MessageKind::TopicUpdated,
                actor,
                now,
                topic.clone(),
                vec![],
            ));
            t.push_notice(now, NoticeKind::ChatThreadPropertiesUpdated, actor, seq);
            events.push(Event::TopicUpdated {
                thread,
                by,
                message: seq,
            });
        }
        Ok(Outcome::new(Reply::None, events))
    }

    /// Deleting a thread makes everything in it unreadable (404). The message
    /// contents are dropped; the notification log and memberships stay so that
    /// participants' inboxes still show what reached them.
    fn delete_thread(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = self.writable(actor, thread)?;
        let admitted = self.check_limits(Operation::DeleteThread, actor, Some(t), now)?;
        let notified = t.participant_count() - 1;
        let t = self.commit(admitted, actor, thread, now);
        t.push_notice(now, NoticeKind::ChatThreadDeleted, actor, 0);
        t.deleted_at = Some(now);
        t.messages = Vec::new();
        t.deliveries = Vec::new();
        t.fanouts = Vec::new();
        t.read_receipts.clear();
        t.windows.clear();
        // What stays (for inboxes) stops growing: give back the spare room.
        t.notices.shrink_to_fit();
        t.memberships.shrink_to_fit();
        Ok(Outcome::new(
            Reply::None,
            vec![Event::ThreadDeleted {
                thread,
                by: self.name(actor),
                notified,
            }],
        ))
    }

    // ---- participants ----

    fn add_participants(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        participants: &[ParticipantSpec],
        now: Instant,
    ) -> Result<Outcome, Error> {
        let max = self.profile.participants_per_add_max;
        if participants.is_empty() {
            return Err(Error::InvalidField {
                field: "participants",
                reason: "at least one participant is required".to_string(),
            });
        }
        if participants.len() as u64 > u64::from(max) {
            return Err(Error::TooManyParticipantsInCall {
                count: participants.len() as u32,
                max,
            });
        }
        let t = self.writable(actor, thread)?;
        // Adding an existing participant changes nothing (A1).
        let (joining, invalid) = self.resolve_participants(participants, |u| t.is_participant(u));
        let total = t.member_count() + joining.len() as u32;
        if total > self.participant_cap(t) {
            return Err(Error::ThreadFull {
                count: total,
                max: self.participant_cap(t),
            });
        }
        self.check_identity_threads(joining.iter().map(|j| j.0))?;
        let admitted = self.check_limits(Operation::UpdateRoster, actor, Some(t), now)?;
        let t = self.commit(admitted, actor, thread, now);
        let mut events = vec![];
        if !joining.is_empty() {
            let users: Vec<UserId> = joining.iter().map(|(u, _)| *u).collect();
            let seq = t.push_message(system_message(
                MessageKind::ParticipantAdded,
                actor,
                now,
                Arc::from(""),
                users.clone(),
            ));
            let notice = t.push_notice(now, NoticeKind::ParticipantsAdded, actor, seq);
            for (user, spec) in &joining {
                t.join(
                    *user,
                    spec.display_name.clone(),
                    spec.share_history_from.unwrap_or(Instant::ZERO),
                    notice,
                );
            }
            for user in &users {
                self.user_mut(*user).threads.insert(thread);
            }
            events.push(Event::ParticipantsAdded {
                thread,
                by: self.name(actor),
                users: users.iter().map(|u| self.name(*u)).collect(),
                message: seq,
            });
        }
        Ok(Outcome::new(
            Reply::ParticipantsAdded {
                invalid_participants: invalid,
            },
            events,
        ))
    }

    fn remove_participant(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        user: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = self.writable(actor, thread)?;
        let target = self
            .user_ids
            .get(user)
            .copied()
            .filter(|u| t.is_participant(*u))
            .ok_or_else(|| Error::ParticipantNotFound {
                thread: thread.to_string(),
                user: user.to_string(),
            })?;
        let admitted = self.check_limits(Operation::UpdateRoster, actor, Some(t), now)?;
        let t = self.commit(admitted, actor, thread, now);
        let seq = t.push_message(system_message(
            MessageKind::ParticipantRemoved,
            actor,
            now,
            Arc::from(""),
            vec![target],
        ));
        let notice = t.push_notice(now, NoticeKind::ParticipantsRemoved, actor, seq);
        t.leave(target, notice, seq);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::ParticipantRemoved {
                thread,
                by: self.name(actor),
                user: user.clone(),
                message: seq,
            }],
        ))
    }

    fn list_participants(
        &self,
        actor: UserId,
        thread: ThreadId,
        page: &PageRequest,
    ) -> Result<Outcome, Error> {
        let size = self.page_size(page)?;
        let skip = match &page.continuation {
            None => 0,
            Some(token) => parse_continuation(token)? as usize,
        };
        let t = self.readable(actor, thread)?;
        let all = t.current_memberships();
        let items: Vec<ParticipantView> = all
            .iter()
            .skip(skip)
            .take(size)
            .map(|m| ParticipantView {
                user: self.name(m.user),
                display_name: m.display_name.clone(),
                share_history_from_ms: m.history_from.ms(),
            })
            .collect();
        let next = skip + items.len();
        Ok(Outcome::new(
            Reply::Participants(Page {
                items,
                continuation: (next < all.len()).then(|| continuation_token(next as u32)),
            }),
            vec![],
        ))
    }

    // ---- messages ----

    fn send_message(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        content: &Arc<str>,
        content_type: ContentType,
        metadata: &std::collections::BTreeMap<String, String>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if content.is_empty() {
            return Err(Error::InvalidField {
                field: "content",
                reason: "must not be empty".to_string(),
            });
        }
        let t = self.writable(actor, thread)?;
        self.check_sizes(content, metadata)?;
        let admitted = self.check_limits(Operation::SendMessage, actor, Some(t), now)?;
        let recipients = t.participant_count() - 1;
        let t = self.commit(admitted, actor, thread, now);
        let kind = match content_type {
            ContentType::Text => MessageKind::Text,
            ContentType::Html => MessageKind::Html,
        };
        let extra = (!metadata.is_empty()).then(|| {
            Box::new(MessageExtra {
                metadata: metadata.clone(),
                ..MessageExtra::default()
            })
        });
        let seq = t.push_message(Message {
            kind,
            sender: actor,
            created_at: now,
            content: content.clone(),
            extra,
        });
        t.push_notice(now, NoticeKind::ChatMessageReceived, actor, seq);
        Ok(Outcome::new(
            Reply::MessageSent { sequence: seq },
            vec![Event::MessageSent {
                thread,
                message: seq,
                by: self.name(actor),
                bytes: content.len() as u32,
                recipients,
            }],
        ))
    }

    fn check_sizes(
        &self,
        content: &str,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let bytes = content.len() as u64;
        let max = self.profile.message_bytes_max;
        if bytes > u64::from(max) {
            return Err(Error::MessageTooLarge {
                bytes: bytes.min(u64::from(u32::MAX)) as u32,
                max,
            });
        }
        let meta: u64 = metadata
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        let max = self.profile.metadata_bytes_max;
        if meta > u64::from(max) {
            return Err(Error::MetadataTooLarge {
                bytes: meta.min(u64::from(u32::MAX)) as u32,
                max,
            });
        }
        Ok(())
    }

    fn list_messages(
        &self,
        actor: UserId,
        thread: ThreadId,
        page: &PageRequest,
        start_time: Option<Instant>,
    ) -> Result<Outcome, Error> {
        let size = self.page_size(page)?;
        let below = match &page.continuation {
            None => u32::MAX,
            Some(token) => parse_continuation(token)?,
        };
        let t = self.readable(actor, thread)?;
        let below = below.min(t.last_sequence() + 1);
        let memberships: Vec<_> = t.memberships_of(actor).collect();
        let start = start_time.unwrap_or(Instant::ZERO);
        let mut items = Vec::new();
        let mut continuation = None;
        // Newest first.
        for seq in (1..below).rev() {
            let m = t.message(seq).expect("in range");
            if m.created_at < start {
                break;
            }
            if !memberships.iter().any(|ms| ms.reads(seq, m.created_at)) {
                continue;
            }
            if items.len() == size {
                continuation = Some(continuation_token(seq + 1));
                break;
            }
            items.push(self.message_view(seq, m));
        }
        Ok(Outcome::new(
            Reply::Messages(Page {
                items,
                continuation,
            }),
            vec![],
        ))
    }

    /// The sender's own, visible, not deleted message.
    fn own_message(&self, actor: UserId, t: &Thread, seq: u32) -> Result<(), Error> {
        let m = self.visible_message(actor, t, seq)?;
        if m.deleted_at().is_some() || !m.kind.is_user_content() {
            return Err(Error::MessageNotFound {
                thread: t.id.to_string(),
                message: message_id(seq),
            });
        }
        if m.sender != actor {
            return Err(Error::NotTheSender {
                message: message_id(seq),
                user: self.name(actor).to_string(),
            });
        }
        Ok(())
    }

    fn update_message(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        seq: u32,
        content: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if content.is_empty() {
            return Err(Error::InvalidField {
                field: "content",
                reason: "must not be empty".to_string(),
            });
        }
        let t = self.writable(actor, thread)?;
        self.own_message(actor, t, seq)?;
        self.check_sizes(content, &Default::default())?;
        let admitted = self.check_limits(Operation::UpdateMessage, actor, Some(t), now)?;
        let t = self.commit(admitted, actor, thread, now);
        let m = &mut t.messages[seq as usize - 1];
        m.content = content.clone();
        m.extra_mut().edited_at = Some(now);
        t.push_notice(now, NoticeKind::ChatMessageEdited, actor, seq);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::MessageEdited {
                thread,
                message: seq,
                by: self.name(actor),
                bytes: content.len() as u32,
            }],
        ))
    }

    /// Deletion is immediate and permanent: the content is dropped, the message
    /// keeps its place in the sequence with its deleted stamp.
    fn delete_message(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        seq: u32,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = self.writable(actor, thread)?;
        self.own_message(actor, t, seq)?;
        let admitted = self.check_limits(Operation::DeleteMessage, actor, Some(t), now)?;
        let t = self.commit(admitted, actor, thread, now);
        let m = &mut t.messages[seq as usize - 1];
        m.content = Arc::from("");
        let extra = m.extra_mut();
        extra.deleted_at = Some(now);
        extra.metadata.clear();
        t.push_notice(now, NoticeKind::ChatMessageDeleted, actor, seq);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::MessageDeleted {
                thread,
                message: seq,
                by: self.name(actor),
            }],
        ))
    }

    // ---- typing and read receipts ----

    fn check_receipts_allowed(&self, t: &Thread) -> Result<(), Error> {
        let max = self.profile.receipts_participants_max;
        if t.participant_count() > max {
            return Err(Error::ThreadTooLargeForReceipts {
                participants: t.participant_count(),
                max,
            });
        }
        Ok(())
    }

    fn send_typing(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = self.writable(actor, thread)?;
        self.check_receipts_allowed(t)?;
        let admitted = self.check_limits(Operation::SendTyping, actor, Some(t), now)?;
        let recipients = t.participant_count() - 1;
        self.commit(admitted, actor, thread, now).push_notice(
            now,
            NoticeKind::TypingIndicatorReceived,
            actor,
            0,
        );
        Ok(Outcome::new(
            Reply::None,
            vec![Event::TypingSent {
                thread,
                by: self.name(actor),
                recipients,
            }],
        ))
    }

    fn send_read_receipt(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        seq: u32,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let t = self.writable(actor, thread)?;
        self.visible_message(actor, t, seq)?;
        self.check_receipts_allowed(t)?;
        let admitted = self.check_limits(Operation::SendReadReceipt, actor, Some(t), now)?;
        let recipients = t.participant_count() - 1;
        let t = self.commit(admitted, actor, thread, now);
        t.read_receipts.insert(actor, (seq, now));
        t.push_notice(now, NoticeKind::ReadReceiptReceived, actor, seq);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::ReadReceiptSent {
                thread,
                by: self.name(actor),
                message: seq,
                recipients,
            }],
        ))
    }

    fn list_read_receipts(
        &self,
        actor: UserId,
        thread: ThreadId,
        page: &PageRequest,
    ) -> Result<Outcome, Error> {
        let size = self.page_size(page)?;
        let skip = match &page.continuation {
            None => 0,
            Some(token) => parse_continuation(token)? as usize,
        };
        let t = self.readable(actor, thread)?;
        let items: Vec<ReadReceiptView> = t
            .read_receipts
            .iter()
            .skip(skip)
            .take(size)
            .map(|(user, (seq, at))| ReadReceiptView {
                sender: self.name(*user),
                message: message_id(*seq),
                read_at_ms: at.ms(),
            })
            .collect();
        let next = skip + items.len();
        Ok(Outcome::new(
            Reply::ReadReceipts(Page {
                items,
                continuation: (next < t.read_receipts.len())
                    .then(|| continuation_token(next as u32)),
            }),
            vec![],
        ))
    }

    // ---- views ----

    fn page_size(&self, page: &PageRequest) -> Result<usize, Error> {
        let max = self.profile.page_size_max;
        match page.page_size {
            None => Ok(self.profile.page_size_default as usize),
            Some(n) if n >= 1 && n <= max => Ok(n as usize),
            Some(n) => Err(Error::PageSize { requested: n, max }),
        }
    }

    pub fn thread_view(&self, t: &Thread) -> ThreadView {
        ThreadView {
            id: t.id,
            topic: t.topic.clone(),
            created_by: self.name(t.created_by),
            created_at_ms: t.created_at.ms(),
            deleted_at_ms: t.deleted_at.map(Instant::ms),
            participant_count: t.participant_count(),
            retention: "none",
            state: "active",
        }
    }

    pub fn message_view(&self, seq: u32, m: &Message) -> MessageView {
        let deleted = m.deleted_at().is_some();
        let (content, topic) = match m.kind {
            MessageKind::Text | MessageKind::Html if !deleted => (Some(m.content.clone()), None),
            MessageKind::TopicUpdated => (None, Some(m.content.clone())),
            _ => (None, None),
        };
        let participants = matches!(
            m.kind,
            MessageKind::ParticipantAdded | MessageKind::ParticipantRemoved
        )
        .then(|| {
            m.extra
                .iter()
                .flat_map(|e| e.participants.iter())
                .map(|u| self.name(*u))
                .collect()
        });
        MessageView {
            id: message_id(seq),
            sequence_id: seq,
            kind: m.kind.name(),
            sender: match m.extra.as_ref().and_then(|e| e.from_address.clone()) {
                Some(address) => address,
                None => self.name(m.sender),
            },
            content,
            topic,
            participants,
            metadata: m
                .extra
                .as_ref()
                .map(|e| e.metadata.clone())
                .unwrap_or_default(),
            media: m
                .extra
                .iter()
                .flat_map(|e| e.media.iter())
                .map(|media| serde_json::to_value(media).expect("media serialize"))
                .collect(),
            created_at_ms: m.created_at.ms(),
            edited_at_ms: m.edited_at().map(Instant::ms),
            deleted_at_ms: m.deleted_at().map(Instant::ms),
        }
    }

    /// The real-time notifications `user` received, oldest first: computed from
    /// each thread's notification log and the user's membership intervals.
    pub fn inbox(&self, user: UserId) -> Vec<Notification> {
        let Some(u) = self.users.get(&user) else {
            return vec![];
        };
        let mut found: Vec<(Instant, ThreadId, u32)> = Vec::new();
        for &id in &u.threads {
            let t = &self.threads[&id];
            for m in t.memberships_of(user) {
                let end = m
                    .until
                    .map_or(t.notices.len() as u32, |until| until.notice + 1);
                for index in m.from_notice..end {
                    let n = &t.notices[index as usize];
                    if n.actor != user {
                        found.push((n.at, id, index));
                    }
                }
            }
        }
        found.sort_unstable();
        found
            .into_iter()
            .map(|(at, id, index)| {
                let n = &self.threads[&id].notices[index as usize];
                Notification {
                    kind: n.kind.name(),
                    thread: id,
                    at_ms: at.ms(),
                    from: if n.actor == NOBODY {
                        // A message from an SMS/WhatsApp participant is from
                        // its address (while the thread keeps its messages).
                        self.threads[&id]
                            .message(n.message)
                            .and_then(|m| m.extra.as_ref())
                            .and_then(|e| e.from_address.clone())
                            .unwrap_or_else(|| Arc::from("system"))
                    } else {
                        self.name(n.actor)
                    },
                    message: (n.message > 0).then(|| message_id(n.message)),
                }
            })
            .collect()
    }

    /// Checks the state's invariants; the error names the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        let p = &self.profile;
        for (id, user) in self.users.iter() {
            if self.user_ids.get(&user.id) != Some(id) {
                return Err(format!("user {} is not indexed by its id", user.id));
            }
            for t in &user.threads {
                let Some(thread) = self.threads.get(t) else {
                    return Err(format!("user {} lists unknown thread {t}", user.id));
                };
                if !thread.was_ever_participant(*id) {
                    return Err(format!("user {} lists thread {t} it never joined", user.id));
                }
            }
        }
        if self.user_ids.len() != self.users.len() {
            return Err("user index and users differ in size".to_string());
        }
        for (id, t) in self.threads.iter() {
            if t.id != *id || id.0 >= self.next_thread {
                return Err(format!("thread {id} has a bad id"));
            }
            if t.participant_count() > p.participants_per_thread_max {
                return Err(format!("thread {id} is over the participant cap"));
            }
            for (user, index) in &t.current {
                let m = t.memberships.get(*index as usize);
                if m.is_none_or(|m| m.user != *user || m.until.is_some()) {
                    return Err(format!(
                        "thread {id}: current member has no open membership"
                    ));
                }
            }
            let open = t.memberships.iter().filter(|m| m.until.is_none()).count();
            if open != t.current.len() {
                return Err(format!("thread {id}: open memberships differ from current"));
            }
            for m in &t.memberships {
                if m.from_notice as usize >= t.notices.len()
                    || m.until.is_some_and(|u| {
                        u.notice < m.from_notice || u.notice as usize >= t.notices.len()
                    })
                {
                    return Err(format!("thread {id}: membership interval out of range"));
                }
                if !self
                    .users
                    .get(&m.user)
                    .is_some_and(|u| u.threads.contains(id))
                {
                    return Err(format!("thread {id}: member does not list the thread"));
                }
            }
            if t.notices.windows(2).any(|w| w[0].at > w[1].at)
                || t.messages
                    .windows(2)
                    .any(|w| w[0].created_at > w[1].created_at)
            {
                return Err(format!("thread {id}: log out of time order"));
            }
            if t.deleted_at.is_some() && (!t.messages.is_empty() || !t.windows.is_empty()) {
                return Err(format!("thread {id}: deleted but still holds content"));
            }
            for m in &t.messages {
                if m.content.len() > p.message_bytes_max as usize {
                    return Err(format!("thread {id}: message over the size limit"));
                }
            }
            for (key, w) in &t.windows {
                let limit = p.rate_limits.get(key.0 as usize);
                if limit.is_none_or(|l| w.len() > l.count as usize) || !w.is_sorted() {
                    return Err(format!("thread {id}: rate window over its bound"));
                }
            }
        }
        for (key, (t, _)) in self.idempotency.iter() {
            if !self.threads.contains_key(t) {
                return Err(format!("idempotency key {key} points at no thread"));
            }
        }
        self.check_channel_invariants()
    }
}

/// A set of the profile's rate limits by index (profiles hold at most 64).
type Admitted = u64;

/// The windows an admitted call counts in: (key, window_ms, count) for each
/// limit in `admitted` whose scope is thread-bound (`thread_scoped`) or not.
fn admitted_windows(
    profile: &Profile,
    admitted: Admitted,
    actor: UserId,
    thread_scoped: bool,
) -> impl Iterator<Item = (WindowKey, u64, u32)> + '_ {
    profile
        .rate_limits
        .iter()
        .enumerate()
        .filter(move |(i, limit)| {
            admitted & (1 << i) != 0
                && thread_scoped == matches!(limit.scope, Scope::Thread | Scope::UserThread)
        })
        .map(move |(i, limit)| {
            let key = window_key(i as u16, limit.scope, actor);
            (key, limit.window_ms, limit.count)
        })
}

fn window_key(index: u16, scope: Scope, actor: UserId) -> WindowKey {
    match scope {
        Scope::User | Scope::UserThread => (index, actor.0),
        Scope::Thread | Scope::Resource => (index, 0),
    }
}

fn system_message(
    kind: MessageKind,
    initiator: UserId,
    now: Instant,
    content: Arc<str>,
    participants: Vec<UserId>,
) -> Message {
    Message {
        kind,
        sender: initiator,
        created_at: now,
        content,
        extra: (!participants.is_empty()).then(|| {
            Box::new(MessageExtra {
                participants,
                ..MessageExtra::default()
            })
        }),
    }
}

fn check_topic(topic: &str, max: u32) -> Result<(), Error> {
    if topic.trim().is_empty() {
        return Err(Error::InvalidField {
            field: "topic",
            reason: "must not be empty".to_string(),
        });
    }
    let chars = topic.chars().count();
    if chars > max as usize {
        return Err(Error::InvalidField {
            field: "topic",
            reason: format!("{chars} characters; at most {max} are allowed"),
        });
    }
    Ok(())
}

fn check_identity(id: &str, max: u32) -> Result<(), Error> {
    let chars = id.chars().count();
    if chars == 0 || chars > max as usize || id.chars().any(char::is_control) {
        return Err(Error::InvalidField {
            field: "id",
            reason: format!("an identity is 1 to {max} printable characters"),
        });
    }
    Ok(())
}

/// Continuation tokens are opaque to callers: `c` and a number.
fn continuation_token(n: u32) -> String {
    format!("c{n}")
}

fn parse_continuation(token: &str) -> Result<u32, Error> {
    token
        .strip_prefix('c')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
        .ok_or_else(|| Error::BadContinuation {
            token: token.to_string(),
        })
}

#[cfg(test)]
mod tests {
    /// ARCHITECTURE.md: the core does not import the shell, the scenario layer,
    /// a clock or randomness.
    #[test]
    fn the_core_imports_no_shell_clock_or_randomness() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("command.rs"),
            include_str!("error.rs"),
            include_str!("thread.rs"),
        ];
        for source in sources {
            // Only the code above each file's own tests.
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().map(str::trim_start) {
                if line.starts_with("use ") || line.starts_with("pub use ") {
                    for banned in ["crate::sim", "crate::scenario", "rand", "std::time"] {
                        assert!(
                            !line.contains(banned),
                            "forbidden import in the core: {line}"
                        );
                    }
                }
                if !line.starts_with("//") {
                    for float in [": f64", ": f32", "as f64", "as f32"] {
                        assert!(!line.contains(float), "a float in the core: {line}");
                    }
                }
            }
        }
    }
}
