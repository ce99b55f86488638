//! Twilio Conversations' webhooks in the server mode: the configuration (the
//! account's `/v1/Configuration/Webhooks` and the service's
//! `/v1/Services/{ChatServiceSid}/Configuration/Webhooks`, one configuration,
//! as the account has one service), the signed calls, and their recording.
//!
//! The `Service` does no I/O: a webhook call goes through the [`Hooks`] the
//! caller hands it (`http` makes a real HTTP request to the loopback
//! receiver; tests answer with a fake). Every call and the status it got is
//! recorded as a `webhook` step, so the trace shows it and the recorded
//! session replays with `switchboard run` without the receiver: the answers
//! are inputs. A pre-event webhook that answers with a status outside 2xx
//! refuses the action; no answer at all (no receiver, a timeout) lets it
//! proceed.
//!
//! The signature is Twilio's `X-Twilio-Signature`: HMAC-SHA1 with the auth
//! token over the URL followed by each parameter's name and value, sorted by
//! name, in base64 (Twilio's "Webhooks security").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha1::Sha1;

use super::{Response, Service};
use crate::core::OutboxFilter;
use crate::id::{MessageId, ThreadId};
use crate::wire::twilio_rest::{Form, Member, Render, TwilioError};

/// A webhook call to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// `POST` or `GET`.
    pub method: String,
    /// The URL (with the parameters as its query for `GET`).
    pub url: String,
    /// Headers: the content type and `X-Twilio-Signature`.
    pub headers: Vec<(String, String)>,
    /// The form-encoded parameters (empty for `GET`).
    pub body: Vec<u8>,
}

/// Makes webhook calls: the answer's HTTP status, or 0 when none came.
pub trait Hooks {
    /// Calls the receiver and answers its status (0: no answer).
    fn deliver(&mut self, delivery: &Delivery) -> u16;
}

/// No receiver: every call goes unanswered (status 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn deliver(&mut self, _: &Delivery) -> u16 {
        0
    }
}

/// The webhook triggers Twilio's configuration takes (twilio-oai's
/// `Filters`): pre-event names end in the present tense.
pub const FILTERS: [&str; 23] = [
    "onMessageAdded",
    "onMessageUpdated",
    "onMessageRemoved",
    "onMessageAdd",
    "onMessageUpdate",
    "onMessageRemove",
    "onConversationUpdated",
    "onConversationRemoved",
    "onConversationAdd",
    "onConversationAdded",
    "onConversationRemove",
    "onConversationUpdate",
    "onConversationStateUpdated",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onParticipantAdd",
    "onParticipantRemove",
    "onParticipantUpdate",
    "onDeliveryUpdated",
    "onUserAdded",
    "onUserUpdate",
    "onUserUpdated",
];

/// The configured webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where pre-event calls go.
    pub pre_url: Option<String>,
    /// Where post-event calls go.
    pub post_url: Option<String>,
    /// The events that fire.
    pub filters: Vec<String>,
    /// `POST` or `GET`.
    pub method: String,
}

impl Default for WebhookConfig {
    fn default() -> WebhookConfig {
        WebhookConfig {
            pre_url: None,
            post_url: None,
            filters: Vec::new(),
            method: "POST".to_string(),
        }
    }
}

/// Before or after the action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before: the answer may refuse the action.
    Pre,
    /// After: the answer changes nothing.
    Post,
}

/// Why a webhook URL is refused, if it is: only `http://` to a loopback
/// host (`127.0.0.0/8`, `[::1]`, `localhost`) with an explicit port.
pub fn check_url(url: &str) -> Result<(), String> {
    let refuse = || {
        format!(
            "Webhook URL {} is not allowed: this simulator calls only http:// URLs on a loopback address with a port (127.0.0.1, [::1], localhost).",
            crate::scenario::quote(url)
        )
    };
    let rest = url.strip_prefix("http://").ok_or_else(refuse)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (host, port) = authority.rsplit_once(':').ok_or_else(refuse)?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(refuse)?;
    let loopback = host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback { Ok(()) } else { Err(refuse()) }
}

/// Twilio's `X-Twilio-Signature` of a call to `url` with `params`.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut text = url.to_string();
    for (k, v) in sorted {
        text.push_str(k);
        text.push_str(v);
    }
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(text.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `application/x-www-form-urlencoded` text of `params`.
pub fn form_encode(params: &[(String, String)]) -> String {
    let encode = |text: &str| {
        let mut out = String::new();
        for b in text.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Calls the webhook of `phase` for `event` if the configuration asks for
/// it, and records the call and its answer as a `webhook` step: the
/// receiver's status, or `None` when no webhook fires.
pub(super) fn fire(
    service: &mut Service,
    hooks: &mut dyn Hooks,
    phase: Phase,
    event: &str,
    source: &str,
    mut params: Vec<(String, String)>,
) -> Option<u16> {
    let config = &service.world.webhooks;
    let url = match phase {
        Phase::Pre => config.pre_url.clone(),
        Phase::Post => config.post_url.clone(),
    }?;
    if !config.filters.iter().any(|f| f == event) {
        return None;
    }
    let method = config.method.clone();
    let account = &service.twilio;
    params.splice(
        0..0,
        [
            ("AccountSid".to_string(), account.sid.clone()),
            ("ChatServiceSid".to_string(), account.service_sid.clone()),
            ("EventType".to_string(), event.to_string()),
            ("Source".to_string(), source.to_string()),
            ("RetryCount".to_string(), "0".to_string()),
        ],
    );
    let (target, body, signed) = if method == "GET" {
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}{}", form_encode(&params));
        let signed = signature(&account.auth_token, &full, &[]);
        (full, Vec::new(), signed)
    } else {
        let signed = signature(&account.auth_token, &url, &params);
        (url.clone(), form_encode(&params).into_bytes(), signed)
    };
    let delivery = Delivery {
        method,
        url: target,
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=utf-8".into(),
            ),
            ("x-twilio-signature".into(), signed),
            (
                "i-twilio-idempotency-token".into(),
                format!("{}-{event}", service.world.step_count()),
            ),
        ],
        body,
    };
    let status = hooks.deliver(&delivery);
    let mut step = Map::new();
    step.insert("op".into(), json!("webhook"));
    step.insert(
        "phase".into(),
        json!(if phase == Phase::Pre { "pre" } else { "post" }),
    );
    step.insert("event".into(), json!(event));
    step.insert("url".into(), json!(url));
    let map: Map<String, Value> = params.into_iter().map(|(k, v)| (k, json!(v))).collect();
    step.insert("params".into(), Value::Object(map));
    step.insert("status".into(), json!(status));
    // The step is well formed by construction; a refusal would only lose its line.
    let _ = service.world.step(step);
    Some(status)
}

/// A pre-event webhook's refusal: Twilio refuses the action when the
/// receiver answers outside 2xx; the caller gets a 403.
pub(super) fn refused_by(status: Option<u16>, event: &str) -> Option<TwilioError> {
    match status {
        Some(s) if s != 0 && !(200..300).contains(&s) => Some(TwilioError::new(
            403,
            20403,
            format!("The {event} pre-event webhook refused the action (it answered HTTP {s})."),
        )),
        _ => None,
    }
}

/// The configuration as the account's or the service's resource shows it.
pub(super) fn config_json(render: &Render<'_>, config: &WebhookConfig) -> Value {
    let mut out = json!({
        "account_sid": render.account.sid,
        "pre_webhook_url": config.pre_url,
        "post_webhook_url": config.post_url,
        "filters": config.filters,
        "method": config.method,
    });
    if render.service_scoped {
        out["chat_service_sid"] = json!(render.account.service_sid);
        out["url"] = json!(format!("{}/Configuration/Webhooks", render.prefix()));
    } else {
        out["target"] = json!("webhook");
        out["url"] = json!(format!("{}/v1/Configuration/Webhooks", render.base));
    }
    out
}

/// `POST …/Configuration/Webhooks`: the new configuration, or the 400.
pub(super) fn configure(
    current: &WebhookConfig,
    form: &Form,
    service_scoped: bool,
) -> Result<WebhookConfig, Response> {
    let bad = |e: TwilioError| Response::json(e.status, e.body());
    let mut known = vec!["PreWebhookUrl", "PostWebhookUrl", "Filters", "Method"];
    if !service_scoped {
        known.push("Target");
    }
    form.check_known(&known).map_err(bad)?;
    let mut config = current.clone();
    for (param, slot) in [
        ("PreWebhookUrl", &mut config.pre_url),
        ("PostWebhookUrl", &mut config.post_url),
    ] {
        if let Some(url) = form.get(param) {
            if url.is_empty() {
                *slot = None;
            } else {
                check_url(url).map_err(|m| bad(TwilioError::bad_request(&m)))?;
                *slot = Some(url.to_string());
            }
        }
    }
    let filters = form.all("Filters");
    if !filters.is_empty() {
        if let Some(f) = filters.iter().find(|f| !FILTERS.contains(f)) {
            return Err(bad(TwilioError::new(
                400,
                50365,
                format!(
                    "Invalid conversation webhook filter {}",
                    crate::scenario::quote(f)
                ),
            )));
        }
        config.filters = filters.iter().map(|f| f.to_string()).collect();
    }
    if let Some(method) = form.get("Method") {
        match method.to_ascii_uppercase().as_str() {
            m @ ("GET" | "POST") => config.method = m.to_string(),
            _ => {
                return Err(bad(TwilioError::bad_request("Method must be GET or POST.")));
            }
        }
    }
    if let Some(target) = form.get("Target")
        && target != "webhook"
    {
        return Err(bad(TwilioError::new(
            400,
            50364,
            "Invalid conversation webhook type: this simulator calls webhooks only (Target=webhook).",
        )));
    }
    Ok(config)
}

/// Where the trace is now: what a clock move or an inbound message adds
/// after it is what they made happen.
pub(super) fn watch(service: &Service) -> u64 {
    service.world.simulator().trace().len()
}

/// The post-event webhooks of what happened since the trace was at `before`
/// (a clock move, an inbound message): `onConversationStateUpdated` for
/// each state change (its `Reason` the simulator's, `TIMER`, `MESSAGE` or
/// `API`) and `onDeliveryUpdated` for each carrier receipt, each with the
/// virtual instant it happened at.
pub(super) fn trace_webhooks(service: &mut Service, hooks: &mut dyn Hooks, before: u64) {
    if service.world.webhooks.post_url.is_none() {
        return;
    }
    let sim = service.world.simulator();
    let skip = usize::try_from(before).unwrap_or(usize::MAX);
    let lines: Vec<Value> = sim
        .trace()
        .lines()
        .skip(skip)
        .filter_map(|line| serde_json::from_str(line).ok())
        .filter(|line: &Value| {
            matches!(
                line["kind"].as_str(),
                Some("state_changed" | "delivery_updated")
            )
        })
        .collect();
    if lines.is_empty() {
        return;
    }
    let deliveries: std::collections::BTreeMap<u64, crate::core::DeliveryView> = sim
        .outbox(&OutboxFilter::default())
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let render = Render {
        account: &service.twilio,
        epoch: service.epoch,
        base: "",
        service_scoped: false,
    };
    let time = |ms: u64| render.time(ms).as_str().unwrap_or("").to_string();
    let mut calls: Vec<(&str, Vec<(String, String)>)> = Vec::new();
    for line in &lines {
        let at = time(line["at_ms"].as_u64().unwrap_or(0));
        let text = |key: &str| line[key].as_str().unwrap_or("").to_string();
        if line["kind"] == "state_changed" {
            let Some(t) = ThreadId::parse(&text("thread")) else {
                continue;
            };
            let params = vec![
                (
                    "ConversationSid".to_string(),
                    service.twilio.conversation(t),
                ),
                ("StateFrom".to_string(), text("from")),
                ("StateTo".to_string(), text("to")),
                ("StateUpdated".to_string(), at),
                ("Reason".to_string(), text("reason").to_ascii_uppercase()),
            ];
            calls.push(("onConversationStateUpdated", params));
            continue;
        }
        let Some(d) = line["delivery"].as_u64().and_then(|id| deliveries.get(&id)) else {
            continue;
        };
        let sequence = d
            .message
            .as_deref()
            .and_then(|m| m.strip_prefix('m')?.parse().ok());
        let (Some(t), Some(sequence)) = (d.thread, sequence) else {
            continue;
        };
        let m = MessageId {
            thread: t,
            sequence,
        };
        let bare = d.to.trim_start_matches("whatsapp:");
        let channel = match d.channel {
            crate::rules::Route::Whatsapp => crate::rules::Channel::Whatsapp,
            crate::rules::Route::Sms | crate::rules::Route::Mms => crate::rules::Channel::Sms,
        };
        // The participant of that address on the delivery's channel: the
        // current one, else the latest (a number removed and added again).
        let participant = sim.state().thread(t).and_then(|th| {
            th.bindings
                .iter()
                .enumerate()
                .filter(|(_, b)| b.channel == channel && &*b.address == bare)
                .map(|(i, b)| (b.is_current(), i))
                .max()
                .map(|(_, i)| service.twilio.participant(t, Member::Binding(i as u32)))
        });
        let receipt = service.twilio.receipt(d.id);
        let code = line["code"].as_u64().unwrap_or(0);
        let mut params = vec![
            (
                "ConversationSid".to_string(),
                service.twilio.conversation(t),
            ),
            ("MessageSid".to_string(), service.twilio.message(m)),
            ("DeliveryReceiptSid".to_string(), receipt.clone()),
            (
                "ChannelMessageSid".to_string(),
                format!("SM{}", &receipt[2..]),
            ),
            ("Status".to_string(), text("status")),
            ("ErrorCode".to_string(), code.to_string()),
            ("DateUpdated".to_string(), at),
        ];
        if let Some(p) = participant {
            params.push(("ParticipantSid".to_string(), p));
        }
        calls.push(("onDeliveryUpdated", params));
    }
    for (event, params) in calls {
        fire(service, hooks, Phase::Post, event, "API", params);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_urls_with_a_port_are_taken() {
        for ok in [
            "http://127.0.0.1:8080/hook",
            "http://localhost:9/x?y=1",
            "http://[::1]:80",
            "http://127.9.9.9:1/",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "https://127.0.0.1:8080/hook",
            "http://example.com:80/",
            "http://10.0.0.1:80/",
            "http://127.0.0.1/",
            "http://127.0.0.1:0/",
            "http://127.0.0.1.example.com:80/",
            "ftp://127.0.0.1:21",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_signature_is_twilios_documented_example() {
        // Twilio's "Webhooks security" example: its URL, parameters and
        // token; the value twilio-python's RequestValidator computes.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }
}
