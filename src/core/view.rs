//! Views: threads, messages and inboxes as the API returns them, computed
//! from the state (a participant's inbox from the thread's notification log
//! and the participant's membership intervals; nothing is stored per recipient).

use std::sync::Arc;

use super::MessageKind;
use super::thread::{Message, Thread};
use super::{Caller, NOBODY, ParticipantView, State, limit};
use super::{DeliverySummary, MessageView, Notification, ThreadView, TimersView};
use crate::id::{ThreadId, UserId, message_id};
use crate::profile::Operation;
use crate::time::Instant;

impl State {
    /// The thread as the API returns it.
    pub fn thread_view(&self, t: &Thread) -> ThreadView {
        ThreadView {
            id: t.id,
            topic: t.topic.clone(),
            created_by: self.name(t.created_by),
            created_at_ms: t.created_at.ms(),
            deleted_at_ms: t.deleted_at.map(Instant::ms),
            participant_count: t.participant_count(),
            retention: t.life.retention,
            state: t.life.state,
            delete_at_ms: t.life.deletion_due.map(Instant::ms),
            timers: (t.life.inactive_after_ms.is_some() || t.life.closed_after_ms.is_some()).then(
                || TimersView {
                    date_inactive_ms: t.life.inactive_due.map(Instant::ms),
                    date_closed_ms: t.life.closed_due.map(Instant::ms),
                },
            ),
        }
    }

    /// Message `seq` as the API returns it.
    pub fn message_view(&self, t: &Thread, seq: u32, m: &Message) -> MessageView {
        let deleted = m.deleted_at().is_some();
        let (content, topic) = match m.kind {
            MessageKind::Text | MessageKind::Html if !deleted => {
                (Some(m.content.text().clone()), None)
            }
            MessageKind::TopicUpdated => (None, Some(m.content.text().clone())),
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
            kind: m.kind,
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
            delivery: DeliverySummary::of(t.deliveries_of(seq).map(|d| d.status)),
        }
    }

    /// Every thread not deleted, oldest first, as the API shows them.
    pub fn thread_views(&self) -> Vec<ThreadView> {
        self.threads
            .values()
            .filter(|t| t.deleted_at.is_none())
            .map(|t| self.thread_view(t))
            .collect()
    }

    /// Every message of `thread` (deleted or not), oldest first, whoever
    /// may read it; `None` for no such thread or a deleted one.
    pub fn message_views(&self, thread: ThreadId) -> Option<Vec<MessageView>> {
        let t = self
            .threads
            .get(&thread)
            .filter(|t| t.deleted_at.is_none())?;
        Some(
            t.messages
                .iter()
                .zip(1..)
                .map(|(m, seq)| self.message_view(t, seq, m))
                .collect(),
        )
    }

    /// The current participants of `thread`, in the order they joined.
    pub fn participant_views(&self, thread: ThreadId) -> Option<Vec<ParticipantView>> {
        let t = self
            .threads
            .get(&thread)
            .filter(|t| t.deleted_at.is_none())?;
        Some(
            t.current_memberships()
                .iter()
                .map(|m| ParticipantView {
                    user: self.name(m.user),
                    display_name: m.display_name.clone(),
                    share_history_from_ms: m.history_from.ms(),
                })
                .collect(),
        )
    }

    /// How long from `now` until `op` by `caller` (on `thread`) would pass
    /// every rate limit: zero if it would pass now. Reads only.
    pub fn wait_for_limits(
        &self,
        caller: Caller,
        op: Operation,
        thread: Option<ThreadId>,
        now: Instant,
    ) -> u64 {
        let windows = thread
            .and_then(|t| self.threads.get(&t))
            .map(|t| &t.windows);
        match limit::decide(
            &self.profile,
            self.limits.applying(&self.profile, op),
            caller.subject(),
            now,
            &self.windows,
            windows,
            false,
        ) {
            Ok(_) => 0,
            Err(e) => e.retry_after_ms().unwrap_or(u64::MAX),
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
                    kind: n.kind,
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
}
