//! The server's world: one scenario session (a simulator with the scenario
//! runner's refs and trace) driven one step at a time, and the recording of
//! the steps that drove it. Every platform call and clock move the server
//! takes becomes a scenario step, read by the scenario format's own step
//! reader and run by its own runner, so the trace the server shows is the
//! trace `switchboard run` prints for the recording, by construction.
//!
//! Synchronous and deterministic: no I/O, no clock, no randomness. A world is
//! cloned for snapshots; the simulator and the recording are persistent
//! structures, so a clone costs O(identities + tokens) for the names the
//! step reader and the runner keep.

use serde_json::{Map, Value, json};

use crate::core::{Error, TokenId};
use crate::id::UserId;
use crate::profile::Profile;
use crate::scenario::{ParseError, Session, Step, StepOutcome, StepReader};
use crate::sim::Simulator;
use crate::time::Instant;

/// A step's fields as the scenario format spells them: `op`, `as` when
/// given, and the rest (an object's entries).
pub(crate) fn step_fields(op: &str, actor: Option<&str>, rest: Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("op".into(), json!(op));
    if let Some(actor) = actor {
        map.insert("as".into(), json!(actor));
    }
    if let Value::Object(rest) = rest {
        map.extend(rest);
    }
    map
}

/// The name of every recorded session (its scenario's `name`).
pub const SESSION_NAME: &str = "switchboard serve";

/// A server's world: a scenario session driven one request at a time, and its recording.
#[derive(Clone, Debug)]
pub struct World {
    session: Session,
    reader: StepReader,
    /// The steps taken, as the scenario file gives them (with `expect`).
    steps: imbl::Vector<Value>,
    seed: u64,
    /// The scenario's `profile` field: a name or `{base, overrides}`.
    profile_spec: Value,
    /// The ref of each issued token's step.
    token_refs: imbl::OrdMap<TokenId, String>,
    /// Token steps so far (refs `tok1`, `tok2`, …).
    token_steps: u32,
    /// Identities created so far (ids come from this count).
    pub users_created: u32,
    /// What Sendbird keeps that the simulator does not model.
    pub(crate) sendbird: super::sendbird::Extras,
    /// The Twilio webhooks configured (the `twilio` profile).
    pub webhooks: super::webhooks::WebhookConfig,
    /// Media uploaded to Twilio's Media Content Service, in upload order
    /// (their `ME…` SIDs come from the position).
    pub media: imbl::Vector<crate::rules::Media>,
}

impl World {
    /// A fresh world: `profile` as `profile_spec` names it.
    pub fn new(seed: u64, profile: Profile, profile_spec: Value) -> World {
        World {
            session: Session::new(seed, profile, &[]),
            reader: StepReader::new(&[]),
            steps: imbl::Vector::new(),
            seed,
            profile_spec,
            token_refs: imbl::OrdMap::new(),
            token_steps: 0,
            users_created: 0,
            sendbird: Default::default(),
            webhooks: super::webhooks::WebhookConfig::default(),
            media: imbl::Vector::new(),
        }
    }

    /// The simulator the steps run on.
    pub fn simulator(&self) -> &Simulator {
        self.session.simulator()
    }

    /// The virtual clock's reading.
    pub fn now(&self) -> Instant {
        self.simulator().now()
    }

    /// The seed the world started from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The profile as the recording names it (a name or an object of overrides).
    pub fn profile_spec(&self) -> &Value {
        &self.profile_spec
    }

    /// Runs one step, given as a scenario step object without `at` (it
    /// runs now); records it with `expect` holding the status it got.
    pub fn step(&mut self, mut fields: Map<String, Value>) -> Result<StepOutcome, ParseError> {
        fields.insert("at".into(), json!(self.now().ms()));
        let mut value = Value::Object(fields);
        let step: Step = self.reader.read(&value)?;
        let outcome = self.session.step(&step);
        let status = match &outcome {
            StepOutcome::Reply { status, .. } => Some(*status),
            StepOutcome::Refused(e) => Some(e.status()),
            StepOutcome::Items(_) => Some(200),
            StepOutcome::Advanced => None,
        };
        if let Some(status) = status {
            value["expect"] = json!({ "status": status });
        }
        self.steps.push_back(value);
        Ok(outcome)
    }

    /// Moves the clock to `to` (not before now), running everything due, as
    /// an `advance` step.
    pub fn advance_to(&mut self, to: Instant) -> Result<(), ParseError> {
        let mut fields = Map::new();
        fields.insert("op".into(), json!("advance"));
        fields.insert("at".into(), json!(to.ms()));
        let value = Value::Object(fields);
        let step = self.reader.read(&value)?;
        self.session.step(&step);
        self.steps.push_back(value);
        Ok(())
    }

    /// The ref for the next token step (`tok<n>`).
    pub fn next_token_ref(&mut self) -> String {
        self.token_steps += 1;
        format!("tok{}", self.token_steps)
    }

    /// Remembers the step ref of an issued token.
    pub fn remember_token(&mut self, token: TokenId, reference: String) {
        self.token_refs.insert(token, reference);
    }

    /// The step ref of an issued token, if this world issued it.
    pub fn token_ref(&self, token: TokenId) -> Option<&str> {
        self.token_refs.get(&token).map(String::as_str)
    }

    /// The identity with raw id `raw`, deleted or not.
    pub fn user(&self, raw: &str) -> Option<UserId> {
        self.simulator().user(raw)
    }

    /// Whether a call with `token` of `user` is refused by the simulator now
    /// (expired, revoked, unknown), without running anything.
    pub fn token_refusal(&self, user: UserId, token: TokenId) -> Option<Error> {
        let caller = crate::core::Caller {
            user: Some(user),
            connection: 0,
            token: Some(token),
        };
        self.simulator()
            .state()
            .caller_identity(caller, self.now())
            .err()
    }

    /// Steps recorded so far.
    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    /// The trace so far and the summary line, as `switchboard run` prints
    /// them for the recording.
    pub fn trace_lines(&self) -> Vec<String> {
        self.session.lines(Some(SESSION_NAME), self.steps.len())
    }

    /// The session so far as a scenario file.
    pub fn scenario(&self) -> Value {
        json!({
            "name": SESSION_NAME,
            "seed": self.seed,
            "profile": self.profile_spec,
            "steps": self.steps.iter().cloned().collect::<Vec<_>>(),
        })
    }
}
