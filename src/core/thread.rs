//! One thread's state: its message log, its notification log, its membership
//! intervals, read receipts and thread-scoped rate-limit windows.
//!
//! A message is stored once. A participant's view (what they may read, which
//! notifications reached them) is computed from the logs and their membership
//! intervals, never copied per recipient.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::lifecycle::Lifecycle;
use crate::id::{ThreadId, UserId};
use crate::time::Instant;

use super::limit::{WindowKey, Windows};

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// A message in a thread's log. Its sequence id is its index + 1. The rarely
/// used parts live behind one box so the log stays compact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub kind: MessageKind,
    /// The author, or for system messages the participant who caused them.
    pub sender: UserId,
    pub created_at: Instant,
    /// The body for text and html, the new topic for topic updates, empty for
    /// participant messages and after deletion.
    pub content: Arc<str>,
    pub extra: Option<Box<MessageExtra>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageExtra {
    pub edited_at: Option<Instant>,
    pub deleted_at: Option<Instant>,
    pub metadata: BTreeMap<String, String>,
    /// For participant added/removed messages: who.
    pub participants: Vec<UserId>,
}

impl Message {
    pub fn edited_at(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.edited_at)
    }
    pub fn deleted_at(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.deleted_at)
    }
    pub fn extra_mut(&mut self) -> &mut MessageExtra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// A real-time notification kind, as SCENARIO.md names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// One entry of a thread's notification log. It reaches every participant whose
/// membership interval covers it, except its actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    pub at: Instant,
    pub kind: NoticeKind,
    pub actor: UserId,
    /// The message it is about (sequence id), or 0.
    pub message: u32,
}

/// One stretch of time a user was a participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub user: UserId,
    pub display_name: Option<Arc<str>>,
    /// Messages created before this instant are hidden from this participant.
    pub history_from: Instant,
    /// First notice index this membership receives.
    pub from_notice: u32,
    /// Set on removal: the last notice index and last message sequence id the
    /// participant still receives and reads.
    pub until: Option<Until>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Until {
    pub notice: u32,
    pub message: u32,
}

impl Membership {
    /// Whether this membership may read message `seq` created at `created_at`.
    pub fn reads(&self, seq: u32, created_at: Instant) -> bool {
        created_at >= self.history_from && self.until.is_none_or(|u| seq <= u.message)
    }

    /// Whether notice number `index` reached this membership.
    pub fn receives(&self, index: u32) -> bool {
        index >= self.from_notice && self.until.is_none_or(|u| index <= u.notice)
    }
}

/// A thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub id: ThreadId,
    pub topic: Arc<str>,
    pub created_by: UserId,
    pub created_at: Instant,
    pub deleted_at: Option<Instant>,
    pub messages: Vec<Message>,
    pub notices: Vec<Notice>,
    pub memberships: Vec<Membership>,
    /// Current participants: user to index in `memberships`.
    pub current: BTreeMap<UserId, u32>,
    /// The latest read receipt of each participant: (message sequence id, when).
    pub read_receipts: BTreeMap<UserId, (u32, Instant)>,
    pub windows: BTreeMap<WindowKey, Windows>,
    /// Named counters (Sendbird's channel metacounters).
    pub metacounters: BTreeMap<Arc<str>, i64>,
    /// Retention, deletion and recovery, conversation state and their timers.
    pub life: Lifecycle,
}

impl Thread {
    pub fn new(id: ThreadId, topic: Arc<str>, created_by: UserId, now: Instant) -> Thread {
        Thread {
            id,
            topic,
            created_by,
            created_at: now,
            deleted_at: None,
            messages: Vec::new(),
            notices: Vec::new(),
            memberships: Vec::new(),
            current: BTreeMap::new(),
            read_receipts: BTreeMap::new(),
            windows: BTreeMap::new(),
            metacounters: BTreeMap::new(),
            life: Lifecycle::default(),
        }
    }

    pub fn participant_count(&self) -> u32 {
        self.current.len() as u32
    }

    pub fn is_participant(&self, user: UserId) -> bool {
        self.current.contains_key(&user)
    }

    /// All memberships of `user`, past and present.
    pub fn memberships_of(&self, user: UserId) -> impl Iterator<Item = &Membership> {
        self.memberships.iter().filter(move |m| m.user == user)
    }

    pub fn was_ever_participant(&self, user: UserId) -> bool {
        self.memberships_of(user).next().is_some()
    }

    /// Whether `user` may read message `seq`.
    pub fn can_read(&self, user: UserId, seq: u32) -> bool {
        let Some(message) = self.message(seq) else {
            return false;
        };
        self.memberships_of(user)
            .any(|m| m.reads(seq, message.created_at))
    }

    pub fn message(&self, seq: u32) -> Option<&Message> {
        seq.checked_sub(1)
            .and_then(|i| self.messages.get(i as usize))
    }

    pub fn last_sequence(&self) -> u32 {
        self.messages.len() as u32
    }

    /// Appends a message and returns its sequence id.
    pub fn push_message(&mut self, message: Message) -> u32 {
        self.messages.push(message);
        self.last_sequence()
    }

    /// Appends a notice and returns its index.
    pub fn push_notice(
        &mut self,
        at: Instant,
        kind: NoticeKind,
        actor: UserId,
        message: u32,
    ) -> u32 {
        self.notices.push(Notice {
            at,
            kind,
            actor,
            message,
        });
        self.notices.len() as u32 - 1
    }

    /// Starts a membership that receives notices from `from_notice` on.
    pub fn join(
        &mut self,
        user: UserId,
        display_name: Option<Arc<str>>,
        history_from: Instant,
        from_notice: u32,
    ) {
        self.memberships.push(Membership {
            user,
            display_name,
            history_from,
            from_notice,
            until: None,
        });
        self.current.insert(user, self.memberships.len() as u32 - 1);
    }

    /// Ends `user`'s current membership after notice `notice` and message `message`.
    pub fn leave(&mut self, user: UserId, notice: u32, message: u32) {
        if let Some(index) = self.current.remove(&user) {
            self.memberships[index as usize].until = Some(Until { notice, message });
        }
        self.read_receipts.remove(&user);
    }

    /// Current participants in the order they joined.
    pub fn current_memberships(&self) -> Vec<&Membership> {
        let mut indices: Vec<u32> = self.current.values().copied().collect();
        indices.sort_unstable();
        indices
            .into_iter()
            .map(|i| &self.memberships[i as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_intervals_bound_reads_and_notices() {
        let m = Membership {
            user: UserId(1),
            display_name: None,
            history_from: Instant(100),
            from_notice: 2,
            until: Some(Until {
                notice: 5,
                message: 7,
            }),
        };
        assert!(!m.reads(3, Instant(99)));
        assert!(m.reads(3, Instant(100)));
        assert!(m.reads(7, Instant(200)));
        assert!(!m.reads(8, Instant(200)));
        assert!(!m.receives(1));
        assert!(m.receives(2) && m.receives(5));
        assert!(!m.receives(6));
    }
}
