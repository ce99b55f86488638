//! Regressions found in review: a throttled call made with a token alone, a
//! token presented by an unknown identity, and what recovery and purge keep.

use std::sync::Arc;

use serde_json::json;
use switchboard::core::{Caller, ConversationState, StateTimers, ThreadOptions};
use switchboard::{Command, Duration, Error, Profile, Reply, Simulator};

/// ACS counts throttled calls; one made with a token and no identity counts
/// against the token owner's windows and answers 429, never a panic.
#[test]
fn a_throttled_token_only_call_counts_for_the_tokens_owner() {
    let mut sim = Simulator::builder().seed(1).build();
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let token = sim.issue_token(ana, &["chat"], None).unwrap().id;
    let by_token = Caller {
        user: None,
        connection: 0,
        token: Some(token),
    };
    let get = Command::GetThread { thread: t };
    // Get thread: 10 per user per thread in 5 s (seed 000).
    for _ in 0..10 {
        sim.execute(by_token, &get).unwrap();
    }
    let err = sim.execute(by_token, &get).unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err}");
    // Counted as ana's: the oldest of her last ten (at 0) was replaced by the
    // refused one, so ana herself waits the whole window too.
    let err = sim.execute(ana, &get).unwrap_err();
    assert_eq!(err.retry_after_ms(), Some(5_000));
}

#[test]
fn a_token_presented_by_an_unknown_identity_is_refused() {
    let scenario = json!({
        "name": "someone else's token", "seed": 1, "profile": "acs", "users": ["ana"],
        "steps": [
            {"as": "ana", "op": "create_thread", "topic": "t", "ref": "t"},
            {"op": "issue_token", "user": "ana", "scopes": ["chat"], "ref": "tok"},
            {"as": "ghost", "token": "tok", "op": "send_message", "thread": "t",
             "content": "hi", "expect": {"status": 401}},
            {"token": "tok", "op": "send_message", "thread": "t", "content": "hi",
             "expect": {"status": 201}}
        ]
    });
    let parsed = switchboard::scenario::parse(&scenario.to_string(), None).unwrap();
    let report = switchboard::scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{}", report.failures.join("\n"));
}

fn twilio_with_recovery() -> Simulator {
    let profile = Profile::with_overrides(
        &Profile::twilio(),
        &json!({"recovery_window_ms": 86_400_000}),
    )
    .unwrap();
    Simulator::builder().seed(1).profile(profile).build()
}

#[test]
fn a_recovered_inactive_conversation_still_closes() {
    let mut sim = twilio_with_recovery();
    let ana = sim.create_user("ana").unwrap();
    let options = ThreadOptions {
        state: Some(ConversationState::Active),
        timers: Some(StateTimers {
            inactive: Some(Arc::from("PT1M")),
            closed: Some(Arc::from("PT10M")),
        }),
        ..ThreadOptions::default()
    };
    let t = sim
        .client(ana)
        .create_thread_with("t", &[], options)
        .unwrap();
    sim.advance(Duration::from_mins(2));
    assert_eq!(sim.client(ana).get_thread(t).unwrap().state, "inactive");
    sim.client(ana).delete_thread(t).unwrap();
    sim.advance(Duration::from_mins(1));
    sim.recover_thread(t).unwrap();
    sim.advance(Duration::from_days(5));
    assert_eq!(sim.client(ana).get_thread(t).unwrap().state, "closed");
}

#[test]
fn a_purged_thread_forgets_its_idempotency_key_and_counters() {
    let mut sim = Simulator::builder().seed(1).build();
    let ana = sim.create_user("ana").unwrap();
    let create = Command::CreateThread {
        topic: Arc::from("t"),
        participants: vec![],
        idempotency_key: Some(Arc::from("k")),
        bindings: vec![],
        options: Default::default(),
    };
    let first = match sim.execute(ana, &create).unwrap() {
        Reply::ThreadCreated { thread, .. } => thread.id,
        other => panic!("{other:?}"),
    };
    sim.client(ana).delete_thread(first).unwrap();
    sim.advance(Duration::from_days(31));
    sim.state().check_invariants().unwrap();
    // The key is free again: a new thread, not the purged one.
    let second = match sim.execute(ana, &create).unwrap() {
        Reply::ThreadCreated { thread, .. } => thread,
        other => panic!("{other:?}"),
    };
    assert_ne!(second.id, first);
    assert_eq!(second.deleted_at_ms, None);

    let mut sim = Simulator::builder()
        .seed(1)
        .profile(Profile::sendbird())
        .build();
    let bo = sim.create_user("bo").unwrap();
    let t = sim.client(bo).create_thread("t", &[]).unwrap();
    sim.client(bo).update_metacounter(t, "likes", 3).unwrap();
    sim.client(bo).delete_thread(t).unwrap();
    sim.state().check_invariants().unwrap();
    assert!(sim.state().thread(t).unwrap().metacounters.is_empty());
}
