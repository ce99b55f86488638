//! `switchboard shrink`: a failing scenario reduced to a smaller one that
//! fails the same way, by delta debugging (Zeller's ddmin) over its steps,
//! then by shrinking the numbers of its `workload` section, until neither
//! finds anything smaller.
//!
//! "The same way" is the first failure's signature: its kind and, for a
//! failed expectation, the op and what was expected (not the step's index or
//! instant, which shrinking changes, nor what was got); for a panic, where it
//! happened. Every candidate is written as a scenario file and parsed again,
//! so a candidate the format refuses (a step whose ref was removed) is simply
//! not smaller.

use serde_json::Value;

use super::{Failure, FailureKind, run_isolated};
use crate::scenario::{self, Scenario};
use crate::time::Duration;

/// What a failure is, for "fails the same way".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// The failure's kind.
    pub kind: FailureKind,
    /// For an expectation, `op: expected …`; for a panic, its location.
    pub what: String,
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.what)
    }
}

/// The signature of `failure`.
pub fn signature(failure: &Failure) -> Signature {
    let message = failure.message.as_str();
    let what = match failure.kind {
        // "step 12 (send_message) at 9h: expected status 201, got status 404"
        FailureKind::Expectation => {
            let op = message
                .split_once(" (")
                .and_then(|(_, rest)| rest.split_once(')'))
                .map_or("", |(op, _)| op);
            let expected = message.split_once(": ").map_or(message, |(_, rest)| rest);
            let cut = [", got ", ", differs at ", "; got "]
                .iter()
                .filter_map(|m| expected.find(m))
                .min()
                .or_else(|| {
                    // "refused without an expect (--strict): status 404 (not_found: …)"
                    expected
                        .find("): status ")
                        .and_then(|i| expected[i + 2..].find(" (").map(|j| i + 2 + j))
                })
                .unwrap_or(expected.len());
            format!("{op}: {}", &expected[..cut])
        }
        // "panicked at src/x.rs:10: message"
        FailureKind::Panic => message
            .strip_prefix("panicked at ")
            .and_then(|rest| rest.split(": ").next())
            .unwrap_or(message)
            .to_string(),
        // "oracle KIND at INSTANT: details": the kind alone, since a smaller
        // run fails it at another instant, in other threads.
        FailureKind::Oracle => message
            .strip_prefix("oracle ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or(message)
            .to_string(),
    };
    Signature {
        kind: failure.kind,
        what,
    }
}

/// How a shrink went.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The failure kept.
    pub signature: Signature,
    /// The smaller scenario file, as pretty JSON.
    pub file: String,
    /// Steps before and after.
    pub steps: (usize, usize),
    /// Each workload number shrunk: (field, before, after).
    pub workload: Vec<(String, u64, u64)>,
    /// Candidates run.
    pub runs: u64,
}

/// Shrinks the scenario file `text` (run under `seed` when given) whose run
/// fails, within `max_runs` candidate runs. Errors when the file does not
/// parse or its run does not fail.
pub fn shrink(
    text: &str,
    seed: Option<u64>,
    strict: bool,
    max_runs: u64,
) -> Result<Shrunk, String> {
    super::quiet_panics(|| shrink_inner(text, seed, strict, max_runs))
}

struct Tester {
    target: Signature,
    strict: bool,
    runs: u64,
    max_runs: u64,
}

impl Tester {
    /// Whether the file `value` parses and its run fails the target's way.
    fn fails(&mut self, value: &Value) -> bool {
        if self.runs >= self.max_runs {
            return false;
        }
        self.runs += 1;
        let Ok(parsed) = scenario::parse(&value.to_string(), None) else {
            return false;
        };
        let outcome = run_isolated(&parsed, self.strict, |_| {});
        outcome.failures.iter().any(|f| signature(f) == self.target)
    }
}

fn shrink_inner(
    text: &str,
    seed: Option<u64>,
    strict: bool,
    max_runs: u64,
) -> Result<Shrunk, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let parsed: Scenario = scenario::parse(text, seed).map_err(|e| e.to_string())?;
    let outcome = run_isolated(&parsed, strict, |_| {});
    let Some(first) = outcome.failures.first() else {
        return Err(format!(
            "the run does not fail under seed {} (nothing to shrink)",
            parsed.seed.unwrap_or_default()
        ));
    };
    let mut value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Some(object) = value.as_object_mut() else {
        return Err("$: not a JSON object".to_string());
    };
    // The seed the run used, written into the file; every step's instant
    // made absolute, so that removing a step moves no other.
    object.insert("seed".into(), Value::from(parsed.seed.unwrap_or_default()));
    let mut steps: Vec<Value> = match object.get("steps") {
        Some(Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    };
    for (step, typed) in steps.iter_mut().zip(&parsed.steps) {
        if let Some(s) = step.as_object_mut() {
            s.insert("at".into(), Value::from(typed.at.ms()));
        }
    }
    let before = steps.len();
    let mut tester = Tester {
        target: signature(first),
        strict,
        runs: 1,
        max_runs: max_runs.max(1),
    };
    let with_steps = |base: &Value, keep: &[usize], steps: &[Value]| {
        let mut v = base.clone();
        let list: Vec<Value> = keep.iter().map(|&i| steps[i].clone()).collect();
        v["steps"] = Value::Array(list);
        v
    };
    let has_steps = value.get("steps").is_some();
    let mut workload_changes: Vec<(String, u64, u64)> = Vec::new();
    loop {
        let mut changed = false;
        if has_steps {
            let all: Vec<usize> = (0..steps.len()).collect();
            let keep = ddmin(all, |keep| tester.fails(&with_steps(&value, keep, &steps)));
            if keep.len() < steps.len() {
                changed = true;
                steps = keep.iter().map(|&i| steps[i].clone()).collect();
            }
            value["steps"] = Value::Array(steps.clone());
        }
        if value.get("workload").is_some() {
            for (field, from, to) in shrink_workload(&mut value, &mut tester) {
                changed = true;
                match workload_changes.iter_mut().find(|(f, _, _)| *f == field) {
                    Some(entry) => entry.2 = to,
                    None => workload_changes.push((field, from, to)),
                }
            }
        }
        if !changed || tester.runs >= tester.max_runs {
            break;
        }
    }
    let file = serde_json::to_string_pretty(&value).map_err(|e| e.to_string())? + "\n";
    Ok(Shrunk {
        signature: tester.target,
        file,
        steps: (before, steps.len()),
        workload: workload_changes,
        runs: tester.runs,
    })
}

/// The workload's numbers, in the order they are shrunk: a path in the
/// section and the smallest value the format takes (`horizon` in
/// milliseconds).
const WORKLOAD_NUMBERS: [(&str, &str, u64); 7] = [
    ("horizon", "", 1),
    ("threads", "", 1),
    ("chat_participants", "", 1),
    ("sms_participants", "", 0),
    ("users", "", 1),
    ("sends", "burst", 1),
    ("count", "bodies", 1),
];

/// Shrinks each number of `value`'s workload section: its smallest value
/// first, then halving while the run still fails. A duration is written
/// back as a duration string. Returns what changed.
fn shrink_workload(value: &mut Value, tester: &mut Tester) -> Vec<(String, u64, u64)> {
    let mut changes = Vec::new();
    // The horizon in milliseconds, from the parsed section.
    let horizon = scenario::parse(&value.to_string(), None)
        .ok()
        .and_then(|p| p.workload.map(|w| w.horizon.ms()));
    for (name, group, min) in WORKLOAD_NUMBERS {
        let is_duration = name == "horizon";
        let get = |v: &Value| -> Option<u64> {
            if is_duration {
                return horizon;
            }
            let section = &v["workload"];
            let holder = if group.is_empty() {
                section
            } else {
                &section[group]
            };
            holder[name].as_u64()
        };
        let set = |v: &mut Value, n: u64| {
            let section = &mut v["workload"];
            let holder: &mut Value = if group.is_empty() {
                section
            } else {
                &mut section[group]
            };
            let n = if is_duration {
                Value::from(Duration::from_ms(n).to_string())
            } else {
                Value::from(n)
            };
            if let Some(map) = holder.as_object_mut() {
                map.insert(name.into(), n);
            }
        };
        let Some(start) = get(value) else {
            continue;
        };
        let mut current = start;
        // The smallest value, then start / 2^k from the smallest up: the
        // first that still fails is kept.
        let mut halves = Vec::new();
        let mut half = start / 2;
        while half > min {
            halves.push(half);
            half /= 2;
        }
        let candidates = std::iter::once(min).chain(halves.into_iter().rev());
        for n in candidates {
            if n >= current {
                continue;
            }
            let mut candidate = value.clone();
            set(&mut candidate, n);
            if tester.fails(&candidate) {
                current = n;
                *value = candidate;
                break;
            }
        }
        if current < start {
            let field = if group.is_empty() {
                name.to_string()
            } else {
                format!("{group}.{name}")
            };
            changes.push((field, start, current));
        }
    }
    // Optional parts that only add traffic: a burst, thread churn.
    for optional in ["burst", "lifetime"] {
        if value["workload"].get(optional).is_some() {
            let mut candidate = value.clone();
            if let Some(map) = candidate["workload"].as_object_mut() {
                map.remove(optional);
            }
            if tester.fails(&candidate) {
                *value = candidate;
                changes.push((format!("{optional} (removed)"), 1, 0));
            }
        }
    }
    changes
}

/// Zeller's ddmin: a 1-minimal subset of `items` on which `fails` holds,
/// given that it holds on `items` (every item of the result is needed: the
/// subset without any one of them no longer fails).
pub fn ddmin(items: Vec<usize>, mut fails: impl FnMut(&[usize]) -> bool) -> Vec<usize> {
    let mut current = items;
    if current.is_empty() || fails(&[]) {
        return Vec::new();
    }
    let mut n = 2usize;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(n);
        let parts: Vec<Vec<usize>> = current.chunks(chunk).map(<[usize]>::to_vec).collect();
        let mut reduced = false;
        for part in &parts {
            if fails(part) {
                current = part.clone();
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced && parts.len() > 2 {
            for i in 0..parts.len() {
                let complement: Vec<usize> = parts
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, p)| p.iter().copied())
                    .collect();
                if fails(&complement) {
                    current = complement;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= current.len() {
                break;
            }
            n = (2 * n).min(current.len());
        }
    }
    current
}
