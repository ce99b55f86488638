//! Regressions found in review: a throttled call made with a token alone, a
//! token presented by an unknown identity, and what recovery and purge keep.

use std::sync::Arc;

use serde_json::json;
use switchboard::core::{Caller, ChatCall, ConversationState, OutboxFilter};
use switchboard::rules::Channel;
use switchboard::{Command, Duration, Error, Profile, Reply, Simulator, ThreadId, UserId};

use crate::harness::{
    DAN, PROXY, acs, events, get_thread, sendbird, sim_on, timers, twilio, with_recovery,
};

/// ACS counts throttled calls; one made with a token and no identity counts
/// against the token owner's windows and answers 429, never a panic.
#[test]
fn a_throttled_token_only_call_counts_for_the_tokens_owner() {
    let mut sim = acs(1);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let token = sim.issue_token(ana, &["chat"], None).unwrap().id;
    let by_token = Caller {
        user: None,
        connection: 0,
        token: Some(token),
    };
    let get = get_thread(t);
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

/// A new active Twilio conversation of `ana`'s with inactive and closed timers.
fn active_with_timers(sim: &mut Simulator, ana: UserId, inactive: &str, closed: &str) -> ThreadId {
    let active = Some(ConversationState::Active);
    sim.client(ana)
        .create_thread_with("t", &[], timers(active, Some(inactive), Some(closed)))
        .unwrap()
}

#[test]
fn a_recovered_inactive_conversation_still_closes() {
    let mut sim = sim_on(with_recovery(&Profile::twilio()), 1);
    let ana = sim.create_user("ana").unwrap();
    let t = active_with_timers(&mut sim, ana, "PT1M", "PT10M");
    sim.advance(Duration::from_mins(2));
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().state,
        ConversationState::Inactive
    );
    sim.client(ana).delete_thread(t).unwrap();
    sim.advance(Duration::from_mins(1));
    sim.recover_thread(t).unwrap();
    sim.advance(Duration::from_days(5));
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().state,
        ConversationState::Closed
    );
}

#[test]
fn a_purged_thread_forgets_its_idempotency_key_and_counters() {
    let mut sim = acs(1);
    let ana = sim.create_user("ana").unwrap();
    let create = Command::Chat(ChatCall::CreateThread {
        topic: Arc::from("t"),
        participants: vec![],
        idempotency_key: Some(Arc::from("k")),
        bindings: vec![],
        options: Default::default(),
    });
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

    let mut sim = sendbird(1);
    let bo = sim.create_user("bo").unwrap();
    let t = sim.client(bo).create_thread("t", &[]).unwrap();
    sim.client(bo).update_metacounter(t, "likes", 3).unwrap();
    // The counter is there to forget.
    assert_eq!(sim.state().thread(t).unwrap().metacounters.len(), 1);
    sim.client(bo).delete_thread(t).unwrap();
    sim.state().check_invariants().unwrap();
    assert!(sim.state().thread(t).unwrap().metacounters.is_empty());
}

// ---- channels (review of issue 3) ----

#[test]
fn the_outbox_shows_what_was_sent_after_an_edit_or_a_delete() {
    let mut sim = twilio(1);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    sim.client(ana)
        .add_binding(t, Channel::Sms, DAN, PROXY)
        .unwrap();
    let m = sim.client(ana).send_message(t, "hello").unwrap();
    sim.advance(Duration::from_mins(1));
    sim.client(ana)
        .update_message(m, "changed later é€€")
        .unwrap();
    let sent = |sim: &Simulator| sim.outbox(&OutboxFilter::default())[0].clone();
    assert_eq!(sent(&sim).body.as_deref(), Some("hello"));
    assert_eq!(sent(&sim).segments, 1);
    sim.client(ana).delete_message(m).unwrap();
    let d = sent(&sim);
    assert_eq!((d.body.as_deref(), d.refused), (Some("hello"), None));
    // The chat view shows the deletion.
    assert_eq!(sim.client(ana).get_message(m).unwrap().content, None);
}

#[test]
fn an_inbound_message_wakes_the_conversation_and_restarts_its_timers() {
    let mut sim = twilio(1);
    let ana = sim.create_user("ana").unwrap();
    let t = active_with_timers(&mut sim, ana, "PT5M", "PT10M");
    sim.client(ana)
        .add_binding(t, Channel::Sms, DAN, PROXY)
        .unwrap();
    // Dan writes every 4 minutes: the conversation never sleeps.
    for _ in 0..5 {
        sim.advance(Duration::from_mins(4));
        sim.inbound(Channel::Sms, DAN, PROXY, "still here", vec![])
            .unwrap();
        assert_eq!(
            sim.client(ana).get_thread(t).unwrap().state,
            ConversationState::Active
        );
    }
    // Silent for 6 minutes: inactive; then a text wakes it.
    sim.advance(Duration::from_mins(6));
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().state,
        ConversationState::Inactive
    );
    sim.inbound(Channel::Sms, DAN, PROXY, "back", vec![])
        .unwrap();
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().state,
        ConversationState::Active
    );
}

#[test]
fn a_recovered_conversation_holds_its_bindings_again() {
    let mut sim = sim_on(with_recovery(&Profile::twilio()), 1);
    let ana = sim.create_user("ana").unwrap();
    let t1 = sim.client(ana).create_thread("t1", &[]).unwrap();
    sim.client(ana)
        .add_binding(t1, Channel::Sms, DAN, PROXY)
        .unwrap();
    sim.client(ana).delete_thread(t1).unwrap();
    // Meanwhile t2 binds dan and is closed, freeing the pair again.
    let t2 = sim.client(ana).create_thread("t2", &[]).unwrap();
    sim.client(ana)
        .add_binding(t2, Channel::Sms, DAN, PROXY)
        .unwrap();
    sim.client(ana)
        .set_state(t2, ConversationState::Closed)
        .unwrap();
    sim.recover_thread(t1).unwrap();
    sim.state().check_invariants().unwrap();
    // Dan's text reaches t1, and nobody else can bind the pair.
    let seq = sim.inbound(Channel::Sms, DAN, PROXY, "hi", vec![]).unwrap();
    assert!(sim.state().thread(t1).unwrap().message(seq).is_some());
    let t3 = sim.client(ana).create_thread("t3", &[]).unwrap();
    let err = sim
        .client(ana)
        .add_binding(t3, Channel::Sms, DAN, PROXY)
        .unwrap_err();
    assert_eq!(err.status(), 409);
    // Removing dan from the closed t2 does not free t1's pair.
    let err = sim
        .client(ana)
        .remove_binding(t2, Channel::Sms, DAN)
        .unwrap_err();
    assert_eq!(err.status(), 409, "closed conversations refuse changes");
    sim.state().check_invariants().unwrap();
}

#[test]
fn whatsapp_traffic_does_not_shift_sms_receipts() {
    // The SMS conversation's receipts (delivery, instant, status) with and
    // without a busy WhatsApp conversation beside it.
    let run = |with_whatsapp: bool| {
        let mut sim = twilio(4);
        let ana = sim.create_user("ana").unwrap();
        let sms = sim.client(ana).create_thread("sms", &[]).unwrap();
        sim.client(ana)
            .add_binding(sms, Channel::Sms, DAN, PROXY)
            .unwrap();
        let wa = sim.client(ana).create_thread("wa", &[]).unwrap();
        let eve = "+14255550111";
        sim.client(ana)
            .add_binding(wa, Channel::Whatsapp, eve, PROXY)
            .unwrap();
        sim.inbound(Channel::Whatsapp, eve, PROXY, "hi", vec![])
            .unwrap();
        for i in 0..20 {
            if with_whatsapp {
                sim.client(ana).send_message(wa, &format!("w{i}")).unwrap();
            }
            sim.client(ana).send_message(sms, &format!("m{i}")).unwrap();
            sim.advance(Duration::from_secs(1));
        }
        sim.advance(Duration::from_mins(30));
        let ids: Vec<u64> = sim
            .outbox(&OutboxFilter {
                thread: Some(sms),
                ..OutboxFilter::default()
            })
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(ids.len(), 20);
        let updates: Vec<(u64, u64, String)> = events(&sim, "delivery_updated")
            .into_iter()
            .filter_map(|v| {
                let id = v["delivery"].as_u64()?;
                let rank = ids.iter().position(|&i| i == id)? as u64;
                Some((rank, v["at_ms"].as_u64()?, v["status"].to_string()))
            })
            .collect();
        updates
    };
    let (alone, beside) = (run(false), run(true));
    assert!(alone.len() >= 20);
    assert_eq!(alone, beside);
}
