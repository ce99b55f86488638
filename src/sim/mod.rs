//! The shell: the clock, the queue of pending happenings, the seeded streams and
//! the trace around the pure core.
//!
//! The simulator jumps from one due instant to the next; it never ticks. Within
//! one instant the order is fixed: due timers, then reports, then commands, each
//! in the order they were scheduled (a sequence number breaks ties). Timers
//! (retention, purge, conversation states) live in the core's state, which
//! names its next due instant; the shell fires them as its clock reaches them,
//! before any queued happening of the same instant.

pub mod carrier;
pub mod client;
pub mod faults;
mod inspect;
mod queue;
pub mod rng;
pub mod trace;

use crate::core::{CarrierCall, ServiceCall};
use std::sync::Arc;

use serde::Serialize;

pub use client::Client;
pub use inspect::Inspect;
pub use rng::{Stream, Subsystem};
pub use trace::{RecordError, StepLine, StepResult, Trace};

use crate::core::{Caller, Command, Error, Event, Notification, Reply, State, TokenId, TokenView};
use crate::id::{ThreadId, UserId};
use crate::profile::Profile;
use crate::time::{Duration, Instant};

/// Builds a [`Simulator`].
#[derive(Clone, Debug)]
pub struct SimBuilder {
    seed: u64,
    profile: Profile,
    keep_trace: bool,
}

impl SimBuilder {
    /// The seed of every random stream.
    pub fn seed(mut self, seed: u64) -> SimBuilder {
        self.seed = seed;
        self
    }

    /// The platform (ACS by default).
    pub fn profile(mut self, profile: Profile) -> SimBuilder {
        self.profile = profile;
        self
    }

    /// Keep every trace line in memory (on by default); the digest is always on.
    pub fn keep_trace(mut self, keep: bool) -> SimBuilder {
        self.keep_trace = keep;
        self
    }

    /// Builds the simulator with the profile as given. A profile from
    /// `Profile::named` or `Profile::with_overrides` is valid; one edited by
    /// hand may not be: [`SimBuilder::try_build`] checks it first.
    pub fn build(self) -> Simulator {
        Simulator {
            state: State::new(self.profile),
            now: Instant::ZERO,
            seed: self.seed,
            queue: queue::Queue::default(),
            streams: rng::Streams::new(self.seed),
            trace: Trace::new(self.keep_trace),
            script: None,
            faults: None,
        }
    }
}

impl SimBuilder {
    /// Builds the simulator after checking the profile's consistency
    /// ([`Profile::validate`]); the error names the field at fault.
    pub fn try_build(self) -> Result<Simulator, String> {
        self.profile.validate()?;
        Ok(self.build())
    }
}

/// Something due at a virtual instant.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Happening {
    /// Boxed: scheduled commands are rare, receipts many, and the queue moves
    /// its elements on every push and pop.
    Command {
        caller: Caller,
        command: Box<Command>,
    },
    /// A carrier receipt (report class).
    Receipt(carrier::Due),
    /// A receipt a fault repeats or puts out of order: heard, with no
    /// receipt to follow (report class).
    Echo(carrier::Due),
}

impl Happening {
    /// Order within one instant: timers (0), reports (1), commands (2).
    fn class(&self) -> u8 {
        match self {
            Happening::Command { .. } => 2,
            Happening::Receipt(_) | Happening::Echo(_) => 1,
        }
    }
}

/// A deterministic simulator of one messaging platform.
#[derive(Clone, Debug)]
pub struct Simulator {
    state: State,
    now: Instant,
    seed: u64,
    queue: queue::Queue<Happening>,
    streams: rng::Streams,
    trace: Trace,
    /// Carrier receipts given as data, replacing the drawn ones (replay).
    script: Option<Box<carrier::Script>>,
    /// A fault plan's carrier faults, if any.
    faults: Option<Box<faults::CarrierFaults>>,
}

impl Simulator {
    /// A builder with seed 0, the `acs` profile and the trace kept.
    pub fn builder() -> SimBuilder {
        SimBuilder {
            seed: 0,
            profile: Profile::acs(),
            keep_trace: true,
        }
    }

    /// The virtual clock's reading.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The seed of every random stream.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The platform's state (the core).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The platform's profile.
    pub fn profile(&self) -> &Profile {
        self.state.profile()
    }

    /// The trace recorded so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// A read-only view of the world for assertions: it changes nothing and
    /// counts against no limit.
    pub fn inspect(&self) -> Inspect<'_> {
        Inspect::new(self)
    }

    /// Takes the trace lines kept so far (see [`Trace::take_lines`]).
    pub fn take_trace_lines(&mut self) -> imbl::Vector<String> {
        self.trace.take_lines()
    }

    /// The trace digest so far.
    pub fn digest(&self) -> String {
        self.trace.digest()
    }

    /// The random stream of `subsystem`.
    pub fn stream(&mut self, subsystem: Subsystem) -> &mut Stream {
        self.streams.get(subsystem)
    }

    /// An independent copy of the whole simulation, O(1) in the size of the
    /// state: both go on separately from here.
    pub fn fork(&self) -> Simulator {
        self.clone()
    }

    /// Declares an identity as part of the world's set-up, now: like the
    /// trusted service's creation (the same `user_created` event in the
    /// trace), but not a call, so no rate limit counts it. A scenario file's
    /// `users` are declared this way at time 0.
    pub fn declare_user(&mut self, id: &str, display_name: Option<&str>) -> Result<UserId, Error> {
        let (user, event) = self
            .state
            .declare_user(&Arc::from(id), &display_name.map(Arc::from))?;
        self.trace.record_event(self.now, &event);
        Ok(user)
    }

    /// Executes `command` as `caller` (a user, or None for the trusted service)
    /// now, and records what happened, or the refusal, in the trace.
    pub fn execute(
        &mut self,
        caller: impl Into<Caller>,
        command: &Command,
    ) -> Result<Reply, Error> {
        let caller = caller.into();
        self.apply(caller, command, |state, result, trace, at| {
            if let Err(error) = result {
                let rejected = Event::Rejected {
                    op: command.op(),
                    by: caller
                        .user
                        .and_then(|a| state.user(a))
                        .map(|u| u.id.clone()),
                    status: error.status(),
                    error: error.kind(),
                };
                trace.record_event(at, &rejected);
            }
        })
    }

    /// Executes `command` like [`Simulator::execute`], and answers a 429 by
    /// advancing the virtual clock by its retry-after and calling again, up to
    /// `retries` times: "as fast as the platform allows", for any caller (the
    /// trusted service's identity and SMS calls included).
    pub fn execute_retrying(
        &mut self,
        caller: impl Into<Caller>,
        command: &Command,
        retries: u32,
    ) -> Result<Reply, Error> {
        let caller = caller.into();
        let mut left = retries;
        loop {
            match self.execute(caller, command) {
                Err(error) if left > 0 => match error.retry_after_ms() {
                    Some(wait) => {
                        left -= 1;
                        self.advance(Duration::from_ms(wait));
                    }
                    None => return Err(error),
                },
                result => return result,
            }
        }
    }

    /// Executes `command` like [`Simulator::execute`], but records first the
    /// step line `describe` makes of the outcome (a scenario step), then the
    /// events; a refusal is described by that line alone.
    pub fn execute_step<'a>(
        &mut self,
        caller: impl Into<Caller>,
        command: &Command,
        describe: impl FnOnce(&Result<Reply, Error>) -> StepLine<'a>,
    ) -> Result<Reply, Error> {
        self.apply(caller.into(), command, |_, result, trace, at| {
            trace.record_step(at, &describe(result));
        })
    }

    /// Runs `command` on the core, lets `record` write the outcome's line
    /// (if any), then records the events, and returns the outcome.
    fn apply(
        &mut self,
        caller: Caller,
        command: &Command,
        record: impl FnOnce(&State, &Result<Reply, Error>, &mut Trace, Instant),
    ) -> Result<Reply, Error> {
        let (result, events, queued) = match self.state.execute(caller, command, self.now) {
            Ok(outcome) => (Ok(outcome.reply), outcome.events, outcome.queued),
            Err(error) => (Err(error), Vec::new(), Vec::new()),
        };
        record(&self.state, &result, &mut self.trace, self.now);
        for event in &events {
            self.trace.record_event(self.now, event);
        }
        // After the events, so that a fault's line follows the deliveries
        // it touches.
        self.hand_to_carrier(&queued);
        result
    }

    /// From now on, carrier receipts come from `script` instead of being
    /// drawn: the carrier's streams are not used again.
    pub fn script_carrier(&mut self, script: carrier::Script) {
        self.script = Some(Box::new(script));
    }

    /// Injects the carrier faults of `plan` from now on (each kind from its
    /// own stream; see [`faults`]).
    pub fn set_carrier_faults(&mut self, plan: faults::CarrierFaultPlan) {
        self.faults =
            (!plan.is_empty()).then(|| Box::new(faults::CarrierFaults::new(self.seed, plan)));
    }

    /// Draws the first receipt of each delivery handed to the carrier.
    fn hand_to_carrier(&mut self, queued: &[crate::core::Queued]) {
        if queued.is_empty() {
            return;
        }
        for q in queued {
            if let Some(script) = self.script.as_mut() {
                if let Some(due) = script.take(q.delivery, q.route) {
                    self.push(due.at, Happening::Receipt(due));
                }
                continue;
            }
            let rng = self.streams.get(Subsystem::carrier(q.route));
            let Some(carriers) = &self.state.profile().carriers else {
                continue;
            };
            if let Some(mut due) = carrier::first(carriers, rng, q.delivery, q.route, q.handed_at) {
                if let Some(faults) = self.faults.as_deref_mut() {
                    let channel = faults::channel_of(q.route);
                    let sender = if faults.needs_sender(channel, q.handed_at) {
                        sender_of(&self.state, q.delivery)
                    } else {
                        None
                    };
                    let mut lines = Vec::new();
                    let echo =
                        faults.handover(&mut due, q.handed_at, sender, carriers, rng, &mut lines);
                    for line in &lines {
                        self.trace.record_own(self.now, line);
                    }
                    if let Some(echo) = echo {
                        self.push(echo.at, Happening::Echo(echo));
                    }
                }
                self.push(due.at, Happening::Receipt(due));
            }
        }
    }

    /// Records a due carrier receipt and schedules the one that follows.
    fn receive(&mut self, mut due: carrier::Due) {
        let mut fate = faults::Fate::Heard;
        if let Some(faults) = self.faults.as_deref_mut() {
            let mut lines = Vec::new();
            fate = faults.receipt(&mut due, self.now, &mut lines);
            for line in &lines {
                self.trace.record_own(self.now, line);
            }
        }
        if fate != faults::Fate::Lost {
            self.hear(&due);
        }
        if let faults::Fate::Twice(at) = fate {
            self.push(at, Happening::Echo(due));
        }
        if let Some(script) = self.script.as_mut() {
            if let Some(next) = script.take(due.receipt.delivery, due.route) {
                self.push(next.at, Happening::Receipt(next));
            }
            return;
        }
        let carriers = self.state.profile().carriers.as_ref();
        if let Some(next) =
            carriers.and_then(|c| carrier::follow(c, &mut self.streams, &due, self.now))
        {
            self.push(next.at, Happening::Receipt(next));
        }
    }

    /// Applies a receipt to the state and traces what it changed.
    fn hear(&mut self, due: &carrier::Due) {
        if let Some((delivery, status, code)) = self.state.update_delivery(&due.receipt) {
            self.trace
                .record_delivery_update(self.now, delivery, status, code);
        }
    }

    /// A message from an SMS or WhatsApp user `from` to the proxy address `to`
    /// (the carrier's call): stored in the thread that binds the pair and fanned
    /// out; returns the message's sequence id there.
    pub fn inbound(
        &mut self,
        channel: crate::rules::Channel,
        from: &str,
        to: &str,
        body: &str,
        media: Vec<crate::rules::Media>,
    ) -> Result<u32, Error> {
        let command = Command::Carrier(CarrierCall::Inbound {
            channel,
            from: Arc::from(from),
            to: Arc::from(to),
            body: Arc::from(body),
            media,
        });
        match self.execute(None, &command)? {
            Reply::MessageSent { sequence } => Ok(sequence),
            other => unreachable!("inbound replies MessageSent, not {other:?}"),
        }
    }

    /// The deliveries to non-chat recipients matching `filter`, oldest first.
    pub fn outbox(&self, filter: &crate::core::OutboxFilter) -> Vec<crate::core::DeliveryView> {
        self.state.outbox(filter)
    }

    /// Records a line of the caller's own in the trace: `item` must
    /// serialize to a JSON object with at least one field; anything else is
    /// refused with the reason, and nothing is recorded.
    pub fn record<T: Serialize>(&mut self, item: &T) -> Result<(), RecordError> {
        self.trace.record(self.now, item)
    }

    /// Records a line the scenario runner makes (a JSON object by construction).
    pub(crate) fn record_own<T: Serialize>(&mut self, item: &T) {
        self.trace.record_own(self.now, item);
    }

    /// Records a scenario step's line (one that made no call) in the trace.
    pub fn record_step(&mut self, line: &StepLine<'_>) {
        self.trace.record_step(self.now, line);
    }

    /// Creates a chat identity with public id `id`.
    pub fn create_user(&mut self, id: &str) -> Result<UserId, Error> {
        let id: Arc<str> = Arc::from(id);
        self.execute(
            None,
            &Command::Service(ServiceCall::CreateUser {
                id: id.clone(),
                display_name: None,
            }),
        )?;
        Ok(self.state.user_id(&id).expect("just created"))
    }

    /// Deletes a chat identity: its calls are refused from now on.
    pub fn delete_user(&mut self, user: UserId) -> Result<(), Error> {
        let id = self.name_of(user);
        self.execute(
            None,
            &Command::Service(ServiceCall::DeleteUser { user: id }),
        )
        .map(drop)
    }

    /// The identity with public id `id`.
    pub fn user(&self, id: &str) -> Option<UserId> {
        self.state.user_id(id)
    }

    pub(crate) fn name_of(&self, user: UserId) -> Arc<str> {
        self.state
            .user(user)
            .map(|u| u.id.clone())
            .unwrap_or_else(|| Arc::from(""))
    }

    /// A handle that makes calls as `user`.
    pub fn client(&mut self, user: UserId) -> Client<'_> {
        Client::new(self, user)
    }

    /// The real-time notifications `user` has received so far.
    pub fn inbox(&self, user: UserId) -> Vec<Notification> {
        self.state.inbox(user)
    }

    /// Schedules `command` as `caller` at `at` (not before now).
    pub fn schedule(
        &mut self,
        at: Instant,
        caller: impl Into<Caller>,
        command: Command,
    ) -> Result<(), Error> {
        if at < self.now {
            return Err(Error::InvalidField {
                field: "at",
                reason: format!("{at} is before the clock ({})", self.now),
            });
        }
        let caller = caller.into();
        self.push(
            at,
            Happening::Command {
                caller,
                command: Box::new(command),
            },
        );
        Ok(())
    }

    fn push(&mut self, at: Instant, happening: Happening) {
        self.queue.push(at, happening.class(), happening);
    }

    /// Number of happenings waiting in the queue.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Moves the clock forward by `d`, running everything due on the way.
    pub fn advance(&mut self, d: Duration) {
        self.run_until(self.now.after(d));
    }

    /// Runs everything due up to and including `until`, then sets the clock
    /// there. An `until` before now only runs what is due now. The core's
    /// timers fire before queued happenings of the same instant.
    pub fn run_until(&mut self, until: Instant) {
        // The core's next timer, read again only after what can arm or
        // disarm one (a timer fired, a call): a receipt changes a delivery's
        // status and nothing else.
        let mut timer = self.state.next_due();
        loop {
            // The next queued happening, unless a timer is due first (or at
            // the same instant); then that timer, if it is due by `until`.
            let next = self
                .queue
                .pop_if(|q| q <= until && timer.is_none_or(|at| q < at));
            let Some((at, happening)) = next else {
                match timer {
                    Some(at) if at <= until => {
                        self.fire_timer(at);
                        timer = self.state.next_due();
                        continue;
                    }
                    _ => break,
                }
            };
            self.now = self.now.max(at);
            match happening {
                Happening::Command { caller, command } => {
                    // The outcome is in the trace; a scheduled call has no caller.
                    let _ = self.execute(caller, &command);
                    timer = self.state.next_due();
                }
                Happening::Receipt(due) => self.receive(due),
                Happening::Echo(due) => self.hear(&due),
            }
            debug_assert_eq!(timer, self.state.next_due(), "a receipt moved a timer");
        }
        self.now = self.now.max(until);
        self.queue.advance(self.now);
    }

    /// Fires the core's earliest timer, due at `at`, and traces what it did.
    fn fire_timer(&mut self, at: Instant) {
        self.now = self.now.max(at);
        let events = self.state.fire_next(self.now);
        for event in &events {
            self.trace.record_event(self.now, event);
        }
    }

    /// The instant of the next timer the core has pending (retention, purge,
    /// conversation states), if any.
    pub fn next_timer(&self) -> Option<Instant> {
        self.state.next_due()
    }

    /// The trusted service issues `user` a token with `scopes` (`"chat"`,
    /// `"chat.join"`, `"chat.join.limited"`, `"voip"`, `"voip.join"`) that
    /// lives `expires_in` (whole minutes; `None`: the profile's default).
    pub fn issue_token(
        &mut self,
        user: UserId,
        scopes: &[&str],
        expires_in: Option<Duration>,
    ) -> Result<TokenView, Error> {
        let command = Command::Service(ServiceCall::IssueToken {
            user: self.name_of(user),
            scopes: scopes.iter().map(|s| Arc::from(*s)).collect(),
            expires_in_ms: expires_in.map(Duration::ms),
        });
        match self.execute(None, &command)? {
            Reply::Token(view) => Ok(*view),
            other => unreachable!("issue_token answered {other:?}"),
        }
    }

    /// The trusted service revokes every token `user` holds.
    pub fn revoke_tokens(&mut self, user: UserId) -> Result<(), Error> {
        let user = self.name_of(user);
        self.execute(None, &Command::Service(ServiceCall::RevokeTokens { user }))
            .map(drop)
    }

    /// The operator restores a deleted thread within its recovery window.
    pub fn recover_thread(&mut self, thread: ThreadId) -> Result<(), Error> {
        self.execute(
            None,
            &Command::Service(ServiceCall::RecoverThread { thread }),
        )
        .map(drop)
    }

    /// A handle that makes calls with `token` (as its identity, checked for
    /// expiry, revocation and scope on every call).
    pub fn client_with_token(&mut self, token: TokenId) -> Client<'_> {
        Client::with_token(self, token)
    }
}

/// The number a delivery is sent from: its thread's proxy for the recipient.
fn sender_of(state: &State, delivery: crate::core::DeliveryRef) -> Option<&str> {
    let thread = state.thread(delivery.thread?)?;
    let d = thread.deliveries.get(delivery.slot as usize)?;
    thread.bindings.get(d.binding as usize).map(|b| &*b.proxy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ChatCall;

    fn send(thread: crate::id::ThreadId, text: &str) -> Command {
        Command::Chat(ChatCall::SendMessage {
            thread,
            content: text.into(),
            content_type: crate::core::ContentType::Text,
            metadata: Default::default(),
            media: vec![],
            template: None,
        })
    }

    #[test]
    fn scheduled_commands_run_in_time_then_schedule_order() {
        let mut sim = Simulator::builder().seed(1).build();
        let a = sim.create_user("a").unwrap();
        let t = sim.client(a).create_thread("t", &[]).unwrap();
        sim.schedule(Instant(2_000), Some(a), send(t, "late"))
            .unwrap();
        sim.schedule(Instant(1_000), Some(a), send(t, "first"))
            .unwrap();
        sim.schedule(Instant(1_000), Some(a), send(t, "second"))
            .unwrap();
        assert_eq!(sim.pending(), 3);
        sim.run_until(Instant(1_500));
        assert_eq!(sim.now(), Instant(1_500));
        assert_eq!(sim.pending(), 1);
        let th = sim.state().thread(t).unwrap();
        let bodies: Vec<&str> = th.messages.iter().skip(2).map(|m| &*m.content).collect();
        assert_eq!(bodies, ["first", "second"]);
        assert_eq!(th.messages[2].created_at, Instant(1_000));
        sim.advance(Duration::from_secs(1));
        assert_eq!(sim.state().thread(t).unwrap().messages.len(), 5);
        assert!(sim.schedule(Instant(10), Some(a), send(t, "past")).is_err());
        assert_eq!(sim.pending(), 0);
    }

    /// A scheduled call that arms a timer in the middle of a run has it
    /// fire in that run, on time: the loop reads the next timer again after
    /// a call.
    #[test]
    fn a_timer_armed_by_a_scheduled_call_fires_in_the_same_run() {
        let mut sim = Simulator::builder().seed(1).build();
        let a = sim.create_user("a").unwrap();
        let t = sim.client(a).create_thread("t", &[]).unwrap();
        assert_eq!(sim.next_timer(), None);
        let delete = Command::Chat(ChatCall::DeleteThread { thread: t });
        sim.schedule(Instant(1_000), Some(a), delete).unwrap();
        let purge = Instant(1_000).after(Duration::from_days(30));
        sim.run_until(purge.after(Duration::from_secs(1)));
        assert_eq!(sim.next_timer(), None);
        let last = sim.trace().lines().last().unwrap().to_string();
        let at = format!("{{\"at_ms\":{},\"kind\":\"thread_purged\"", purge.ms());
        assert!(last.starts_with(&at), "{last}");
    }

    #[test]
    fn refusals_are_traced_and_the_clock_never_goes_back() {
        let mut sim = Simulator::builder().seed(1).build();
        let a = sim.create_user("a").unwrap();
        let err = sim
            .client(a)
            .get_thread(crate::id::ThreadId(9))
            .unwrap_err();
        assert_eq!(err.status(), 404);
        let last = sim.trace().lines().last().unwrap().to_string();
        assert!(
            last.contains("\"kind\":\"rejected\"") && last.contains("\"status\":404"),
            "{last}"
        );
        sim.advance(Duration::from_secs(5));
        sim.run_until(Instant(1));
        assert_eq!(sim.now(), Instant(5_000));
    }

    #[test]
    fn a_fork_diverges_without_touching_the_original() {
        let mut sim = Simulator::builder().seed(3).build();
        let a = sim.create_user("a").unwrap();
        let t = sim.client(a).create_thread("t", &[]).unwrap();
        let before = sim.digest();
        let mut fork = sim.fork();
        fork.client(a).send_message(t, "only in the fork").unwrap();
        assert_eq!(sim.digest(), before);
        assert_eq!(sim.state().thread(t).unwrap().messages.len(), 2);
        assert_eq!(fork.state().thread(t).unwrap().messages.len(), 3);
        assert_ne!(fork.digest(), before);
    }
}
