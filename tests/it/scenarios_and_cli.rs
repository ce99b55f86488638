//! The scenario files and the command line: fixture snapshots, byte-for-byte
//! replay, exit codes, and the malformed-file corpus.

use crate::harness::switchboard;
use std::path::{Path, PathBuf};

use switchboard::scenario;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped scenario files, sorted; at least three, so that a loop over
/// them cannot pass by finding none.
fn fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "at least three fixtures ship: {files:?}");
    files
}

fn run_file(path: &Path) -> scenario::RunReport {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let parsed = scenario::parse(&text, None).expect("fixture parses");
    scenario::run(&parsed)
}

#[test]
fn every_fixture_meets_its_expectations_and_matches_its_snapshot() {
    let files = fixtures();
    assert!(files.len() >= 3, "at least three fixtures ship");
    for path in files {
        let report = run_file(&path);
        assert!(
            report.failures.is_empty(),
            "{}: {:?}",
            path.display(),
            report.failures
        );
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        insta::with_settings!({
            snapshot_path => "../../snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("fixture_{name}"), report.render());
        });
    }
}

#[test]
fn the_command_line_prints_identical_bytes_on_every_run() {
    for path in fixtures() {
        let file = path.to_string_lossy().to_string();
        let first = switchboard(&["run", &file]);
        let second = switchboard(&["run", &file]);
        assert_eq!(
            first.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&first.stderr)
        );
        assert_eq!(first.stdout, second.stdout, "{file}");
        let stdout = String::from_utf8(first.stdout).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(stdout.lines().last().expect("a summary line")).unwrap();
        assert_eq!(last["kind"], "summary");
        assert_eq!(last["digest"].as_str().unwrap().len(), 16);
        // The command line prints the library's run of the file, digest and all.
        let library = run_file(&path);
        assert_eq!(last["digest"], library.digest, "{file}");
        assert_eq!(stdout, library.jsonl(), "{file}");
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
            assert!(v["at_ms"].is_u64() && v["kind"].is_string(), "{line}");
        }
        let check = switchboard(&["check", &file]);
        assert_eq!(check.status.code(), Some(0));
        let said = String::from_utf8(check.stdout).unwrap();
        assert!(said.starts_with("identical:"), "{said}");
        assert!(said.contains(last["digest"].as_str().unwrap()), "{said}");
    }
}

#[test]
fn a_different_seed_is_accepted_and_named_in_the_summary() {
    let out = switchboard(&["run", "fixtures/support_desk.json", "--seed", "99"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.lines().last().unwrap().contains("\"seed\":99"));
}

#[test]
fn a_failed_expectation_exits_1_and_names_the_step() {
    let dir = std::env::temp_dir().join(format!("switchboard-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("failing.json");
    std::fs::write(
        &file,
        r#"{"seed": 5, "profile": "acs", "users": ["a"], "steps": [
            {"as": "a", "op": "create_thread", "topic": "x", "expect": {"status": 201}},
            {"at": "1s", "as": "a", "op": "get_thread", "thread": "t9", "expect": {"status": 200}}]}"#,
    )
    .unwrap();
    let out = switchboard(&["run", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("step 1 (get_thread)"), "{stderr}");
    assert!(
        stderr.contains("expected status 200, got status 404"),
        "{stderr}"
    );
    assert!(stderr.contains("--seed 5"), "the replay line: {stderr}");
}

#[test]
fn every_malformed_file_exits_2_naming_its_json_path() {
    let dir = root().join("tests/malformed");
    let table = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let (file, path) = line.split_once('\t').expect("file<TAB>path");
        let full = dir.join(file);
        let out = switchboard(&["run", full.to_str().unwrap()]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(out.stdout.is_empty(), "{file}: nothing runs");
        assert!(
            stderr.contains(&format!(": {path}: ")),
            "{file}: expected the path {path} in {stderr:?}"
        );
        checked += 1;
    }
    assert!(checked >= 40, "the corpus has {checked} files");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    // (case, arguments) that must exit 2.
    let usage_errors: [(&str, &[&str]); 6] = [
        ("no command", &[]),
        ("an unknown command", &["fly"]),
        ("run without a file", &["run"]),
        ("a file that is not there", &["run", "no/such/file.json"]),
        (
            "a seed that is not a number",
            &["run", "fixtures/support_desk.json", "--seed", "x"],
        ),
        (
            "an unknown option",
            &["run", "fixtures/support_desk.json", "--colour"],
        ),
    ];
    for (case, args) in usage_errors {
        assert_eq!(switchboard(args).status.code(), Some(2), "{case}: {args:?}");
    }
    for command in ["run", "check", "profile"] {
        let out = switchboard(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command} --help");
        assert!(String::from_utf8(out.stdout).unwrap().contains(command));
    }
}

#[test]
fn profile_show_prints_the_profile_as_json() {
    let out = switchboard(&["profile", "show", "acs"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "acs");
    assert_eq!(v["participants_per_thread_max"], 250);
    assert_eq!(v["message_bytes_max"], 28 * 1024);
    let unknown = switchboard(&["profile", "show", "slack"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8(unknown.stderr).unwrap().contains("slack"));
}

#[test]
fn ops_that_acs_lacks_answer_not_supported_in_a_scenario() {
    let text = r#"{"seed": 1, "profile": "acs", "users": ["a"], "steps": [
        {"op": "inbound", "channel": "sms", "from": "+14255550100", "to": "+18005550199", "body": "hi",
         "expect": {"status": 400, "error": "bad_request"}},
        {"op": "send_sms", "from": "+18005550199", "to": ["+14255550100"], "message": "hi",
         "expect": {"status": 202}},
        {"as": "a", "op": "set_state", "thread": "t1", "state": "closed", "expect": {"status": 400}},
        {"op": "outbox", "expect": {"status": 200, "count": 1}},
        {"as": "a", "op": "create_thread", "topic": "x", "participants": [{"sms": "+14255550100", "proxy": "+18005550199"}],
         "expect": {"status": 400}}]}"#;
    let report = scenario::run(&scenario::parse(text, None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.jsonl().contains("not supported by profile acs"));
}

mod robustness {
    use proptest::prelude::*;
    use serde_json::{Value, json};
    use switchboard::scenario;

    fn fixture_texts() -> Vec<String> {
        super::fixtures()
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|t| t.len() < 20_000)
            .collect()
    }

    /// Any JSON value of modest size.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            "[a-z0-9+:]{0,6}".prop_map(Value::String),
            prop_oneof![
                Just("t1"),
                Just("m3"),
                Just("c0"),
                Just("+1s"),
                Just("31d"),
                Just("a"),
                Just("html")
            ]
            .prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(3, 24, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("op".to_string()),
                        Just("as".to_string()),
                        Just("at".to_string()),
                        Just("thread".to_string()),
                        Just("message".to_string()),
                        Just("content".to_string()),
                        Just("topic".to_string()),
                        Just("participants".to_string()),
                        Just("expect".to_string()),
                        Just("page_size".to_string()),
                        Just("continuation".to_string()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn op_name() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "create_user",
            "delete_user",
            "create_thread",
            "get_thread",
            "list_threads",
            "update_thread",
            "delete_thread",
            "add_participants",
            "remove_participant",
            "list_participants",
            "send_message",
            "get_message",
            "list_messages",
            "update_message",
            "delete_message",
            "send_typing",
            "send_read_receipt",
            "list_read_receipts",
            "inbox",
            "outbox",
            "send_sms",
            "inbound",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Mangled fixture bytes: parsing never panics, and whatever parses runs
        /// without panicking.
        #[test]
        fn mangled_files_never_panic(
            which in 0usize..8,
            edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 1..6),
        ) {
            let texts = fixture_texts();
            let mut bytes = texts[which % texts.len()].clone().into_bytes();
            for (at, kind, byte) in edits {
                if bytes.is_empty() { break; }
                let i = at.index(bytes.len());
                match kind {
                    0 => { bytes.remove(i); }
                    1 => bytes.insert(i, byte),
                    _ => bytes[i] = byte,
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(parsed) = scenario::parse(&text, Some(1)) {
                let report = scenario::run(&parsed);
                prop_assert!(!report.lines.is_empty());
            }
        }

        /// Steps with a real op and arbitrary JSON fields: a clean parse error or
        /// a run that finishes; never a panic.
        #[test]
        fn arbitrary_steps_never_panic(
            steps in prop::collection::vec((op_name(), any_json()), 1..8),
        ) {
            let steps: Vec<Value> = steps
                .into_iter()
                .map(|(op, fields)| {
                    let mut step = match fields {
                        Value::Object(m) => m,
                        other => [("x".to_string(), other)].into_iter().collect(),
                    };
                    step.insert("op".to_string(), json!(op));
                    Value::Object(step)
                })
                .collect();
            let doc = json!({"seed": 1, "profile": "acs", "users": ["a", "b"], "steps": steps});
            match scenario::parse(&doc.to_string(), None) {
                Ok(parsed) => { scenario::run(&parsed); }
                Err(e) => prop_assert!(e.path.starts_with('$'), "{e}"),
            }
        }
    }
}

/// A caller the file never declares is refused when the file is read; a
/// scenario built in code can still name one, and its call is answered 401
/// before anything else is looked at.
#[test]
fn an_undeclared_caller_is_refused_when_read_and_answered_401_before_anything_else() {
    let text = r#"{"seed": 1, "profile": "acs", "users": ["a", "b"], "steps": [
        {"as": "a", "op": "create_thread", "topic": "x", "idempotency_key": "k", "ref": "t"},
        {"as": "placeholder", "op": "send_message", "thread": "t", "content": "x", "media": [{"content_type": "image/png", "bytes": 1}],
         "expect": {"status": 401, "error": "unauthorized"}},
        {"as": "a", "op": "list_messages", "thread": "t99", "continuation": "zz",
         "expect": {"status": 400, "error": "bad_request"}},
        {"as": "a", "op": "create_thread", "topic": "", "idempotency_key": "k",
         "expect": {"status": 201, "result": {"id": "t1", "topic": "x"}}},
        {"as": "a", "op": "update_thread", "thread": "t", "topic": "y", "expect": {"status": 204}}]}"#;
    let refused = scenario::parse(&text.replace("placeholder", "ghost"), None).unwrap_err();
    assert_eq!(refused.path, "$.steps[1].as");
    let mut parsed = scenario::parse(&text.replace("placeholder", "b"), None).unwrap();
    parsed.steps[1].actor = Some("ghost".to_string());
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let update = report
        .lines
        .iter()
        .find(|l| l.contains("\"op\":\"update_thread\""))
        .unwrap();
    assert!(
        update.contains("\"result\":null"),
        "a 204 step carries result null: {update}"
    );
}

/// An empty user id in a participant list reaches the core and comes back as
/// an invalid participant, like any unknown identity (ACS's behaviour); the
/// SMS participant beside it is a binding, not a chat participant. A file
/// cannot say `{"user": ""}` (the parser refuses it), a scenario built in
/// code can.
#[test]
fn an_empty_user_in_create_thread_is_an_invalid_participant() {
    let text = r#"{"seed": 1, "profile": "twilio", "users": ["a", "b"], "steps": [
        {"as": "a", "op": "create_thread", "topic": "x",
         "participants": [{"user": "placeholder"}, "b", {"sms": "+14255550100", "proxy": "+18005550199"}],
         "expect": {"status": 201, "result": {"participant_count": 2,
            "invalid_participants": [{"target": "", "code": "404"}]}}}]}"#;
    let refused = scenario::parse(&text.replace("placeholder", ""), None).unwrap_err();
    assert_eq!(refused.path, "$.steps[0].participants[0].user");
    let mut parsed = scenario::parse(text, None).unwrap();
    let scenario::Op::CreateThread { participants, .. } = &mut parsed.steps[0].op else {
        panic!("step 0 creates a thread: {:?}", parsed.steps[0].op);
    };
    participants[0] = scenario::Participant::User(switchboard::core::ParticipantSpec::user(""));
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(
        report
            .lines
            .iter()
            .any(|l| l.contains("\"kind\":\"bindings_added\"")),
        "{:?}",
        report.lines
    );
}
