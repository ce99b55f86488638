//! Non-chat participants, fan-out, WhatsApp's window, carriers, ACS send_sms
//! and the twilio profile through the library API: one focused test per rule,
//! each refused call checked to leave the state as it was, and a property test
//! over arbitrary channel calls.

use std::sync::Arc;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::json;
use switchboard::core::{
    BindingSpec, CarrierCall, ChatCall, ConversationState, DeliveryView, NoticeKind, OutboxFilter,
    ParticipantSpec, ThreadOptions,
};
use switchboard::profile::ErrorStyle;
use switchboard::rules::{Channel, Encoding, Media, Route, Status};
use switchboard::wire::render_error;
use switchboard::{Command, Duration, Error, Kind, Profile, Reply, Simulator, ThreadId, UserId};

use crate::harness::{
    DAN, HOUR, PROXY, WEN, acs, add_bindings, assert_kind, binding, events, execute_checked,
    message, overridden, refused, refused_by, sim_on, thread_with, trace, twilio, twilio_code,
};

/// `twilio` with `overrides`, seed 5 like the others here.
fn twilio_with(overrides: serde_json::Value) -> Simulator {
    sim_on(overridden(&Profile::twilio(), overrides), 5)
}

/// An agent and a lead in a thread, "Order".
fn setup(sim: &mut Simulator) -> (UserId, UserId, ThreadId) {
    let ([agent, lead], t) = thread_with(sim, "Order", ["agent", "lead"]);
    (agent, lead, t)
}

/// Adds `bindings` to `t` as `actor`.
fn add(
    sim: &mut Simulator,
    actor: UserId,
    t: ThreadId,
    bindings: Vec<BindingSpec>,
) -> Result<Reply, Error> {
    sim.execute(Some(actor), &add_bindings(t, bindings))
}

fn outbox(sim: &Simulator) -> Vec<DeliveryView> {
    sim.outbox(&OutboxFilter::default())
}

fn jpeg(bytes: u64) -> Media {
    Media {
        content_type: Arc::from("image/jpeg"),
        bytes,
        name: Some(Arc::from("photo.jpg")),
    }
}

// ---- bindings ----

#[test]
fn a_binding_is_held_by_one_thread_until_it_is_removed_or_the_thread_deleted() {
    let mut sim = twilio(5);
    let (agent, lead, t1) = setup(&mut sim);
    let t2 = sim.client(agent).create_thread("Other", &[lead]).unwrap();
    add(&mut sim, agent, t1, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    let e = refused(
        &mut sim,
        Some(agent),
        &add_bindings(t2, vec![binding(Channel::Sms, DAN, PROXY)]),
        Kind::Conflict,
    );
    assert_eq!(twilio_code(&e), 50416);
    // Another proxy, or the same number on WhatsApp, is another binding.
    add(
        &mut sim,
        agent,
        t2,
        vec![binding(Channel::Sms, DAN, "+18005550198")],
    )
    .unwrap();
    add(
        &mut sim,
        agent,
        t2,
        vec![binding(Channel::Whatsapp, DAN, PROXY)],
    )
    .unwrap();
    // One address is one participant of a thread, whatever the proxy.
    refused(
        &mut sim,
        Some(agent),
        &add_bindings(t1, vec![binding(Channel::Sms, DAN, "+18005550197")]),
        Kind::Conflict,
    );
    // Removing the participant frees the binding.
    sim.client(agent)
        .remove_binding(t1, Channel::Sms, DAN)
        .unwrap();
    let t3 = sim.client(agent).create_thread("Third", &[]).unwrap();
    add(&mut sim, agent, t3, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    // Deleting the thread frees it too.
    sim.client(agent).delete_thread(t3).unwrap();
    add(&mut sim, agent, t1, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    sim.state().check_invariants().unwrap();
    // Removing one that is not there is 404 (Twilio 50432).
    let e = refused(
        &mut sim,
        Some(agent),
        &Command::Chat(ChatCall::RemoveBinding {
            thread: t2,
            channel: Channel::Sms,
            address: Arc::from(WEN),
        }),
        Kind::NotFound,
    );
    assert_eq!(twilio_code(&e), 50432);
}

#[test]
fn addresses_are_e164_and_the_whatsapp_prefix_names_the_same_address() {
    let mut sim = twilio(5);
    let (agent, lead, t1) = setup(&mut sim);
    for bad in [
        "4255550100",
        "+112345678901",
        "+0123456789",
        "+1 425 555 0100",
        "",
    ] {
        refused(
            &mut sim,
            Some(agent),
            &add_bindings(t1, vec![binding(Channel::Sms, bad, PROXY)]),
            Kind::BadRequest,
        );
    }
    let long = format!("+1{}", "5".repeat(300));
    refused(
        &mut sim,
        Some(agent),
        &add_bindings(t1, vec![binding(Channel::Sms, DAN, &long)]),
        Kind::BadRequest,
    );
    add(
        &mut sim,
        agent,
        t1,
        vec![binding(
            Channel::Whatsapp,
            &format!("whatsapp:{WEN}"),
            &format!("whatsapp:{PROXY}"),
        )],
    )
    .unwrap();
    // The bare form is the same binding: taken.
    let t2 = sim.client(agent).create_thread("Other", &[lead]).unwrap();
    refused(
        &mut sim,
        Some(agent),
        &add_bindings(t2, vec![binding(Channel::Whatsapp, WEN, PROXY)]),
        Kind::Conflict,
    );
    // An inbound in the bare form reaches the thread.
    let seq = sim
        .inbound(Channel::Whatsapp, WEN, PROXY, "hello", vec![])
        .unwrap();
    let m = sim.client(lead).get_message(message(t1, seq)).unwrap();
    assert_eq!(&*m.sender, "whatsapp:+14255550101");
    assert_eq!(m.content.as_deref(), Some("hello"));
    // The outbox `to` filter takes either form.
    sim.client(agent).send_message(t1, "hi").unwrap();
    let a = sim.outbox(&OutboxFilter {
        to: Some(Arc::from(WEN)),
        ..Default::default()
    });
    let b = sim.outbox(&OutboxFilter {
        to: Some(Arc::from(format!("whatsapp:{WEN}").as_str())),
        ..Default::default()
    });
    assert_eq!(a.len(), 1);
    assert_eq!(a, b);
}

#[test]
fn a_thread_holds_at_most_its_non_chat_and_total_participants() {
    let mut sim =
        twilio_with(json!({"non_chat.participants_max": 2, "participants_per_thread_max": 4}));
    let (agent, _lead, t) = setup(&mut sim);
    let e = refused(
        &mut sim,
        Some(agent),
        &add_bindings(
            t,
            vec![
                binding(Channel::Sms, "+14255550001", PROXY),
                binding(Channel::Sms, "+14255550002", PROXY),
                binding(Channel::Sms, "+14255550003", PROXY),
            ],
        ),
        Kind::BadRequest,
    );
    assert_eq!(twilio_code(&e), 50417);
    add(
        &mut sim,
        agent,
        t,
        vec![
            binding(Channel::Sms, "+14255550001", PROXY),
            binding(Channel::Sms, "+14255550002", PROXY),
        ],
    )
    .unwrap();
    // 2 chat + 2 non-chat = 4: no room for another chat participant.
    let carol = sim.create_user("carol").unwrap();
    let e = sim.client(agent).add_participants(t, &[carol]).unwrap_err();
    assert_eq!(twilio_code(&e), 50417);
}

#[test]
fn a_chat_identity_belongs_to_at_most_its_maximum_of_threads() {
    let mut sim = twilio_with(json!({"threads_per_identity_max": 2}));
    let a = sim.create_user("a").unwrap();
    let b = sim.create_user("b").unwrap();
    let t1 = sim.client(a).create_thread("1", &[b]).unwrap();
    sim.client(a).create_thread("2", &[]).unwrap();
    let before = sim.state().clone();
    let e = sim.client(a).create_thread("3", &[]).unwrap_err();
    assert_kind(&e, Kind::BadRequest);
    assert!(sim.state() == &before);
    // b is in one thread; adding it to a third of a's is refused for a's sake? No:
    // the cap is per identity added. b joins a thread created by someone else.
    let c = sim.create_user("c").unwrap();
    let t3 = sim.client(c).create_thread("c's", &[]).unwrap();
    sim.client(c).add_participants(t3, &[b]).unwrap();
    let t4 = sim.client(c).create_thread("c's too", &[]).unwrap();
    assert_eq!(
        sim.client(c).add_participants(t4, &[b]).unwrap_err().kind(),
        Kind::BadRequest
    );
    // A deleted thread no longer counts.
    sim.client(a).delete_thread(t1).unwrap();
    sim.client(a).create_thread("3", &[]).unwrap();
    sim.client(c).add_participants(t4, &[b]).unwrap();
}

/// A create call naming SMS/WhatsApp participants reports its faults in the
/// documented precedence: a malformed option (400) before a taken binding
/// (409), and an identity in too many threads (a 400 of the target) before it
/// too; a group MMS caps the whole thread at the smaller maximum.
#[test]
fn a_create_with_bindings_reports_its_first_fault_in_precedence_order() {
    let create = |participants: &[&str], bindings: Vec<BindingSpec>, state| {
        Command::Chat(ChatCall::CreateThread {
            topic: Arc::from("again"),
            participants: participants
                .iter()
                .map(|u| ParticipantSpec::user(*u))
                .collect(),
            bindings,
            idempotency_key: None,
            options: ThreadOptions {
                state,
                ..ThreadOptions::default()
            },
        })
    };
    let taken = || vec![binding(Channel::Sms, DAN, PROXY)];

    let mut sim = twilio(5);
    let (agent, _, t) = setup(&mut sim);
    add(&mut sim, agent, t, taken()).unwrap();
    let e = refused(
        &mut sim,
        Some(agent),
        &create(&[], taken(), Some(ConversationState::Closed)),
        Kind::BadRequest,
    );
    assert_eq!(e, Error::CreatedClosed);
    let e = refused(
        &mut sim,
        Some(agent),
        &create(&[], taken(), None),
        Kind::Conflict,
    );
    assert!(matches!(e, Error::BindingExists { .. }), "{e}");

    let mut sim = twilio_with(json!({"threads_per_identity_max": 1}));
    let (agent, _, t) = setup(&mut sim);
    add(&mut sim, agent, t, taken()).unwrap();
    let e = refused(
        &mut sim,
        Some(agent),
        &create(&[], taken(), None),
        Kind::BadRequest,
    );
    assert!(matches!(e, Error::TooManyThreadsForIdentity { .. }), "{e}");

    let mut sim = twilio_with(
        json!({"participants_per_thread_max": 3, "non_chat.group_mms_participants_max": 10}),
    );
    let agent = sim.create_user("agent").unwrap();
    sim.create_user("b").unwrap();
    sim.create_user("c").unwrap();
    let group = vec![binding(Channel::Sms, DAN, "")];
    let e = refused(
        &mut sim,
        Some(agent),
        &create(&["b", "c"], group, None),
        Kind::BadRequest,
    );
    assert_eq!(e, Error::ThreadFull { count: 4, max: 3 });
}

#[test]
fn profiles_without_non_chat_participants_refuse_them() {
    let mut sim = acs(1);
    let a = sim.create_user("a").unwrap();
    let t = sim.client(a).create_thread("t", &[]).unwrap();
    let e = refused(
        &mut sim,
        Some(a),
        &add_bindings(t, vec![binding(Channel::Sms, DAN, PROXY)]),
        Kind::BadRequest,
    );
    assert!(e.to_string().contains("not supported by profile acs"));
    refused(
        &mut sim,
        None,
        &Command::Carrier(CarrierCall::Inbound {
            channel: Channel::Sms,
            from: Arc::from(DAN),
            to: Arc::from(PROXY),
            body: Arc::from("x"),
            media: vec![],
        }),
        Kind::BadRequest,
    );
}

#[test]
fn create_with_bindings_is_all_or_nothing() {
    let mut sim = twilio(5);
    let (agent, lead, t) = setup(&mut sim);
    add(&mut sim, agent, t, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    let create = |bindings| {
        Command::Chat(ChatCall::CreateThread {
            topic: Arc::from("new"),
            participants: vec![ParticipantSpec::user("lead")],
            bindings,
            idempotency_key: None,
            options: Default::default(),
        })
    };
    refused(
        &mut sim,
        Some(agent),
        &create(vec![
            binding(Channel::Sms, WEN, PROXY),
            binding(Channel::Sms, DAN, PROXY),
        ]),
        Kind::Conflict,
    );
    let reply = sim
        .execute(
            Some(agent),
            &create(vec![binding(Channel::Sms, WEN, PROXY)]),
        )
        .unwrap();
    let Reply::ThreadCreated { thread, .. } = reply else {
        panic!()
    };
    assert_eq!(sim.state().thread(thread.id).unwrap().non_chat_count(), 1);
    let _ = lead;
    // Chat and non-chat participants named in one create count together (10).
    let many: Vec<BindingSpec> = (0..10)
        .map(|i| binding(Channel::Sms, &format!("+1206555000{i}"), PROXY))
        .collect();
    let e = refused(&mut sim, Some(agent), &create(many), Kind::BadRequest);
    assert!(e.to_string().contains("11 participants in one call"), "{e}");
}

// ---- fan-out ----

#[test]
fn a_chat_message_goes_to_each_non_chat_participant_as_sent_from_the_proxy() {
    let mut sim = twilio(5);
    let (agent, _lead, t) = setup(&mut sim);
    add(
        &mut sim,
        agent,
        t,
        vec![
            binding(Channel::Sms, DAN, PROXY),
            binding(Channel::Sms, WEN, PROXY),
        ],
    )
    .unwrap();
    let body = "Your parcel: {ref} ships €5 cheaper";
    let m = sim.client(agent).send_message(t, body).unwrap();
    let out = outbox(&sim);
    assert_eq!(out.len(), 2);
    for d in &out {
        // Exactly as sent: no author prefix.
        assert_eq!(d.body.as_deref(), Some(body));
        assert_eq!(&*d.from, PROXY);
        assert_eq!(
            (d.channel, d.status, d.encoding),
            (Route::Sms, Status::Queued, Encoding::Gsm7)
        );
        // 33 characters, two of them extension characters: 35 units, one segment.
        assert_eq!(d.segments, 1);
        assert_eq!(d.message.as_deref(), Some(&*format!("m{}", m.sequence)));
    }
    assert_eq!(&*out[0].to, DAN);
    assert_eq!(&*out[1].to, WEN);
    // UCS-2 bodies count their own segments.
    sim.client(agent).send_message(t, &"ł".repeat(71)).unwrap();
    let out = outbox(&sim);
    assert_eq!((out[2].encoding, out[2].segments), (Encoding::Ucs2, 2));
}

#[test]
fn an_inbound_message_goes_to_everyone_but_its_sender() {
    let mut sim = twilio(5);
    let (agent, lead, t) = setup(&mut sim);
    add(
        &mut sim,
        agent,
        t,
        vec![
            binding(Channel::Sms, DAN, PROXY),
            binding(Channel::Whatsapp, WEN, PROXY),
        ],
    )
    .unwrap();
    let seq = sim
        .inbound(Channel::Sms, DAN, PROXY, "where is it?", vec![])
        .unwrap();
    let out = outbox(&sim);
    assert_eq!(out.len(), 1, "not echoed back to the SMS sender");
    assert_eq!(&*out[0].to, "whatsapp:+14255550101");
    // WhatsApp user has not written: free-form refused for them (63016).
    assert_eq!(
        (out[0].status, out[0].error_code),
        (Status::Failed, Some(63016))
    );
    // Both chat participants got the message.
    for user in [agent, lead] {
        assert!(
            sim.inbox(user)
                .iter()
                .any(|n| n.kind == NoticeKind::ChatMessageReceived
                    && n.message.as_deref() == Some(&*format!("m{seq}"))
                    && &*n.from == DAN)
        );
    }
    // Refused inbound messages, nothing stored. Precedence: an unknown pair
    // (404) before an oversize medium (413); too many media (a malformed
    // request, 400) before both.
    let stranger = "+14255550199";
    let mib = 1024 * 1024;
    // (case, from, body, media, kind)
    #[rustfmt::skip]
    let cases = [
        ("an unknown pair", stranger, "?", vec![], Kind::NotFound),
        ("a medium over the MMS limit", DAN, "", vec![jpeg(2 * mib + 1)], Kind::TooLarge),
        ("neither body nor media", DAN, "", vec![], Kind::BadRequest),
        ("an unknown pair with an oversize medium", stranger, "", vec![jpeg(3 * mib)], Kind::NotFound),
        ("an unknown pair with eleven media", stranger, "", vec![jpeg(1); 11], Kind::BadRequest),
        ("a known pair with an oversize medium", DAN, "", vec![jpeg(3 * mib)], Kind::TooLarge),
    ];
    for (case, from, body, media, kind) in cases {
        let inbound = Command::Carrier(CarrierCall::Inbound {
            channel: Channel::Sms,
            from: Arc::from(from),
            to: Arc::from(PROXY),
            body: Arc::from(body),
            media,
        });
        let error = refused_by(&mut sim, |sim| sim.execute(None, &inbound));
        assert_eq!(error.kind(), kind, "{case}: {error}");
    }
}

#[test]
fn media_from_chat_follows_the_rule_table_per_recipient() {
    let mut sim = twilio(5);
    let (agent, lead, t) = setup(&mut sim);
    add(&mut sim, agent, t, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    // Small JPEG: MMS, text dropped.
    sim.client(agent)
        .send_media(t, "look", vec![jpeg(100_000)], None)
        .unwrap();
    // 6 MB: not fanned out as MMS; the text goes alone as SMS, and says why.
    let m = sim
        .client(agent)
        .send_media(t, "big", vec![jpeg(6 * 1024 * 1024)], None)
        .unwrap();
    let out = outbox(&sim);
    assert_eq!(
        (out[0].channel, out[0].body.is_none(), out[0].media.len()),
        (Route::Mms, true, 1)
    );
    assert_eq!(out[1].channel, Route::Sms);
    assert_eq!(out[1].body.as_deref(), Some("big"));
    assert!(out[1].media.is_empty());
    assert_eq!(out[1].dropped[0].what, "media[0]");
    // Chat users still get the media.
    let view = sim.client(lead).get_message(m).unwrap();
    assert_eq!(view.media.len(), 1);
    assert_eq!(view.media[0].bytes, 6 * 1024 * 1024);
    // Over 150 MB is refused for everyone.
    refused(
        &mut sim,
        Some(agent),
        &Command::Chat(ChatCall::SendMessage {
            thread: t,
            content: "x".into(),
            content_type: switchboard::core::ContentType::Text,
            metadata: Default::default(),
            media: vec![jpeg(150 * 1024 * 1024 + 1)],
            template: None,
        }),
        Kind::TooLarge,
    );
    // Over 1600 characters: the SMS delivery fails with 21617, chat keeps it.
    sim.client(agent)
        .send_message(t, &"a".repeat(1601))
        .unwrap();
    let last = outbox(&sim).pop().unwrap();
    assert_eq!(
        (last.status, last.error_code),
        (Status::Failed, Some(21617))
    );
}

#[test]
fn whatsapp_free_form_needs_an_inbound_message_in_the_last_24_hours() {
    let mut sim = twilio(5);
    let (agent, _lead, t) = setup(&mut sim);
    add(
        &mut sim,
        agent,
        t,
        vec![binding(Channel::Whatsapp, WEN, PROXY)],
    )
    .unwrap();
    sim.client(agent).send_message(t, "before").unwrap();
    sim.inbound(Channel::Whatsapp, WEN, PROXY, "hi", vec![])
        .unwrap();
    sim.advance(Duration::from_ms(24 * HOUR - 1));
    sim.client(agent).send_message(t, "just inside").unwrap();
    sim.advance(Duration::from_ms(1));
    sim.client(agent).send_message(t, "just outside").unwrap();
    sim.client(agent)
        .send_media(t, "template", vec![], Some("HX1"))
        .unwrap();
    let codes: Vec<(Option<&str>, Option<u16>)> = outbox(&sim)
        .iter()
        .map(|d| (d.refused.map(|_| "refused"), d.error_code))
        .collect();
    assert_eq!(codes[0], (Some("refused"), Some(63016)));
    assert_eq!(codes[1].1.filter(|c| *c == 63016), None);
    assert_eq!(codes[2], (Some("refused"), Some(63016)));
    assert_eq!(codes[3].1.filter(|c| *c == 63016), None);
}

// ---- carriers ----

fn carrier_run(seed: u64, overrides: serde_json::Value) -> Simulator {
    let profile = Profile::with_overrides(&Profile::twilio(), &overrides).unwrap();
    let mut sim = sim_on(profile, seed);
    let (agent, _lead, t) = setup(&mut sim);
    add(
        &mut sim,
        agent,
        t,
        vec![
            binding(Channel::Sms, DAN, PROXY),
            binding(Channel::Whatsapp, WEN, PROXY),
        ],
    )
    .unwrap();
    sim.inbound(Channel::Whatsapp, WEN, PROXY, "hi", vec![])
        .unwrap();
    for i in 0..40 {
        sim.client(agent)
            .send_message(t, &format!("update {i}"))
            .unwrap();
        sim.advance(Duration::from_secs(3));
    }
    sim.advance(Duration::from_mins(30));
    sim
}

#[test]
fn receipts_follow_the_status_order_and_replay_byte_for_byte() {
    let a = carrier_run(9, json!({}));
    let b = carrier_run(9, json!({}));
    let c = carrier_run(10, json!({}));
    assert_eq!(a.trace().jsonl(), b.trace().jsonl());
    assert_ne!(a.digest(), c.digest());
    // Every delivery reached a final status; receipts came in order.
    let out = outbox(&a);
    assert_eq!(out.len(), 81);
    assert!(out.iter().all(|d| {
        [
            Status::Delivered,
            Status::Failed,
            Status::Undelivered,
            Status::Read,
        ]
        .contains(&d.status)
    }));
    let mut seen: std::collections::BTreeMap<u64, Vec<String>> = Default::default();
    for v in events(&a, "delivery_updated") {
        seen.entry(v["delivery"].as_u64().unwrap())
            .or_default()
            .push(v["status"].as_str().unwrap().to_string());
    }
    // Every delivery had receipts, so the checks below ran for each.
    assert_eq!(seen.len(), out.len());
    for statuses in seen.values() {
        assert_eq!(statuses[0], "sent", "{statuses:?}");
        assert!(["delivered", "failed", "undelivered"].contains(&statuses[1].as_str()));
        assert!(statuses.len() == 2 || (statuses[1] == "delivered" && statuses[2] == "read"));
    }
    // Some WhatsApp messages were read, no SMS was.
    assert!(
        out.iter()
            .any(|d| d.status == Status::Read && d.channel == Route::Whatsapp)
    );
    assert!(
        out.iter()
            .all(|d| d.status != Status::Read || d.channel == Route::Whatsapp)
    );
    a.state().check_invariants().unwrap();
}

#[test]
fn carrier_outcomes_and_latencies_come_from_the_profile() {
    let failing = json!({"carriers": {
        "sms": {"sent_receipt": false, "sent_ms_min": 0, "sent_ms_max": 0, "final_ms_min": 7000, "final_ms_max": 7000,
                "failed_ppm": 1000000, "undelivered_ppm": 0, "read_ppm": 0, "read_ms_min": 0, "read_ms_max": 0,
                "delivered_code": 0, "failed_code": 30008, "undelivered_code": 30003},
        "whatsapp": {"sent_receipt": true, "sent_ms_min": 10, "sent_ms_max": 10, "final_ms_min": 20, "final_ms_max": 20,
                "failed_ppm": 0, "undelivered_ppm": 1000000, "read_ppm": 0, "read_ms_min": 0, "read_ms_max": 0,
                "delivered_code": 0, "failed_code": 30008, "undelivered_code": 30003}}});
    let mut sim = twilio_with(failing);
    let (agent, _lead, t) = setup(&mut sim);
    add(
        &mut sim,
        agent,
        t,
        vec![
            binding(Channel::Sms, DAN, PROXY),
            binding(Channel::Whatsapp, WEN, PROXY),
        ],
    )
    .unwrap();
    sim.inbound(Channel::Whatsapp, WEN, PROXY, "hi", vec![])
        .unwrap();
    let start = sim.now().ms();
    sim.client(agent).send_message(t, "x").unwrap();
    sim.advance(Duration::from_ms(6_999));
    assert!(
        outbox(&sim)
            .iter()
            .any(|d| &*d.to == DAN && d.status == Status::Queued)
    );
    sim.advance(Duration::from_ms(1));
    let out = outbox(&sim);
    let sms = out.iter().rev().find(|d| &*d.to == DAN).unwrap();
    assert_eq!((sms.status, sms.error_code), (Status::Failed, Some(30008)));
    let wa = out
        .iter()
        .rev()
        .find(|d| d.channel == Route::Whatsapp)
        .unwrap();
    assert_eq!(
        (wa.status, wa.error_code),
        (Status::Undelivered, Some(30003))
    );
    let at = trace(&sim)
        .iter()
        .find(|v| v["status"] == "undelivered")
        .and_then(|v| v["at_ms"].as_u64())
        .unwrap();
    assert_eq!(at, start + 30);
    // A bad model is refused when the profile is built.
    assert!(
        Profile::with_overrides(
            &Profile::twilio(),
            &json!({"carriers": {"sms": {}, "whatsapp": {}}})
        )
        .is_err()
    );
}

#[test]
fn receipts_for_a_deleted_thread_change_nothing() {
    let mut sim = twilio(5);
    let (agent, _lead, t) = setup(&mut sim);
    add(&mut sim, agent, t, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    sim.client(agent).send_message(t, "x").unwrap();
    sim.client(agent).delete_thread(t).unwrap();
    let lines = sim.trace().len();
    sim.advance(Duration::from_mins(5));
    assert_eq!(sim.trace().len(), lines);
    assert!(outbox(&sim).is_empty());
    assert_eq!(sim.pending(), 0);
    sim.state().check_invariants().unwrap();
    // Receipts that name no delivery, or break the status order, change nothing.
    let t2 = sim.client(agent).create_thread("again", &[]).unwrap();
    add(&mut sim, agent, t2, vec![binding(Channel::Sms, DAN, PROXY)]).unwrap();
    sim.client(agent).send_message(t2, "y").unwrap();
    let id = outbox(&sim)[0].id;
    let mut state = sim.state().clone();
    let receipt = |id, slot, status| switchboard::core::Receipt {
        delivery: switchboard::core::DeliveryRef {
            thread: Some(t2),
            id,
            slot,
        },
        status,
        code: 0,
    };
    for bad in [
        receipt(id + 1, 0, Status::Sent),
        receipt(id, 1, Status::Sent),
        receipt(id, 0, Status::Read),
        receipt(id, 0, Status::Queued),
    ] {
        assert!(state.apply_receipt(&bad).is_none());
        assert!(&state == sim.state());
    }
    assert!(state.apply_receipt(&receipt(id, 0, Status::Sent)).is_some());
}

// ---- ACS send_sms ----

fn send_sms(to: &[&str], message: &str, report: bool) -> Command {
    Command::Carrier(CarrierCall::SendSms {
        from: Arc::from(PROXY),
        to: to.iter().map(|s| Arc::from(*s)).collect(),
        message: Arc::from(message),
        delivery_report: report,
    })
}

#[test]
fn acs_send_sms_answers_per_recipient_and_reports_delivery() {
    let mut sim = acs(3);
    let command = send_sms(&[DAN, "+112345678901", WEN], "Your code is 1234", true);
    assert_eq!(command.success_status(), 202);
    let Reply::SmsSent(results) = sim.execute(None, &command).unwrap() else {
        panic!()
    };
    let statuses: Vec<(u16, bool)> = results
        .iter()
        .map(|r| (r.http_status, r.successful))
        .collect();
    assert_eq!(statuses, [(202, true), (400, false), (202, true)]);
    assert_eq!(
        results[1].error_message.as_deref(),
        Some("Invalid To phone number format.")
    );
    assert_eq!(outbox(&sim).len(), 2);
    sim.advance(Duration::from_secs(6));
    let reports = events(&sim, "delivery_updated");
    assert_eq!(reports.len(), 2);
    for r in &reports {
        // ACS reports only the final status, with its detail code.
        assert!(r["status"] != "sent");
        if r["status"] == "delivered" {
            assert_eq!(r["code"], 2000);
        }
    }
    // Seed 3 delivers both, so the detail code above was checked.
    let statuses: Vec<&str> = reports
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["delivered", "delivered"]);
    // Without delivery_report, no report events (the status still moves on).
    let mut quiet = acs(3);
    quiet.execute(None, &send_sms(&[DAN], "x", false)).unwrap();
    let lines = quiet.trace().len();
    quiet.advance(Duration::from_secs(6));
    assert_eq!(quiet.trace().len(), lines);
    assert_ne!(outbox(&quiet)[0].status, Status::Queued);
}

#[test]
fn acs_send_sms_refuses_bad_calls_whole() {
    let mut sim = acs(3);
    let numbers: Vec<String> = (0..101).map(|i| format!("+1425555{i:04}")).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let (long, longer) = ("a".repeat(2048), "a".repeat(2049));
    // (case, from, to, message, accepted), in this order on one simulator.
    let cases: [(&str, &str, &[&str], &str, bool); 7] = [
        ("no recipient", PROXY, &[], "x", false),
        ("101 recipients", PROXY, &numbers, "x", false),
        ("100 recipients", PROXY, &numbers[..100], "x", true),
        ("2049 characters", PROXY, &[DAN], &longer, false),
        ("2048 characters", PROXY, &[DAN], &long, true),
        ("a sender of two digits", "12", &[DAN], "x", false),
        ("a short code as the sender", "12345", &[DAN], "x", true),
    ];
    for (case, from, to, message, accepted) in cases {
        let command = Command::Carrier(CarrierCall::SendSms {
            from: Arc::from(from),
            to: to.iter().map(|s| Arc::from(*s)).collect(),
            message: Arc::from(message),
            delivery_report: false,
        });
        match execute_checked(&mut sim, None, &command) {
            Ok(_) => assert!(accepted, "{case}: admitted"),
            Err(error) => {
                assert!(!accepted, "{case}: refused: {error}");
                assert_eq!(error.kind(), Kind::BadRequest, "{case}: {error}");
            }
        }
    }
    // Twilio has no such call.
    let mut tw = twilio(5);
    refused(
        &mut tw,
        None,
        &send_sms(&[DAN], "x", false),
        Kind::BadRequest,
    );
}

// ---- Twilio rendering ----

#[test]
fn twilio_renders_every_channel_error_with_its_code() {
    let cases = [
        (
            Error::BindingExists {
                address: DAN.into(),
                proxy: PROXY.into(),
            },
            50416,
            409,
        ),
        (Error::TooManyNonChat { count: 51, max: 50 }, 50417, 400),
        (
            Error::ThreadFull {
                count: 1001,
                max: 1000,
            },
            50417,
            400,
        ),
        (
            Error::BindingNotFound {
                thread: ThreadId(1),
                address: DAN.into(),
            },
            50432,
            404,
        ),
        (
            Error::ThreadNotFound {
                thread: "t1".into(),
            },
            50350,
            404,
        ),
        (
            Error::NotAParticipant {
                thread: ThreadId(1),
                user: "x".into(),
            },
            50430,
            403,
        ),
        (
            Error::SmsTooLong {
                chars: 1601,
                max: 1600,
            },
            21617,
            400,
        ),
    ];
    for (error, code, status) in cases {
        let v = render_error(&error, ErrorStyle::Twilio);
        assert_eq!(
            (v["code"].as_u64(), v["status"].as_u64()),
            (Some(code), Some(status)),
            "{error}"
        );
        assert_eq!(
            v["more_info"],
            format!("https://www.twilio.com/docs/errors/{code}")
        );
        assert!(v["message"].is_string());
    }
}

// ---- properties ----

const ADDRESSES: [&str; 5] = [
    DAN,
    WEN,
    "whatsapp:+14255550101",
    "+112345678901",
    "+14255550102",
];
const PROXIES: [&str; 4] = [PROXY, "+18005550198", "bad", ""];

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![Just(Channel::Sms), Just(Channel::Whatsapp)]
}

fn spec() -> impl Strategy<Value = BindingSpec> {
    (channel(), select(&ADDRESSES[..]), select(&PROXIES[..])).prop_map(|(c, a, p)| binding(c, a, p))
}

fn media() -> impl Strategy<Value = Vec<Media>> {
    let one = (
        select(&["image/jpeg", "image/gif", "application/pdf", "video/mp4"][..]),
        0u64..20_000_000,
    )
        .prop_map(|(t, bytes)| Media {
            content_type: Arc::from(t),
            bytes,
            name: None,
        });
    proptest::collection::vec(one, 0..3)
}

fn command() -> impl Strategy<Value = Command> {
    let thread = (1u32..4).prop_map(ThreadId);
    prop_oneof![
        (thread.clone(), proptest::collection::vec(spec(), 0..3))
            .prop_map(|(thread, bindings)| { add_bindings(thread, bindings) }),
        (thread.clone(), channel(), select(&ADDRESSES[..])).prop_map(|(thread, channel, a)| {
            Command::Chat(ChatCall::RemoveBinding {
                thread,
                channel,
                address: Arc::from(a),
            })
        }),
        (
            thread.clone(),
            select(&["hi", "", "€uro", "😀"][..]),
            media(),
            any::<bool>()
        )
            .prop_map(
                |(thread, text, media, tpl)| Command::Chat(ChatCall::SendMessage {
                    thread,
                    content: text.into(),
                    content_type: switchboard::core::ContentType::Text,
                    metadata: Default::default(),
                    media,
                    template: tpl.then(|| Arc::from("HX"))
                })
            ),
        thread
            .clone()
            .prop_map(|thread| Command::Chat(ChatCall::SendMessage {
                thread,
                content: "plain".into(),
                content_type: switchboard::core::ContentType::Text,
                metadata: Default::default(),
                media: vec![],
                template: None,
            })),
        (
            channel(),
            select(&ADDRESSES[..]),
            select(&PROXIES[..]),
            select(&["yo", ""][..]),
            media()
        )
            .prop_map(
                |(channel, f, t, b, media)| Command::Carrier(CarrierCall::Inbound {
                    channel,
                    from: Arc::from(f),
                    to: Arc::from(t),
                    body: Arc::from(b),
                    media
                })
            ),
        (thread.clone(), proptest::collection::vec(spec(), 0..2)).prop_map(|(_, bindings)| {
            Command::Chat(ChatCall::CreateThread {
                topic: Arc::from("p"),
                participants: vec![],
                bindings,
                idempotency_key: None,
                options: Default::default(),
            })
        }),
        thread.prop_map(|thread| Command::Chat(ChatCall::DeleteThread { thread })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn channel_calls_keep_the_state_sound(steps in proptest::collection::vec((0u64..30_000, command()), 1..40), seed in any::<u64>()) {
        let run = || {
            let profile = Profile::with_overrides(&Profile::twilio(), &json!({"non_chat.participants_max": 3})).unwrap();
            let mut sim = sim_on(profile, seed);
            let a = sim.create_user("a").unwrap();
            for _ in 0..2 {
                sim.client(a).create_thread("t", &[]).unwrap();
            }
            for (advance, command) in &steps {
                sim.advance(Duration::from_ms(*advance));
                let before = sim.state().clone();
                let actor = (!matches!(command, Command::Carrier(CarrierCall::Inbound { .. }))).then_some(a);
                let result = sim.execute(actor, command);
                if let Err(e) = sim.state().check_invariants() {
                    return Err(TestCaseError::fail(format!("{command:?} -> {result:?}: {e}")));
                }
                if result.is_err() {
                    prop_assert!(sim.state() == &before, "refused {:?} changed the state", command);
                }
            }
            sim.advance(Duration::from_mins(20));
            prop_assert!(sim.state().check_invariants().is_ok());
            // Every delivery has left `queued` once the carriers are done.
            prop_assert!(sim.outbox(&OutboxFilter::default()).iter().all(|d| d.status != Status::Queued));
            Ok(sim.digest())
        };
        let first = run()?;
        prop_assert_eq!(first, run()?);
    }
}

/// The README's "Channels" example, as written there.
#[test]
fn the_readme_channels_example_runs() {
    let mut sim = twilio(1);
    let agent = sim.create_user("agent").unwrap();
    let t = sim.client(agent).create_thread("Order 1042", &[]).unwrap();
    sim.client(agent)
        .add_binding(t, Channel::Sms, "+14255550100", "+18005550199")
        .unwrap();
    sim.client(agent)
        .send_message(t, "Your order ships today")
        .unwrap();
    sim.inbound(
        Channel::Sms,
        "+14255550100",
        "+18005550199",
        "thanks!",
        vec![],
    )
    .unwrap();
    let out = sim.outbox(&OutboxFilter::default());
    assert_eq!((out[0].segments, out[0].status), (1, Status::Queued));
}

#[test]
fn a_group_mms_holds_at_most_ten_participants() {
    let mut sim = twilio(5);
    let (agent, lead, t) = setup(&mut sim);
    // SMS participants without a proxy address are group MMS participants.
    let group: Vec<BindingSpec> = (0..8)
        .map(|i| binding(Channel::Sms, &format!("+1425555000{i}"), ""))
        .collect();
    add(&mut sim, agent, t, group).unwrap();
    assert!(sim.state().thread(t).unwrap().is_group_mms());
    // 2 chat + 8 = 10: an eleventh of either kind is refused (50417, max 10).
    let e = refused(
        &mut sim,
        Some(agent),
        &add_bindings(t, vec![binding(Channel::Sms, "+14255550099", "")]),
        Kind::BadRequest,
    );
    let v = render_error(&e, ErrorStyle::Twilio);
    assert_eq!(v["code"], 50417);
    assert!(v["message"].as_str().unwrap().contains("at most 10"));
    let carol = sim.create_user("carol").unwrap();
    assert_eq!(
        sim.client(agent)
            .add_participants(t, &[carol])
            .unwrap_err()
            .kind(),
        Kind::BadRequest
    );
    // The same number may be in another group; twice in one group it may not.
    let t2 = sim
        .client(agent)
        .create_thread("other group", &[lead])
        .unwrap();
    add(
        &mut sim,
        agent,
        t2,
        vec![binding(Channel::Sms, "+14255550000", "")],
    )
    .unwrap();
    refused(
        &mut sim,
        Some(agent),
        &add_bindings(t2, vec![binding(Channel::Sms, "+14255550000", "")]),
        Kind::Conflict,
    );
    // WhatsApp has no group: a proxy is required.
    refused(
        &mut sim,
        Some(agent),
        &add_bindings(t2, vec![binding(Channel::Whatsapp, WEN, "")]),
        Kind::BadRequest,
    );
    // A thread without group participants keeps the full cap.
    let t3 = sim.client(agent).create_thread("blast", &[]).unwrap();
    let blast: Vec<BindingSpec> = (0..20)
        .map(|i| binding(Channel::Sms, &format!("+142555501{i:02}"), PROXY))
        .collect();
    add(&mut sim, agent, t3, blast).unwrap();
    // Group participants get the messages too.
    sim.client(agent).send_message(t, "hello group").unwrap();
    let out = sim.outbox(&OutboxFilter {
        thread: Some(t),
        ..Default::default()
    });
    assert_eq!(out.len(), 8);
    assert!(out.iter().all(|d| d.body.as_deref() == Some("hello group")));
    sim.state().check_invariants().unwrap();
}

// ---- scenarios in the twilio profile ----

fn scenario_step() -> impl Strategy<Value = serde_json::Value> {
    let address = select(
        &[
            "+14255550100",
            "whatsapp:+14255550101",
            "+14255550101",
            "+1425",
            "",
            "dan",
            "wen",
        ][..],
    );
    let proxy = select(&["+18005550199", "whatsapp:+18005550199", "x"][..]);
    let channel = select(&["sms", "whatsapp", "mms"][..]);
    let media = proptest::collection::vec(
        (
            select(
                &[
                    "image/jpeg",
                    "image/gif",
                    "application/pdf",
                    "video/mp4",
                    "",
                ][..],
            ),
            0u64..30_000_000,
        )
            .prop_map(|(t, b)| json!({"content_type": t, "bytes": b})),
        0..3,
    );
    prop_oneof![
        (address.clone(), proxy.clone(), any::<bool>()).prop_map(|(a, p, wa)| {
            let kind = if wa { "whatsapp" } else { "sms" };
            json!({"as": "agent", "op": "add_participants", "thread": "t",
                   "participants": [{kind: a, "proxy": p, "ref": format!("r{}", a.len())}]})
        }),
        (channel.clone(), address.clone(), proxy.clone(), media.clone()).prop_map(|(c, a, p, m)| {
            json!({"op": "inbound", "channel": if c == "mms" { "sms" } else { c }, "from": a, "to": p, "body": "hi", "media": m})
        }),
        (media, any::<bool>()).prop_map(|(m, tpl)| {
            let mut step = json!({"as": "agent", "op": "send_message", "thread": "t", "content": "hello €", "media": m});
            if tpl {
                step["template"] = json!("HX1");
            }
            step
        }),
        (address.clone(), channel).prop_map(|(a, c)| json!({"op": "outbox", "to": a, "channel": c})),
        address.clone().prop_map(|a| json!({"as": "agent", "op": "remove_participant", "thread": "t", "participant": a})),
        (address, proxy).prop_map(|(a, p)| json!({"op": "send_sms", "from": p, "to": [a], "message": "x"})),
        Just(json!({"as": "agent", "op": "delete_thread", "thread": "t"})),
    ]
    .prop_map(|mut step| {
        step["at"] = json!("+5s");
        step
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Channel-shaped steps in the twilio profile: a clean parse error or a run
    /// that finishes and replays to the same bytes; never a panic.
    #[test]
    fn twilio_scenarios_never_panic_and_replay(steps in proptest::collection::vec(scenario_step(), 1..12)) {
        let mut all = vec![json!({"as": "agent", "op": "create_thread", "topic": "x", "ref": "t"})];
        all.extend(steps);
        all.push(json!({"at": "+1h", "op": "outbox"}));
        let doc = json!({"seed": 3, "profile": "twilio", "users": ["agent"], "steps": all});
        match switchboard::scenario::parse(&doc.to_string(), None) {
            Ok(parsed) => {
                let first = switchboard::scenario::run(&parsed);
                let second = switchboard::scenario::run(&parsed);
                prop_assert_eq!(first.jsonl(), second.jsonl());
            }
            Err(e) => prop_assert!(e.path.starts_with('$'), "{}", e),
        }
    }
}

// ---- Twilio's own numbers, not overrides ----

/// 50 SMS/WhatsApp participants fit a conversation; the 51st is refused.
#[test]
fn twilio_holds_fifty_non_chat_participants_and_no_more() {
    let mut sim = twilio(2);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    for i in 0..50 {
        let address = format!("+1425555{i:04}");
        sim.client(ana)
            .retrying()
            .add_binding(t, Channel::Sms, &address, PROXY)
            .unwrap();
    }
    let before = sim.state().clone();
    let err = sim
        .client(ana)
        .retrying()
        .add_binding(t, Channel::Sms, "+14255559999", PROXY)
        .unwrap_err();
    assert_eq!(twilio_code(&err), 50417, "{err}");
    assert!(sim.state() == &before);
}

/// A chat identity may belong to 1000 conversations; the 1001st is refused,
/// and closing one makes room.
#[test]
fn twilio_identity_belongs_to_at_most_a_thousand_conversations() {
    let mut sim = twilio(2);
    let ana = sim.create_user("ana").unwrap();
    let mut threads = Vec::new();
    for i in 0..1000 {
        threads.push(
            sim.client(ana)
                .retrying()
                .create_thread(&format!("t{i}"), &[])
                .unwrap(),
        );
    }
    let err = sim
        .client(ana)
        .retrying()
        .create_thread("one more", &[])
        .unwrap_err();
    assert_eq!(err.status(), 400, "{err}");
    sim.client(ana)
        .retrying()
        .set_state(threads[0], switchboard::core::ConversationState::Closed)
        .unwrap();
    sim.client(ana)
        .retrying()
        .create_thread("one more", &[])
        .unwrap();
}

/// An MMS from a sender may carry exactly 5 MiB in all, not a byte more.
#[test]
fn mms_from_a_sender_carries_five_mib_in_all_exactly() {
    let mib = 1024 * 1024;
    let medium = |bytes: u64| Media {
        content_type: Arc::from("image/jpeg"),
        bytes,
        name: None,
    };
    let mut sim = twilio(2);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    sim.client(ana)
        .add_binding(t, Channel::Sms, DAN, PROXY)
        .unwrap();
    let exact = vec![medium(2 * mib), medium(2 * mib), medium(mib)];
    sim.inbound(Channel::Sms, DAN, PROXY, "", exact).unwrap();
    let over = vec![medium(2 * mib), medium(2 * mib), medium(mib + 1)];
    let err = sim.inbound(Channel::Sms, DAN, PROXY, "", over).unwrap_err();
    assert_eq!(err.status(), 413, "{err}");
}

/// Twilio's per-message delivery summary: the total of SMS/WhatsApp
/// deliveries and whether all, some or none are in each status.
#[test]
fn a_message_carries_its_delivery_summary() {
    let mut profile = Profile::twilio();
    let carriers = profile.carriers.as_mut().unwrap();
    carriers.sms.failed_ppm = 0;
    carriers.sms.undelivered_ppm = 0;
    let mut sim = sim_on(profile, 3);
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("t", &[]).unwrap();
    for number in [DAN, WEN] {
        sim.client(ana)
            .add_binding(t, Channel::Sms, number, PROXY)
            .unwrap();
    }
    let m = sim.client(ana).send_message(t, "hello").unwrap();
    let summary = |sim: &mut Simulator| {
        let view = sim.client(ana).get_message(m).unwrap();
        serde_json::to_value(view.delivery).unwrap()
    };
    assert_eq!(
        summary(&mut sim),
        json!({"total": 2, "sent": "none", "delivered": "none", "read": "none",
               "failed": "none", "undelivered": "none"})
    );
    sim.advance(Duration::from_mins(10));
    assert_eq!(summary(&mut sim)["delivered"], "all");
    // A chat-only message has no summary.
    let t2 = sim.client(ana).create_thread("chat only", &[]).unwrap();
    let m2 = sim.client(ana).send_message(t2, "hi").unwrap();
    assert_eq!(sim.client(ana).get_message(m2).unwrap().delivery, None);
}
