//! Input a hostile or careless user might give: duplicate keys, byte-order
//! marks, text that is not UTF-8, input of any size echoed in errors, flags
//! given twice. Each is a clear error that names the problem (or, for a BOM,
//! no error), never a panic and never a silent misreading.

use std::path::PathBuf;
use std::process::Command;

use std::sync::Arc;

use crate::harness::switchboard;
use switchboard::core::ServiceCall;
use switchboard::scenario;
use switchboard::{Command as Call, Error, Simulator};

/// A file under the target folder, for inputs that cannot be shipped as text.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("the temporary folder is writable");
    path
}

const SMALL: &str = r#"{"seed": 1, "profile": "acs", "users": ["a"],
    "steps": [{"as": "a", "op": "create_thread", "topic": "x", "expect": {"status": 201}}]}"#;

#[test]
fn a_byte_order_mark_is_accepted_and_changes_nothing() {
    let plain = scenario::run(&scenario::parse(SMALL, None).unwrap());
    let marked = scenario::run(&scenario::parse(&format!("\u{feff}{SMALL}"), None).unwrap());
    assert!(plain.failures.is_empty(), "{:?}", plain.failures);
    assert_eq!(plain.digest, marked.digest);
}

#[test]
fn a_second_steps_key_is_a_malformed_file_not_an_empty_run() {
    let text = SMALL.replace(r#""steps": ["#, r#""steps": [], "steps": ["#);
    let e = scenario::parse(&text, None).unwrap_err();
    assert_eq!(e.path, "$.steps");
}

#[test]
fn errors_quote_huge_input_cut_to_a_bound() {
    let huge = "x".repeat(10_000_000);
    let text = format!(r#"{{"seed": 1, "profile": "acs", "steps": [{{"op": "{huge}"}}]}}"#);
    let e = scenario::parse(&text, None).unwrap_err();
    assert_eq!(e.path, "$.steps[0].op");
    assert!(e.to_string().len() < 300, "{} bytes", e.to_string().len());
    assert!(
        e.message.contains("10000000 bytes"),
        "{}",
        &e.message[..100]
    );
    // A key of any size in a path.
    let text = format!(r#"{{"seed": 1, "profile": "acs", "{huge}": 1, "steps": []}}"#);
    let e = scenario::parse(&text, None).unwrap_err();
    assert!(e.to_string().len() < 300, "{} bytes", e.to_string().len());
    // The platform's own errors cut the caller's input too.
    let mut sim = Simulator::builder().seed(1).build();
    let delete = Call::Service(ServiceCall::DeleteUser {
        user: Arc::from("y".repeat(1_000_000)),
    });
    let e = sim.execute(None, &delete).unwrap_err();
    assert!(matches!(e, Error::UserNotFound { .. }), "{e}");
    assert!(e.to_string().len() < 200, "{} bytes", e.to_string().len());
    let body = switchboard::wire::render_error(&e, sim.state().profile().error_style);
    assert!(
        body.to_string().len() < 400,
        "{} bytes",
        body.to_string().len()
    );
}

#[test]
fn a_file_that_is_not_utf8_exits_2_at_the_root_path() {
    let path = temp_file("not_utf8.json", b"{\"seed\": 1, \"name\": \"\xff\xfe\"}");
    let out = switchboard(&["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(": $: not UTF-8"), "{stderr}");
}

#[test]
fn seed_given_twice_is_bad_usage() {
    let out = switchboard(&[
        "run",
        "fixtures/support_desk.json",
        "--seed",
        "1",
        "--seed",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("'--seed <N>' cannot be used multiple times"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing runs");
}

#[test]
fn an_unknown_command_of_any_size_is_echoed_cut() {
    let huge = "z".repeat(100_000);
    let out = switchboard(&[&huge]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.len() < 2_000, "{} bytes", out.stderr.len());
}

/// Near the end of virtual time, a deadline that cannot be represented is a
/// 400 that names it; nothing saturates and nothing changes.
#[test]
fn deadlines_past_the_end_of_virtual_time_are_refused_by_name() {
    use switchboard::core::{ChatCall, Retention, ThreadOptions};
    use switchboard::{Duration, Kind};

    let mut sim = Simulator::builder().seed(1).build();
    let ana = sim.create_user("ana").unwrap();
    let bo = sim.create_user("bo").unwrap();
    let t = sim.client(ana).create_thread("early", &[bo]).unwrap();
    // Ten minutes before the end of time: a 60-minute token cannot expire.
    sim.advance(Duration(u64::MAX - 600_000 - sim.now().ms()));
    let before = sim.state().clone();
    let e = sim
        .issue_token(ana, &["chat"], Some(Duration::from_mins(60)))
        .unwrap_err();
    assert_eq!(e.kind(), Kind::BadRequest, "{e}");
    assert!(e.to_string().contains("token's expiry"), "{e}");
    // A thread deleted now would be purged after the end of time.
    let e = sim.client(ana).delete_thread(t).unwrap_err();
    assert_eq!(e.kind(), Kind::BadRequest, "{e}");
    assert!(e.to_string().contains("purge"), "{e}");
    // A retention policy whose deletion lies past the end.
    let create = ChatCall::CreateThread {
        topic: Arc::from("late"),
        participants: vec![],
        bindings: vec![],
        idempotency_key: None,
        options: ThreadOptions {
            retention: Some(Retention::DeleteAfterDays(30)),
            ..ThreadOptions::default()
        },
    };
    let e = sim.client(ana).execute(&Call::Chat(create)).unwrap_err();
    assert_eq!(e.kind(), Kind::BadRequest, "{e}");
    assert!(e.to_string().contains("retention deletion"), "{e}");
    assert_eq!(sim.state(), &before, "refused calls change nothing");
    sim.state().check_invariants().unwrap();
}

/// A scenario's users are created at time 0 as the file's own set-up: more of
/// them than the identity-creation limit allows in a window all exist.
#[test]
fn declared_users_are_not_rate_limited_away() {
    for (profile, count) in [("twilio", 40), ("acs", 600)] {
        let users: Vec<String> = (0..count).map(|i| format!("\"u{i}x\"")).collect();
        let last = format!("u{}x", count - 1);
        let text = format!(
            r#"{{"seed": 1, "profile": "{profile}", "users": [{}], "steps": [
                {{"as": "{last}", "op": "list_threads", "expect": {{"status": 200}}}}]}}"#,
            users.join(",")
        );
        let report = scenario::run(&scenario::parse(&text, None).unwrap());
        assert!(
            report.failures.is_empty(),
            "{profile}: {:?}",
            report.failures
        );
        let created = report
            .lines
            .iter()
            .filter(|l| l.contains("\"user_created\""))
            .count();
        assert_eq!(created, count, "{profile}");
    }
}

/// HTML content is stored sanitized, on send and on edit; text is not touched.
#[test]
fn html_messages_are_sanitized_on_send_and_edit() {
    use switchboard::core::{ChatCall, ContentType};
    let mut sim = Simulator::builder().seed(1).build();
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("html", &[]).unwrap();
    let send = |content: &str, content_type| {
        Call::Chat(ChatCall::SendMessage {
            thread: t,
            content: content.into(),
            content_type,
            metadata: Default::default(),
            media: vec![],
            template: None,
        })
    };
    let unsafe_html = r#"<p onclick="x()">hi</p><script>alert(1)</script>"#;
    let reply = sim
        .client(ana)
        .execute(&send(unsafe_html, ContentType::Html))
        .unwrap();
    let switchboard::Reply::MessageSent { sequence } = reply else {
        panic!("{reply:?}")
    };
    let id = switchboard::MessageId {
        thread: t,
        sequence,
    };
    assert_eq!(
        sim.client(ana).get_message(id).unwrap().content.as_deref(),
        Some("<p>hi</p>")
    );
    sim.client(ana)
        .update_message(id, "<b>ok</b><img src=javascript:x>")
        .unwrap();
    assert_eq!(
        sim.client(ana).get_message(id).unwrap().content.as_deref(),
        Some("<b>ok</b><img>")
    );
    // Text is text: nothing is removed from it.
    let reply = sim
        .client(ana)
        .execute(&send(unsafe_html, ContentType::Text))
        .unwrap();
    let switchboard::Reply::MessageSent { sequence } = reply else {
        panic!("{reply:?}")
    };
    let text = sim.client(ana).get_message(switchboard::MessageId {
        thread: t,
        sequence,
    });
    assert_eq!(text.unwrap().content.as_deref(), Some(unsafe_html));
}

/// The streamed trace is the kept trace, line for line, and streaming keeps
/// nothing: the report of a streamed run holds no lines.
#[test]
fn a_streamed_run_emits_exactly_the_kept_trace() {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/twilio_support.json"),
    )
    .unwrap();
    let parsed = scenario::parse(&text, None).unwrap();
    let kept = scenario::run(&parsed);
    let mut streamed = Vec::new();
    let report = scenario::run_with(&parsed, Default::default(), |line| {
        streamed.push(line.to_string())
    });
    assert!(kept.lines.len() > 20);
    assert_eq!(streamed, kept.lines);
    assert!(report.lines.is_empty());
    assert_eq!(report.digest, kept.digest);
    // What streaming relies on: once a step's lines are taken, the simulator
    // keeps none of them, so what it holds is one step's lines at most.
    let mut session = scenario::Session::new(1, parsed.profile.clone(), &parsed.users);
    let mut taken = 0;
    for step in &parsed.steps {
        session.step(step);
        taken += session.take_lines().len();
        assert_eq!(session.simulator().trace().lines().count(), 0);
    }
    assert_eq!(taken as u64, session.simulator().trace().len());
}

/// An override of the wrong type, or of no field at all, names the field.
#[test]
fn a_profile_override_error_names_the_field() {
    for (overrides, field) in [
        (r#"{"page_size_max": "x"}"#, "page_size_max"),
        (r#"{"colour": 1}"#, "colour"),
        (
            r#"{"non_chat.participants_max": "x"}"#,
            "non_chat.participants_max",
        ),
    ] {
        let text = format!(
            r#"{{"seed": 1, "profile": {{"base": "twilio", "overrides": {overrides}}}, "steps": []}}"#
        );
        let e = scenario::parse(&text, None).unwrap_err();
        assert_eq!(e.path, "$.profile.overrides");
        assert!(e.message.contains(field), "{overrides}: {e}");
    }
}

/// Output to a reader that stops early ends quietly (no panic, exit 0): the
/// reader closes the pipe before the command writes (a trace of a few
/// megabytes, and a profile, each far over a pipe's buffer or written after
/// the close).
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let steps: Vec<String> = (0..20_000)
        .map(|i| {
            format!(r#"{{"as": "a", "op": "send_message", "thread": "t", "content": "m{i}"}}"#)
        })
        .collect();
    let long = temp_file(
        "long_trace.json",
        format!(
            r#"{{"seed": 1, "profile": {{"base": "acs", "overrides": {{"rate_limits": []}}}},
                "users": ["a"], "steps": [{{"as": "a", "op": "create_thread", "topic": "x",
                "ref": "t"}}, {}]}}"#,
            steps.join(",")
        )
        .as_bytes(),
    );
    let long = long.to_str().unwrap();
    for args in [&["run", long][..], &["profile", "show", "acs"][..]] {
        // The reader is gone before the command starts: its first write fails.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Messages that used to mislead: a page size over 2³² says so; a Twilio
/// timer in years says Twilio takes no years.
#[test]
fn page_sizes_and_calendar_timers_get_messages_that_say_what_is_wrong() {
    let text = r#"{"seed": 1, "profile": "acs", "users": ["a"],
        "steps": [{"as": "a", "op": "list_threads", "page_size": 5000000000}]}"#;
    let e = scenario::parse(text, None).unwrap_err();
    assert!(e.message.contains("larger than any page size"), "{e}");
    let text = r#"{"seed": 1, "profile": "twilio", "users": ["a"], "steps": [
        {"as": "a", "op": "create_thread", "topic": "x", "state": "active",
         "timers": {"inactive": "P1Y"}, "expect": {"status": 400}}]}"#;
    let report = scenario::run(&scenario::parse(text, None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let step = report
        .lines
        .iter()
        .find(|l| l.contains("\"step\""))
        .unwrap();
    assert!(
        step.contains("years and months have no fixed length"),
        "{step}"
    );
}

/// `expect.body` sees the wire body (a platform code, a retry-after), and a
/// listing's continuation passes to the next step by the listing's ref.
#[test]
fn scenarios_assert_wire_bodies_and_page_by_reference() {
    let sends: Vec<String> = (0..5)
        .map(|i| {
            format!(r#"{{"as": "a", "op": "send_message", "thread": "t", "content": "m{i}"}}"#)
        })
        .collect();
    let text = format!(
        r#"{{"seed": 1, "profile": "twilio", "users": ["a"], "steps": [
        {{"as": "a", "op": "create_thread", "topic": "x", "ref": "t"}},
        {},
        {{"as": "a", "op": "list_messages", "thread": "t", "page_size": 3, "ref": "p1",
          "expect": {{"count": 3}}}},
        {{"as": "a", "op": "list_messages", "thread": "t", "page_size": 3,
          "continuation": {{"of": "p1"}}, "ref": "p2", "expect": {{"count": 3}}}},
        {{"as": "a", "op": "list_messages", "thread": "t", "page_size": 3,
          "continuation": {{"of": "p2"}}, "expect": {{"count": 1, "body": {{"continuation": null}}}}}},
        {{"as": "a", "op": "get_thread", "thread": "t99",
          "expect": {{"status": 404, "body": {{"code": 50350, "status": 404}}}}}}]}}"#,
        sends.join(",")
    );
    let report = scenario::run(&scenario::parse(&text, None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // A wrong body expectation fails and says where.
    let wrong = text.replace(r#""code": 50350"#, r#""code": 50351"#);
    let report = scenario::run(&scenario::parse(&wrong, None).unwrap());
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(
        report.failures[0].contains("body.code"),
        "{:?}",
        report.failures
    );
    // A continuation named by a ref no earlier step defined is a parse error.
    let unknown = text.replace(r#"{"of": "p2"}"#, r#"{"of": "p9"}"#);
    let e = scenario::parse(&unknown, None).unwrap_err();
    assert!(e.path.ends_with(".continuation.of"), "{e}");
}

/// On `acs`, a throttled step's body carries the retry-after.
#[test]
fn a_throttled_steps_body_carries_its_retry_after() {
    let sends: Vec<String> = (0..51)
        .map(|i| {
            format!(r#"{{"as": "a", "op": "send_message", "thread": "t", "content": "m{i}"}}"#)
        })
        .collect();
    let text = format!(
        r#"{{"seed": 1, "profile": "acs", "users": ["a"], "steps": [
        {{"as": "a", "op": "create_thread", "topic": "x", "ref": "t"}},
        {},
        {{"as": "a", "op": "send_message", "thread": "t", "content": "over",
          "expect": {{"status": 429, "body": {{"error": {{"code": "TooManyRequests"}}}}}}}}]}}"#,
        sends.join(",")
    );
    let report = scenario::run(&scenario::parse(&text, None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let last = report
        .lines
        .iter()
        .rev()
        .find(|l| l.contains("\"step\""))
        .unwrap();
    assert!(last.contains("retry_after_ms"), "{last}");
}

/// A 429's message names the limit: its count, window and scope.
#[test]
fn a_throttled_calls_message_names_its_limit() {
    let mut sim = Simulator::builder().seed(1).build();
    let ana = sim.create_user("ana").unwrap();
    let t = sim.client(ana).create_thread("x", &[]).unwrap();
    let e = (0..51)
        .map(|i| sim.client(ana).send_message(t, &format!("m{i}")))
        .find_map(Result::err)
        .expect("the 51st send in a minute is throttled");
    assert_eq!(e.status(), 429);
    assert!(
        e.to_string()
            .contains("50 per 60000 ms per user in a thread"),
        "{e}"
    );
}
