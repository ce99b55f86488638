//! The research tools (`sweep`, `stats`, `diff`, `shrink`, `plot`): each
//! checked against what the test computes itself from the trace lines or by
//! running the scenario through the library.

use std::collections::BTreeMap;

use serde_json::Value;
use switchboard::research::FailureKind;
use switchboard::research::sweep::{SeedRun, parse_seeds, sweep_with};
use switchboard::scenario;

use crate::harness::{switchboard, switchboard_with};

/// A Twilio thread with one SMS participant on a carrier that fails one
/// delivery in five; the file expects the delivery to arrive.
const FLAKY: &str = "tests/research/flaky_sms.json";

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// The seeds in 1..=n whose run fails, by the library.
fn failing_seeds(path: &str, n: u64) -> Vec<u64> {
    let text = read(path);
    (1..=n)
        .filter(|&seed| {
            let s = scenario::parse(&text, Some(seed)).expect("the file parses");
            !scenario::run(&s).failures.is_empty()
        })
        .collect()
}

// ---- sweep ----

#[test]
fn sweep_finds_the_failing_seeds_and_each_printed_line_replays_its_failure() {
    let expected = failing_seeds(FLAKY, 30);
    assert!(
        !expected.is_empty() && expected.len() < 30,
        "the planted failure fails some seeds only: {expected:?}"
    );
    let out = switchboard(&["sweep", FLAKY, "--seeds", "1..30", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(1), "a failing run fails the sweep");
    let text = stdout(&out);
    let replays: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("replay: "))
        .collect();
    let seeds: Vec<u64> = replays
        .iter()
        .map(|r| r.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(seeds, expected, "failing seeds, in seed order:\n{text}");
    for replay in &replays {
        let args: Vec<&str> = replay.split(' ').skip(1).collect();
        let run = switchboard(&args);
        assert_eq!(run.status.code(), Some(1), "{replay} fails again");
        assert!(String::from_utf8_lossy(&run.stderr).contains("expected result"));
    }
    let passing = (1..=30).find(|s| !expected.contains(s)).unwrap();
    let single = switchboard(&["sweep", FLAKY, "--seeds", &passing.to_string()]);
    assert_eq!(single.status.code(), Some(0), "{}", stdout(&single));
    assert!(stdout(&single).contains("runs 1, failing 0"));
    let single = switchboard(&["sweep", FLAKY, "--seeds", &expected[0].to_string()]);
    assert_eq!(single.status.code(), Some(1));
    assert!(stdout(&single).contains(&format!("--seed {}", expected[0])));
    assert!(text.contains(&format!(
        "runs 30, failing {}, failures: expectation {}, oracle 0, panic 0",
        expected.len(),
        expected.len()
    )));
}

#[test]
fn sweep_output_is_the_same_for_any_number_of_jobs() {
    let one = switchboard(&["sweep", FLAKY, "--seeds", "1..40", "--jobs", "1", "--json"]);
    let three = switchboard(&["sweep", FLAKY, "--seeds", "1..40", "--jobs", "3", "--json"]);
    assert_eq!(stdout(&one), stdout(&three));
    assert_eq!(one.stderr, three.stderr, "the plain progress lines too");
    let json: Value = serde_json::from_str(&stdout(&one)).unwrap();
    assert_eq!(json["runs"], 40);
    let failing = json["failing"].as_array().unwrap();
    assert_eq!(failing.len() as u64, json["failing_runs"].as_u64().unwrap());
    for f in failing {
        let seed = f["seed"].as_u64().unwrap();
        assert_eq!(
            f["replay"],
            format!("switchboard run {FLAKY} --oracles --seed {seed}").as_str()
        );
        assert_eq!(f["failures"][0]["kind"], "expectation");
    }
    // The headline's spread: calls are the same in every run; the latency varies.
    assert_eq!(json["headline"]["calls"]["min"], 3);
    assert_eq!(json["headline"]["calls"]["max"], 3);
    let latency = &json["headline"]["latency_p99_ms"];
    assert!(latency["min"].as_u64() <= latency["median"].as_u64());
    assert!(latency["median"].as_u64() < latency["max"].as_u64());
}

#[test]
fn a_panicking_run_is_a_failure_of_its_seed_and_the_sweep_goes_on() {
    let seeds: Vec<u64> = (1..=8).collect();
    let mut order = Vec::new();
    let runs = switchboard::research::quiet_panics(|| {
        sweep_with(
            &seeds,
            3,
            |seed| {
                assert!(seed != 5, "planted bug at seed {seed}");
                SeedRun {
                    seed,
                    failures: vec![],
                    digest: None,
                    headline: BTreeMap::new(),
                }
            },
            |run| order.push(run.seed),
        )
    });
    assert_eq!(order, seeds, "reported in seed order");
    assert_eq!(runs.len(), 8);
    for run in &runs {
        if run.seed == 5 {
            assert_eq!(run.failures.len(), 1);
            assert_eq!(run.failures[0].kind, FailureKind::Panic);
            assert!(
                run.failures[0].message.contains("planted bug at seed 5")
                    && run.failures[0].message.contains("tests/it/research.rs"),
                "{}",
                run.failures[0].message
            );
        } else {
            assert!(run.failures.is_empty());
        }
    }
}

#[test]
fn seeds_are_a_number_or_an_inclusive_range() {
    assert_eq!(parse_seeds("7").unwrap(), [7]);
    assert_eq!(parse_seeds("1..3").unwrap(), [1, 2, 3]);
    assert_eq!(parse_seeds("1..=3").unwrap(), [1, 2, 3]);
    assert_eq!(parse_seeds("0..1000").unwrap().len(), 1001);
    for bad in ["", "x", "3..1", "-1..2", "1..", "0..18446744073709551615"] {
        assert!(parse_seeds(bad).is_err(), "{bad:?} is refused");
    }
    let out = switchboard(&["sweep", FLAKY, "--seeds", "9..2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seeds: 9..2 is empty"));
}

// ---- stats ----

/// The fixture's trace lines as JSON, and the trace as text.
fn fixture_trace(path: &str) -> (Vec<Value>, String) {
    let s = scenario::parse(&read(path), None).expect("the fixture parses");
    let report = scenario::run(&s);
    let lines = report
        .lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, report.jsonl())
}

fn of_kind<'a>(lines: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    lines.iter().filter(move |l| l["kind"] == kind)
}

fn sum(lines: &[Value], kind: &str, key: &str) -> u64 {
    of_kind(lines, kind).map(|l| l[key].as_u64().unwrap()).sum()
}

#[test]
fn stats_figures_match_counts_taken_from_the_trace_lines() {
    let fixtures = [
        "fixtures/twilio_support.json",
        "fixtures/thread_lifecycle.json",
        "fixtures/sendbird_burst.json",
        "fixtures/twilio_burst.json",
        "fixtures/support_desk.json",
    ];
    let mut seen_throttled = false;
    let mut seen_final = false;
    for path in fixtures {
        let (lines, jsonl) = fixture_trace(path);
        let out = switchboard_with(&["stats", "-", "--json"], jsonl.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{path}");
        let stats: Value = serde_json::from_str(&stdout(&out)).unwrap();
        // The same figures whether read from a trace or from the file run.
        let run = switchboard(&["stats", path, "--json"]);
        assert_eq!(stdout(&run), stdout(&out), "{path}");

        let steps: Vec<&Value> = of_kind(&lines, "step").collect();
        assert_eq!(stats["lines"], lines.len(), "{path}");
        assert_eq!(stats["calls"]["total"], steps.len(), "{path}");
        let ok = steps
            .iter()
            .filter(|s| (200..300).contains(&s["status"].as_u64().unwrap()))
            .count();
        assert_eq!(stats["calls"]["accepted"], ok, "{path}");
        let mut by_op: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for s in &steps {
            *by_op
                .entry(s["op"].as_str().unwrap().to_string())
                .or_default()
                .entry(s["status"].to_string())
                .or_default() += 1;
        }
        assert_eq!(
            stats["calls"]["by_op"],
            serde_json::to_value(&by_op).unwrap()
        );
        let throttled: Vec<&&Value> = steps.iter().filter(|s| s["status"] == 429).collect();
        seen_throttled |= !throttled.is_empty();
        assert_eq!(stats["throttled"]["total"], throttled.len(), "{path}");
        let per_limit: u64 = stats["throttled"]["by_limit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert_ne!(l["scope"], "unknown", "{path}: {l}");
                l["calls"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(per_limit, throttled.len() as u64);
        let retry_max = throttled
            .iter()
            .map(|s| {
                let b = &s["body"];
                b["retry_after_ms"]
                    .as_u64()
                    .or(b["error"]["retry_after_ms"].as_u64())
                    .unwrap()
            })
            .max();
        assert_eq!(
            stats["throttled"]["retry_after_ms"]["max"],
            serde_json::json!(retry_max)
        );

        assert_eq!(
            stats["messages"]["accepted"],
            of_kind(&lines, "message_sent").count()
        );
        assert_eq!(
            stats["messages"]["inbound"],
            of_kind(&lines, "inbound_received").count()
        );
        let chat = sum(&lines, "message_sent", "recipients")
            + sum(&lines, "inbound_received", "recipients");
        assert_eq!(stats["chat_deliveries"], chat, "{path}");
        assert_eq!(
            stats["notifications"]["chat_message_received"]
                .as_u64()
                .unwrap_or(0),
            chat
        );
        assert_eq!(
            stats["non_chat"]["queued"],
            sum(&lines, "deliveries_created", "queued")
        );
        assert_eq!(
            stats["non_chat"]["failed_at_once"],
            sum(&lines, "deliveries_created", "failed")
        );
        // Every final receipt is counted once, under some channel.
        let finals = of_kind(&lines, "delivery_updated")
            .filter(|l| {
                ["delivered", "undelivered", "failed"].contains(&l["status"].as_str().unwrap())
            })
            .count() as u64;
        seen_final |= finals > 0;
        let counted: u64 = stats["non_chat"]["by_channel"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|c| c["final_status"].as_object().unwrap().iter())
            .filter(|(k, _)| *k != "none")
            .map(|(_, n)| n.as_u64().unwrap())
            .sum();
        assert_eq!(counted, finals, "{path}");
        let latencies: u64 = stats["non_chat"]["latency_ms"]
            .as_object()
            .unwrap()
            .values()
            .map(|s| s["count"].as_u64().unwrap())
            .sum();
        assert_eq!(latencies, finals, "{path}");
        assert_eq!(
            stats["threads"]["created"],
            of_kind(&lines, "thread_created").count()
        );
        assert_eq!(
            stats["threads"]["deleted_by_api"],
            of_kind(&lines, "thread_deleted").count()
        );
        let summary = lines.last().unwrap();
        assert_eq!(stats["digest"], summary["digest"]);
        assert_eq!(stats["seed"], summary["seed"]);
    }
    assert!(
        seen_throttled && seen_final,
        "the fixtures exercise 429s and receipts"
    );
}

#[test]
fn stats_of_one_sms_conversation_are_exact() {
    // twilio_support: an SMS (+14255550100) and a WhatsApp participant; the
    // channel of each delivery follows from who was in the thread.
    let (lines, jsonl) = fixture_trace("fixtures/twilio_support.json");
    let out = switchboard_with(&["stats", "-", "--json"], jsonl.as_bytes());
    let stats: Value = serde_json::from_str(&stdout(&out)).unwrap();
    // Independently: deliveries whose receipts say delivered, by the id ranges
    // of the fan-outs.
    let delivered = of_kind(&lines, "delivery_updated")
        .filter(|l| l["status"] == "delivered")
        .count() as u64;
    let by_channel = &stats["non_chat"]["by_channel"];
    let got = by_channel["sms"]["final_status"]["delivered"]
        .as_u64()
        .unwrap()
        + by_channel["whatsapp"]["final_status"]["delivered"]
            .as_u64()
            .unwrap();
    assert_eq!(got, delivered);
    // Segments: each SMS text fan-out's segment count times its SMS recipients;
    // here one SMS participant, so the sum of the fan-outs' segments.
    assert_eq!(
        stats["segments"]["total"],
        sum(&lines, "deliveries_created", "segments")
    );
}

#[test]
fn stats_refuses_what_it_cannot_read_and_names_it() {
    let out = switchboard(&["stats", "no/such/file.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/file.jsonl"));
    let out = switchboard_with(&["stats", "-"], b"not json at all\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-: "));
    let out = switchboard_with(
        &["stats", "-", "--seed", "3"],
        b"{\"at_ms\":0,\"kind\":\"user_created\",\"user\":\"a\"}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--seed applies to scenario files"));
    let trace = b"{\"at_ms\":0,\"kind\":\"user_created\",\"user\":\"a\"}\ngarbage\n";
    let out = switchboard_with(&["stats", "-"], trace);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 line(s) were not trace lines"));
}

// ---- diff ----

/// The trace of the scenario at `path` under `seed`, as lines.
fn run_lines(path: &str, seed: u64) -> Vec<String> {
    let s = scenario::parse(&read(path), Some(seed)).expect("the file parses");
    scenario::run(&s).lines
}

#[test]
fn diff_of_two_seeds_names_the_first_line_where_they_part() {
    let (a, b) = (run_lines(FLAKY, 1), run_lines(FLAKY, 2));
    let first = a.iter().zip(&b).position(|(x, y)| x != y).unwrap();
    let out = switchboard(&[
        "diff", FLAKY, FLAKY, "--seed-a", "1", "--seed-b", "2", "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "different traces exit 1");
    let d: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let div = &d["divergence"];
    assert_eq!(div["line"], first + 1);
    assert_eq!(div["a"], a[first].as_str());
    assert_eq!(div["b"], b[first].as_str());
    let context: Vec<&str> = a[first - 3..first].iter().map(String::as_str).collect();
    assert_eq!(div["context"], serde_json::json!(context));
    // Counted independently: lines by kind from the first difference on.
    for (side, lines) in [(0, &a), (1, &b)] {
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        for l in &lines[first..] {
            let v: Value = serde_json::from_str(l).unwrap();
            *kinds
                .entry(v["kind"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        for (kind, n) in kinds {
            assert_eq!(div["after"][&kind][side], n, "{kind} on side {side}");
        }
    }
    assert_eq!(d["lines_a"], a.len());
    // The people's rendering names the line and both sides.
    let text = stdout(&switchboard(&[
        "diff", FLAKY, FLAKY, "--seed-a", "1", "--seed-b", "2",
    ]));
    assert!(text.starts_with(&format!(
        "differ at line {} (A: {FLAKY} --seed 1, {} lines; B: {FLAKY} --seed 2",
        first + 1,
        a.len()
    )));
    assert!(text.contains(&format!("A {:>8}  {}", first + 1, a[first])));
}

#[test]
fn diff_of_a_trace_and_its_run_is_equal_and_a_cut_trace_ends_first() {
    let lines = run_lines(FLAKY, 4);
    let full = lines.join("\n") + "\n";
    let out = switchboard_with(&["diff", "-", FLAKY, "--seed-b", "4"], full.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), format!("equal: {} lines\n", lines.len()));
    let cut = lines[..5].join("\n") + "\n";
    let out = switchboard_with(
        &["diff", "-", FLAKY, "--seed-b", "4", "--json"],
        cut.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let d: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(d["divergence"]["line"], 6);
    assert_eq!(d["divergence"]["a"], Value::Null, "A ended first");
    assert_eq!(d["divergence"]["b"], lines[5].as_str());
    let out = switchboard(&["diff", "-", "-"]);
    assert_eq!(out.status.code(), Some(2));
}

// ---- shrink ----

/// A fresh folder for files a test writes.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-research-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 1,000 steps on two threads; step 600 deletes the second, and the last
/// step expects a send to it to succeed. The failure needs three steps: the
/// second thread's creation, its deletion, and the send.
fn planted_thousand_steps() -> String {
    let mut steps = vec![
        serde_json::json!({"at": "1h", "as": "ana", "op": "create_thread", "topic": "a", "participants": ["bo"], "ref": "a"}),
        serde_json::json!({"as": "bo", "op": "create_thread", "topic": "b", "participants": ["ana"], "ref": "b"}),
    ];
    for i in 2..999 {
        let (who, thread) = if i % 2 == 0 {
            ("ana", "a")
        } else {
            ("bo", "b")
        };
        if i == 600 {
            steps.push(
                serde_json::json!({"at": "+2s", "as": "bo", "op": "delete_thread", "thread": "b"}),
            );
            continue;
        }
        steps.push(serde_json::json!({"at": "+2s", "as": who, "op": "send_message", "thread": thread, "content": format!("message {i}")}));
    }
    steps.push(serde_json::json!({"at": "+2s", "as": "ana", "op": "send_message", "thread": "b", "content": "still there?", "expect": {"status": 201}}));
    assert_eq!(steps.len(), 1000);
    serde_json::to_string_pretty(&serde_json::json!({
        "name": "planted", "seed": 5, "profile": "acs", "users": ["ana", "bo"], "steps": steps
    }))
    .unwrap()
}

/// Runs `switchboard shrink FILE -o OUT`, which must succeed.
fn shrink_to(file: &std::path::Path, out_file: &std::path::Path) -> std::process::Output {
    let out = switchboard(&[
        "shrink",
        file.to_str().unwrap(),
        "-o",
        out_file.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    out
}

#[test]
fn shrink_reduces_a_planted_thousand_step_failure_to_a_handful_of_steps() {
    let dir = scratch("shrink");
    let file = dir.join("planted.json");
    std::fs::write(&file, planted_thousand_steps()).unwrap();
    let original = switchboard(&["run", file.to_str().unwrap()]);
    assert_eq!(original.status.code(), Some(1), "the planted failure fails");
    let out_file = dir.join("small.json");
    let out = shrink_to(&file, &out_file);
    let text = stdout(&out);
    assert!(
        text.contains("kept failure: expectation: send_message: expected status 201"),
        "{text}"
    );
    let small: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let steps = small["steps"].as_array().unwrap();
    let ops: Vec<&str> = steps.iter().map(|s| s["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["create_thread", "delete_thread", "send_message"],
        "{text}"
    );
    assert!(text.contains("steps: 1000 -> 3"), "{text}");
    // The printed command replays the same failure.
    let replay = text
        .lines()
        .find_map(|l| l.split_once("replay: "))
        .unwrap()
        .1;
    let args: Vec<&str> = replay.split(' ').skip(1).collect();
    assert_eq!(args.last(), Some(&"5"), "the seed the run used");
    let run = switchboard(&args);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("(send_message)") && err.contains("expected status 201, got status 404"),
        "{err}"
    );
}

#[test]
fn shrink_reduces_a_workload_to_its_smallest_numbers_that_still_fail() {
    let dir = scratch("workload");
    let file = dir.join("busy.json");
    std::fs::write(
        &file,
        r#"{"seed": 3, "profile": "acs", "users": ["ana"],
            "workload": {"users": 30, "threads": 20, "chat_participants": 5,
                         "horizon": "2h", "mean_gap": "20s", "lifetime": "30m",
                         "burst": {"ppm": 100000, "sends": 5, "gap": "1s"}},
            "steps": [{"at": "1h", "as": "ana", "op": "list_threads", "expect": {"count": 3}}]}"#,
    )
    .unwrap();
    let out_file = dir.join("busy.small.json");
    shrink_to(&file, &out_file);
    let small: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let w = &small["workload"];
    // ana is in no generated thread: the failure does not depend on the workload.
    assert_eq!(w["threads"], 1, "{w}");
    assert_eq!(w["chat_participants"], 1);
    assert_eq!(w["users"], 1);
    let horizon = switchboard::Duration::parse(w["horizon"].as_str().unwrap()).unwrap();
    assert!(horizon.ms() < 3_600_000, "{w}");
    assert!(
        w.get("burst").is_none() && w.get("lifetime").is_none(),
        "{w}"
    );
    assert_eq!(small["steps"].as_array().unwrap().len(), 1);
    let run = switchboard(&["run", out_file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
}

#[test]
fn shrink_refuses_a_run_that_does_not_fail() {
    let out = switchboard(&[
        "shrink",
        "fixtures/support_desk.json",
        "-o",
        "/nonexistent/x.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not fail under seed 42"));
}

#[test]
fn ddmin_finds_a_one_minimal_subset() {
    let needed = [3, 250, 777];
    let mut calls = 0;
    let found = switchboard::research::shrink::ddmin((0..1000).collect(), |s| {
        calls += 1;
        needed.iter().all(|n| s.contains(n))
    });
    assert_eq!(found, needed);
    assert!(calls < 400, "{calls} tests");
}

// ---- plot ----

/// A small XML check: every tag closes in order, attributes are quoted, and
/// the text between tags has no bare `<` or `&`. Returns the text of every
/// `<text>` element.
fn xml_texts(svg: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        let between = &rest[..open];
        assert!(
            !between.contains('>') && between.split('&').skip(1).all(|e| e.contains(';')),
            "bare character in text: {between:?}"
        );
        if stack.last().is_some_and(|t| t == "text") && !between.trim().is_empty() {
            texts.push(between.trim().to_string());
        }
        let close = rest[open..].find('>').expect("a tag ends") + open;
        let tag = &rest[open + 1..close];
        assert_eq!(tag.matches('"').count() % 2, 0, "quotes in <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "</{name}> closes its tag"
            );
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            let name = tag.split_whitespace().next().expect("a tag name");
            stack.push(name.to_string());
        }
        rest = &rest[close + 1..];
    }
    assert!(rest.trim().is_empty(), "nothing after the root");
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    texts
}

#[test]
fn plot_writes_an_svg_timeline_with_its_series_and_axes() {
    let dir = scratch("plot");
    let out = dir.join("timeline.svg");
    let run = switchboard(&[
        "plot",
        "fixtures/twilio_support.json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg"));
    let texts = xml_texts(&svg);
    for expected in [
        "chat calls accepted",
        "chat calls throttled (429)",
        "SMS handed to the carrier",
        "WhatsApp handed to the carrier",
        "delivered",
        "undelivered",
        "failed",
        "deleted by API",
        "deleted by retention",
        "active threads",
        "virtual time (days, hours, minutes)",
        "Traffic per channel",
        "Active threads",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "{expected:?} in {texts:?}"
        );
    }
    // The title names the scenario; the time axis is in hours for a 10-hour run.
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("twilio support: an SMS and a WhatsApp customer"))
    );
    assert!(texts.iter().any(|t| t == "5h"), "{texts:?}");
}

#[test]
fn plot_latency_draws_one_series_per_channel_with_its_count() {
    let (lines, jsonl) = fixture_trace("fixtures/twilio_support.json");
    let dir = scratch("latency");
    let out = dir.join("latency.svg");
    let run = switchboard_with(
        &[
            "plot",
            "-",
            "--kind",
            "latency",
            "-o",
            out.to_str().unwrap(),
        ],
        jsonl.as_bytes(),
    );
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let texts = xml_texts(&std::fs::read_to_string(&out).unwrap());
    let stats = stdout(&switchboard_with(
        &["stats", "-", "--json"],
        jsonl.as_bytes(),
    ));
    let stats: Value = serde_json::from_str(&stats).unwrap();
    let finals = of_kind(&lines, "delivery_updated")
        .filter(|l| l["status"] == "delivered")
        .count() as u64;
    let mut total = 0;
    for channel in ["sms", "whatsapp"] {
        let n = stats["non_chat"]["latency_ms"][channel]["count"]
            .as_u64()
            .unwrap();
        total += n;
        assert!(texts.contains(&format!("{channel} (n={n})")), "{texts:?}");
    }
    assert_eq!(total, finals, "every final receipt is a point");
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("latency: hand-over to the carrier"))
    );
    let bad = switchboard(&[
        "plot",
        "fixtures/twilio_support.json",
        "-o",
        "/nonexistent/dir/x.svg",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot write /nonexistent/dir/x.svg"));
}

#[test]
fn hostile_traces_are_counted_or_skipped_and_panic_nothing() {
    let max = u64::MAX;
    let trace = format!(
        "{{\"at_ms\":0,\"kind\":\"thread_created\",\"thread\":\"t1\",\"by\":\"a\",\"participants\":{max}}}\n\
         {{\"at_ms\":5,\"kind\":\"message_sent\",\"thread\":\"t1\",\"message\":1,\"by\":\"a\",\"bytes\":1,\"recipients\":{max}}}\n\
         {{\"at_ms\":6,\"kind\":\"message_sent\",\"thread\":\"t1\",\"message\":2,\"by\":\"a\",\"bytes\":1,\"recipients\":{max}}}\n\
         {{\"at_ms\":7,\"kind\":\"deliveries_created\",\"thread\":null,\"message\":null,\"first\":{max},\"queued\":{max},\"failed\":{max},\"segments\":{max}}}\n\
         {{\"at_ms\":8,\"kind\":\"deliveries_created\",\"thread\":null,\"message\":null,\"first\":1,\"queued\":2,\"failed\":0,\"segments\":{max}}}\n\
         {{\"at_ms\":9,\"kind\":\"delivery_updated\",\"delivery\":1,\"status\":\"delivered\"}}\n\
         {{\"at_ms\":{max},\"kind\":\"step\",\"step\":0,\"op\":\"send_message\",\"status\":429,\"body\":{{\"message\":\"Rate limit exceeded (x per y ms per z)\"}}}}\n\
         {{\"at_ms\":{max},\"kind\":\"delivery_updated\",\"delivery\":2,\"status\":\"failed\"}}\n"
    );
    let out = switchboard_with(&["stats", "-", "--json"], trace.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        stats["chat_deliveries"], max,
        "saturates instead of overflowing"
    );
    assert_eq!(
        stats["non_chat"]["created"], 2,
        "the impossible fan-out is skipped"
    );
    assert_eq!(stats["segments"]["total"], max);
    assert_eq!(stats["throttled"]["by_limit"][0]["scope"], "unknown");
    assert_eq!(stats["non_chat"]["latency_ms"]["sms"]["max"], max - 8);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 line(s) were not trace lines"));
    let dir = scratch("hostile");
    for kind in ["timeline", "latency"] {
        let svg = dir.join(format!("{kind}.svg"));
        let out = switchboard_with(
            &["plot", "-", "--kind", kind, "-o", svg.to_str().unwrap()],
            trace.as_bytes(),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        xml_texts(&std::fs::read_to_string(&svg).unwrap());
    }
}

// ---- replay ----

/// `switchboard run FILE --inputs` (with `args` after), which must succeed.
fn run_with_inputs(file: &str, args: &[&str]) -> String {
    let mut all = vec!["run", file, "--inputs"];
    all.extend_from_slice(args);
    let out = switchboard(&all);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{file}"
    );
    stdout(&out)
}

#[test]
fn replay_re_executes_every_fixture_without_its_seed() {
    let mut files: Vec<String> =
        std::fs::read_dir(format!("{}/fixtures", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| format!("fixtures/{}", p.file_name().unwrap().to_str().unwrap()))
            .collect();
    files.sort();
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        let trace = run_with_inputs(file, &[]);
        // The inputs line comes first; the rest is the default trace, byte for byte.
        let (first, rest) = trace.split_once('\n').unwrap();
        assert!(
            first.starts_with("{\"at_ms\":0,\"kind\":\"inputs\""),
            "{file}"
        );
        assert!(
            !first.contains("\"seed\""),
            "{file}: the inputs leave the seed out"
        );
        assert_eq!(rest, stdout(&switchboard(&["run", file])), "{file}");
        let out = switchboard_with(&["replay", "-"], trace.as_bytes());
        let lines = rest.lines().count();
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stdout(&out));
        assert!(
            stdout(&out).starts_with(&format!(
                "replayed: all {lines} lines match (recorded under seed"
            )),
            "{file}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn replay_takes_the_carrier_from_the_trace_not_from_a_seed() {
    // Seed 2 of the flaky scenario loses its SMS; seed 0 draws other receipts.
    let trace = run_with_inputs(FLAKY, &["--seed", "2"]);
    assert!(trace.contains("\"status\":\"failed\""));
    let unscripted = run_lines(FLAKY, 0).join("\n");
    let recorded: Vec<&str> = trace.lines().skip(1).collect();
    assert_ne!(
        recorded[..recorded.len() - 1].join("\n"),
        unscripted.rsplit_once('\n').unwrap().0,
        "a run under seed 0 is another run"
    );
    let out = switchboard_with(&["replay", "-"], trace.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("recorded under seed 2; replayed without it"));
    // A strict run's inputs say so, and its failure count replays too.
    let strict = run_with_inputs(FLAKY, &["--seed", "2", "--strict"]);
    assert!(strict.lines().next().unwrap().contains("\"strict\":true"));
    let out = switchboard_with(&["replay", "-"], strict.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn replay_names_the_first_line_a_changed_trace_does_not_reproduce() {
    let trace = run_with_inputs("fixtures/twilio_support.json", &[]);
    let (inputs, recorded) = trace.split_once('\n').unwrap();
    // A step's recorded status that the inputs do not give.
    let conflict =
        "\"kind\":\"step\",\"step\":2,\"op\":\"create_thread\",\"as\":\"agent\",\"status\":409";
    let i = recorded.lines().position(|l| l.contains(conflict)).unwrap() + 1;
    let changed = format!(
        "{inputs}\n{}",
        recorded.replacen(conflict, &conflict.replace("409", "201"), 1)
    );
    let out = switchboard_with(&["replay", "-"], changed.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    // Line numbers count the trace after the inputs line.
    assert!(
        stdout(&out).starts_with(&format!("differ at line {i} (A: recorded")),
        "{}",
        stdout(&out)
    );
    // Changed inputs: another message body gives other bytes.
    let changed = trace.replacen(
        "Your order 1042 has shipped.",
        "Your order 1042 has shipped today.",
        1,
    );
    assert_ne!(changed, trace, "the fixture sends that message");
    let out = switchboard_with(&["replay", "-"], changed.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("message_sent"), "{}", stdout(&out));
    // No inputs line, a scenario file, a workload: refused, and said why.
    let plain = stdout(&switchboard(&["run", "fixtures/twilio_support.json"]));
    let out = switchboard_with(&["replay", "-"], plain.as_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("switchboard run FILE --inputs"));
    let out = switchboard(&["replay", "fixtures/twilio_support.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("replay takes a trace"));
}

#[test]
fn replay_of_a_workload_takes_its_recorded_steps() {
    // Two steps of the file among generated ones (workload.json); churn,
    // bursts and an SMS carrier that loses some deliveries (research_day.json).
    for (file, file_steps) in [
        ("docs/examples/workload.json", true),
        ("docs/examples/research_day.json", false),
    ] {
        let trace = run_with_inputs(file, &[]);
        let inputs: Vec<&str> = trace
            .lines()
            .filter(|l| l.contains(",\"kind\":\"input\","))
            .collect();
        let by_index = inputs.iter().any(|l| l.contains("\"file_step\":"));
        assert_eq!(by_index, file_steps, "{file}");
        assert!(
            inputs.iter().any(|l| l.contains("\"op\":\"send_message\"")),
            "{file}"
        );
        // Without the input lines, the trace is the default one, byte for byte.
        let rest: Vec<&str> = trace
            .lines()
            .skip(1)
            .filter(|l| !l.contains(",\"kind\":\"input\","))
            .collect();
        assert_eq!(
            rest.join("\n") + "\n",
            stdout(&switchboard(&["run", file])),
            "{file}"
        );
        let out = switchboard_with(&["replay", "-"], trace.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stdout(&out));
        assert!(
            stdout(&out).starts_with(&format!("replayed: all {} lines match", rest.len())),
            "{file}: {}",
            stdout(&out)
        );
    }
    // A generated message's body is an input: changed, the replay parts there.
    let trace = run_with_inputs("docs/examples/workload.json", &[]);
    let at = trace.find("\"op\":\"send_message\"").unwrap();
    let content = trace[at..].find("\"content\":\"").unwrap() + at + "\"content\":\"".len();
    let mut changed = trace.clone();
    changed.insert_str(content, "longer ");
    let out = switchboard_with(&["replay", "-"], changed.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("message_sent"), "{}", stdout(&out));
}

/// Every notification the declared users hold at the end of the fixture's
/// run, by type, from the library's inboxes.
fn inbox_counts(path: &str) -> BTreeMap<String, u64> {
    let s = scenario::parse(&read(path), None).unwrap();
    let mut session = scenario::Session::new(s.seed.unwrap(), s.profile.clone(), &s.users);
    for step in &s.steps {
        session.step(step);
    }
    let sim = session.simulator();
    let mut counts = BTreeMap::new();
    for user in &s.users {
        let Some(id) = sim.user(&user.id) else {
            continue;
        };
        for n in sim.inbox(id) {
            *counts.entry(n.kind.name().to_string()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn stats_notifications_are_the_inboxes_counted() {
    // Fixtures whose threads are never deleted (a deleted thread's
    // notifications leave the inboxes) and whose users are all declared.
    for path in [
        "fixtures/support_desk.json",
        "fixtures/class_250.json",
        "fixtures/twilio_support.json",
        "fixtures/sendbird_burst.json",
        "fixtures/twilio_burst.json",
        "fixtures/twilio_conversation_closes.json",
        "fixtures/support_desk_month.json",
    ] {
        let (_, jsonl) = fixture_trace(path);
        let out = switchboard_with(&["stats", "-", "--json"], jsonl.as_bytes());
        let stats: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let expected = inbox_counts(path);
        assert!(!expected.is_empty(), "{path}");
        assert_eq!(
            stats["notifications"],
            serde_json::to_value(&expected).unwrap(),
            "{path}"
        );
    }
}

#[test]
fn replay_refuses_a_fault_plan_it_cannot_re_execute_and_says_so() {
    let trace = run_with_inputs("docs/examples/faults.json", &[]);
    let dir =
        std::env::temp_dir().join(format!("switchboard-replay-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.jsonl");
    std::fs::write(&path, &trace).unwrap();
    let out = switchboard(&["replay", path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`faults` section"), "{err}");
}

#[test]
fn the_replay_line_of_a_sweep_or_shrink_carries_the_oracles_they_ran() {
    use switchboard::research::sweep::{replay_command, replay_line};
    assert_eq!(
        replay_command("a b.json", 7, true),
        "switchboard run 'a b.json' --strict --oracles --seed 7"
    );
    assert_eq!(
        replay_line("w.json", 3, false, false),
        "switchboard run w.json --seed 3"
    );
}

#[test]
fn replay_names_a_bad_receipt_by_its_line_in_the_file() {
    let trace = run_with_inputs("docs/examples/workload.json", &[]);
    let mut lines: Vec<String> = trace.lines().map(str::to_string).collect();
    let at = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"delivery_updated\""))
        .expect("the workload's SMS participants get receipts");
    assert!(
        lines[..at].iter().any(|l| l.contains("\"kind\":\"input\"")),
        "input lines come before it, so counting without them would be wrong"
    );
    lines[at] = lines[at].replace("\"status\":\"", "\"status\":\"bogus");
    let dir = std::env::temp_dir().join(format!("switchboard-replay-line-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = switchboard(&["replay", path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("line {}: status", at + 1)), "{err}");
}
