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
    let mut replayed = 0;
    for (folder, target) in [
        ("seeds/scenario", switchboard::fuzz::scenario as fn(&[u8])),
        ("regressions/scenario", switchboard::fuzz::scenario),
        ("seeds/commands", switchboard::fuzz::commands),
        ("regressions/commands", switchboard::fuzz::commands),
    ] {
        for file in files(folder) {
            let data = std::fs::read(&file).expect("readable");
            target(&data);
            replayed += 1;
        }
    }
    // The fixtures and the malformed corpus seed the scenario target.
    assert!(replayed >= 80, "{replayed} inputs");
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
