//! The research tools of the command line (`switchboard sweep`, `stats`,
//! `plot`, `diff`, `shrink`): a scenario run under many seeds, statistics and
//! pictures of a trace, the first divergence of two traces, and a failing
//! scenario reduced to a smaller one that fails the same way.
//!
//! This file holds what the tools share: where a trace comes from (a trace
//! file, standard input, or a scenario run on the spot) and how a run fails.
//! The tools read traces as the trace format documents them
//! (`docs/trace-format.md`), so a trace written by an earlier run, by
//! `switchboard run` or by the server mode reads the same way.

pub mod diff;
pub mod plot;
pub mod replay;
pub mod shrink;
pub mod stats;
pub mod sweep;

use std::io::{BufRead, BufReader, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde_json::Value;

use crate::scenario::{self, RunOptions, Scenario};

/// Where a tool's trace comes from.
pub enum Source {
    /// A trace already written: its lines, read one at a time.
    Trace {
        /// The file's name, for messages.
        name: String,
        /// The first line (already read to tell a trace from a scenario).
        first: String,
        /// The rest of the lines.
        rest: Box<dyn BufRead>,
    },
    /// A scenario file, run on the spot.
    Scenario {
        /// The file's name, for messages and replay commands.
        name: String,
        /// The parsed scenario, its seed replaced by `--seed` when given.
        scenario: Box<Scenario>,
    },
}

/// Whether `line` is a trace line: a JSON object whose first keys are
/// `at_ms` (a number) and `kind` (a string).
fn is_trace_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    if !trimmed.starts_with("{\"at_ms\":") {
        return false;
    }
    serde_json::from_str::<Value>(line).is_ok_and(|v| v["at_ms"].is_u64() && v["kind"].is_string())
}

impl Source {
    /// Opens `path` (`-`: standard input): a trace when its first line is a
    /// trace line, else a scenario file (with `seed` replacing its seed).
    pub fn open(path: &str, seed: Option<u64>) -> Result<Source, String> {
        let reader: Box<dyn Read> = if path == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(|e| format!("cannot read {path}: {e}"))?)
        };
        let mut reader: Box<dyn BufRead> = Box::new(BufReader::new(reader));
        let mut first = String::new();
        reader
            .read_line(&mut first)
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        if is_trace_line(&first) {
            if seed.is_some() {
                return Err(format!(
                    "{path} is a trace: --seed applies to scenario files only"
                ));
            }
            let first = first.trim_end_matches(['\n', '\r']).to_string();
            return Ok(Source::Trace {
                name: path.to_string(),
                first,
                rest: reader,
            });
        }
        let mut text = first;
        reader
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read {path}: {e}"))?;
        let scenario = scenario::parse(&text, seed).map_err(|e| format!("{path}: {e}"))?;
        Ok(Source::Scenario {
            name: path.to_string(),
            scenario: Box::new(scenario),
        })
    }

    /// The source's name, as given.
    pub fn name(&self) -> &str {
        match self {
            Source::Trace { name, .. } | Source::Scenario { name, .. } => name,
        }
    }

    /// The trace's lines, one at a time: a trace file's as they are read, a
    /// scenario's from its run (kept in memory).
    pub fn into_lines(self) -> Box<dyn Iterator<Item = Result<String, String>>> {
        match self {
            Source::Trace { name, first, rest } => {
                let rest = rest
                    .lines()
                    .enumerate()
                    .filter_map(move |(i, line)| match line {
                        Ok(l) if l.trim().is_empty() => None,
                        Ok(l) => Some(Ok(l.trim_end_matches('\r').to_string())),
                        Err(e) => Some(Err(format!("{name}: line {}: {e}", i + 2))),
                    });
                Box::new(std::iter::once(Ok(first)).chain(rest))
            }
            Source::Scenario { scenario, .. } => {
                Box::new(scenario::run(&scenario).lines.into_iter().map(Ok))
            }
        }
    }

    /// Hands every trace line to `each`, in order (a scenario's run streams
    /// them as it goes, so memory does not grow with the trace). A trace
    /// file's unreadable line is an error naming its line number.
    pub fn for_each_line(self, mut each: impl FnMut(&str)) -> Result<(), String> {
        match self {
            Source::Trace {
                name,
                first,
                mut rest,
            } => {
                each(&first);
                let mut line = String::new();
                let mut number = 1usize;
                loop {
                    line.clear();
                    number += 1;
                    let read = rest
                        .read_line(&mut line)
                        .map_err(|e| format!("{name}: line {number}: {e}"))?;
                    if read == 0 {
                        return Ok(());
                    }
                    let text = line.trim_end_matches(['\n', '\r']);
                    if !text.is_empty() {
                        each(text);
                    }
                }
            }
            Source::Scenario { scenario, .. } => {
                scenario::run_with(&scenario, RunOptions::default(), each);
                Ok(())
            }
        }
    }
}

/// How a run failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A step's expectation did not hold (with `--strict`, also a step
    /// refused without an `expect`).
    Expectation,
    /// An oracle found the run broke a property every run must keep
    /// (nothing accepted lost, sequence ids increasing, no 2xx over a rate
    /// limit, …).
    Oracle,
    /// The simulator panicked: a bug in switchboard.
    Panic,
}

impl FailureKind {
    /// The kind's name, as `--json` spells it.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Expectation => "expectation",
            FailureKind::Oracle => "oracle",
            FailureKind::Panic => "panic",
        }
    }
}

/// One way a run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Its kind.
    pub kind: FailureKind,
    /// What failed: the failed expectation's message, or the panic's.
    pub message: String,
}

/// What one isolated run of a scenario gave.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The run's failures, none when it passed.
    pub failures: Vec<Failure>,
    /// The trace's digest (none when the run panicked).
    pub digest: Option<String>,
}

thread_local! {
    /// The last panic's location on this thread, kept by the hook
    /// `quiet_panics` installs.
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `body` with panics kept quiet (not printed) and their location
/// recorded, then restores the previous panic hook. Panics inside are caught
/// by `run_isolated`; the hook is process-wide, so callers run this around a
/// whole sweep or shrink, not per run.
pub fn quiet_panics<T>(body: impl FnOnce() -> T) -> T {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        PANIC_AT.with(|cell| *cell.borrow_mut() = at);
    }));
    let result = catch_unwind(AssertUnwindSafe(body));
    std::panic::set_hook(previous);
    match result {
        Ok(value) => value,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Runs `scenario` once, isolated: a fresh simulator, its trace handed to
/// `each` line by line, the oracles on (kind `Oracle`), a failed expectation
/// of kind `Expectation`, a panic caught and reported as a failure of kind
/// `Panic` (with its message and, under `quiet_panics`, its location).
pub fn run_isolated(scenario: &Scenario, strict: bool, each: impl FnMut(&str)) -> Outcome {
    let run = catch_unwind(AssertUnwindSafe(|| {
        scenario::run_with(
            scenario,
            RunOptions {
                strict,
                oracles: true,
                ..Default::default()
            },
            each,
        )
    }));
    match run {
        Ok(report) => Outcome {
            failures: report
                .failures
                .into_iter()
                .enumerate()
                .map(|(i, message)| Failure {
                    kind: if i < report.expectation_failures {
                        FailureKind::Expectation
                    } else {
                        FailureKind::Oracle
                    },
                    message,
                })
                .collect(),
            digest: Some(report.digest),
        },
        Err(payload) => Outcome {
            failures: vec![panic_failure(payload.as_ref())],
            digest: None,
        },
    }
}

/// A caught panic as a failure: its message and where it happened.
pub fn panic_failure(payload: &(dyn std::any::Any + Send)) -> Failure {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let at = PANIC_AT.with(|cell| cell.borrow_mut().take());
    let message = match at {
        Some(at) => format!("panicked at {at}: {text}"),
        None => format!("panicked: {text}"),
    };
    Failure {
        kind: FailureKind::Panic,
        message,
    }
}

/// The `p`-th percentile (0 to 100) of `sorted` by the nearest-rank method:
/// the smallest value with at least `p`% of the values at or below it.
pub fn percentile(sorted: &[u64], p: u32) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get((rank - 1) as usize).copied()
}

/// `ms` of virtual time as days, hours, minutes and seconds (`1d6h`,
/// `2h30m`, `45s`, `250ms`): the two largest units that are not zero.
pub fn human_time(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    let mut rest = ms;
    let mut parts = Vec::new();
    for (size, unit) in units {
        let n = rest / size;
        rest %= size;
        if n > 0 || !parts.is_empty() {
            parts.push((n, unit));
        }
    }
    parts
        .into_iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect()
}
