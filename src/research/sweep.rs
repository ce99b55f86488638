//! `switchboard sweep`: one scenario under many seeds. Each run is isolated
//! (a fresh simulator, nothing shared), runs on one thread, and the runs are
//! spread over `jobs` worker threads; results are reported in seed order
//! whatever order they finish in, so the output is the same for any `jobs`.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use super::stats::Stats;
use super::{Failure, FailureKind, run_isolated};
use crate::scenario::Scenario;

/// The most seeds one sweep runs.
pub const SEEDS_MAX: u64 = 1_000_000;

/// The seeds `text` names: `N` (that seed) or `A..B` (A to B, both
/// included).
pub fn parse_seeds(text: &str) -> Result<Vec<u64>, String> {
    let number = |s: &str| {
        s.trim().parse::<u64>().map_err(|_| {
            format!(
                "--seeds: {} is not a seed (an unsigned integer)",
                crate::scenario::quote(s)
            )
        })
    };
    let Some((a, b)) = text.split_once("..") else {
        return Ok(vec![number(text)?]);
    };
    let (a, b) = (number(a)?, number(b.strip_prefix('=').unwrap_or(b))?);
    if b < a {
        return Err(format!(
            "--seeds: {a}..{b} is empty (the end is before the start)"
        ));
    }
    if b - a >= SEEDS_MAX {
        return Err(format!(
            "--seeds: {a}..{b} is {} seeds; a sweep runs at most {SEEDS_MAX}",
            u128::from(b - a) + 1
        ));
    }
    Ok((a..=b).collect())
}

/// One seed's run.
#[derive(Clone, Debug, Serialize)]
pub struct SeedRun {
    /// The seed.
    pub seed: u64,
    /// Its failures, none when it passed.
    pub failures: Vec<Failure>,
    /// Its trace's digest (none when it panicked).
    pub digest: Option<String>,
    /// Its headline statistics, by name.
    pub headline: BTreeMap<&'static str, u64>,
}

/// Runs `scenario` under `seed`, isolated, gathering its statistics.
pub fn run_seed(scenario: &Scenario, seed: u64, strict: bool) -> SeedRun {
    let mut scenario = scenario.clone();
    scenario.seed = Some(seed);
    let mut stats = Stats::new();
    let outcome = run_isolated(&scenario, strict, |line| stats.add_line(line));
    // A run that panicked has no statistics: its trace stopped part way.
    let headline = match outcome.digest {
        Some(_) => stats.report().headline().into_iter().collect(),
        None => BTreeMap::new(),
    };
    SeedRun {
        seed,
        failures: outcome.failures,
        digest: outcome.digest,
        headline,
    }
}

/// Runs `run` for every seed over `jobs` threads (at least 1), handing each
/// result to `done` in seed order as soon as it and every result before it
/// are in. A panic inside `run` that it does not catch itself is caught here
/// and reported as that seed's failure.
pub fn sweep_with<R>(
    seeds: &[u64],
    jobs: usize,
    run: R,
    mut done: impl FnMut(&SeedRun),
) -> Vec<SeedRun>
where
    R: Fn(u64) -> SeedRun + Sync,
{
    let next = AtomicUsize::new(0);
    let jobs = jobs.clamp(1, seeds.len().max(1));
    let mut results: Vec<Option<SeedRun>> = vec![None; seeds.len()];
    let mut reported = 0;
    std::thread::scope(|scope| {
        let (send, receive) = mpsc::channel::<(usize, SeedRun)>();
        for _ in 0..jobs {
            let send = send.clone();
            let (next, run) = (&next, &run);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else {
                        return;
                    };
                    let caught =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(seed)));
                    let result = caught.unwrap_or_else(|payload| SeedRun {
                        seed,
                        failures: vec![super::panic_failure(payload.as_ref())],
                        digest: None,
                        headline: BTreeMap::new(),
                    });
                    if send.send((i, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(send);
        for (i, result) in receive {
            results[i] = Some(result);
            while let Some(Some(r)) = results.get(reported) {
                done(r);
                reported += 1;
            }
        }
    });
    results.into_iter().flatten().collect()
}

/// Runs `scenario` under every seed over `jobs` threads (see `sweep_with`).
pub fn sweep(
    scenario: &Scenario,
    seeds: &[u64],
    jobs: usize,
    strict: bool,
    done: impl FnMut(&SeedRun),
) -> Vec<SeedRun> {
    super::quiet_panics(|| sweep_with(seeds, jobs, |seed| run_seed(scenario, seed, strict), done))
}

/// The smallest, median and largest value of one statistic across seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MinMedianMax {
    /// The smallest.
    pub min: u64,
    /// The median (the lower middle value for an even count).
    pub median: u64,
    /// The largest.
    pub max: u64,
}

/// A sweep's summary.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The scenario file.
    pub file: String,
    /// Runs made.
    pub runs: u64,
    /// Runs that failed.
    pub failing_runs: u64,
    /// Failures by kind (`expectation`, `oracle`, `panic`), over all runs.
    pub failures_by_kind: BTreeMap<&'static str, u64>,
    /// Each headline statistic's spread across the runs that finished.
    pub headline: BTreeMap<&'static str, MinMedianMax>,
    /// Each failing seed, its failures and the command that replays it.
    pub failing: Vec<FailingSeed>,
}

/// A failing seed.
#[derive(Clone, Debug, Serialize)]
pub struct FailingSeed {
    /// The seed.
    pub seed: u64,
    /// The command line that replays it.
    pub replay: String,
    /// Its failures.
    pub failures: Vec<Failure>,
}

/// `path` as one shell word.
pub fn shell_word(path: &str) -> String {
    let plain = !path.is_empty()
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+=:@,".contains(c));
    if plain {
        path.to_string()
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// The command line that replays `seed` of the scenario at `file`.
pub fn replay_command(file: &str, seed: u64, strict: bool) -> String {
    replay_line(file, seed, strict, true)
}

/// The command line that replays the run of `file` under `seed`, with the
/// flags it ran with (the file's path shell-quoted).
pub fn replay_line(file: &str, seed: u64, strict: bool, oracles: bool) -> String {
    let strict = if strict { " --strict" } else { "" };
    let oracles = if oracles { " --oracles" } else { "" };
    format!(
        "switchboard run {}{strict}{oracles} --seed {seed}",
        shell_word(file)
    )
}

/// The summary of `runs` of the scenario at `file`.
pub fn summarize(file: &str, runs: &[SeedRun], strict: bool) -> Summary {
    let mut by_kind: BTreeMap<&'static str, u64> = BTreeMap::new();
    for kind in [
        FailureKind::Expectation,
        FailureKind::Oracle,
        FailureKind::Panic,
    ] {
        by_kind.insert(kind.name(), 0);
    }
    let mut values: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
    let mut failing = Vec::new();
    for run in runs {
        for f in &run.failures {
            *by_kind.entry(f.kind.name()).or_default() += 1;
        }
        for (name, value) in &run.headline {
            values.entry(name).or_default().push(*value);
        }
        if !run.failures.is_empty() {
            failing.push(FailingSeed {
                seed: run.seed,
                replay: replay_command(file, run.seed, strict),
                failures: run.failures.clone(),
            });
        }
    }
    let headline = values
        .into_iter()
        .map(|(name, mut v)| {
            v.sort_unstable();
            let spread = MinMedianMax {
                min: v[0],
                median: v[(v.len() - 1) / 2],
                max: v[v.len() - 1],
            };
            (name, spread)
        })
        .collect();
    Summary {
        file: file.to_string(),
        runs: runs.len() as u64,
        failing_runs: failing.len() as u64,
        failures_by_kind: by_kind,
        headline,
        failing,
    }
}

impl Summary {
    /// The summary for people: each failing seed with its replay command,
    /// then the table.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        for f in &self.failing {
            let _ = writeln!(out, "seed {} failed:", f.seed);
            for failure in &f.failures {
                let _ = writeln!(out, "  {}: {}", failure.kind.name(), failure.message);
            }
            let _ = writeln!(out, "  replay: {}", f.replay);
        }
        let _ = writeln!(
            out,
            "runs {}, failing {}, failures: {}",
            self.runs,
            self.failing_runs,
            self.failures_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "{:<22}{:>14}{:>14}{:>14}",
            "statistic", "min", "median", "max"
        );
        for (name, s) in &self.headline {
            let _ = writeln!(out, "{name:<22}{:>14}{:>14}{:>14}", s.min, s.median, s.max);
        }
        out
    }
}

/// Shows a sweep's progress on standard error: a bar on a terminal, else a
/// plain line at every tenth of the runs. Counts follow seed order, so the
/// plain lines are the same for any number of jobs.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: u64,
    done: u64,
    failing: u64,
}

impl Progress {
    /// Progress over `total` runs.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs, {msg} [{elapsed} < {eta}]",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            done: 0,
            failing: 0,
        }
    }

    /// One more run is in (in seed order).
    pub fn done(&mut self, run: &SeedRun) {
        self.done += 1;
        if !run.failures.is_empty() {
            self.failing += 1;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{} failing", self.failing));
                bar.inc(1);
            }
            None => {
                let step = self.total.div_ceil(10).max(1);
                if self.done.is_multiple_of(step) || self.done == self.total {
                    eprintln!(
                        "sweep: {}/{} runs, {} failing",
                        self.done, self.total, self.failing
                    );
                }
            }
        }
    }

    /// Clears the bar.
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
