//! A read-only view of the simulated world for assertions in tests: threads,
//! messages, participants, identities, inboxes, the outbox and how long a
//! call would wait for the rate limits. Nothing here changes the state, the
//! clock or the trace, and nothing counts against a limit: unlike a call
//! through a [`Client`](crate::Client), an inspection leaves the digest as it
//! was.

use crate::core::{
    Caller, DeliveryView, MessageView, Notification, OutboxFilter, ParticipantView, ThreadView,
};
use crate::id::{ThreadId, UserId};
use crate::profile::Operation;
use crate::sim::Simulator;
use crate::time::Duration;

/// What [`Simulator::inspect`] shows.
pub struct Inspect<'a> {
    sim: &'a Simulator,
}

impl<'a> Inspect<'a> {
    pub(crate) fn new(sim: &'a Simulator) -> Inspect<'a> {
        Inspect { sim }
    }

    /// Every thread not deleted, oldest first.
    pub fn threads(&self) -> Vec<ThreadView> {
        self.sim.state().thread_views()
    }

    /// One thread, if it exists and is not deleted.
    pub fn thread(&self, thread: ThreadId) -> Option<ThreadView> {
        let state = self.sim.state();
        state
            .thread(thread)
            .filter(|t| t.deleted_at.is_none())
            .map(|t| state.thread_view(t))
    }

    /// Every message of a thread, oldest first (deleted ones with their
    /// deleted stamp), whoever may read it.
    pub fn messages(&self, thread: ThreadId) -> Option<Vec<MessageView>> {
        self.sim.state().message_views(thread)
    }

    /// The current participants of a thread, in the order they joined.
    pub fn participants(&self, thread: ThreadId) -> Option<Vec<ParticipantView>> {
        self.sim.state().participant_views(thread)
    }

    /// The identity named `name`, if it was ever created.
    pub fn user(&self, name: &str) -> Option<UserId> {
        self.sim.state().user_id(name)
    }

    /// The real-time notifications `user` received, oldest first.
    pub fn inbox(&self, user: UserId) -> Vec<Notification> {
        self.sim.state().inbox(user)
    }

    /// The deliveries to SMS and WhatsApp recipients that match `filter`.
    pub fn outbox(&self, filter: &OutboxFilter) -> Vec<DeliveryView> {
        self.sim.state().outbox(filter)
    }

    /// How long `user` would wait now before `op` (on `thread`) passes every
    /// rate limit: zero when it would pass at once.
    pub fn wait_for_limits(
        &self,
        user: UserId,
        op: Operation,
        thread: Option<ThreadId>,
    ) -> Duration {
        let caller = Caller::from(user);
        Duration(
            self.sim
                .state()
                .wait_for_limits(caller, op, thread, self.sim.now()),
        )
    }
}
