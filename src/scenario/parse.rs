//! Parsing and validating scenario files (SCENARIO.md). Every problem is
//! reported with the JSON path where it is, and nothing runs.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::core::Kind;
use crate::profile::{PROFILE_NAMES, Profile};
use crate::time::{Duration, Instant};

/// A problem in a scenario file, at a JSON path such as `$.steps[3].at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for ParseError {}

fn error(path: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        path: path.to_string(),
        message: message.into(),
    }
}

/// A parsed scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub profile: Profile,
    pub users: Vec<UserDecl>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDecl {
    pub id: String,
    pub display_name: Option<String>,
}

/// One step, with its absolute instant already computed.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub index: usize,
    pub at: Instant,
    pub actor: Option<String>,
    pub token: Option<String>,
    pub op: String,
    pub reference: Option<String>,
    /// The op's own fields, validated for shape by [`parse`].
    pub fields: Map<String, Value>,
    pub expect: Expect,
}

/// What a step expects; every given field must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub status: Option<u16>,
    pub ok: Option<bool>,
    pub error: Option<Kind>,
    pub result: Option<Value>,
    pub count: Option<u64>,
}

/// A field's expected JSON shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Str,
    Bool,
    UInt,
    Duration,
    Ref,
    Participants,
    Retention,
    StrList,
    Media,
    Metadata,
    State,
    Channel,
    ContentType,
    Timers,
}

/// The fields each op takes: (name, shape, required).
fn op_fields(op: &str) -> Option<&'static [(&'static str, Shape, bool)]> {
    use Shape::*;
    Some(match op {
        "create_user" => &[("id", Str, true), ("display_name", Str, false)],
        "delete_user" => &[("user", Str, true)],
        "issue_token" => &[
            ("user", Str, true),
            ("scopes", StrList, true),
            ("expires_in", Duration, false),
        ],
        "revoke_tokens" => &[("user", Str, true)],
        "create_thread" => &[
            ("topic", Str, true),
            ("participants", Participants, false),
            ("retention", Retention, false),
            ("idempotency_key", Str, false),
            ("metadata", Metadata, false),
            ("state", State, false),
            ("timers", Timers, false),
        ],
        "get_thread" | "delete_thread" | "send_typing" | "list_read_receipts"
        | "recover_thread" => &[("thread", Ref, true)],
        "list_threads" => &[("page_size", UInt, false), ("continuation", Str, false)],
        "update_thread" => &[
            ("thread", Ref, true),
            ("topic", Str, false),
            ("retention", Retention, false),
            ("state", State, false),
            ("timers", Timers, false),
        ],
        "add_participants" => &[("thread", Ref, true), ("participants", Participants, true)],
        "remove_participant" => &[("thread", Ref, true), ("participant", Str, true)],
        "list_participants" => &[
            ("thread", Ref, true),
            ("page_size", UInt, false),
            ("continuation", Str, false),
        ],
        "send_message" => &[
            ("thread", Ref, true),
            ("content", Str, true),
            ("type", ContentType, false),
            ("media", Media, false),
            ("metadata", Metadata, false),
            ("template", Str, false),
        ],
        "get_message" | "delete_message" | "send_read_receipt" => {
            &[("thread", Ref, true), ("message", Ref, true)]
        }
        "list_messages" => &[
            ("thread", Ref, true),
            ("page_size", UInt, false),
            ("start_time", Duration, false),
            ("continuation", Str, false),
        ],
        "update_message" => &[
            ("thread", Ref, true),
            ("message", Ref, true),
            ("content", Str, true),
        ],
        "inbound" => &[
            ("channel", Channel, true),
            ("from", Str, true),
            ("to", Str, true),
            ("body", Str, false),
            ("media", Media, false),
        ],
        "send_sms" => &[
            ("from", Str, true),
            ("to", StrList, true),
            ("message", Str, true),
            ("delivery_report", Bool, false),
        ],
        "set_state" => &[("thread", Ref, true), ("state", State, true)],
        "outbox" => &[
            ("to", Str, false),
            ("channel", Str, false),
            ("thread", Ref, false),
            ("status", Str, false),
            ("message", Ref, false),
        ],
        "inbox" => &[("user", Str, true)],
        _ => return None,
    })
}

/// Keys every step may carry besides its op's fields.
const STEP_KEYS: [&str; 6] = ["at", "as", "token", "op", "ref", "expect"];

/// Parses scenario text. `seed_override` stands in for a missing `seed`.
pub fn parse(text: &str, seed_override: Option<u64>) -> Result<Scenario, ParseError> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        error(
            "$",
            format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Value::Object(top) = &root else {
        return Err(error("$", "a scenario is a JSON object"));
    };
    for key in top.keys() {
        if !["name", "seed", "profile", "users", "steps"].contains(&key.as_str()) {
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
    let steps = parse_steps(top.get("steps"))?;
    Ok(Scenario {
        name,
        seed: seed_override.or(seed),
        profile,
        users,
        steps,
    })
}

fn parse_profile(value: Option<&Value>) -> Result<Profile, ParseError> {
    let named = |name: &str, path: &str| {
        Profile::named(name).ok_or_else(|| {
            error(
                path,
                format!(
                    "unknown profile {name:?} (this build knows: {})",
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
                format!("user {:?} is declared twice", user.id),
            ));
        }
        users.push(user);
    }
    Ok(users)
}

fn parse_steps(value: Option<&Value>) -> Result<Vec<Step>, ParseError> {
    let Some(Value::Array(items)) = value else {
        return Err(error("$.steps", "expected a list of steps"));
    };
    let mut steps = Vec::with_capacity(items.len());
    let mut clock = Instant::ZERO;
    let mut refs: BTreeMap<String, usize> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("$.steps[{index}]");
        let Value::Object(map) = item else {
            return Err(error(&path, "a step is a JSON object"));
        };
        let op = match map.get("op") {
            Some(Value::String(op)) => op.clone(),
            Some(_) => return Err(error(&format!("{path}.op"), "expected a string")),
            None => return Err(error(&format!("{path}.op"), "missing")),
        };
        let Some(spec) = op_fields(&op) else {
            return Err(error(&format!("{path}.op"), format!("unknown op {op:?}")));
        };
        let at = parse_at(map.get("at"), clock, &format!("{path}.at"))?;
        clock = at;
        let actor = optional_str(map, "as", &path)?;
        let token = optional_str(map, "token", &path)?;
        let reference = optional_str(map, "ref", &path)?;
        let mut fields = Map::new();
        for (key, value) in map {
            if STEP_KEYS.contains(&key.as_str()) {
                continue;
            }
            let Some((_, shape, _)) = spec.iter().find(|(name, _, _)| name == key) else {
                return Err(error(
                    &format!("{path}.{key}"),
                    format!("unknown field for op {op}"),
                ));
            };
            check_shape(value, *shape, &format!("{path}.{key}"), &refs)?;
            fields.insert(key.clone(), value.clone());
        }
        for (name, _, required) in spec {
            if *required && !map.contains_key(*name) {
                return Err(error(
                    &format!("{path}.{name}"),
                    format!("missing (required by op {op})"),
                ));
            }
        }
        if let Some(token) = &token
            && !refs.contains_key(token)
        {
            return Err(error(
                &format!("{path}.token"),
                format!("unknown token ref {token:?}"),
            ));
        }
        let expect = parse_expect(map.get("expect"), &format!("{path}.expect"))?;
        if let Some(name) = &reference
            && let Some(first) = refs.insert(name.clone(), index)
        {
            return Err(error(
                &format!("{path}.ref"),
                format!("ref {name:?} is already defined by step {first}"),
            ));
        }
        steps.push(Step {
            index,
            at,
            actor,
            token,
            op,
            reference,
            fields,
            expect,
        });
    }
    Ok(steps)
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

fn duration(text: &str, path: &str) -> Result<Duration, ParseError> {
    Duration::parse(text).map_err(|e| error(path, format!("bad duration {text:?}: {e}")))
}

fn check_shape(
    value: &Value,
    shape: Shape,
    path: &str,
    refs: &BTreeMap<String, usize>,
) -> Result<(), ParseError> {
    let ok = match shape {
        Shape::Str => value.is_string(),
        Shape::Bool => value.is_boolean(),
        Shape::UInt => value.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)),
        Shape::Duration => match value {
            Value::String(s) => {
                duration(s, path)?;
                true
            }
            v => v.is_u64(),
        },
        Shape::Ref => return check_ref(value, path, refs),
        Shape::StrList => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Shape::Participants => return check_participants(value, path),
        Shape::Retention => match value {
            Value::String(s) => s == "none",
            Value::Object(map) => {
                map.len() == 1
                    && match map.get("delete_after") {
                        Some(Value::String(s)) => {
                            duration(s, &format!("{path}.delete_after"))?;
                            true
                        }
                        _ => false,
                    }
            }
            _ => false,
        },
        Shape::Media => return check_media(value, path),
        Shape::Metadata => value
            .as_object()
            .is_some_and(|m| m.values().all(Value::is_string)),
        Shape::State => value
            .as_str()
            .is_some_and(|s| ["active", "inactive", "closed"].contains(&s)),
        Shape::Channel => value
            .as_str()
            .is_some_and(|s| s == "sms" || s == "whatsapp"),
        Shape::ContentType => value.as_str().is_some_and(|s| s == "text" || s == "html"),
        // The values are checked by the platform (Twilio's 50379), not here.
        Shape::Timers => value.as_object().is_some_and(|m| {
            !m.is_empty()
                && m.iter()
                    .all(|(k, v)| (k == "inactive" || k == "closed") && v.is_string())
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(error(path, format!("expected {}", shape_name(shape))))
    }
}

fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Str => "a string",
        Shape::Bool => "true or false",
        Shape::UInt => "a non-negative integer",
        Shape::Duration => "a duration such as \"90s\" or a number of ms",
        Shape::Ref => "a ref or an id",
        Shape::Participants => "a list of participants",
        Shape::Retention => "\"none\" or {\"delete_after\": \"30d\"}",
        Shape::StrList => "a list of strings",
        Shape::Media => "a list of media items",
        Shape::Metadata => "an object of string values",
        Shape::State => "\"active\", \"inactive\" or \"closed\"",
        Shape::Channel => "\"sms\" or \"whatsapp\"",
        Shape::ContentType => "\"text\" or \"html\"",
        Shape::Timers => "{\"inactive\"?: \"PT1M\", \"closed\"?: \"PT10M\"} (ISO-8601 durations)",
    }
}

/// A thread or message field: a ref defined by an earlier step, or an id.
fn check_ref(value: &Value, path: &str, refs: &BTreeMap<String, usize>) -> Result<(), ParseError> {
    let Value::String(text) = value else {
        return Err(error(path, "expected a ref or an id (a string)"));
    };
    let is_id =
        crate::id::ThreadId::parse(text).is_some() || crate::id::parse_message_id(text).is_some();
    if refs.contains_key(text) || is_id {
        Ok(())
    } else {
        Err(error(
            path,
            format!("{text:?} is neither a ref defined by an earlier step nor an id"),
        ))
    }
}

fn check_participants(value: &Value, path: &str) -> Result<(), ParseError> {
    let Value::Array(items) = value else {
        return Err(error(path, "expected a list of participants"));
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        match item {
            Value::String(s) if !s.is_empty() => {}
            Value::Object(map) => {
                let kinds = ["user", "sms", "whatsapp"]
                    .iter()
                    .filter(|k| map.contains_key(**k))
                    .count();
                if kinds != 1 {
                    return Err(error(
                        &path,
                        "a participant has exactly one of user, sms, whatsapp",
                    ));
                }
                for (key, v) in map {
                    let known = [
                        "user",
                        "display_name",
                        "share_history_from",
                        "sms",
                        "whatsapp",
                        "proxy",
                        "ref",
                    ];
                    if !known.contains(&key.as_str()) {
                        return Err(error(&format!("{path}.{key}"), "unknown field"));
                    }
                    let ok = if key == "share_history_from" {
                        match v {
                            Value::String(s) => {
                                duration(s, &format!("{path}.{key}"))?;
                                true
                            }
                            v => v.is_u64(),
                        }
                    } else {
                        v.as_str().is_some_and(|s| !s.is_empty())
                    };
                    if !ok {
                        return Err(error(
                            &format!("{path}.{key}"),
                            "expected a non-empty string",
                        ));
                    }
                }
            }
            _ => return Err(error(&path, "expected a user id or a participant object")),
        }
    }
    Ok(())
}

fn check_media(value: &Value, path: &str) -> Result<(), ParseError> {
    let Value::Array(items) = value else {
        return Err(error(path, "expected a list of media items"));
    };
    for (i, item) in items.iter().enumerate() {
        let path = format!("{path}[{i}]");
        let Value::Object(map) = item else {
            return Err(error(&path, "expected {content_type, bytes, name?}"));
        };
        for key in map.keys() {
            if !["content_type", "bytes", "name"].contains(&key.as_str()) {
                return Err(error(&format!("{path}.{key}"), "unknown field"));
            }
        }
        if !map.get("content_type").is_some_and(Value::is_string) {
            return Err(error(&format!("{path}.content_type"), "expected a string"));
        }
        if !map.get("bytes").is_some_and(Value::is_u64) {
            return Err(error(
                &format!("{path}.bytes"),
                "expected a non-negative integer",
            ));
        }
        if map.get("name").is_some_and(|v| !v.is_string()) {
            return Err(error(&format!("{path}.name"), "expected a string"));
        }
    }
    Ok(())
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
                        format!("unknown error kind {name:?} (see SCENARIO.md)"),
                    )
                })?);
            }
            "result" => expect.result = Some(v.clone()),
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
}
