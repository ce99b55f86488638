//! Fault plans: every fault kind shows in the trace, the oracles hold under
//! faults, each fault's stream is independent of the workload's and of the
//! other faults', the swarm draws its choice from the seed, and a plan out
//! of bounds is refused with its JSON path.

use serde_json::{Value, json};
use switchboard::scenario;

/// A Twilio workload with SMS and WhatsApp participants who reply, and
/// every fault kind.
fn plan() -> Value {
    json!({
        "name": "faults", "seed": 5, "profile": "twilio",
        "workload": {"users": 40, "threads": 6, "chat_participants": 5, "sms_participants": 3,
                     "proxy": "+18005550100", "whatsapp_ppm": 400000, "horizon": "4h",
                     "mean_gap": "3s", "actions": {"inbound_ppm": 200000}},
        "faults": {
            "outages": [
                {"channel": "sms", "start": "1h", "end": "1h20m", "code": 30008},
                {"channel": "whatsapp", "from": "+18005550100", "start": "2h", "end": "2h10m",
                 "code": 63032}
            ],
            "latency": [
                {"channel": "sms", "ppm": 100000, "extra_min": "1s", "extra_max": "1m"},
                {"channel": "whatsapp", "ppm": 100000, "extra_min": "500ms", "mean": "5s",
                 "extra_max": "2m"}
            ],
            "failures": [{"channel": "sms", "ppm": 50000, "code": 30003}],
            "receipts": [
                {"channel": "sms", "lost_ppm": 10000, "duplicated_ppm": 10000, "reordered_ppm": 20000},
                {"channel": "whatsapp", "lost_ppm": 10000, "duplicated_ppm": 10000,
                 "reordered_ppm": 20000}
            ],
            "template_rejections": {"ppm": 50000, "code": 63016},
            "storms": [{"start": "3h", "end": "3h20m", "ppm": 300000, "retry_after": "30s"}],
            "disconnects": {"ppm": 20000, "min": "1m", "max": "30m"}
        }
    })
}

fn run(doc: &Value) -> (scenario::RunReport, Vec<Value>) {
    let parsed = scenario::parse(&doc.to_string(), None).expect("the plan parses");
    let report = scenario::run(&parsed);
    let lines = report
        .lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (report, lines)
}

fn faults<'a>(lines: &'a [Value], fault: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["kind"] == "fault" && l["fault"] == fault)
        .collect()
}

/// The generated calls: instant, caller and op (not their outcome).
fn calls(lines: &[Value]) -> Vec<(u64, Value, Value)> {
    lines
        .iter()
        .filter(|l| l["kind"] == "step")
        .map(|l| {
            (
                l["at_ms"].as_u64().unwrap(),
                l["as"].clone(),
                l["op"].clone(),
            )
        })
        .collect()
}

#[test]
fn every_fault_kind_shows_in_the_trace_and_the_oracles_hold() {
    let (report, lines) = run(&plan());
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    for kind in [
        "carrier_outage",
        "template_rejected",
        "latency",
        "receipts_reordered",
        "delivery_failed",
        "receipt_lost",
        "receipt_duplicated",
        "throttled",
        "connection_dropped",
        "connection_restored",
    ] {
        assert!(!faults(&lines, kind).is_empty(), "no {kind} fault");
    }
    // Each fault is followed by what it did (a failure may also be lost).
    let after = |i: usize| {
        lines[i + 1..]
            .iter()
            .find(|l| l["kind"] != "fault")
            .unwrap()
    };
    let lost_next = |i: usize| lines[i + 1]["fault"] == "receipt_lost";
    for (i, l) in lines.iter().enumerate() {
        if l["kind"] != "fault" {
            continue;
        }
        match l["fault"].as_str().unwrap() {
            "delivery_failed" if !lost_next(i) => {
                assert_eq!(after(i)["kind"], "delivery_updated");
                assert_eq!(after(i)["status"], "failed");
                assert_eq!(after(i)["code"], 30003);
            }
            "throttled" => {
                assert_eq!(after(i)["kind"], "step");
                assert_eq!(after(i)["status"], 429);
            }
            _ => {}
        }
    }
    // Outages fail what is handed over in their window, with their code.
    let outage = faults(&lines, "carrier_outage");
    assert!(outage.iter().all(|l| {
        let at = l["at_ms"].as_u64().unwrap();
        (3_600_000..4_800_000).contains(&at) && l["code"] == 30008
            || (7_200_000..7_800_000).contains(&at) && l["code"] == 63032
    }));
    assert!(
        outage.iter().any(|l| l["code"] == 63032),
        "the number's outage"
    );
    // An outage of another sending number touches nothing.
    let mut other = plan();
    other["faults"] = json!({"outages": [{"channel": "whatsapp", "from": "+18005550199",
                                          "start": "0s", "end": "4h", "code": 63032}]});
    let (_, untouched) = run(&other);
    assert!(faults(&untouched, "carrier_outage").is_empty());
    // Throttling only inside the storm.
    assert!(
        faults(&lines, "throttled")
            .iter()
            .all(|l| (10_800_000..12_000_000).contains(&l["at_ms"].as_u64().unwrap()))
    );
    // Uniform delays stay in their range; exponential ones have their mean
    // (each delay is 0.5 s plus an exponential wait of mean 5 s; the cut at
    // 2 min almost never bites).
    let delays: Vec<u64> = faults(&lines, "latency")
        .iter()
        .map(|l| l["delay_ms"].as_u64().unwrap())
        .collect();
    assert!(delays.iter().all(|d| (500..=120_000).contains(d)));
    let tail: Vec<u64> = delays.iter().copied().filter(|d| *d < 1_000).collect();
    assert!(
        !tail.is_empty(),
        "exponential delays reach below the uniform range"
    );
    // A dropped connection comes back when it said, and the client lists
    // what it missed in its threads, from the instant it dropped.
    for drop in faults(&lines, "connection_dropped") {
        let until = drop["until_ms"].as_u64().unwrap();
        if until >= 4 * 3_600_000 {
            continue;
        }
        let back = lines
            .iter()
            .position(|l| {
                l["fault"] == "connection_restored"
                    && l["user"] == drop["user"]
                    && l["at_ms"].as_u64() == Some(until)
            })
            .expect("it comes back");
        let next = &lines[back + 1];
        if next["op"] == "list_messages" && next["as"] == drop["user"] {
            let items = next["result"]["items"].as_array().unwrap();
            let from = drop["at_ms"].as_u64().unwrap();
            assert!(
                items
                    .iter()
                    .all(|m| m["created_at_ms"].as_u64().unwrap() >= from)
            );
        }
    }
    assert!(lines.iter().any(|l| l["op"] == "list_messages"));
    // Same seed, same bytes.
    assert_eq!(report.digest, run(&plan()).0.digest);
}

#[test]
fn changing_a_fault_rate_moves_no_arrival_and_no_other_fault() {
    let (_, base) = run(&plan());
    let mut stronger = plan();
    stronger["faults"]["failures"][0]["ppm"] = json!(400000);
    stronger["faults"]["latency"][0]["ppm"] = json!(500000);
    let (report, changed) = run(&stronger);
    assert!(report.failures.is_empty(), "{:?}", report.failures.first());
    assert!(faults(&changed, "delivery_failed").len() > faults(&base, "delivery_failed").len());
    // The workload's calls, the storm's refusals and the template
    // rejections (each from its own stream) did not move.
    assert!(calls(&base) == calls(&changed), "a fault rate moved a call");
    let picked = |lines: &[Value], kind: &str| -> Vec<Value> {
        faults(lines, kind).into_iter().cloned().collect()
    };
    assert_eq!(picked(&base, "throttled"), picked(&changed, "throttled"));
    assert_eq!(
        picked(&base, "template_rejected"),
        picked(&changed, "template_rejected")
    );
    // Without the plan, the same calls are made, but for the listings of
    // clients catching up after a dropped connection.
    let mut none = plan();
    none.as_object_mut().unwrap().remove("faults");
    let (_, clean) = run(&none);
    let drawn = |lines: &[Value]| -> Vec<(u64, Value, Value)> {
        calls(lines)
            .into_iter()
            .filter(|c| c.2 != "list_messages")
            .collect()
    };
    assert!(
        drawn(&base) == drawn(&clean),
        "the faults moved a workload call"
    );
    assert!(clean.iter().all(|l| l["kind"] != "fault"));
}

#[test]
fn the_swarm_chooses_the_faults_from_the_seed() {
    let mut doc = plan();
    doc["faults"]["swarm"] = json!(true);
    let choice = |seed: u64| {
        let mut d = doc.clone();
        d["seed"] = json!(seed);
        let (report, lines) = run(&d);
        assert!(report.failures.is_empty(), "{:?}", report.failures.first());
        let chosen: Vec<(String, bool)> = faults(&lines, "swarm")
            .iter()
            .map(|l| (l["entry"].as_str().unwrap().to_string(), l["on"] == true))
            .collect();
        (chosen, lines)
    };
    let (first, lines) = choice(1);
    assert_eq!(first.len(), 10, "one line per entry");
    assert_eq!(choice(1).0, first);
    // Over a few seeds, every entry is on in some run and off in another.
    let runs: Vec<Vec<(String, bool)>> = (1..=10).map(|s| choice(s).0).collect();
    for i in 0..10 {
        assert!(
            runs.iter().any(|r| r[i].1) && runs.iter().any(|r| !r[i].1),
            "{i}"
        );
    }
    // An entry that is off injects nothing.
    let kind_of = [
        ("storms[0]", "throttled"),
        ("template_rejections", "template_rejected"),
        ("latency[0]", "latency"),
    ];
    for (entry, kind) in kind_of {
        let on = first.iter().find(|(e, _)| e == entry).unwrap().1;
        if !on {
            assert!(faults(&lines, kind).is_empty(), "{entry} is off");
        }
    }
}

#[test]
fn a_fault_plan_out_of_bounds_is_refused_with_its_path() {
    let cases: &[(&str, Value, &str)] = &[
        ("swarm", json!("yes"), "$.faults.swarm"),
        ("colour", json!(1), "$.faults.colour"),
        (
            "outages",
            json!([{"channel": "fax", "start": "1h", "end": "2h", "code": 1}]),
            "$.faults.outages[0].channel",
        ),
        (
            "outages",
            json!([{"channel": "sms", "start": "2h", "end": "1h", "code": 1}]),
            "$.faults.outages[0].end",
        ),
        (
            "outages",
            json!([{"channel": "sms", "start": "1h", "end": "2h"}]),
            "$.faults.outages[0].code",
        ),
        (
            "outages",
            json!([{"channel": "sms", "from": "12", "start": "1h", "end": "2h", "code": 1}]),
            "$.faults.outages[0].from",
        ),
        (
            "latency",
            json!([{"channel": "sms", "ppm": 1, "extra_max": "2d"}]),
            "$.faults.latency[0].extra_max",
        ),
        (
            "failures",
            json!([{"channel": "sms", "ppm": 1, "code": 1}, {"channel": "sms", "ppm": 1, "code": 2}]),
            "$.faults.failures[1].channel",
        ),
        (
            "failures",
            json!([{"channel": "sms", "ppm": 1_000_001, "code": 1}]),
            "$.faults.failures[0].ppm",
        ),
        (
            "receipts",
            json!([{"channel": "sms", "lost_ppm": 600000, "duplicated_ppm": 500000}]),
            "$.faults.receipts[0].duplicated_ppm",
        ),
        (
            "template_rejections",
            json!({"ppm": 1, "code": 70000}),
            "$.faults.template_rejections.code",
        ),
        (
            "storms",
            json!([{"start": "1h", "end": "2h", "ppm": 1}]),
            "$.faults.storms[0].retry_after",
        ),
        (
            "disconnects",
            json!({"ppm": 1, "min": "10m", "max": "1m"}),
            "$.faults.disconnects.max",
        ),
    ];
    for (field, value, path) in cases {
        let mut doc = plan();
        doc["faults"] = json!({ *field: value });
        let error = scenario::parse(&doc.to_string(), None)
            .expect_err(&format!("{field} = {value} is refused"));
        assert_eq!(error.path, *path, "{field} = {value}: {error}");
    }
    // Connections drop in a workload's clients only.
    let mut doc = plan();
    doc.as_object_mut().unwrap().remove("workload");
    doc["steps"] = json!([]);
    let error = scenario::parse(&doc.to_string(), None).unwrap_err();
    assert_eq!(error.path, "$.faults.disconnects", "{error}");
}
