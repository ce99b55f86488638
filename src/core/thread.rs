//! One thread's state: its message log, its notification log, its membership
//! intervals, read receipts and thread-scoped rate-limit windows.
//!
//! A message is stored once. A participant's view (what they may read, which
//! notifications reached them) is computed from the logs and their membership
//! intervals, never copied per recipient.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ConversationState, MessageKind, NoticeKind, Retention};
use crate::id::{ThreadId, UserId};
use crate::rules::{Body, Channel, Media, Status};
use crate::time::Instant;

use super::limit::ThreadWindows;
use super::log::Log;
use super::vecmap::VecMap;

/// A message in a thread's log. Its sequence id is its index + 1. The rarely
/// used parts live behind one box so the log stays compact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Text, HTML, or a system message.
    pub kind: MessageKind,
    /// The author, or for system messages the participant who caused them.
    pub sender: UserId,
    /// When it was sent.
    pub created_at: Instant,
    /// The body for text and html, the new topic for topic updates, empty for
    /// participant messages and after deletion. Its SMS encoding is counted
    /// once per body, however many messages carry it.
    pub content: Body,
    /// The rarely used parts: edits, deletion, metadata, media, addresses.
    pub extra: Option<Box<MessageExtra>>,
}

/// The rarely used parts of a [`Message`], boxed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MessageExtra {
    /// When it was last edited.
    pub edited_at: Option<Instant>,
    /// When it was deleted.
    pub deleted_at: Option<Instant>,
    /// The sender's key-value metadata.
    pub metadata: BTreeMap<String, String>,
    /// For participant added/removed messages: who.
    pub participants: Vec<UserId>,
    /// For messages from an SMS or WhatsApp participant: its address.
    pub from_address: Option<Arc<str>>,
    /// Attached media, stored once.
    pub media: Vec<Media>,
    /// The content as fanned out to SMS/WhatsApp participants, kept when an
    /// edit or deletion changes the message: a sent SMS does not change.
    pub sent: Option<Body>,
}

impl Message {
    /// The content its SMS/WhatsApp deliveries carried.
    pub fn sent_content(&self) -> &Body {
        self.extra
            .as_ref()
            .and_then(|e| e.sent.as_ref())
            .unwrap_or(&self.content)
    }

    /// Keeps the current content as what was fanned out, before a change.
    pub fn freeze_sent(&mut self) {
        if self.extra.as_ref().is_none_or(|e| e.sent.is_none()) {
            let content = self.content.clone();
            self.extra_mut().sent = Some(content);
        }
    }

    /// When it was last edited.
    pub fn edited_at(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.edited_at)
    }
    /// When it was deleted.
    pub fn deleted_at(&self) -> Option<Instant> {
        self.extra.as_ref().and_then(|e| e.deleted_at)
    }
    /// The rarely used parts, created on first write.
    pub fn extra_mut(&mut self) -> &mut MessageExtra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// One entry of a thread's notification log. It reaches every participant whose
/// membership interval covers it, except its actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    /// When it happened.
    pub at: Instant,
    /// What happened.
    pub kind: NoticeKind,
    /// Who caused it (it does not reach them).
    pub actor: UserId,
    /// The message it is about (sequence id), or 0.
    pub message: u32,
}

/// One stretch of time a user was a participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The participant.
    pub user: UserId,
    /// The display name given when it was added.
    pub display_name: Option<Arc<str>>,
    /// Messages created before this instant are hidden from this participant.
    pub history_from: Instant,
    /// First notice index this membership receives.
    pub from_notice: u32,
    /// Set on removal: the last notice index and last message sequence id the
    /// participant still receives and reads.
    pub until: Option<Until>,
}

/// Where a removed membership ends: the last notice and message it still gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Until {
    /// The last notice index it receives.
    pub notice: u32,
    /// The last message sequence id it reads.
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
    /// The thread's id.
    pub id: ThreadId,
    /// The topic (Sendbird: the channel name; Twilio: the friendly name).
    pub topic: Arc<str>,
    /// The creator.
    pub created_by: UserId,
    /// When it was created.
    pub created_at: Instant,
    /// When it was deleted; the thread stays until its purge.
    pub deleted_at: Option<Instant>,
    /// The message log, in sequence order; a message's sequence id is its index + 1.
    pub messages: Log<Message>,
    /// The notification log, in the order things happened.
    pub notices: Log<Notice>,
    /// Every stretch of time a user was a participant, in join order.
    pub memberships: Vec<Membership>,
    /// Current participants: user to index in `memberships` (read on
    /// every call into the thread: a sorted vector, a few cache lines).
    pub current: VecMap<UserId, u32>,
    /// The latest read receipt of each participant: (message sequence id, when).
    pub read_receipts: BTreeMap<UserId, (u32, Instant)>,
    /// Thread-scoped rate-limit windows, one entry per subject (the thread,
    /// each sender in it); they die with the thread.
    pub windows: ThreadWindows,
    /// Named counters (Sendbird's channel metacounters).
    pub metacounters: BTreeMap<Arc<str>, i64>,
    /// Retention, deletion and recovery, conversation state and their timers.
    pub life: Lifecycle,
    /// SMS and WhatsApp participants, past and present, in join order.
    pub bindings: Vec<Binding>,
    /// Deliveries to non-chat participants, in creation (id) order.
    pub deliveries: Log<Delivery>,
    /// The messages those deliveries carry, one entry per fanned-out message.
    pub fanouts: Log<Fanout>,
}

/// An SMS or WhatsApp participant: its address and the proxy address it talks
/// through (both bare E.164).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// SMS or WhatsApp.
    pub channel: Channel,
    /// The participant's address (bare E.164).
    pub address: Arc<str>,
    /// The platform's address it talks through (empty for group MMS).
    pub proxy: Arc<str>,
    /// When it joined.
    pub joined_at: Instant,
    /// When it left; `None` while current.
    pub removed_at: Option<Instant>,
    /// The participant's last message to the thread (WhatsApp's window).
    pub last_inbound: Option<Instant>,
}

impl Binding {
    /// Whether it is still a participant.
    pub fn is_current(&self) -> bool {
        self.removed_at.is_none()
    }

    /// A group MMS participant: an SMS address without a proxy address.
    pub fn is_group(&self) -> bool {
        self.proxy.is_empty()
    }

    /// The address as Twilio names it (`whatsapp:` prefix for WhatsApp).
    pub fn display(&self) -> Arc<str> {
        match self.channel {
            Channel::Sms => self.address.clone(),
            Channel::Whatsapp => Arc::from(format!("whatsapp:{}", self.address).as_str()),
        }
    }
}

/// One message's delivery to one non-chat participant: 8 bytes, because it is
/// the one thing stored per recipient. Body, media, route and segments follow
/// from the message and the binding through the rule table; its id and message
/// from its [`Fanout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The recipient: an index into the thread's bindings.
    pub binding: u32,
    /// The platform's error or detail code (0: none).
    pub code: u16,
    /// Where the carrier has got with it.
    pub status: Status,
}

/// One message's deliveries: `deliveries[start..]` up to the next fan-out's
/// start, with the consecutive ids `first_id..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fanout {
    /// The first delivery's global id (the outbox's order).
    pub first_id: u64,
    /// The message's sequence id.
    pub message: u32,
    /// The first delivery's index in the thread's deliveries.
    pub start: u32,
}

impl Thread {
    /// An empty thread created by `created_by` at `now`.
    pub fn new(id: ThreadId, topic: Arc<str>, created_by: UserId, now: Instant) -> Thread {
        Thread {
            id,
            topic,
            created_by,
            created_at: now,
            deleted_at: None,
            messages: Log::new(),
            notices: Log::new(),
            memberships: Vec::new(),
            current: VecMap::new(),
            read_receipts: BTreeMap::new(),
            windows: ThreadWindows::default(),
            metacounters: BTreeMap::new(),
            life: Lifecycle::default(),
            bindings: Vec::new(),
            deliveries: Log::new(),
            fanouts: Log::new(),
        }
    }

    /// Whether the thread's bindings count as taken (uniqueness, limits): a
    /// thread that is not deleted (nor, with conversation states, closed).
    pub fn holds_bindings(&self) -> bool {
        self.deleted_at.is_none() && self.life.holds_bindings()
    }

    /// Whether message `seq` was fanned out to SMS/WhatsApp participants
    /// (fan-outs are kept in message order).
    pub fn fanned_out(&self, seq: u32) -> bool {
        self.fanout_index(seq).is_some()
    }

    /// The index in `fanouts` of message `seq`'s fan-out.
    fn fanout_index(&self, seq: u32) -> Option<usize> {
        let i = self.fanouts.partition_point(|f| f.message < seq);
        self.fanouts.get(i).filter(|f| f.message == seq).map(|_| i)
    }

    /// Message `seq`, about to be edited or deleted: if it was fanned out,
    /// what was sent is kept first (the outbox shows what left).
    pub fn message_to_change(&mut self, seq: u32) -> &mut Message {
        let fanned_out = self.fanned_out(seq);
        let m = &mut self.messages[seq as usize - 1];
        if fanned_out {
            m.freeze_sent();
        }
        m
    }

    /// The deliveries of message `seq`, if it was fanned out.
    pub fn deliveries_of(&self, seq: u32) -> impl Iterator<Item = &Delivery> {
        let (start, end) = match self.fanout_index(seq) {
            Some(i) => self.fanout_span(i),
            None => (0, 0),
        };
        self.deliveries.range(start, end)
    }

    /// Where fan-out number `i`'s deliveries lie in `deliveries`.
    fn fanout_span(&self, i: usize) -> (usize, usize) {
        let start = self.fanouts.get(i).map_or(0, |f| f.start as usize);
        let end = self
            .fanouts
            .get(i + 1)
            .map_or(self.deliveries.len(), |n| n.start as usize);
        (start.min(end), end)
    }

    /// Current SMS and WhatsApp participants.
    pub fn non_chat_count(&self) -> u32 {
        self.bindings.iter().filter(|b| b.is_current()).count() as u32
    }

    /// Whether a current participant is a group MMS participant.
    pub fn is_group_mms(&self) -> bool {
        self.bindings.iter().any(|b| b.is_current() && b.is_group())
    }

    /// All current participants, chat and non-chat.
    pub fn member_count(&self) -> u32 {
        self.participant_count() + self.non_chat_count()
    }

    /// The current binding of `address` on `channel`, by index.
    pub fn binding_of(&self, channel: Channel, address: &str) -> Option<usize> {
        self.bindings
            .iter()
            .position(|b| b.is_current() && b.channel == channel && &*b.address == address)
    }

    /// The fan-out that holds delivery number `slot`, and that delivery's id.
    pub fn fanout_of(&self, slot: usize) -> Option<(&Fanout, u64)> {
        if slot >= self.deliveries.len() {
            return None;
        }
        // Receipts come soon after their send: the last fan-out, mostly.
        let f = match self.fanouts.last() {
            Some(last) if last.start as usize <= slot => last,
            _ => {
                let i = self.fanouts.partition_point(|f| f.start as usize <= slot);
                self.fanouts.get(i.checked_sub(1)?)?
            }
        };
        Some((f, f.first_id + (slot - f.start as usize) as u64))
    }

    /// Every delivery with its id and message, in creation order.
    pub fn deliveries_with_ids(&self) -> impl Iterator<Item = (u64, u32, &Delivery)> {
        self.fanouts.iter().enumerate().flat_map(move |(i, f)| {
            let (start, end) = self.fanout_span(i);
            self.deliveries
                .range(start, end)
                .enumerate()
                .map(move |(k, d)| (f.first_id + k as u64, f.message, d))
        })
    }

    /// How many chat participants it has now.
    pub fn participant_count(&self) -> u32 {
        self.current.len() as u32
    }

    /// Whether `user` is a chat participant now.
    pub fn is_participant(&self, user: UserId) -> bool {
        self.current.contains_key(&user)
    }

    /// All memberships of `user`, past and present.
    pub fn memberships_of(&self, user: UserId) -> impl Iterator<Item = &Membership> {
        self.memberships.iter().filter(move |m| m.user == user)
    }

    /// Whether `user` was ever a chat participant.
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

    /// Message `seq` (counted from 1), if it exists.
    pub fn message(&self, seq: u32) -> Option<&Message> {
        seq.checked_sub(1)
            .and_then(|i| self.messages.get(i as usize))
    }

    /// The sequence id of the last message (0 when there is none).
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
        self.join_all([(user, display_name, history_from)], from_notice);
    }

    /// Starts a membership for each (user, display name, history from), in
    /// that order, all receiving notices from `from_notice` on: the current
    /// participants are sorted once for the batch, so a large one costs
    /// O(n log n) whatever the order of its users.
    pub fn join_all(
        &mut self,
        joining: impl IntoIterator<Item = (UserId, Option<Arc<str>>, Instant)>,
        from_notice: u32,
    ) {
        let first = self.memberships.len();
        self.memberships.extend(
            joining
                .into_iter()
                .map(|(user, display_name, history_from)| Membership {
                    user,
                    display_name,
                    history_from,
                    from_notice,
                    until: None,
                }),
        );
        let joined = self.memberships[first..].iter().zip(first as u32..);
        self.current
            .extend(joined.map(|(m, index)| (m.user, index)));
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

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// The retention policy deletes the thread.
    RetentionDeletion,
    /// The recovery window of a deleted thread ends: its data is dropped.
    Purge,
    /// A Twilio conversation becomes inactive.
    Inactive,
    /// A Twilio conversation closes.
    Closed,
}

/// A pending timer: when, what, on which thread.
pub type Timer = (Instant, TimerKind, ThreadId);

/// One thread's lifecycle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// The retention policy.
    pub retention: Retention,
    /// The armed retention deletion.
    pub deletion_due: Option<Instant>,
    /// For a deleted thread: the end of its recovery window.
    pub purge_due: Option<Instant>,
    /// The thread's data is gone for good.
    pub purged: bool,
    /// The Twilio conversation state.
    pub state: ConversationState,
    /// Twilio's `timers.inactive`: time from the last activity to `inactive`, in milliseconds.
    pub inactive_after_ms: Option<u64>,
    /// Twilio's `timers.closed`: time from the last activity to `closed`, in milliseconds.
    pub closed_after_ms: Option<u64>,
    /// The armed inactive timer.
    pub inactive_due: Option<Instant>,
    /// The armed closed timer.
    pub closed_due: Option<Instant>,
}

impl Lifecycle {
    pub(super) fn slot(&mut self, kind: TimerKind) -> &mut Option<Instant> {
        match kind {
            TimerKind::RetentionDeletion => &mut self.deletion_due,
            TimerKind::Purge => &mut self.purge_due,
            TimerKind::Inactive => &mut self.inactive_due,
            TimerKind::Closed => &mut self.closed_due,
        }
    }

    /// The timers this thread has armed.
    pub fn armed(&self) -> impl Iterator<Item = (Instant, TimerKind)> {
        [
            (self.deletion_due, TimerKind::RetentionDeletion),
            (self.purge_due, TimerKind::Purge),
            (self.inactive_due, TimerKind::Inactive),
            (self.closed_due, TimerKind::Closed),
        ]
        .into_iter()
        .filter_map(|(at, kind)| at.map(|at| (at, kind)))
    }

    /// Whether a new message changes this lifecycle: it wakes an inactive
    /// conversation or restarts state timers (only Twilio conversations
    /// with timers or asleep react).
    pub fn reacts_to_message(&self) -> bool {
        self.state != ConversationState::Active
            || self.inactive_after_ms.is_some()
            || self.closed_after_ms.is_some()
    }

    /// Whether the conversation holds its SMS/WhatsApp bindings: a closed
    /// conversation frees them (the Twilio Conversations API specification).
    pub fn holds_bindings(&self) -> bool {
        self.state != ConversationState::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A delivery is the one record stored per non-chat recipient: keep it small.
    #[test]
    fn a_delivery_is_8_bytes() {
        assert_eq!(std::mem::size_of::<Delivery>(), 8);
    }

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
