//! Workloads drawn from the seed (the scenario format's `workload` section):
//! determinism, the independence of the workload stream from the carrier's,
//! the parse-time bounds, and the counts a population and a rate produce.

use serde_json::{Value, json};
use switchboard::Profile;
use switchboard::scenario;

const HOUR_MS: u64 = 3_600_000;

/// A carrier that delivers every SMS `min_ms` to `max_ms` after it is handed
/// over, reporting only the final status.
fn carrier(min_ms: u64, max_ms: u64) -> Value {
    json!({"sent_receipt": false, "sent_ms_min": 0, "sent_ms_max": 0,
           "final_ms_min": min_ms, "final_ms_max": max_ms,
           "failed_ppm": 0, "undelivered_ppm": 0, "read_ppm": 0,
           "read_ms_min": 0, "read_ms_max": 0,
           "delivered_code": 2000, "failed_code": 5000, "undelivered_code": 4006})
}

/// `acs` with SMS participants allowed (Twilio's channel rules, up to 50 a
/// thread) and a carrier delivering `min_ms` to `max_ms` later.
fn profile(min_ms: u64, max_ms: u64) -> Value {
    let mut non_chat = serde_json::to_value(Profile::twilio().non_chat).unwrap();
    non_chat["participants_max"] = json!(50);
    json!({"base": "acs", "overrides": {
        "non_chat": non_chat,
        "carriers": {"sms": carrier(min_ms, max_ms), "whatsapp": carrier(min_ms, max_ms)}
    }})
}

/// A small workload: 30 users, 20 threads of 8 chat and 2 SMS participants,
/// an hourly churn, an arrival every 2 s on average over 6 hours, 1 % of
/// arrivals opening a burst of 5 sends 1 s apart.
fn small() -> Value {
    json!({
        "name": "small workload",
        "seed": 7,
        "profile": profile(1000, 5000),
        "workload": {
            "users": 30, "threads": 20, "chat_participants": 8,
            "sms_participants": 2, "proxy": "+18005550100",
            "lifetime": "1h", "horizon": "6h", "mean_gap": "2s",
            "burst": {"ppm": 10000, "sends": 5, "gap": "1s"},
            "bodies": {"count": 50, "chars_min": 10, "chars_max": 40}
        }
    })
}

fn run(doc: &Value) -> scenario::RunReport {
    let parsed = scenario::parse(&doc.to_string(), None).expect("the workload parses");
    scenario::run(&parsed)
}

fn lines(report: &scenario::RunReport) -> Vec<Value> {
    report
        .lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect()
}

/// The send steps' (instant, sender, thread-slot order) as the trace shows them.
fn sends(lines: &[Value]) -> Vec<(u64, String, u64)> {
    lines
        .iter()
        .filter(|l| l["kind"] == "step" && l["op"] == "send_message")
        .map(|l| {
            (
                l["at_ms"].as_u64().unwrap(),
                l["as"].as_str().unwrap().to_string(),
                l["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_bytes_and_another_seed_others() {
    let doc = small();
    let first = run(&doc);
    let second = run(&doc);
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.jsonl(), second.jsonl());
    let mut other = doc.clone();
    other["seed"] = json!(8);
    let third = run(&other);
    assert_ne!(first.digest, third.digest);
    assert_ne!(sends(&lines(&first)), sends(&lines(&third)));
}

#[test]
fn the_workload_stream_is_independent_of_the_carrier_stream() {
    let doc = small();
    let mut slower = doc.clone();
    slower["profile"] = profile(2000, 9000);
    let (a, b) = (lines(&run(&doc)), lines(&run(&slower)));
    // The carrier's draws moved the delivery reports ...
    let reports = |lines: &[Value]| -> Vec<u64> {
        lines
            .iter()
            .filter(|l| l["kind"] == "delivery_updated")
            .map(|l| l["at_ms"].as_u64().unwrap())
            .collect()
    };
    assert_ne!(reports(&a), reports(&b));
    // ... and not one arrival, sender, outcome, creation or deletion.
    assert_eq!(sends(&a), sends(&b));
    let others = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["kind"] == "step" && l["op"] != "send_message")
            .cloned()
            .collect()
    };
    assert_eq!(others(&a), others(&b));
}

#[test]
fn the_population_and_the_rates_give_the_expected_counts() {
    let report = run(&small());
    let lines = lines(&report);
    let count = |op: &str| {
        lines
            .iter()
            .filter(|l| l["kind"] == "step" && l["op"] == op)
            .count() as u64
    };
    // Thread slots: each one's first expiry is uniform within the first hour,
    // then hourly, so over 6 hours each is deleted 5 or 6 times, and every
    // deletion is followed at once by a creation.
    let (threads, deleted, created) = (20, count("delete_thread"), count("create_thread"));
    assert!((5 * threads..=6 * threads).contains(&deleted), "{deleted}");
    assert_eq!(created, threads + deleted);
    // Arrivals: Poisson with mean 6 h / 2 s = 10,800 (standard deviation
    // about 104); 1 % open a burst (mean 108, sd about 10.4) of 4 more sends.
    // Five standard deviations either side.
    let arrivals_mean = 6 * HOUR_MS / 2_000;
    let bursts_mean = arrivals_mean / 100;
    let attempts = count("send_message");
    let low = arrivals_mean - 5 * 104 + 4 * (bursts_mean - 5 * 11);
    let high = arrivals_mean + 5 * 104 + 4 * (bursts_mean + 5 * 11);
    assert!(
        (low..=high).contains(&attempts),
        "{attempts} not in {low}..={high}"
    );
    // Every send is into a live thread by a member, and a burst of 5 in 5 s
    // stays under ACS's 50 a minute: all accepted, except burst sends into a
    // thread churned under them.
    let refused: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "step" && l["op"] == "send_message" && l["status"] != 201)
        .collect();
    // A burst spans 4 s and its thread churns once an hour: about
    // 108 × 4 s / 1 h ≈ 0.12 bursts are cut, each losing at most 4 sends, so
    // more than 4 cut bursts (16 refusals) would be far in the tail.
    assert!(refused.iter().all(|l| l["status"] == 404), "{refused:?}");
    assert!(refused.len() <= 16, "{}", refused.len());
    // Fan-out: each accepted message reaches the 7 other chat participants
    // and the 2 SMS participants; bodies are 10 to 40 ASCII characters.
    let sent: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "message_sent")
        .collect();
    assert_eq!(sent.len() as u64, attempts - refused.len() as u64);
    assert!(sent.iter().all(|l| l["recipients"] == 7));
    assert!(
        sent.iter()
            .all(|l| (10..=40).contains(&l["bytes"].as_u64().unwrap()))
    );
    let queued: u64 = lines
        .iter()
        .filter(|l| l["kind"] == "deliveries_created")
        .map(|l| l["queued"].as_u64().unwrap())
        .sum();
    assert_eq!(queued, 2 * sent.len() as u64);
    // The clock never goes back, and the run ends at the horizon.
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["at_ms"].as_u64() <= w[1]["at_ms"].as_u64())
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["at_ms"], 6 * HOUR_MS);
    assert_eq!(summary["steps"], created + deleted + attempts);
}

#[test]
fn a_workload_runs_beside_the_steps_in_time_order() {
    let mut doc = small();
    doc["workload"]["horizon"] = json!("10m");
    doc["users"] = json!(["alice"]);
    doc["steps"] = json!([
        {"at": "5m", "op": "create_thread", "as": "alice", "topic": "beside",
         "participants": ["user00"], "ref": "beside"},
        {"at": "+1s", "op": "send_message", "as": "alice", "thread": "beside", "content": "hi",
         "expect": {"status": 201}}
    ]);
    let report = run(&doc);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let lines = lines(&report);
    let steps: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "step").collect();
    // The file's steps keep their numbers; the generated ones follow.
    let at = |i: u64| {
        steps
            .iter()
            .find(|l| l["step"] == i)
            .map(|l| l["at_ms"].as_u64().unwrap())
    };
    assert_eq!(at(0), Some(300_000));
    assert_eq!(at(1), Some(301_000));
    assert!(steps.iter().any(|l| l["step"].as_u64().unwrap() >= 2));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["at_ms"].as_u64() <= w[1]["at_ms"].as_u64())
    );
}

#[test]
fn sizes_beyond_the_bounds_are_refused_with_their_paths() {
    let cases: &[(&str, Value, &str)] = &[
        ("users", json!(10_001), "$.workload.users"),
        ("users", json!(0), "$.workload.users"),
        ("threads", json!(10_001), "$.workload.threads"),
        (
            "chat_participants",
            json!(31),
            "$.workload.chat_participants",
        ),
        (
            "sms_participants",
            json!(101),
            "$.workload.sms_participants",
        ),
        ("horizon", json!("367d"), "$.workload.horizon"),
        ("mean_gap", json!("7h"), "$.workload.mean_gap"),
        ("lifetime", json!("10ms"), "$.workload.lifetime"),
        (
            "burst",
            json!({"ppm": 1_000_001, "sends": 2, "gap": "1s"}),
            "$.workload.burst.ppm",
        ),
        (
            "burst",
            json!({"ppm": 1, "sends": 1_001, "gap": "1s"}),
            "$.workload.burst.sends",
        ),
        (
            "burst",
            json!({"ppm": 1, "sends": 2, "gap": "2h"}),
            "$.workload.burst.gap",
        ),
        (
            "burst",
            json!({"ppm": 1, "sends": 2}),
            "$.workload.burst.gap",
        ),
        (
            "bodies",
            json!({"count": 10_001}),
            "$.workload.bodies.count",
        ),
        (
            "bodies",
            json!({"chars_max": 4_097}),
            "$.workload.bodies.chars_max",
        ),
        (
            "bodies",
            json!({"chars_min": 50, "chars_max": 40}),
            "$.workload.bodies.chars_max",
        ),
        (
            "bodies",
            json!({"extension_ppm": 600_000, "accented_ppm": 500_000}),
            "$.workload.bodies.accented_ppm",
        ),
        ("bodies", json!({"colour": 1}), "$.workload.bodies.colour"),
        ("user_prefix", json!(""), "$.workload.user_prefix"),
        ("proxy", Value::Null, "$.workload.proxy"),
        ("colour", json!(1), "$.workload.colour"),
    ];
    for (field, value, path) in cases {
        let mut doc = small();
        if value.is_null() {
            doc["workload"].as_object_mut().unwrap().remove(*field);
        } else {
            doc["workload"][*field] = value.clone();
        }
        let error = scenario::parse(&doc.to_string(), None)
            .expect_err(&format!("{field} = {value} is refused"));
        assert_eq!(error.path, *path, "{field} = {value}: {error}");
    }
    // Sizes whose product is too large: a churn too fast for the horizon
    // (more than a million thread creations), and more fresh numbers than
    // seven digits hold.
    let mut doc = small();
    doc["workload"]["threads"] = json!(10_000);
    doc["workload"]["lifetime"] = json!("1s");
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.workload.lifetime", "{error}");
    let mut doc = small();
    doc["workload"]["threads"] = json!(10_000);
    doc["workload"]["lifetime"] = json!("10m");
    doc["workload"]["sms_participants"] = json!(100);
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.workload.sms_participants", "{error}");
    // Generated ids that a file declares, or that are too long for the profile.
    let mut doc = small();
    doc["users"] = json!(["user07"]);
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.workload.user_prefix", "{error}");
    // Without steps a workload stands alone; without either, steps are missing.
    let mut doc = small();
    doc.as_object_mut().unwrap().remove("workload");
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.steps", "{error}");
}

#[test]
fn the_w1_fixture_parses_within_its_bounds() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/workloads/w1.json"),
    )
    .unwrap();
    let parsed = scenario::parse(&text, None).expect("W1 parses");
    let w = parsed.workload.expect("W1 is a workload");
    assert_eq!(
        (w.users, w.threads, w.chat_participants, w.sms_participants),
        (200, 1000, 40, 10)
    );
    assert_eq!(w.horizon.ms(), 30 * 24 * HOUR_MS);
}

/// A workload's own refusals (sends into a replaced thread, 429s) are its
/// traffic, not unexpected refusals; file steps may act as its identities;
/// a proxy must be an E.164 number.
#[test]
fn workload_refusals_are_not_strict_failures_and_steps_may_act_as_its_users() {
    let text = r#"{"seed": 2, "profile": "acs",
        "workload": {"users": 4, "threads": 2, "chat_participants": 2,
                     "horizon": "10m", "mean_gap": "50ms",
                     "burst": {"ppm": 200000, "sends": 40, "gap": "10ms"}},
        "steps": [{"at": "1m", "as": "user0", "op": "list_threads",
                   "expect": {"status": 200}}]}"#;
    let parsed = switchboard::scenario::parse(text, None).unwrap();
    let strict = switchboard::scenario::run_with(
        &parsed,
        switchboard::scenario::RunOptions {
            strict: true,
            ..Default::default()
        },
        |_| {},
    );
    assert!(strict.failures.is_empty(), "{:?}", strict.failures.first());
    assert_eq!(strict.unexpected_refusals, 0);
    let plain = switchboard::scenario::run(&parsed);
    let refused = plain
        .lines
        .iter()
        .filter(|l| l.contains("\"status\":429"))
        .count();
    assert!(
        refused > 0,
        "the workload is throttled, so the test means something"
    );
    let bad_proxy = r#"{"seed": 2, "profile": "twilio",
        "workload": {"users": 2, "threads": 1, "chat_participants": 1, "sms_participants": 1,
                     "proxy": "+abc", "horizon": "1m", "mean_gap": "1s"}}"#;
    let e = switchboard::scenario::parse(bad_proxy, None).unwrap_err();
    assert_eq!(e.path, "$.workload.proxy");
}

/// A Twilio workload with every behaviour knob set.
fn every_knob() -> Value {
    json!({
        "name": "every behaviour", "seed": 5, "profile": "twilio",
        "workload": {
            "users": 40, "threads": 6, "chat_participants": 5, "sms_participants": 2,
            "proxy": "+18005550100", "whatsapp_ppm": 500000,
            "lifetime": "2h", "horizon": "6h", "mean_gap": "3s",
            "actions": {"list_messages_ppm": 50000, "get_message_ppm": 50000,
                        "edit_ppm": 50000, "delete_ppm": 30000, "read_receipt_ppm": 50000,
                        "typing_ppm": 50000, "join_ppm": 30000, "leave_ppm": 20000,
                        "inbound_ppm": 100000},
            "diurnal": [1, 1, 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 10, 10, 10, 10, 10, 8, 6, 4, 3, 2, 1, 1],
            "media": {"ppm": 100000, "items": [{"type": "image/jpeg", "bytes": 200000},
                                               {"type": "application/pdf", "bytes": 900000}]},
            "on_429": {"retry": 3}
        }
    })
}

fn step_count(lines: &[Value], op: &str, status: u64) -> u64 {
    lines
        .iter()
        .filter(|l| l["kind"] == "step" && l["op"] == op && l["status"] == status)
        .count() as u64
}

#[test]
fn every_behaviour_knob_makes_its_calls_and_keeps_the_oracles() {
    let report = run(&every_knob());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.digest, run(&every_knob()).digest);
    let lines = lines(&report);
    for (op, status) in [
        ("send_message", 201),
        ("list_messages", 200),
        ("get_message", 200),
        ("update_message", 204),
        ("delete_message", 204),
        ("send_read_receipt", 200),
        ("send_typing", 200),
        ("add_participants", 201),
        ("remove_participant", 204),
        ("inbound", 201),
    ] {
        assert!(step_count(&lines, op, status) > 5, "{op} {status}");
    }
    // Inbound replies come from SMS and WhatsApp participants alike.
    let from = |prefix: &str| {
        lines
            .iter()
            .filter(|l| l["kind"] == "inbound_received")
            .filter(|l| l["from"].as_str().unwrap().starts_with(prefix))
            .count()
    };
    assert!(from("whatsapp:") > 0 && from("+1425") > 0);
    // Sends are 100 % less the actions' 43 %: between 45 % and 69 % of the
    // arrivals (the other calls), with margin.
    let sends = step_count(&lines, "send_message", 201);
    let others: u64 = [
        "list_messages",
        "get_message",
        "update_message",
        "delete_message",
        "send_read_receipt",
        "send_typing",
        "add_participants",
        "remove_participant",
        "inbound",
    ]
    .iter()
    .map(|op| {
        lines
            .iter()
            .filter(|l| l["kind"] == "step" && l["op"] == *op)
            .count() as u64
    })
    .sum();
    assert!(sends * 100 / (sends + others) > 45, "{sends} {others}");
    // Media: an MMS (no segments) among the deliveries.
    assert!(lines.iter().any(|l| l["kind"] == "deliveries_created"
        && l["segments"] == 0
        && l["queued"].as_u64() > Some(0)));
}

#[test]
fn a_diurnal_curve_shapes_the_arrivals() {
    let mut doc = small();
    doc["workload"]["horizon"] = json!("24h");
    doc["workload"]["mean_gap"] = json!("10s");
    doc["workload"].as_object_mut().unwrap().remove("burst");
    let weights: Vec<u64> = (0..24)
        .map(|h| match h {
            0..12 => 0,
            12..18 => 1,
            _ => 3,
        })
        .collect();
    doc["workload"]["diurnal"] = json!(weights);
    let lines = lines(&run(&doc));
    let per_hour = |from: u64, to: u64| {
        lines
            .iter()
            .filter(|l| l["kind"] == "step" && l["op"] == "send_message")
            .filter(|l| (from * HOUR_MS..to * HOUR_MS).contains(&l["at_ms"].as_u64().unwrap()))
            .count() as u64
    };
    // Nothing at night; hours 18 to 24 at the full rate (360 an hour), hours
    // 12 to 18 at a third (120 an hour), each within five standard deviations.
    assert_eq!(per_hour(0, 12), 0);
    let (afternoon, evening) = (per_hour(12, 18), per_hour(18, 24));
    assert!((720 - 135..=720 + 135).contains(&afternoon), "{afternoon}");
    assert!((2160 - 235..=2160 + 235).contains(&evening), "{evening}");
}

#[test]
fn a_throttled_client_retries_after_the_retry_after_or_gives_up() {
    let doc = |on_429: Value| {
        json!({"seed": 2, "profile": "acs",
            "workload": {"users": 4, "threads": 2, "chat_participants": 2,
                         "horizon": "3m", "mean_gap": "500ms",
                         "burst": {"ppm": 200000, "sends": 40, "gap": "10ms"},
                         "on_429": on_429}})
    };
    let gave_up = lines(&run(&doc(json!("give_up"))));
    let report = run(&doc(json!({"retry": 3})));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let retried = lines(&report);
    let attempts = |l: &[Value]| l.iter().filter(|l| l["op"] == "send_message").count();
    assert!(step_count(&gave_up, "send_message", 429) > 0);
    assert!(attempts(&retried) > attempts(&gave_up));
    // Every refusal is answered by a call of the same client exactly its
    // retry-after later (the first three of a chain of refusals).
    let refused: Vec<&Value> = retried
        .iter()
        .filter(|l| l["kind"] == "step" && l["status"] == 429)
        .take(20)
        .collect();
    for r in refused {
        let at =
            r["at_ms"].as_u64().unwrap() + r["body"]["error"]["retry_after_ms"].as_u64().unwrap();
        assert!(
            retried.iter().any(|l| l["kind"] == "step"
                && l["as"] == r["as"]
                && l["op"] == "send_message"
                && l["at_ms"].as_u64() == Some(at)),
            "no retry at {at} of {r}"
        );
    }
}

/// With the new knobs absent, a workload draws exactly as before they
/// existed: W1 over its first 12 hours and the documented example keep
/// their digests.
#[test]
fn workloads_without_the_new_knobs_keep_their_digests() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/workloads/w1.json"),
    )
    .unwrap();
    let mut w1: Value = serde_json::from_str(&text).unwrap();
    w1["workload"]["horizon"] = json!("12h");
    assert_eq!(run(&w1).digest, "d7757a9966d8f03d");
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/workload.json"),
    )
    .unwrap();
    let example: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(run(&example).digest, "c01bbf51b7ccc3d1");
}

#[test]
fn behaviour_knobs_beyond_their_bounds_are_refused_with_their_paths() {
    let cases: &[(&str, Value, &str)] = &[
        (
            "actions",
            json!({"edit_ppm": 600_000, "delete_ppm": 500_000}),
            "$.workload.actions.delete_ppm",
        ),
        (
            "actions",
            json!({"dance_ppm": 1}),
            "$.workload.actions.dance_ppm",
        ),
        ("whatsapp_ppm", json!(1_000_001), "$.workload.whatsapp_ppm"),
        ("diurnal", json!([1, 2, 3]), "$.workload.diurnal"),
        ("diurnal", json!(vec![0; 24]), "$.workload.diurnal"),
        (
            "diurnal",
            json!([
                1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1
            ]),
            "$.workload.diurnal[23]",
        ),
        (
            "media",
            json!({"ppm": 1, "items": []}),
            "$.workload.media.items",
        ),
        (
            "media",
            json!({"ppm": 1, "items": [{"type": "jpeg", "bytes": 1}]}),
            "$.workload.media.items[0].type",
        ),
        (
            "media",
            json!({"ppm": 1, "items": [{"type": "image/png", "bytes": 0}]}),
            "$.workload.media.items[0].bytes",
        ),
        (
            "media",
            json!({"items": [{"type": "image/png", "bytes": 1}]}),
            "$.workload.media.ppm",
        ),
        ("on_429", json!({"retry": 11}), "$.workload.on_429.retry"),
        ("on_429", json!("retry"), "$.workload.on_429"),
    ];
    for (field, value, path) in cases {
        let mut doc = small();
        doc["workload"][*field] = value.clone();
        let error = scenario::parse(&doc.to_string(), None)
            .expect_err(&format!("{field} = {value} is refused"));
        assert_eq!(error.path, *path, "{field} = {value}: {error}");
    }
    let mut doc = small();
    doc["workload"]["sms_participants"] = json!(0);
    doc["workload"].as_object_mut().unwrap().remove("proxy");
    doc["workload"]["actions"] = json!({"inbound_ppm": 10});
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.workload.actions.inbound_ppm", "{error}");
}
