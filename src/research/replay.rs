//! `switchboard replay`: re-executes the inputs a trace records and checks
//! that every line comes out the same, without the seed. The inputs are the
//! `inputs` line `switchboard run FILE --inputs` writes first (the scenario
//! file, its seed left out, and whether the run was strict), for a workload
//! the `input` line before each step (a file step by its index, a generated
//! step whole), and the carrier's receipts, fed back as data from the trace's
//! `delivery_updated` lines instead of drawn. The replay runs under seed 0;
//! it draws nothing.

use serde_json::Value;

use super::diff::{Diff, diff};
use crate::rules::Status;
use crate::scenario::{self, RunOptions};
use crate::sim::carrier::Script;
use crate::time::Instant;

/// The `kind` of the line that records a run's inputs.
pub const INPUTS: &str = "inputs";
/// The `kind` of the line that records one step of a workload's run.
pub const INPUT: &str = "input";

/// The `inputs` line for the scenario file `file` (its text parsed as JSON),
/// run strict or not: the file without its `seed`.
pub fn inputs_line(file: &str, strict: bool) -> Result<String, String> {
    let text = file.strip_prefix('\u{feff}').unwrap_or(file);
    let mut value: Value = serde_json::from_str(text).map_err(|e| format!("$: {e}"))?;
    let Some(object) = value.as_object_mut() else {
        return Err("$: not a JSON object".to_string());
    };
    object.remove("seed");
    let line = serde_json::json!({
        "at_ms": 0,
        "kind": INPUTS,
        "scenario": value,
        "strict": strict,
    });
    Ok(line.to_string())
}

/// What a replay found.
pub struct Replayed {
    /// The comparison of the recorded lines (A) with the replayed ones (B).
    pub diff: Diff,
    /// The recorded seed, which the replay did not use.
    pub seed: Option<u64>,
}

/// The carrier receipts of `lines`: each `delivery_updated` line as the
/// receipt the carrier gave. `numbers` are the lines' numbers in the file.
fn script_of(lines: &[String], numbers: &[usize]) -> Result<Script, String> {
    let mut script = Script::default();
    for (line, n) in lines.iter().zip(numbers) {
        if !line.contains("\"kind\":\"delivery_updated\"") {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {n}: {e}"))?;
        let status: Status = serde_json::from_value(v["status"].clone())
            .map_err(|e| format!("line {n}: status: {e}"))?;
        let (Some(at), Some(delivery)) = (v["at_ms"].as_u64(), v["delivery"].as_u64()) else {
            return Err(format!(
                "line {n}: a delivery_updated line without at_ms or delivery"
            ));
        };
        let code = v["code"]
            .as_u64()
            .map_or(Ok(0), u16::try_from)
            .map_err(|_| format!("line {n}: code is not a carrier code"))?;
        script.push(delivery, Instant(at), status, code);
    }
    Ok(script)
}

/// Replays the trace `lines` (its `inputs` line first).
pub fn replay(lines: impl IntoIterator<Item = Result<String, String>>) -> Result<Replayed, String> {
    let mut lines = lines.into_iter();
    let no_inputs = || {
        "the trace does not start with an inputs line: record it with \
         `switchboard run FILE --inputs`"
            .to_string()
    };
    let first = lines.next().transpose()?.ok_or_else(no_inputs)?;
    let header: Value = serde_json::from_str(&first).map_err(|_| no_inputs())?;
    if header["kind"] != INPUTS {
        return Err(no_inputs());
    }
    let strict = header["strict"].as_bool().unwrap_or(false);
    let scenario = scenario::parse(&header["scenario"].to_string(), Some(0))
        .map_err(|e| format!("line 1: the recorded scenario: {e}"))?;
    if scenario.faults.is_some() {
        // Their draws (and the swarm's choice) come from the seed, and are
        // not fed back as data yet.
        return Err(
            "line 1: the recorded scenario has a `faults` section, which replay \
                    cannot re-execute without the seed: run it with \
                    `switchboard run FILE --seed N` instead"
                .to_string(),
        );
    }
    let mut recorded: Vec<String> = Vec::new();
    // Each recorded line's number in the file (the inputs line is line 1).
    let mut numbers: Vec<usize> = Vec::new();
    let mut inputs: Vec<Value> = Vec::new();
    for (n, line) in (2..).zip(lines) {
        let line = line?;
        if line.contains("\"kind\":\"input\"") {
            let v: Value =
                serde_json::from_str(&line).map_err(|e| format!("line {n}: an input line: {e}"))?;
            if v["kind"] == INPUT {
                inputs.push(v);
                continue;
            }
        }
        recorded.push(line);
        numbers.push(n);
    }
    let script = script_of(&recorded, &numbers)?;
    let seed = recorded.last().and_then(|l| {
        serde_json::from_str::<Value>(l)
            .ok()
            .filter(|v| v["kind"] == "summary")
            .and_then(|v| v["seed"].as_u64())
    });
    let mut replayed = Vec::new();
    match &scenario.workload {
        None => {
            scenario::run_scripted(
                &scenario,
                RunOptions {
                    strict,
                    ..Default::default()
                },
                Some(script),
                |line| {
                    replayed.push(line.to_string());
                },
            );
        }
        Some(workload) => {
            replayed = replay_steps(&scenario, workload, strict, script, &inputs)?;
        }
    }
    // The summary names the seed; the replay ran under 0 and drew nothing.
    if let (Some(seed), Some(summary)) = (seed, replayed.last_mut()) {
        *summary = summary.replacen("\"seed\":0,", &format!("\"seed\":{seed},"), 1);
    }
    let diff = diff(
        recorded.into_iter().map(Ok),
        replayed.into_iter().map(Ok),
        3,
    )?;
    Ok(Replayed { diff, seed })
}

/// A workload's run re-executed from its `input` lines: each file step by its
/// index, each generated step as recorded (the last, the closing clock move,
/// counted as no step), on a fresh session with the carrier scripted.
fn replay_steps(
    scenario: &crate::scenario::Scenario,
    workload: &crate::scenario::Workload,
    strict: bool,
    script: Script,
    inputs: &[Value],
) -> Result<Vec<String>, String> {
    let mut users = scenario.users.clone();
    users.extend(workload.user_decls());
    let mut session = scenario::Session::new(0, scenario.profile.clone(), &users);
    session.set_strict(strict);
    session.script_carrier(script);
    let mut reader = scenario::StepReader::new(&users);
    let mut next = scenario.steps.len();
    let mut out = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let step = if let Some(index) = input["file_step"].as_u64() {
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            scenario
                .steps
                .get(index)
                .cloned()
                .ok_or_else(|| format!("input {}: no file step {index}", i + 1))?
        } else {
            let mut step = reader
                .read(&input["step"])
                .map_err(|e| format!("input {}: {e}", i + 1))?;
            step.index = next;
            step.generated = true;
            next += 1;
            step
        };
        session.step(&step);
        out.extend(session.take_lines());
    }
    // The closing clock move is no step of the workload's.
    let last_is_advance = inputs.last().is_some_and(|v| v["step"]["op"] == "advance");
    let steps = if last_is_advance { next - 1 } else { next };
    out.push(session.summary(scenario.name.as_deref(), steps));
    Ok(out)
}
