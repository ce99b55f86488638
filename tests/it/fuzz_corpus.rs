//! The fuzz targets' seeds and every input that ever failed, replayed through
//! the same harness (`switchboard::fuzz`) on stable Rust; and the command
//! harness as a property over random byte strings: every call family on every
//! profile, the invariants after every call, a refused call changing nothing,
//! a replay giving the same digest.
//!
//! `SWITCHBOARD_SEQUENCES` sets how many random sequences the property checks
//! (256 by default; CI runs 100,000 in release mode).

use std::path::{Path, PathBuf};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::Config;

fn files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != "README.md" && n != ".keep")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_seeds_and_regressions_replay_clean() {
    // Scenario inputs: every one replays clean, and every fixture among the
    // seeds parses and runs (a harness that ran nothing would check nothing).
    let (mut fixtures, mut fixtures_ran) = (0, 0);
    for folder in ["seeds/scenario", "regressions/scenario"] {
        for file in files(folder) {
            let data = std::fs::read(&file).expect("readable");
            let ran = switchboard::fuzz::scenario(&data);
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            if folder == "seeds/scenario" && !name.starts_with("malformed_") {
                fixtures += 1;
                fixtures_ran += usize::from(ran);
            }
        }
    }
    assert!(fixtures >= 8, "{fixtures} fixture seeds");
    assert_eq!(fixtures_ran, fixtures, "every fixture seed parses and runs");
    // Command inputs: they replay clean, and between them the seeds reach
    // accepted calls (a harness that refused everything would check nothing).
    let mut accepted = 0;
    for folder in ["seeds/commands", "regressions/commands"] {
        for file in files(folder) {
            let data = std::fs::read(&file).expect("readable");
            accepted += switchboard::fuzz::commands(&data);
        }
    }
    assert!(
        accepted >= 20,
        "the command seeds made {accepted} accepted calls"
    );
}

fn sequences() -> u32 {
    std::env::var("SWITCHBOARD_SEQUENCES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(Config { cases: sequences(), failure_persistence: None, ..Config::default() })]

    #[test]
    fn random_call_sequences_on_every_profile_keep_every_property(
        data in vec(any::<u8>(), 0..1200)
    ) {
        switchboard::fuzz::commands(&data);
    }
}
