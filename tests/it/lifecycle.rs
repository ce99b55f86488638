//! Retention, deletion, the operator's recovery window and the purge, through
//! the public library API: each rule at its boundary (day 29/30/90/91, the last
//! millisecond before a deletion, the last millisecond of the recovery window),
//! and a property over random schedules of creates, policy changes, deletes
//! and reads.

use proptest::prelude::*;
use serde_json::Value;
use switchboard::core::{ChatCall, NoticeKind, PageRequest, Retention, ThreadOptions};
use switchboard::{Command, Duration, Instant, Kind, Simulator, ThreadId, UserId};

use crate::harness::{DAY, acs, after_days, assert_kind, events, send, trace, twilio, users};

fn readable(sim: &mut Simulator, user: UserId, thread: ThreadId) -> bool {
    sim.client(user).get_thread(thread).is_ok()
}

#[test]
fn a_policy_deletes_after_30_to_90_days_and_nothing_else() {
    let mut sim = acs(5);
    let [ana, _] = users(&mut sim, ["ana", "bo"]);
    for (days, ok) in [(0, false), (29, false), (30, true), (90, true), (91, false)] {
        let before = sim.state().clone();
        let got = sim
            .client(ana)
            .create_thread_with("t", &[], after_days(days));
        assert_eq!(got.is_ok(), ok, "{days} days");
        if let Err(e) = got {
            assert_kind(&e, Kind::BadRequest);
            assert_eq!(sim.state(), &before, "a refused create changes nothing");
        }
    }
    // Changing to an out-of-range policy is refused the same way.
    let t = sim.client(ana).create_thread("kept", &[]).unwrap();
    for days in [29, 91] {
        let e = sim
            .client(ana)
            .update_thread_with(t, after_days(days))
            .unwrap_err();
        assert_kind(&e, Kind::BadRequest);
    }
    let view = sim.client(ana).get_thread(t).unwrap();
    assert_eq!(view.retention, Retention::None);
    assert_eq!(view.delete_at_ms, None);
}

#[test]
fn the_timer_deletes_at_the_due_millisecond_and_a_message_fits_just_before() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    sim.advance(Duration::from_hours(3));
    let created = sim.now();
    let t = sim
        .client(ana)
        .create_thread_with("support", &[bo], after_days(30))
        .unwrap();
    let due = created.after(Duration::from_days(30));
    assert_eq!(sim.next_timer(), Some(due));
    assert_eq!(
        sim.client(bo).get_thread(t).unwrap().delete_at_ms,
        Some(due.ms())
    );
    sim.run_until(Instant(due.ms() - 1));
    let last = sim.client(bo).send_message(t, "still here").unwrap();
    assert!(sim.client(ana).get_message(last).is_ok());
    assert!(events(&sim, "retention_expired").is_empty());
    sim.run_until(due);
    for e in [
        sim.client(ana).get_thread(t).unwrap_err(),
        sim.client(bo)
            .list_messages(t, PageRequest::default())
            .unwrap_err(),
        sim.client(ana).get_message(last).unwrap_err(),
        sim.client(bo).send_message(t, "too late").unwrap_err(),
    ] {
        assert_kind(&e, Kind::NotFound);
    }
    let expired = events(&sim, "retention_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["at_ms"], due.ms());
    assert_eq!(expired[0]["notified"], 2);
    // Both participants are told, by the system, at the due instant.
    for user in [ana, bo] {
        let told: Vec<_> = sim
            .inbox(user)
            .into_iter()
            .filter(|n| n.kind == NoticeKind::ChatThreadDeleted)
            .collect();
        assert_eq!(told.len(), 1);
        assert_eq!((told[0].at_ms, &*told[0].from), (due.ms(), "system"));
    }
    sim.state().check_invariants().unwrap();
}

#[test]
fn a_change_moves_the_deletion_and_none_keeps_the_thread() {
    let mut sim = acs(5);
    let [ana, _] = users(&mut sim, ["ana", "bo"]);
    let shorter = sim
        .client(ana)
        .create_thread_with("90 then 30", &[], after_days(90))
        .unwrap();
    let longer = sim
        .client(ana)
        .create_thread_with("30 then 60", &[], after_days(30))
        .unwrap();
    let kept = sim
        .client(ana)
        .create_thread_with("30 then none", &[], after_days(30))
        .unwrap();
    sim.advance(Duration::from_days(10));
    let c = &mut sim.client(ana);
    c.update_thread_with(shorter, after_days(30)).unwrap();
    c.update_thread_with(longer, after_days(60)).unwrap();
    c.update_thread_with(
        kept,
        ThreadOptions {
            retention: Some(Retention::None),
            ..ThreadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(events(&sim, "retention_changed").len(), 3);
    sim.run_until(Instant(30 * DAY - 1));
    assert!(readable(&mut sim, ana, shorter));
    sim.run_until(Instant(30 * DAY));
    assert!(!readable(&mut sim, ana, shorter));
    assert!(readable(&mut sim, ana, longer) && readable(&mut sim, ana, kept));
    sim.run_until(Instant(60 * DAY - 1));
    assert!(readable(&mut sim, ana, longer));
    sim.run_until(Instant(60 * DAY));
    assert!(!readable(&mut sim, ana, longer));
    sim.advance(Duration::from_days(400));
    assert!(readable(&mut sim, ana, kept));
    assert_eq!(events(&sim, "retention_expired").len(), 2);
}

#[test]
fn a_change_whose_deadline_has_passed_deletes_the_thread_in_the_call() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let t = sim.client(ana).create_thread("old", &[bo]).unwrap();
    sim.advance(Duration::from_days(40));
    sim.client(ana)
        .update_thread_with(t, after_days(30))
        .unwrap();
    let expired = events(&sim, "retention_expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["at_ms"], 40 * DAY);
    assert_eq!(
        sim.client(bo).get_thread(t).unwrap_err().kind(),
        Kind::NotFound
    );
    sim.state().check_invariants().unwrap();
}

#[test]
fn advancing_91_days_deletes_exactly_the_threads_due_and_tells_their_participants() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let cy = sim.create_user("cy").unwrap();
    let mut due = Vec::new();
    for days in [30, 60, 90] {
        due.push(
            sim.client(ana)
                .create_thread_with(&format!("{days}"), &[bo], after_days(days))
                .unwrap(),
        );
    }
    let forever = sim.client(ana).create_thread("forever", &[cy]).unwrap();
    sim.advance(Duration::from_days(2));
    let later = sim
        .client(cy)
        .create_thread_with("created on day 2", &[bo], after_days(90))
        .unwrap();
    sim.advance(Duration::from_days(89)); // day 91
    for t in &due {
        assert!(!readable(&mut sim, ana, *t));
    }
    assert!(readable(&mut sim, ana, forever));
    assert!(readable(&mut sim, cy, later));
    assert_eq!(events(&sim, "retention_expired").len(), 3);
    let deleted = |sim: &Simulator, user| {
        sim.inbox(user)
            .iter()
            .filter(|n| n.kind == NoticeKind::ChatThreadDeleted)
            .map(|n| n.thread)
            .collect::<Vec<_>>()
    };
    assert_eq!(deleted(&sim, ana), due);
    assert_eq!(deleted(&sim, bo), due);
    assert!(deleted(&sim, cy).is_empty());
    // Day 92: the day-2 thread goes too.
    sim.advance(Duration::from_days(1));
    assert!(!readable(&mut sim, cy, later));
}

/// The trace lines of `kind` as (instant, thread).
fn at_threads(sim: &Simulator, kind: &str) -> Vec<(u64, ThreadId)> {
    events(sim, kind)
        .iter()
        .map(|v| {
            let id = v["thread"].as_str().unwrap();
            let n: u32 = id.strip_prefix('t').unwrap().parse().unwrap();
            (v["at_ms"].as_u64().unwrap(), ThreadId(n))
        })
        .collect()
}

#[test]
fn one_advance_of_91_days_runs_every_scheduled_change_deletion_and_purge_at_its_instant() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let cy = sim.create_user("cy").unwrap();
    let dee = sim.create_user("dee").unwrap();
    let policy = |days: Option<u32>| ThreadOptions {
        retention: Some(days.map_or(Retention::None, Retention::DeleteAfterDays)),
        ..ThreadOptions::default()
    };
    // (thread, its participants) at instant 0.
    let make = |sim: &mut Simulator, by: UserId, others: &[UserId], days: Option<u32>| {
        let t = sim
            .client(by)
            .create_thread_with("t", others, policy(days))
            .unwrap();
        let mut all = vec![by];
        all.extend_from_slice(others);
        (t, all)
    };
    let none = make(&mut sim, ana, &[cy], None);
    let d30 = make(&mut sim, ana, &[bo], Some(30));
    let d45 = make(&mut sim, bo, &[cy, dee], Some(45));
    let d90 = make(&mut sim, dee, &[ana], Some(90));
    let longer = make(&mut sim, cy, &[bo], Some(30)); // 30, then 60 on day 10
    let kept = make(&mut sim, bo, &[dee], Some(45)); // 45, then none on day 10
    let by_api = make(&mut sim, ana, &[bo, cy], Some(90)); // deleted by ana on day 20
    let change = |t: ThreadId, days: Option<u32>| {
        Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: None,
            options: policy(days),
        })
    };
    // Everything between now and day 91 is scheduled, so that one call runs it.
    sim.schedule(Instant(10 * DAY), Some(cy), change(longer.0, Some(60)))
        .unwrap();
    sim.schedule(Instant(10 * DAY), Some(bo), change(kept.0, None))
        .unwrap();
    sim.schedule(
        Instant(20 * DAY),
        Some(ana),
        Command::Chat(ChatCall::DeleteThread { thread: by_api.0 }),
    )
    .unwrap();
    // A message in the last millisecond of d45 lands; one at its instant does not.
    sim.schedule(Instant(45 * DAY - 1), Some(cy), send(d45.0, "last"))
        .unwrap();
    sim.schedule(Instant(45 * DAY), Some(cy), send(d45.0, "late"))
        .unwrap();
    // A thread created on day 2 with 90 days is due on day 92: after the advance.
    sim.schedule(
        Instant(2 * DAY),
        Some(cy),
        Command::Chat(ChatCall::CreateThread {
            topic: "day 2".into(),
            participants: vec![switchboard::core::ParticipantSpec::user("dee")],
            idempotency_key: None,
            options: after_days(90),
            bindings: vec![],
        }),
    )
    .unwrap();

    sim.advance(Duration::from_days(91));
    assert_eq!(sim.now(), Instant(91 * DAY));
    // Of the scheduled calls, only the message at d45's deletion was refused.
    let rejected: Vec<(u64, Value)> = events(&sim, "rejected")
        .into_iter()
        .map(|v| (v["at_ms"].as_u64().unwrap(), v["op"].clone()))
        .collect();
    assert_eq!(rejected, [(45 * DAY, "send_message".into())]);

    let day2 = at_threads(&sim, "thread_created")
        .into_iter()
        .find(|(at, _)| *at == 2 * DAY)
        .map(|(_, t)| (t, vec![cy, dee]))
        .expect("the day-2 thread was created");
    // (thread, participants, deleted at) for every thread deleted by policy.
    let by_policy = [
        (&d30, 30 * DAY),
        (&d45, 45 * DAY),
        (&longer, 60 * DAY),
        (&d90, 90 * DAY),
    ];
    let survivors = [&none, &kept, &day2];
    for (thread, _) in &by_policy {
        for &user in &thread.1 {
            let e = sim.client(user).get_thread(thread.0).unwrap_err();
            assert_eq!(e.kind(), Kind::NotFound, "{} read by {user:?}", thread.0);
            let e = sim
                .client(user)
                .list_messages(thread.0, PageRequest::default())
                .unwrap_err();
            assert_kind(&e, Kind::NotFound);
        }
    }
    for &user in &by_api.1 {
        assert!(!readable(&mut sim, user, by_api.0));
    }
    for thread in survivors {
        for &user in &thread.1 {
            assert!(readable(&mut sim, user, thread.0), "{} lost", thread.0);
        }
    }
    // The trace: one retention deletion per thread deleted by policy, at its
    // instant; the API deletion once, on day 20; nothing for the survivors.
    let mut expected: Vec<(u64, ThreadId)> = by_policy.iter().map(|(t, at)| (*at, t.0)).collect();
    expected.sort();
    assert_eq!(at_threads(&sim, "retention_expired"), expected);
    for v in events(&sim, "retention_expired") {
        let t = ThreadId(v["thread"].as_str().unwrap()[1..].parse().unwrap());
        let (thread, _) = by_policy.iter().find(|(p, _)| p.0 == t).unwrap();
        assert_eq!(v["notified"], thread.1.len(), "{t}: every participant told");
    }
    assert_eq!(at_threads(&sim, "thread_deleted"), [(20 * DAY, by_api.0)]);
    // Purged 30 days after deletion when that came before day 91 (d90's on day 120).
    assert_eq!(
        at_threads(&sim, "thread_purged"),
        [
            (50 * DAY, by_api.0),
            (60 * DAY, d30.0),
            (75 * DAY, d45.0),
            (90 * DAY, longer.0)
        ]
    );
    assert_eq!(sim.next_timer(), Some(Instant(92 * DAY)));
    // The last-millisecond message landed; the one at the instant was refused.
    let sent: Vec<u64> = events(&sim, "message_sent")
        .iter()
        .filter(|v| v["thread"] == d45.0.to_string())
        .map(|v| v["at_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(sent, [45 * DAY - 1]);
    // Inboxes: each participant of a deleted thread was told once, at the
    // deletion, by the system (by policy) or by the deleter, who is not told
    // of their own call; nobody was told of a thread that stays.
    let told = |sim: &Simulator, user: UserId| -> Vec<(ThreadId, u64, String)> {
        sim.inbox(user)
            .into_iter()
            .filter(|n| n.kind == NoticeKind::ChatThreadDeleted)
            .map(|n| (n.thread, n.at_ms, n.from.to_string()))
            .collect()
    };
    for user in [ana, bo, cy, dee] {
        let mut expected: Vec<(ThreadId, u64, String)> = by_policy
            .iter()
            .filter(|(t, _)| t.1.contains(&user))
            .map(|(t, at)| (t.0, *at, "system".to_string()))
            .collect();
        if by_api.1.contains(&user) && user != ana {
            expected.push((by_api.0, 20 * DAY, "ana".to_string()));
        }
        expected.sort_by_key(|(t, at, _)| (*at, *t));
        assert_eq!(told(&sim, user), expected, "inbox of {user:?}");
    }
    sim.state().check_invariants().unwrap();
}

#[test]
fn threads_keep_the_policy_they_were_created_under_until_changed() {
    let mut sim = acs(5);
    let [ana, _] = users(&mut sim, ["ana", "bo"]);
    let a = sim
        .client(ana)
        .create_thread_with("a", &[], after_days(45))
        .unwrap();
    let b = sim
        .client(ana)
        .create_thread_with("b", &[], after_days(45))
        .unwrap();
    sim.client(ana)
        .update_thread_with(b, after_days(80))
        .unwrap();
    let view = sim.client(ana).get_thread(a).unwrap();
    assert_eq!(view.retention, Retention::DeleteAfterDays(45));
    assert_eq!(
        serde_json::to_value(&view).unwrap()["retention"],
        serde_json::json!({"delete_after": "45d"})
    );
    sim.advance(Duration::from_days(45));
    assert!(!readable(&mut sim, ana, a));
    assert!(readable(&mut sim, ana, b));
}

#[test]
fn a_deleted_thread_is_recoverable_for_30_days_then_purged() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let t = sim.client(ana).create_thread("oops", &[bo]).unwrap();
    let m = sim.client(bo).send_message(t, "keep me").unwrap();
    sim.advance(Duration::from_hours(1));
    let deleted_at = sim.now();
    sim.client(ana).delete_thread(t).unwrap();
    assert_eq!(
        sim.client(bo).get_message(m).unwrap_err().kind(),
        Kind::NotFound
    );
    // The last millisecond of the window: the operator gets it all back.
    sim.run_until(Instant(deleted_at.ms() + 30 * DAY - 1));
    sim.recover_thread(t).unwrap();
    let back = sim.client(bo).get_message(m).unwrap();
    assert_eq!(back.content.as_deref(), Some("keep me"));
    assert_eq!(events(&sim, "thread_recovered").len(), 1);
    // Recovering a live thread is a conflict; an unknown one is not found.
    assert_eq!(sim.recover_thread(t).unwrap_err().kind(), Kind::Conflict);
    assert_eq!(
        sim.recover_thread(ThreadId(99)).unwrap_err().kind(),
        Kind::NotFound
    );
    // Deleted again: 30 days later it is purged, for good.
    sim.client(ana).delete_thread(t).unwrap();
    let again = sim.now();
    sim.run_until(Instant(again.ms() + 30 * DAY - 1));
    assert!(events(&sim, "thread_purged").is_empty());
    sim.run_until(Instant(again.ms() + 30 * DAY));
    let purged = events(&sim, "thread_purged");
    assert_eq!(purged.len(), 1);
    assert_eq!(purged[0]["at_ms"], again.ms() + 30 * DAY);
    let before = sim.state().clone();
    assert_eq!(sim.recover_thread(t).unwrap_err().kind(), Kind::NotFound);
    assert_eq!(sim.state(), &before);
    let th = sim.state().thread(t).unwrap();
    assert!(th.messages.is_empty() && th.read_receipts.is_empty() && th.topic.is_empty());
    assert_eq!(sim.next_timer(), None);
    // What reached the participants stays in their inboxes.
    assert!(
        sim.inbox(bo)
            .iter()
            .any(|n| n.kind == NoticeKind::ChatThreadDeleted)
    );
    sim.state().check_invariants().unwrap();
}

#[test]
fn recovering_a_thread_deleted_by_its_policy_drops_the_passed_policy() {
    let mut sim = acs(5);
    let [ana, _] = users(&mut sim, ["ana", "bo"]);
    let t = sim
        .client(ana)
        .create_thread_with("t", &[], after_days(30))
        .unwrap();
    sim.advance(Duration::from_days(31));
    assert!(!readable(&mut sim, ana, t));
    sim.recover_thread(t).unwrap();
    let recovered = events(&sim, "thread_recovered");
    assert_eq!(recovered[0]["retention_dropped"], true);
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().retention,
        Retention::None
    );
    sim.advance(Duration::from_days(100));
    assert!(readable(&mut sim, ana, t));
    // Recovered after an API delete, a future deadline stays armed.
    let u = sim
        .client(ana)
        .create_thread_with("u", &[], after_days(30))
        .unwrap();
    sim.advance(Duration::from_days(1));
    sim.client(ana).delete_thread(u).unwrap();
    sim.recover_thread(u).unwrap();
    sim.advance(Duration::from_days(29));
    assert!(!readable(&mut sim, ana, u));
}

#[test]
fn deleting_a_message_is_immediate_and_permanent() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let t = sim.client(ana).create_thread("t", &[bo]).unwrap();
    let m = sim.client(ana).send_message(t, "secret").unwrap();
    sim.client(ana).delete_message(m).unwrap();
    let seen = sim.client(bo).get_message(m).unwrap();
    assert_eq!((seen.content, seen.deleted_at_ms), (None, Some(0)));
    // Not even deleting and recovering the thread brings it back.
    sim.client(ana).delete_thread(t).unwrap();
    sim.recover_thread(t).unwrap();
    assert_eq!(sim.client(bo).get_message(m).unwrap().content, None);
}

#[test]
fn profiles_without_retention_refuse_policies_and_purge_at_deletion() {
    let mut sim = twilio(0);
    let [ana, _] = users(&mut sim, ["ana", "bo"]);
    let e = sim
        .client(ana)
        .create_thread_with("t", &[], after_days(30))
        .unwrap_err();
    assert_kind(&e, Kind::BadRequest);
    assert!(
        e.to_string().contains("not supported by profile twilio"),
        "{e}"
    );
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    sim.client(ana).delete_thread(t).unwrap();
    assert_eq!(events(&sim, "thread_purged").len(), 1);
    assert_eq!(sim.recover_thread(t).unwrap_err().kind(), Kind::NotFound);
    sim.state().check_invariants().unwrap();
}

// ---- the property ----

/// The recovery window of `acs`: a deleted thread is purged this long after.
const WINDOW: u64 = 30 * DAY;

#[derive(Clone, Debug)]
enum Op {
    Create(Option<u32>),
    Change(usize, Option<u32>),
    Delete(usize),
    Recover(usize),
    Read(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let days = prop_oneof![Just(None), (25u32..=95).prop_map(Some)];
    prop_oneof![
        3 => days.clone().prop_map(Op::Create),
        2 => (0usize..5, days).prop_map(|(i, d)| Op::Change(i, d)),
        2 => (0usize..5).prop_map(Op::Delete),
        2 => (0usize..5).prop_map(Op::Recover),
        3 => (0usize..5).prop_map(Op::Read),
        3 => prop_oneof![
            0u64..=DAY,
            (DAY - 2)..=(DAY + 2),
            (WINDOW - 2)..=(WINDOW + 2),
            0u64..=40 * DAY,
        ]
        .prop_map(Op::Advance),
    ]
}

/// How a thread was deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum By {
    Policy,
    Api,
}

/// What the test expects of one thread.
struct Model {
    id: ThreadId,
    created: u64,
    /// The deletion instant of its policy, if it has one.
    due: Option<u64>,
    /// When and how it was deleted, if it is deleted now.
    gone: Option<(u64, By)>,
}

impl Model {
    /// Purged for good by `now`: deleted at least the recovery window ago.
    fn purged(&self, now: u64) -> bool {
        self.gone.is_some_and(|(at, _)| at + WINDOW <= now)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// For random schedules of creates, policy changes, deletes, recoveries
    /// and reads: nothing is readable after its deletion time, nothing is
    /// deleted before it, nothing is purged before its deletion plus the
    /// recovery window, and every deletion (by policy or by API) and every
    /// purge is in the trace, once, at its instant.
    #[test]
    fn retention_deletes_exactly_when_due(ops in proptest::collection::vec(op(), 1..40)) {
        let mut sim = acs(5);
        let ana = sim.create_user("ana").unwrap();
        let mut threads: Vec<Model> = Vec::new();
        // Every deletion as (instant, how, thread), and every purge (instant, thread).
        let mut deletions: Vec<(u64, By, ThreadId)> = Vec::new();
        let mut purges: Vec<(u64, ThreadId)> = Vec::new();
        for op in ops {
            let now = sim.now().ms();
            match op {
                Op::Create(days) => {
                    let options = ThreadOptions {
                        retention: days.map(Retention::DeleteAfterDays),
                        ..ThreadOptions::default()
                    };
                    let valid = days.is_none_or(|d| (30..=90).contains(&d));
                    let got = sim.client(ana).create_thread_with("t", &[], options);
                    prop_assert_eq!(got.is_ok(), valid);
                    if let Ok(id) = got {
                        threads.push(Model {
                            id,
                            created: now,
                            due: days.map(|d| now + u64::from(d) * DAY),
                            gone: None,
                        });
                    }
                }
                Op::Change(i, days) => {
                    let Some(m) = threads.get_mut(i) else { continue };
                    let options = ThreadOptions {
                        retention: Some(days.map_or(Retention::None, Retention::DeleteAfterDays)),
                        ..ThreadOptions::default()
                    };
                    let valid = days.is_none_or(|d| (30..=90).contains(&d));
                    let got = sim.client(ana).update_thread_with(m.id, options);
                    prop_assert_eq!(got.is_ok(), valid && m.gone.is_none());
                    if got.is_ok() {
                        m.due = days.map(|d| m.created + u64::from(d) * DAY);
                        if m.due.is_some_and(|d| d <= now) {
                            // A passed deadline deletes the thread in the call.
                            m.gone = Some((now, By::Policy));
                            deletions.push((now, By::Policy, m.id));
                        }
                    }
                }
                Op::Delete(i) => {
                    let Some(m) = threads.get_mut(i) else { continue };
                    let got = sim.client(ana).delete_thread(m.id);
                    prop_assert_eq!(got.is_ok(), m.gone.is_none());
                    if got.is_ok() {
                        m.gone = Some((now, By::Api));
                        deletions.push((now, By::Api, m.id));
                    }
                }
                Op::Recover(i) => {
                    let Some(m) = threads.get_mut(i) else { continue };
                    let got = sim.recover_thread(m.id);
                    // Recoverable while deleted and not yet purged.
                    prop_assert_eq!(got.is_ok(), m.gone.is_some() && !m.purged(now));
                    if got.is_ok() {
                        m.gone = None;
                        // A passed policy is dropped; a future one stays armed.
                        if m.due.is_some_and(|d| d <= now) {
                            m.due = None;
                        }
                    }
                }
                Op::Read(i) => {
                    let Some(m) = threads.get(i) else { continue };
                    let id = m.id;
                    prop_assert_eq!(readable(&mut sim, ana, id), m.gone.is_none());
                }
                Op::Advance(ms) => {
                    // Timers fire in instant order: a thread deleted on the
                    // way may also be purged on the way.
                    sim.advance(Duration::from_ms(ms));
                    let now = sim.now().ms();
                    for m in &mut threads {
                        if let Some(d) = m.due.filter(|d| m.gone.is_none() && *d <= now) {
                            m.gone = Some((d, By::Policy));
                            deletions.push((d, By::Policy, m.id));
                        }
                    }
                }
            }
            let now = sim.now().ms();
            for m in &threads {
                if let Some((at, _)) = m.gone
                    && at + WINDOW <= now
                    && !purges.contains(&(at + WINDOW, m.id))
                {
                    purges.push((at + WINDOW, m.id));
                }
            }
            sim.state().check_invariants().map_err(TestCaseError::fail)?;
            // Every thread: live exactly while not deleted, purged exactly
            // once its recovery window has passed.
            for m in &threads {
                let t = sim.state().thread(m.id).unwrap();
                prop_assert_eq!(t.deleted_at.is_none(), m.gone.is_none(), "thread {}", m.id);
                prop_assert_eq!(t.deleted_at.map(|at| at.ms()), m.gone.map(|g| g.0));
                prop_assert_eq!(t.life.purged, m.purged(now), "thread {} purged", m.id);
            }
        }
        // Every deletion and every purge is in the trace, once, at its instant.
        let traced = |kind: &str| -> Vec<(u64, ThreadId)> {
            let mut v = at_threads(&sim, kind);
            v.sort();
            v
        };
        let expected = |by: By| -> Vec<(u64, ThreadId)> {
            let mut v: Vec<(u64, ThreadId)> = deletions
                .iter()
                .filter(|d| d.1 == by)
                .map(|d| (d.0, d.2))
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(traced("retention_expired"), expected(By::Policy));
        prop_assert_eq!(traced("thread_deleted"), expected(By::Api));
        purges.sort();
        prop_assert_eq!(traced("thread_purged"), purges);
        // The trace's recoveries follow the same deletions (none are lost).
        let recovered = events(&sim, "thread_recovered").len();
        let still_deleted = threads.iter().filter(|m| m.gone.is_some()).count();
        prop_assert_eq!(deletions.len(), recovered + still_deleted);
    }
}

// ---- check-first over lifecycle and access calls ----

mod calls {
    use std::sync::Arc;

    use proptest::prelude::*;
    use proptest::sample::select;
    use switchboard::core::{
        ChatCall, ConversationState, Retention, ServiceCall, StateTimers, ThreadOptions, TokenId,
    };
    use switchboard::{Caller, Command, Duration, Profile, Simulator, State, ThreadId, UserId};

    use crate::harness::{sim_on, users};

    #[derive(Clone, Debug)]
    struct Step {
        advance_ms: u64,
        caller: Caller,
        command: Command,
    }

    fn options() -> impl Strategy<Value = ThreadOptions> {
        let retention = prop::option::of(prop_oneof![
            Just(Retention::None),
            (25u32..=95).prop_map(Retention::DeleteAfterDays),
        ]);
        let state = prop::option::of(select(vec![
            ConversationState::Active,
            ConversationState::Inactive,
            ConversationState::Closed,
        ]));
        let timer = prop::option::of(select(vec!["PT1M", "PT30S", "PT10M", "PT2H", "P1D", "1m"]));
        let timers = prop::option::of((timer.clone(), timer).prop_map(|(i, c)| StateTimers {
            inactive: i.map(Arc::from),
            closed: c.map(Arc::from),
        }));
        (retention, state, timers).prop_map(|(retention, state, timers)| ThreadOptions {
            retention,
            state,
            timers,
        })
    }

    fn command() -> impl Strategy<Value = Command> {
        let thread = (1u32..=4).prop_map(ThreadId);
        let user = select(vec!["u0", "u1", "u2", "nobody"]).prop_map(Arc::<str>::from);
        let scopes = proptest::sample::subsequence(
            vec!["chat", "chat.join", "chat.join.limited", "voip", "bogus"],
            0..=2,
        )
        .prop_map(|s| s.into_iter().map(Arc::from).collect());
        let minutes = prop::option::of(select(vec![59 * 60_000, 3_600_000, 86_400_000, 90_000u64]));
        prop_oneof![
            3 => options().prop_map(|options| Command::Chat(ChatCall::CreateThread {
                topic: Arc::from("t"),
                participants: vec![],
                idempotency_key: None,
                options,
                bindings: vec![],
            })),
            4 => (thread.clone(), options()).prop_map(|(thread, options)| Command::Chat(ChatCall::UpdateThread {
                thread,
                topic: None,
                options,
            })),
            2 => (thread.clone(), select(vec![
                ConversationState::Active,
                ConversationState::Inactive,
                ConversationState::Closed,
            ])).prop_map(|(thread, state)| Command::Chat(ChatCall::SetState { thread, state })),
            1 => thread.clone().prop_map(|thread| Command::Chat(ChatCall::DeleteThread { thread })),
            2 => thread.clone().prop_map(|thread| Command::Service(ServiceCall::RecoverThread { thread })),
            4 => thread.clone().prop_map(|thread| Command::Chat(ChatCall::SendMessage {
                thread,
                content: "hi".into(),
                content_type: Default::default(),
                metadata: Default::default(),
                media: vec![],
                template: None,
            })),
            2 => thread.prop_map(|thread| Command::Chat(ChatCall::GetThread { thread })),
            3 => (user.clone(), scopes, minutes).prop_map(|(user, scopes, expires_in_ms)| {
                Command::Service(ServiceCall::IssueToken { user, scopes, expires_in_ms })
            }),
            1 => user.clone().prop_map(|user| Command::Service(ServiceCall::RevokeTokens { user })),
            1 => user.prop_map(|user| Command::Service(ServiceCall::DeleteUser { user })),
        ]
    }

    fn step() -> impl Strategy<Value = Step> {
        let advance =
            prop_oneof![3 => Just(0u64), 2 => 0u64..=1_200_000, 1 => 0u64..=5 * 86_400_000];
        let token = prop::option::weighted(
            0.4,
            (1u32..=3, 1u32..=6).prop_map(|(u, serial)| TokenId {
                user: UserId(u),
                serial,
            }),
        );
        (advance, prop::option::of(1u32..=4), token, command()).prop_map(
            |(advance_ms, user, token, command)| Step {
                advance_ms,
                caller: Caller {
                    user: user.map(UserId),
                    connection: 0,
                    token,
                },
                command,
            },
        )
    }

    /// Users u0, u1, u2 on `profile`, and three threads of u0's with the others.
    fn world(profile: Profile) -> Simulator {
        let mut sim = sim_on(profile, 9);
        let users = users(&mut sim, ["u0", "u1", "u2"]);
        for _ in 0..3 {
            sim.client(users[0])
                .create_thread("w", &users[1..])
                .unwrap();
        }
        sim
    }

    fn run(profile: &Profile, steps: &[Step]) -> Result<String, TestCaseError> {
        let mut sim = world(profile.clone());
        for (i, s) in steps.iter().enumerate() {
            sim.advance(Duration::from_ms(s.advance_ms));
            let before: State = sim.state().clone();
            let result = sim.execute(s.caller, &s.command);
            sim.state()
                .check_invariants()
                .map_err(|e| TestCaseError::fail(format!("step {i} {s:?}: {e}")))?;
            if let Err(e) = &result {
                prop_assert!(
                    sim.state() == &before,
                    "step {}: refused {:?} ({}) changed the state",
                    i,
                    s.command,
                    e
                );
            }
        }
        Ok(sim.digest())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Retention, recovery, states and tokens: invariants after every
        /// call, a refusal changes nothing, the same calls give the same bytes.
        #[test]
        fn lifecycle_calls_are_check_first_and_replay(
            steps in proptest::collection::vec(step(), 1..40),
            twilio in any::<bool>(),
        ) {
            let mut profile = if twilio { Profile::twilio() } else { Profile::acs() };
            // A refusal must change nothing here; ACS's counting of throttled
            // calls is the limiter's own property (rate_limits.rs).
            profile.throttled_calls_count = false;
            let first = run(&profile, &steps)?;
            prop_assert_eq!(run(&profile, &steps)?, first);
        }
    }
}

#[test]
fn timers_fire_before_calls_scheduled_at_the_same_instant() {
    let mut sim = acs(5);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let t = sim
        .client(ana)
        .create_thread_with("t", &[bo], after_days(30))
        .unwrap();
    let due = Instant(30 * DAY);
    sim.schedule(Instant(due.ms() - 1), Some(bo), send(t, "just in time"))
        .unwrap();
    sim.schedule(due, Some(bo), send(t, "too late")).unwrap();
    sim.run_until(due);
    let kinds: Vec<String> = trace(&sim)
        .into_iter()
        .filter(|v| v["at_ms"].as_u64() >= Some(due.ms() - 1))
        .map(|v| format!("{}@{}", v["kind"].as_str().unwrap(), v["at_ms"]))
        .collect();
    assert_eq!(
        kinds,
        [
            format!("message_sent@{}", due.ms() - 1),
            format!("retention_expired@{}", due.ms()),
            format!("rejected@{}", due.ms()),
        ]
    );
}
