//! Thread calls: create, update, delete and list threads, the checks that
//! locate a thread and decide who may touch it, and Sendbird's metacounters.

use std::sync::Arc;

use super::lifecycle::Checked;
use super::limit::Count;
use super::page::continuation_token;
use super::pipeline::Found;
use super::thread::{Message, MessageExtra, Thread};
use super::{Error, Outcome, State};
use super::{Event, Page, PageRequest, Reply};
use super::{MessageKind, NoticeKind};
use crate::id::{ThreadId, UserId};
use crate::profile::{Profile, SystemMessageKind};
use crate::time::Instant;

impl State {
    // ---- locating and access ----

    /// The thread, if it exists and is not deleted (404 otherwise).
    pub(super) fn live_thread(&self, thread: ThreadId) -> Result<&Thread, Error> {
        match self.threads.get(&thread) {
            Some(t) if t.deleted_at.is_none() => Ok(t),
            _ => Err(Error::ThreadNotFound {
                thread: thread.to_string(),
            }),
        }
    }

    /// A caller who is or was a participant may read (removed participants
    /// keep the history up to their removal).
    pub(super) fn reader(&self, actor: UserId, t: &Thread) -> Result<(), Error> {
        if t.was_ever_participant(actor) {
            Ok(())
        } else {
            Err(self.not_a_participant(t, actor))
        }
    }

    /// A caller who is a participant now.
    pub(super) fn member(&self, actor: UserId, t: &Thread) -> Result<(), Error> {
        if t.is_participant(actor) {
            Ok(())
        } else {
            Err(self.not_a_participant(t, actor))
        }
    }

    /// A participant who changes the thread: a closed Twilio conversation
    /// takes no more changes (50377), refused before its size is looked at.
    pub(super) fn writer(&self, actor: UserId, t: &Thread) -> Result<(), Error> {
        self.member(actor, t)?;
        if !t.life.state.takes_changes() {
            return Err(Error::ConversationClosed { thread: t.id });
        }
        Ok(())
    }

    fn not_a_participant(&self, t: &Thread, actor: UserId) -> Error {
        Error::NotAParticipant {
            thread: t.id,
            user: self.name(actor).to_string(),
        }
    }

    pub(super) fn thread_mut(&mut self, thread: ThreadId) -> &mut Thread {
        self.thread_and_profile(thread).0
    }

    /// The thread to change, with the profile borrowed beside it (a change
    /// reads its rules while it writes, and takes no count on the profile).
    pub(super) fn thread_and_profile(&mut self, thread: ThreadId) -> (&mut Thread, &Profile) {
        let t = self
            .threads
            .get_mut(&thread)
            .expect("checked before mutation");
        (t, &self.profile)
    }

    pub(super) fn check_topic(&self, topic: &str) -> Result<(), Error> {
        let max = self.profile.topic_chars_max;
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

    /// The 400 for a call or option this profile does not model.
    pub(super) fn unsupported(&self, command: &str) -> Error {
        Error::UnsupportedByProfile {
            op: command.to_string(),
            profile: self.profile.name.clone(),
        }
    }

    // ---- the changes ----

    /// Creates a thread with its chat and SMS/WhatsApp participants (checked).
    pub(super) fn apply_create_thread(
        &mut self,
        actor: UserId,
        topic: &Arc<str>,
        idempotency_key: Option<&Arc<str>>,
        found: Found<'_>,
        now: Instant,
    ) -> Outcome {
        let id = ThreadId(self.next_thread);
        self.next_thread += 1;
        let mut t = Thread::new(id, topic.clone(), actor, now);
        t.memberships.reserve_exact(1 + found.joining.len());
        let notice = t.push_notice(now, NoticeKind::ChatThreadCreated, actor, 0);
        t.join(actor, None, Instant::ZERO, notice);
        t.join_all(found.joiners(), notice);
        // The profile's opening (ACS: participantAdded, then topicUpdated).
        let added: Vec<UserId> = t.current_memberships().iter().map(|m| m.user).collect();
        for kind in &self.profile.history_opening {
            t.push_message(match kind {
                SystemMessageKind::ParticipantAdded => system_message(
                    MessageKind::ParticipantAdded,
                    actor,
                    now,
                    Arc::from(""),
                    added.clone(),
                ),
                SystemMessageKind::TopicUpdated => {
                    system_message(MessageKind::TopicUpdated, actor, now, topic.clone(), vec![])
                }
            });
        }
        let count = t.participant_count();
        self.threads.push(id, t);
        for user in &added {
            self.user_mut(*user).threads.insert(id);
        }
        if let Some(key) = idempotency_key {
            self.idempotency
                .insert(key.clone(), (id, found.invalid.clone()));
        }
        let added = (!found.bindings.is_empty()).then(|| Event::BindingsAdded {
            thread: id,
            by: self.name(actor),
            addresses: self.attach_bindings(id, found.bindings, now),
        });
        let mut events = vec![Event::ThreadCreated {
            thread: id,
            by: self.name(actor),
            participants: count,
        }];
        events.extend(self.apply_options(id, &found.options, Some(actor), now, true));
        events.extend(added);
        let view = self.thread_view(&self.threads[&id]);
        Outcome::new(
            Reply::ThreadCreated {
                thread: Box::new(view),
                invalid_participants: found.invalid,
            },
            events,
        )
    }

    /// The caller's threads, newest first.
    pub(super) fn list_threads(&self, actor: UserId, page: &PageRequest) -> Outcome {
        let page = self.page_at(page);
        let before = page.continuation.unwrap_or(u32::MAX);
        let user = &self.users[&actor];
        let mut items = Vec::new();
        let mut continuation = None;
        // Newest thread first; only threads the caller is in now.
        for id in user.threads.range(..ThreadId(before)).rev() {
            let t = &self.threads[id];
            if t.deleted_at.is_some() || !t.is_participant(actor) {
                continue;
            }
            if items.len() == page.size {
                continuation = Some(continuation_token(id.0 + 1));
                break;
            }
            items.push(self.thread_view(t));
        }
        Outcome::new(
            Reply::Threads(Page {
                items,
                continuation,
            }),
            vec![],
        )
    }

    pub(super) fn apply_update_thread(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        topic: Option<&Arc<str>>,
        options: &Checked,
        now: Instant,
    ) -> Outcome {
        let name = self.name(actor);
        let mut events = vec![];
        if let Some(topic) = topic {
            let t = self.thread_mut(thread);
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
        events.extend(self.apply_options(thread, options, Some(actor), now, false));
        Outcome::new(Reply::None, events)
    }

    /// Deleting a thread makes everything in it unreadable (404) at once. Its
    /// data stays for the operator's recovery window, then a timer purges it
    /// (see `lifecycle`); the notification log and memberships stay so that
    /// participants' inboxes still show what reached them.
    pub(super) fn apply_delete_thread(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        now: Instant,
    ) -> Outcome {
        let t = self.changing(thread, count);
        let notified = t.participant_count() - 1;
        t.push_notice(now, NoticeKind::ChatThreadDeleted, actor, 0);
        let mut events = vec![Event::ThreadDeleted {
            thread,
            by: self.name(actor),
            notified,
        }];
        events.extend(self.mark_deleted(thread, now));
        Outcome::new(Reply::None, events)
    }

    // ---- Sendbird's metacounters ----

    pub(super) fn check_metacounter_key(&self, key: &str) -> Result<(), Error> {
        let Some(rules) = &self.profile.metacounters else {
            return Err(self.unsupported("update_metacounter"));
        };
        let max = rules.key_chars_max;
        if key.is_empty() || key.chars().count() > max as usize {
            return Err(Error::InvalidField {
                field: "key",
                reason: format!("must be 1 to {max} characters"),
            });
        }
        Ok(())
    }

    pub(super) fn apply_metacounter(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        key: &Arc<str>,
        value: i64,
    ) -> Outcome {
        self.changing(thread, count)
            .metacounters
            .insert(key.clone(), value);
        Outcome::new(
            Reply::Counter {
                key: key.clone(),
                value,
            },
            vec![Event::MetacounterUpdated {
                thread,
                by: self.name(actor),
                key: key.clone(),
                value,
            }],
        )
    }
}

/// A system message (participants added or removed, topic updated).
pub(super) fn system_message(
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
        content: content.into(),
        extra: (!participants.is_empty()).then(|| {
            Box::new(MessageExtra {
                participants,
                ..MessageExtra::default()
            })
        }),
    }
}
