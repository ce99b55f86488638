//! The integration tests' shared set-up: a simulator on each profile, profile
//! variants (with tokens, with a recovery window), named users and a thread
//! with participants, the commands tests build by hand, and small assertions
//! ("refused with this kind, and nothing changed"; "the trace holds these
//! events"). A helper only one file needs stays in that file.

use std::fmt::Debug;
use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::core::{
    BindingSpec, ChatCall, ConversationState, PageRequest, ParticipantSpec, Retention, StateTimers,
    ThreadOptions,
};
use switchboard::profile::ErrorStyle;
use switchboard::rules::Channel;
use switchboard::wire::render_error;
use switchboard::{
    Caller, Command, Error, Kind, MessageId, Profile, Reply, Simulator, ThreadId, UserId,
};

// ---- time and numbers ----

/// A minute of virtual time, in milliseconds.
pub const MIN: u64 = 60_000;
/// An hour of virtual time, in milliseconds.
pub const HOUR: u64 = 60 * MIN;
/// A day of virtual time, in milliseconds.
pub const DAY: u64 = 24 * HOUR;

/// The proxy number SMS and WhatsApp participants talk through.
pub const PROXY: &str = "+18005550199";
/// Dan's phone number, an SMS participant.
pub const DAN: &str = "+14255550100";
/// Wen's phone number, an SMS or WhatsApp participant.
pub const WEN: &str = "+14255550101";

// ---- simulators and profiles ----

/// A simulator on `profile` with `seed` (the trace kept, as by default).
pub fn sim_on(profile: Profile, seed: u64) -> Simulator {
    Simulator::builder().seed(seed).profile(profile).build()
}

/// A simulator on `acs` with `seed`.
pub fn acs(seed: u64) -> Simulator {
    sim_on(Profile::acs(), seed)
}

/// A simulator on `twilio` with `seed`.
pub fn twilio(seed: u64) -> Simulator {
    sim_on(Profile::twilio(), seed)
}

/// A simulator on `sendbird` with `seed`.
pub fn sendbird(seed: u64) -> Simulator {
    sim_on(Profile::sendbird(), seed)
}

/// `base` with the JSON `overrides`, which must be valid.
pub fn overridden(base: &Profile, overrides: Value) -> Profile {
    Profile::with_overrides(base, &overrides)
        .unwrap_or_else(|e| panic!("invalid overrides {overrides}: {e}"))
}

/// `base` with ACS's token lifetimes, so that it issues tokens.
pub fn with_tokens(base: &Profile) -> Profile {
    overridden(base, json!({ "tokens": Profile::acs().tokens }))
}

/// `base` with a recovery window of one day, so that a deleted thread can be
/// recovered (Twilio has none).
pub fn with_recovery(base: &Profile) -> Profile {
    overridden(base, json!({"recovery_window_ms": DAY}))
}

// ---- users and threads ----

/// Creates the users `names`, in order.
pub fn users<const N: usize>(sim: &mut Simulator, names: [&str; N]) -> [UserId; N] {
    names.map(|n| {
        sim.create_user(n)
            .unwrap_or_else(|e| panic!("user {n}: {e}"))
    })
}

/// Creates `n` users named `{prefix}0`, `{prefix}1`, ...
pub fn crowd(sim: &mut Simulator, prefix: &str, n: usize) -> Vec<UserId> {
    (0..n)
        .map(|i| sim.create_user(&format!("{prefix}{i}")).unwrap())
        .collect()
}

/// Creates the users `names`; the first creates a thread named `topic` with
/// the others as participants.
pub fn thread_with<const N: usize>(
    sim: &mut Simulator,
    topic: &str,
    names: [&str; N],
) -> ([UserId; N], ThreadId) {
    let all = users(sim, names);
    let thread = sim.client(all[0]).create_thread(topic, &all[1..]).unwrap();
    (all, thread)
}

// ---- commands and their parts ----

/// Message `sequence` of `thread`.
pub fn message(thread: ThreadId, sequence: u32) -> MessageId {
    MessageId { thread, sequence }
}

/// A page of `size` from the start.
pub fn page(size: u32) -> PageRequest {
    PageRequest {
        page_size: Some(size),
        continuation: None,
    }
}

/// A create-thread call with `topic` naming `participants`: no idempotency
/// key, no SMS/WhatsApp participants, no options.
pub fn create_thread(topic: &str, participants: &[&str]) -> Command {
    Command::Chat(ChatCall::CreateThread {
        topic: Arc::from(topic),
        participants: participants
            .iter()
            .map(|u| ParticipantSpec::user(*u))
            .collect(),
        idempotency_key: None,
        bindings: vec![],
        options: ThreadOptions::default(),
    })
}

/// A get-thread call.
pub fn get_thread(thread: ThreadId) -> Command {
    Command::Chat(ChatCall::GetThread { thread })
}

/// A plain-text message to `thread`, without metadata, media or template.
pub fn send(thread: ThreadId, content: &str) -> Command {
    Command::Chat(ChatCall::SendMessage {
        thread,
        content: content.into(),
        content_type: Default::default(),
        metadata: Default::default(),
        media: vec![],
        template: None,
    })
}

/// An edit of `message` to `content`.
pub fn update_message(message: MessageId, content: &str) -> Command {
    Command::Chat(ChatCall::UpdateMessage {
        message,
        content: Arc::from(content),
    })
}

/// A deletion of `message`.
pub fn delete_message(message: MessageId) -> Command {
    Command::Chat(ChatCall::DeleteMessage { message })
}

/// An SMS or WhatsApp participant: `address` talking through `proxy`.
pub fn binding(channel: Channel, address: &str, proxy: &str) -> BindingSpec {
    BindingSpec {
        channel,
        address: Arc::from(address),
        proxy: Arc::from(proxy),
    }
}

/// A call adding SMS or WhatsApp participants to `thread`.
pub fn add_bindings(thread: ThreadId, bindings: Vec<BindingSpec>) -> Command {
    Command::Chat(ChatCall::AddBindings { thread, bindings })
}

/// Thread options with a retention policy of `days`.
pub fn after_days(days: u32) -> ThreadOptions {
    ThreadOptions {
        retention: Some(Retention::DeleteAfterDays(days)),
        ..ThreadOptions::default()
    }
}

/// Thread options with a Twilio conversation `state` and its timers
/// (ISO 8601 durations such as `"PT1M"`).
pub fn timers(
    state: Option<ConversationState>,
    inactive: Option<&str>,
    closed: Option<&str>,
) -> ThreadOptions {
    ThreadOptions {
        state,
        timers: Some(StateTimers {
            inactive: inactive.map(Arc::from),
            closed: closed.map(Arc::from),
        }),
        ..ThreadOptions::default()
    }
}

// ---- assertions ----

/// The HTTP status of each kind, written out here rather than read from
/// `Kind::status`, so that a check against it can fail.
fn http_status(kind: Kind) -> u16 {
    match kind {
        Kind::BadRequest => 400,
        Kind::Unauthorized => 401,
        Kind::Forbidden => 403,
        Kind::NotFound => 404,
        Kind::Conflict => 409,
        Kind::TooLarge => 413,
        Kind::UnsupportedMedia => 415,
        Kind::RateLimited => 429,
        other => panic!("a kind this table does not know: {other:?}"),
    }
}

/// Asserts that `error` is of `kind` and answers with that kind's HTTP status.
#[track_caller]
pub fn assert_kind(error: &Error, kind: Kind) {
    assert_eq!(error.kind(), kind, "{error}");
    assert_eq!(error.status(), http_status(kind), "{error}");
}

/// Runs `command` as `caller`; it must be refused with `kind` (and its HTTP
/// status). Checks that the refusal left the state exactly as it was and that
/// the invariants hold.
#[track_caller]
pub fn refused(
    sim: &mut Simulator,
    caller: impl Into<Caller>,
    command: &Command,
    kind: Kind,
) -> Error {
    let error = refused_by(sim, |sim| sim.execute(caller, command));
    assert_eq!(error.kind(), kind, "{}: {error}", command.op());
    assert_eq!(
        error.status(),
        http_status(kind),
        "{}: {error}",
        command.op()
    );
    error
}

/// Runs `call`, which must fail; checks that the failure left the state
/// exactly as it was and that the invariants hold. Returns the error.
#[track_caller]
pub fn refused_by<T: Debug>(
    sim: &mut Simulator,
    call: impl FnOnce(&mut Simulator) -> Result<T, Error>,
) -> Error {
    let before = sim.state().clone();
    let error = match call(sim) {
        Ok(reply) => panic!("should be refused, got {reply:?}"),
        Err(error) => error,
    };
    assert!(
        sim.state() == &before,
        "the refusal ({error}) changed the state"
    );
    sim.state().check_invariants().unwrap();
    error
}

/// Runs `command` as `caller` and returns the outcome; a refusal must leave
/// the state exactly as it was, and the invariants must hold either way.
#[track_caller]
pub fn execute_checked(
    sim: &mut Simulator,
    caller: impl Into<Caller>,
    command: &Command,
) -> Result<Reply, Error> {
    let before = sim.state().clone();
    let result = sim.execute(caller, command);
    if let Err(error) = &result {
        let op = command.op();
        assert!(
            sim.state() == &before,
            "the refused {op} ({error}) changed the state"
        );
    }
    sim.state().check_invariants().unwrap();
    result
}

/// The `error.code` of `error`'s ACS body.
pub fn acs_code(error: &Error) -> String {
    let body = render_error(error, ErrorStyle::Acs);
    body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.code in {body}"))
        .to_string()
}

/// The `code` of `error`'s Twilio body.
pub fn twilio_code(error: &Error) -> u64 {
    let body = render_error(error, ErrorStyle::Twilio);
    body["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("no code in {body}"))
}

// ---- the trace ----

/// Every line of the trace, as JSON. Checks that the trace keeps its lines,
/// so that a search through them cannot pass by finding nothing to search.
#[track_caller]
pub fn trace(sim: &Simulator) -> Vec<Value> {
    let lines: Vec<Value> = sim
        .trace()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(
        lines.len() as u64,
        sim.trace().len(),
        "the trace keeps its lines"
    );
    lines
}

/// The trace's lines of `kind` (`"message_sent"`, `"rejected"`, ...), as JSON.
#[track_caller]
pub fn events(sim: &Simulator, kind: &str) -> Vec<Value> {
    trace(sim)
        .into_iter()
        .filter(|v| v["kind"] == kind)
        .collect()
}

/// Runs the command line in the crate's folder with `args`.
pub fn switchboard(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

/// Runs the command line with `args` and `input` on its standard input.
pub fn switchboard_with(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input).expect("the binary reads its input");
    drop(stdin);
    child.wait_with_output().expect("the binary ends")
}
