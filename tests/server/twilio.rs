//! Twilio Conversations v1 over the server, tested without the SDK: form
//! bodies made by hand with HTTP Basic credentials go to the synchronous
//! `Service`. Checked here: every resource's shape against twilio-oai's
//! schema (the exact set of fields), SIDs, auth (20003), `meta` paging
//! followed to the end in both orders, Twilio's error codes (20404, 50433,
//! 50416, 50417, 50377, 20429 with `Retry-After`), timers on the virtual
//! clock, inbound SMS through the control plane, the delivery summary moving
//! with carrier receipts, the same bytes for the same requests, and the
//! recording replaying to the server's trace.

use base64::Engine as _;
use serde_json::{Value, json};

use switchboard::scenario;
use switchboard::server::{Request, Response, Service, Settings};
use switchboard::wire::calendar::Epoch;

const HOST: &str = "127.0.0.1:9";

fn service(seed: u64) -> Service {
    Service::new(Settings {
        seed,
        profile: "twilio".into(),
        epoch: Epoch::default(),
        scheme: "http",
        authority: HOST.into(),
    })
    .unwrap()
}

fn basic(svc: &Service) -> String {
    let a = svc.twilio_account();
    let text = format!("{}:{}", a.sid, a.auth_token);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    switchboard::server::webhooks::form_encode(&pairs).into_bytes()
}

fn raw(auth: Option<&str>, method: &str, target: &str, body: Vec<u8>) -> Request {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut headers = vec![("host".to_string(), HOST.to_string())];
    if let Some(auth) = auth {
        headers.push(("authorization".into(), auth.to_string()));
    }
    if !body.is_empty() {
        headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    Request {
        method: method.into(),
        path,
        query,
        headers,
        body,
    }
}

/// A request with the account's credentials; `target` may be a full URL of the server.
fn call(svc: &mut Service, method: &str, target: &str, pairs: &[(&str, &str)]) -> Response {
    let target = target
        .strip_prefix(&format!("http://{HOST}"))
        .unwrap_or(target);
    let auth = basic(svc);
    svc.handle(&raw(Some(&auth), method, target, form(pairs)))
}

fn ok(r: &Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn error_code(r: &Response) -> (u16, u64) {
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["status"], r.status, "{v}");
    assert_eq!(
        v["more_info"],
        format!("https://www.twilio.com/docs/errors/{}", v["code"])
    );
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    (r.status, v["code"].as_u64().unwrap())
}

fn control(svc: &mut Service, method: &str, path: &str, body: Value) -> Value {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let r = svc.handle(&Request {
        method: method.into(),
        path: format!("/_switchboard/{path}"),
        query: None,
        headers: vec![("host".into(), HOST.into())],
        body,
    });
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn sorted<'a>(list: &[&'a str]) -> Vec<&'a str> {
    let mut l = list.to_vec();
    l.sort_unstable();
    l
}

/// The fields of each resource in twilio-oai's `twilio_conversations_v1.json`.
const CONVERSATION: &[&str] = &[
    "account_sid",
    "chat_service_sid",
    "messaging_service_sid",
    "sid",
    "friendly_name",
    "unique_name",
    "attributes",
    "state",
    "date_created",
    "date_updated",
    "timers",
    "url",
    "links",
    "bindings",
];
const PARTICIPANT: &[&str] = &[
    "account_sid",
    "conversation_sid",
    "sid",
    "identity",
    "attributes",
    "messaging_binding",
    "role_sid",
    "date_created",
    "date_updated",
    "url",
    "last_read_message_index",
    "last_read_timestamp",
];
const MESSAGE: &[&str] = &[
    "account_sid",
    "conversation_sid",
    "sid",
    "index",
    "author",
    "body",
    "media",
    "attributes",
    "participant_sid",
    "date_created",
    "date_updated",
    "url",
    "delivery",
    "links",
    "content_sid",
];
const USER: &[&str] = &[
    "sid",
    "account_sid",
    "chat_service_sid",
    "role_sid",
    "identity",
    "friendly_name",
    "attributes",
    "is_online",
    "is_notifiable",
    "date_created",
    "date_updated",
    "url",
    "links",
];
const RECEIPT: &[&str] = &[
    "account_sid",
    "conversation_sid",
    "sid",
    "message_sid",
    "channel_message_sid",
    "participant_sid",
    "status",
    "error_code",
    "date_created",
    "date_updated",
    "url",
];

fn is_sid(v: &Value, prefix: &str) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 34
            && s.starts_with(prefix)
            && s[2..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Adds the SMS participant +14255550100 (through +18005550199) to conversation path `c`.
fn sms_participant(svc: &mut Service, c: &str) -> Value {
    let binding = [
        ("MessagingBinding.Address", "+14255550100"),
        ("MessagingBinding.ProxyAddress", "+18005550199"),
    ];
    ok(
        &call(svc, "POST", &format!("{c}/Participants"), &binding),
        201,
    )
}

fn conversation(svc: &mut Service, name: &str) -> String {
    let v = ok(
        &call(svc, "POST", "/v1/Conversations", &[("FriendlyName", name)]),
        201,
    );
    v["sid"].as_str().unwrap().to_string()
}

/// Follows `meta.next_page_url` from `first` to the end: every page's items.
fn all_pages(svc: &mut Service, first: &str, key: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut url = Some(first.to_string());
    while let Some(next) = url {
        let v = ok(&call(svc, "GET", &next, &[]), 200);
        assert_eq!(v["meta"]["key"], key);
        assert!(
            v["meta"]["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("http://{HOST}/v1/"))
        );
        assert_eq!(v["meta"]["page"], pages.len());
        assert_eq!(v["meta"]["previous_page_url"].is_null(), pages.is_empty());
        pages.push(v[key].as_array().unwrap().clone());
        url = v["meta"]["next_page_url"].as_str().map(str::to_string);
        assert!(pages.len() < 100, "paging does not end");
    }
    pages
}

/// A session of every operation, returning every response.
fn session(svc: &mut Service) -> Vec<Response> {
    let mut out = Vec::new();
    let ch = conversation(svc, "Order 1042");
    let c = format!("/v1/Conversations/{ch}");
    out.push(call(svc, "GET", &c, &[]));
    out.push(call(
        svc,
        "POST",
        &c,
        &[("FriendlyName", "Order 1042 (rush)")],
    ));
    out.push(call(
        svc,
        "POST",
        &format!("{c}/Participants"),
        &[("Identity", "ana")],
    ));
    out.push(call(
        svc,
        "POST",
        &format!("{c}/Participants"),
        &[
            ("MessagingBinding.Address", "+14255550100"),
            ("MessagingBinding.ProxyAddress", "+18005550199"),
        ],
    ));
    for i in 0..3 {
        out.push(call(
            svc,
            "POST",
            &format!("{c}/Messages"),
            &[("Author", "ana"), ("Body", &format!("hello {i}"))],
        ));
    }
    out.push(call(svc, "GET", &format!("{c}/Messages?PageSize=2"), &[]));
    out.push(call(svc, "GET", &format!("{c}/Participants"), &[]));
    control(svc, "POST", "clock/advance", json!({"by": "30s"}));
    out.push(call(svc, "GET", &format!("{c}/Messages?Order=desc"), &[]));
    out.push(call(svc, "GET", "/v1/Users", &[]));
    out
}

#[test]
fn every_operation_answers_in_twilio_shapes() {
    let mut svc = service(1);
    let account = svc.twilio_account().clone();
    // Conversations: create, fetch, update, list.
    let v = ok(
        &call(
            &mut svc,
            "POST",
            "/v1/Conversations",
            &[
                ("FriendlyName", "Order 1042"),
                ("State", "active"),
                ("Timers.Inactive", "PT5M"),
                ("Timers.Closed", "PT1H"),
            ],
        ),
        201,
    );
    assert_eq!(keys(&v), sorted(CONVERSATION));
    assert!(is_sid(&v["sid"], "CH"));
    assert_eq!(v["account_sid"], account.sid);
    assert_eq!(v["chat_service_sid"], account.service_sid);
    assert_eq!(v["friendly_name"], "Order 1042");
    assert_eq!(v["state"], "active");
    assert_eq!(v["date_created"], "2026-01-01T00:00:00Z");
    assert_eq!(v["timers"]["date_inactive"], "2026-01-01T00:05:00Z");
    assert_eq!(v["timers"]["date_closed"], "2026-01-01T01:00:00Z");
    let ch = v["sid"].as_str().unwrap().to_string();
    let c = format!("/v1/Conversations/{ch}");
    assert_eq!(v["url"], format!("http://{HOST}{c}"));
    assert_eq!(v["links"]["messages"], format!("http://{HOST}{c}/Messages"));
    assert_eq!(ok(&call(&mut svc, "GET", &c, &[]), 200), v);
    let v = ok(
        &call(
            &mut svc,
            "POST",
            &c,
            &[("FriendlyName", "Rush"), ("State", "inactive")],
        ),
        200,
    );
    assert_eq!(
        (v["friendly_name"].as_str(), v["state"].as_str()),
        (Some("Rush"), Some("inactive"))
    );
    let list = ok(&call(&mut svc, "GET", "/v1/Conversations", &[]), 200);
    assert_eq!(list["conversations"][0]["sid"], ch.as_str());
    // The service-scoped path answers the same conversation, with its URLs.
    let scoped = format!("/v1/Services/{}/Conversations/{ch}", account.service_sid);
    let v = ok(&call(&mut svc, "GET", &scoped, &[]), 200);
    assert_eq!(v["url"], format!("http://{HOST}{scoped}"));
    let other = format!("/v1/Services/IS{}/Conversations/{ch}", "0".repeat(32));
    assert_eq!(
        error_code(&call(&mut svc, "GET", &other, &[])),
        (404, 20404)
    );

    // Participants: chat by identity, SMS and WhatsApp by binding.
    let p = format!("{c}/Participants");
    let ana = ok(&call(&mut svc, "POST", &p, &[("Identity", "ana")]), 201);
    assert_eq!(keys(&ana), sorted(PARTICIPANT));
    assert!(is_sid(&ana["sid"], "MB"));
    assert_eq!(ana["identity"], "ana");
    assert_eq!(ana["messaging_binding"], Value::Null);
    let sms = ok(
        &call(
            &mut svc,
            "POST",
            &p,
            &[
                ("MessagingBinding.Address", "+14255550100"),
                ("MessagingBinding.ProxyAddress", "+18005550199"),
            ],
        ),
        201,
    );
    assert_eq!(
        sms["messaging_binding"],
        json!({"type": "sms", "address": "+14255550100", "proxy_address": "+18005550199"})
    );
    let wa = ok(
        &call(
            &mut svc,
            "POST",
            &p,
            &[
                ("MessagingBinding.Address", "whatsapp:+14255550101"),
                ("MessagingBinding.ProxyAddress", "whatsapp:+18005550199"),
            ],
        ),
        201,
    );
    assert_eq!(wa["messaging_binding"]["type"], "whatsapp");
    assert_eq!(wa["messaging_binding"]["address"], "whatsapp:+14255550101");
    let listed = ok(&call(&mut svc, "GET", &p, &[]), 200);
    let sids: Vec<&Value> = listed["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["sid"])
        .collect();
    assert_eq!(sids, [&ana["sid"], &sms["sid"], &wa["sid"]]);
    let ana_url = format!("{p}/{}", ana["sid"].as_str().unwrap());
    assert_eq!(ok(&call(&mut svc, "GET", &ana_url, &[]), 200), ana);

    // Messages: create as an identity and as the service, fetch, list, update, delete.
    let m = format!("{c}/Messages");
    let hello = ok(
        &call(
            &mut svc,
            "POST",
            &m,
            &[("Author", "ana"), ("Body", "Hello!")],
        ),
        201,
    );
    assert_eq!(keys(&hello), sorted(MESSAGE));
    assert!(is_sid(&hello["sid"], "IM"));
    assert_eq!(hello["author"], "ana");
    assert_eq!(hello["participant_sid"], ana["sid"]);
    assert_eq!(hello["body"], "Hello!");
    // Two SMS/WhatsApp participants: the delivery summary counts both.
    assert_eq!(hello["delivery"]["total"], 2);
    let system = ok(
        &call(
            &mut svc,
            "POST",
            &m,
            &[
                ("Body", "Your order shipped"),
                ("Attributes", r#"{"order":"1042"}"#),
            ],
        ),
        201,
    );
    assert_eq!(system["author"], "system");
    assert_eq!(system["participant_sid"], Value::Null);
    assert_eq!(system["attributes"], r#"{"order":"1042"}"#);
    assert!(system["index"].as_u64() > hello["index"].as_u64());
    let hello_url = format!("{m}/{}", hello["sid"].as_str().unwrap());
    assert_eq!(ok(&call(&mut svc, "GET", &hello_url, &[]), 200), hello);
    let edited = ok(
        &call(&mut svc, "POST", &hello_url, &[("Body", "Hello again")]),
        200,
    );
    assert_eq!(edited["body"], "Hello again");
    let receipts = ok(
        &call(&mut svc, "GET", &format!("{hello_url}/Receipts"), &[]),
        200,
    );
    let first = &receipts["delivery_receipts"][0];
    assert_eq!(keys(first), sorted(RECEIPT));
    assert!(is_sid(&first["sid"], "DY"));
    assert_eq!(first["participant_sid"], sms["sid"]);
    let receipt_url = format!("{hello_url}/Receipts/{}", first["sid"].as_str().unwrap());
    assert_eq!(&ok(&call(&mut svc, "GET", &receipt_url, &[]), 200), first);
    assert_eq!(call(&mut svc, "DELETE", &hello_url, &[]).status, 204);
    assert_eq!(
        error_code(&call(&mut svc, "GET", &hello_url, &[])),
        (404, 20404)
    );
    let listed = ok(&call(&mut svc, "GET", &m, &[]), 200);
    assert_eq!(listed["messages"].as_array().unwrap().len(), 1);

    // A participant's read horizon, then its removal.
    let read = ok(
        &call(
            &mut svc,
            "POST",
            &ana_url,
            &[("LastReadMessageIndex", &system["index"].to_string())],
        ),
        200,
    );
    assert_eq!(read["last_read_message_index"], system["index"]);
    assert_eq!(call(&mut svc, "DELETE", &ana_url, &[]).status, 204);
    assert_eq!(
        error_code(&call(&mut svc, "GET", &ana_url, &[])),
        (404, 20404)
    );
    let sms_url = format!("{p}/{}", sms["sid"].as_str().unwrap());
    assert_eq!(call(&mut svc, "DELETE", &sms_url, &[]).status, 204);

    // Users: created by a participant's identity and by the API; fetched by SID or identity.
    let bo = ok(
        &call(
            &mut svc,
            "POST",
            "/v1/Users",
            &[("Identity", "bo"), ("FriendlyName", "Bo")],
        ),
        201,
    );
    assert_eq!(keys(&bo), sorted(USER));
    assert!(is_sid(&bo["sid"], "US"));
    assert_eq!(bo["friendly_name"], "Bo");
    let by_sid = format!("/v1/Users/{}", bo["sid"].as_str().unwrap());
    assert_eq!(ok(&call(&mut svc, "GET", &by_sid, &[]), 200), bo);
    assert_eq!(ok(&call(&mut svc, "GET", "/v1/Users/bo", &[]), 200), bo);
    let users = ok(&call(&mut svc, "GET", "/v1/Users", &[]), 200);
    let identities: Vec<&Value> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["identity"])
        .collect();
    assert_eq!(identities, [&json!("ana"), &json!("bo")]);
    assert_eq!(call(&mut svc, "DELETE", &by_sid, &[]).status, 204);
    assert_eq!(
        error_code(&call(&mut svc, "GET", &by_sid, &[])),
        (404, 20404)
    );

    // Delete the conversation: gone.
    assert_eq!(call(&mut svc, "DELETE", &c, &[]).status, 204);
    assert_eq!(error_code(&call(&mut svc, "GET", &c, &[])), (404, 20404));
}

#[test]
fn basic_auth_with_the_seeds_credentials_is_required() {
    let mut svc = service(2);
    let before = svc.world().step_count();
    let wrong = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            svc.twilio_account().sid,
            "0".repeat(32)
        ))
    );
    for auth in [
        None,
        Some("Bearer x"),
        Some("Basic !!!"),
        Some(wrong.as_str()),
    ] {
        let r = svc.handle(&raw(auth, "GET", "/v1/Conversations", Vec::new()));
        assert_eq!(error_code(&r), (401, 20003));
    }
    assert_eq!(svc.world().step_count(), before);
    // Another seed's account is another account.
    let other = service(3);
    assert_ne!(svc.twilio_account().sid, other.twilio_account().sid);
    assert_ne!(
        svc.twilio_account().auth_token,
        other.twilio_account().auth_token
    );
}

#[test]
fn paging_follows_next_page_url_through_every_page_in_both_orders() {
    let mut svc = service(4);
    let ch = conversation(&mut svc, "paging");
    let m = format!("/v1/Conversations/{ch}/Messages");
    for i in 0..7 {
        ok(
            &call(&mut svc, "POST", &m, &[("Body", &format!("m{i}"))]),
            201,
        );
    }
    let bodies = |pages: &[Vec<Value>]| -> Vec<Vec<String>> {
        pages
            .iter()
            .map(|p| {
                p.iter()
                    .map(|x| x["body"].as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    };
    let asc = all_pages(&mut svc, &format!("{m}?PageSize=3"), "messages");
    assert_eq!(
        bodies(&asc),
        [vec!["m0", "m1", "m2"], vec!["m3", "m4", "m5"], vec!["m6"]]
    );
    let desc = all_pages(&mut svc, &format!("{m}?PageSize=3&Order=desc"), "messages");
    assert_eq!(
        bodies(&desc),
        [vec!["m6", "m5", "m4"], vec!["m3", "m2", "m1"], vec!["m0"]]
    );
    for _ in 0..4 {
        conversation(&mut svc, "more");
    }
    let conversations = all_pages(&mut svc, "/v1/Conversations?PageSize=2", "conversations");
    assert_eq!(
        conversations.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    // The profile's page-size bound holds over the wire.
    let r = call(&mut svc, "GET", &format!("{m}?PageSize=101"), &[]);
    assert_eq!(r.status, 400);
    // The largest page number with a token that starts at 0: no overflow.
    let r = call(
        &mut svc,
        "GET",
        &format!("{m}?PageSize=1&Page=4294967295&PageToken=PT0"),
        &[],
    );
    assert_eq!(ok(&r, 200)["messages"].as_array().unwrap().len(), 1);
    let r = call(&mut svc, "GET", &format!("{m}?PageToken=nope"), &[]);
    assert_eq!(error_code(&r), (400, 20001));
}

#[test]
fn the_profiles_rules_answer_with_twilios_codes() {
    let mut svc = service(5);
    let ch = conversation(&mut svc, "rules");
    let p = format!("/v1/Conversations/{ch}/Participants");
    let ana = ok(&call(&mut svc, "POST", &p, &[("Identity", "ana")]), 201);
    assert_eq!(
        error_code(&call(&mut svc, "POST", &p, &[("Identity", "ana")])),
        (409, 50433)
    );
    // A read horizon at the largest index names no message the scenario format
    // can spell: a 400, not an overflow.
    let ana_url = format!("{p}/{}", ana["sid"].as_str().unwrap());
    let r = call(
        &mut svc,
        "POST",
        &ana_url,
        &[("LastReadMessageIndex", "4294967295")],
    );
    assert_eq!(error_code(&r), (400, 20001));
    let binding = [
        ("MessagingBinding.Address", "+14255550100"),
        ("MessagingBinding.ProxyAddress", "+18005550199"),
    ];
    ok(&call(&mut svc, "POST", &p, &binding), 201);
    // The same binding in a second conversation: 50416.
    let other = conversation(&mut svc, "other");
    let r = call(
        &mut svc,
        "POST",
        &format!("/v1/Conversations/{other}/Participants"),
        &binding,
    );
    assert_eq!(error_code(&r), (409, 50416));
    // 30 actions a second per conversation: the 31st is 20429 with Retry-After.
    control(&mut svc, "POST", "clock/advance", json!({"by": "1s"}));
    let m = format!("/v1/Conversations/{ch}/Messages");
    for i in 0..30 {
        ok(
            &call(&mut svc, "POST", &m, &[("Body", &format!("{i}"))]),
            201,
        );
    }
    let r = call(&mut svc, "POST", &m, &[("Body", "one too many")]);
    assert_eq!(error_code(&r), (429, 20429));
    assert_eq!(r.header("retry-after"), Some("1"));
    // A closed conversation takes no messages: 50377.
    control(&mut svc, "POST", "clock/advance", json!({"by": "1s"}));
    let c = format!("/v1/Conversations/{ch}");
    ok(&call(&mut svc, "POST", &c, &[("State", "closed")]), 200);
    assert_eq!(
        error_code(&call(&mut svc, "POST", &m, &[("Body", "late")])),
        (409, 50377)
    );
    // Timers below Twilio's minimum: 50375.
    let r = call(
        &mut svc,
        "POST",
        "/v1/Conversations",
        &[("State", "active"), ("Timers.Inactive", "PT30S")],
    );
    assert_eq!(error_code(&r), (400, 50375));
    // More SMS participants than the profile allows: 50417.
    let spec =
        json!({"profile": {"base": "twilio", "overrides": {"non_chat.participants_max": 1}}});
    control(&mut svc, "POST", "reset", spec);
    let ch = conversation(&mut svc, "cap");
    let p = format!("/v1/Conversations/{ch}/Participants");
    ok(&call(&mut svc, "POST", &p, &binding), 201);
    let second = [
        ("MessagingBinding.Address", "+14255550102"),
        ("MessagingBinding.ProxyAddress", "+18005550198"),
    ];
    assert_eq!(
        error_code(&call(&mut svc, "POST", &p, &second)),
        (400, 50417)
    );
}

#[test]
fn malformed_requests_are_refused_at_the_door_and_change_nothing() {
    let mut svc = service(6);
    let ch = conversation(&mut svc, "door");
    let c = format!("/v1/Conversations/{ch}");
    let before = (svc.world().step_count(), svc.world().trace_lines());
    let auth = basic(&svc);
    let door = |method: &str, target: &str, body: Vec<u8>| raw(Some(&auth), method, target, body);
    let messages = format!("{c}/Messages");
    let participants = format!("{c}/Participants");
    let cases: Vec<(Request, u16, u64)> = vec![
        (door("GET", "/v1/Nope", Vec::new()), 404, 20404),
        (
            door("GET", "/v1/Conversations/CHzz", Vec::new()),
            404,
            20404,
        ),
        (door("GET", "/v2/Conversations", Vec::new()), 404, 20404),
        (
            door("POST", "/v1/Conversations", form(&[("Bogus", "1")])),
            400,
            20001,
        ),
        (
            door("POST", "/v1/Conversations", form(&[("UniqueName", "u")])),
            400,
            20001,
        ),
        (
            door("POST", "/v1/Conversations", b"Body=%zz".to_vec()),
            400,
            20001,
        ),
        (door("PUT", &c, Vec::new()), 405, 20004),
        (
            door("POST", &messages, form(&[("Author", "nobody")])),
            400,
            20001,
        ),
        (
            door("POST", &participants, form(&[("Identity", "system")])),
            400,
            20001,
        ),
        (
            door("GET", &format!("{messages}?Order=sideways"), Vec::new()),
            400,
            20001,
        ),
    ];
    for (req, status, code) in cases {
        let r = svc.handle(&req);
        assert_eq!(
            error_code(&r),
            (status, code),
            "{} {}",
            req.method,
            req.path
        );
    }
    let mut json_body = raw(Some(&auth), "POST", "/v1/Conversations", b"{}".to_vec());
    json_body.headers.retain(|(n, _)| n != "content-type");
    json_body
        .headers
        .push(("content-type".into(), "application/json".into()));
    assert_eq!(error_code(&svc.handle(&json_body)), (400, 20001));
    assert_eq!(
        (svc.world().step_count(), svc.world().trace_lines()),
        before
    );
}

#[test]
fn timers_move_a_conversation_to_inactive_then_closed_on_the_virtual_clock() {
    let mut svc = service(7);
    let v = ok(
        &call(
            &mut svc,
            "POST",
            "/v1/Conversations",
            &[
                ("State", "active"),
                ("Timers.Inactive", "PT1M"),
                ("Timers.Closed", "PT10M"),
            ],
        ),
        201,
    );
    // No FriendlyName: Twilio shows null.
    assert_eq!(v["friendly_name"], Value::Null);
    let c = format!("/v1/Conversations/{}", v["sid"].as_str().unwrap());
    let state = |svc: &mut Service| ok(&call(svc, "GET", &c, &[]), 200)["state"].clone();
    assert_eq!(state(&mut svc), "active");
    control(&mut svc, "POST", "clock/advance", json!({"by": "61s"}));
    assert_eq!(state(&mut svc), "inactive");
    control(&mut svc, "POST", "clock/set", json!({"to": "10m"}));
    assert_eq!(state(&mut svc), "closed");
}

#[test]
fn inbound_sms_reaches_the_conversation_and_receipts_move_the_delivery_summary() {
    let mut svc = service(8);
    let ch = conversation(&mut svc, "support");
    let c = format!("/v1/Conversations/{ch}");
    let sms = sms_participant(&mut svc, &c);
    let answer = control(
        &mut svc,
        "POST",
        "inbound",
        json!({"channel": "sms", "from": "+14255550100", "to": "+18005550199", "body": "Where is my order?"}),
    );
    assert!(is_sid(&answer["id"], "IM"), "{answer}");
    assert_eq!(answer["thread"], ch.as_str());
    let listed = ok(&call(&mut svc, "GET", &format!("{c}/Messages"), &[]), 200);
    let inbound = &listed["messages"][0];
    assert_eq!(inbound["author"], "+14255550100");
    assert_eq!(inbound["participant_sid"], sms["sid"]);
    assert_eq!(inbound["sid"], answer["id"]);
    // A reply goes out by SMS: queued, then the carrier's receipts on the clock.
    let reply = ok(
        &call(
            &mut svc,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "It ships today, thanks for waiting.")],
        ),
        201,
    );
    assert_eq!(reply["delivery"]["total"], 1);
    assert_eq!(reply["delivery"]["sent"], "none");
    let outbox = control(&mut svc, "GET", "outbox", Value::Null);
    let item = &outbox["items"][0];
    assert_eq!(item["thread"], ch.as_str());
    // The control plane takes the conversation's SID where it takes a thread.
    let filtered = svc.handle(&Request {
        method: "GET".into(),
        path: "/_switchboard/outbox".into(),
        query: Some(format!("thread={ch}")),
        headers: vec![("host".into(), HOST.into())],
        body: Vec::new(),
    });
    let filtered: Value = serde_json::from_slice(&filtered.body).unwrap();
    assert_eq!(filtered["items"], outbox["items"]);
    assert_eq!(item["message"], reply["sid"]);
    assert_eq!(item["segments"], 1);
    control(&mut svc, "POST", "clock/advance", json!({"by": "10m"}));
    let url = format!("{c}/Messages/{}", reply["sid"].as_str().unwrap());
    let later = ok(&call(&mut svc, "GET", &url, &[]), 200);
    assert_ne!(later["delivery"], reply["delivery"], "{later}");
    let receipt =
        &ok(&call(&mut svc, "GET", &format!("{url}/Receipts"), &[]), 200)["delivery_receipts"][0];
    assert_ne!(receipt["status"], "queued");
}

#[test]
fn the_same_requests_give_the_same_bytes() {
    let (mut a, mut b) = (service(9), service(9));
    assert_eq!(session(&mut a), session(&mut b));
    assert_eq!(a.world().trace_lines(), b.world().trace_lines());
    assert_ne!(session(&mut service(10)), session(&mut service(9)));
}

#[test]
fn the_recorded_session_replays_to_the_same_trace() {
    let mut svc = service(11);
    session(&mut svc);
    let trace = svc.world().trace_lines();
    let recording = control(&mut svc, "GET", "scenario", Value::Null);
    let parsed = scenario::parse(&recording.to_string(), None).unwrap();
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.lines, trace);
}

/// A webhook receiver for tests: keeps every call and answers `pre_status`
/// to pre-event calls and 200 to the others.
#[derive(Default)]
struct FakeHooks {
    calls: Vec<switchboard::server::Delivery>,
    pre_status: u16,
}

impl switchboard::server::Hooks for FakeHooks {
    fn deliver(&mut self, delivery: &switchboard::server::Delivery) -> u16 {
        self.calls.push(delivery.clone());
        if delivery.url.contains("/pre") {
            self.pre_status
        } else {
            200
        }
    }
}

impl FakeHooks {
    fn events(&self) -> Vec<String> {
        self.calls
            .iter()
            .map(|d| {
                let params = decode(&d.body);
                params
                    .iter()
                    .find(|(k, _)| k == "EventType")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect()
    }
}

fn decode(body: &[u8]) -> Vec<(String, String)> {
    let text = std::str::from_utf8(body).unwrap();
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            let d = |s: &str| {
                let s = s.replace('+', " ");
                let bytes = s.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (d(k), d(v))
        })
        .collect()
}

/// A request with the account's credentials and `X-Twilio-Webhook-Enabled: true`.
fn hooked(
    svc: &mut Service,
    hooks: &mut FakeHooks,
    method: &str,
    target: &str,
    pairs: &[(&str, &str)],
) -> Response {
    let auth = basic(svc);
    let mut req = raw(Some(&auth), method, target, form(pairs));
    req.headers
        .push(("x-twilio-webhook-enabled".into(), "true".into()));
    svc.handle_with(&req, hooks)
}

fn configure_webhooks(svc: &mut Service, filters: &[&str]) {
    let service_sid = svc.twilio_account().service_sid.clone();
    let mut pairs = vec![
        ("PreWebhookUrl", "http://127.0.0.1:9/pre"),
        ("PostWebhookUrl", "http://127.0.0.1:9/post"),
        ("Method", "POST"),
    ];
    pairs.extend(filters.iter().map(|f| ("Filters", *f)));
    let path = format!("/v1/Services/{service_sid}/Configuration/Webhooks");
    let v = ok(&call(svc, "POST", &path, &pairs), 200);
    assert_eq!(v["filters"].as_array().unwrap().len(), filters.len());
    assert_eq!(v["chat_service_sid"], service_sid.as_str());
    assert_eq!(ok(&call(svc, "GET", &path, &[]), 200), v);
    // The account's configuration is the same one (one service).
    let account = ok(&call(svc, "GET", "/v1/Configuration/Webhooks", &[]), 200);
    assert_eq!(account["pre_webhook_url"], "http://127.0.0.1:9/pre");
    assert_eq!(account["target"], "webhook");
}

const ALL_EVENTS: &[&str] = &[
    "onConversationAdd",
    "onConversationAdded",
    "onConversationUpdated",
    "onConversationStateUpdated",
    "onParticipantAdd",
    "onParticipantAdded",
    "onMessageAdd",
    "onMessageAdded",
    "onMessageUpdated",
    "onMessageRemoved",
    "onDeliveryUpdated",
];

#[test]
fn webhook_urls_must_be_loopback_and_filters_twilios() {
    let mut svc = service(20);
    let before = svc.world().step_count();
    let cases = [
        ("PostWebhookUrl", "https://127.0.0.1:9/x", 20001),
        ("PostWebhookUrl", "http://example.com:80/x", 20001),
        ("PreWebhookUrl", "http://192.168.1.2:80/", 20001),
        ("Filters", "onSomethingElse", 50365),
        ("Target", "flex", 50364),
    ];
    for (param, value, code) in cases {
        let r = call(
            &mut svc,
            "POST",
            "/v1/Configuration/Webhooks",
            &[(param, value)],
        );
        assert_eq!(error_code(&r), (400, code), "{param}={value}");
    }
    let v = ok(
        &call(&mut svc, "GET", "/v1/Configuration/Webhooks", &[]),
        200,
    );
    assert_eq!(v["post_webhook_url"], Value::Null);
    assert_eq!(svc.world().step_count(), before);
}

#[test]
fn rest_actions_fire_signed_webhooks_only_when_asked() {
    let mut svc = service(21);
    configure_webhooks(&mut svc, ALL_EVENTS);
    let mut hooks = FakeHooks {
        pre_status: 200,
        ..FakeHooks::default()
    };
    // Without X-Twilio-Webhook-Enabled, REST actions fire nothing.
    let ch = conversation(&mut svc, "quiet");
    assert!(hooks.calls.is_empty());
    let c = format!("/v1/Conversations/{ch}");
    let r = hooked(
        &mut svc,
        &mut hooks,
        "POST",
        &format!("{c}/Participants"),
        &[("Identity", "ana")],
    );
    let ana = ok(&r, 201);
    let r = hooked(
        &mut svc,
        &mut hooks,
        "POST",
        &format!("{c}/Messages"),
        &[("Author", "ana"), ("Body", "Hi there")],
    );
    let m = ok(&r, 201);
    assert_eq!(
        hooks.events(),
        [
            "onParticipantAdd",
            "onParticipantAdded",
            "onMessageAdd",
            "onMessageAdded"
        ]
    );
    let added = &hooks.calls[3];
    assert_eq!(added.method, "POST");
    assert_eq!(added.url, "http://127.0.0.1:9/post");
    let params = decode(&added.body);
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("MessageSid"), m["sid"].as_str());
    assert_eq!(get("ConversationSid"), Some(ch.as_str()));
    assert_eq!(get("Body"), Some("Hi there"));
    assert_eq!(get("Author"), Some("ana"));
    assert_eq!(get("ParticipantSid"), ana["sid"].as_str());
    assert_eq!(get("Source"), Some("API"));
    assert_eq!(get("AccountSid"), Some(svc.twilio_account().sid.as_str()));
    // Twilio's signature: HMAC-SHA1 over the URL and the sorted parameters.
    let signature = added
        .headers
        .iter()
        .find(|(n, _)| n == "x-twilio-signature")
        .map(|(_, v)| v.clone())
        .unwrap();
    let token = svc.twilio_account().auth_token.clone();
    assert_eq!(
        signature,
        switchboard::server::webhooks::signature(&token, &added.url, &params)
    );
    assert_ne!(
        signature,
        switchboard::server::webhooks::signature("wrong", &added.url, &params)
    );
    // Each call is in the trace and the recording.
    let webhook_lines = svc
        .world()
        .trace_lines()
        .iter()
        .filter(|l| l.contains(r#""op":"webhook""#))
        .count();
    assert_eq!(webhook_lines, 4);
    // A State update fires onConversationStateUpdated (Reason API); a message
    // that wakes the inactive conversation another (Reason MESSAGE).
    let before = hooks.calls.len();
    ok(
        &hooked(&mut svc, &mut hooks, "POST", &c, &[("State", "inactive")]),
        200,
    );
    ok(
        &hooked(
            &mut svc,
            &mut hooks,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "back")],
        ),
        201,
    );
    let reasons: Vec<(String, String)> = hooks.calls[before..]
        .iter()
        .map(|d| decode(&d.body))
        .filter(|p| p.contains(&("EventType".into(), "onConversationStateUpdated".into())))
        .map(|p| {
            let get = |k: &str| p.iter().find(|(n, _)| n == k).unwrap().1.clone();
            (get("StateTo"), get("Reason"))
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("inactive".to_string(), "API".to_string()),
            ("active".to_string(), "MESSAGE".to_string())
        ]
    );
}

#[test]
fn a_pre_event_webhook_that_refuses_stops_the_action() {
    let mut svc = service(22);
    configure_webhooks(&mut svc, &["onMessageAdd", "onMessageAdded"]);
    let ch = conversation(&mut svc, "guarded");
    let m = format!("/v1/Conversations/{ch}/Messages");
    let mut hooks = FakeHooks {
        pre_status: 403,
        ..FakeHooks::default()
    };
    let r = hooked(&mut svc, &mut hooks, "POST", &m, &[("Body", "spam")]);
    assert_eq!(error_code(&r), (403, 20403));
    assert_eq!(hooks.events(), ["onMessageAdd"]);
    assert_eq!(
        ok(&call(&mut svc, "GET", &m, &[]), 200)["messages"],
        json!([])
    );
    // A receiver that does not answer (status 0) does not refuse.
    hooks.pre_status = 0;
    let r = hooked(&mut svc, &mut hooks, "POST", &m, &[("Body", "fine")]);
    ok(&r, 201);
    assert_eq!(
        hooks.events(),
        ["onMessageAdd", "onMessageAdd", "onMessageAdded"]
    );
}

#[test]
fn clock_driven_and_inbound_events_fire_post_webhooks() {
    let mut svc = service(23);
    configure_webhooks(&mut svc, ALL_EVENTS);
    let v = ok(
        &call(
            &mut svc,
            "POST",
            "/v1/Conversations",
            &[("State", "active"), ("Timers.Inactive", "PT1M")],
        ),
        201,
    );
    let c = format!("/v1/Conversations/{}", v["sid"].as_str().unwrap());
    sms_participant(&mut svc, &c);
    let mut hooks = FakeHooks::default();
    let inbound =
        json!({"channel": "sms", "from": "+14255550100", "to": "+18005550199", "body": "hello"});
    let r = svc.handle_with(
        &Request {
            method: "POST".into(),
            path: "/_switchboard/inbound".into(),
            query: None,
            headers: vec![("host".into(), HOST.into())],
            body: inbound.to_string().into_bytes(),
        },
        &mut hooks,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(hooks.events(), ["onMessageAdded"]);
    let params = decode(&hooks.calls[0].body);
    assert!(params.contains(&("Source".into(), "SMS".into())));
    ok(
        &call(
            &mut svc,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "We are on it.")],
        ),
        201,
    );
    let advance = Request {
        method: "POST".into(),
        path: "/_switchboard/clock/advance".into(),
        query: None,
        headers: vec![("host".into(), HOST.into())],
        body: br#"{"by": "10m"}"#.to_vec(),
    };
    svc.handle_with(&advance, &mut hooks);
    let events = hooks.events();
    assert!(
        events.contains(&"onConversationStateUpdated".to_string()),
        "{events:?}"
    );
    assert!(
        events.contains(&"onDeliveryUpdated".to_string()),
        "{events:?}"
    );
    let state = hooks
        .calls
        .iter()
        .map(|d| decode(&d.body))
        .find(|p| p.contains(&("EventType".into(), "onConversationStateUpdated".into())))
        .unwrap();
    assert!(state.contains(&("StateTo".into(), "inactive".into())));
    assert!(state.contains(&("Reason".into(), "TIMER".into())));
    assert!(state.contains(&("StateUpdated".into(), "2026-01-01T00:01:00Z".into())));
    // One onDeliveryUpdated per carrier receipt, each at its own instant:
    // the reply's delivery went sent, then its final status.
    let statuses: Vec<String> = hooks
        .calls
        .iter()
        .map(|d| decode(&d.body))
        .filter(|p| p.contains(&("EventType".into(), "onDeliveryUpdated".into())))
        .map(|p| p.iter().find(|(k, _)| k == "Status").unwrap().1.clone())
        .collect();
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(statuses[0], "sent");
    // The recording, webhooks included, replays to the same trace without a receiver.
    let trace = svc.world().trace_lines();
    let recording = control(&mut svc, "GET", "scenario", Value::Null);
    let parsed = scenario::parse(&recording.to_string(), None).unwrap();
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.lines, trace);
    assert!(trace.iter().any(|l| l.contains("onDeliveryUpdated")));
}

#[test]
fn the_same_requests_and_answers_give_the_same_webhooks() {
    let run = || {
        let mut svc = service(24);
        configure_webhooks(&mut svc, ALL_EVENTS);
        let mut hooks = FakeHooks {
            pre_status: 200,
            ..FakeHooks::default()
        };
        let r = hooked(
            &mut svc,
            &mut hooks,
            "POST",
            "/v1/Conversations",
            &[("FriendlyName", "x")],
        );
        let c = format!("/v1/Conversations/{}", ok(&r, 201)["sid"].as_str().unwrap());
        hooked(
            &mut svc,
            &mut hooks,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "a")],
        );
        (hooks.calls, svc.world().trace_lines())
    };
    let (a, b) = (run(), run());
    assert!(!a.0.is_empty());
    assert_eq!(a, b);
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn segment(ch: String, im: String) -> impl Strategy<Value = String> {
        prop_oneof![
            Just("v1".to_string()),
            Just("Conversations".to_string()),
            Just("Participants".to_string()),
            Just("Messages".to_string()),
            Just("Receipts".to_string()),
            Just("Users".to_string()),
            Just("Services".to_string()),
            Just("Configuration".to_string()),
            Just("Webhooks".to_string()),
            Just(ch),
            Just(im),
            Just("%zz".to_string()),
            Just("ana".to_string()),
            "[A-Za-z0-9%._-]{0,36}",
        ]
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"FriendlyName=x".to_vec()),
            Just(b"Identity=ana".to_vec()),
            Just(b"Body=hi&Author=ana".to_vec()),
            Just(b"State=closed&Timers.Inactive=PT1M".to_vec()),
            Just(b"MessagingBinding.Address=%2B14255550100&MessagingBinding.ProxyAddress=%2B18005550199".to_vec()),
            Just(b"PostWebhookUrl=http%3A%2F%2F127.0.0.1%3A9%2Fp&Filters=onMessageAdded".to_vec()),
            Just(b"LastReadMessageIndex=99999999999".to_vec()),
            Just(b"%zz=%".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..40),
            "[A-Za-z.=&%0-9+]{0,40}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// No request panics the server, and every answer is Twilio's: JSON
        /// with `{"code", "message", "more_info", "status"}` on errors.
        #[test]
        fn no_request_panics_and_every_answer_is_well_formed(
            method in prop_oneof![Just("GET"), Just("POST"), Just("DELETE"), Just("PUT")],
            picks in proptest::collection::vec(0usize..1000, 0..7),
            query in prop_oneof![
                Just(String::new()),
                Just("?PageSize=2&Page=1".to_string()),
                Just("?PageSize=0&PageToken=PTx&Order=desc".to_string()),
                Just("?%".to_string()),
                "\\?[A-Za-z=&%0-9-]{0,20}",
            ],
            body in body(),
            authorized in any::<bool>(),
            seed_segments in proptest::collection::vec(segment(String::new(), String::new()), 7),
        ) {
            let mut svc = service(1);
            let ch = conversation(&mut svc, "p");
            let m = ok(&call(&mut svc, "POST", &format!("/v1/Conversations/{ch}/Messages"), &[("Body", "x")]), 201);
            let im = m["sid"].as_str().unwrap().to_string();
            let named = |i: usize| -> String {
                match i % 9 {
                    0 => ch.clone(),
                    1 => im.clone(),
                    _ => seed_segments[i % seed_segments.len()].clone(),
                }
            };
            let path: Vec<String> = picks.iter().map(|i| named(*i)).collect();
            let target = format!("/{}{query}", path.join("/"));
            let auth = basic(&svc);
            let r = svc.handle_with(&raw(authorized.then_some(auth.as_str()), method, &target, body), &mut FakeHooks::default());
            prop_assert!([200, 201, 204, 400, 401, 403, 404, 405, 409, 429].contains(&r.status), "{} {target}", r.status);
            prop_assert!(r.header("date").is_some());
            if !r.body.is_empty() {
                let v: Value = serde_json::from_slice(&r.body).expect("a JSON body");
                if r.status >= 400 {
                    prop_assert!(v["code"].is_u64() && v["message"].is_string() && v["more_info"].is_string(), "{v}");
                    prop_assert_eq!(&v["status"], &json!(r.status));
                }
            }
        }
    }
}

#[test]
fn media_uploaded_to_the_media_service_go_out_with_media_sid() {
    let mut svc = service(25);
    let service_sid = svc.twilio_account().service_sid.clone();
    let ch = conversation(&mut svc, "photos");
    let c = format!("/v1/Conversations/{ch}");
    sms_participant(&mut svc, &c);
    let auth = basic(&svc);
    let mut up = raw(
        Some(&auth),
        "POST",
        &format!("/v1/Services/{service_sid}/Media?Filename=box.jpg"),
        vec![0xff; 2048],
    );
    up.headers.retain(|(n, _)| n != "content-type");
    up.headers
        .push(("content-type".into(), "image/jpeg".into()));
    let medium = ok(&svc.handle(&up), 201);
    assert!(is_sid(&medium["sid"], "ME"));
    assert_eq!(
        (medium["size"].as_u64(), medium["content_type"].as_str()),
        (Some(2048), Some("image/jpeg"))
    );
    let me = medium["sid"].as_str().unwrap();
    let fetched = ok(
        &call(
            &mut svc,
            "GET",
            &format!("/v1/Services/{service_sid}/Media/{me}"),
            &[],
        ),
        200,
    );
    assert_eq!(fetched, medium);
    let m = ok(
        &call(
            &mut svc,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "Your parcel"), ("MediaSid", me)],
        ),
        201,
    );
    assert_eq!(m["media"][0]["sid"], me);
    assert_eq!(m["media"][0]["filename"], "box.jpg");
    // The SMS participant gets it as MMS.
    let outbox = control(&mut svc, "GET", "outbox", Value::Null);
    assert_eq!(outbox["items"][0]["channel"], "mms", "{outbox}");
    // A SID that names no upload, and an upload without a type.
    let unknown = svc.twilio_account().media(7);
    let r = call(
        &mut svc,
        "POST",
        &format!("{c}/Messages"),
        &[("MediaSid", &unknown)],
    );
    assert_eq!(error_code(&r), (404, 20404));
    let mut untyped = raw(
        Some(&auth),
        "POST",
        &format!("/v1/Services/{service_sid}/Media"),
        vec![1, 2, 3],
    );
    untyped.headers.retain(|(n, _)| n != "content-type");
    assert_eq!(error_code(&svc.handle(&untyped)), (415, 20415));
}

#[test]
fn a_webhook_step_is_read_strictly_and_replays_as_its_own_line() {
    let file = |step: Value| json!({"seed": 1, "profile": "twilio", "steps": [step]}).to_string();
    let good = json!({"op": "webhook", "phase": "post", "event": "onMessageAdded",
        "url": "http://127.0.0.1:9/post", "params": {"Body": "hi"}, "status": 500});
    let report = scenario::run(&scenario::parse(&file(good), None).unwrap());
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let line: Value = serde_json::from_str(&report.lines[0]).unwrap();
    assert_eq!(
        (line["op"].as_str(), line["status"].as_u64()),
        (Some("webhook"), Some(500))
    );
    assert_eq!(line["result"]["params"]["Body"], "hi");
    for (key, value, path) in [
        ("phase", json!("during"), "$.steps[0].phase"),
        ("status", json!(1000), "$.steps[0].status"),
        ("params", json!({"Body": 1}), "$.steps[0].params"),
        ("extra", json!(1), "$.steps[0].extra"),
    ] {
        let mut step = json!({"op": "webhook", "phase": "pre", "event": "onMessageAdd",
            "url": "http://127.0.0.1:9/pre", "status": 200});
        step[key] = value;
        let e = scenario::parse(&file(step), None).unwrap_err();
        assert_eq!(e.path, path, "{key}: {}", e.message);
    }
}

#[test]
fn inbound_names_the_conversation_of_its_own_channel() {
    let mut svc = service(9);
    let sms_ch = conversation(&mut svc, "by sms");
    sms_participant(&mut svc, &format!("/v1/Conversations/{sms_ch}"));
    // The same number and proxy, over WhatsApp, in another conversation.
    let wa_ch = conversation(&mut svc, "by whatsapp");
    ok(
        &call(
            &mut svc,
            "POST",
            &format!("/v1/Conversations/{wa_ch}/Participants"),
            &[
                ("MessagingBinding.Address", "whatsapp:+14255550100"),
                ("MessagingBinding.ProxyAddress", "whatsapp:+18005550199"),
            ],
        ),
        201,
    );
    for (channel, from, to, ch) in [
        (
            "whatsapp",
            "whatsapp:+14255550100",
            "whatsapp:+18005550199",
            &wa_ch,
        ),
        ("sms", "+14255550100", "+18005550199", &sms_ch),
    ] {
        let answer = control(
            &mut svc,
            "POST",
            "inbound",
            json!({"channel": channel, "from": from, "to": to, "body": "hi"}),
        );
        assert_eq!(answer["thread"], ch.as_str(), "{channel}: {answer}");
    }
}

#[test]
fn a_delivery_webhook_names_the_participant_it_went_to() {
    let mut svc = service(24);
    configure_webhooks(&mut svc, ALL_EVENTS);
    let ch = conversation(&mut svc, "one number, two channels");
    let c = format!("/v1/Conversations/{ch}");
    // The number joins by SMS and leaves, then joins again by WhatsApp.
    let sms = sms_participant(&mut svc, &c);
    let gone = format!("{c}/Participants/{}", sms["sid"].as_str().unwrap());
    assert_eq!(call(&mut svc, "DELETE", &gone, &[]).status, 204);
    let whatsapp = ok(
        &call(
            &mut svc,
            "POST",
            &format!("{c}/Participants"),
            &[
                ("MessagingBinding.Address", "whatsapp:+14255550100"),
                ("MessagingBinding.ProxyAddress", "whatsapp:+18005550199"),
            ],
        ),
        201,
    );
    // Inside WhatsApp's 24-hour window, so the reply is delivered.
    control(
        &mut svc,
        "POST",
        "inbound",
        json!({"channel": "whatsapp", "from": "whatsapp:+14255550100",
               "to": "whatsapp:+18005550199", "body": "hi"}),
    );
    ok(
        &call(
            &mut svc,
            "POST",
            &format!("{c}/Messages"),
            &[("Body", "hello")],
        ),
        201,
    );
    let mut hooks = FakeHooks::default();
    let advance = Request {
        method: "POST".into(),
        path: "/_switchboard/clock/advance".into(),
        query: None,
        headers: vec![("host".into(), HOST.into())],
        body: br#"{"by": "10m"}"#.to_vec(),
    };
    svc.handle_with(&advance, &mut hooks);
    let deliveries: Vec<Vec<(String, String)>> = hooks
        .calls
        .iter()
        .map(|d| decode(&d.body))
        .filter(|p| p.contains(&("EventType".into(), "onDeliveryUpdated".into())))
        .collect();
    assert!(!deliveries.is_empty(), "{:?}", hooks.events());
    let want = whatsapp["sid"].as_str().unwrap().to_string();
    for p in &deliveries {
        assert!(
            p.contains(&("ParticipantSid".into(), want.clone())),
            "{p:?}"
        );
    }
}
