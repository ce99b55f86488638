//! Rate limits: every row of every profile's table at its boundary (the Nth
//! call passes, the N+1th is throttled with an exact retry-after, a call one
//! millisecond early is throttled and a call on time passes), the platforms'
//! consequences, the retrying client, and a proptest of the limiter against a
//! brute-force reference model.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::json;
use switchboard::core::{
    Caller, CarrierCall, ChatCall, ContentType, MessageKind, NoticeKind, PageRequest,
    ParticipantSpec, ServiceCall,
};
use switchboard::profile::{Consequence, ErrorStyle, Operation, RateLimit, Scope};
use switchboard::rules::{Media, Status};
use switchboard::wire::render_error;
use switchboard::{Command, Duration, Error, Kind, Profile, Reply, Simulator, ThreadId, UserId};

use crate::harness::{
    HOUR, acs, acs_code, assert_kind, delete_message, events, get_thread, message, overridden,
    page, send, sim_on, trace, twilio_code, update_message,
};

// ---- a rig: users, threads and messages to spend on one row ----

const USERS: usize = 60;
const THREADS: usize = 10;
/// Own messages `u0` keeps in each thread for delete rows.
const SPARE_MESSAGES: usize = 14;

/// A world with `USERS` users in `THREADS` threads, each user with one message
/// in every thread (`u0` with `SPARE_MESSAGES`), built through retrying
/// clients and then left idle for an hour so every window is empty.
struct Rig {
    sim: Simulator,
    users: Vec<UserId>,
    threads: Vec<ThreadId>,
    /// (user index, thread index) -> own message sequence ids, oldest first.
    messages: BTreeMap<(usize, usize), Vec<u32>>,
}

fn name(i: usize) -> String {
    format!("u{i}")
}

/// Runs a service call, waiting out 429s on the virtual clock.
fn service(sim: &mut Simulator, command: &Command) -> Reply {
    loop {
        match sim.execute(None, command) {
            Err(Error::RateLimited { retry_after_ms, .. }) => {
                sim.advance(Duration::from_ms(retry_after_ms))
            }
            result => return result.unwrap(),
        }
    }
}

fn create_user(sim: &mut Simulator, id: &str) -> UserId {
    service(
        sim,
        &Command::Service(ServiceCall::CreateUser {
            id: Arc::from(id),
            display_name: None,
        }),
    );
    sim.user(id).unwrap()
}

impl Rig {
    fn new(profile: Profile) -> Rig {
        let mut sim = sim_on(profile, 11);
        let users: Vec<UserId> = (0..USERS)
            .map(|i| create_user(&mut sim, &name(i)))
            .collect();
        create_user(&mut sim, "outsider");
        let everyone: Vec<UserId> = users[1..].to_vec();
        let mut threads = Vec::new();
        for i in 0..THREADS {
            let mut client = sim.client(users[0]).retrying();
            let t = client.create_thread(&format!("t{i}"), &[]).unwrap();
            for chunk in everyone.chunks(5) {
                client.add_participants(t, chunk).unwrap();
            }
            threads.push(t);
        }
        let mut messages: BTreeMap<(usize, usize), Vec<u32>> = BTreeMap::new();
        for (ti, &t) in threads.iter().enumerate() {
            for (ui, &u) in users.iter().enumerate() {
                let count = if ui == 0 { SPARE_MESSAGES } else { 1 };
                for _ in 0..count {
                    let m = sim.client(u).retrying().send_message(t, "setup").unwrap();
                    messages.entry((ui, ti)).or_default().push(m.sequence);
                }
            }
        }
        sim.advance(Duration::from_ms(HOUR));
        Rig {
            sim,
            users,
            threads,
            messages,
        }
    }
}

// ---- one row at its boundary ----

/// Who makes call `j` of a row: rotating over the dimensions the row's scope
/// does not fix, so that no narrower limit binds first.
fn subject(scope: Scope, j: usize) -> (usize, usize, u32) {
    match scope {
        Scope::UserThread => (0, 0, 0),
        Scope::User => (0, j % THREADS, 0),
        Scope::Connection => (0, j % THREADS, 1),
        Scope::Thread => (j % USERS, 0, 0),
        Scope::Resource => (j % USERS, j % THREADS, 0),
        Scope::Sender => unreachable!("SMS rows are not driven here"),
        other => panic!("scope {other:?} is not driven here"),
    }
}

/// The command for call `j` of a row of `op`, made by user `u` in thread `t`.
/// Rows that consume something (threads, identities, messages) take from
/// `pool`, prepared by `prepare`.
struct Row<'r> {
    rig: &'r mut Rig,
    pool: Vec<Arc<str>>,
    threads: Vec<ThreadId>,
    deleted: BTreeMap<(usize, usize), usize>,
    /// Threads (by index) the outsider is in.
    outsider_in: std::collections::BTreeSet<usize>,
}

impl Row<'_> {
    fn prepare(&mut self, op: Operation, scope: Scope, calls: usize) {
        match op {
            Operation::DeleteThread => {
                for j in 0..calls {
                    let (u, _, _) = subject(scope, j);
                    let user = self.rig.users[u];
                    let t = self
                        .rig
                        .sim
                        .client(user)
                        .retrying()
                        .create_thread(&format!("doomed {j}"), &[])
                        .unwrap();
                    self.threads.push(t);
                }
            }
            Operation::DeleteIdentity => {
                for j in 0..calls {
                    let id = format!("gone{j}");
                    create_user(&mut self.rig.sim, &id);
                    self.pool.push(Arc::from(id));
                }
            }
            _ => {}
        }
        self.rig.sim.advance(Duration::from_ms(HOUR));
    }

    fn command(&mut self, op: Operation, u: usize, t: usize, j: usize) -> Command {
        let thread = self.rig.threads[t];
        let own = |rig: &Rig| rig.messages[&(u, t)][0];
        match op {
            Operation::CreateThread => Command::Chat(ChatCall::CreateThread {
                topic: Arc::from("new"),
                participants: vec![],
                idempotency_key: None,
                bindings: vec![],
                options: Default::default(),
            }),
            Operation::DeleteThread => Command::Chat(ChatCall::DeleteThread {
                thread: self.threads[j],
            }),
            Operation::UpdateThread => Command::Chat(ChatCall::UpdateThread {
                thread,
                topic: Some(Arc::from(format!("topic {j}"))),
                options: Default::default(),
            }),
            Operation::GetThread => get_thread(thread),
            Operation::ListThreads => Command::Chat(ChatCall::ListThreads {
                page: PageRequest::default(),
            }),
            // Alternately add and remove one outsider: every call succeeds.
            Operation::UpdateRoster if self.outsider_in.insert(t) => {
                Command::Chat(ChatCall::AddParticipants {
                    thread,
                    participants: vec![ParticipantSpec::user("outsider")],
                })
            }
            Operation::UpdateRoster => {
                self.outsider_in.remove(&t);
                Command::Chat(ChatCall::RemoveParticipant {
                    thread,
                    user: Arc::from("outsider"),
                })
            }
            Operation::ListParticipants => Command::Chat(ChatCall::ListParticipants {
                thread,
                page: PageRequest::default(),
            }),
            Operation::SendMessage => send(thread, &format!("call {j}")),
            Operation::SendFileMessage => Command::Chat(ChatCall::SendMessage {
                thread,
                content: "".into(),
                content_type: ContentType::Text,
                metadata: BTreeMap::new(),
                media: vec![Media {
                    content_type: Arc::from("image/png"),
                    bytes: 1024,
                    name: None,
                }],
                template: None,
            }),
            Operation::GetMessage => Command::Chat(ChatCall::GetMessage {
                message: message(thread, own(self.rig)),
            }),
            Operation::ListMessages => Command::Chat(ChatCall::ListMessages {
                thread,
                page: PageRequest::default(),
                start_time: None,
            }),
            Operation::UpdateMessage => {
                update_message(message(thread, own(self.rig)), &format!("edit {j}"))
            }
            Operation::DeleteMessage => {
                let taken = self.deleted.entry((u, t)).or_default();
                let mine = &self.rig.messages[&(u, t)];
                let sequence = mine[mine.len() - 1 - *taken];
                *taken += 1;
                delete_message(message(thread, sequence))
            }
            Operation::SendTyping => Command::Chat(ChatCall::SendTyping { thread }),
            Operation::SendReadReceipt => Command::Chat(ChatCall::SendReadReceipt {
                message: message(thread, own(self.rig)),
            }),
            Operation::ListReadReceipts => Command::Chat(ChatCall::ListReadReceipts {
                thread,
                page: PageRequest::default(),
            }),
            Operation::CreateIdentity => Command::Service(ServiceCall::CreateUser {
                id: Arc::from(format!("new{j}")),
                display_name: None,
            }),
            Operation::DeleteIdentity => Command::Service(ServiceCall::DeleteUser {
                user: self.pool[j].clone(),
            }),
            Operation::UpdateProfileImage => Command::Chat(ChatCall::UpdateProfileImage {
                bytes: 1000 + j as u32,
            }),
            Operation::UpdateMetacounter => Command::Chat(ChatCall::UpdateMetacounter {
                thread,
                key: Arc::from("likes"),
                delta: 1,
            }),
            Operation::IssueToken => Command::Service(ServiceCall::IssueToken {
                user: Arc::from(name(u)),
                scopes: vec![Arc::from("chat")],
                expires_in_ms: None,
            }),
            Operation::RevokeTokens => Command::Service(ServiceCall::RevokeTokens {
                user: Arc::from(name(u)),
            }),
            Operation::RecoverThread
            | Operation::Inbound
            | Operation::SendSms
            | Operation::SendSmsTollFree
            | Operation::SendSmsShortCode => {
                unreachable!("not driven through rows (see the SMS queue test)")
            }
            other => panic!("no row drives {other:?}"),
        }
    }

    fn call(&mut self, op: Operation, scope: Scope, j: usize) -> Result<Reply, Error> {
        let (u, t, connection) = subject(scope, j);
        let (outsider_in, deleted) = (self.outsider_in.clone(), self.deleted.clone());
        let command = self.command(op, u, t, j);
        let caller = match op {
            Operation::CreateIdentity
            | Operation::DeleteIdentity
            | Operation::IssueToken
            | Operation::RevokeTokens => Caller::default(),
            _ => Caller {
                user: Some(self.rig.users[u]),
                connection,
                token: None,
            },
        };
        let result = self.rig.sim.execute(caller, &command);
        if result.is_err() {
            // A refused call consumed nothing.
            (self.outsider_in, self.deleted) = (outsider_in, deleted);
        }
        result
    }
}

/// How many keys of a limit scoped `other` the calls of a row scoped `row`
/// spread over (see [`subject`]).
fn spread(row: Scope, other: Scope) -> usize {
    use Scope::*;
    match (row, other) {
        _ if row == other => 1,
        (User | Connection, Thread | UserThread) => THREADS,
        (Thread, User | UserThread | Connection) => USERS,
        (Resource, Thread) => THREADS,
        (Resource, _) => USERS,
        _ => 1,
    }
}

/// The spacing between the calls of `row` for `op` so that no other
/// rejecting limit binds first, or None when one must (a stricter row
/// governs the operation, or the scope cannot apply to it).
fn spacing(profile: &Profile, op: Operation, row: &RateLimit) -> Option<u64> {
    let identity = matches!(
        op,
        Operation::CreateIdentity
            | Operation::DeleteIdentity
            | Operation::IssueToken
            | Operation::RevokeTokens
    );
    let threadless = identity
        || matches!(
            op,
            Operation::CreateThread | Operation::ListThreads | Operation::UpdateProfileImage
        );
    match row.scope {
        Scope::Resource => {}
        Scope::Thread | Scope::UserThread if threadless => return None,
        _ if identity => return None,
        _ => {}
    }
    let n = row.count as usize;
    let mut d = 0;
    for other in &profile.rate_limits {
        if std::ptr::eq(other, row)
            || !other.operations.contains(&op)
            || other.consequence != Consequence::Reject
        {
            continue;
        }
        let k = spread(row.scope, other.scope);
        if n.div_ceil(k) <= other.count as usize {
            continue;
        }
        if k == 1 && other.window_ms < row.window_ms {
            d = d.max(other.window_ms.div_ceil(u64::from(other.count)));
        } else {
            return None;
        }
    }
    // Too many calls to space out within the window: the narrower row binds.
    (d * (n as u64 - 1) < row.window_ms).then_some(d)
}

/// Drives row `index` of `profile` for `op` to its boundary; false when
/// another row governs the operation first.
fn boundary(rig: &Rig, index: usize, op: Operation) -> bool {
    let profile = rig.sim.profile().clone();
    let limit = profile.rate_limits[index].clone();
    let n = limit.count as usize;
    let Some(d) = spacing(&profile, op, &profile.rate_limits[index]) else {
        return false;
    };
    let mut rig = Rig {
        sim: rig.sim.fork(),
        users: rig.users.clone(),
        threads: rig.threads.clone(),
        messages: rig.messages.clone(),
    };
    let mut row = Row {
        rig: &mut rig,
        pool: vec![],
        threads: vec![],
        deleted: BTreeMap::new(),
        outsider_in: Default::default(),
    };
    row.prepare(op, limit.scope, n + 2);
    let what = format!(
        "{} row {index} ({op:?}, {:?}, {n} per {} ms)",
        profile.name, limit.scope, limit.window_ms
    );
    let notices = |row: &Row| {
        row.rig
            .sim
            .state()
            .thread(row.rig.threads[0])
            .unwrap()
            .notices
            .len()
    };
    for j in 0..n {
        if j > 0 {
            row.rig.sim.advance(Duration::from_ms(d));
        }
        let before = notices(&row);
        row.call(op, limit.scope, j)
            .unwrap_or_else(|e| panic!("{what}: call {} of {n} refused: {e}", j + 1));
        if limit.consequence == Consequence::Hide {
            assert_eq!(notices(&row), before + 1, "{what}: call {} hidden", j + 1);
        }
    }
    let first_left = match limit.consequence {
        Consequence::Reject => {
            let err = row
                .call(op, limit.scope, n)
                .expect_err(&format!("{what}: call {} admitted", n + 1));
            let Error::RateLimited {
                scope,
                window_ms,
                count,
                retry_after_ms,
                ..
            } = err.clone()
            else {
                panic!("{what}: call {} refused with {err}", n + 1)
            };
            assert_eq!(
                (scope, window_ms, count),
                (limit.scope, limit.window_ms, limit.count),
                "{what}: {err}"
            );
            check_rendering(&profile, &limit, &err);
            // The oldest counted call leaves the window first; where
            // throttled calls count, the refused one took the first's place.
            let oldest = if profile.throttled_calls_count {
                d.min(d * (n as u64 - 1))
            } else {
                0
            };
            let expected = oldest + limit.window_ms - d * (n as u64 - 1);
            assert_eq!(retry_after_ms, expected, "{what}: retry-after");
            retry_after_ms
        }
        Consequence::Hide => {
            let before = notices(&row);
            row.call(op, limit.scope, n)
                .unwrap_or_else(|e| panic!("{what}: hidden call refused: {e}"));
            assert_eq!(notices(&row), before, "{what}: call {} shown", n + 1);
            limit.window_ms - d * (n as u64 - 1)
        }
        Consequence::Queue => unreachable!("no queueing row on chat operations"),
        other => panic!("consequence {other:?} is not driven here"),
    };
    // One millisecond early: still over (on a fork, since a refusal may count).
    let mut early = row.rig.sim.fork();
    early.advance(Duration::from_ms(first_left - 1));
    let mut early_row = Rig {
        sim: early,
        users: row.rig.users.clone(),
        threads: row.rig.threads.clone(),
        messages: row.rig.messages.clone(),
    };
    let mut early_row = Row {
        rig: &mut early_row,
        pool: row.pool.clone(),
        threads: row.threads.clone(),
        deleted: row.deleted.clone(),
        outsider_in: row.outsider_in.clone(),
    };
    let before = notices(&early_row);
    let result = early_row.call(op, limit.scope, n + 1);
    match limit.consequence {
        Consequence::Hide => {
            result.unwrap();
            assert_eq!(notices(&early_row), before, "{what}: shown 1 ms early");
        }
        _ => assert!(
            matches!(result, Err(Error::RateLimited { .. })),
            "{what}: 1 ms early gave {result:?}"
        ),
    }
    // On time: admitted (and shown).
    row.rig.sim.advance(Duration::from_ms(first_left));
    let before = notices(&row);
    row.call(op, limit.scope, n + 1)
        .unwrap_or_else(|e| panic!("{what}: refused after the retry-after: {e}"));
    if limit.consequence == Consequence::Hide {
        assert_eq!(notices(&row), before + 1, "{what}: hidden after the window");
    }
    true
}

fn check_rendering(profile: &Profile, limit: &RateLimit, err: &Error) {
    let wire = render_error(err, profile.error_style);
    match profile.error_style {
        ErrorStyle::Acs => assert_eq!(acs_code(err), "TooManyRequests"),
        ErrorStyle::Twilio => {
            assert_eq!(wire["code"], 20429);
            assert_eq!(wire["status"], 429);
        }
        ErrorStyle::Sendbird => {
            assert_eq!(wire["code"], if limit.socket { 900200 } else { 500910 });
        }
        other => panic!("error style {other:?} is not checked here"),
    }
}

/// Every row of `profile`, through every operation it names that the
/// simulator has a call for and no stricter row governs (a huge shared row
/// through the first such operation only). Every row is driven at least once.
/// Returns how many (row, operation) pairs were driven.
fn every_row(profile: Profile, unreachable: &[usize]) -> usize {
    let queueing: Vec<usize> = profile
        .rate_limits
        .iter()
        .enumerate()
        .filter(|(_, l)| l.consequence == Consequence::Queue)
        .map(|(i, _)| i)
        .collect();
    let unreachable = &[unreachable, &queueing[..]].concat()[..];
    let rig = Rig::new(profile);
    let mut driven = 0;
    for (index, limit) in rig.sim.profile().rate_limits.clone().iter().enumerate() {
        let mut row_driven = 0;
        for &op in &limit.operations {
            let profile = rig.sim.profile();
            // Operator calls are not the callers' to throttle; carrier calls
            // and SMS sends (whose rows queue) have their own tests.
            let unsupported = matches!(
                op,
                Operation::RecoverThread
                    | Operation::Inbound
                    | Operation::SendSms
                    | Operation::SendSmsTollFree
                    | Operation::SendSmsShortCode
            ) || (op == Operation::UpdateProfileImage && !profile.profile_images)
                || (op == Operation::UpdateMetacounter && profile.metacounters.is_none());
            let tokens = matches!(op, Operation::IssueToken | Operation::RevokeTokens);
            if (tokens && profile.tokens.is_none())
                || unsupported
                || (limit.count > 1000 && row_driven > 0)
            {
                continue;
            }
            if boundary(&rig, index, op) {
                row_driven += 1;
            }
        }
        assert!(
            row_driven > 0 || unreachable.contains(&index),
            "{} row {index} ({limit:?}) is driven through no operation",
            rig.sim.profile().name
        );
        driven += row_driven;
    }
    driven
}

/// The index of ACS's identity "global limit per request" row.
fn acs_global_identity_row(profile: &Profile) -> usize {
    profile
        .rate_limits
        .iter()
        .position(|l| l.operations.len() == 4 && l.count == 5000)
        .expect("the global identity row")
}

/// The index of Sendbird's "4 file uploads a second" row.
fn sendbird_file_per_second_row(profile: &Profile) -> usize {
    profile
        .rate_limits
        .iter()
        .position(|l| l.operations == [Operation::SendFileMessage] && l.window_ms == 1000)
        .expect("the per-second file row")
}

#[test]
fn every_row_of_every_profile_admits_n_then_throttles_exactly() {
    // (profile, the rows that no operation drives to their boundary first,
    // how many (row, operation) pairs are driven)
    type Unreachable = fn(&Profile) -> Vec<usize>;
    let profiles: [(Profile, Unreachable, usize); 3] = [
        // The identity "global limit per request" (5000 per 30 s) cannot bind
        // before the per-call rows of the seed (500 + 500 + 500 + 100/s, 4500
        // in 30 s); it has its own test below.
        (Profile::acs(), |p| vec![acs_global_identity_row(p)], 17),
        (Profile::twilio(), |_| vec![], 19),
        // File uploads: 4 a second can never bind, because a file message is
        // also an "other event" at 3 a second (seed 004 lists both); the
        // per-minute file row is driven.
        (
            Profile::sendbird(),
            |p| vec![sendbird_file_per_second_row(p)],
            35,
        ),
    ];
    for (profile, unreachable, driven) in profiles {
        let name = profile.name.clone();
        let unreachable = unreachable(&profile);
        assert_eq!(every_row(profile, &unreachable), driven, "{name}");
    }
}

#[test]
fn acs_global_identity_row_counts_every_identity_call() {
    // With a count the per-call rows leave room for, the shared row is the
    // one that throttles, whichever identity call comes.
    let mut profile = Profile::acs();
    let global = acs_global_identity_row(&profile);
    profile.rate_limits[global].count = 300;
    let rig = Rig::new(profile);
    for op in [
        Operation::CreateIdentity,
        Operation::DeleteIdentity,
        Operation::IssueToken,
    ] {
        assert!(boundary(&rig, global, op), "{op:?}");
    }
}

// ---- the limiter against a brute-force reference model ----

/// The simplest statement of the rules: every counted instant of every
/// limit and key, kept for ever; a call passes when no applicable limit has
/// `count` instants in `(now - window, now]`; the retry-after is the first
/// instant at which none would.
#[derive(Default)]
struct Model {
    counted: BTreeMap<(usize, [u32; 3]), Vec<u64>>,
    admitted: BTreeMap<(usize, [u32; 3]), Vec<u64>>,
}

#[derive(Clone, Copy, Debug)]
struct Call {
    advance_ms: u64,
    user: u32,
    thread: u32,
    connection: u32,
    send: bool,
}

fn model_key(scope: Scope, call: &Call) -> [u32; 3] {
    const NONE: u32 = u32::MAX;
    match scope {
        Scope::User => [call.user, NONE, NONE],
        Scope::Thread => [NONE, call.thread, NONE],
        Scope::UserThread => [call.user, call.thread, NONE],
        Scope::Resource => [NONE, NONE, NONE],
        Scope::Connection => [call.user, NONE, call.connection],
        // Chat calls have no sending number: a sender row never applies.
        Scope::Sender => unreachable!("not generated"),
        other => panic!("scope {other:?} is not modeled here"),
    }
}

impl Model {
    fn full(&self, profile: &Profile, keys: &[(usize, [u32; 3])], at: u64) -> bool {
        keys.iter().any(|&(i, key)| {
            let limit = &profile.rate_limits[i];
            let live = self.counted.get(&(i, key)).map_or(0, |times| {
                times
                    .iter()
                    .filter(|&&x| x <= at && x + limit.window_ms > at)
                    .count()
            });
            live >= limit.count as usize
        })
    }

    /// Ok(()) if admitted, Err(retry_after_ms) if throttled.
    fn call(&mut self, profile: &Profile, op: Operation, call: &Call, now: u64) -> Result<(), u64> {
        let keys: Vec<(usize, [u32; 3])> = profile
            .rate_limits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.operations.contains(&op))
            .map(|(i, l)| (i, model_key(l.scope, call)))
            .collect();
        let throttled = self.full(profile, &keys, now);
        if !throttled || profile.throttled_calls_count {
            for key in &keys {
                self.counted.entry(*key).or_default().push(now);
            }
        }
        if !throttled {
            for key in &keys {
                self.admitted.entry(*key).or_default().push(now);
            }
            return Ok(());
        }
        let mut candidates: Vec<u64> = keys
            .iter()
            .flat_map(|&(i, key)| {
                let window = profile.rate_limits[i].window_ms;
                self.counted
                    .get(&(i, key))
                    .into_iter()
                    .flatten()
                    .map(move |x| x + window)
            })
            .filter(|&c| c > now)
            .collect();
        candidates.sort_unstable();
        let at = candidates
            .into_iter()
            .find(|&c| !self.full(profile, &keys, c))
            .expect("every window empties");
        Err(at - now)
    }
}

fn limit_strategy() -> impl Strategy<Value = RateLimit> {
    let ops = prop_oneof![
        Just(vec![Operation::SendMessage]),
        Just(vec![Operation::GetThread]),
        Just(vec![Operation::SendMessage, Operation::GetThread]),
    ];
    let scope = prop_oneof![
        Just(Scope::User),
        Just(Scope::Thread),
        Just(Scope::UserThread),
        Just(Scope::Resource),
        Just(Scope::Connection),
    ];
    (ops, scope, 1u64..3000, 1u32..5)
        .prop_map(|(ops, scope, window, count)| RateLimit::new(&ops, scope, window, count))
}

fn call_strategy() -> impl Strategy<Value = Call> {
    (
        prop_oneof![3 => 0u64..50, 1 => 0u64..3000],
        0u32..3,
        0u32..2,
        0u32..2,
        any::<bool>(),
    )
        .prop_map(|(advance_ms, user, thread, connection, send)| Call {
            advance_ms,
            user,
            thread,
            connection,
            send,
        })
}

proptest! {
    #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

    /// For random limits and call times, the limiter admits exactly what the
    /// model admits, reports the model's retry-after, and never admits more
    /// than a limit's count within its window.
    #[test]
    fn the_limiter_admits_exactly_what_the_model_admits(
        limits in proptest::collection::vec(limit_strategy(), 1..4),
        throttled_calls_count in any::<bool>(),
        calls in proptest::collection::vec(call_strategy(), 1..120),
    ) {
        // Only sends and thread reads are limited, so the setup counts nowhere.
        let profile = overridden(
            &Profile::acs(),
            json!({"rate_limits": limits, "throttled_calls_count": throttled_calls_count}),
        );
        let mut sim = sim_on(profile.clone(), 5);
        let users: Vec<UserId> = (0..3).map(|i| create_user(&mut sim, &name(i))).collect();
        let threads: Vec<ThreadId> = (0..2)
            .map(|i| sim.client(users[0]).create_thread(&format!("t{i}"), &users[1..]).unwrap())
            .collect();
        let mut model = Model::default();
        for call in &calls {
            sim.advance(Duration::from_ms(call.advance_ms));
            let now = sim.now().ms();
            let thread = threads[call.thread as usize];
            let (op, command) = if call.send {
                (Operation::SendMessage, send(thread, "x"))
            } else {
                (Operation::GetThread, get_thread(thread))
            };
            let caller = Caller {
                user: Some(users[call.user as usize]),
                connection: call.connection,
                token: None,
            };
            let got = match sim.execute(caller, &command) {
                Ok(_) => Ok(()),
                Err(Error::RateLimited { retry_after_ms, .. }) => Err(retry_after_ms),
                Err(other) => panic!("unexpected refusal {other}"),
            };
            let expected = model.call(&profile, op, call, now);
            prop_assert_eq!(got, expected, "call {:?} at {}", call, now);
        }
        for ((i, key), times) in &model.admitted {
            let limit = &profile.rate_limits[*i];
            let n = limit.count as usize;
            for w in times.windows(n + 1) {
                prop_assert!(w[n] - w[0] >= limit.window_ms, "limit {} key {:?} admitted {:?}", i, key, w);
            }
        }
    }
}

// ---- consequences and the retrying client ----

fn small_world(profile: Profile, users: usize) -> (Simulator, Vec<UserId>, ThreadId) {
    let mut sim = sim_on(profile, 3);
    let us: Vec<UserId> = (0..users)
        .map(|i| create_user(&mut sim, &name(i)))
        .collect();
    let t = sim
        .client(us[0])
        .retrying()
        .create_thread("t", &us[1..])
        .unwrap();
    sim.advance(Duration::from_ms(HOUR));
    (sim, us, t)
}

fn stored(sim: &mut Simulator, user: UserId, t: ThreadId) -> usize {
    sim.client(user)
        .list_messages(t, page(100))
        .unwrap()
        .items
        .iter()
        .filter(|m| m.kind == MessageKind::Text)
        .count()
}

fn received(sim: &Simulator, user: UserId) -> usize {
    sim.inbox(user)
        .iter()
        .filter(|n| n.kind == NoticeKind::ChatMessageReceived)
        .count()
}

#[test]
fn a_retrying_client_sends_a_hundred_messages_as_fast_as_sendbird_allows() {
    let (mut sim, us, t) = small_world(Profile::sendbird(), 2);
    let start = sim.now();
    let mut client = sim.client(us[0]).retrying();
    for i in 0..100 {
        client.send_message(t, &format!("m{i}")).unwrap();
    }
    // Five a second: the last five go at 19 s, not a millisecond later.
    assert_eq!(sim.now().ms() - start.ms(), 19_000);
    assert_eq!(stored(&mut sim, us[1], t), 100);
    // Five a second is also what the channel shows: none hidden.
    assert_eq!(received(&sim, us[1]), 100);
}

#[test]
fn a_retrying_client_waits_out_acs_counting_throttled_calls() {
    let (mut sim, us, t) = small_world(Profile::acs(), 2);
    let start = sim.now();
    let mut client = sim.client(us[0]).retrying();
    for i in 0..100 {
        client.send_message(t, &format!("m{i}")).unwrap();
    }
    // 50 at once; the 51st is refused, counted, and told to wait the whole
    // minute; then 50 more fit at once.
    assert_eq!(sim.now().ms() - start.ms(), 60_000);
    assert_eq!(stored(&mut sim, us[1], t), 100);
    assert_eq!(events(&sim, "rejected").len(), 1);
}

#[test]
fn a_client_without_retries_gets_the_429_and_one_with_few_gives_up() {
    let (mut sim, us, t) = small_world(Profile::sendbird(), 2);
    for _ in 0..5 {
        sim.client(us[0]).send_message(t, "x").unwrap();
    }
    let err = sim.client(us[0]).send_message(t, "x").unwrap_err();
    assert_eq!(err.retry_after_ms(), Some(1000));
    let before = sim.now();
    // Typing: one per 10 s; a client allowed no retries returns the 429 at once.
    sim.client(us[0]).send_typing(t).unwrap();
    let err = sim
        .client(us[0])
        .retrying_up_to(0)
        .send_typing(t)
        .unwrap_err();
    assert_eq!(err.retry_after_ms(), Some(10_000));
    assert_eq!(sim.now(), before);
    sim.client(us[0]).retrying_up_to(1).send_typing(t).unwrap();
    assert_eq!(sim.now().ms(), before.ms() + 10_000);
}

#[test]
fn sendbird_drops_a_users_sixth_message_in_a_second() {
    let (mut sim, us, t) = small_world(Profile::sendbird(), 2);
    for _ in 0..5 {
        sim.client(us[0]).send_message(t, "x").unwrap();
    }
    let before = sim.state().clone();
    let err = sim.client(us[0]).send_message(t, "sixth").unwrap_err();
    assert_eq!(render_error(&err, ErrorStyle::Sendbird)["code"], 900200);
    // Neither sent nor stored.
    assert!(sim.state() == &before);
    assert_eq!(stored(&mut sim, us[1], t), 5);
    assert_eq!(received(&sim, us[1]), 5);
}

#[test]
fn sendbird_stores_but_does_not_show_a_channels_sixth_message_in_a_second() {
    let (mut sim, us, t) = small_world(Profile::sendbird(), 7);
    for &u in &us[..6] {
        sim.client(u).send_message(t, "hello").unwrap();
    }
    // Stored: everyone lists six.
    assert_eq!(stored(&mut sim, us[6], t), 6);
    // Shown: the others received only five in real time.
    assert_eq!(received(&sim, us[6]), 5);
    let hidden = trace(&sim).iter().filter(|v| v["hidden"] == true).count();
    assert_eq!(hidden, 1);
    // A second later the channel shows messages again.
    sim.advance(Duration::from_ms(1000));
    sim.client(us[6]).send_message(t, "back").unwrap();
    // u0 received the four shown messages of the others, then this one.
    assert_eq!(received(&sim, us[0]), 4 + 1);
}

#[test]
fn twilio_reads_are_not_actions() {
    let (mut sim, us, t) = small_world(Profile::twilio(), 2);
    // 30 actions a second per conversation, but a hundred reads pass.
    for _ in 0..100 {
        sim.client(us[0]).get_thread(t).unwrap();
    }
    for _ in 0..30 {
        sim.client(us[1]).update_topic(t, "busy").unwrap();
    }
    let err = sim
        .client(us[0])
        .send_message(t, "31st action")
        .unwrap_err();
    assert_eq!(twilio_code(&err), 20429);
    assert_eq!(err.retry_after_ms(), Some(1000));
}

#[test]
fn per_connection_limits_count_each_connection_apart() {
    let (mut sim, us, t) = small_world(Profile::twilio(), 2);
    for _ in 0..500 {
        sim.client(us[0]).connection(1).get_thread(t).unwrap();
    }
    let err = sim.client(us[0]).connection(1).get_thread(t).unwrap_err();
    assert_kind(&err, Kind::RateLimited);
    // Another connection of the same user, and the same connection number of
    // another user, are other keys.
    sim.client(us[0]).connection(2).get_thread(t).unwrap();
    sim.client(us[1]).connection(1).get_thread(t).unwrap();
}

#[test]
fn sendbird_metacounters_and_profile_images_are_sendbird_only() {
    let (mut sim, us, t) = small_world(Profile::sendbird(), 2);
    assert_eq!(
        sim.client(us[0]).update_metacounter(t, "likes", 2).unwrap(),
        2
    );
    assert_eq!(
        sim.client(us[1])
            .update_metacounter(t, "likes", -5)
            .unwrap(),
        -3
    );
    let overflow = sim.client(us[1]).update_metacounter(t, "likes", i64::MIN);
    assert_eq!(overflow.unwrap_err().status(), 400);
    let long = "k".repeat(129);
    assert_eq!(
        sim.client(us[0])
            .update_metacounter(t, &long, 1)
            .unwrap_err()
            .status(),
        400
    );
    sim.client(us[0]).update_profile_image(2048).unwrap();
    assert_eq!(
        sim.state().user(us[0]).unwrap().profile_image_bytes,
        Some(2048)
    );
    assert_eq!(
        sim.client(us[0])
            .update_profile_image(0)
            .unwrap_err()
            .status(),
        400
    );
    for profile in [Profile::acs(), Profile::twilio()] {
        let (mut sim, us, t) = small_world(profile, 2);
        let name = sim.profile().name.clone();
        let err = sim
            .client(us[0])
            .update_metacounter(t, "likes", 1)
            .unwrap_err();
        assert!(err.to_string().contains("not supported"), "{name}: {err}");
        let err = sim.client(us[0]).update_profile_image(10).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{name}: {err}");
    }
}

/// ACS SMS over a number's throughput is queued and sent once the number is
/// back under its limit: nothing is lost, and the queued ones go exactly when
/// the window has room.
#[test]
fn acs_sms_over_the_throughput_is_queued_and_nothing_is_lost() {
    use switchboard::core::OutboxFilter;
    for (from, per_minute) in [("+18005550199", 200u32), ("12345", 6000)] {
        let mut sim = acs(9);
        let start = sim.now().ms();
        let calls = per_minute / 100 + 1;
        for c in 0..calls {
            let to: Vec<Arc<str>> = (0..100)
                .map(|i| Arc::from(format!("+1425555{:04}", c * 100 + i)))
                .collect();
            let command = Command::Carrier(CarrierCall::SendSms {
                from: Arc::from(from),
                to,
                message: Arc::from("Your code is 123456"),
                delivery_report: true,
            });
            let reply = sim.execute(None, &command).unwrap();
            let sent = matches!(&reply, Reply::SmsSent(r) if r.len() == 100 && r.iter().all(|r| r.successful));
            assert!(sent, "{from}: {reply:?}");
        }
        let total = (calls * 100) as usize;
        let finals = |sim: &Simulator| {
            sim.outbox(&OutboxFilter::default())
                .iter()
                .filter(|d| d.status != Status::Queued && d.status != Status::Sent)
                .count()
        };
        // The carrier reports within seconds: by 59.999 s exactly the first
        // `per_minute` went out; the rest waited for the window.
        sim.advance(Duration::from_ms(59_999));
        assert_eq!(finals(&sim), per_minute as usize, "{from}");
        sim.advance(Duration::from_ms(HOUR));
        assert_eq!(finals(&sim), total, "{from}: every queued SMS is sent");
        assert_eq!(sim.outbox(&OutboxFilter::default()).len(), total);
        // The first queued one was handed over at 60 s, not before.
        let first_late = events(&sim, "delivery_updated")
            .iter()
            .filter(|v| v["delivery"].as_u64() == Some(u64::from(per_minute) + 1))
            .map(|v| v["at_ms"].as_u64().unwrap())
            .min()
            .unwrap();
        assert!(first_late >= start + 60_000, "{from}: {first_late}");
    }
}

/// The queued SMS of a toll-free number are handed to the carrier exactly
/// when the window has room: the 201st at 60 s, the 401st at 120 s.
#[test]
fn acs_sms_queue_hands_each_message_over_at_its_exact_slot() {
    use switchboard::State;
    use switchboard::core::Queued;
    let mut state = State::new(Profile::acs());
    let mut handed: Vec<u64> = Vec::new();
    for c in 0..5u32 {
        let to: Vec<Arc<str>> = (0..100)
            .map(|i| Arc::from(format!("+1425555{:04}", c * 100 + i)))
            .collect();
        let command = Command::Carrier(CarrierCall::SendSms {
            from: Arc::from("+18885550100"),
            to,
            message: Arc::from("hi"),
            delivery_report: false,
        });
        let outcome = state
            .execute(None, &command, switchboard::Instant(c as u64 * 10))
            .unwrap();
        handed.extend(outcome.queued.iter().map(|q: &Queued| q.handed_at.ms()));
    }
    assert_eq!(handed.len(), 500);
    // Calls at 0, 10, 20, 30, 40 ms: 200 go at once, then each waits for the
    // message 200 places before it to leave the 60 s window.
    for (i, &at) in handed.iter().enumerate() {
        let call_at = (i as u64 / 100) * 10;
        let expected = match i {
            0..200 => call_at,
            _ => handed[i - 200] + 60_000,
        };
        assert_eq!(at, expected, "message {}", i + 1);
    }
    assert_eq!((handed[200], handed[400]), (60_000, 120_000));
    // Another number has a window of its own.
    let command = Command::Carrier(CarrierCall::SendSms {
        from: Arc::from("+18885550101"),
        to: vec![Arc::from("+14255550000")],
        message: Arc::from("hi"),
        delivery_report: false,
    });
    let outcome = state
        .execute(None, &command, switchboard::Instant(50))
        .unwrap();
    assert_eq!(outcome.queued[0].handed_at.ms(), 50);
}

#[test]
fn limits_that_could_not_act_are_refused_in_a_profile() {
    let one = |limit: serde_json::Value| json!([limit]);
    let many = |n: usize| {
        let limit =
            json!({"operations": ["get_thread"], "scope": "user", "window_ms": 1, "count": 1});
        json!(vec![limit; n])
    };
    // (case, the profile's rate limits, accepted)
    let cases = [
        (
            "a queue on chat sends",
            one(
                json!({"operations": ["send_message"], "scope": "user", "window_ms": 1000,
                       "count": 1, "consequence": "queue"}),
            ),
            false,
        ),
        (
            "hiding thread reads",
            one(
                json!({"operations": ["get_thread"], "scope": "user", "window_ms": 1000,
                       "count": 1, "consequence": "hide"}),
            ),
            false,
        ),
        (
            "a sender scope on chat sends",
            one(
                json!({"operations": ["send_message"], "scope": "sender", "window_ms": 1000,
                       "count": 1}),
            ),
            false,
        ),
        (
            "a count of zero",
            one(
                json!({"operations": ["send_message"], "scope": "user", "window_ms": 1000,
                       "count": 0}),
            ),
            false,
        ),
        ("65 limits", many(65), false),
        ("64 limits", many(64), true),
    ];
    for (case, limits, accepted) in cases {
        let got = Profile::with_overrides(&Profile::acs(), &json!({ "rate_limits": limits }));
        assert_eq!(got.is_ok(), accepted, "{case}: {limits}");
    }
}

/// A profile built by hand skips validation; the limiter still neither hangs
/// nor admits what it must not.
#[test]
fn an_unvalidated_zero_count_limit_refuses_without_hanging() {
    let mut profile = Profile::acs();
    profile.rate_limits = vec![RateLimit::new(
        &[Operation::GetThread],
        Scope::User,
        1000,
        0,
    )];
    let err = Simulator::builder()
        .profile(profile.clone())
        .try_build()
        .err();
    assert!(err.is_some_and(|e| e.contains("count")));
    let mut sim = sim_on(profile, 0);
    let ana = create_user(&mut sim, "ana");
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let err = sim.client(ana).get_thread(t).unwrap_err();
    assert_eq!(err.retry_after_ms(), Some(u64::MAX));
}

#[test]
fn the_service_retries_identity_calls_as_fast_as_acs_allows() {
    let mut sim = acs(0);
    for i in 0..501 {
        let command = Command::Service(ServiceCall::CreateUser {
            id: Arc::from(format!("user{i}")),
            display_name: None,
        });
        sim.execute_retrying(None, &command, 1).unwrap();
    }
    // 500 per 30 s: the 501st identity waited for the first to leave.
    assert_eq!(sim.now().ms(), 30_000);
}
