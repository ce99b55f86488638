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
            oracles: false,
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
