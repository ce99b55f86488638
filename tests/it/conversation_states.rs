//! Twilio conversation states and timers (platforms.md 4.3, 4.7) through the
//! library: active, inactive, closed; the timers' minimums and formats; a new
//! message reactivates; closed is final; Twilio's codes on the wire.

use std::sync::Arc;

use switchboard::core::{ChatCall, ConversationState, ThreadOptions};
use switchboard::profile::ErrorStyle;
use switchboard::wire::render_error;
use switchboard::{Command, Duration, Instant, Kind, Simulator, UserId};

use crate::harness::{
    MIN, acs, assert_kind, delete_message, events, refused_by, send, timers, twilio, twilio_code,
    update_message, users,
};

/// The state changes in the trace: (instant, new state, reason).
fn state_events(sim: &Simulator) -> Vec<(u64, String, String)> {
    events(sim, "state_changed")
        .iter()
        .map(|v| {
            (
                v["at_ms"].as_u64().unwrap(),
                v["to"].as_str().unwrap().to_string(),
                v["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn state(sim: &mut Simulator, user: UserId, t: switchboard::ThreadId) -> String {
    sim.client(user).get_thread(t).unwrap().state.to_string()
}

#[test]
fn timers_move_a_conversation_to_inactive_then_closed_and_a_message_reactivates_it() {
    let mut sim = twilio(2);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let active = Some(ConversationState::Active);
    let t = sim
        .client(ana)
        .create_thread_with("help", &[bo], timers(active, Some("PT1M"), Some("PT10M")))
        .unwrap();
    let view = sim.client(ana).get_thread(t).unwrap();
    let shown = view.timers.unwrap();
    assert_eq!(
        (shown.date_inactive_ms, shown.date_closed_ms),
        (Some(MIN), Some(10 * MIN))
    );
    sim.run_until(Instant(MIN - 1));
    assert_eq!(state(&mut sim, ana, t), "active");
    sim.run_until(Instant(MIN));
    assert_eq!(state(&mut sim, ana, t), "inactive");
    // A new message makes it active again and restarts both timers.
    sim.run_until(Instant(2 * MIN));
    sim.client(bo).send_message(t, "still there?").unwrap();
    assert_eq!(state(&mut sim, ana, t), "active");
    sim.run_until(Instant(3 * MIN));
    assert_eq!(state(&mut sim, ana, t), "inactive");
    sim.run_until(Instant(12 * MIN - 1));
    assert_eq!(state(&mut sim, ana, t), "inactive");
    sim.run_until(Instant(12 * MIN));
    assert_eq!(state(&mut sim, ana, t), "closed");
    assert_eq!(
        state_events(&sim),
        [
            (MIN, "inactive".into(), "timer".into()),
            (2 * MIN, "active".into(), "message".into()),
            (3 * MIN, "inactive".into(), "timer".into()),
            (12 * MIN, "closed".into(), "timer".into()),
        ]
    );
    assert_eq!(sim.next_timer(), None);
    sim.state().check_invariants().unwrap();
}

#[test]
fn closed_is_final_every_change_gets_50377_and_reads_and_deletion_still_work() {
    let mut sim = twilio(2);
    let [ana, bo] = users(&mut sim, ["ana", "bo"]);
    let t = sim.client(ana).create_thread("t", &[bo]).unwrap();
    let m = sim.client(ana).send_message(t, "hello").unwrap();
    let view = sim
        .client(ana)
        .set_state(t, ConversationState::Closed)
        .unwrap();
    assert_eq!(view.state, ConversationState::Closed);
    let before = sim.state().clone();
    let update = |topic: Option<&str>, options: ThreadOptions| {
        Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: topic.map(Arc::from),
            options,
        })
    };
    let set_state = |state| Command::Chat(ChatCall::SetState { thread: t, state });
    // (case, caller, call)
    let changes = [
        ("a message", bo, send(t, "hi")),
        (
            "a new topic",
            ana,
            update(Some("new"), ThreadOptions::default()),
        ),
        ("back to active", ana, set_state(ConversationState::Active)),
        ("closed again", ana, set_state(ConversationState::Closed)),
        (
            "new timers",
            ana,
            update(None, timers(None, Some("PT5M"), None)),
        ),
        ("an edit", ana, update_message(m, "edited")),
        ("a deleted message", ana, delete_message(m)),
        (
            "a removed participant",
            ana,
            Command::Chat(ChatCall::RemoveParticipant {
                thread: t,
                user: Arc::from("bo"),
            }),
        ),
    ];
    for (case, caller, command) in &changes {
        let e = refused_by(&mut sim, |sim| sim.execute(*caller, command));
        assert_eq!(e.kind(), Kind::Conflict, "{case}: {e}");
        assert_eq!(twilio_code(&e), 50377, "{case}");
        assert_eq!(
            render_error(&e, ErrorStyle::Twilio)["status"],
            409,
            "{case}"
        );
    }
    assert_eq!(sim.state(), &before, "refusals change nothing");
    assert!(sim.client(bo).get_message(m).is_ok());
    assert!(!sim.state().thread(t).unwrap().life.holds_bindings());
    sim.client(ana).delete_thread(t).unwrap();
}

#[test]
fn set_state_moves_between_active_and_inactive() {
    let mut sim = twilio(2);
    let ana = sim.create_user("ana").unwrap();
    let t = sim
        .client(ana)
        .create_thread_with(
            "t",
            &[],
            timers(
                Some(ConversationState::Inactive),
                Some("PT1M"),
                Some("PT30M"),
            ),
        )
        .unwrap();
    // Created inactive: no inactive timer runs, the closed one does.
    let shown = sim.client(ana).get_thread(t).unwrap().timers.unwrap();
    assert_eq!(
        (shown.date_inactive_ms, shown.date_closed_ms),
        (None, Some(30 * MIN))
    );
    sim.advance(Duration::from_mins(5));
    let view = sim
        .client(ana)
        .set_state(t, ConversationState::Active)
        .unwrap();
    assert_eq!(view.state, ConversationState::Active);
    assert_eq!(view.timers.unwrap().date_inactive_ms, Some(6 * MIN));
    // Setting the state it has changes nothing and records nothing.
    let lines = sim.trace().len();
    sim.client(ana)
        .set_state(t, ConversationState::Active)
        .unwrap();
    assert_eq!(sim.trace().len(), lines, "no state event");
    sim.client(ana)
        .set_state(t, ConversationState::Inactive)
        .unwrap();
    assert_eq!(state(&mut sim, ana, t), "inactive");
    assert_eq!(state_events(&sim).len(), 2);
}

#[test]
fn broken_timer_rules_are_refused_with_twilio_codes() {
    let mut sim = twilio(2);
    let ana = sim.create_user("ana").unwrap();
    let active = Some(ConversationState::Active);
    // (case, options, Twilio's code)
    let cases = [
        (
            "inactive after 59 s",
            timers(active, Some("PT59S"), None),
            50375,
        ),
        (
            "closed after 9 min 59 s",
            timers(active, None, Some("PT9M59S")),
            50376,
        ),
        (
            "a duration in words",
            timers(active, Some("1 minute"), None),
            50379,
        ),
        ("a month", timers(active, Some("P1M"), None), 50379),
        (
            "timers without a state",
            timers(None, Some("PT1M"), None),
            50382,
        ),
        ("created closed", to(ConversationState::Closed), 50384),
    ];
    for (case, options, code) in cases {
        let e = refused_by(&mut sim, |sim| {
            sim.client(ana).create_thread_with("t", &[], options)
        });
        assert_eq!(
            (e.kind(), twilio_code(&e)),
            (Kind::BadRequest, code),
            "{case}: {e}"
        );
    }
    // The minimums themselves are accepted; on update, timers need no state.
    let t = sim
        .client(ana)
        .create_thread_with("t", &[], timers(active, Some("PT1M"), Some("PT10M")))
        .unwrap();
    sim.client(ana)
        .update_thread_with(t, timers(None, None, Some("PT1H")))
        .unwrap();
    let shown = sim.client(ana).get_thread(t).unwrap().timers.unwrap();
    assert_eq!(shown.date_closed_ms, Some(60 * MIN));
    assert_eq!(shown.date_inactive_ms, Some(MIN));
}

#[test]
fn acs_has_no_conversation_states() {
    let mut sim = acs(0);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let e = sim
        .client(ana)
        .execute(&Command::Chat(ChatCall::SetState {
            thread: t,
            state: ConversationState::Inactive,
        }))
        .unwrap_err();
    assert_kind(&e, Kind::BadRequest);
    let e = sim
        .client(ana)
        .create_thread_with(
            "t",
            &[],
            timers(Some(ConversationState::Active), Some("PT1M"), None),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("not supported by profile acs"),
        "{e}"
    );
    assert_eq!(
        sim.client(ana).get_thread(t).unwrap().state,
        ConversationState::Active
    );
}

/// Only a state, as `update_thread`'s state option.
fn to(state: ConversationState) -> ThreadOptions {
    ThreadOptions {
        state: Some(state),
        ..ThreadOptions::default()
    }
}

#[test]
fn update_thread_with_a_state_behaves_like_set_state() {
    // Two twins: one moves the conversation with set_state, the other with
    // update_thread's state option, at the same instants.
    let run = |by_update: bool| {
        let mut sim = twilio(2);
        let [ana, bo] = users(&mut sim, ["ana", "bo"]);
        let active = Some(ConversationState::Active);
        let t = sim
            .client(ana)
            .create_thread_with("help", &[bo], timers(active, Some("PT1M"), Some("PT30M")))
            .unwrap();
        let m = sim.client(bo).send_message(t, "hello").unwrap();
        let mut views = Vec::new();
        for (at, state) in [
            (20_000, ConversationState::Inactive),
            (5 * MIN, ConversationState::Active),
            (5 * MIN + 30_000, ConversationState::Closed),
        ] {
            sim.run_until(Instant(at));
            if by_update {
                sim.client(ana).update_thread_with(t, to(state)).unwrap();
            } else {
                sim.client(ana).set_state(t, state).unwrap();
            }
            let view = sim.client(bo).get_thread(t).unwrap();
            assert_eq!(view.state, state);
            views.push(view);
        }
        // Closed is final: every change is refused with 50377, by either call.
        let before = sim.state().clone();
        let update = |state| {
            Command::Chat(ChatCall::UpdateThread {
                thread: t,
                topic: None,
                options: to(state),
            })
        };
        // (case, caller, call)
        let changes = [
            ("update to active", ana, update(ConversationState::Active)),
            (
                "update to inactive",
                ana,
                update(ConversationState::Inactive),
            ),
            ("update to closed", ana, update(ConversationState::Closed)),
            (
                "set to active",
                ana,
                Command::Chat(ChatCall::SetState {
                    thread: t,
                    state: ConversationState::Active,
                }),
            ),
            ("a message", bo, send(t, "hi")),
        ];
        for (case, caller, command) in &changes {
            let e = refused_by(&mut sim, |sim| sim.execute(*caller, command));
            assert_kind(&e, Kind::Conflict);
            assert_eq!(twilio_code(&e), 50377, "{case}");
        }
        assert_eq!(sim.state(), &before, "refusals change nothing");
        // No timer outlives the close; reads still work; the bindings are free.
        sim.advance(Duration::from_hours(2));
        assert_eq!(state(&mut sim, bo, t), "closed");
        assert!(sim.client(bo).get_message(m).is_ok());
        assert!(!sim.state().thread(t).unwrap().life.holds_bindings());
        sim.state().check_invariants().unwrap();
        let changes = events(&sim, "state_changed");
        (views, changes)
    };
    let (by_set, set_changes) = run(false);
    let (by_update, update_changes) = run(true);
    assert_eq!(by_update, by_set, "the same views");
    assert_eq!(update_changes, set_changes, "the same state events");
    // What both did: inactive (no inactive timer, the closed one still
    // counting from the message), active again (the inactive timer restarted
    // from the call), closed (no timers).
    let shown: Vec<_> = by_update
        .iter()
        .map(|v| {
            let t = v.timers.as_ref().unwrap();
            (v.state, t.date_inactive_ms, t.date_closed_ms)
        })
        .collect();
    assert_eq!(
        shown,
        [
            (ConversationState::Inactive, None, Some(30 * MIN)),
            (ConversationState::Active, Some(6 * MIN), Some(35 * MIN)),
            (ConversationState::Closed, None, None),
        ]
    );
    let moves: Vec<(u64, &str, &str, &str, &str)> = update_changes
        .iter()
        .map(|v| {
            (
                v["at_ms"].as_u64().unwrap(),
                v["from"].as_str().unwrap(),
                v["to"].as_str().unwrap(),
                v["by"].as_str().unwrap(),
                v["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            (20_000, "active", "inactive", "ana", "api"),
            (5 * MIN, "inactive", "active", "ana", "api"),
            (5 * MIN + 30_000, "active", "closed", "ana", "api"),
        ]
    );
}
