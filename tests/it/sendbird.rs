//! The `sendbird` profile: group channels as threads, Sendbird's error body
//! `{"error": true, "code", "message"}` with its codes, and its maxima.

use std::sync::Arc;
use switchboard::core::{ChatCall, ServiceCall};

use serde_json::Value;
use switchboard::core::{ConversationState, ParticipantSpec, TokenProblem};
use switchboard::profile::ErrorStyle;
use switchboard::wire::render_error;
use switchboard::{Command, Error, Kind, ThreadId};

use crate::harness::{crowd, execute_checked, sendbird, thread_with};

fn body(e: &Error) -> Value {
    render_error(e, ErrorStyle::Sendbird)
}

#[test]
fn a_group_channel_lives_and_dies_like_a_thread_with_sendbird_errors() {
    let mut sim = sendbird(4);
    let ([ana, bo], t) = thread_with(&mut sim, "group", ["ana", "bo"]);
    let m = sim.client(bo).send_message(t, "hi").unwrap();
    assert!(sim.client(ana).get_message(m).is_ok());
    // 5000 bytes fit, 5001 do not (413, 400110).
    let c = &mut sim.client(ana);
    assert!(c.send_message(t, &"x".repeat(5000)).is_ok());
    let e = c.send_message(t, &"x".repeat(5001)).unwrap_err();
    assert_eq!(
        (e.kind(), body(&e)["code"].as_u64()),
        (Kind::TooLarge, Some(400110))
    );
    // Deleted channels are gone at once: no recovery window in this profile.
    sim.client(ana).delete_thread(t).unwrap();
    let e = sim.client(bo).get_message(m).unwrap_err();
    let v = body(&e);
    assert_eq!(v["error"], true);
    assert_eq!(v["code"], 400201);
    assert!(v["message"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(sim.recover_thread(t).unwrap_err().kind(), Kind::NotFound);
    sim.state().check_invariants().unwrap();
}

/// Sendbird has no partial success (`invalid_participants` null): naming a
/// user who does not exist refuses the create or the invite (404, 400201)
/// and changes nothing.
#[test]
fn naming_an_unknown_user_refuses_the_whole_call() {
    let mut sim = sendbird(4);
    let ana = sim.create_user("ana").unwrap();
    let bo = sim.create_user("bo").unwrap();
    let create = Command::Chat(ChatCall::CreateThread {
        topic: Arc::from("group"),
        participants: vec![ParticipantSpec::user("bo"), ParticipantSpec::user("ghost")],
        bindings: vec![],
        idempotency_key: None,
        options: Default::default(),
    });
    let before = sim.state().clone();
    let e = sim.execute(Some(ana), &create).unwrap_err();
    assert_eq!(
        (e.kind(), body(&e)["code"].as_u64()),
        (Kind::NotFound, Some(400201))
    );
    assert!(e.to_string().contains("ghost"), "{e}");
    assert_eq!(sim.state(), &before);
    let t = sim.client(ana).create_thread("group", &[]).unwrap();
    let before = sim.state().clone();
    let add = Command::Chat(ChatCall::AddParticipants {
        thread: t,
        participants: vec![ParticipantSpec::user("bo"), ParticipantSpec::user("ghost")],
    });
    let e = sim.execute(Some(ana), &add).unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound);
    assert_eq!(sim.state(), &before);
    assert!(sim.client(bo).get_thread(t).is_err());
}

#[test]
fn every_error_renders_as_a_six_digit_sendbird_code() {
    let errors = [
        (Error::Unauthenticated, 400108),
        (
            Error::TokenRejected {
                problem: TokenProblem::Unknown,
            },
            400302,
        ),
        (
            Error::TokenRejected {
                problem: TokenProblem::Expired,
            },
            400309,
        ),
        (
            Error::TokenRejected {
                problem: TokenProblem::Revoked,
            },
            400310,
        ),
        (
            Error::InvalidField {
                field: "topic",
                reason: "empty".into(),
            },
            400111,
        ),
        (
            Error::ThreadFull {
                count: 101,
                max: 100,
            },
            400203,
        ),
        (Error::BadContinuation { token: "x".into() }, 400109),
        (
            Error::NotAParticipant {
                thread: ThreadId(1),
                user: "bo".into(),
            },
            400108,
        ),
        (Error::UserExists { user: "bo".into() }, 400202),
        (
            Error::MessageTooLarge {
                bytes: 6000,
                max: 5000,
            },
            400110,
        ),
    ];
    for (e, code) in errors {
        let v = body(&e);
        assert_eq!(v["error"], true, "{e}");
        assert_eq!(v["code"], code, "{e}");
        let n = v["code"].as_u64().unwrap();
        assert!((100_000..1_000_000).contains(&n));
        assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    }
}

#[test]
fn a_channel_holds_100_members_and_has_no_acs_or_twilio_features() {
    let mut sim = sendbird(4);
    let users = crowd(&mut sim, "u", 101);
    let e = sim
        .client(users[0])
        .create_thread("big", &users[1..])
        .unwrap_err();
    assert_eq!(body(&e)["code"], 400100 + 103);
    assert!(
        sim.client(users[0])
            .create_thread("full", &users[1..100])
            .is_ok()
    );
    let t = sim.client(users[0]).create_thread("t", &[]).unwrap();
    let create_user = |chars: usize| {
        Command::Service(ServiceCall::CreateUser {
            id: Arc::from("x".repeat(chars)),
            display_name: None,
        })
    };
    // (case, caller, call, accepted): no tokens, no conversation states,
    // identities of at most 80 characters.
    let cases = [
        (
            "a token",
            None,
            Command::Service(ServiceCall::IssueToken {
                user: Arc::from("u0"),
                scopes: vec![Arc::from("chat")],
                expires_in_ms: None,
            }),
            false,
        ),
        (
            "a conversation state",
            Some(users[0]),
            Command::Chat(ChatCall::SetState {
                thread: t,
                state: ConversationState::Closed,
            }),
            false,
        ),
        ("an identity of 81 characters", None, create_user(81), false),
        ("an identity of 80 characters", None, create_user(80), true),
    ];
    for (case, caller, command, accepted) in cases {
        match execute_checked(&mut sim, caller, &command) {
            Ok(_) => assert!(accepted, "{case}: admitted"),
            Err(e) => {
                assert!(!accepted, "{case}: refused: {e}");
                assert_eq!(e.kind(), Kind::BadRequest, "{case}: {e}");
            }
        }
    }
}
