//! The ACS chat profile through the public library API: one focused test per
//! platform rule, each written so that a wrong implementation fails it. Every
//! refused call also checks that the state is exactly what it was before.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use switchboard::core::{
    ChatCall, MessageKind, MessageView, NoticeKind, Notification, PageRequest, ParticipantSpec,
    ServiceCall,
};
use switchboard::profile::ErrorStyle;
use switchboard::wire::render_error;
use switchboard::{Command, Duration, Instant, Kind, Profile, Reply, Simulator, ThreadId, UserId};

use crate::harness::{
    acs, acs_code, create_thread, crowd, delete_message, execute_checked, get_thread, message,
    overridden, page, refused, send, sim_on, update_message, users,
};

// ---- helpers ----

/// `acs` with `overrides`, seed 7 like the others here.
fn acs_with(overrides: serde_json::Value) -> Simulator {
    sim_on(overridden(&Profile::acs(), overrides), 7)
}

fn name(sim: &Simulator, user: UserId) -> Arc<str> {
    sim.state().user(user).expect("known user").id.clone()
}

fn specs(sim: &Simulator, users: &[UserId]) -> Vec<ParticipantSpec> {
    users
        .iter()
        .map(|u| ParticipantSpec::user(name(sim, *u)))
        .collect()
}

fn list_cmd(thread: ThreadId, page: PageRequest) -> Command {
    Command::Chat(ChatCall::ListMessages {
        thread,
        page,
        start_time: None,
    })
}

/// Every message `user` can list in `thread`, walking all pages of `size`.
fn all_messages(
    sim: &mut Simulator,
    user: UserId,
    thread: ThreadId,
    size: u32,
) -> Vec<MessageView> {
    let mut out = Vec::new();
    let mut request = page(size);
    for _ in 0..10_000 {
        let p = sim
            .client(user)
            .list_messages(thread, request.clone())
            .unwrap();
        assert!(p.items.len() <= size as usize);
        out.extend(p.items);
        match p.continuation {
            Some(c) => request.continuation = Some(c),
            None => return out,
        }
    }
    panic!("listing did not end");
}

fn seqs(messages: &[MessageView]) -> Vec<u32> {
    messages.iter().map(|m| m.sequence_id).collect()
}

fn kinds(inbox: &[Notification]) -> Vec<NoticeKind> {
    inbox.iter().map(|n| n.kind).collect()
}

fn thread_of(reply: Reply) -> ThreadId {
    match reply {
        Reply::ThreadCreated { thread, .. } => thread.id,
        other => panic!("not a created thread: {other:?}"),
    }
}

// ---- identities ----

#[test]
fn creating_an_existing_identity_is_a_409_conflict() {
    let mut sim = acs(7);
    sim.create_user("alice").unwrap();
    let err = refused(
        &mut sim,
        None,
        &Command::Service(ServiceCall::CreateUser {
            id: "alice".into(),
            display_name: None,
        }),
        Kind::Conflict,
    );
    assert_eq!(err.status(), 409);
    assert_eq!(acs_code(&err), "Conflict");
    assert_eq!(
        render_error(&err, ErrorStyle::Acs)["error"]["target"],
        "alice"
    );
}

#[test]
fn a_deleted_identity_is_refused_with_401() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    sim.delete_user(alice).unwrap();
    for command in [
        send(t, "hi"),
        get_thread(t),
        Command::Chat(ChatCall::ListThreads {
            page: PageRequest::default(),
        }),
        list_cmd(t, PageRequest::default()),
    ] {
        let err = refused(&mut sim, Some(alice), &command, Kind::Unauthorized);
        assert_eq!(err.status(), 401, "{}", command.op());
        assert_eq!(acs_code(&err), "Unauthorized", "{}", command.op());
    }
    // Others keep working; deleting again finds nobody.
    sim.client(bob).send_message(t, "still here").unwrap();
    let err = refused(
        &mut sim,
        None,
        &Command::Service(ServiceCall::DeleteUser {
            user: "alice".into(),
        }),
        Kind::NotFound,
    );
    assert_eq!(acs_code(&err), "NotFound");
    // The id stays taken.
    refused(
        &mut sim,
        None,
        &Command::Service(ServiceCall::CreateUser {
            id: "alice".into(),
            display_name: None,
        }),
        Kind::Conflict,
    );
}

#[test]
fn chat_calls_without_a_known_identity_are_401() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    refused(&mut sim, None, &send(t, "hi"), Kind::Unauthorized);
    refused(
        &mut sim,
        Some(UserId(999)),
        &send(t, "hi"),
        Kind::Unauthorized,
    );
}

// ---- creating threads ----

#[test]
fn a_thread_needs_a_topic() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    for topic in ["", "   "] {
        let err = refused(
            &mut sim,
            Some(alice),
            &create_thread(topic, &[]),
            Kind::BadRequest,
        );
        assert_eq!(acs_code(&err), "BadRequest");
    }
    assert_eq!(sim.state().live_threads(), 0);
}

#[test]
fn the_creator_joins_the_thread_automatically() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let view = sim.client(alice).get_thread(t).unwrap();
    assert_eq!(view.participant_count, 2);
    assert_eq!(&*view.created_by, "alice");
    let p = sim
        .client(bob)
        .list_participants(t, PageRequest::default())
        .unwrap();
    let who: Vec<&str> = p.items.iter().map(|p| &*p.user).collect();
    assert_eq!(who, ["alice", "bob"]);
    // The creator can write at once.
    sim.client(alice).send_message(t, "hello").unwrap();
}

#[test]
fn a_create_call_names_at_most_200_participants() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let crowd = crowd(&mut sim, "p", 201);
    let t = sim
        .client(alice)
        .create_thread("big", &crowd[..200])
        .unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        201
    );

    let participants = specs(&sim, &crowd);
    let err = refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::CreateThread {
            topic: "too big".into(),
            participants,
            idempotency_key: None,
            bindings: vec![],
            options: Default::default(),
        }),
        Kind::BadRequest,
    );
    assert_eq!(err.status(), 400);
    assert_eq!(sim.state().live_threads(), 1);
}

#[test]
fn a_thread_holds_at_most_250_participants() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let crowd = crowd(&mut sim, "p", 250);
    let t = sim
        .client(alice)
        .create_thread("big", &crowd[..200])
        .unwrap();
    sim.client(alice)
        .add_participants(t, &crowd[200..249])
        .unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        250
    );

    let last = specs(&sim, &crowd[249..]);
    let err = refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::AddParticipants {
            thread: t,
            participants: last,
        }),
        Kind::BadRequest,
    );
    assert_eq!(acs_code(&err), "BadRequest");
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        250
    );
    // A full thread still accepts a call that adds nobody new.
    sim.client(alice).add_participants(t, &crowd[..3]).unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        250
    );
}

#[test]
fn a_create_call_cannot_overfill_a_thread() {
    // With the per-create limit above the per-thread cap, a create call alone
    // can overfill a thread; the cap must hold there as it does for adds.
    let mut sim = acs_with(json!({"participants_per_thread_max": 3}));
    let alice = sim.create_user("alice").unwrap();
    let others = crowd(&mut sim, "p", 3);
    let participants = specs(&sim, &others);
    let err = refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::CreateThread {
            topic: "over".into(),
            participants,
            idempotency_key: None,
            bindings: vec![],
            options: Default::default(),
        }),
        Kind::BadRequest,
    );
    assert_eq!(acs_code(&err), "BadRequest");
    assert_eq!(sim.state().live_threads(), 0);
    // Creator plus two fills it exactly.
    let t = sim
        .client(alice)
        .create_thread("full", &others[..2])
        .unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        3
    );
}

#[test]
fn unknown_participants_are_reported_and_the_rest_are_added() {
    let mut sim = acs(7);
    let [alice, bob, carol] = users(&mut sim, ["alice", "bob", "carol"]);
    let reply = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::CreateThread {
                topic: "t".into(),
                participants: vec![ParticipantSpec::user("bob"), ParticipantSpec::user("ghost")],
                idempotency_key: None,
                bindings: vec![],
                options: Default::default(),
            }),
        )
        .unwrap();
    let Reply::ThreadCreated {
        thread,
        invalid_participants,
    } = reply
    else {
        panic!("not a created thread")
    };
    assert_eq!(thread.participant_count, 2);
    assert_eq!(invalid_participants.len(), 1);
    assert_eq!(&*invalid_participants[0].target, "ghost");
    assert_eq!(invalid_participants[0].code, "404");
    sim.client(bob).get_thread(thread.id).unwrap();

    let reply = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::AddParticipants {
                thread: thread.id,
                participants: vec![
                    ParticipantSpec::user("nobody"),
                    ParticipantSpec::user("carol"),
                ],
            }),
        )
        .unwrap();
    let Reply::ParticipantsAdded {
        invalid_participants,
    } = reply
    else {
        panic!("not an add reply")
    };
    assert_eq!(invalid_participants.len(), 1);
    assert_eq!(&*invalid_participants[0].target, "nobody");
    assert_eq!(invalid_participants[0].code, "404");
    sim.client(carol).get_thread(thread.id).unwrap();
}

#[test]
fn the_same_idempotency_key_returns_the_same_thread() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let create = |key: &str| {
        Command::Chat(ChatCall::CreateThread {
            topic: "t".into(),
            participants: vec![ParticipantSpec::user("bob")],
            idempotency_key: Some(key.into()),
            bindings: vec![],
            options: Default::default(),
        })
    };
    let first = thread_of(sim.execute(Some(alice), &create("k1")).unwrap());
    let again = thread_of(sim.execute(Some(alice), &create("k1")).unwrap());
    assert_eq!(first, again);
    assert_eq!(sim.state().live_threads(), 1);
    assert_eq!(
        sim.client(bob)
            .list_threads(PageRequest::default())
            .unwrap()
            .items
            .len(),
        1
    );
    // Nothing ran twice: the history still holds only the two creation messages.
    assert_eq!(seqs(&all_messages(&mut sim, alice, first, 50)), [2, 1]);

    let other = thread_of(sim.execute(Some(alice), &create("k2")).unwrap());
    assert_ne!(other, first);
    assert_eq!(sim.state().live_threads(), 2);
}

#[test]
fn an_idempotent_replay_returns_the_first_response() {
    // "Same key: the first response again" (core::create_thread): that includes
    // the invalid participants the first call reported.
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    sim.create_user("bob").unwrap();
    let create = Command::Chat(ChatCall::CreateThread {
        topic: "t".into(),
        participants: vec![ParticipantSpec::user("bob"), ParticipantSpec::user("ghost")],
        idempotency_key: Some("k".into()),
        bindings: vec![],
        options: Default::default(),
    });
    let first = sim.execute(Some(alice), &create).unwrap();
    let replay = sim.execute(Some(alice), &create).unwrap();
    assert_eq!(replay, first);
}

// ---- reading, updating and deleting threads ----

#[test]
fn a_caller_lists_only_their_own_threads_newest_first_in_pages() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let mut alices = Vec::new();
    for i in 0..5 {
        let with: &[UserId] = if i == 1 { &[] } else { &[bob] };
        alices.push(
            sim.client(alice)
                .create_thread(&format!("a{i}"), with)
                .unwrap(),
        );
    }
    let bobs_own = sim.client(bob).create_thread("b", &[]).unwrap();

    let mut seen = Vec::new();
    let mut request = page(2);
    let mut pages = 0;
    loop {
        let p = sim.client(alice).list_threads(request.clone()).unwrap();
        assert!(p.items.len() <= 2);
        pages += 1;
        seen.extend(p.items.iter().map(|t| t.id));
        match p.continuation {
            Some(c) => request.continuation = Some(c),
            None => break,
        }
    }
    let newest_first: Vec<ThreadId> = alices.iter().rev().copied().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(pages, 3);

    let bob_sees: Vec<ThreadId> = sim
        .client(bob)
        .list_threads(PageRequest::default())
        .unwrap()
        .items
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        bob_sees,
        [bobs_own, alices[4], alices[3], alices[2], alices[0]]
    );
}

#[test]
fn updating_the_topic_posts_a_system_message_and_notifies() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("old", &[bob]).unwrap();
    sim.advance(Duration::from_ms(10));
    sim.client(alice).update_topic(t, "new").unwrap();
    assert_eq!(&*sim.client(bob).get_thread(t).unwrap().topic, "new");

    let newest = &sim.client(bob).list_messages(t, page(1)).unwrap().items[0];
    assert_eq!(newest.sequence_id, 3);
    assert_eq!(newest.kind, MessageKind::TopicUpdated);
    assert_eq!(newest.topic.as_deref(), Some("new"));
    assert_eq!(&*newest.sender, "alice");
    assert_eq!(newest.created_at_ms, 10);

    let inbox = sim.inbox(bob);
    let last = inbox.last().unwrap();
    assert_eq!(last.kind, NoticeKind::ChatThreadPropertiesUpdated);
    assert_eq!(&*last.from, "alice");
    assert_eq!(last.at_ms, 10);
    assert!(!kinds(&sim.inbox(alice)).contains(&NoticeKind::ChatThreadPropertiesUpdated));

    refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: Some("".into()),
            options: Default::default(),
        }),
        Kind::BadRequest,
    );
}

#[test]
fn a_deleted_thread_is_gone_for_every_call() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "hi").unwrap();
    sim.client(bob).delete_thread(t).unwrap();

    let calls = [
        get_thread(t),
        list_cmd(t, PageRequest::default()),
        send(t, "again"),
        Command::Chat(ChatCall::GetMessage { message: m }),
        Command::Chat(ChatCall::ListParticipants {
            thread: t,
            page: PageRequest::default(),
        }),
        Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: Some("x".into()),
            options: Default::default(),
        }),
        Command::Chat(ChatCall::DeleteThread { thread: t }),
    ];
    for command in &calls {
        let err = refused(&mut sim, Some(alice), command, Kind::NotFound);
        assert_eq!(acs_code(&err), "NotFound", "{}", command.op());
    }
    let err = refused(&mut sim, Some(alice), &calls[0], Kind::NotFound);
    assert_eq!(
        render_error(&err, ErrorStyle::Acs)["error"]["target"],
        t.to_string()
    );
    assert!(
        sim.client(alice)
            .list_threads(PageRequest::default())
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(sim.state().live_threads(), 0);
    assert_eq!(
        sim.inbox(alice).last().unwrap().kind,
        NoticeKind::ChatThreadDeleted
    );
}

// ---- participants ----

#[test]
fn an_add_call_names_at_most_200_participants() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let crowd = crowd(&mut sim, "p", 201);
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    let participants = specs(&sim, &crowd);
    refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::AddParticipants {
            thread: t,
            participants,
        }),
        Kind::BadRequest,
    );
    sim.client(alice)
        .add_participants(t, &crowd[..200])
        .unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        201
    );
}

#[test]
fn adding_an_existing_participant_changes_nothing() {
    // The call still counts against the roster rate limits; the data is under
    // test here.
    let mut sim = acs_with(json!({"rate_limits": []}));
    let [alice, bob, carol] = users(&mut sim, ["alice", "bob", "carol"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let before = sim.state().clone();
    sim.client(alice)
        .add_participants(t, &[bob, alice])
        .unwrap();
    assert!(
        sim.state() == &before,
        "re-adding participants changed the state"
    );
    assert_eq!(seqs(&all_messages(&mut sim, alice, t, 50)), [2, 1]);

    // A mix adds only the newcomer, in one system message that names only them.
    sim.client(alice)
        .add_participants(t, &[bob, carol])
        .unwrap();
    let newest = &sim.client(alice).list_messages(t, page(1)).unwrap().items[0];
    assert_eq!(newest.kind, MessageKind::ParticipantAdded);
    assert_eq!(
        newest.participants.as_deref(),
        Some(&[Arc::from("carol")][..])
    );
    assert_eq!(seqs(&all_messages(&mut sim, alice, t, 50)), [3, 2, 1]);
}

#[test]
fn removing_a_participant_ends_their_membership() {
    let mut sim = acs(7);
    // carol exists but was never in the thread.
    let [alice, bob, _carol] = users(&mut sim, ["alice", "bob", "carol"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    sim.client(alice).remove_participant(t, bob).unwrap();
    let p = sim
        .client(alice)
        .list_participants(t, PageRequest::default())
        .unwrap();
    assert_eq!(p.items.len(), 1);
    assert_eq!(&*p.items[0].user, "alice");
    let newest = &sim.client(alice).list_messages(t, page(1)).unwrap().items[0];
    assert_eq!(newest.kind, MessageKind::ParticipantRemoved);
    assert_eq!(
        newest.participants.as_deref(),
        Some(&[Arc::from("bob")][..])
    );

    // Removing someone who is not (or no longer) a participant is a 404.
    for who in ["bob", "carol", "ghost"] {
        refused(
            &mut sim,
            Some(alice),
            &Command::Chat(ChatCall::RemoveParticipant {
                thread: t,
                user: who.into(),
            }),
            Kind::NotFound,
        );
    }
}

#[test]
fn participants_are_listed_in_pages_by_offset() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let crowd = crowd(&mut sim, "p", 6);
    let t = sim.client(alice).create_thread("t", &crowd).unwrap();
    let mut seen: Vec<Arc<str>> = Vec::new();
    let mut request = page(3);
    let mut sizes = Vec::new();
    loop {
        let p = sim
            .client(alice)
            .list_participants(t, request.clone())
            .unwrap();
        sizes.push(p.items.len());
        seen.extend(p.items.iter().map(|p| p.user.clone()));
        match p.continuation {
            Some(c) => request.continuation = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    let expected: Vec<Arc<str>> = std::iter::once(Arc::from("alice"))
        .chain((0..6).map(|i| Arc::from(format!("p{i}"))))
        .collect();
    assert_eq!(seen, expected);
    refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::ListParticipants {
            thread: t,
            page: page(201),
        }),
        Kind::BadRequest,
    );
}

#[test]
fn share_history_from_hides_older_messages_from_a_new_participant() {
    let mut sim = acs(7);
    let [alice, bob, carol] = users(&mut sim, ["alice", "bob", "carol"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let old = sim.client(alice).send_message(t, "old").unwrap();
    sim.advance(Duration::from_ms(1000));
    sim.execute(
        Some(alice),
        &Command::Chat(ChatCall::AddParticipants {
            thread: t,
            participants: vec![ParticipantSpec {
                user: "carol".into(),
                display_name: None,
                share_history_from: Some(Instant(1000)),
            }],
        }),
    )
    .unwrap();
    let new = sim.client(alice).send_message(t, "new").unwrap();

    let carol_sees = all_messages(&mut sim, carol, t, 50);
    assert_eq!(seqs(&carol_sees), [new.sequence, new.sequence - 1]);
    refused(
        &mut sim,
        Some(carol),
        &Command::Chat(ChatCall::GetMessage { message: old }),
        Kind::NotFound,
    );
    // Without a share time, bob sees everything.
    assert_eq!(seqs(&all_messages(&mut sim, bob, t, 50)), [5, 4, 3, 2, 1]);
}

// ---- messages ----

#[test]
fn messages_are_text_or_html() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    let text = sim.client(alice).send_message(t, "plain").unwrap();
    let html = sim.client(alice).send_html(t, "<b>bold</b>").unwrap();
    let text = sim.client(alice).get_message(text).unwrap();
    let html = sim.client(alice).get_message(html).unwrap();
    assert_eq!(
        (text.kind, text.content.as_deref()),
        (MessageKind::Text, Some("plain"))
    );
    assert_eq!(
        (html.kind, html.content.as_deref()),
        (MessageKind::Html, Some("<b>bold</b>"))
    );
    refused(&mut sim, Some(alice), &send(t, ""), Kind::BadRequest);
}

#[test]
fn a_message_body_is_at_most_28_kib() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    let max = 28 * 1024;
    let m = sim.client(alice).send_message(t, "short").unwrap();
    // Counted in UTF-8 bytes, not characters: é is two. (case, body, accepted)
    let cases = [
        ("28 KiB of ASCII", "a".repeat(max), true),
        ("28 KiB of é", "é".repeat(max / 2), true),
        ("28 KiB of ASCII and one more", "a".repeat(max + 1), false),
        (
            "28 KiB of é and one more",
            format!("{}a", "é".repeat(max / 2)),
            false,
        ),
    ];
    for (case, body, accepted) in cases {
        // A send, and an edit, which is held to the same limit.
        for command in [send(t, &body), update_message(m, &body)] {
            match execute_checked(&mut sim, alice, &command) {
                Ok(_) => assert!(accepted, "{case}: {} admitted", command.op()),
                Err(err) => {
                    assert!(!accepted, "{case}: {} refused: {err}", command.op());
                    assert_eq!(err.kind(), Kind::TooLarge, "{case}: {err}");
                    assert_eq!(err.status(), 413, "{case}");
                    assert_eq!(acs_code(&err), "RequestEntityTooLarge", "{case}");
                }
            }
        }
    }
}

#[test]
fn a_sent_message_is_read_back_by_id_and_listed_newest_first() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m1 = sim.client(alice).send_message(t, "one").unwrap();
    sim.advance(Duration::from_ms(5));
    let m2 = sim.client(bob).send_message(t, "two").unwrap();
    let got = sim.client(bob).get_message(m1).unwrap();
    assert_eq!(got.content.as_deref(), Some("one"));
    assert_eq!(&*got.sender, "alice");
    assert_eq!(got.id, format!("m{}", m1.sequence));
    let listed = sim.client(alice).list_messages(t, page(2)).unwrap();
    let contents: Vec<_> = listed.items.iter().map(|m| m.content.as_deref()).collect();
    assert_eq!(contents, [Some("two"), Some("one")]);
    assert_eq!(listed.items[0].sequence_id, m2.sequence);
    assert_eq!(listed.items[0].created_at_ms, 5);
    assert!(listed.continuation.is_some());
    refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::GetMessage {
            message: message(t, 99),
        }),
        Kind::NotFound,
    );
}

#[test]
fn a_page_holds_at_most_200_messages() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    let bad_token = PageRequest {
        page_size: None,
        continuation: Some("not-a-token".into()),
    };
    // (case, page, accepted)
    let cases = [
        ("a page of 0", page(0), false),
        ("a page of 200", page(200), true),
        ("a page of 201", page(201), false),
        ("a continuation that is none", bad_token, false),
    ];
    for (case, request, accepted) in cases {
        match execute_checked(&mut sim, alice, &list_cmd(t, request)) {
            Ok(_) => assert!(accepted, "{case}: admitted"),
            Err(err) => {
                assert!(!accepted, "{case}: refused: {err}");
                assert_eq!(err.kind(), Kind::BadRequest, "{case}: {err}");
                assert_eq!(acs_code(&err), "BadRequest", "{case}");
            }
        }
    }
}

#[test]
fn continuation_walks_every_message_once() {
    // Paging is under test here, not the list-messages rate limit.
    let mut sim = acs_with(json!({"rate_limits": []}));
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    for i in 0..23 {
        sim.client(alice).send_message(t, &format!("m{i}")).unwrap();
    }
    for size in [1, 4, 5, 25, 200] {
        let all = all_messages(&mut sim, alice, t, size);
        let expected: Vec<u32> = (1..=25).rev().collect();
        assert_eq!(seqs(&all), expected, "page size {size}");
    }
}

#[test]
fn start_time_filters_older_messages() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    for _ in 0..3 {
        sim.advance(Duration::from_ms(1000));
        sim.client(alice).send_message(t, "x").unwrap();
    }
    let reply = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::ListMessages {
                thread: t,
                page: PageRequest::default(),
                start_time: Some(Instant(2000)),
            }),
        )
        .unwrap();
    let Reply::Messages(p) = reply else {
        panic!("not a message page")
    };
    let times: Vec<u64> = p.items.iter().map(|m| m.created_at_ms).collect();
    assert_eq!(times, [3000, 2000]);
}

#[test]
fn only_the_sender_updates_a_message() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "draft").unwrap();
    let err = refused(
        &mut sim,
        Some(bob),
        &update_message(m, "hijack"),
        Kind::Forbidden,
    );
    assert_eq!(acs_code(&err), "Forbidden");
    sim.advance(Duration::from_ms(42));
    sim.client(alice).update_message(m, "final").unwrap();
    let got = sim.client(bob).get_message(m).unwrap();
    assert_eq!(got.content.as_deref(), Some("final"));
    assert_eq!(got.edited_at_ms, Some(42));
    assert_eq!(got.deleted_at_ms, None);
    assert_eq!(got.created_at_ms, 0);
    // System messages belong to nobody's edits.
    refused(
        &mut sim,
        Some(alice),
        &update_message(message(t, 1), "x"),
        Kind::NotFound,
    );
}

#[test]
fn only_the_sender_deletes_a_message_and_its_content_is_gone() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "secret").unwrap();
    refused(&mut sim, Some(bob), &delete_message(m), Kind::Forbidden);
    sim.advance(Duration::from_ms(7));
    sim.client(alice).delete_message(m).unwrap();
    let got = sim.client(bob).get_message(m).unwrap();
    assert_eq!(got.content, None);
    assert_eq!(got.deleted_at_ms, Some(7));
    let stored = &sim.state().thread(t).unwrap().messages[m.sequence as usize - 1];
    assert!(stored.content.is_empty(), "deleted content still stored");
    let listed = all_messages(&mut sim, bob, t, 50);
    assert!(
        listed
            .iter()
            .all(|v| v.content.as_deref() != Some("secret"))
    );
    // The listing holds the deleted message, without its content.
    let shown = listed.iter().find(|v| v.sequence_id == m.sequence);
    assert_eq!(shown.map(|v| v.content.as_deref()), Some(None));
    // Deleted is final: no edit, no second delete.
    refused(
        &mut sim,
        Some(alice),
        &update_message(m, "back"),
        Kind::NotFound,
    );
    refused(&mut sim, Some(alice), &delete_message(m), Kind::NotFound);
}

#[test]
fn system_and_user_messages_share_one_sequence() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("hello", &[]).unwrap();
    let history = all_messages(&mut sim, alice, t, 50);
    let shape: Vec<(u32, MessageKind)> = history.iter().map(|m| (m.sequence_id, m.kind)).collect();
    assert_eq!(
        shape,
        [
            (2, MessageKind::TopicUpdated),
            (1, MessageKind::ParticipantAdded)
        ]
    );
    assert_eq!(history[0].topic.as_deref(), Some("hello"));
    assert_eq!(
        history[1].participants.as_deref(),
        Some(&[Arc::from("alice")][..])
    );

    assert_eq!(sim.client(alice).send_message(t, "a").unwrap().sequence, 3);
    sim.client(alice).add_participants(t, &[bob]).unwrap();
    assert_eq!(sim.client(bob).send_message(t, "b").unwrap().sequence, 5);
    sim.client(alice).update_topic(t, "bye").unwrap();
    assert_eq!(sim.client(alice).send_message(t, "c").unwrap().sequence, 7);
    let kinds: Vec<MessageKind> = all_messages(&mut sim, alice, t, 50)
        .iter()
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            MessageKind::Text,
            MessageKind::TopicUpdated,
            MessageKind::Text,
            MessageKind::ParticipantAdded,
            MessageKind::Text,
            MessageKind::TopicUpdated,
            MessageKind::ParticipantAdded
        ]
    );
}

/// How invalid participants are reported is the profile's: its code and
/// message, or (null) a refusal of the whole call.
#[test]
fn the_invalid_participant_report_is_the_profiles() {
    let mut sim = acs_with(json!({"invalid_participants": {"code": "403", "message": "Nope"}}));
    let [alice] = users(&mut sim, ["alice"]);
    let reply = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::CreateThread {
                topic: Arc::from("t"),
                participants: vec![ParticipantSpec::user("ghost")],
                idempotency_key: None,
                bindings: vec![],
                options: Default::default(),
            }),
        )
        .unwrap();
    let Reply::ThreadCreated {
        invalid_participants,
        ..
    } = reply
    else {
        panic!("not a created thread")
    };
    assert_eq!(
        (
            invalid_participants[0].code.as_str(),
            invalid_participants[0].message.as_str()
        ),
        ("403", "Nope")
    );
    let mut sim = acs_with(json!({"invalid_participants": null}));
    let [alice] = users(&mut sim, ["alice"]);
    let t = sim.client(alice).create_thread("t", &[]).unwrap();
    let e = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::AddParticipants {
                thread: t,
                participants: vec![ParticipantSpec::user("ghost")],
            }),
        )
        .unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound);
}

/// The opening is the profile's: without one a history starts with the first
/// message sent; a reordered one is written in its order.
#[test]
fn the_history_opening_is_the_profiles() {
    let mut sim = acs_with(json!({"history_opening": []}));
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("hello", &[bob]).unwrap();
    assert!(all_messages(&mut sim, alice, t, 50).is_empty());
    assert_eq!(sim.client(alice).send_message(t, "a").unwrap().sequence, 1);
    sim.client(alice).remove_participant(t, bob).unwrap();
    assert_eq!(all_messages(&mut sim, bob, t, 50).len(), 2);
    sim.state().check_invariants().unwrap();
    let mut sim = acs_with(json!({"history_opening": ["topic_updated", "participant_added"]}));
    let [alice] = users(&mut sim, ["alice"]);
    let t = sim.client(alice).create_thread("hello", &[]).unwrap();
    let shape: Vec<(u32, MessageKind)> = all_messages(&mut sim, alice, t, 50)
        .iter()
        .map(|m| (m.sequence_id, m.kind))
        .collect();
    assert_eq!(
        shape,
        [
            (2, MessageKind::ParticipantAdded),
            (1, MessageKind::TopicUpdated)
        ]
    );
}

// ---- access ----

#[test]
fn a_non_participant_is_forbidden() {
    let mut sim = acs(7);
    let [alice, bob, eve] = users(&mut sim, ["alice", "bob", "eve"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "private").unwrap();
    let calls = [
        get_thread(t),
        list_cmd(t, PageRequest::default()),
        Command::Chat(ChatCall::GetMessage { message: m }),
        send(t, "let me in"),
        Command::Chat(ChatCall::AddParticipants {
            thread: t,
            participants: vec![ParticipantSpec::user("eve")],
        }),
        Command::Chat(ChatCall::RemoveParticipant {
            thread: t,
            user: "bob".into(),
        }),
        Command::Chat(ChatCall::ListParticipants {
            thread: t,
            page: PageRequest::default(),
        }),
        Command::Chat(ChatCall::UpdateThread {
            thread: t,
            topic: Some("mine".into()),
            options: Default::default(),
        }),
        Command::Chat(ChatCall::DeleteThread { thread: t }),
        Command::Chat(ChatCall::SendTyping { thread: t }),
    ];
    for command in &calls {
        let err = refused(&mut sim, Some(eve), command, Kind::Forbidden);
        assert_eq!(err.status(), 403, "{}", command.op());
        assert_eq!(acs_code(&err), "Forbidden", "{}", command.op());
    }
    assert!(sim.inbox(eve).is_empty());
}

#[test]
fn a_removed_participant_keeps_history_up_to_the_removal_only() {
    let mut sim = acs(7);
    let [alice, bob, carol] = users(&mut sim, ["alice", "bob", "carol"]);
    let t = sim.client(alice).create_thread("t", &[bob, carol]).unwrap();
    let before = sim.client(alice).send_message(t, "before").unwrap();
    sim.client(alice).remove_participant(t, bob).unwrap();
    let removal = before.sequence + 1;
    let inbox_at_removal = sim.inbox(bob);
    assert_eq!(
        inbox_at_removal.last().unwrap().kind,
        NoticeKind::ParticipantsRemoved
    );

    let after = sim.client(alice).send_message(t, "after").unwrap();
    sim.client(carol).send_typing(t).unwrap();
    sim.client(alice).update_topic(t, "later").unwrap();

    let bob_sees = all_messages(&mut sim, bob, t, 50);
    assert_eq!(seqs(&bob_sees), (1..=removal).rev().collect::<Vec<_>>());
    assert_eq!(
        sim.client(bob)
            .get_message(before)
            .unwrap()
            .content
            .as_deref(),
        Some("before")
    );
    refused(
        &mut sim,
        Some(bob),
        &Command::Chat(ChatCall::GetMessage { message: after }),
        Kind::NotFound,
    );
    refused(&mut sim, Some(bob), &send(t, "hello?"), Kind::Forbidden);
    refused(
        &mut sim,
        Some(bob),
        &Command::Chat(ChatCall::SendTyping { thread: t }),
        Kind::Forbidden,
    );
    assert_eq!(
        sim.inbox(bob),
        inbox_at_removal,
        "a removed participant was notified"
    );
}

// ---- read receipts and typing ----

#[test]
fn receipts_and_typing_stop_above_20_participants() {
    let mut sim = acs(7);
    let alice = sim.create_user("alice").unwrap();
    let crowd = crowd(&mut sim, "p", 20);
    let t = sim.client(alice).create_thread("t", &crowd[..19]).unwrap();
    assert_eq!(
        sim.client(alice).get_thread(t).unwrap().participant_count,
        20
    );
    let m = sim.client(alice).send_message(t, "hi").unwrap();
    sim.client(alice).send_typing(t).unwrap();
    sim.client(crowd[0]).send_read_receipt(m).unwrap();
    assert_eq!(
        sim.client(alice).list_read_receipts(t).unwrap().items.len(),
        1
    );

    sim.client(alice).add_participants(t, &crowd[19..]).unwrap();
    let err = refused(
        &mut sim,
        Some(alice),
        &Command::Chat(ChatCall::SendTyping { thread: t }),
        Kind::BadRequest,
    );
    assert_eq!(acs_code(&err), "BadRequest");
    refused(
        &mut sim,
        Some(crowd[1]),
        &Command::Chat(ChatCall::SendReadReceipt { message: m }),
        Kind::BadRequest,
    );
    // Back at 20, they are allowed again.
    sim.client(alice).remove_participant(t, crowd[19]).unwrap();
    sim.client(alice).send_typing(t).unwrap();
}

// ---- notifications ----

#[test]
fn every_participant_but_the_actor_is_notified() {
    let mut sim = acs(7);
    let [alice, bob, carol, dave] = users(&mut sim, ["alice", "bob", "carol", "dave"]);
    let t = sim.client(alice).create_thread("t", &[bob, carol]).unwrap();
    let m = sim.client(alice).send_message(t, "hi").unwrap();
    sim.client(alice).update_message(m, "hi!").unwrap();
    sim.client(bob).send_typing(t).unwrap();
    sim.client(bob).send_read_receipt(m).unwrap();
    sim.client(alice).delete_message(m).unwrap();
    sim.client(alice).add_participants(t, &[dave]).unwrap();

    assert_eq!(
        kinds(&sim.inbox(carol)),
        [
            NoticeKind::ChatThreadCreated,
            NoticeKind::ChatMessageReceived,
            NoticeKind::ChatMessageEdited,
            NoticeKind::TypingIndicatorReceived,
            NoticeKind::ReadReceiptReceived,
            NoticeKind::ChatMessageDeleted,
            NoticeKind::ParticipantsAdded
        ]
    );
    assert_eq!(
        kinds(&sim.inbox(bob)),
        [
            NoticeKind::ChatThreadCreated,
            NoticeKind::ChatMessageReceived,
            NoticeKind::ChatMessageEdited,
            NoticeKind::ChatMessageDeleted,
            NoticeKind::ParticipantsAdded
        ]
    );
    assert_eq!(
        kinds(&sim.inbox(alice)),
        [
            NoticeKind::TypingIndicatorReceived,
            NoticeKind::ReadReceiptReceived
        ]
    );
    // A newcomer gets nothing from before they joined.
    assert_eq!(kinds(&sim.inbox(dave)), [NoticeKind::ParticipantsAdded]);

    let received = &sim.inbox(carol)[1];
    assert_eq!(&*received.from, "alice");
    assert_eq!(received.thread, t);
    assert_eq!(
        received.message.as_deref(),
        Some(&*format!("m{}", m.sequence))
    );
}

// ---- rate limits ----

#[test]
fn a_user_sends_at_most_fifty_messages_per_thread_per_minute() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let other = sim.client(alice).create_thread("u", &[]).unwrap();
    // 50 sends at 0, 100, ..., 4900 ms.
    for i in 0..50 {
        if i > 0 {
            sim.advance(Duration::from_ms(100));
        }
        sim.client(alice).send_message(t, "spam").unwrap();
    }
    sim.advance(Duration::from_ms(50)); // now 4950
    // ACS counts a throttled call too (A7): the refused send at 4950 takes the
    // place of the oldest (0) in the window, so the next room opens when the
    // send at 100 leaves it.
    let err = sim.execute(alice, &send(t, "one more")).unwrap_err();
    assert_eq!(err.status(), 429);
    assert_eq!(err.retry_after_ms(), Some(60_000 + 100 - 4950));
    let wire = render_error(&err, ErrorStyle::Acs);
    assert_eq!(wire["error"]["code"], "TooManyRequests");
    assert_eq!(wire["error"]["retry_after_ms"], 60_000 + 100 - 4950);

    // The limit is per user and per thread.
    sim.client(bob).send_message(t, "me too").unwrap();
    sim.client(alice).send_message(other, "elsewhere").unwrap();

    // One millisecond early is refused (on a fork: that refusal counts too);
    // on time is admitted.
    sim.advance(Duration::from_ms(60_000 + 100 - 4950 - 1));
    let mut early = sim.fork();
    let err = early.execute(alice, &send(t, "early")).unwrap_err();
    // Refused, and counted: the room now opens when the send at 200 leaves.
    assert_eq!(
        err.retry_after_ms(),
        Some(200 + 60_000 - (60_000 + 100 - 1))
    );
    sim.advance(Duration::from_ms(1));
    sim.client(alice).send_message(t, "admitted").unwrap();
}

// ---- refusals and forks ----

#[test]
fn a_refused_call_leaves_the_state_unchanged() {
    let mut sim = acs_with(json!({"rate_limits": [
        {"operations": ["send_message"], "scope": "user_thread", "window_ms": 1000, "count": 1}
    ]}));
    let [alice, bob, eve] = users(&mut sim, ["alice", "bob", "eve"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "first").unwrap();
    let cases = [
        (Some(alice), send(t, "second"), Kind::RateLimited),
        (Some(eve), send(t, "x"), Kind::Forbidden),
        (Some(alice), send(ThreadId(99), "x"), Kind::NotFound),
        (
            Some(bob),
            send(t, &"x".repeat(28 * 1024 + 1)),
            Kind::TooLarge,
        ),
        (Some(bob), delete_message(m), Kind::Forbidden),
        (
            Some(alice),
            Command::Chat(ChatCall::AddParticipants {
                thread: t,
                participants: vec![],
            }),
            Kind::BadRequest,
        ),
        (
            Some(alice),
            Command::Chat(ChatCall::CreateThread {
                topic: "".into(),
                participants: vec![ParticipantSpec::user("bob")],
                idempotency_key: Some("k".into()),
                bindings: vec![],
                options: Default::default(),
            }),
            Kind::BadRequest,
        ),
        (
            None,
            Command::Service(ServiceCall::DeleteUser { user: "zed".into() }),
            Kind::NotFound,
        ),
    ];
    for (actor, command, kind) in &cases {
        refused(&mut sim, *actor, command, *kind);
    }
    // The refused create did not claim its idempotency key.
    let created = sim
        .execute(
            Some(alice),
            &Command::Chat(ChatCall::CreateThread {
                topic: "later".into(),
                participants: vec![],
                idempotency_key: Some("k".into()),
                bindings: vec![],
                options: Default::default(),
            }),
        )
        .unwrap();
    assert_ne!(thread_of(created), t);
}

#[test]
fn a_fork_is_independent() {
    let mut sim = acs(7);
    let [alice, bob] = users(&mut sim, ["alice", "bob"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    sim.client(alice).send_message(t, "shared").unwrap();
    let original_state = sim.state().clone();
    let original_digest = sim.digest();

    let mut fork = sim.fork();
    assert!(fork.state() == sim.state());
    fork.client(bob)
        .send_message(t, "only in the fork")
        .unwrap();
    fork.client(alice).update_topic(t, "forked").unwrap();
    fork.advance(Duration::from_secs(5));
    fork.create_user("carol").unwrap();

    assert!(
        sim.state() == &original_state,
        "the fork changed the original"
    );
    assert_eq!(sim.digest(), original_digest);
    assert_eq!(sim.now(), Instant::ZERO);
    assert_eq!(seqs(&all_messages(&mut sim, bob, t, 50)), [3, 2, 1]);
    assert_eq!(&*sim.client(alice).get_thread(t).unwrap().topic, "t");
    assert!(sim.user("carol").is_none());

    // And the other way round.
    sim.client(alice)
        .send_message(t, "only in the original")
        .unwrap();
    assert_eq!(seqs(&all_messages(&mut fork, bob, t, 50)), [5, 4, 3, 2, 1]);
    let fork_contents: BTreeSet<String> = all_messages(&mut fork, bob, t, 50)
        .iter()
        .filter_map(|m| m.content.as_deref().map(str::to_string))
        .collect();
    assert!(!fork_contents.contains("only in the original"));
}

/// A read limit in the profile applies to reads: only reads that would succeed
/// count, the N+1th is 429 with the exact wait, and a read-only profile leaves
/// thread data unshared after a fork.
#[test]
fn read_limits_in_the_profile_apply_to_reads() {
    let mut sim = acs_with(json!({"rate_limits": [
        {"operations": ["get_message"], "scope": "user_thread", "window_ms": 10_000, "count": 2},
        {"operations": ["list_threads"], "scope": "user", "window_ms": 5_000, "count": 1}
    ], "throttled_calls_count": false}));
    let [alice, bob, eve] = users(&mut sim, ["alice", "bob", "eve"]);
    let t = sim.client(alice).create_thread("t", &[bob]).unwrap();
    let m = sim.client(alice).send_message(t, "hi").unwrap();
    let get = Command::Chat(ChatCall::GetMessage { message: m });
    // A refused read (not a participant) does not count.
    refused(&mut sim, Some(eve), &get, Kind::Forbidden);
    sim.advance(Duration::from_ms(1_000));
    sim.client(bob).get_message(m).unwrap();
    sim.advance(Duration::from_ms(1_000));
    sim.client(bob).get_message(m).unwrap();
    let err = refused(&mut sim, Some(bob), &get, Kind::RateLimited);
    // The first of the two (at 1 s) leaves the window at 11 s; it is now 2 s.
    assert_eq!(err.retry_after_ms(), Some(9_000));
    // Per user per thread: alice still reads.
    sim.client(alice).get_message(m).unwrap();
    sim.advance(Duration::from_ms(8_999));
    refused(&mut sim, Some(bob), &get, Kind::RateLimited);
    sim.advance(Duration::from_ms(1));
    sim.client(bob).get_message(m).unwrap();

    sim.client(bob)
        .list_threads(PageRequest::default())
        .unwrap();
    let list = Command::Chat(ChatCall::ListThreads {
        page: PageRequest::default(),
    });
    let err = refused(&mut sim, Some(bob), &list, Kind::RateLimited);
    assert_eq!(err.retry_after_ms(), Some(5_000));
    sim.client(alice)
        .list_threads(PageRequest::default())
        .unwrap();
    sim.state().check_invariants().unwrap();
}
