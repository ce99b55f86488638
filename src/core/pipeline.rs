//! The checks of a call, in precedence order, written once.
//!
//! Every call runs the same stages top to bottom, and the first that refuses
//! answers: 401 (who is calling), 400 (is the request well formed, by itself
//! and against the profile), 404 (does the target thread exist), 403 (may the
//! token make this call at all), then inside the thread 403, 409 and 404
//! (membership, a closed conversation, the message or participant named), 413
//! and 415 (sizes and media types), 400 and 409 that depend on the target's
//! state (caps, bindings held elsewhere, receipts on large threads), and last
//! 429 (rate limits). Every stage only reads; the change comes after the last
//! check and cannot fail, so a refused call leaves the state as it was (but
//! for a throttled call's count on profiles where throttled calls count).
//!
//! Each stage is a `match` over the call; a call with nothing to check at a
//! stage passes it. What a stage finds that the change needs (resolved
//! participants, parsed bindings, checked options) is kept in [`Found`], so
//! nothing is looked up twice.

use std::sync::Arc;

use super::Retention;
use super::binding::NewBinding;
use super::lifecycle::Checked;
use super::limit::{self, Count, Subject, Verdict};
use super::thread::Thread;
use super::{Caller, Error, Outcome, Reply, State};
use super::{CarrierCall, ChatCall, Command, InvalidParticipant, ParticipantSpec, ServiceCall};
use crate::id::{ThreadId, UserId};
use crate::profile::Operation;
use crate::rules::media::{check_chat, check_count, check_inbound};
use crate::time::{Duration, Instant};

/// What the checks found that the change needs.
#[derive(Default)]
pub(super) struct Found<'c> {
    /// Checked lifecycle options (create and update).
    pub options: Checked,
    /// Parsed SMS/WhatsApp participants (create and add).
    pub bindings: Vec<NewBinding>,
    /// Chat participants who join, each with its spec (create and add).
    pub joining: Vec<(UserId, &'c ParticipantSpec)>,
    /// Named participants who cannot join (ACS `invalidParticipants`).
    pub invalid: Vec<InvalidParticipant>,
    /// The participant a removal names.
    pub target: Option<UserId>,
    /// The index of the binding a removal names.
    pub binding: usize,
    /// A metacounter's new value.
    pub value: i64,
}

impl Found<'_> {
    /// The memberships the joining participants start with: (user, display
    /// name, history from), in the order the call named them.
    pub(super) fn joiners(&self) -> impl Iterator<Item = (UserId, Option<Arc<str>>, Instant)> + '_ {
        self.joining.iter().map(|(user, spec)| {
            (
                *user,
                spec.display_name.clone(),
                spec.share_history_from.unwrap_or(Instant::ZERO),
            )
        })
    }
}

impl State {
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
            Command::Chat(call) => self.execute_chat(caller, call, now),
            Command::Service(call) => self.execute_service(caller, call, now),
            Command::Carrier(call) => self.execute_carrier(call, now),
        }
    }

    /// A chat identity's call, stage by stage.
    fn execute_chat(
        &mut self,
        caller: Caller,
        call: &ChatCall,
        now: Instant,
    ) -> Result<Outcome, Error> {
        // 401: who is calling (a token's owner when only the token came).
        let user = self.authenticate(caller, now)?;
        // Limits count the identity the call authenticated as.
        let subject = caller.acting_as(user).subject();
        // A create whose idempotency key was seen answers its first response
        // again, whatever its body, if the token may create threads at all.
        if let Some(outcome) = self.replay(call) {
            self.check_scope(caller, call)?;
            return Ok(outcome);
        }
        let mut found = Found::default();
        // 400: the request by itself and against the profile.
        self.check_request(call, &mut found)?;
        // 404: the target thread.
        let thread = match call.thread() {
            Some(id) => Some(self.live_thread(id)?),
            None => None,
        };
        // 403: the token's scopes.
        self.check_scope(caller, call)?;
        // 403, 409, 404 inside the thread.
        self.check_access(user, call, thread, &mut found)?;
        // 413, 415: sizes and media types.
        self.check_size(call)?;
        // 400, 409: what depends on the target's state.
        self.check_state(user, call, thread, &mut found, now)?;
        // 429: rate limits, for a call that would otherwise succeed.
        let op = call.operation();
        let decision = self.decide(op, subject, thread, now);
        let verdict = self.settle(decision, op, subject, call.thread(), now)?;
        // No check below this line: the change cannot fail.
        Ok(self.apply_chat(user, subject, call, found, &verdict, now))
    }

    /// A call of the trusted service or the operator: no identity to
    /// authenticate, no scopes; each call's own checks in the same order.
    fn execute_service(
        &mut self,
        caller: Caller,
        call: &ServiceCall,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let subject = caller.subject();
        match call {
            ServiceCall::CreateUser { id, display_name } => {
                self.create_user(subject, id, display_name, now)
            }
            ServiceCall::DeleteUser { user } => self.delete_user(subject, user, now),
            ServiceCall::IssueToken {
                user,
                scopes,
                expires_in_ms,
            } => self.issue_token(caller, user, scopes, *expires_in_ms, now),
            ServiceCall::RevokeTokens { user } => self.revoke_tokens(caller, user, now),
            ServiceCall::RecoverThread { thread } => self.recover_thread(*thread, now),
        }
    }

    /// A call from the telephone side: no identity, no scopes.
    fn execute_carrier(&mut self, call: &CarrierCall, now: Instant) -> Result<Outcome, Error> {
        match call {
            CarrierCall::Inbound {
                channel,
                from,
                to,
                body,
                media,
            } => {
                // 400: the request.
                let request = self.check_inbound_request(*channel, from, to, body, media)?;
                // 404: the thread that holds the binding.
                let thread = self.inbound_thread(*channel, &request.from, &request.to)?;
                // 413, 415: the channel's own limits.
                // (A profile without SMS/WhatsApp participants refused the request.)
                if let Some(non_chat) = &self.profile.non_chat {
                    check_inbound(&non_chat.channel_rules, *channel, body, request.media)
                        .map_err(Error::Media)?;
                }
                Ok(self.apply_inbound(thread, *channel, &request.from, body, request.media, now))
            }
            CarrierCall::SendSms {
                from,
                to,
                message,
                delivery_report,
            } => self.send_sms(call.operation(), from, to, message, *delivery_report, now),
        }
    }

    // ---- 400: the request ----

    fn check_request<'c>(&self, call: &'c ChatCall, found: &mut Found<'c>) -> Result<(), Error> {
        match call {
            ChatCall::CreateThread {
                topic,
                participants,
                bindings,
                options,
                ..
            } => {
                self.check_topic(topic)?;
                found.options = self.check_options(options, true)?;
                found.bindings = self.parse_bindings(bindings)?;
                // Chat and non-chat participants named in one create count
                // together (Twilio's ConversationWithParticipants: at most 10).
                let named = participants.len().saturating_add(bindings.len());
                let max = self.profile.participants_per_create_max;
                if named as u64 > u64::from(max) {
                    return Err(Error::TooManyParticipantsInCall {
                        count: named.min(u32::MAX as usize) as u32,
                        max,
                    });
                }
                Ok(())
            }
            ChatCall::UpdateThread { topic, options, .. } => {
                if let Some(topic) = topic {
                    self.check_topic(topic)?;
                }
                found.options = self.check_options(options, false)?;
                Ok(())
            }
            ChatCall::SetState { .. } if self.profile.conversation_states.is_none() => {
                Err(self.unsupported("set_state"))
            }
            ChatCall::AddParticipants { participants, .. } => {
                if participants.is_empty() {
                    return Err(at_least_one("participants"));
                }
                let max = self.profile.participants_per_add_max;
                if participants.len() as u64 > u64::from(max) {
                    return Err(Error::TooManyParticipantsInCall {
                        count: participants.len().min(u32::MAX as usize) as u32,
                        max,
                    });
                }
                Ok(())
            }
            ChatCall::AddBindings { bindings, .. } => {
                if bindings.is_empty() {
                    return Err(at_least_one("participants"));
                }
                found.bindings = self.parse_bindings(bindings)?;
                Ok(())
            }
            ChatCall::SendMessage { content, media, .. } => {
                if content.is_empty() && media.is_empty() {
                    return Err(Error::InvalidField {
                        field: "content",
                        reason: "must not be empty without media".to_string(),
                    });
                }
                check_count(media, self.profile.chat_media.count_max).map_err(Error::Media)
            }
            ChatCall::UpdateMessage { content, .. } if content.is_empty() => {
                Err(Error::InvalidField {
                    field: "content",
                    reason: "must not be empty".to_string(),
                })
            }
            ChatCall::UpdateProfileImage { bytes } => {
                if !self.profile.profile_images {
                    return Err(self.unsupported("update_profile_image"));
                }
                if *bytes == 0 {
                    return Err(Error::InvalidField {
                        field: "bytes",
                        reason: "an image is not empty".to_string(),
                    });
                }
                Ok(())
            }
            ChatCall::UpdateMetacounter { key, .. } => self.check_metacounter_key(key),
            ChatCall::ListThreads { page }
            | ChatCall::ListParticipants { page, .. }
            | ChatCall::ListMessages { page, .. }
            | ChatCall::ListReadReceipts { page, .. } => self.check_page(page).map(drop),
            _ => Ok(()),
        }
    }

    // ---- idempotency ----

    fn replay(&self, call: &ChatCall) -> Option<Outcome> {
        let ChatCall::CreateThread {
            idempotency_key: Some(key),
            ..
        } = call
        else {
            return None;
        };
        let (existing, invalid) = self.idempotency.get(key)?;
        // Same key: the first response again, nothing executed twice.
        let t = self
            .threads
            .get(existing)
            .expect("idempotency keys point at threads");
        Some(Outcome::new(
            Reply::ThreadCreated {
                thread: Box::new(self.thread_view(t)),
                invalid_participants: invalid.clone(),
            },
            vec![],
        ))
    }

    // ---- 403, 409, 404: inside the thread ----

    fn check_access(
        &self,
        actor: UserId,
        call: &ChatCall,
        thread: Option<&Thread>,
        found: &mut Found<'_>,
    ) -> Result<(), Error> {
        let Some(t) = thread else {
            return Ok(());
        };
        match call {
            // Readers: anyone who is or was a participant (removed
            // participants keep the history up to their removal).
            ChatCall::GetThread { .. }
            | ChatCall::ListParticipants { .. }
            | ChatCall::ListMessages { .. }
            | ChatCall::ListReadReceipts { .. } => self.reader(actor, t),
            ChatCall::GetMessage { message } => {
                self.reader(actor, t)?;
                self.visible_message(actor, t, message.sequence).map(drop)
            }
            // A closed conversation can still be deleted.
            ChatCall::DeleteThread { .. } => self.member(actor, t),
            ChatCall::RemoveParticipant { user, .. } => {
                self.writer(actor, t)?;
                found.target = Some(self.participant(t, user)?);
                Ok(())
            }
            ChatCall::UpdateMessage { message, .. } | ChatCall::DeleteMessage { message } => {
                self.writer(actor, t)?;
                self.own_message(actor, t, message.sequence)
            }
            ChatCall::SendReadReceipt { message } => {
                self.writer(actor, t)?;
                self.visible_message(actor, t, message.sequence).map(drop)
            }
            ChatCall::RemoveBinding {
                channel, address, ..
            } => {
                self.writer(actor, t)?;
                found.binding = self.binding_named(t, *channel, address)?;
                Ok(())
            }
            ChatCall::UpdateThread { .. }
            | ChatCall::SetState { .. }
            | ChatCall::AddParticipants { .. }
            | ChatCall::AddBindings { .. }
            | ChatCall::SendMessage { .. }
            | ChatCall::SendTyping { .. }
            | ChatCall::UpdateMetacounter { .. } => self.writer(actor, t),
            ChatCall::CreateThread { .. }
            | ChatCall::ListThreads { .. }
            | ChatCall::UpdateProfileImage { .. } => Ok(()),
        }
    }

    // ---- 413, 415: sizes ----

    fn check_size(&self, call: &ChatCall) -> Result<(), Error> {
        match call {
            ChatCall::SendMessage {
                content,
                metadata,
                media,
                ..
            } => {
                check_chat(&self.profile.chat_media, media).map_err(Error::Media)?;
                self.check_sizes(content, metadata)
            }
            ChatCall::UpdateMessage { content, .. } => {
                self.check_sizes(content, &Default::default())
            }
            _ => Ok(()),
        }
    }

    // ---- 400, 409: the target's state ----

    fn check_state<'c>(
        &self,
        actor: UserId,
        call: &'c ChatCall,
        thread: Option<&Thread>,
        found: &mut Found<'c>,
        now: Instant,
    ) -> Result<(), Error> {
        // Every deadline the call sets must be an instant of virtual time.
        let created_at = thread.map_or(now, |t| t.created_at);
        self.check_deadlines(call, found.options.retention(), created_at, now)?;
        match (call, thread) {
            (ChatCall::CreateThread { participants, .. }, _) => {
                let (joining, invalid) = self.resolve_participants(participants, |u| u == actor)?;
                self.check_binding_room(&found.bindings, None, 1 + joining.len() as u32, 0)?;
                self.check_identity_threads(
                    std::iter::once(actor).chain(joining.iter().map(|j| j.0)),
                )?;
                self.check_bindings_free(&found.bindings, None)?;
                (found.joining, found.invalid) = (joining, invalid);
                Ok(())
            }
            (ChatCall::AddParticipants { participants, .. }, Some(t)) => {
                // Adding an existing participant changes nothing (the ACS Chat API specification).
                let (joining, invalid) =
                    self.resolve_participants(participants, |u| t.is_participant(u))?;
                let total = t.member_count() + joining.len() as u32;
                let max = self.participant_cap(t);
                if total > max {
                    return Err(Error::ThreadFull { count: total, max });
                }
                self.check_identity_threads(joining.iter().map(|j| j.0))?;
                (found.joining, found.invalid) = (joining, invalid);
                Ok(())
            }
            (ChatCall::AddBindings { .. }, Some(t)) => {
                self.check_binding_room(
                    &found.bindings,
                    Some(t),
                    t.member_count(),
                    t.non_chat_count(),
                )?;
                self.check_bindings_free(&found.bindings, Some(t))
            }
            (ChatCall::SendTyping { .. } | ChatCall::SendReadReceipt { .. }, Some(t)) => {
                self.check_receipts_allowed(t)
            }
            (ChatCall::UpdateMetacounter { key, delta, .. }, Some(t)) => {
                let old = t.metacounters.get(key).copied().unwrap_or(0);
                found.value = old.checked_add(*delta).ok_or_else(|| Error::InvalidField {
                    field: "delta",
                    reason: format!("{old} + {delta} overflows"),
                })?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The deadlines a call sets: a retention deletion (and the purge after
    /// it), a deleted thread's purge.
    fn check_deadlines(
        &self,
        call: &ChatCall,
        retention: Option<Retention>,
        created_at: Instant,
        now: Instant,
    ) -> Result<(), Error> {
        let window = Duration::from_ms(self.profile.recovery_window_ms.unwrap_or(0));
        if let Some(retention) = retention {
            let purge = retention
                .checked_deletion_at(created_at)
                .ok_or(Error::DeadlineOutOfTime {
                    deadline: "retention deletion",
                })?
                .map(|deletion| deletion.checked_add(window));
            if purge == Some(None) {
                return Err(Error::DeadlineOutOfTime {
                    deadline: "purge after the retention deletion",
                });
            }
        }
        if matches!(call, ChatCall::DeleteThread { .. }) && now.checked_add(window).is_none() {
            return Err(Error::DeadlineOutOfTime {
                deadline: "deleted thread's purge",
            });
        }
        Ok(())
    }

    // ---- 429: rate limits ----

    /// Decides `op` by `subject` on `thread` against every limit that applies.
    /// A refused call is counted where the profile says throttled calls count,
    /// and its retry-after is the wait that holds once it is counted.
    pub(super) fn admit(
        &mut self,
        op: Operation,
        subject: Subject,
        thread: Option<ThreadId>,
        now: Instant,
    ) -> Result<Verdict, Error> {
        let decision = self.decide(op, subject, thread.and_then(|t| self.thread(t)), now);
        self.settle(decision, op, subject, thread, now)
    }

    /// The limits' decision on a call (see [`limit::decide`]).
    fn decide(
        &self,
        op: Operation,
        subject: Subject,
        thread: Option<&Thread>,
        now: Instant,
    ) -> Result<Verdict, Error> {
        let counts = self.profile.throttled_calls_count;
        let windows = thread.map(|t| &t.windows);
        limit::decide(
            &self.profile,
            self.limits.applying(&self.profile, op),
            subject,
            now,
            &self.windows,
            windows,
            counts,
        )
    }

    /// A refusal is counted in every rejecting window where the profile
    /// says throttled calls count; an admission is counted when it applies.
    fn settle(
        &mut self,
        decision: Result<Verdict, Error>,
        op: Operation,
        subject: Subject,
        thread: Option<ThreadId>,
        now: Instant,
    ) -> Result<Verdict, Error> {
        let error = match decision {
            Ok(verdict) => return Ok(verdict),
            Err(error) => error,
        };
        if self.profile.throttled_calls_count {
            let verdict = Verdict {
                counted: self
                    .limits
                    .rejecting(self.limits.applying(&self.profile, op)),
                shown: true,
                effective_at: now,
            };
            self.count_limits(&verdict, subject, thread, now);
        }
        Err(error)
    }

    /// Counts a call in the windows of `verdict`: the state's, and the
    /// thread's if it has one (a read that counts nothing writes nothing, so
    /// a read after a fork copies nothing).
    pub(super) fn count_limits(
        &mut self,
        verdict: &Verdict,
        subject: Subject,
        thread: Option<ThreadId>,
        now: Instant,
    ) {
        if verdict.counted == 0 {
            return;
        }
        limit::count(
            &self.profile,
            verdict,
            subject,
            false,
            now,
            &mut self.windows,
        );
        if let Some(id) = thread
            && self.limits.counts_in_thread(verdict.counted)
        {
            let (t, profile) = self.thread_and_profile(id);
            limit::count(profile, verdict, subject, true, now, &mut t.windows);
        }
    }

    // ---- the change ----

    /// The thread a change begins at, with the call counted in its rate
    /// windows: one lookup for both.
    pub(super) fn changing(&mut self, thread: ThreadId, count: &Count) -> &mut Thread {
        let (t, profile) = self.thread_and_profile(thread);
        if count.verdict.counted != 0 {
            limit::count(
                profile,
                &count.verdict,
                count.subject,
                true,
                count.now,
                &mut t.windows,
            );
        }
        t
    }

    fn apply_chat(
        &mut self,
        actor: UserId,
        subject: Subject,
        call: &ChatCall,
        found: Found<'_>,
        verdict: &Verdict,
        now: Instant,
    ) -> Outcome {
        let count = Count {
            verdict: *verdict,
            subject,
            now,
        };
        // A change that begins at its thread counts the thread's windows in
        // the same lookup (`changing`); the others are counted here.
        let counted_in_change = matches!(
            call,
            ChatCall::SendMessage { .. }
                | ChatCall::UpdateMessage { .. }
                | ChatCall::DeleteMessage { .. }
                | ChatCall::SendTyping { .. }
                | ChatCall::SendReadReceipt { .. }
                | ChatCall::DeleteThread { .. }
                | ChatCall::RemoveParticipant { .. }
                | ChatCall::UpdateMetacounter { .. }
                | ChatCall::RemoveBinding { .. }
        );
        let thread = if counted_in_change {
            None
        } else {
            call.thread()
        };
        self.count_limits(verdict, subject, thread, now);
        match call {
            ChatCall::CreateThread {
                topic,
                idempotency_key,
                ..
            } => self.apply_create_thread(actor, topic, idempotency_key.as_ref(), found, now),
            ChatCall::GetThread { thread } => Outcome::new(
                Reply::Thread(Box::new(self.thread_view(&self.threads[thread]))),
                vec![],
            ),
            ChatCall::ListThreads { page } => self.list_threads(actor, page),
            ChatCall::UpdateThread { thread, topic, .. } => {
                self.apply_update_thread(actor, *thread, topic.as_ref(), &found.options, now)
            }
            ChatCall::SetState { thread, state } => {
                self.apply_set_state(actor, *thread, *state, now)
            }
            ChatCall::DeleteThread { thread } => {
                self.apply_delete_thread(&count, actor, *thread, now)
            }
            ChatCall::AddParticipants { thread, .. } => {
                self.apply_add_participants(actor, *thread, found, now)
            }
            ChatCall::RemoveParticipant { thread, user } => {
                let target = found
                    .target
                    .expect("the access stage found the participant");
                self.apply_remove_participant(&count, actor, *thread, target, user, now)
            }
            ChatCall::ListParticipants { thread, page } => {
                self.list_participants(&self.threads[thread], page)
            }
            ChatCall::SendMessage {
                thread,
                content,
                content_type,
                metadata,
                media,
                template,
            } => self.apply_send_message(
                &count,
                actor,
                *thread,
                content,
                *content_type,
                metadata,
                media,
                template.is_some(),
                now,
            ),
            ChatCall::GetMessage { message } => {
                let t = &self.threads[&message.thread];
                let m = t
                    .message(message.sequence)
                    .expect("the access stage found the message");
                Outcome::new(
                    Reply::Message(Box::new(self.message_view(t, message.sequence, m))),
                    vec![],
                )
            }
            ChatCall::ListMessages {
                thread,
                page,
                start_time,
            } => self.list_messages(actor, &self.threads[thread], page, *start_time),
            ChatCall::UpdateMessage { message, content } => {
                self.apply_update_message(&count, actor, *message, content, now)
            }
            ChatCall::DeleteMessage { message } => {
                self.apply_delete_message(&count, actor, *message, now)
            }
            ChatCall::SendTyping { thread } => self.apply_send_typing(&count, actor, *thread, now),
            ChatCall::SendReadReceipt { message } => {
                self.apply_read_receipt(&count, actor, *message, now)
            }
            ChatCall::ListReadReceipts { thread, page } => {
                self.list_read_receipts(&self.threads[thread], page)
            }
            ChatCall::UpdateProfileImage { bytes } => self.apply_profile_image(actor, *bytes),
            ChatCall::UpdateMetacounter { thread, key, .. } => {
                self.apply_metacounter(&count, actor, *thread, key, found.value)
            }
            ChatCall::AddBindings { thread, .. } => {
                self.apply_add_bindings(actor, *thread, found.bindings, now)
            }
            ChatCall::RemoveBinding { thread, .. } => {
                self.apply_remove_binding(&count, actor, *thread, found.binding, now)
            }
        }
    }
}

/// The 400 for an empty list that needs an item.
fn at_least_one(field: &'static str) -> Error {
    Error::InvalidField {
        field,
        reason: "at least one participant is required".to_string(),
    }
}
