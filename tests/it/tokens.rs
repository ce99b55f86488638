//! Access tokens and scopes (ACS, platforms.md 1.9 and 2) through the library:
//! issue, expiry at the millisecond, revocation, deletion of the identity, the
//! JWT shape, and the scope matrix over every operation a token can be
//! presented for (on `acs`; Twilio's state changes and Sendbird's own calls on
//! those profiles with ACS's token rules) and every scope the profile accepts.

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard::core::{
    ChatCall, ConversationState, PageRequest, ParticipantSpec, ThreadOptions, TokenProblem,
    TokenView,
};
use switchboard::rules::Channel;
use switchboard::wire::acs::token_text;
use switchboard::{
    Caller, Command, Duration, Error, Instant, Kind, Profile, Simulator, ThreadId, UserId,
};

use crate::harness::{
    DAN, PROXY, acs, add_bindings, after_days, assert_kind, binding, create_thread, delete_message,
    get_thread, message, overridden, send, sim_on, twilio, update_message, users, with_tokens,
};

fn token(sim: &mut Simulator, user: UserId, scopes: &[&str], minutes: Option<u64>) -> TokenView {
    sim.issue_token(user, scopes, minutes.map(Duration::from_mins))
        .unwrap()
}

fn problem(e: Error) -> Option<TokenProblem> {
    match e {
        Error::TokenRejected { problem } => Some(problem),
        _ => None,
    }
}

fn decode(part: &str) -> Value {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in part.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    serde_json::from_slice(&out).expect("a JSON part")
}

#[test]
fn a_token_is_a_deterministic_three_part_jwt_with_its_exp() {
    let run = || {
        let mut sim = acs(11);
        let ana = sim.create_user("ana").unwrap();
        sim.advance(Duration::from_secs(90));
        let a = token(&mut sim, ana, &["chat", "voip"], None);
        let b = token(&mut sim, ana, &["chat"], Some(60));
        (a, b, sim.digest())
    };
    let (a, b, digest) = run();
    assert_eq!(run().2, digest, "same seed, same bytes");
    let text = token_text(&a);
    assert_eq!(token_text(&run().0), text);
    assert_ne!(token_text(&b), text);
    let parts: Vec<&str> = text.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert!(parts.iter().all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    }));
    assert_eq!(decode(parts[0])["typ"], "JWT");
    let payload = decode(parts[1]);
    // Default lifetime 1440 minutes from 90 s.
    assert_eq!(a.expires_on_ms, 90_000 + 1440 * 60_000);
    assert_eq!(payload["exp"], json!((90_000 + 1440 * 60_000) / 1000));
    assert_eq!(payload["iat"], json!(90));
    assert_eq!(payload["skypeid"], "acs:ana");
    assert_eq!(payload["acsScope"], "chat,voip");
    assert_eq!(a.scopes, ["chat", "voip"]);
}

#[test]
fn a_token_needs_60_to_1440_minutes_a_known_scope_and_a_live_identity() {
    let mut sim = acs(11);
    let ana = sim.create_user("ana").unwrap();
    let minutes = |m| Some(Duration::from_mins(m));
    // (case, scopes, lifetime, issued)
    let cases: [(&str, &[&str], Option<Duration>, bool); 7] = [
        ("59 minutes", &["chat"], minutes(59), false),
        ("60 minutes", &["chat"], minutes(60), true),
        ("1440 minutes", &["chat"], minutes(1440), true),
        ("1441 minutes", &["chat"], minutes(1441), false),
        (
            "60.5 minutes",
            &["chat"],
            Some(Duration::from_secs(3_630)),
            false,
        ),
        ("an unknown scope", &["chat.write"], None, false),
        ("no scope", &[], None, false),
    ];
    for (case, scopes, lifetime, issued) in cases {
        match sim.issue_token(ana, scopes, lifetime) {
            Ok(_) => assert!(issued, "{case}: issued"),
            Err(e) => {
                assert!(!issued, "{case}: {e}");
                assert_eq!(e.kind(), Kind::BadRequest, "{case}: {e}");
            }
        }
    }
    sim.delete_user(ana).unwrap();
    let e = sim.issue_token(ana, &["chat"], None).unwrap_err();
    assert_kind(&e, Kind::NotFound);
    let e = twilio(0)
        .issue_token(UserId(1), &["chat"], None)
        .unwrap_err();
    assert!(e.to_string().contains("not supported"), "{e}");
}

#[test]
fn a_token_works_until_the_millisecond_before_it_expires() {
    let mut sim = acs(11);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    sim.advance(Duration::from_ms(1_234));
    let tok = token(&mut sim, ana, &["chat"], Some(60));
    let expiry = Instant(1_234 + 3_600_000);
    assert_eq!(tok.expires_on_ms, expiry.ms());
    sim.run_until(Instant(expiry.ms() - 1));
    assert!(sim.client_with_token(tok.id).get_thread(t).is_ok());
    sim.run_until(expiry);
    let e = sim.client_with_token(tok.id).get_thread(t).unwrap_err();
    assert_eq!(e.status(), 401);
    assert_eq!(problem(e), Some(TokenProblem::Expired));
    sim.run_until(Instant(expiry.ms() + 1));
    let e = sim.client_with_token(tok.id).get_thread(t).unwrap_err();
    assert_eq!(problem(e), Some(TokenProblem::Expired));
    // Without a token the identity still acts with a valid credential.
    assert!(sim.client(ana).get_thread(t).is_ok());
}

#[test]
fn revoked_tokens_and_tokens_of_deleted_identities_get_401() {
    let mut sim = acs(11);
    let ana = sim.create_user("ana").unwrap();
    let bo = sim.create_user("bo").unwrap();
    let t = sim.client(ana).create_thread("t", &[bo]).unwrap();
    let old = token(&mut sim, ana, &["chat"], None);
    let other = token(&mut sim, ana, &["chat.join"], None);
    sim.revoke_tokens(ana).unwrap();
    for id in [old.id, other.id] {
        let e = sim.client_with_token(id).get_thread(t).unwrap_err();
        assert_eq!(problem(e), Some(TokenProblem::Revoked));
    }
    let fresh = token(&mut sim, ana, &["chat"], None);
    assert!(sim.client_with_token(fresh.id).get_thread(t).is_ok());
    // A token presented for another identity is not valid.
    let caller = Caller {
        user: Some(bo),
        connection: 0,
        token: Some(fresh.id),
    };
    let e = sim.execute(caller, &get_thread(t)).unwrap_err();
    assert_eq!(problem(e), Some(TokenProblem::Unknown));
    // Deleting the identity revokes its tokens.
    let bos = token(&mut sim, bo, &["chat"], None);
    sim.delete_user(bo).unwrap();
    let e = sim.client_with_token(bos.id).get_thread(t).unwrap_err();
    assert_eq!(e.status(), 401);
    assert!(
        sim.trace()
            .lines()
            .any(|l| l.contains("\"kind\":\"tokens_revoked\"") && l.contains("\"user\":\"bo\""))
    );
    sim.state().check_invariants().unwrap();
}

#[test]
fn a_revocation_delay_in_the_profile_keeps_tokens_working_until_it_ends() {
    let mut sim = sim_on(
        overridden(
            &Profile::acs(),
            json!({"tokens.revocation_delay_ms": 900_000}),
        ),
        0,
    );
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let tok = token(&mut sim, ana, &["chat"], None);
    sim.revoke_tokens(ana).unwrap();
    sim.run_until(Instant(900_000 - 1));
    assert!(sim.client_with_token(tok.id).get_thread(t).is_ok());
    sim.run_until(Instant(900_000));
    let e = sim.client_with_token(tok.id).get_thread(t).unwrap_err();
    assert_eq!(problem(e), Some(TokenProblem::Revoked));
}

/// Scope names and the matrix are the profile's: a scope the profile adds can
/// be issued and allows what the matrix says; a profile without tokens
/// (`"tokens": null`) refuses to issue one.
#[test]
fn the_scopes_and_their_matrix_are_profile_data() {
    let mut tokens = serde_json::to_value(Profile::acs().tokens).unwrap();
    tokens["scopes"]
        .as_array_mut()
        .unwrap()
        .push(json!("chat.read"));
    tokens["scope_matrix"]["get_thread"] = json!(["chat.read"]);
    tokens["scope_matrix"]["send_message"] = json!(["chat"]);
    let profile = Profile::with_overrides(&Profile::acs(), &json!({ "tokens": tokens })).unwrap();
    let mut sim = Simulator::builder().seed(1).profile(profile).build();
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    let reader = token(&mut sim, ana, &["chat.read"], None);
    assert_eq!(reader.scopes, ["chat.read"]);
    assert!(sim.client_with_token(reader.id).get_thread(t).is_ok());
    let joined = token(&mut sim, ana, &["chat.join"], None);
    let e = sim.client_with_token(joined.id).get_thread(t).unwrap_err();
    assert!(
        e.to_string()
            .contains("needs a token with scope chat.read."),
        "{e}"
    );
    let e = sim
        .client_with_token(joined.id)
        .send_message(t, "x")
        .unwrap_err();
    assert_eq!(e.status(), 403);
    assert!(
        e.to_string().contains("needs a token with scope chat."),
        "{e}"
    );
    let off = Profile::with_overrides(&Profile::acs(), &json!({"tokens": null})).unwrap();
    let mut sim = Simulator::builder().seed(1).profile(off).build();
    let ana = sim.create_user("ana").unwrap();
    let e = sim.issue_token(ana, &["chat"], None).unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
}

/// Labelled calls on one thread.
type Operations = Vec<(&'static str, Command)>;

/// A profile and the calls of the matrix made on it.
type Section = (Profile, fn(ThreadId) -> Operations);

/// Every call a token can be presented for on `acs`, labelled (the trusted
/// service's and the operator's calls act without an identity and never check
/// a token), as a command
/// that succeeds for `ana` holding the `chat` scope in the world of `world()`:
/// the chat calls and the lifecycle variants of create and update (retention).
fn operations(t: ThreadId) -> Operations {
    let page = PageRequest::default;
    vec![
        ("create_thread", create_thread("new", &[])),
        (
            "create_thread+retention",
            Command::Chat(ChatCall::CreateThread {
                topic: Arc::from("kept 30 days"),
                participants: vec![],
                idempotency_key: None,
                options: after_days(30),
                bindings: vec![],
            }),
        ),
        ("get_thread", get_thread(t)),
        (
            "list_threads",
            Command::Chat(ChatCall::ListThreads { page: page() }),
        ),
        (
            "update_thread",
            Command::Chat(ChatCall::UpdateThread {
                thread: t,
                topic: Some(Arc::from("renamed")),
                options: Default::default(),
            }),
        ),
        (
            "update_thread+retention",
            Command::Chat(ChatCall::UpdateThread {
                thread: t,
                topic: None,
                options: after_days(90),
            }),
        ),
        (
            "delete_thread",
            Command::Chat(ChatCall::DeleteThread { thread: t }),
        ),
        (
            "add_participants",
            Command::Chat(ChatCall::AddParticipants {
                thread: t,
                participants: vec![ParticipantSpec::user("cy")],
            }),
        ),
        (
            "remove_participant",
            Command::Chat(ChatCall::RemoveParticipant {
                thread: t,
                user: Arc::from("bo"),
            }),
        ),
        (
            "list_participants",
            Command::Chat(ChatCall::ListParticipants {
                thread: t,
                page: page(),
            }),
        ),
        ("send_message", send(t, "hi")),
        (
            "get_message",
            Command::Chat(ChatCall::GetMessage {
                message: message(t, 3),
            }),
        ),
        (
            "list_messages",
            Command::Chat(ChatCall::ListMessages {
                thread: t,
                page: page(),
                start_time: None,
            }),
        ),
        ("update_message", update_message(message(t, 3), "edited")),
        ("delete_message", delete_message(message(t, 3))),
        (
            "send_typing",
            Command::Chat(ChatCall::SendTyping { thread: t }),
        ),
        (
            "send_read_receipt",
            Command::Chat(ChatCall::SendReadReceipt {
                message: message(t, 3),
            }),
        ),
        (
            "list_read_receipts",
            Command::Chat(ChatCall::ListReadReceipts {
                thread: t,
                page: page(),
            }),
        ),
    ]
}

/// The calls only `twilio` takes (conversation states, SMS participants),
/// for `world_on` a Twilio profile that issues tokens.
fn twilio_operations(t: ThreadId) -> Operations {
    vec![
        (
            "add_participants+sms",
            add_bindings(t, vec![binding(Channel::Sms, DAN, PROXY)]),
        ),
        (
            "remove_participant+sms",
            Command::Chat(ChatCall::RemoveBinding {
                thread: t,
                channel: Channel::Sms,
                address: Arc::from(WORLD_SMS),
            }),
        ),
        (
            "set_state",
            Command::Chat(ChatCall::SetState {
                thread: t,
                state: ConversationState::Inactive,
            }),
        ),
        (
            "update_thread+state",
            Command::Chat(ChatCall::UpdateThread {
                thread: t,
                topic: None,
                options: ThreadOptions {
                    state: Some(ConversationState::Closed),
                    ..ThreadOptions::default()
                },
            }),
        ),
    ]
}

/// The calls only `sendbird` takes, for `world_on` a Sendbird profile that
/// issues tokens.
fn sendbird_operations(t: ThreadId) -> Operations {
    vec![
        (
            "update_profile_image",
            Command::Chat(ChatCall::UpdateProfileImage { bytes: 1024 }),
        ),
        (
            "update_metacounter",
            Command::Chat(ChatCall::UpdateMetacounter {
                thread: t,
                key: Arc::from("unread"),
                delta: 1,
            }),
        ),
    ]
}

/// The SMS participant of a world whose profile takes them.
const WORLD_SMS: &str = "+14255550199";

/// ana, bo, cy on `profile`; a thread of ana and bo (and an SMS participant
/// where the profile takes one) with ana's message 3.
fn world_on(profile: Profile) -> (Simulator, UserId, ThreadId) {
    let sms = profile.non_chat.is_some();
    let mut sim = sim_on(profile, 11);
    let [ana, bo, _cy] = users(&mut sim, ["ana", "bo", "cy"]);
    let t = sim.client(ana).create_thread("t", &[bo]).unwrap();
    if sms {
        sim.client(ana)
            .add_binding(t, Channel::Sms, WORLD_SMS, PROXY)
            .unwrap();
    }
    let m = sim.client(ana).send_message(t, "first").unwrap();
    assert_eq!(m.sequence, 3, "the matrix's message is m3");
    (sim, ana, t)
}

/// ana, bo, cy on `acs`; a thread of ana and bo with ana's message 3.
fn world() -> (Simulator, UserId, ThreadId) {
    world_on(Profile::acs())
}

/// Every scope the core accepts, in A5's order (the matrix's rows).
const ALL_SCOPES: [&str; 5] = [
    "chat",
    "chat.join",
    "chat.join.limited",
    "voip",
    "voip.join",
];

/// platforms.md 1.9 (A9): whether `scope` may make the call labelled `op`.
/// Managing threads (create, update with any option, delete, a Twilio state
/// change) needs `chat`; the roster `chat` or `chat.join`; every other chat
/// call any chat scope; the voip scopes allow no chat call.
fn allowed(scope: &str, op: &str) -> bool {
    let manages = op.starts_with("create_thread")
        || op.starts_with("update_thread")
        || matches!(op, "delete_thread" | "set_state");
    let roster = op.starts_with("add_participants") || op.starts_with("remove_participant");
    match scope {
        "chat" => true,
        "chat.join" => !manages,
        "chat.join.limited" => !manages && !roster,
        _ => false,
    }
}

#[test]
fn the_scope_matrix_holds_for_every_operation_and_scope() {
    let sections: [Section; 3] = [
        (Profile::acs(), operations),
        (with_tokens(&Profile::twilio()), twilio_operations),
        (with_tokens(&Profile::sendbird()), sendbird_operations),
    ];
    // The rows are every scope the profile accepts, no more, no fewer.
    assert_eq!(Profile::acs().tokens.unwrap().scopes, ALL_SCOPES);
    let mut table = String::new();
    let mut rows = 0;
    for (profile, ops) in sections {
        let name = profile.name.clone();
        let (base, ana, t) = world_on(profile);
        for scope in ALL_SCOPES {
            for (label, command) in ops(t) {
                let mut sim = base.fork();
                let tok = token(&mut sim, ana, &[scope], None);
                let before = sim.state().clone();
                let got = sim.client_with_token(tok.id).execute(&command);
                match &got {
                    Ok(_) => assert!(allowed(scope, label), "{name}: {scope} may not {label}"),
                    Err(e @ Error::MissingScope { .. }) => {
                        assert!(!allowed(scope, label), "{name}: {scope} may {label}: {e}");
                        assert_eq!(e.status(), 403);
                        assert_eq!(sim.state(), &before, "a refusal changes nothing");
                    }
                    Err(e) => panic!("{name}: {scope} {label}: unexpected {e}"),
                }
                // The call succeeds without a token: the refusal is the scope's.
                let mut plain = base.fork();
                assert!(
                    plain.client(ana).execute(&command).is_ok(),
                    "{name}: {label} fails without a token"
                );
                rows += 1;
                table.push_str(&format!(
                    "{name:<9} {scope:<18} {label:<24} {}\n",
                    if got.is_ok() { "allowed" } else { "403" }
                ));
            }
        }
    }
    assert_eq!(rows, ALL_SCOPES.len() * (18 + 4 + 2));
    // Two scopes together allow what either allows.
    let (base, ana, t) = world();
    for (scopes, label) in [
        (["voip", "chat.join"], "add_participants"),
        (["voip.join", "chat.join.limited"], "send_message"),
        (["chat.join.limited", "chat"], "delete_thread"),
    ] {
        let mut sim = base.fork();
        let tok = token(&mut sim, ana, &scopes, None);
        let (_, command) = operations(t)
            .into_iter()
            .find(|(l, _)| *l == label)
            .unwrap();
        assert!(
            sim.client_with_token(tok.id).execute(&command).is_ok(),
            "{scopes:?} {label}"
        );
    }
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("token_scope_matrix", table);
    });
}

#[test]
fn a_missing_scope_ranks_after_400_and_404() {
    let (mut sim, ana, t) = world();
    let tok = token(&mut sim, ana, &["chat.join.limited"], None);
    let c = &mut sim.client_with_token(tok.id);
    let gone = c
        .execute(&Command::Chat(ChatCall::DeleteThread {
            thread: ThreadId(77),
        }))
        .unwrap_err();
    assert_kind(&gone, Kind::NotFound);
    let empty = c
        .execute(&Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: Some(Arc::from("")),
            options: Default::default(),
        }))
        .unwrap_err();
    assert_kind(&empty, Kind::BadRequest);
    let denied = c
        .execute(&Command::Chat(ChatCall::DeleteThread { thread: t }))
        .unwrap_err();
    assert!(matches!(denied, Error::MissingScope { .. }), "{denied}");
    // An expired token is a 401 before anything else.
    sim.advance(Duration::from_days(1));
    let e = sim
        .client_with_token(tok.id)
        .execute(&Command::Chat(ChatCall::DeleteThread {
            thread: ThreadId(77),
        }))
        .unwrap_err();
    assert_eq!(e.status(), 401);
}

#[test]
fn a_scenario_step_acts_with_exactly_its_token() {
    let text = r#"{"seed": 1, "profile": "acs", "users": ["a", "b"], "steps": [
        {"as": "a", "op": "create_thread", "topic": "t", "participants": ["b"], "ref": "t"},
        {"op": "issue_token", "user": "b", "scopes": ["chat.join.limited"], "expires_in": "60m",
         "ref": "tb", "expect": {"status": 200, "result": {"expires_on_ms": 3600000, "user": "b"}}},
        {"op": "issue_token", "user": "b", "scopes": ["chat"], "expires_in": "90s", "ref": "bad",
         "expect": {"status": 400}},
        {"as": "b", "token": "tb", "op": "send_message", "thread": "t", "content": "hi",
         "expect": {"status": 201}},
        {"as": "b", "token": "tb", "op": "remove_participant", "thread": "t", "participant": "a",
         "expect": {"status": 403, "error": "forbidden"}},
        {"as": "a", "token": "tb", "op": "get_thread", "thread": "t", "expect": {"status": 401}},
        {"as": "b", "token": "bad", "op": "get_thread", "thread": "t", "expect": {"status": 401}},
        {"at": "1h", "as": "b", "token": "tb", "op": "get_thread", "thread": "bad",
         "expect": {"status": 401}},
        {"as": "b", "op": "get_thread", "thread": "t", "expect": {"status": 200}}]}"#;
    let report = switchboard::scenario::run(&switchboard::scenario::parse(text, None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
}

/// A 400 that depends on the target's state (here: a conversation full of
/// SMS participants) ranks after a missing scope's 403, like the thread cap.
#[test]
fn a_missing_scope_ranks_before_a_full_conversation() {
    let profile = overridden(
        &with_tokens(&Profile::twilio()),
        json!({"non_chat.participants_max": 1}),
    );
    let (mut sim, ana, t) = world_on(profile);
    let add = add_bindings(t, vec![binding(Channel::Sms, DAN, PROXY)]);
    let limited = token(&mut sim, ana, &["chat.join.limited"], None);
    let err = sim.client_with_token(limited.id).execute(&add).unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    let join = token(&mut sim, ana, &["chat.join"], None);
    let err = sim.client_with_token(join.id).execute(&add).unwrap_err();
    assert!(matches!(err, Error::TooManyNonChat { .. }), "{err}");
}
