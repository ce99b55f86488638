//! The oracles: every shipped fixture and example keeps them, and each one
//! catches a bug planted in a real run's trace (or its calls, or its state).

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use switchboard::Profile;
use switchboard::scenario::{self, Oracles, RunOptions, check_trace};

fn files_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn parse_file(path: &Path) -> scenario::Scenario {
    let text = std::fs::read_to_string(path).unwrap();
    scenario::parse(&text, None).unwrap()
}

/// Runs `scenario` with the oracles on, keeping its lines.
fn run_checked(scenario: &scenario::Scenario) -> (Vec<String>, scenario::RunReport) {
    let mut lines = Vec::new();
    let options = RunOptions {
        oracles: true,
        ..RunOptions::default()
    };
    let report = scenario::run_with(scenario, options, |l| lines.push(l.to_string()));
    (lines, report)
}

fn kinds(failures: &[scenario::OracleFailure]) -> Vec<&'static str> {
    failures.iter().map(|f| f.kind).collect()
}

#[test]
fn every_fixture_and_example_keeps_the_oracles() {
    let mut files = files_in("fixtures");
    files.extend(files_in("docs/examples"));
    assert!(files.len() >= 10);
    for path in files {
        let (lines, report) = run_checked(&parse_file(&path));
        assert!(
            report.oracle_failures.is_empty(),
            "{}: {:?}",
            path.display(),
            report.oracle_failures
        );
        // The same lines, checked afterwards, agree.
        let profile = parse_file(&path).profile;
        let again = check_trace(&profile, lines.iter().map(String::as_str));
        assert!(again.is_empty(), "{}: {again:?}", path.display());
    }
}

/// The trace of a shipped fixture.
fn fixture_lines(name: &str) -> (Profile, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let scenario = parse_file(&path);
    let (lines, report) = run_checked(&scenario);
    assert!(report.oracle_failures.is_empty());
    (scenario.profile, lines)
}

/// The index of the first line of `kind` that `pick` accepts.
fn find(lines: &[String], kind: &str, pick: impl Fn(&Value) -> bool) -> usize {
    lines
        .iter()
        .position(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["kind"] == kind && pick(&v)
        })
        .unwrap_or_else(|| panic!("no {kind} line"))
}

fn edit(lines: &mut [String], index: usize, change: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_str(&lines[index]).unwrap();
    change(&mut v);
    lines[index] = serde_json::to_string(&v).unwrap();
}

fn check(profile: &Profile, lines: &[String]) -> Vec<&'static str> {
    kinds(&check_trace(profile, lines.iter().map(String::as_str)))
}

#[test]
fn a_sequence_id_that_does_not_increase_is_caught() {
    let (profile, mut lines) = fixture_lines("thread_lifecycle.json");
    assert_eq!(check(&profile, &lines), Vec::<&str>::new());
    let i = find(&lines, "message_sent", |v| v["message"] == 4);
    edit(&mut lines, i, |v| v["message"] = json!(3));
    assert_eq!(check(&profile, &lines), ["sequence_order"]);
}

#[test]
fn a_message_reaching_a_removed_participant_is_caught() {
    let (profile, mut lines) = fixture_lines("thread_lifecycle.json");
    // After omar's removal the thread holds maya, noor and pia: a message
    // from maya reaches 2; planted: it reaches omar too.
    let removed = find(&lines, "participant_removed", |_| true);
    let i = removed + find(&lines[removed..], "message_sent", |v| v["recipients"] == 2);
    edit(&mut lines, i, |v| v["recipients"] = json!(3));
    assert_eq!(check(&profile, &lines), ["delivery_to_removed"]);
}

#[test]
fn a_retention_deletion_off_time_or_missed_is_caught() {
    let (profile, lines) = fixture_lines("support_desk_month.json");
    let i = find(&lines, "retention_expired", |_| true);
    let mut late = lines.clone();
    edit(&mut late, i, |v| {
        v["at_ms"] = json!(v["at_ms"].as_u64().unwrap() + 1)
    });
    assert_eq!(check(&profile, &late), ["retention_timing"]);
    // Missed: the deletion and what followed it are gone.
    let mut missed = lines.clone();
    missed.truncate(i);
    missed.push(
        json!({"at_ms": 8_000_000_000u64, "kind": "step", "step": 99, "op": "advance",
               "status": 200})
        .to_string(),
    );
    assert!(check(&profile, &missed).contains(&"retention_timing"));
}

/// A small workload with SMS participants and a carrier (1 to 5 s).
fn sms_workload() -> scenario::Scenario {
    let mut non_chat = serde_json::to_value(Profile::twilio().non_chat).unwrap();
    non_chat["participants_max"] = json!(50);
    let carrier = json!({"sent_receipt": true, "sent_ms_min": 100, "sent_ms_max": 900,
        "final_ms_min": 1000, "final_ms_max": 5000, "failed_ppm": 50000,
        "undelivered_ppm": 50000, "read_ppm": 0, "read_ms_min": 0, "read_ms_max": 0,
        "delivered_code": 0, "failed_code": 30008, "undelivered_code": 30003});
    let doc = json!({
        "seed": 3,
        "profile": {"base": "acs", "overrides": {"non_chat": non_chat,
            "carriers": {"sms": carrier, "whatsapp": carrier}}},
        "workload": {"users": 20, "threads": 5, "chat_participants": 4,
                     "sms_participants": 2, "proxy": "+18005550100",
                     "lifetime": "20m", "horizon": "1h", "mean_gap": "5s"}
    });
    scenario::parse(&doc.to_string(), None).unwrap()
}

#[test]
fn a_delivery_that_never_ends_is_caught() {
    let scenario = sms_workload();
    let (lines, report) = run_checked(&scenario);
    assert!(
        report.oracle_failures.is_empty(),
        "{:?}",
        report.oracle_failures
    );
    let profile = scenario.profile;
    assert_eq!(check(&profile, &lines), Vec::<&str>::new());
    // Planted: an early delivery's final receipt is lost.
    let i = find(&lines, "delivery_updated", |v| v["status"] == "delivered");
    let mut lost = lines.clone();
    lost.remove(i);
    assert_eq!(check(&profile, &lost), ["delivery_unended"]);
    // A receipt that an injected fault dropped is not a failure.
    let id = serde_json::from_str::<Value>(&lines[i]).unwrap()["delivery"].clone();
    lost.insert(
        i,
        json!({"at_ms": 0, "kind": "fault", "fault": "receipt_lost", "delivery": id,
               "receipt": "delivered"})
        .to_string(),
    );
    assert_eq!(check(&profile, &lost), Vec::<&str>::new());
    // Planted: a message fanned out to more SMS participants than the thread holds.
    let j = find(&lines, "deliveries_created", |v| v["queued"] == 2);
    let mut extra = lines.clone();
    edit(&mut extra, j, |v| v["queued"] = json!(3));
    assert!(check(&profile, &extra).contains(&"delivery_to_removed"));
}

#[test]
fn a_call_accepted_over_a_rate_limit_is_caught() {
    // ACS: 50 sends per user per thread per minute.
    let profile = Profile::acs();
    let send = switchboard::core::Command::Chat(switchboard::core::ChatCall::SendMessage {
        thread: switchboard::id::ThreadId(1),
        content: "hi".into(),
        content_type: switchboard::core::ContentType::Text,
        metadata: Default::default(),
        media: vec![],
        template: None,
    });
    let at = |ms| switchboard::Instant(ms);
    let mut oracles = Oracles::new(&profile);
    for i in 0..50 {
        oracles.call(at(i * 100), Some("ana"), &send, true);
    }
    // Refused calls do not count; a minute after the first, there is room.
    oracles.call(at(5_100), Some("ana"), &send, false);
    oracles.call(at(60_000), Some("ana"), &send, true);
    oracles.call(at(60_000), Some("ben"), &send, true);
    assert!(oracles.failures().is_empty(), "{:?}", oracles.failures());
    // Planted: the limiter admits one more inside the minute.
    oracles.call(at(60_050), Some("ana"), &send, true);
    assert_eq!(kinds(oracles.failures()), ["accepted_over_limit"]);
}

#[test]
fn an_accepted_message_missing_from_the_log_is_caught() {
    use switchboard::Simulator;
    let mut sim = Simulator::builder().seed(1).build();
    let a = sim.create_user("a").unwrap();
    let t = sim.client(a).create_thread("t", &[]).unwrap();
    let m = sim.client(a).send_message(t, "kept").unwrap();
    let gone = sim.client(a).send_message(t, "deleted").unwrap();
    sim.client(a).delete_message(gone).unwrap();
    let mut oracles = Oracles::new(sim.profile());
    for line in sim.trace().lines() {
        oracles.line(line);
    }
    let end = sim.now();
    assert_eq!(oracles.clone().finish(end, Some(&sim)), vec![]);
    // Planted: the platform said it accepted a message it did not keep.
    oracles.line(&format!(
        r#"{{"at_ms":0,"kind":"message_sent","thread":"{t}","message":{},"by":"a","bytes":1,"recipients":0}}"#,
        m.sequence + 5
    ));
    assert_eq!(kinds(&oracles.finish(end, Some(&sim))), ["message_lost"]);
}

#[test]
fn the_command_line_runs_the_oracles_on_request_and_replays_with_them() {
    use crate::harness::switchboard;
    let ok = switchboard(&["run", "fixtures/thread_lifecycle.json", "--oracles"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let failing = "docs/examples/failing/expectation_fails.json";
    let out = switchboard(&["run", failing, "--oracles"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "replay with: switchboard run {failing} --oracles --seed "
        )),
        "{stderr}"
    );
}
