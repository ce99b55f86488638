//! The command line as a user meets it: `--version`, `--help` on every
//! command, a scenario on standard input, "did you mean", and `--strict`.

use crate::harness::{switchboard, switchboard_with};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_and_help_on_every_command_exit_0() {
    let out = switchboard(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("switchboard {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["profile", "--help"],
        &["profile", "show", "--help"],
        &["serve", "--help"],
    ] {
        let out = switchboard(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: switchboard"), "{args:?}");
    }
}

#[test]
fn run_dash_reads_the_scenario_from_standard_input() {
    let file = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/support_desk.json"),
    )
    .unwrap();
    let piped = switchboard_with(&["run", "-"], &file);
    let named = switchboard(&["run", "fixtures/support_desk.json"]);
    assert_eq!(piped.status.code(), Some(0), "{}", text(&piped.stderr));
    assert!(piped.stdout.len() > 1000);
    assert_eq!(piped.stdout, named.stdout);
}

#[test]
fn a_misspelt_command_or_flag_gets_a_suggestion() {
    let out = switchboard(&["chek", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'check'"),
        "{}",
        text(&out.stderr)
    );
    let out = switchboard(&["run", "fixtures/support_desk.json", "--hman"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("'--human'"),
        "{}",
        text(&out.stderr)
    );
}

/// A step that is refused without an `expect`: said on stderr; with
/// `--strict`, a failed expectation (exit 1).
#[test]
fn strict_makes_a_refused_step_without_expect_a_failure() {
    let scenario = br#"{"seed": 1, "profile": "acs", "users": ["a"], "steps": [
        {"as": "a", "op": "get_thread", "thread": "t9"},
        {"as": "a", "op": "list_threads", "expect": {"status": 200}}]}"#;
    let lenient = switchboard_with(&["run", "-"], scenario);
    assert_eq!(lenient.status.code(), Some(0));
    assert!(
        text(&lenient.stderr).contains("1 step(s) without an expect were refused"),
        "{}",
        text(&lenient.stderr)
    );
    let strict = switchboard_with(&["run", "-", "--strict"], scenario);
    assert_eq!(strict.status.code(), Some(1));
    let stderr = text(&strict.stderr);
    assert!(stderr.contains("step 0 (get_thread)"), "{stderr}");
    assert!(stderr.contains("not_found"), "{stderr}");
    // The same trace; the summary counts the failure.
    let (lenient, strict) = (text(&lenient.stdout), text(&strict.stdout));
    let (lenient, strict): (Vec<&str>, Vec<&str>) =
        (lenient.lines().collect(), strict.lines().collect());
    assert_eq!(lenient[..lenient.len() - 1], strict[..strict.len() - 1]);
    assert!(lenient.last().unwrap().contains("\"failed\":0"));
    assert!(strict.last().unwrap().contains("\"failed\":1"));
}
