//! Parsing scenario files (the scenario format) into typed steps, in one pass: the top
//! level, the users, and each step's common fields (`at`, `as`, `token`, `ref`,
//! `expect`); an op's own fields are read by its row in `ops`. Every problem
//! is reported with the JSON path where it is, and nothing runs.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::ops;
use super::step::{Expect, Op, Participant, Scenario, Step, UserDecl};
use crate::core::Kind;
use crate::core::api::error::{INPUT_CHARS_MAX, cut};
use crate::id::{ThreadId, parse_message_id};
use crate::profile::{PROFILE_NAMES, Profile};
use crate::time::{Duration, Instant};

/// A problem in a scenario file, at a JSON path such as `$.steps[3].at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Where: a JSON path such as `$.steps[3].at`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ParseError {}

/// A problem at `path`. A path that names keys from the input is cut to a
/// bound, like every quote of input.
pub(super) fn error(path: &str, message: impl Into<String>) -> ParseError {
    const PATH_CHARS_MAX: usize = 160;
    ParseError {
        path: cut(path, PATH_CHARS_MAX).into_owned(),
        message: message.into(),
    }
}

/// The most characters of the caller's input an error message quotes (the
/// same bound as the platform's own error messages).
pub const QUOTE_CHARS_MAX: usize = INPUT_CHARS_MAX;

/// `text` quoted for an error message, cut to [`QUOTE_CHARS_MAX`] characters
/// (with how long it was) so that no input of any size is echoed whole.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS_MAX) {
        None => format!("{text:?}"),
        Some((at, _)) => format!("{:?}… ({} bytes)", &text[..at], text.len()),
    }
}

/// A ref may not be spelled like a thread or message id (`t2`, `m3`): it
/// would shadow the literal id everywhere after it.
pub(super) fn check_ref_name(name: &str, path: &str) -> Result<(), ParseError> {
    if ThreadId::parse(name).is_some() || parse_message_id(name).is_some() {
        return Err(error(
            path,
            format!(
                "the ref {} is spelled like an id and would shadow it; choose another name",
                quote(name)
            ),
        ));
    }
    Ok(())
}

/// Parses scenario text. `seed_override` stands in for a missing `seed`.
pub fn parse(text: &str, seed_override: Option<u64>) -> Result<Scenario, ParseError> {
    let root = super::json::read(text)?;
    let Value::Object(top) = &root else {
        return Err(error("$", "a scenario is a JSON object"));
    };
    for key in top.keys() {
        if ![
            "name", "seed", "profile", "users", "steps", "workload", "faults",
        ]
        .contains(&key.as_str())
        {
            return Err(error(&format!("$.{key}"), "unknown field"));
        }
    }
    let name = match top.get("name") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(error("$.name", "expected a string")),
    };
    let seed = match top.get("seed") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| error("$.seed", "expected an unsigned 64-bit integer"))?,
        ),
    };
    if seed.is_none() && seed_override.is_none() {
        return Err(error(
            "$.seed",
            "missing (give it in the file or with --seed)",
        ));
    }
    let profile = parse_profile(top.get("profile"))?;
    let users = parse_users(top.get("users"), profile.identity_chars_max)?;
    let workload = match top.get("workload") {
        None => None,
        Some(value) => Some(super::workload::parse_workload(value, &profile, &users)?),
    };
    // A workload may stand instead of steps; its identities exist from time
    // 0, so the file's steps may act as them.
    let known: Vec<UserDecl> = users
        .iter()
        .cloned()
        .chain(workload.iter().flat_map(|w| w.user_decls()))
        .collect();
    let steps = match top.get("steps") {
        None if workload.is_some() => Vec::new(),
        steps => parse_steps(steps, &known)?,
    };
    let faults = match top.get("faults") {
        None => None,
        Some(value) => Some(super::faults::parse_faults(value)?),
    };
    if faults.as_ref().is_some_and(|f| f.disconnects.is_some()) && workload.is_none() {
        return Err(error(
            "$.faults.disconnects",
            "needs a workload (its clients are the ones that drop)",
        ));
    }
    Ok(Scenario {
        faults,
        name,
        seed: seed_override.or(seed),
        profile,
        users,
        steps,
        workload,
    })
}

fn parse_profile(value: Option<&Value>) -> Result<Profile, ParseError> {
    let named = |name: &str, path: &str| {
        Profile::named(name).ok_or_else(|| {
            error(
                path,
                format!(
                    "unknown profile {} (this build knows: {})",
                    quote(name),
                    PROFILE_NAMES.join(", ")
                ),
            )
        })
    };
    match value {
        None => Err(error("$.profile", "missing")),
        Some(Value::String(name)) => named(name, "$.profile"),
        Some(Value::Object(map)) => {
            for key in map.keys() {
                if key != "base" && key != "overrides" {
                    return Err(error(&format!("$.profile.{key}"), "unknown field"));
                }
            }
            let base = match map.get("base") {
                Some(Value::String(name)) => named(name, "$.profile.base")?,
                Some(_) => return Err(error("$.profile.base", "expected a profile name")),
                None => return Err(error("$.profile.base", "missing")),
            };
            match map.get("overrides") {
                None => Ok(base),
                Some(overrides) => Profile::with_overrides(&base, overrides)
                    .map_err(|e| error("$.profile.overrides", e)),
            }
        }
        Some(_) => Err(error(
            "$.profile",
            "expected a profile name or {base, overrides}",
        )),
    }
}

fn parse_users(value: Option<&Value>, id_chars_max: u32) -> Result<Vec<UserDecl>, ParseError> {
    let Some(value) = value else {
        return Ok(vec![]);
    };
    let Value::Array(items) = value else {
        return Err(error("$.users", "expected a list"));
    };
    let mut users = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("$.users[{i}]");
        let user = match item {
            Value::String(id) => UserDecl {
                id: id.clone(),
                display_name: None,
            },
            Value::Object(map) => {
                for key in map.keys() {
                    if key != "id" && key != "display_name" {
                        return Err(error(&format!("{path}.{key}"), "unknown field"));
                    }
                }
                let id = map
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| error(&format!("{path}.id"), "expected a string"))?;
                let display_name = match map.get("display_name") {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(_) => {
                        return Err(error(&format!("{path}.display_name"), "expected a string"));
                    }
                };
                UserDecl {
                    id: id.to_string(),
                    display_name,
                }
            }
            _ => return Err(error(&path, "expected a user id or {id, display_name}")),
        };
        let chars = user.id.chars().count();
        if chars == 0 || chars > id_chars_max as usize || user.id.chars().any(char::is_control) {
            return Err(error(
                &path,
                format!("a user id is 1 to {id_chars_max} printable characters"),
            ));
        }
        if !seen.insert(user.id.clone()) {
            return Err(error(
                &path,
                format!("user {} is declared twice", quote(&user.id)),
            ));
        }
        users.push(user);
    }
    Ok(users)
}

/// What earlier steps defined, for the checks of later ones.
#[derive(Clone, Debug)]
struct Names {
    /// Step refs, with the step that defined each.
    refs: BTreeMap<String, usize>,
    /// Identities declared in `users` or created by a `create_user` step.
    identities: BTreeSet<String>,
    /// Refs of SMS/WhatsApp participants named in participant lists.
    participant_refs: BTreeSet<String>,
}

impl Names {
    /// Records what `step` defines for the steps after it.
    fn learn(&mut self, step: &Step) {
        if let Some(name) = &step.reference {
            self.refs.insert(name.clone(), step.index);
        }
        if let Op::CreateUser { id, .. } = &step.op {
            self.identities.insert(id.to_string());
        }
        for participant in step.op.participants() {
            if let Participant::Binding {
                reference: Some(name),
                ..
            } = participant
            {
                self.participant_refs.insert(name.clone());
            }
        }
    }
}

fn parse_steps(value: Option<&Value>, users: &[UserDecl]) -> Result<Vec<Step>, ParseError> {
    let Some(Value::Array(items)) = value else {
        return Err(error("$.steps", "expected a list of steps"));
    };
    let mut steps = Vec::with_capacity(items.len());
    let mut reader = StepReader::new(users);
    for item in items {
        steps.push(reader.read(item)?);
    }
    Ok(steps)
}

/// Reads the steps of a scenario one at a time, in order, with what the
/// earlier ones defined (their instant, refs and identities): the same
/// checks as a whole file gets. The server mode reads each request's step
/// with one as it records the session.
#[derive(Clone, Debug)]
pub struct StepReader {
    clock: Instant,
    names: Names,
    next_index: usize,
}

impl StepReader {
    /// A reader for the steps of a scenario that declares `users`.
    pub fn new(users: &[UserDecl]) -> StepReader {
        StepReader {
            clock: Instant::ZERO,
            names: Names {
                refs: BTreeMap::new(),
                identities: users.iter().map(|u| u.id.clone()).collect(),
                participant_refs: BTreeSet::new(),
            },
            next_index: 0,
        }
    }

    /// Reads the next step (at `$.steps[i]`, `i` the number read so far);
    /// a step with a problem is not counted and defines nothing.
    pub fn read(&mut self, item: &Value) -> Result<Step, ParseError> {
        let step = parse_step(self.next_index, item, self.clock, &self.names)?;
        self.clock = step.at;
        self.names.learn(&step);
        self.next_index += 1;
        Ok(step)
    }
}

fn parse_step(
    index: usize,
    item: &Value,
    clock: Instant,
    names: &Names,
) -> Result<Step, ParseError> {
    let path = format!("$.steps[{index}]");
    let Value::Object(map) = item else {
        return Err(error(&path, "a step is a JSON object"));
    };
    let (op_name, parser) = match map.get("op") {
        Some(Value::String(name)) => ops::find(name)
            .ok_or_else(|| error(&format!("{path}.op"), format!("unknown op {}", quote(name))))?,
        Some(_) => return Err(error(&format!("{path}.op"), "expected a string")),
        None => return Err(error(&format!("{path}.op"), "missing")),
    };
    let at = parse_at(map.get("at"), clock, &format!("{path}.at"))?;
    let actor = optional_str(map, "as", &path)?;
    let token = optional_str(map, "token", &path)?;
    let reference = optional_str(map, "ref", &path)?;
    let op = ops::read(op_name, parser, map, &path, &names.refs)?;
    if let Some(token) = &token
        && !names.refs.contains_key(token)
    {
        return Err(error(
            &format!("{path}.token"),
            format!("unknown token ref {}", quote(token)),
        ));
    }
    // With a token, `as` is whoever presents it, and the platform answers
    // for a token that is not theirs (401); without one, `as` must be a
    // caller the file has.
    if let Some(actor) = &actor
        && token.is_none()
    {
        check_caller(actor, &op, names, &format!("{path}.as"))?;
    }
    let expect = parse_expect(map.get("expect"), &format!("{path}.expect"))?;
    if let Some(name) = &reference {
        check_ref_name(name, &format!("{path}.ref"))?;
    }
    if let Some(name) = &reference
        && let Some(first) = names.refs.get(name)
    {
        return Err(error(
            &format!("{path}.ref"),
            format!("ref {} is already defined by step {first}", quote(name)),
        ));
    }
    Ok(Step {
        index,
        at,
        actor,
        token,
        reference,
        op_name,
        op,
        expect,
        generated: false,
    })
}

/// `as` names an identity declared in `users` or created by an earlier
/// `create_user` step; for `inbound`, an SMS/WhatsApp participant's ref too
/// (the scenario format).
fn check_caller(actor: &str, op: &Op, names: &Names, path: &str) -> Result<(), ParseError> {
    let inbound = matches!(op, Op::Inbound { .. });
    let participant = names.participant_refs.contains(actor);
    if names.identities.contains(actor) || (inbound && participant) {
        return Ok(());
    }
    let hint = if participant {
        " (an SMS/WhatsApp participant's ref acts only in inbound steps)"
    } else if inbound {
        " (or an SMS/WhatsApp participant's ref)"
    } else {
        ""
    };
    Err(error(
        path,
        format!(
            "{} is not an identity of this file: declare it in users or create it \
             with an earlier create_user step{hint}",
            quote(actor)
        ),
    ))
}

fn optional_str(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<String>, ParseError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(error(
            &format!("{path}.{key}"),
            "expected a non-empty string",
        )),
    }
}

/// A step's instant: absolute, `+relative` to the previous step, or omitted.
fn parse_at(value: Option<&Value>, clock: Instant, path: &str) -> Result<Instant, ParseError> {
    let at = match value {
        None => return Ok(clock),
        Some(Value::Number(n)) => Instant(
            n.as_u64()
                .ok_or_else(|| error(path, "expected a non-negative whole number of ms"))?,
        ),
        Some(Value::String(text)) => match text.strip_prefix('+') {
            Some(rest) => {
                let later = clock.ms().checked_add(duration(rest, path)?.ms());
                Instant(later.ok_or_else(|| error(path, "the step's instant is too large"))?)
            }
            None => Instant(duration(text, path)?.ms()),
        },
        Some(_) => return Err(error(path, "expected a duration such as \"90s\" or ms")),
    };
    if at < clock {
        return Err(error(
            path,
            format!("{at} is before the previous step ({clock}); the clock never goes backwards"),
        ));
    }
    Ok(at)
}

pub(super) fn duration(text: &str, path: &str) -> Result<Duration, ParseError> {
    Duration::parse(text).map_err(|e| error(path, format!("bad duration {}: {e}", quote(text))))
}

fn parse_expect(value: Option<&Value>, path: &str) -> Result<Expect, ParseError> {
    let Some(value) = value else {
        return Ok(Expect::default());
    };
    let Value::Object(map) = value else {
        return Err(error(path, "expected an object"));
    };
    let mut expect = Expect::default();
    for (key, v) in map {
        let field = format!("{path}.{key}");
        match key.as_str() {
            "status" => {
                let status = v
                    .as_u64()
                    .filter(|s| (100..600).contains(s))
                    .ok_or_else(|| error(&field, "expected an HTTP status such as 201"))?;
                expect.status = Some(status as u16);
            }
            "ok" => {
                expect.ok = Some(
                    v.as_bool()
                        .ok_or_else(|| error(&field, "expected a boolean"))?,
                )
            }
            "error" => {
                let name = v
                    .as_str()
                    .ok_or_else(|| error(&field, "expected an error kind"))?;
                expect.error = Some(Kind::from_name(name).ok_or_else(|| {
                    error(
                        &field,
                        format!(
                            "unknown error kind {} (see the scenario format)",
                            quote(name)
                        ),
                    )
                })?);
            }
            "result" => expect.result = Some(v.clone()),
            "body" => expect.body = Some(v.clone()),
            "count" => {
                expect.count = Some(
                    v.as_u64()
                        .ok_or_else(|| error(&field, "expected a count"))?,
                )
            }
            _ => return Err(error(&field, "unknown expectation")),
        }
    }
    Ok(expect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Route, Status};
    use crate::scenario::{InThread, OutboxQuery};

    fn parse_err(text: &str) -> ParseError {
        parse(text, None).unwrap_err()
    }

    #[test]
    fn times_accumulate_and_never_go_back() {
        let s = parse(
            r#"{"seed":1,"profile":"acs","users":["a"],"steps":[
                {"at":"1m","as":"a","op":"list_threads"},
                {"at":"+30s","as":"a","op":"list_threads"},
                {"as":"a","op":"list_threads"},
                {"at":120000,"as":"a","op":"list_threads"}]}"#,
            None,
        )
        .unwrap();
        let times: Vec<u64> = s.steps.iter().map(|s| s.at.ms()).collect();
        assert_eq!(times, vec![60_000, 90_000, 90_000, 120_000]);
        let e = parse_err(
            r#"{"seed":1,"profile":"acs","steps":[{"at":"2m","op":"list_threads"},{"at":"1m","op":"list_threads"}]}"#,
        );
        assert_eq!(e.path, "$.steps[1].at");
    }

    #[test]
    fn seed_override_stands_in_for_a_missing_seed() {
        let text = r#"{"profile":"acs","steps":[]}"#;
        assert_eq!(parse_err(text).path, "$.seed");
        assert_eq!(parse(text, Some(9)).unwrap().seed, Some(9));
    }

    /// A scenario on twilio with users a and b and `steps`.
    fn twilio(steps: &str) -> String {
        format!(r#"{{"seed":1,"profile":"twilio","users":["a","b"],"steps":[{steps}]}}"#)
    }

    #[test]
    fn as_names_a_declared_or_created_identity() {
        let ok = twilio(
            r#"{"as":"a","op":"list_threads"},
               {"op":"create_user","id":"c"},
               {"as":"c","op":"list_threads"}"#,
        );
        assert_eq!(
            parse(&ok, None).unwrap().steps[2].actor.as_deref(),
            Some("c")
        );
        let later = twilio(r#"{"as":"c","op":"list_threads"},{"op":"create_user","id":"c"}"#);
        assert_eq!(parse_err(&later).path, "$.steps[0].as");
    }

    #[test]
    fn an_inbound_step_may_act_as_a_participant_ref_and_no_other_step_may() {
        let create = r#"{"as":"a","op":"create_thread","topic":"x","ref":"t",
            "participants":[{"sms":"+14255550100","proxy":"+18005550199","ref":"dan"}]}"#;
        let inbound =
            r#"{"as":"dan","op":"inbound","channel":"sms","from":"dan","to":"+18005550199"}"#;
        assert!(parse(&twilio(&format!("{create},{inbound}")), None).is_ok());
        let send = r#"{"as":"dan","op":"send_message","thread":"t","content":"hi"}"#;
        let e = parse_err(&twilio(&format!("{create},{send}")));
        assert_eq!(e.path, "$.steps[1].as");
        assert!(e.message.contains("only in inbound steps"), "{e}");
        // Before the participant is named, its ref is nobody.
        assert_eq!(parse_err(&twilio(inbound)).path, "$.steps[0].as");
    }

    /// With a token, `as` is whoever presents it: the platform answers 401 for
    /// a token that is not theirs, so the file may name anyone.
    #[test]
    fn a_step_with_a_token_may_be_presented_by_anyone() {
        let text = twilio(
            r#"{"op":"issue_token","user":"a","scopes":["chat"],"ref":"tok"},
               {"as":"ghost","token":"tok","op":"list_threads"}"#,
        );
        assert!(parse(&text, None).is_ok());
    }

    #[test]
    fn an_outbox_filter_is_typed_when_read() {
        let text = twilio(
            r#"{"as":"a","op":"create_thread","topic":"x","ref":"t"},
               {"op":"outbox","to":"+14255550100","channel":"mms","status":"failed",
                "thread":"t","message":"m1"}"#,
        );
        let steps = parse(&text, None).unwrap().steps;
        let expected = Op::Outbox(OutboxQuery {
            to: Some("+14255550100".to_string()),
            channel: Some(Route::Mms),
            status: Some(Status::Failed),
            thread: Some(InThread {
                thread: "t".to_string(),
                message: Some("m1".to_string()),
            }),
        });
        assert_eq!(steps[1].op, expected);
        assert_eq!(steps[1].op_name, "outbox");
    }

    /// Of several problems in one step, the first in its key order is
    /// reported, unknown fields and bad ones alike; missing fields after them.
    #[test]
    fn the_first_problem_in_key_order_is_reported() {
        let step = |fields: &str| {
            parse_err(&twilio(&format!(
                r#"{{"as":"a","op":"send_message"{fields}}}"#
            )))
        };
        assert_eq!(step(r#","type":"md","colour":1"#).path, "$.steps[0].colour");
        assert_eq!(step(r#","type":"md","media":1"#).path, "$.steps[0].media");
        assert_eq!(step(r#","type":"md""#).path, "$.steps[0].type");
        assert_eq!(step("").path, "$.steps[0].thread");
        assert_eq!(step(r#","thread":"t1""#).path, "$.steps[0].content");
    }
}
