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
pub mod lifecycle;
pub mod limit;
pub mod thread;
pub mod token;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use channels::{DeliveryView, DroppedView, SmsBatch};
pub use command::{
    BindingSpec, DeliveryRef, DeliverySummary, OutboxFilter, Queued, Receipt, SmsResult,
};
pub use command::{
    Command, ContentType, Event, InvalidParticipant, MessageView, Notification, Page, PageRequest,
    ParticipantSpec, ParticipantView, ReadReceiptView, Reply, ThreadView, TimersView,
};
pub use error::{Error, Kind, TokenProblem};
pub use lifecycle::{ConversationState, Retention, StateTimers, ThreadOptions, Timer, TimerKind};
pub use token::{TokenId, TokenView};

use crate::channel::media::check_chat;
use crate::channel::{Media, Violation};
use crate::id::{ThreadId, UserId, message_id};
use crate::profile::{Operation, Profile};
use crate::time::Instant;
use limit::{Subject, Verdict, WindowKey, Windows};
use thread::{Message, MessageExtra, MessageKind, NoticeKind, Thread};

/// A chat identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: Arc<str>,
    pub display_name: Option<Arc<str>>,
    pub deleted: bool,
    /// Every thread the user has ever been a participant of.
    pub threads: BTreeSet<ThreadId>,
    /// The size of the uploaded profile image, if any.
    pub profile_image_bytes: Option<u32>,
}

/// Who makes a call: the identity (None for the trusted service) and the
/// connection it calls through (rate limits scoped per connection count it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Caller {
    pub user: Option<UserId>,
    pub connection: u32,
    /// The access token the call presents; `None` acts with a valid credential.
    pub token: Option<TokenId>,
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

impl From<Actor> for Subject {
    fn from(actor: Actor) -> Subject {
        actor.subject()
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
    fn subject(self) -> Subject {
        Subject {
            user: self.user,
            connection: self.connection,
            sender: None,
        }
    }
}

/// An authenticated caller of a chat call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Actor {
    user: UserId,
    connection: u32,
}

impl Actor {
    fn subject(self) -> Subject {
        Subject {
            user: Some(self.user),
            connection: self.connection,
            sender: None,
        }
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
    windows: imbl::OrdMap<WindowKey, Windows>,
    next_user: u32,
    next_thread: u32,
    /// Pending timers (retention, purge, conversation states), earliest first.
    timers: imbl::OrdSet<lifecycle::Timer>,
    /// Issued tokens that may still be accepted.
    tokens: imbl::OrdMap<TokenId, token::TokenRecord>,
    next_token: u32,
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

/// Sendbird's metadata and metacounter keys are at most 128 characters.
const METACOUNTER_KEY_CHARS_MAX: usize = 128;

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
            timers: imbl::OrdSet::new(),
            tokens: imbl::OrdMap::new(),
            next_token: 1,
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
        let mut counted_as = caller.subject();
        let result = match command {
            // The trusted service's and the operator's calls: no identity.
            Command::CreateUser { id, display_name } => {
                self.create_user(caller, id, display_name, now)
            }
            Command::DeleteUser { user } => self.delete_user(caller, user, now),
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
            } => self.send_sms(
                command.operation(),
                from,
                to,
                message,
                *delivery_report,
                now,
            ),
            Command::IssueToken {
                user,
                scopes,
                expires_in_ms,
            } => self.issue_token(caller, user, scopes, *expires_in_ms, now),
            Command::RevokeTokens { user } => self.revoke_tokens(caller, user, now),
            Command::RecoverThread { thread } => self.recover_thread(*thread, now),
            _ => match self.authenticate(caller, now) {
                Ok(user) => {
                    // Limits count the identity the call authenticated as
                    // (a token's owner when only the token came).
                    counted_as.user = Some(user);
                    self.execute_as(caller, user, command, now)
                }
                Err(error) => Err(error),
            },
        };
        match result {
            Err(error @ Error::RateLimited { .. }) if self.profile.throttled_calls_count => {
                Err(self.count_throttled(counted_as, command, now, error))
            }
            result => result,
        }
    }

    /// A call by an authenticated identity: its token's scopes, then the call.
    fn execute_as(
        &mut self,
        caller: Caller,
        user: UserId,
        command: &Command,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = Actor {
            user,
            connection: caller.connection,
        };
        if let Some(refusal) = self.scope_refusal(caller, command) {
            // 403 ranks after 401, 400 and 404: a trial run on an O(1)
            // copy tells whether the call fails earlier than that.
            let mut trial = self.clone();
            return Err(match trial.execute_chat(actor, command, now) {
                Err(first) if first.precedes_forbidden() => first,
                _ => refusal,
            });
        }
        self.execute_chat(actor, command, now)
    }

    fn execute_chat(
        &mut self,
        by: Actor,
        command: &Command,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        if let Some(op) = command.read_operation() {
            // Reads change nothing but their rate windows, which count only a
            // read that would otherwise succeed (429 comes last).
            let outcome = self.read(actor, command)?;
            let thread = command.thread();
            let verdict = self.check_limits(op, by, thread.and_then(|t| self.thread(t)), now)?;
            // No limit, no write: a read after a fork copies nothing.
            match thread {
                Some(t) if verdict.counted != 0 => {
                    self.commit(&verdict, by, t, now);
                }
                _ => self.record_limits(&verdict, by.subject(), now),
            }
            return Ok(outcome);
        }
        match command {
            Command::CreateThread {
                topic,
                participants,
                bindings,
                idempotency_key,
                options,
            } => self.create_thread(
                by,
                topic,
                participants,
                bindings,
                idempotency_key.as_ref(),
                options,
                now,
            ),
            Command::UpdateThread {
                thread,
                topic,
                options,
            } => self.update_thread(by, *thread, topic.as_ref(), options, now),
            Command::SetState { thread, state } => self.set_state(by, *thread, *state, now),
            Command::DeleteThread { thread } => self.delete_thread(by, *thread, now),
            Command::AddParticipants {
                thread,
                participants,
            } => self.add_participants(by, *thread, participants, now),
            Command::RemoveParticipant { thread, user } => {
                self.remove_participant(by, *thread, user, now)
            }
            Command::SendMessage {
                thread,
                content,
                content_type,
                metadata,
                media,
                template,
            } => self.send_message(
                by,
                *thread,
                content,
                *content_type,
                metadata,
                media,
                template.is_some(),
                now,
            ),
            Command::AddBindings { thread, bindings } => {
                self.add_bindings(by, *thread, bindings, now)
            }
            Command::RemoveBinding {
                thread,
                channel,
                address,
            } => self.remove_binding(by, *thread, *channel, address, now),
            Command::Inbound { .. } | Command::SendSms { .. } => {
                unreachable!("carrier calls are dispatched before authentication")
            }
            Command::UpdateMessage {
                thread,
                message,
                content,
            } => self.update_message(by, *thread, *message, content, now),
            Command::DeleteMessage { thread, message } => {
                self.delete_message(by, *thread, *message, now)
            }
            Command::SendTyping { thread } => self.send_typing(by, *thread, now),
            Command::SendReadReceipt { thread, message } => {
                self.send_read_receipt(by, *thread, *message, now)
            }
            Command::UpdateProfileImage { bytes } => self.update_profile_image(by, *bytes, now),
            Command::UpdateMetacounter { thread, key, delta } => {
                self.update_metacounter(by, *thread, key, *delta, now)
            }
            Command::CreateUser { .. }
            | Command::DeleteUser { .. }
            | Command::IssueToken { .. }
            | Command::RevokeTokens { .. }
            | Command::RecoverThread { .. } => {
                unreachable!("identity and operator calls are dispatched before authentication")
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
                    Reply::Message(self.message_view(t, *message, m)),
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
        caller: Caller,
        id: &Arc<str>,
        display_name: &Option<Arc<str>>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        check_identity(id, self.profile.identity_chars_max)?;
        if self.user_ids.contains_key(id) {
            return Err(Error::UserExists {
                user: id.to_string(),
            });
        }
        let verdict = self.check_limits(Operation::CreateIdentity, caller, None, now)?;
        self.record_limits(&verdict, caller.subject(), now);
        let user = UserId(self.next_user);
        self.next_user += 1;
        self.users.insert(
            user,
            Arc::new(User {
                id: id.clone(),
                display_name: display_name.clone(),
                deleted: false,
                threads: BTreeSet::new(),
                profile_image_bytes: None,
            }),
        );
        self.user_ids.insert(id.clone(), user);
        Ok(Outcome::new(
            Reply::User { id: id.clone() },
            vec![Event::UserCreated { user: id.clone() }],
        ))
    }

    /// Deleting an identity revokes its access and its tokens; its messages
    /// stay in threads (ACS keeps a deleted user's messages, attributed to the
    /// old identity).
    fn delete_user(
        &mut self,
        caller: Caller,
        id: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let user = self.live_user(id)?;
        let verdict = self.check_limits(Operation::DeleteIdentity, caller, None, now)?;
        self.record_limits(&verdict, caller.subject(), now);
        let record = self.users.get_mut(&user).expect("indexed user exists");
        Arc::make_mut(record).deleted = true;
        let mut events = vec![Event::UserDeleted { user: id.clone() }];
        let tokens = self.revoke_all(user, now, 0);
        if tokens > 0 {
            events.push(Event::TokensRevoked {
                user: id.clone(),
                tokens,
            });
        }
        Ok(Outcome::new(Reply::None, events))
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
    fn member(&self, actor: UserId, thread: ThreadId) -> Result<&Thread, Error> {
        let t = self.live_thread(thread)?;
        if t.is_participant(actor) {
            Ok(t)
        } else {
            Err(self.not_a_participant(t, actor))
        }
    }

    /// The thread, for a participant who changes it: a closed Twilio
    /// conversation takes no more changes (50377).
    fn writable(&self, actor: UserId, thread: ThreadId) -> Result<&Thread, Error> {
        let t = self.member(actor, thread)?;
        if t.life.state == ConversationState::Closed {
            return Err(Error::ConversationClosed {
                thread: thread.to_string(),
            });
        }
        Ok(t)
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

    /// Decides `op` by `by` on `thread` against every limit that applies
    /// (see [`limit::decide`]).
    fn check_limits(
        &self,
        op: Operation,
        by: impl Into<Subject>,
        thread: Option<&Thread>,
        now: Instant,
    ) -> Result<Verdict, Error> {
        let thread = thread.map(|t| &t.windows);
        limit::decide(&self.profile, op, by.into(), now, &self.windows, thread)
    }

    /// Counts the call in the windows kept outside threads.
    fn record_limits(&mut self, verdict: &Verdict, subject: Subject, now: Instant) {
        limit::count(
            &self.profile,
            verdict,
            subject,
            false,
            now,
            &mut self.windows,
        );
    }

    /// Counts the call in every window and returns the thread for the call's
    /// own change: one lookup of the thread for both.
    fn commit(
        &mut self,
        verdict: &Verdict,
        by: impl Into<Subject>,
        thread: ThreadId,
        now: Instant,
    ) -> &mut Thread {
        let subject = by.into();
        self.record_limits(verdict, subject, now);
        let profile = Arc::clone(&self.profile);
        let t = self.thread_mut(thread);
        limit::count(&profile, verdict, subject, true, now, &mut t.windows);
        t
    }

    /// Counts a throttled call where the profile says throttled calls count,
    /// and returns its error with the retry-after that now holds.
    fn count_throttled(
        &mut self,
        subject: Subject,
        command: &Command,
        now: Instant,
        error: Error,
    ) -> Error {
        let op = command.operation();
        let verdict = Verdict {
            counted: limit::rejecting(&self.profile, op),
            shown: true,
            effective_at: now,
        };
        let live = command
            .thread()
            .filter(|t| self.thread(*t).is_some_and(|t| t.deleted_at.is_none()));
        match live {
            Some(t) => {
                self.commit(&verdict, subject, t, now);
            }
            None => self.record_limits(&verdict, subject, now),
        }
        let thread = live.and_then(|t| self.thread(t));
        // A window that was full stays full when a call is counted in it, so
        // the check refuses again, with the wait that now holds.
        self.check_limits(op, subject, thread, now)
            .err()
            .unwrap_or(error)
    }

    // ---- threads ----

    /// Creates a thread with its chat and SMS/WhatsApp participants, all or
    /// nothing.
    #[allow(clippy::too_many_arguments)]
    fn create_thread(
        &mut self,
        by: Actor,
        topic: &Arc<str>,
        participants: &[ParticipantSpec],
        bindings: &[BindingSpec],
        idempotency_key: Option<&Arc<str>>,
        options: &ThreadOptions,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
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
        let checked = self.check_options(options, true)?;
        let new = self.parse_bindings(bindings)?;
        // Chat and non-chat participants named in one create call count together
        // (Twilio's ConversationWithParticipants: at most 10).
        let named = participants.len().saturating_add(bindings.len());
        let max = self.profile.participants_per_create_max;
        if named as u64 > u64::from(max) {
            return Err(Error::TooManyParticipantsInCall {
                count: named.min(u32::MAX as usize) as u32,
                max,
            });
        }
        let (joining, invalid) = self.resolve_participants(participants, |u| u == actor);
        self.check_binding_room(&new, None, 1 + joining.len() as u32, 0)?;
        self.check_identity_threads(std::iter::once(actor).chain(joining.iter().map(|j| j.0)))?;
        self.check_bindings_free(&new, None)?;
        let verdict = self.check_limits(Operation::CreateThread, by, None, now)?;

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
        self.record_limits(&verdict, by.subject(), now);
        let added = (!new.is_empty()).then(|| Event::BindingsAdded {
            thread: id,
            by: self.name(actor),
            addresses: self.attach_bindings(id, new, now),
        });
        let mut events = vec![Event::ThreadCreated {
            thread: id,
            by: self.name(actor),
            participants: count,
        }];
        events.extend(self.apply_options(id, &checked, Some(actor), now, true));
        events.extend(added);
        let view = self.thread_view(&self.threads[&id]);
        Ok(Outcome::new(
            Reply::ThreadCreated {
                thread: view,
                invalid_participants: invalid,
            },
            events,
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
        by: Actor,
        thread: ThreadId,
        topic: Option<&Arc<str>>,
        options: &ThreadOptions,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        if let Some(topic) = topic {
            check_topic(topic, self.profile.topic_chars_max)?;
        }
        let checked = self.check_options(options, false)?;
        let t = self.writable(actor, thread)?;
        let verdict = self.check_limits(Operation::UpdateThread, by, Some(t), now)?;
        let name = self.name(actor);
        let t = self.commit(&verdict, by, thread, now);
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
                by: name,
                message: seq,
            });
        }
        events.extend(self.apply_options(thread, &checked, Some(actor), now, false));
        Ok(Outcome::new(Reply::None, events))
    }

    /// Deleting a thread makes everything in it unreadable (404) at once. Its
    /// data stays for the operator's recovery window, then a timer purges it
    /// (see `lifecycle`); the notification log and memberships stay so that
    /// participants' inboxes still show what reached them. A closed Twilio
    /// conversation can still be deleted.
    fn delete_thread(
        &mut self,
        by: Actor,
        thread: ThreadId,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        let t = self.member(actor, thread)?;
        let verdict = self.check_limits(Operation::DeleteThread, by, Some(t), now)?;
        let notified = t.participant_count() - 1;
        let t = self.commit(&verdict, by, thread, now);
        t.push_notice(now, NoticeKind::ChatThreadDeleted, actor, 0);
        let mut events = vec![Event::ThreadDeleted {
            thread,
            by: self.name(actor),
            notified,
        }];
        events.extend(self.mark_deleted(thread, now));
        Ok(Outcome::new(Reply::None, events))
    }

    // ---- participants ----

    fn add_participants(
        &mut self,
        by: Actor,
        thread: ThreadId,
        participants: &[ParticipantSpec],
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
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
        let verdict = self.check_limits(Operation::UpdateRoster, by, Some(t), now)?;
        let t = self.commit(&verdict, by, thread, now);
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
        by: Actor,
        thread: ThreadId,
        user: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
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
        let verdict = self.check_limits(Operation::UpdateRoster, by, Some(t), now)?;
        let t = self.commit(&verdict, by, thread, now);
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

    /// A chat message, with media or as a template (WhatsApp's 24-hour window
    /// does not apply to templates): stored once, shown to the chat
    /// participants (unless over a display cap), fanned out to the non-chat ones.
    #[allow(clippy::too_many_arguments)]
    fn send_message(
        &mut self,
        by: Actor,
        thread: ThreadId,
        content: &Arc<str>,
        content_type: ContentType,
        metadata: &std::collections::BTreeMap<String, String>,
        media: &[Media],
        template: bool,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        if content.is_empty() && media.is_empty() {
            return Err(Error::InvalidField {
                field: "content",
                reason: "must not be empty without media".to_string(),
            });
        }
        // Too many media is a malformed request (400, before 404); a file too
        // large is 413, after the target's 404 and 403.
        let media_check = match media {
            [] => Ok(()),
            _ => check_chat(&self.profile.channel_rules, media).map_err(Error::Media),
        };
        if let Err(e @ Error::Media(Violation::TooManyMedia { .. })) = &media_check {
            return Err(e.clone());
        }
        let t = self.writable(actor, thread)?;
        media_check?;
        self.check_sizes(content, metadata)?;
        let op = Operation::message(!media.is_empty());
        let verdict = self.check_limits(op, by, Some(t), now)?;
        let hidden = !verdict.shown;
        let recipients = if hidden { 0 } else { t.participant_count() - 1 };
        // Only Twilio conversations with timers or asleep react to a message.
        let wakes = t.life.state != ConversationState::Active
            || t.life.inactive_after_ms.is_some()
            || t.life.closed_after_ms.is_some();
        let t = self.commit(&verdict, by, thread, now);
        let kind = match content_type {
            ContentType::Text => MessageKind::Text,
            ContentType::Html => MessageKind::Html,
        };
        let extra = (!metadata.is_empty() || !media.is_empty()).then(|| {
            Box::new(MessageExtra {
                metadata: metadata.clone(),
                media: media.to_vec(),
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
        if !hidden {
            t.push_notice(now, NoticeKind::ChatMessageReceived, actor, seq);
        }
        let mut outcome = Outcome::new(
            Reply::MessageSent { sequence: seq },
            vec![Event::MessageSent {
                thread,
                message: seq,
                by: self.name(actor),
                bytes: content.len() as u32,
                recipients,
                hidden,
            }],
        );
        self.fan_out(&mut outcome, thread, seq, None, template, now);
        if wakes {
            outcome.events.extend(self.on_message(thread, now));
        }
        Ok(outcome)
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
            items.push(self.message_view(t, seq, m));
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
        by: Actor,
        thread: ThreadId,
        seq: u32,
        content: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        if content.is_empty() {
            return Err(Error::InvalidField {
                field: "content",
                reason: "must not be empty".to_string(),
            });
        }
        let t = self.writable(actor, thread)?;
        self.own_message(actor, t, seq)?;
        self.check_sizes(content, &Default::default())?;
        let verdict = self.check_limits(Operation::UpdateMessage, by, Some(t), now)?;
        let t = self.commit(&verdict, by, thread, now);
        let fanned_out = t.fanned_out(seq);
        let m = &mut t.messages[seq as usize - 1];
        if fanned_out {
            m.freeze_sent();
        }
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
        by: Actor,
        thread: ThreadId,
        seq: u32,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        let t = self.writable(actor, thread)?;
        self.own_message(actor, t, seq)?;
        let verdict = self.check_limits(Operation::DeleteMessage, by, Some(t), now)?;
        let t = self.commit(&verdict, by, thread, now);
        let fanned_out = t.fanned_out(seq);
        let m = &mut t.messages[seq as usize - 1];
        if fanned_out {
            m.freeze_sent();
        }
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

    fn send_typing(&mut self, by: Actor, thread: ThreadId, now: Instant) -> Result<Outcome, Error> {
        let actor = by.user;
        let t = self.writable(actor, thread)?;
        self.check_receipts_allowed(t)?;
        let verdict = self.check_limits(Operation::SendTyping, by, Some(t), now)?;
        let recipients = t.participant_count() - 1;
        self.commit(&verdict, by, thread, now).push_notice(
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

    /// The 400 for a call or option this profile does not model.
    pub(super) fn unsupported(&self, command: &str) -> Error {
        Error::UnsupportedByProfile {
            op: command.to_string(),
            profile: self.profile.name.clone(),
        }
    }

    fn update_profile_image(
        &mut self,
        by: Actor,
        bytes: u32,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if !self.profile.profile_images {
            return Err(self.unsupported("update_profile_image"));
        }
        if bytes == 0 {
            return Err(Error::InvalidField {
                field: "bytes",
                reason: "an image is not empty".to_string(),
            });
        }
        let verdict = self.check_limits(Operation::UpdateProfileImage, by, None, now)?;
        self.record_limits(&verdict, by.subject(), now);
        self.user_mut(by.user).profile_image_bytes = Some(bytes);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::ProfileImageUpdated {
                user: self.name(by.user),
                bytes,
            }],
        ))
    }

    fn update_metacounter(
        &mut self,
        by: Actor,
        thread: ThreadId,
        key: &Arc<str>,
        delta: i64,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if !self.profile.metacounters {
            return Err(self.unsupported("update_metacounter"));
        }
        if key.is_empty() || key.chars().count() > METACOUNTER_KEY_CHARS_MAX {
            return Err(Error::InvalidField {
                field: "key",
                reason: format!("must be 1 to {METACOUNTER_KEY_CHARS_MAX} characters"),
            });
        }
        let t = self.writable(by.user, thread)?;
        let old = t.metacounters.get(key).copied().unwrap_or(0);
        let value = old.checked_add(delta).ok_or_else(|| Error::InvalidField {
            field: "delta",
            reason: format!("{old} + {delta} overflows"),
        })?;
        let verdict = self.check_limits(Operation::UpdateMetacounter, by, Some(t), now)?;
        self.commit(&verdict, by, thread, now)
            .metacounters
            .insert(key.clone(), value);
        Ok(Outcome::new(
            Reply::Counter {
                key: key.clone(),
                value,
            },
            vec![Event::MetacounterUpdated {
                thread,
                by: self.name(by.user),
                key: key.clone(),
                value,
            }],
        ))
    }

    fn send_read_receipt(
        &mut self,
        by: Actor,
        thread: ThreadId,
        seq: u32,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let actor = by.user;
        let t = self.writable(actor, thread)?;
        self.visible_message(actor, t, seq)?;
        self.check_receipts_allowed(t)?;
        let verdict = self.check_limits(Operation::SendReadReceipt, by, Some(t), now)?;
        let recipients = t.participant_count() - 1;
        let t = self.commit(&verdict, by, thread, now);
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
            retention: t.life.retention,
            state: t.life.state.name(),
            delete_at_ms: t.life.deletion_due.map(Instant::ms),
            timers: (t.life.inactive_after_ms.is_some() || t.life.closed_after_ms.is_some()).then(
                || TimersView {
                    date_inactive_ms: t.life.inactive_due.map(Instant::ms),
                    date_closed_ms: t.life.closed_due.map(Instant::ms),
                },
            ),
        }
    }

    pub fn message_view(&self, t: &Thread, seq: u32, m: &Message) -> MessageView {
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
                .cloned()
                .collect(),
            created_at_ms: m.created_at.ms(),
            edited_at_ms: m.edited_at().map(Instant::ms),
            deleted_at_ms: m.deleted_at().map(Instant::ms),
            delivery: DeliverySummary::of(t.deliveries_of(seq).iter().map(|d| d.status)),
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
            if t.deleted_at.is_some() && !t.windows.is_empty() {
                return Err(format!("thread {id}: deleted but still holds rate windows"));
            }
            for m in &t.messages {
                if m.content.len() > p.message_bytes_max as usize {
                    return Err(format!("thread {id}: message over the size limit"));
                }
            }
            windows_within_bounds(p, t.windows.values())
                .map_err(|e| format!("thread {id}: {e}"))?;
        }
        windows_within_bounds(p, self.windows.values())?;
        for (key, (t, _)) in self.idempotency.iter() {
            if self.threads.get(t).is_none_or(|t| t.life.purged) {
                return Err(format!("idempotency key {key} points at no thread"));
            }
        }
        self.check_lifecycle()?;
        self.check_tokens()?;
        self.check_channel_invariants()
    }
}

/// Every window holds at most its limit's count of instants, oldest first.
fn windows_within_bounds<'w>(
    profile: &Profile,
    all: impl Iterator<Item = &'w Windows>,
) -> Result<(), String> {
    for windows in all {
        for (index, w) in windows.iter() {
            let limit = profile.rate_limits.get(index);
            if limit.is_none_or(|l| w.len() > l.count as usize) || !w.is_sorted() {
                return Err(format!("rate window of limit {index} over its bound"));
            }
        }
    }
    Ok(())
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
    /// a clock or randomness, and does not depend on the JSON crate (wire
    /// shapes are `crate::wire`'s).
    #[test]
    fn the_core_imports_no_shell_clock_or_randomness() {
        let sources = [
            include_str!("mod.rs"),
            include_str!("command.rs"),
            include_str!("error.rs"),
            include_str!("thread.rs"),
            include_str!("lifecycle.rs"),
            include_str!("token.rs"),
            include_str!("limit.rs"),
            include_str!("channels.rs"),
            include_str!("../channel/mod.rs"),
            include_str!("../channel/address.rs"),
            include_str!("../channel/carrier.rs"),
            include_str!("../channel/encoding.rs"),
            include_str!("../channel/media.rs"),
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
                    // In two parts, so that a grep of the core for it finds nothing.
                    let json_crate = concat!("serde", "_json");
                    assert!(!line.contains(json_crate), "{json_crate}: {line}");
                }
            }
        }
    }
}
