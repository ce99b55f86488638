//! The control plane, `/_switchboard/…`: JSON in, JSON out, no auth (a
//! local test server). It moves the virtual clock (recorded as `advance`
//! steps), resets the world, takes and restores snapshots, feeds inbound
//! SMS/WhatsApp messages (recorded as `inbound` steps), and reads the trace,
//! the outbox, a user's notifications and the session as a scenario file.
//! Reads change nothing and count against no rate limit; ids are the wire
//! ids the SDKs saw.

use serde_json::{Map, Value, json};

use super::{Request, Response, Service, World};
use crate::core::OutboxFilter;
use crate::profile::Profile;
use crate::rules::{Route, Status};
use crate::scenario::{StepOutcome, quote};
use crate::time::{Duration, Instant};
use crate::wire::acs_rest::ids;
use crate::wire::acs_rest::request::{percent_decode, query_pairs};

/// A control-plane error: `{"error": {"code", "message"}}`.
fn error(status: u16, code: &str, message: impl Into<String>) -> Response {
    Response::json(
        status,
        json!({"error": {"code": code, "message": message.into()}}),
    )
}

fn not_found(req: &Request) -> Response {
    error(
        404,
        "NotFound",
        format!("No control-plane call answers {} {}.", req.method, req.path),
    )
}

/// Answers a control-plane request.
pub(super) fn handle(
    service: &mut Service,
    req: &Request,
    hooks: &mut dyn super::Hooks,
) -> Response {
    let segments = match req
        .path
        .trim_start_matches('/')
        .split('/')
        .skip(1)
        .map(percent_decode)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(s) => s,
        Err(m) => return error(400, "BadRequest", m),
    };
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let body = match body(req) {
        Ok(b) => b,
        Err(response) => return response,
    };
    match (req.method.as_str(), s.as_slice()) {
        ("GET", ["clock"]) => clock(service),
        ("POST", ["clock", "advance"]) => match duration(&body, "by") {
            Ok(by) => move_clock(service, service.world.now().after(by), hooks),
            Err(response) => response,
        },
        ("POST", ["clock", "set"]) => match duration(&body, "to") {
            Ok(to) => move_clock(service, Instant(to.ms()), hooks),
            Err(response) => response,
        },
        ("POST", ["reset"]) => reset(service, &body),
        ("POST", ["snapshots"]) => {
            service.snapshots_taken += 1;
            let id = format!("s{}", service.snapshots_taken);
            service.snapshots.insert(id.clone(), service.world.clone());
            Response::json(201, json!({ "id": id }))
        }
        ("POST", ["snapshots", id, "restore"]) => match service.snapshots.get(*id) {
            Some(world) => {
                service.world = world.clone();
                clock(service)
            }
            None => error(404, "NotFound", format!("No snapshot {}.", quote(id))),
        },
        ("GET", ["trace"]) => trace(service, req),
        ("GET", ["outbox"]) => outbox(service, req),
        ("GET", ["inbox", user]) => inbox(service, user),
        ("POST", ["inbound"]) => inbound(service, body, hooks),
        ("GET", ["scenario"]) => Response::json(200, service.world.scenario()),
        ("GET", ["credentials"]) => Response::json(200, service.credentials()),
        ("POST", ["shutdown"]) => {
            service.stopping = true;
            Response::json(202, json!({ "stopping": true }))
        }
        _ => not_found(req),
    }
}

/// The body as a JSON object (`{}` when empty).
fn body(req: &Request) -> Result<Map<String, Value>, Response> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error(400, "BadRequest", "The body must be a JSON object.")),
        Err(e) => Err(error(
            400,
            "BadRequest",
            format!("The body is not valid JSON: {e}."),
        )),
    }
}

/// A duration field: `"90s"`, `"1h30m"` or an integer of milliseconds.
fn duration(body: &Map<String, Value>, key: &str) -> Result<Duration, Response> {
    match body.get(key) {
        Some(Value::String(text)) => Duration::parse(text)
            .map_err(|e| error(400, "BadRequest", format!("{key}: {}: {e}", quote(text)))),
        Some(v) if v.as_u64().is_some() => Ok(Duration(v.as_u64().unwrap_or_default())),
        _ => Err(error(
            400,
            "BadRequest",
            format!("{key} is required: a duration such as \"90s\" or a number of ms."),
        )),
    }
}

fn clock(service: &Service) -> Response {
    let now = service.world.now();
    Response::json(
        200,
        json!({"now_ms": now.ms(), "now": service.epoch.rfc3339(now)}),
    )
}

fn move_clock(service: &mut Service, to: Instant, hooks: &mut dyn super::Hooks) -> Response {
    let now = service.world.now();
    if to < now {
        return error(
            409,
            "Conflict",
            format!(
                "The clock is at {} ms; it never goes back (asked for {} ms).",
                now.ms(),
                to.ms()
            ),
        );
    }
    let before = super::webhooks::watch(service);
    match service.world.advance_to(to) {
        Ok(()) => {
            if twilio(service) {
                super::webhooks::trace_webhooks(service, hooks, before);
            }
            clock(service)
        }
        Err(e) => error(400, "BadRequest", e.to_string()),
    }
}

fn reset(service: &mut Service, body: &Map<String, Value>) -> Response {
    let seed = match body.get("seed") {
        None => service.world.seed(),
        Some(v) => match v.as_u64() {
            Some(seed) => seed,
            None => return error(400, "BadRequest", "seed is an unsigned 64-bit integer."),
        },
    };
    let spec = body
        .get("profile")
        .cloned()
        .unwrap_or_else(|| service.world.profile_spec().clone());
    let profile = match profile(&spec) {
        Ok(p) => p,
        Err(m) => return error(400, "BadRequest", m),
    };
    if profile.name != service.settings.profile {
        return error(
            400,
            "BadRequest",
            format!(
                "This server serves the {} API; start another server for {}.",
                service.settings.profile, profile.name
            ),
        );
    }
    service.world = World::new(seed, profile, spec);
    clock(service)
}

/// A profile as scenario files give it: a name, or `{base, overrides}`.
fn profile(spec: &Value) -> Result<Profile, String> {
    let named = |name: &str| Profile::named(name).ok_or(format!("unknown profile {}", quote(name)));
    match spec {
        Value::String(name) => named(name),
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| *k != "base" && *k != "overrides") {
                return Err(format!(
                    "profile.{}: unknown field",
                    crate::core::api::error::cut(key, 64)
                ));
            }
            let base = named(
                map.get("base")
                    .and_then(Value::as_str)
                    .ok_or("profile.base is required: a profile name")?,
            )?;
            match map.get("overrides") {
                None => Ok(base),
                Some(overrides) => Profile::with_overrides(&base, overrides)
                    .map_err(|e| format!("profile.overrides: {e}")),
            }
        }
        _ => Err("profile is a name or {\"base\", \"overrides\"}".into()),
    }
}

/// Whether the server speaks Twilio (its ids are SIDs).
fn twilio(service: &Service) -> bool {
    service.settings.profile == "twilio"
}

/// A thread's wire id: a Twilio `CH…` SID, a Sendbird channel URL or an ACS
/// thread id.
fn wire_thread(service: &Service, t: crate::id::ThreadId) -> String {
    match service.settings.profile.as_str() {
        "twilio" => service.twilio.conversation(t),
        "sendbird" => super::sendbird::channel_url(service, t),
        _ => service.keys.resource.thread(t),
    }
}

/// A message's wire id (`m<seq>` in thread `t`): an `IM…` SID, Sendbird's
/// message id or ACS's decimal id.
fn wire_message(service: &Service, t: Option<crate::id::ThreadId>, core: &str) -> Option<Value> {
    match (service.settings.profile.as_str(), t) {
        ("twilio", Some(thread)) => {
            let sequence = crate::id::parse_message_id(core)?;
            Some(json!(
                service
                    .twilio
                    .message(crate::id::MessageId { thread, sequence })
            ))
        }
        ("sendbird", Some(thread)) => {
            let sequence = crate::id::parse_message_id(core)?;
            Some(json!(service.keys.app.message_id(thread, sequence)))
        }
        _ => ids::message_from_core(core).map(|m| json!(m)),
    }
}

/// The core's ids in a listing item become wire ids: `thread` and `message`.
fn wire_ids(service: &Service, mut item: Value) -> Value {
    let thread = item
        .get("thread")
        .and_then(Value::as_str)
        .and_then(crate::id::ThreadId::parse);
    if let Some(t) = thread {
        item["thread"] = json!(wire_thread(service, t));
    }
    let message = item
        .get("message")
        .and_then(Value::as_str)
        .and_then(|m| wire_message(service, thread, m));
    if let Some(m) = message {
        item["message"] = m;
    }
    item
}

/// The thread a wire id names: a Twilio `CH…` SID, a Sendbird channel URL or
/// an ACS thread id.
fn parse_wire_thread(service: &Service, wire: &str) -> Option<crate::id::ThreadId> {
    match service.settings.profile.as_str() {
        "twilio" => service.twilio.parse_conversation(wire),
        "sendbird" => super::sendbird::thread_of_url(service, wire),
        _ => service.keys.resource.parse_thread(wire),
    }
}

/// The trace so far; with `inputs=true`, the recording's inputs line first,
/// so that `switchboard replay` re-executes it.
fn trace(service: &Service, req: &Request) -> Response {
    let pairs = match query_pairs(req.query.as_deref()) {
        Ok(p) => p,
        Err(e) => return Response::json(e.status, e.body()),
    };
    let inputs = pairs.iter().any(|(k, v)| k == "inputs" && v == "true");
    let mut lines = Vec::new();
    if inputs {
        let recording = service.world.scenario().to_string();
        match crate::research::replay::inputs_line(&recording, false) {
            Ok(line) => lines.push(line),
            Err(e) => return error(500, "InternalError", e),
        }
    }
    lines.extend(service.world.trace_lines());
    let mut text = lines.join("\n");
    text.push('\n');
    Response::text(200, "application/x-ndjson; charset=utf-8", text)
}

fn outbox(service: &Service, req: &Request) -> Response {
    let pairs = match query_pairs(req.query.as_deref()) {
        Ok(p) => p,
        Err(e) => return Response::json(e.status, e.body()),
    };
    let mut filter = OutboxFilter::default();
    for (key, value) in pairs {
        match key.as_str() {
            "to" => filter.to = Some(value.as_str().into()),
            "channel" => {
                let route = [Route::Sms, Route::Mms, Route::Whatsapp]
                    .into_iter()
                    .find(|r| r.name() == value);
                match route {
                    Some(r) => filter.channel = Some(r),
                    None => {
                        return error(
                            400,
                            "BadRequest",
                            format!("channel {} is not sms, mms or whatsapp.", quote(&value)),
                        );
                    }
                }
            }
            "status" => match Status::from_name(&value) {
                Some(s) => filter.status = Some(s),
                None => {
                    return error(
                        400,
                        "BadRequest",
                        format!("status {} is not a delivery status.", quote(&value)),
                    );
                }
            },
            "thread" => match parse_wire_thread(service, &value) {
                Some(t) => filter.thread = Some(t),
                None => {
                    return error(
                        404,
                        "NotFound",
                        format!("Thread {} not found.", quote(&value)),
                    );
                }
            },
            other => {
                return error(
                    400,
                    "BadRequest",
                    format!("Unknown outbox filter {}.", quote(other)),
                );
            }
        }
    }
    let items: Vec<Value> = service
        .world
        .simulator()
        .outbox(&filter)
        .iter()
        .map(|d| {
            wire_ids(
                service,
                serde_json::to_value(d).expect("deliveries serialize"),
            )
        })
        .collect();
    Response::json(200, json!({ "items": items }))
}

fn inbox(service: &Service, user: &str) -> Response {
    let Some(id) = service.world.user(user) else {
        return error(404, "NotFound", format!("User {} not found.", quote(user)));
    };
    let items: Vec<Value> = service
        .world
        .simulator()
        .inbox(id)
        .iter()
        .map(|n| {
            wire_ids(
                service,
                serde_json::to_value(n).expect("notifications serialize"),
            )
        })
        .collect();
    Response::json(200, json!({ "items": items }))
}

/// The live conversation that holds the binding `from` talks through `to`
/// on `channel` (`sms` or `whatsapp`), now.
fn conversation_of(
    service: &Service,
    channel: &str,
    from: &str,
    to: &str,
) -> Option<crate::id::ThreadId> {
    let bare = |a: &str| a.trim_start_matches("whatsapp:").to_string();
    let (from, to) = (bare(from), bare(to));
    let sim = service.world.simulator();
    sim.inspect().threads().iter().map(|v| v.id).find(|t| {
        sim.state().thread(*t).is_some_and(|th| {
            th.bindings.iter().any(|b| {
                b.is_current()
                    && b.channel.name() == channel
                    && *b.address == from
                    && bare(&b.proxy) == to
            })
        })
    })
}

fn inbound(
    service: &mut Service,
    body: Map<String, Value>,
    hooks: &mut dyn super::Hooks,
) -> Response {
    let text = |key: &str| {
        body.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (channel, from, to) = (text("channel"), text("from"), text("to"));
    let before = super::webhooks::watch(service);
    let mut fields = Map::new();
    fields.insert("op".into(), json!("inbound"));
    for (key, value) in body {
        fields.insert(key, value);
    }
    match service.world.step(fields) {
        Err(e) => error(400, "BadRequest", e.to_string()),
        Ok(StepOutcome::Reply { status, reply }) => {
            let mut value = crate::wire::reply_json(&reply);
            let thread = if twilio(service) {
                conversation_of(service, &channel, &from, &to)
            } else {
                None
            };
            if let Some(m) = value
                .get("id")
                .and_then(Value::as_str)
                .and_then(|m| wire_message(service, thread, m))
            {
                value["id"] = json!(m);
            }
            if let Some(t) = thread {
                value["thread"] = json!(wire_thread(service, t));
                inbound_webhook(service, hooks, t, &reply, &from);
                // A message wakes an inactive conversation.
                super::webhooks::trace_webhooks(service, hooks, before);
            }
            Response::json(status, value)
        }
        Ok(StepOutcome::Refused(e)) if service.settings.profile == "sendbird" => {
            super::sendbird::refusal(service, &e)
        }
        Ok(StepOutcome::Refused(e)) if twilio(service) => super::twilio::refusal(&e),
        Ok(StepOutcome::Refused(e)) => {
            let render = service.render();
            super::acs::refusal(&render, &e, None, None)
        }
        Ok(_) => Response::empty(204),
    }
}

/// The post-event `onMessageAdded` of an inbound message (Source `SMS` or
/// `WHATSAPP`): inbound messages fire webhooks as Twilio's channels do.
fn inbound_webhook(
    service: &mut Service,
    hooks: &mut dyn super::Hooks,
    t: crate::id::ThreadId,
    reply: &crate::core::Reply,
    from: &str,
) {
    let crate::core::Reply::MessageSent { sequence } = reply else {
        return;
    };
    let view = service
        .world
        .simulator()
        .inspect()
        .messages(t)
        .and_then(|all| all.into_iter().find(|v| v.sequence_id == *sequence));
    if let Some(view) = view {
        let params = super::twilio::message_params(service, t, &view);
        let source = if from.starts_with("whatsapp:") {
            "WHATSAPP"
        } else {
            "SMS"
        };
        super::webhooks::fire(
            service,
            hooks,
            super::webhooks::Phase::Post,
            "onMessageAdded",
            source,
            params,
        );
    }
}
