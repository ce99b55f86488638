//! Running a parsed scenario: each typed step becomes a call on the simulator
//! (or a query of it) at its instant, its outcome a trace line, its
//! expectation a check. Refs are resolved here, as a ref names something only
//! once the step that defines it has run. A workload's calls come already
//! typed ([`Generated`]: no name to resolve, no expectation) and take the
//! same path as a step's call from there: storms, the call and its line, the
//! oracles.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::faults::{FaultPlan, Storms};
use super::oracle::{OracleFailure, Oracles};
use super::step::{
    Continuation, Expect, InThread, Op, OutboxQuery, PageSpec, Participant, RetentionField,
    Scenario, Step, ThreadSettings, UserDecl,
};
use crate::core::{
    BindingSpec, Caller, Command, Error, OutboxFilter, ParticipantSpec, Reply, Retention,
    ThreadOptions, TokenId, TokenProblem,
};
use crate::core::{CarrierCall, ChatCall, ServiceCall};
use crate::id::{MessageId, ThreadId, UserId, parse_message_id};
use crate::profile::{ErrorStyle, Profile};
use crate::rules::Channel;
use crate::sim::{Simulator, StepLine, StepResult};
use crate::time::{Duration, Instant};
use crate::wire;

/// What a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// The trace as JSON Lines, the summary line last.
    pub lines: Vec<String>,
    /// One message per failure: the failed expectations first (the first
    /// `expectation_failures`), then the oracles' (as `oracle_failures` and
    /// a count of those not listed).
    pub failures: Vec<String>,
    /// How many of `failures` are failed expectations (the summary line's
    /// `failed`).
    pub expectation_failures: usize,
    /// The trace's digest, as the summary line gives it.
    pub digest: String,
    /// Steps refused that expected nothing (failures too when strict).
    pub unexpected_refusals: u32,
    /// What the oracles found (each is also one of `failures`); empty when
    /// they did not run.
    pub oracle_failures: Vec<OracleFailure>,
}

impl RunReport {
    /// The trace as one text: each line and a newline.
    pub fn jsonl(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// The compact human rendering, one line per trace line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&crate::sim::trace::render_line(line));
            out.push('\n');
        }
        out
    }
}

/// What a ref names.
#[derive(Clone, Debug)]
enum Named {
    Thread(ThreadId),
    Message(ThreadId, u32),
    Token(TokenId),
    /// An SMS or WhatsApp participant: its channel and address.
    Binding(Channel, String),
    /// A page of a listing: its continuation (none on the last page).
    Listing(Option<String>),
    /// Defined by a step that failed: nothing to point at.
    Nothing,
}

#[derive(Serialize)]
struct Summary<'a> {
    at_ms: u64,
    kind: &'static str,
    name: Option<&'a str>,
    seed: u64,
    steps: usize,
    failed: usize,
    lines: u64,
    digest: String,
}

/// The outcome of a step as expectations see it.
struct Seen {
    status: u16,
    result: Value,
    /// The wire body: the reply's JSON, or the error in the platform's shape.
    body: Value,
    error: Option<Error>,
    count: Option<u64>,
}

/// How a scenario runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// A step refused without an `expect` is a failed expectation.
    pub strict: bool,
    /// Keep no trace lines: only the digest and the line count (the
    /// benchmark's mode). `emit` then sees the summary line alone, and no
    /// oracle runs (they read the lines).
    pub digest_only: bool,
    /// Run the oracles ([`super::oracle`]) even without a workload (a run
    /// with a workload always runs them, unless `digest_only`).
    pub oracles: bool,
}

/// Runs `scenario` to the end, keeping its trace in the report.
pub fn run(scenario: &Scenario) -> RunReport {
    let mut lines = Vec::new();
    let mut report = run_with(scenario, RunOptions::default(), |line| {
        lines.push(line.to_string())
    });
    report.lines = lines;
    report
}

/// Runs `scenario` to the end, handing each trace line to `emit` as soon as
/// its step is done (the summary line last), so that memory does not grow
/// with the trace. The report's `lines` are empty.
pub fn run_with(scenario: &Scenario, options: RunOptions, emit: impl FnMut(&str)) -> RunReport {
    run_scripted(scenario, options, None, emit)
}

/// `run_with`, with the carrier's receipts taken from `script` instead of
/// drawn from the seed when one is given (a replay).
pub fn run_scripted(
    scenario: &Scenario,
    options: RunOptions,
    script: Option<crate::sim::carrier::Script>,
    mut emit: impl FnMut(&str),
) -> RunReport {
    let mut run = Run::new(scenario, options);
    if let Some(script) = script {
        run.session.runner.sim.script_carrier(script);
    }
    run.finish(&mut emit)
}

/// `run_with`, writing the inputs of a workload's run as it goes: before
/// each step, an `input` line (`{"at_ms", "kind": "input"}` with `file_step`,
/// the index of a step of the file, or `step`, a generated step as the
/// scenario format writes it), so that a replay needs no seed. A file without
/// a workload writes none: its steps are its inputs.
pub fn run_recording_inputs(
    scenario: &Scenario,
    options: RunOptions,
    mut emit: impl FnMut(&str),
) -> RunReport {
    let mut run = Run::new(scenario, options);
    // A workload's generator writes the input lines (its own steps', and
    // those of the file's steps between them).
    if let Some(generator) = run.generator.as_mut() {
        generator.record = true;
    }
    run.finish(&mut emit)
}

/// A scenario run that can be stopped part-way: its steps and its
/// workload's generated calls up to an instant, then on, or forked by
/// cloning (the benchmark forks at the end of the horizon).
#[derive(Clone, Debug)]
pub struct Run<'s> {
    scenario: &'s Scenario,
    session: Session,
    generator: Option<super::workload::Generator>,
    /// The file's next step to run.
    next_step: usize,
}

impl<'s> Run<'s> {
    /// A run of `scenario` that has done nothing yet (the file's users are
    /// declared).
    pub fn new(scenario: &'s Scenario, options: RunOptions) -> Run<'s> {
        // `parse` guarantees a seed; a hand-built scenario without one runs seed 0.
        let seed = scenario.seed.unwrap_or_default();
        let mut users = scenario.users.clone();
        if let Some(workload) = &scenario.workload {
            users.extend(workload.user_decls());
        }
        let mut session =
            Session::with_trace(seed, scenario.profile.clone(), &users, !options.digest_only);
        session.runner.strict = options.strict;
        if !options.digest_only && (options.oracles || scenario.workload.is_some()) {
            session.runner.oracles = Some(Oracles::new(&scenario.profile));
        }
        let disconnects = scenario
            .faults
            .as_ref()
            .and_then(|plan| session.inject(plan).disconnects);
        // A workload's calls run between the steps: those due before a step's
        // instant first (at one instant, the step first).
        let generator = scenario
            .workload
            .as_ref()
            .map(|w| super::workload::Generator::new(w, seed, scenario.steps.len(), disconnects));
        Run {
            scenario,
            session,
            generator,
            next_step: 0,
        }
    }

    /// Runs the file's steps and the workload's calls due before `until`
    /// (`None`: every step, and the workload up to its horizon), handing
    /// each trace line to `emit`. A workload's calls due before a step's
    /// instant run first (at one instant, the step first).
    pub fn run_until(&mut self, until: Option<Instant>, emit: &mut impl FnMut(&str)) {
        let steps = &self.scenario.steps;
        while let Some(step) = steps.get(self.next_step) {
            if until.is_some_and(|u| step.at >= u) {
                break;
            }
            if let Some(generator) = self.generator.as_mut() {
                generator.run(&mut self.session, Some(step.at), emit);
                if generator.record {
                    let at = step.at.ms();
                    let index = step.index;
                    emit(&format!(
                        "{{\"at_ms\":{at},\"kind\":\"input\",\"file_step\":{index}}}"
                    ));
                }
            }
            self.session.step(step);
            self.next_step += 1;
            self.session.drain(emit);
        }
        if let Some(generator) = self.generator.as_mut() {
            generator.run(&mut self.session, until, emit);
        }
        self.session.drain(emit);
    }

    /// The session the run drives.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Ends the run (call once): every remaining step, the workload to its
    /// horizon and the clock there, the oracles' last checks, then the
    /// summary line.
    pub fn finish(&mut self, emit: &mut impl FnMut(&str)) -> RunReport {
        self.run_until(None, emit);
        let mut steps = self.scenario.steps.len();
        if let Some(generator) = self.generator.as_mut() {
            generator.finish(&mut self.session, emit);
            steps = generator.next_index();
        }
        self.session.drain(emit);
        // The summary counts the failed expectations (its `failed`); the
        // oracles' failures follow them in the report.
        emit(&self.session.summary(self.scenario.name.as_deref(), steps));
        let runner = &mut self.session.runner;
        let mut failures = runner.failures.clone();
        let expectation_failures = failures.len();
        let oracle_failures = match runner.oracles.as_mut() {
            Some(oracles) => {
                let now = runner.sim.now();
                let found = oracles.finish(now, Some(&runner.sim));
                let more = oracles.failed() - found.len() as u64;
                failures.extend(found.iter().map(ToString::to_string));
                if more > 0 {
                    failures.push(format!("{more} more oracle failure(s) not listed"));
                }
                found
            }
            None => Vec::new(),
        };
        RunReport {
            lines: Vec::new(),
            digest: runner.sim.digest(),
            unexpected_refusals: runner.unexpected_refusals,
            failures,
            expectation_failures,
            oracle_failures,
        }
    }
}

/// What one step did: a call's reply or refusal, a query's items, or a clock
/// move.
#[derive(Clone, Debug)]
pub enum StepOutcome {
    /// A call that succeeded, with its success status.
    Reply {
        /// The HTTP status of success (200, 201, 202, 204).
        status: u16,
        /// What the call returned.
        reply: Reply,
    },
    /// A query of the simulator (outbox, inbox): its items.
    Items(Value),
    /// A call or query that was refused, or a step that could not be made.
    Refused(Error),
    /// An `advance` step: the clock moved.
    Advanced,
}

/// A scenario run one step at a time, on one simulator: [`run`] drives one
/// over a file's steps; the server mode drives one over the requests it
/// records, so that its trace is the trace `run` prints for the recording.
#[derive(Clone, Debug)]
pub struct Session {
    runner: Runner,
    seed: u64,
}

impl Session {
    /// A fresh world with `seed` and `profile`, and the `users` a scenario
    /// declares created at time 0.
    pub fn new(seed: u64, profile: Profile, users: &[UserDecl]) -> Session {
        Session::with_trace(seed, profile, users, true)
    }

    /// The same, keeping the trace's lines or (`keep_lines` false) only its
    /// digest and count.
    pub fn with_trace(
        seed: u64,
        profile: Profile,
        users: &[UserDecl],
        keep_lines: bool,
    ) -> Session {
        let mut sim = Simulator::builder()
            .seed(seed)
            .profile(profile)
            .keep_trace(keep_lines)
            .build();
        for user in users {
            // The file's own set-up: no rate limit counts it. Declared ids are
            // distinct and checked against the profile at parse time.
            let _ = sim.declare_user(&user.id, user.display_name.as_deref());
        }
        Session {
            runner: Runner {
                sim,
                refs: BTreeMap::new(),
                failures: Vec::new(),
                unexpected_refusals: 0,
                strict: false,
                oracles: None,
                storms: None,
            },
            seed,
        }
    }

    /// Runs `step` at its instant (everything due before it first), records
    /// its outcome in the trace and checks its expectation.
    pub fn step(&mut self, step: &Step) -> StepOutcome {
        self.runner.step(step)
    }

    /// Runs a workload's typed call at its instant and records its outcome
    /// in the trace, as [`Session::step`] runs the step it stands for.
    pub(super) fn generated(&mut self, call: &Generated<'_>) -> StepOutcome {
        self.runner.generated(call)
    }

    /// The call of `participant` leaving `thread`, as a
    /// `remove_participant` step names it (a ref or address of an SMS or
    /// WhatsApp participant, else a chat identity).
    pub(super) fn leave(&self, thread: ThreadId, participant: &str) -> ChatCall {
        self.runner.leave(thread, participant)
    }

    /// The address an address field names: a participant's ref or the
    /// address itself.
    pub(super) fn address(&self, text: &str) -> Arc<str> {
        Arc::from(self.runner.address(text))
    }

    /// Makes a step refused without an `expect` a failed expectation.
    pub fn set_strict(&mut self, strict: bool) {
        self.runner.strict = strict;
    }

    /// From now on, carrier receipts come from `script` instead of being
    /// drawn from the seed (a replay).
    pub fn script_carrier(&mut self, script: crate::sim::carrier::Script) {
        self.runner.sim.script_carrier(script);
    }

    /// Injects the fault plan `plan` (as the swarm chooses, with `swarm`)
    /// from now on; the swarm's choice is traced now. Returns the plan as
    /// chosen (its `disconnects` are the workload's to run).
    pub fn inject(&mut self, plan: &FaultPlan) -> FaultPlan {
        let (plan, lines) = plan.resolve(self.seed);
        for line in &lines {
            self.runner.sim.record_own(line);
        }
        self.runner.sim.set_carrier_faults(plan.carrier.clone());
        self.runner.storms = Storms::new(self.seed, plan.storms.clone());
        plan
    }

    /// Records a line of the caller's own in the trace at `at` (running
    /// what is due before it first).
    pub(super) fn record<T: Serialize>(&mut self, at: crate::time::Instant, item: &T) {
        self.runner.sim.run_until(at);
        self.runner.sim.record_own(item);
    }

    /// The simulator the steps run on.
    pub fn simulator(&self) -> &Simulator {
        &self.runner.sim
    }

    /// The failed expectations so far, one message each.
    pub fn failures(&self) -> &[String] {
        &self.runner.failures
    }

    /// Takes the trace lines kept since the last take, so that a caller that
    /// streams them keeps memory flat (`lines` then sees only later ones).
    pub fn take_lines(&mut self) -> imbl::Vector<String> {
        let lines = self.runner.sim.take_trace_lines();
        if let Some(oracles) = self.runner.oracles.as_mut() {
            for line in &lines {
                oracles.line(line);
            }
        }
        lines
    }

    /// Hands the lines kept since the last take to `emit` (as
    /// [`Session::take_lines`] takes them); nothing to do when none is kept,
    /// as in a digest-only run, which so skips the taking after every call.
    pub(super) fn drain(&mut self, emit: &mut impl FnMut(&str)) {
        if self.runner.sim.trace().lines().next().is_none() {
            return;
        }
        for line in self.take_lines() {
            emit(&line);
        }
    }

    /// The trace kept so far as JSON Lines, then the summary line `run`
    /// prints for a scenario named `name` of `steps` steps.
    pub fn lines(&self, name: Option<&str>, steps: usize) -> Vec<String> {
        let sim = &self.runner.sim;
        let mut lines: Vec<String> = sim.trace().lines().map(str::to_string).collect();
        lines.push(self.summary(name, steps));
        lines
    }

    /// The summary line of a scenario named `name` of `steps` steps.
    pub fn summary(&self, name: Option<&str>, steps: usize) -> String {
        let sim = &self.runner.sim;
        let summary = Summary {
            at_ms: sim.now().ms(),
            kind: "summary",
            name,
            seed: self.seed,
            steps,
            failed: self.runner.failures.len(),
            lines: sim.trace().len(),
            digest: sim.digest(),
        };
        serde_json::to_string(&summary).expect("summary serializes")
    }
}

#[derive(Clone, Debug)]
struct Runner {
    sim: Simulator,
    refs: BTreeMap<String, Named>,
    failures: Vec<String>,
    /// Refused steps that expected nothing.
    unexpected_refusals: u32,
    /// Such a step is a failure.
    strict: bool,
    /// The oracles, when they run: they see every call, and every line
    /// the session takes.
    oracles: Option<Oracles>,
    /// A fault plan's throttling storms, if any.
    storms: Option<Storms>,
}

/// What a step does once its fields are resolved.
enum Action<'a> {
    /// A call on the platform.
    Call(Command),
    /// A query of the simulator's outbox.
    Outbox(&'a OutboxQuery),
    /// A query of one identity's notifications.
    Inbox(&'a str),
    /// A clock move (done before every step).
    Advance,
    /// A webhook call and its answer, recorded in the trace: the call as
    /// JSON and the receiver's status.
    Webhook(Value, u16),
}

/// What a step's line names: the step, its op and its actor; and whether
/// it presents a token (checked first when it is refused).
#[derive(Clone, Copy)]
struct Head<'a> {
    index: usize,
    op: &'static str,
    actor: Option<&'a str>,
    with_token: bool,
}

impl<'a> Head<'a> {
    fn of(step: &'a Step) -> Head<'a> {
        Head {
            index: step.index,
            op: step.op_name,
            actor: step.actor.as_deref(),
            with_token: step.token.is_some(),
        }
    }
}

/// A call a workload generated, already typed: the generator keeps the ids
/// of what it made, so the runner resolves no name and parses no id for it
/// (the `--inputs` line, which names them, is the generator's to write).
pub(super) struct Generated<'a> {
    /// The step's index.
    pub index: usize,
    /// When the call is made.
    pub at: Instant,
    /// The acting identity's public id, as the step line names it.
    pub actor: Option<&'a str>,
    /// The identity `actor` names, when the generator has it; else it is
    /// looked up at the call's instant, as a step's actor is.
    pub user: Option<UserId>,
    /// The op's name as files spell it.
    pub op_name: &'static str,
    /// The call.
    pub command: &'a Command,
}

impl Runner {
    fn step(&mut self, step: &Step) -> StepOutcome {
        self.sim.run_until(step.at);
        let actor = step.actor.as_deref().and_then(|a| self.sim.user(a));
        let token = match step.token.as_deref().map(|r| self.refs.get(r)) {
            // A token presented by an unknown identity is nobody's to use.
            Some(_) if step.actor.is_some() && actor.is_none() => Err(Error::Unauthenticated),
            None => Ok(None),
            Some(Some(Named::Token(id))) => Ok(Some(*id)),
            Some(_) => Err(Error::TokenRejected {
                problem: TokenProblem::Unknown,
            }),
        };
        let caller = Caller {
            user: actor,
            connection: 0,
            token: token.clone().unwrap_or_default(),
        };
        let head = Head::of(step);
        let json = step.expect.wants_json();
        let style = self.sim.profile().error_style;
        let (seen, outcome) = match token.and_then(|_| self.action(&step.op)) {
            Ok(Action::Advance) => {
                let outcome = StepOutcome::Advanced;
                (seen(&outcome, style, json), outcome)
            }
            Ok(Action::Webhook(result, status)) => {
                self.sim.record_step(&StepLine {
                    step: step.index,
                    op: step.op_name,
                    actor: step.actor.as_deref(),
                    status,
                    result: Some(StepResult::Json(result.clone())),
                    error: None,
                    body: None,
                });
                let seen = Seen {
                    status,
                    result: result.clone(),
                    body: result,
                    error: None,
                    count: None,
                };
                (seen, StepOutcome::Advanced)
            }
            Ok(Action::Call(command)) => {
                let outcome = self.call(head, caller, &command);
                if let StepOutcome::Reply { reply, .. } = &outcome {
                    self.remember(step, reply);
                }
                (seen(&outcome, style, json), outcome)
            }
            Ok(Action::Outbox(query)) => {
                let outcome = self.outbox_filter(query).map(|filter| {
                    serde_json::to_value(self.sim.outbox(&filter)).expect("deliveries serialize")
                });
                let outcome = self.query(head, outcome);
                (seen(&outcome, style, json), outcome)
            }
            Ok(Action::Inbox(user)) => {
                let outcome = match self.sim.user(user) {
                    Some(id) => {
                        let inbox = self.sim.inbox(id);
                        Ok(serde_json::to_value(&inbox).expect("notifications serialize"))
                    }
                    None => Err(Error::UserNotFound {
                        user: user.to_string(),
                    }),
                };
                let outcome = self.query(head, outcome);
                (seen(&outcome, style, json), outcome)
            }
            Err(error) => {
                let outcome = self.refuse(head, caller, error);
                (seen(&outcome, style, json), outcome)
            }
        };
        if let Some(name) = &step.reference
            && seen.error.is_some()
        {
            self.refs.insert(name.clone(), Named::Nothing);
        }
        let failure = check(&step.expect, &seen);
        // A refused step that expected nothing: counted, and a failure when
        // the run is strict.
        let unexpected = !step.generated
            && step.expect == Expect::default()
            && seen.error.is_some()
            && !matches!(step.op, Op::Outbox(_) | Op::Inbox { .. });
        if unexpected {
            self.unexpected_refusals += 1;
        }
        let failure = failure.or_else(|| {
            (unexpected && self.strict).then(|| {
                let e = seen.error.as_ref().expect("a refused step has its error");
                format!(
                    "refused without an expect (--strict): status {} ({}: {e})",
                    seen.status,
                    e.kind().name()
                )
            })
        });
        if let Some(failure) = failure {
            self.failures.push(format!(
                "step {} ({}) at {}: {failure}",
                step.index, step.op_name, step.at
            ));
        }
        outcome
    }

    /// Runs a workload's call, already typed, at its instant: what
    /// [`Runner::step`] does for a step that makes a call, without the
    /// resolving of names. A generated call has no token, no ref and no
    /// expectation, and its refusals are the workload's traffic, so nothing
    /// is checked or counted after it.
    fn generated(&mut self, call: &Generated<'_>) -> StepOutcome {
        self.sim.run_until(call.at);
        let user = call
            .user
            .or_else(|| call.actor.and_then(|a| self.sim.user(a)));
        let caller = Caller {
            user,
            connection: 0,
            token: None,
        };
        let head = Head {
            index: call.index,
            op: call.op_name,
            actor: call.actor,
            with_token: false,
        };
        self.call(head, caller, call.command)
    }

    /// Makes `command` as `caller` (unless a throttling storm refuses it):
    /// its line, its events, what the oracles see of it.
    fn call(&mut self, head: Head<'_>, caller: Caller, command: &Command) -> StepOutcome {
        if let Some(storms) = self.storms.as_mut()
            && let Some((error, line)) = storms.refuse(self.sim.now(), command)
        {
            // A call a throttling storm refuses becomes its 429 (after its
            // fault line).
            self.sim.record_own(&line);
            return self.refuse(head, caller, error);
        }
        let style = self.sim.profile().error_style;
        let status = command.success_status();
        let describe = |outcome: &Result<Reply, Error>| step_line(head, outcome, style, status);
        let outcome = self.sim.execute_step(caller, command, describe);
        if let Some(oracles) = self.oracles.as_mut() {
            let now = self.sim.now();
            oracles.call(now, head.actor, command, outcome.is_ok());
        }
        match outcome {
            Ok(reply) => StepOutcome::Reply { status, reply },
            Err(e) => StepOutcome::Refused(e),
        }
    }

    /// A step answered without a call (or refused by a storm): its line.
    fn refuse(&mut self, head: Head<'_>, caller: Caller, error: Error) -> StepOutcome {
        // Who is calling is checked before what is asked (401 first).
        let known = caller
            .user
            .and_then(|a| self.sim.state().user(a))
            .is_some_and(|u| !u.deleted);
        let error = if head.with_token {
            // A step with a token: the token is checked first (401).
            let now = self.sim.now();
            match self.sim.state().caller_identity(caller, now) {
                Err(refused) => refused,
                Ok(_) => error,
            }
        } else if head.actor.is_some() && !known {
            Error::Unauthenticated
        } else {
            error
        };
        let style = self.sim.profile().error_style;
        self.sim.record_step(&error_line(head, &error, style));
        StepOutcome::Refused(error)
    }

    /// Records a query's outcome: its items, or the error.
    fn query(&mut self, head: Head<'_>, outcome: Result<Value, Error>) -> StepOutcome {
        match outcome {
            Ok(items) => {
                self.sim.record_step(&StepLine {
                    step: head.index,
                    op: head.op,
                    actor: head.actor,
                    status: 200,
                    result: Some(StepResult::Json(listing(&items))),
                    error: None,
                    body: None,
                });
                StepOutcome::Items(items)
            }
            Err(e) => {
                let style = self.sim.profile().error_style;
                self.sim.record_step(&error_line(head, &e, style));
                StepOutcome::Refused(e)
            }
        }
    }

    /// Names what a successful step made: its SMS and WhatsApp participants'
    /// refs, and its own ref.
    fn remember(&mut self, step: &Step, reply: &Reply) {
        self.remember_bindings(step);
        let Some(name) = &step.reference else {
            return;
        };
        let named = match reply {
            Reply::ThreadCreated { thread, .. } => Named::Thread(thread.id),
            Reply::MessageSent { sequence } => match step.op.thread().map(|t| self.thread(t)) {
                Some(Ok(thread)) => Named::Message(thread, *sequence),
                _ => Named::Nothing,
            },
            Reply::Token(view) => Named::Token(view.id),
            Reply::Threads(p) => Named::Listing(p.continuation.clone()),
            Reply::Participants(p) => Named::Listing(p.continuation.clone()),
            Reply::Messages(p) => Named::Listing(p.continuation.clone()),
            Reply::ReadReceipts(p) => Named::Listing(p.continuation.clone()),
            _ => Named::Nothing,
        };
        self.refs.insert(name.clone(), named);
    }

    /// What a step does: a platform call or a query of the simulator; or
    /// the error the step answers without a call.
    fn action<'s>(&self, op: &'s Op) -> Result<Action<'s>, Error> {
        let command = match op {
            Op::Outbox(query) => return Ok(Action::Outbox(query)),
            Op::Inbox { user } => return Ok(Action::Inbox(user)),
            Op::Advance => return Ok(Action::Advance),
            Op::Webhook {
                phase,
                event,
                url,
                params,
                status,
            } => {
                let call = serde_json::json!({
                    "phase": phase, "event": event, "url": url, "params": params,
                });
                return Ok(Action::Webhook(call, *status));
            }
            Op::Inbound {
                channel,
                from,
                to,
                body,
                media,
            } => Command::Carrier(CarrierCall::Inbound {
                channel: *channel,
                from: Arc::from(self.address(from)),
                to: Arc::from(self.address(to)),
                body: body.clone(),
                media: media.clone(),
            }),
            Op::SendSms {
                from,
                to,
                message,
                delivery_report,
            } => Command::Carrier(CarrierCall::SendSms {
                from: from.clone(),
                to: to.clone(),
                message: message.clone(),
                delivery_report: *delivery_report,
            }),
            Op::CreateUser { id, display_name } => Command::Service(ServiceCall::CreateUser {
                id: id.clone(),
                display_name: display_name.clone(),
            }),
            Op::DeleteUser { user } => {
                Command::Service(ServiceCall::DeleteUser { user: user.clone() })
            }
            Op::CreateThread {
                topic,
                participants,
                settings,
                idempotency_key,
                metadata,
            } => {
                let options = thread_options(settings)?;
                if metadata.is_some() {
                    return Err(Error::UnsupportedByProfile {
                        op: "thread metadata".to_string(),
                        profile: self.sim.profile().name.clone(),
                    });
                }
                Command::Chat(ChatCall::CreateThread {
                    topic: topic.clone(),
                    participants: chat_participants(participants),
                    bindings: bindings(participants),
                    idempotency_key: idempotency_key.clone(),
                    options,
                })
            }
            Op::GetThread { thread } => Command::Chat(ChatCall::GetThread {
                thread: self.thread(thread)?,
            }),
            Op::ListThreads { page } => Command::Chat(ChatCall::ListThreads {
                page: self.page(page)?,
            }),
            Op::UpdateThread {
                thread,
                topic,
                settings,
            } => {
                let options = thread_options(settings)?;
                Command::Chat(ChatCall::UpdateThread {
                    thread: self.thread(thread)?,
                    topic: topic.clone(),
                    options,
                })
            }
            Op::SetState { thread, state } => Command::Chat(ChatCall::SetState {
                thread: self.thread(thread)?,
                state: *state,
            }),
            Op::RecoverThread { thread } => Command::Service(ServiceCall::RecoverThread {
                thread: self.thread(thread)?,
            }),
            Op::IssueToken {
                user,
                scopes,
                expires_in,
            } => Command::Service(ServiceCall::IssueToken {
                user: user.clone(),
                scopes: scopes.clone(),
                expires_in_ms: expires_in.map(Duration::ms),
            }),
            Op::RevokeTokens { user } => {
                Command::Service(ServiceCall::RevokeTokens { user: user.clone() })
            }
            Op::DeleteThread { thread } => Command::Chat(ChatCall::DeleteThread {
                thread: self.thread(thread)?,
            }),
            Op::AddParticipants {
                thread,
                participants,
            } => {
                let bindings = bindings(participants);
                let participants = chat_participants(participants);
                match (participants.is_empty(), bindings.is_empty()) {
                    (false, false) => {
                        return Err(Error::InvalidField {
                            field: "participants",
                            reason: "add chat and SMS/WhatsApp participants in separate calls"
                                .to_string(),
                        });
                    }
                    (true, false) => Command::Chat(ChatCall::AddBindings {
                        thread: self.thread(thread)?,
                        bindings,
                    }),
                    _ => Command::Chat(ChatCall::AddParticipants {
                        thread: self.thread(thread)?,
                        participants,
                    }),
                }
            }
            Op::RemoveParticipant {
                thread,
                participant,
            } => Command::Chat(self.leave(self.thread(thread)?, participant)),
            Op::ListParticipants { thread, page } => Command::Chat(ChatCall::ListParticipants {
                thread: self.thread(thread)?,
                page: self.page(page)?,
            }),
            Op::SendMessage {
                thread,
                content,
                content_type,
                media,
                metadata,
                template,
            } => Command::Chat(ChatCall::SendMessage {
                thread: self.thread(thread)?,
                content: content.clone().into(),
                content_type: *content_type,
                metadata: metadata.clone(),
                media: media.clone(),
                template: template.clone(),
            }),
            Op::GetMessage { thread, message } => {
                let message = self.message(thread, message)?;
                Command::Chat(ChatCall::GetMessage { message })
            }
            Op::ListMessages {
                thread,
                page,
                start_time,
            } => Command::Chat(ChatCall::ListMessages {
                thread: self.thread(thread)?,
                page: self.page(page)?,
                start_time: *start_time,
            }),
            Op::UpdateMessage {
                thread,
                message,
                content,
            } => {
                let message = self.message(thread, message)?;
                Command::Chat(ChatCall::UpdateMessage {
                    message,
                    content: content.clone(),
                })
            }
            Op::DeleteMessage { thread, message } => {
                let message = self.message(thread, message)?;
                Command::Chat(ChatCall::DeleteMessage { message })
            }
            Op::SendTyping { thread } => Command::Chat(ChatCall::SendTyping {
                thread: self.thread(thread)?,
            }),
            Op::SendReadReceipt { thread, message } => {
                let message = self.message(thread, message)?;
                Command::Chat(ChatCall::SendReadReceipt { message })
            }
            Op::ListReadReceipts { thread, page } => Command::Chat(ChatCall::ListReadReceipts {
                thread: self.thread(thread)?,
                page: self.page(page)?,
            }),
            Op::UpdateMetacounter { thread, key, delta } => {
                Command::Chat(ChatCall::UpdateMetacounter {
                    thread: self.thread(thread)?,
                    key: key.clone(),
                    delta: *delta,
                })
            }
        };
        Ok(Action::Call(command))
    }

    /// A thread named by a ref or an id.
    fn thread(&self, name: &str) -> Result<ThreadId, Error> {
        let not_found = || Error::ThreadNotFound {
            thread: name.to_string(),
        };
        match self.refs.get(name) {
            Some(Named::Thread(id)) => Ok(*id),
            Some(_) => Err(not_found()),
            None => ThreadId::parse(name).ok_or_else(not_found),
        }
    }

    /// A message named by a ref or an id, in a thread named by a ref or an id.
    fn message(&self, thread: &str, name: &str) -> Result<MessageId, Error> {
        let thread = self.thread(thread)?;
        let not_found = || Error::MessageNotFound {
            thread: thread.to_string(),
            message: name.to_string(),
        };
        match self.refs.get(name) {
            Some(Named::Message(t, seq)) if *t == thread => Ok(MessageId {
                thread,
                sequence: *seq,
            }),
            Some(_) => Err(not_found()),
            None => parse_message_id(name)
                .map(|sequence| MessageId { thread, sequence })
                .ok_or_else(not_found),
        }
    }

    /// The SMS or WhatsApp participant a `participant` field names: by its
    /// ref, or by its address; `None` for a chat identity.
    fn binding<'a>(&'a self, participant: &'a str) -> Option<(Channel, &'a str)> {
        match self.refs.get(participant) {
            Some(Named::Binding(channel, address)) => Some((*channel, address)),
            _ if participant.starts_with("whatsapp:") => Some((Channel::Whatsapp, participant)),
            _ if participant.starts_with('+') => Some((Channel::Sms, participant)),
            _ => None,
        }
    }

    /// `participant` leaving `thread`: an SMS or WhatsApp participant (by
    /// ref or address), else a chat identity.
    fn leave(&self, thread: ThreadId, participant: &str) -> ChatCall {
        match self.binding(participant) {
            Some((channel, address)) => ChatCall::RemoveBinding {
                thread,
                channel,
                address: Arc::from(address),
            },
            None => ChatCall::RemoveParticipant {
                thread,
                user: Arc::from(participant),
            },
        }
    }

    /// Names the refs of the SMS and WhatsApp participants a successful step added.
    fn remember_bindings(&mut self, step: &Step) {
        for participant in step.op.participants() {
            if let Participant::Binding {
                binding,
                reference: Some(name),
            } = participant
            {
                let address = binding.address.to_string();
                self.refs
                    .insert(name.clone(), Named::Binding(binding.channel, address));
            }
        }
    }

    /// A step's page: a continuation named by ref is the one that listing
    /// returned; a listing that ended has none to give (400).
    fn page(&self, spec: &PageSpec) -> Result<crate::core::PageRequest, Error> {
        let continuation = match &spec.continuation {
            None => None,
            Some(Continuation::Token(token)) => Some(token.clone()),
            Some(Continuation::Of(name)) => match self.refs.get(name) {
                Some(Named::Listing(Some(token))) => Some(token.clone()),
                _ => {
                    return Err(Error::InvalidField {
                        field: "continuation",
                        reason: format!(
                            "{} names no listing with a next page",
                            crate::scenario::quote(name)
                        ),
                    });
                }
            },
        };
        Ok(crate::core::PageRequest {
            page_size: spec.page_size,
            continuation,
        })
    }

    /// An address field: a participant's ref or the address itself.
    fn address<'a>(&'a self, text: &'a str) -> &'a str {
        match self.refs.get(text) {
            Some(Named::Binding(_, address)) => address,
            _ => text,
        }
    }

    fn outbox_filter(&self, query: &OutboxQuery) -> Result<OutboxFilter, Error> {
        let (thread, message) = match &query.thread {
            None => (None, None),
            Some(InThread { thread, message }) => match message {
                None => (Some(self.thread(thread)?), None),
                Some(message) => {
                    let message = self.message(thread, message)?;
                    (Some(message.thread), Some(message))
                }
            },
        };
        Ok(OutboxFilter {
            message,
            to: query.to.as_deref().map(|text| match self.refs.get(text) {
                Some(Named::Binding(Channel::Whatsapp, a)) if !a.starts_with("whatsapp:") => {
                    Arc::from(format!("whatsapp:{a}").as_str())
                }
                Some(Named::Binding(_, a)) => Arc::from(a.as_str()),
                _ => Arc::from(text),
            }),
            channel: query.channel,
            thread,
            status: query.status,
        })
    }
}

/// The chat participants of a participant list.
fn chat_participants(list: &[Participant]) -> Vec<ParticipantSpec> {
    list.iter()
        .filter_map(|p| match p {
            Participant::User(spec) => Some(spec.clone()),
            Participant::Binding { .. } => None,
        })
        .collect()
}

/// The SMS and WhatsApp participants of a participant list.
fn bindings(list: &[Participant]) -> Vec<BindingSpec> {
    list.iter()
        .filter_map(|p| match p {
            Participant::Binding { binding, .. } => Some(binding.clone()),
            Participant::User(_) => None,
        })
        .collect()
}

/// The lifecycle options of a create or update step. Retention is given as a
/// duration and must be whole days (ACS takes `deleteThreadAfterDays`).
fn thread_options(settings: &ThreadSettings) -> Result<ThreadOptions, Error> {
    let retention = match settings.retention {
        None => None,
        Some(RetentionField::None) => Some(Retention::None),
        Some(RetentionField::DeleteAfter(after)) => {
            let ms = after.ms();
            const DAY_MS: u64 = 86_400_000;
            match u32::try_from(ms / DAY_MS) {
                Ok(days) if ms % DAY_MS == 0 => Some(Retention::DeleteAfterDays(days)),
                _ => {
                    return Err(Error::InvalidField {
                        field: "retention",
                        reason: format!("delete after {ms} ms; a policy counts whole days"),
                    });
                }
            }
        }
    };
    Ok(ThreadOptions {
        retention,
        state: settings.state,
        timers: settings.timers.clone(),
    })
}

fn step_line<'a>(
    head: Head<'a>,
    outcome: &Result<Reply, Error>,
    style: crate::profile::ErrorStyle,
    success_status: u16,
) -> StepLine<'a> {
    match outcome {
        Ok(reply) => StepLine {
            step: head.index,
            op: head.op,
            actor: head.actor,
            status: success_status,
            result: Some(match reply {
                Reply::MessageSent { sequence } => StepResult::Sent(*sequence),
                other => StepResult::Json(wire::reply_json(other)),
            }),
            error: None,
            body: None,
        },
        Err(e) => error_line(head, e, style),
    }
}

fn error_line<'a>(head: Head<'a>, e: &Error, style: crate::profile::ErrorStyle) -> StepLine<'a> {
    StepLine {
        step: head.index,
        op: head.op,
        actor: head.actor,
        status: e.status(),
        result: None,
        error: Some(e.kind().name()),
        body: Some(wire::render_error(e, style)),
    }
}

/// A step's outcome as expectations see it; its JSON (`result`, `body`)
/// only when `json` (an expectation looks at it), else `null`.
fn seen(outcome: &StepOutcome, style: ErrorStyle, json: bool) -> Seen {
    match outcome {
        StepOutcome::Reply { status, reply } => {
            let result = if json {
                wire::reply_json(reply)
            } else {
                Value::Null
            };
            Seen {
                status: *status,
                count: reply.count().map(|c| c as u64),
                body: result.clone(),
                result,
                error: None,
            }
        }
        StepOutcome::Items(items) => {
            let result = if json { listing(items) } else { Value::Null };
            Seen {
                status: 200,
                count: items.as_array().map(|a| a.len() as u64),
                body: result.clone(),
                result,
                error: None,
            }
        }
        StepOutcome::Refused(e) => Seen {
            status: e.status(),
            result: Value::Null,
            body: if json {
                wire::render_error(e, style)
            } else {
                Value::Null
            },
            error: Some(e.clone()),
            count: None,
        },
        StepOutcome::Advanced => Seen {
            status: 200,
            result: Value::Null,
            body: Value::Null,
            error: None,
            count: None,
        },
    }
}

/// A query's result: `{"items": …}`.
fn listing(items: &Value) -> Value {
    Value::Object(Map::from_iter([("items".to_string(), items.clone())]))
}

/// The first unmet expectation, described.
fn check(expect: &Expect, seen: &Seen) -> Option<String> {
    let happened = || match &seen.error {
        None => format!("status {}", seen.status),
        Some(e) => format!("status {} ({}: {e})", seen.status, e.kind().name()),
    };
    if let Some(status) = expect.status
        && status != seen.status
    {
        return Some(format!("expected status {status}, got {}", happened()));
    }
    if let Some(ok) = expect.ok
        && ok != seen.error.is_none()
    {
        return Some(format!("expected ok={ok}, got {}", happened()));
    }
    if let Some(kind) = expect.error {
        let got = seen.error.as_ref().map(Error::kind);
        if got != Some(kind) {
            return Some(format!(
                "expected error {}, got {}",
                kind.name(),
                happened()
            ));
        }
    }
    if let Some(count) = expect.count
        && seen.count != Some(count)
    {
        return Some(match seen.count {
            Some(n) => format!("expected count {count}, got {n}"),
            None => format!(
                "expected count {count}, but the result is not a listing ({})",
                happened()
            ),
        });
    }
    if let Some(want) = &expect.result
        && let Err(path) = contains(&seen.result, want, "result")
    {
        return Some(format!(
            "expected result to contain {want}, differs at {path}; got {}",
            seen.result
        ));
    }
    if let Some(want) = &expect.body
        && let Err(path) = contains(&seen.body, want, "body")
    {
        return Some(format!(
            "expected body to contain {want}, differs at {path}; got {}",
            seen.body
        ));
    }
    None
}

/// The index of the first line where two traces differ, counting a missing
/// line at the end of the shorter one; `None` when they are identical.
pub fn first_divergence(a: &[String], b: &[String]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// Whether `got` contains `want` (the scenario format): objects by their given keys,
/// arrays element by element with equal length, other values equal.
pub fn contains(got: &Value, want: &Value, path: &str) -> Result<(), String> {
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            for (key, wv) in w {
                let here = format!("{path}.{key}");
                match g.get(key) {
                    Some(gv) => contains(gv, wv, &here)?,
                    None => return Err(here),
                }
            }
            Ok(())
        }
        (Value::Array(g), Value::Array(w)) => {
            if g.len() != w.len() {
                return Err(format!("{path} (length {} vs {})", g.len(), w.len()));
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                contains(gv, wv, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (g, w) if g == w => Ok(()),
        _ => Err(path.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn divergence_is_the_first_differing_or_missing_line() {
        let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let a = lines(&["x", "y", "z"]);
        assert_eq!(first_divergence(&a, &a), None);
        assert_eq!(first_divergence(&a, &lines(&["x", "q", "z"])), Some(1));
        assert_eq!(first_divergence(&a, &lines(&["x", "y"])), Some(2));
        assert_eq!(first_divergence(&lines(&[]), &a), Some(0));
    }

    #[test]
    fn containment_follows_the_contract() {
        let got = json!({"a": 1, "b": [1, {"c": 2, "d": 3}], "e": "x"});
        assert!(contains(&got, &json!({"a": 1}), "r").is_ok());
        assert!(contains(&got, &json!({"b": [1, {"c": 2}]}), "r").is_ok());
        assert_eq!(
            contains(&got, &json!({"b": [1]}), "r"),
            Err("r.b (length 2 vs 1)".into())
        );
        assert_eq!(contains(&got, &json!({"z": 1}), "r"), Err("r.z".into()));
        assert_eq!(contains(&got, &json!({"e": "y"}), "r"), Err("r.e".into()));
    }
}
