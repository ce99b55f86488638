//! Properties over arbitrary command sequences: a small seeded world, then 1 to
//! 60 random calls (any `Command`, any actor including none and unknown ones,
//! threads and messages that may not exist) with random clock advances between
//! them. After every step the state's invariants hold and a refused call left
//! the state exactly as it was; the same sequence from the same seed gives the
//! same digest; and no rate limit admits more calls than it allows in any
//! window, counted from our own log of accepted calls.
//!
//! The profile is shrunk (3 participants, 64-byte bodies, 2 sends per user per
//! thread per minute, ...) so that short sequences actually reach the limits;
//! `generated_sequences_reach_the_limits` checks that they do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use switchboard::MessageId;
use switchboard::core::{ChatCall, ServiceCall};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;
use switchboard::core::{ContentType, PageRequest, ParticipantSpec};
use switchboard::profile::{Operation, Scope};
use switchboard::{
    Command, Duration, Error, Instant, Profile, Reply, Simulator, State, ThreadId, UserId,
};

use crate::harness::{overridden, sim_on};

// ---- the profile and the world ----

/// Small limits, all reachable within a few dozen calls. The per-create limit
/// stays below the per-thread cap (see `participant_cap_holds_...` for the case
/// where it does not).
fn small_profile() -> Profile {
    small_profile_with(json!({}))
}

/// The small profile with a per-create limit above what the per-thread cap
/// leaves room for.
fn cap_profile() -> Profile {
    small_profile_with(json!({
        "participants_per_thread_max": 2,
        "participants_per_create_max": 5,
    }))
}

fn small_profile_with(extra: serde_json::Value) -> Profile {
    let mut overrides = json!({
        "participants_per_thread_max": 3,
        "participants_per_create_max": 2,
        "participants_per_add_max": 3,
        "message_bytes_max": 64,
        "topic_chars_max": 12,
        "metadata_bytes_max": 16,
        "page_size_max": 5,
        "page_size_default": 3,
        "receipts_participants_max": 2,
        "rate_limits": [
            {"operations": ["send_message"], "scope": "thread", "window_ms": 60_000, "count": 4},
            {"operations": ["send_message"], "scope": "user_thread", "window_ms": 60_000, "count": 2},
            {"operations": ["create_thread"], "scope": "user", "window_ms": 60_000, "count": 2},
            {"operations": ["update_roster", "update_thread"], "scope": "user_thread",
             "window_ms": 30_000, "count": 2},
            {"operations": ["send_typing", "send_read_receipt"], "scope": "resource",
             "window_ms": 10_000, "count": 4},
        ],
        // A refused call must change nothing here; throttled calls that count
        // are the limiter's own property (tests/it/rate_limits.rs).
        "throttled_calls_count": false,
    });
    if let (Some(base), serde_json::Value::Object(more)) = (overrides.as_object_mut(), extra) {
        base.extend(more);
    }
    overridden(&Profile::acs(), overrides)
}

/// Identity names the generators draw from: the world's users `u0..u4`, users
/// that only a generated `CreateUser` brings in, and an invalid id.
const NAMES: [&str; 9] = ["u0", "u1", "u2", "u3", "u4", "u5", "u6", "ghost", ""];

#[derive(Clone, Debug)]
struct World {
    seed: u64,
    users: usize,
    /// (creator, named participants) by index into the world's users.
    threads: Vec<(usize, Vec<usize>)>,
}

/// A world of 3 to 5 users and 2 or 3 threads, each naming 1 to `named_max`
/// participants besides its creator (the creator may name itself).
fn world(named_max: usize) -> impl Strategy<Value = World> {
    (any::<u64>(), 3usize..=5)
        .prop_flat_map(move |(seed, users)| {
            let named = subsequence((0..users).collect::<Vec<_>>(), 1..=named_max.min(users));
            let thread = (0..users, named);
            (Just(seed), Just(users), vec(thread, 2..=3))
        })
        .prop_map(|(seed, users, threads)| World {
            seed,
            users,
            threads,
        })
}

/// Builds the world; its threads are `ThreadId(1..)`, its users `UserId(1..)`.
fn build(world: &World, profile: &Profile) -> Simulator {
    let mut sim = sim_on(profile.clone(), world.seed);
    for i in 0..world.users {
        sim.create_user(&format!("u{i}")).expect("world user");
    }
    for (creator, named) in &world.threads {
        let creator = sim.user(&format!("u{creator}")).expect("world user");
        let named: Vec<UserId> = named
            .iter()
            .map(|i| sim.user(&format!("u{i}")).expect("world user"))
            .collect();
        sim.client(creator)
            .create_thread("world", &named)
            .expect("world thread");
        // Keep the world's creations clear of the create_thread limit.
        sim.advance(Duration::from_mins(1));
    }
    sim
}

// ---- generated steps ----

#[derive(Clone, Debug)]
struct Step {
    advance_ms: u64,
    actor: Option<UserId>,
    command: Command,
}

/// Mostly the world's users.
fn name() -> impl Strategy<Value = Arc<str>> {
    prop_oneof![6 => select(&NAMES[..5]), 1 => select(&NAMES[5..])].prop_map(Arc::from)
}

/// Mostly the world's users, sometimes ones created later (or never), no
/// identity, or an id that was never issued.
fn actor(users: u32) -> impl Strategy<Value = Option<UserId>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(UserId(999))),
        20 => (1..=users).prop_map(|i| Some(UserId(i))),
        2 => (users + 1..=users + 2).prop_map(|i| Some(UserId(i))),
    ]
}

/// Mostly the world's `threads` threads, sometimes ones created later (or
/// never), sometimes ids that never exist.
fn thread(threads: u32) -> impl Strategy<Value = ThreadId> {
    prop_oneof![
        20 => 1..=threads,
        3 => threads + 1..=threads + 2,
        1 => Just(0u32),
        1 => Just(77u32),
    ]
    .prop_map(ThreadId)
}

fn sequence() -> impl Strategy<Value = u32> {
    prop_oneof![
        // 1 and 2 are the creation's system messages.
        2 => 1u32..=2,
        10 => 3u32..=8,
        2 => 9u32..=20,
        1 => Just(0u32),
        1 => Just(u32::MAX),
    ]
}

fn content() -> impl Strategy<Value = Arc<str>> {
    // Short bodies mostly, some around the 64-byte limit, multi-byte characters
    // included (é is two bytes), and the empty body.
    prop_oneof![
        8 => "[a-z ]{1,12}",
        3 => "[a-zé]{28,36}",
        3 => "[a-z]{60,68}",
        1 => Just(String::new()),
    ]
    .prop_map(Arc::from)
}

fn topic() -> impl Strategy<Value = Arc<str>> {
    select(
        &[
            "",
            "  ",
            "t",
            "new topic",
            "twelve chars",
            "thirteen char",
            "ünïcödé tøpic",
        ][..],
    )
    .prop_map(Arc::from)
}

fn instant() -> impl Strategy<Value = Instant> {
    (0u64..400_000).prop_map(Instant)
}

fn page() -> impl Strategy<Value = PageRequest> {
    let size = prop::option::of(select(&[0u32, 1, 2, 3, 5, 6][..]));
    let continuation = prop::option::weighted(
        0.3,
        select(&["c0", "c1", "c3", "c6", "c9", "bad", "c", "c99999999999"][..])
            .prop_map(String::from),
    );
    (size, continuation).prop_map(|(page_size, continuation)| PageRequest {
        page_size,
        continuation,
    })
}

fn participants() -> impl Strategy<Value = Vec<ParticipantSpec>> {
    let spec = (
        name(),
        prop::option::weighted(0.2, select(&["Display", ""][..]).prop_map(Arc::from)),
        prop::option::weighted(0.3, instant()),
    )
        .prop_map(|(user, display_name, share_history_from)| ParticipantSpec {
            user,
            display_name,
            share_history_from,
        })
        .boxed();
    // Mostly within the per-call limit, sometimes empty or over it.
    prop_oneof![
        8 => vec(spec.clone(), 1..=3),
        1 => Just(vec![]),
        1 => vec(spec, 4..=5),
    ]
}

fn metadata() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop_oneof![
        6 => Just(BTreeMap::new()),
        1 => prop::collection::btree_map("[a-c]{1,3}", "[x-z]{0,12}", 1..=2),
    ]
}

fn command(threads: u32) -> impl Strategy<Value = Command> {
    let arms: Vec<(u32, BoxedStrategy<Command>)> = vec![
        (
            2,
            prop::option::weighted(0.2, select(&["Display"][..]).prop_map(Arc::from))
                .prop_flat_map(|display_name| {
                    name().prop_map(move |id| {
                        Command::Service(ServiceCall::CreateUser {
                            id,
                            display_name: display_name.clone(),
                        })
                    })
                })
                .boxed(),
        ),
        (
            1,
            select(&NAMES[..])
                .prop_map(|user| Command::Service(ServiceCall::DeleteUser { user: user.into() }))
                .boxed(),
        ),
        (
            4,
            (
                topic(),
                participants(),
                prop::option::weighted(0.3, select(&["k1", "k2"][..]).prop_map(Arc::from)),
            )
                .prop_map(|(topic, participants, idempotency_key)| {
                    Command::Chat(ChatCall::CreateThread {
                        topic,
                        participants,
                        idempotency_key,
                        bindings: vec![],
                        options: Default::default(),
                    })
                })
                .boxed(),
        ),
        (
            1,
            thread(threads)
                .prop_map(|thread| Command::Chat(ChatCall::GetThread { thread }))
                .boxed(),
        ),
        (
            1,
            page()
                .prop_map(|page| Command::Chat(ChatCall::ListThreads { page }))
                .boxed(),
        ),
        (
            2,
            (thread(threads), prop::option::of(topic()))
                .prop_map(|(thread, topic)| {
                    Command::Chat(ChatCall::UpdateThread {
                        thread,
                        topic,
                        options: Default::default(),
                    })
                })
                .boxed(),
        ),
        (
            1,
            thread(threads)
                .prop_map(|thread| Command::Chat(ChatCall::DeleteThread { thread }))
                .boxed(),
        ),
        (
            6,
            (thread(threads), participants())
                .prop_map(|(thread, participants)| {
                    Command::Chat(ChatCall::AddParticipants {
                        thread,
                        participants,
                    })
                })
                .boxed(),
        ),
        (
            3,
            (thread(threads), name())
                .prop_map(|(thread, user)| {
                    Command::Chat(ChatCall::RemoveParticipant { thread, user })
                })
                .boxed(),
        ),
        (
            1,
            (thread(threads), page())
                .prop_map(|(thread, page)| {
                    Command::Chat(ChatCall::ListParticipants { thread, page })
                })
                .boxed(),
        ),
        (
            30,
            (thread(threads), content(), any::<bool>(), metadata())
                .prop_map(|(thread, content, html, metadata)| {
                    Command::Chat(ChatCall::SendMessage {
                        thread,
                        content: content.into(),
                        content_type: if html {
                            ContentType::Html
                        } else {
                            ContentType::Text
                        },
                        metadata,
                        media: vec![],
                        template: None,
                    })
                })
                .boxed(),
        ),
        (
            2,
            (thread(threads), sequence())
                .prop_map(|(thread, message)| {
                    Command::Chat(ChatCall::GetMessage {
                        message: MessageId {
                            thread,
                            sequence: message,
                        },
                    })
                })
                .boxed(),
        ),
        (
            2,
            (
                thread(threads),
                page(),
                prop::option::weighted(0.3, instant()),
            )
                .prop_map(|(thread, page, start_time)| {
                    Command::Chat(ChatCall::ListMessages {
                        thread,
                        page,
                        start_time,
                    })
                })
                .boxed(),
        ),
        (
            4,
            (thread(threads), sequence(), content())
                .prop_map(|(thread, message, content)| {
                    Command::Chat(ChatCall::UpdateMessage {
                        message: MessageId {
                            thread,
                            sequence: message,
                        },
                        content,
                    })
                })
                .boxed(),
        ),
        (
            3,
            (thread(threads), sequence())
                .prop_map(|(thread, message)| {
                    Command::Chat(ChatCall::DeleteMessage {
                        message: MessageId {
                            thread,
                            sequence: message,
                        },
                    })
                })
                .boxed(),
        ),
        (
            3,
            thread(threads)
                .prop_map(|thread| Command::Chat(ChatCall::SendTyping { thread }))
                .boxed(),
        ),
        (
            3,
            (thread(threads), sequence())
                .prop_map(|(thread, message)| {
                    Command::Chat(ChatCall::SendReadReceipt {
                        message: MessageId {
                            thread,
                            sequence: message,
                        },
                    })
                })
                .boxed(),
        ),
        (
            1,
            (thread(threads), page())
                .prop_map(|(thread, page)| {
                    Command::Chat(ChatCall::ListReadReceipts { thread, page })
                })
                .boxed(),
        ),
    ];
    Union::new_weighted(arms)
}

fn step(users: u32, threads: u32) -> impl Strategy<Value = Step> {
    let advance_ms = prop_oneof![20 => Just(0u64), 8 => 1u64..2_000, 1 => 0u64..=120_000];
    (advance_ms, actor(users), command(threads)).prop_map(|(advance_ms, actor, command)| Step {
        advance_ms,
        actor,
        command,
    })
}

/// A world whose threads fit `profile`, and 1 to 60 steps in it.
fn case(profile: &Profile) -> impl Strategy<Value = (World, Vec<Step>)> {
    let named_max = (profile.participants_per_thread_max as usize - 1)
        .min(profile.participants_per_create_max as usize);
    // Steps are drawn independently of the world (for the largest one) so
    // that a failing case shrinks step by step.
    (world(named_max), vec(step(5, 3), 1..=60))
}

// ---- running and checking ----

/// An accepted call as the rate limits count it.
#[derive(Clone, Debug)]
struct Accepted {
    at: u64,
    op: Operation,
    actor: UserId,
    thread: Option<ThreadId>,
}

/// What a checked run observed.
struct Run {
    accepted: Vec<Accepted>,
    /// Refusals seen: the kind, the error variant, and for 429s which limit.
    refused: BTreeSet<String>,
}

/// A refusal's kind, its error variant and, for rate limits, the limit.
fn describe(error: &Error) -> Vec<String> {
    let debug = format!("{error:?}");
    let variant = debug.split([' ', '{']).next().unwrap_or("").to_string();
    let mut out = vec![error.kind().name().to_string(), variant];
    if let Error::RateLimited {
        operation, scope, ..
    } = error
    {
        out.push(format!("{operation:?}/{scope:?}"));
    }
    out
}

/// Runs `steps` on a fresh world, checking after every step that the invariants
/// hold and that a refused call changed nothing.
fn run_checked(world: &World, profile: &Profile, steps: &[Step]) -> Result<Run, TestCaseError> {
    let mut sim = build(world, profile);
    if let Err(e) = sim.state().check_invariants() {
        return Err(TestCaseError::fail(format!(
            "the world broke an invariant: {e}"
        )));
    }
    let mut accepted = Vec::new();
    let mut refused = BTreeSet::new();
    for (i, step) in steps.iter().enumerate() {
        sim.advance(Duration::from_ms(step.advance_ms));
        let before: State = sim.state().clone();
        let result = sim.execute(step.actor, &step.command);
        if let Err(e) = sim.state().check_invariants() {
            return Err(TestCaseError::fail(format!(
                "step {i} ({:?} as {:?} -> {result:?}) broke an invariant: {e}",
                step.command, step.actor
            )));
        }
        match result {
            Err(error) => {
                prop_assert!(
                    sim.state() == &before,
                    "step {}: refused {:?} ({}) changed the state",
                    i,
                    step.command,
                    error
                );
                refused.extend(describe(&error));
            }
            Ok(reply) => {
                // An idempotent replay executes nothing, so no limit counts it.
                let replay = matches!(&reply, Reply::ThreadCreated { thread, .. }
                    if before.thread(thread.id).is_some());
                // Identity calls are the service's: no user's limits count them.
                let identity = matches!(
                    step.command,
                    Command::Service(ServiceCall::CreateUser { .. })
                        | Command::Service(ServiceCall::DeleteUser { .. })
                );
                if let (Some(actor), false, false) = (step.actor, identity, replay) {
                    accepted.push(Accepted {
                        at: sim.now().ms(),
                        op: step.command.operation(),
                        actor,
                        thread: step.command.thread(),
                    });
                }
            }
        }
    }
    Ok(Run { accepted, refused })
}

/// Runs `steps` without checks, for the replay comparison.
fn run_plain(world: &World, profile: &Profile, steps: &[Step]) -> Simulator {
    let mut sim = build(world, profile);
    run_more(&mut sim, steps);
    sim
}

fn run_more(sim: &mut Simulator, steps: &[Step]) {
    for step in steps {
        sim.advance(Duration::from_ms(step.advance_ms));
        let _ = sim.execute(step.actor, &step.command);
    }
}

/// No limit of the profile admitted more than `count` calls within any span
/// shorter than `window_ms`, per its scope's key.
fn check_windows(profile: &Profile, accepted: &[Accepted]) -> Result<(), TestCaseError> {
    for (index, limit) in profile.rate_limits.iter().enumerate() {
        let mut by_key: BTreeMap<(u32, u32), Vec<u64>> = BTreeMap::new();
        for a in accepted.iter().filter(|a| limit.operations.contains(&a.op)) {
            let key = match (limit.scope, a.thread) {
                // Every generated call comes through connection 0.
                (Scope::User | Scope::Connection, _) => (a.actor.0, 0),
                (Scope::Resource, _) => (0, 0),
                (Scope::Thread, Some(t)) => (0, t.0),
                (Scope::UserThread, Some(t)) => (a.actor.0, t.0),
                (Scope::Thread | Scope::UserThread, None) | (Scope::Sender, _) => continue,
                (other, _) => panic!("scope {other:?} is not modeled here"),
            };
            by_key.entry(key).or_default().push(a.at);
        }
        let count = limit.count as usize;
        for (key, times) in &by_key {
            for w in times.windows(count + 1) {
                prop_assert!(
                    w[count] - w[0] >= limit.window_ms,
                    "rate_limits[{}] ({:?}, {} per {} ms) admitted {} calls for key {:?} \
                     between {} and {} ms",
                    index,
                    limit.scope,
                    limit.count,
                    limit.window_ms,
                    count + 1,
                    key,
                    w[0],
                    w[count]
                );
            }
        }
    }
    Ok(())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No regression files next to the sources; a failure prints its case.
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// No panic, invariants after every step, refusals change nothing, and
    /// every rate limit holds in every window.
    #[test]
    fn arbitrary_sequences_keep_the_state_sound((world, steps) in case(&small_profile())) {
        let profile = small_profile();
        let run = run_checked(&world, &profile, &steps)?;
        check_windows(&profile, &run.accepted)?;
    }

    /// The same seed and the same calls give the same trace digest and state.
    #[test]
    fn the_same_sequence_replays_to_the_same_digest((world, steps) in case(&small_profile())) {
        let profile = small_profile();
        let first = run_plain(&world, &profile, &steps);
        let second = run_plain(&world, &profile, &steps);
        prop_assert_eq!(first.digest(), second.digest());
        prop_assert_eq!(first.trace().len(), second.trace().len());
        prop_assert!(first.state() == second.state(), "replayed states differ");
        // A fork taken halfway and run on with the rest ends where the
        // straight run does, and leaves the run it was taken from alone.
        let half = steps.len() / 2;
        let mut base = run_plain(&world, &profile, &steps[..half]);
        let base_digest = base.digest();
        let mut fork = base.fork();
        run_more(&mut fork, &steps[half..]);
        prop_assert_eq!(fork.digest(), first.digest());
        prop_assert_eq!(base.digest(), base_digest);
        run_more(&mut base, &steps[half..]);
        prop_assert_eq!(base.digest(), first.digest());
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Limits are profile data: the per-thread participant cap holds even in a
    /// profile whose per-create limit alone would let a create call exceed it.
    #[test]
    fn participant_cap_holds_when_a_create_call_could_exceed_it(
        (world, steps) in case(&cap_profile())
    ) {
        let profile = cap_profile();
        run_checked(&world, &profile, &steps)?;
    }
}

/// The generators are only worth something if the sequences reach the limits:
/// over a fixed set of generated cases, every kind of refusal the profile can
/// give must occur, rate limiting included.
#[test]
fn generated_sequences_reach_the_limits() {
    let profile = small_profile();
    let mut runner = TestRunner::deterministic();
    let strategy = case(&profile);
    let mut refused = BTreeSet::new();
    let mut accepted_sends = 0;
    for _ in 0..96 {
        let (world, steps) = strategy.new_tree(&mut runner).expect("a case").current();
        let run = run_checked(&world, &profile, &steps).expect("a sound run");
        refused.extend(run.refused);
        accepted_sends += run
            .accepted
            .iter()
            .filter(|a| a.op == Operation::SendMessage)
            .count();
    }
    let expected = [
        "bad_request",
        "unauthorized",
        "forbidden",
        "not_found",
        "conflict",
        "too_large",
        "rate_limited",
        "ThreadFull",
        "TooManyParticipantsInCall",
        "ThreadTooLargeForReceipts",
        "MessageTooLarge",
        "NotTheSender",
        "PageSize",
        "BadContinuation",
        "SendMessage/UserThread",
    ];
    let missing: Vec<&str> = expected
        .into_iter()
        .filter(|e| !refused.contains(*e))
        .collect();
    assert!(
        missing.is_empty(),
        "never refused with {missing:?}; saw {refused:?}"
    );
    assert!(accepted_sends > 100, "only {accepted_sends} sends accepted");
}
