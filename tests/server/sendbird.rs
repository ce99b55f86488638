//! The Sendbird Platform API v3 (`--profile sendbird`), by hand: the wire
//! shapes of users, group channels, members, messages and metacounters; the
//! `Api-Token`; `next`-token paging and listing messages around
//! `message_ts`; Sendbird's error codes; the per-user cap (429, 900200, with
//! the `X-RateLimit-*` headers, nothing stored) and the per-channel display
//! cap (stored, not delivered); the same requests giving the same bytes; and
//! the recording replaying to the server's trace.

use serde_json::{Value, json};

use super::{HOST, control, json_of, replays_to_its_trace, request};
use switchboard::server::{Request, Response, Service, Settings};
use switchboard::wire::calendar::Epoch;

fn service(seed: u64) -> Service {
    Service::new(Settings {
        seed,
        profile: "sendbird".into(),
        epoch: Epoch::default(),
        scheme: "http",
        authority: HOST.into(),
    })
    .unwrap()
}

/// A Platform API request with the application's API token.
fn api(svc: &Service, method: &str, target: &str, body: &Value) -> Request {
    let token = svc.keys().app.api_token();
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    request(method, target, vec![("api-token".into(), token)], &body)
}

/// Sends a request and answers its status and JSON body.
fn call(svc: &mut Service, method: &str, target: &str, body: Value) -> (u16, Value) {
    let r = svc.handle(&api(svc, method, target, &body));
    (r.status, json_of(&r))
}

fn ok(svc: &mut Service, method: &str, target: &str, body: Value) -> Value {
    let (status, v) = call(svc, method, target, body);
    assert_eq!(status, 200, "{method} {target}: {v}");
    v
}

/// Sendbird's error: the HTTP status and the code, checking the body's shape.
fn refused(svc: &mut Service, method: &str, target: &str, body: Value) -> (u16, u64) {
    let (status, v) = call(svc, method, target, body);
    assert_eq!(v["error"], true, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    (status, v["code"].as_u64().unwrap())
}

fn users(svc: &mut Service, names: &[&str]) {
    for name in names {
        ok(
            svc,
            "POST",
            "/v3/users",
            json!({"user_id": name, "nickname": name.to_uppercase(), "profile_url": ""}),
        );
    }
}

fn channel(svc: &mut Service, members: &[&str]) -> String {
    let v = ok(
        svc,
        "POST",
        "/v3/group_channels",
        json!({"user_ids": members, "name": "Launch"}),
    );
    v["channel_url"].as_str().unwrap().to_string()
}

fn send(svc: &mut Service, url: &str, user: &str, text: &str) -> (u16, Value) {
    call(
        svc,
        "POST",
        &format!("/v3/group_channels/{url}/messages"),
        json!({"message_type": "MESG", "user_id": user, "message": text}),
    )
}

/// The texts of the messages a listing of channel `url` with `query` answers.
fn texts(svc: &mut Service, url: &str, query: &str) -> Vec<String> {
    let v = ok(
        svc,
        "GET",
        &format!("/v3/group_channels/{url}/messages?{query}"),
        Value::Null,
    );
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect()
}

/// Every operation once, with a clock move: the responses.
fn session(svc: &mut Service) -> Vec<Response> {
    let reqs: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            "/v3/users".into(),
            json!({"user_id": "ana", "nickname": "Ana"}),
        ),
        (
            "POST",
            "/v3/users".into(),
            json!({"user_id": "bo", "nickname": "Bo"}),
        ),
        (
            "POST",
            "/v3/users".into(),
            json!({"user_id": "cy", "nickname": "Cy"}),
        ),
        ("GET", "/v3/users?limit=2".into(), Value::Null),
        ("PUT", "/v3/users/bo".into(), json!({"nickname": "Bob"})),
        ("GET", "/v3/users/bo".into(), Value::Null),
        (
            "POST",
            "/v3/group_channels".into(),
            json!({"user_ids": ["ana", "bo"], "name": "Launch", "custom_type": "team"}),
        ),
    ];
    let mut out: Vec<Response> = reqs
        .iter()
        .map(|(m, t, b)| svc.handle(&api(svc, m, t, b)))
        .collect();
    let url = json_of(out.last().unwrap())["channel_url"]
        .as_str()
        .unwrap()
        .to_string();
    let c = format!("/v3/group_channels/{url}");
    let mut more: Vec<(&str, String, Value)> = vec![
        ("GET", "/v3/group_channels?limit=1".into(), Value::Null),
        ("GET", format!("{c}?show_member=true"), Value::Null),
        ("PUT", c.clone(), json!({"name": "Launch day", "data": "d"})),
        (
            "POST",
            format!("{c}/invite"),
            json!({"user_ids": ["cy"], "inviter_id": "ana"}),
        ),
        ("GET", format!("{c}/members?limit=2"), Value::Null),
        ("GET", format!("{c}/members/cy"), Value::Null),
        (
            "POST",
            format!("{c}/messages"),
            json!({"message_type": "MESG", "user_id": "ana", "message": "hi", "data": "x"}),
        ),
        (
            "POST",
            format!("{c}/messages"),
            json!({"message_type": "FILE", "user_id": "bo", "url": "https://files.example/a.png",
                   "file_name": "a.png", "file_size": 1024, "file_type": "image/png"}),
        ),
    ];
    for (m, t, b) in more.drain(..) {
        out.push(svc.handle(&api(svc, m, &t, &b)));
    }
    let sent = json_of(&out[out.len() - 2])["message_id"].as_u64().unwrap();
    svc.handle(&control("POST", "clock/advance", &json!({"by": "90s"})));
    let m = format!("{c}/messages/{sent}");
    let last: Vec<(&str, String, Value)> = vec![
        ("GET", m.clone(), Value::Null),
        (
            "PUT",
            m.clone(),
            json!({"message_type": "MESG", "message": "hello", "custom_type": "greeting"}),
        ),
        (
            "GET",
            format!("{c}/messages?message_ts=0&message_id=0&next_limit=10"),
            Value::Null,
        ),
        (
            "POST",
            format!("{c}/metacounter"),
            json!({"metacounter": {"likes": 1, "views": 10}}),
        ),
        (
            "PUT",
            format!("{c}/metacounter"),
            json!({"metacounter": {"likes": 2}, "mode": "increase"}),
        ),
        ("GET", format!("{c}/metacounter?keys=likes"), Value::Null),
        ("DELETE", format!("{c}/metacounter/views"), Value::Null),
        ("DELETE", m.clone(), Value::Null),
        ("PUT", format!("{c}/leave"), json!({"user_ids": ["cy"]})),
        ("DELETE", "/v3/users/cy".into(), Value::Null),
        ("DELETE", c.clone(), Value::Null),
        ("GET", c.clone(), Value::Null),
    ];
    for (m, t, b) in last {
        out.push(svc.handle(&api(svc, m, &t, &b)));
    }
    out
}

#[test]
fn every_operation_answers_in_sendbird_shapes() {
    let mut svc = service(5);
    let out = session(&mut svc);
    let statuses: Vec<u16> = out.iter().map(|r| r.status).collect();
    let mut expected = vec![200; out.len()];
    *expected.last_mut().unwrap() = 400; // the deleted channel
    assert_eq!(statuses, expected);
    let v: Vec<Value> = out.iter().map(json_of).collect();
    // Users: Unix seconds, the nickname kept and changed.
    assert_eq!(v[0]["user_id"], "ana");
    assert_eq!(v[0]["created_at"], 1_767_225_600);
    assert_eq!(v[3]["users"].as_array().unwrap().len(), 2);
    assert_eq!(v[3]["next"].as_str().unwrap().len(), 16);
    assert_eq!(v[5]["nickname"], "Bob");
    // A channel: its URL, name, members, custom type; Unix seconds.
    let url = v[6]["channel_url"].as_str().unwrap();
    assert!(url.starts_with("sendbird_group_channel_1_"), "{url}");
    assert_eq!(url.len(), "sendbird_group_channel_1_".len() + 40);
    assert_eq!(v[6]["name"], "Launch");
    assert_eq!(v[6]["custom_type"], "team");
    assert_eq!(v[6]["member_count"], 2);
    assert_eq!(v[6]["members"][1]["user_id"], "bo");
    assert_eq!(v[6]["created_at"], 1_767_225_600);
    assert_eq!(v[7]["channels"][0]["channel_url"], url);
    assert_eq!(v[7]["next"], "");
    assert_eq!(v[8]["members"].as_array().unwrap().len(), 2);
    assert_eq!(v[9]["name"], "Launch day");
    assert_eq!(v[9]["data"], "d");
    assert_eq!(v[10]["member_count"], 3);
    assert_eq!(v[11]["members"].as_array().unwrap().len(), 2);
    assert_ne!(v[11]["next"], "");
    assert_eq!(v[12], json!({"is_member": true, "state": "joined"}));
    // Messages: integer ids, Unix ms, MESG and FILE.
    assert_eq!(v[13]["type"], "MESG");
    assert_eq!(v[13]["message"], "hi");
    assert_eq!(v[13]["data"], "x");
    assert_eq!(v[13]["user"]["user_id"], "ana");
    assert_eq!(v[13]["channel_url"], url);
    assert_eq!(v[13]["created_at"], 1_767_225_600_000u64);
    assert!(v[13]["message_id"].is_u64());
    assert_eq!(v[14]["type"], "FILE");
    assert_eq!(
        v[14]["file"],
        json!({"url": "https://files.example/a.png", "name": "a.png", "type": "image/png",
               "size": 1024, "data": ""})
    );
    assert_eq!(v[15]["message_id"], v[13]["message_id"]);
    assert_eq!(v[16]["message"], "hello");
    assert_eq!(v[16]["custom_type"], "greeting");
    assert_eq!(v[16]["updated_at"], 1_767_225_690_000u64);
    assert_eq!(v[17]["messages"].as_array().unwrap().len(), 2);
    // Metacounters.
    assert_eq!(v[18], json!({"likes": 1, "views": 10}));
    assert_eq!(v[19], json!({"likes": 3}));
    assert_eq!(v[20], json!({"likes": 3}));
    assert_eq!(v[21], json!({}));
    assert_eq!(v[26]["code"], 400201);
}

#[test]
fn the_same_requests_give_the_same_bytes() {
    let (mut a, mut b) = (service(7), service(7));
    assert_eq!(session(&mut a), session(&mut b));
    assert_eq!(a.world().trace_lines(), b.world().trace_lines());
    // Another seed: another token, other channel URLs and message ids.
    let mut c = service(8);
    assert_ne!(session(&mut c), session(&mut service(7)));
}

#[test]
fn the_recorded_session_replays_to_the_same_trace() {
    let mut svc = service(3);
    session(&mut svc);
    let recording = replays_to_its_trace(&mut svc);
    assert_eq!(recording["profile"], "sendbird");
    let ops: Vec<&str> = recording["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["op"].as_str().unwrap())
        .collect();
    assert!(ops.contains(&"update_metacounter"), "{ops:?}");
}

#[test]
fn the_api_token_is_checked_first_and_a_refusal_changes_nothing() {
    let mut svc = service(1);
    let body = br#"{"user_id":"ana","nickname":"Ana"}"#;
    let cases = [
        vec![],
        vec![("api-token".to_string(), "0".repeat(40))],
        vec![("api-token".to_string(), service(2).keys().app.api_token())],
    ];
    for headers in cases {
        let r = svc.handle(&request("POST", "/v3/users", headers, body));
        assert_eq!(r.status, 400);
        assert_eq!(json_of(&r)["code"], 400401);
    }
    assert_eq!(svc.world().step_count(), 0);
    // The start-up credentials: the token, and no ACS connection string.
    let creds = json_of(&svc.handle(&control("GET", "credentials", &Value::Null)));
    assert_eq!(creds["sendbird_api_token"], svc.keys().app.api_token());
    assert!(creds.get("acs_connection_string").is_none());
    // The control plane's refusals are Sendbird's too (no SMS here).
    let r = svc.handle(&control(
        "POST",
        "inbound",
        &json!({"channel": "sms", "from": "+14255550100", "to": "+18005550199", "body": "hi"}),
    ));
    assert_eq!(
        (r.status, json_of(&r)["error"].as_bool()),
        (400, Some(true))
    );
    // A body over the bound is refused in Sendbird's shape.
    let r = svc.too_large();
    assert_eq!(
        (r.status, json_of(&r)["code"].as_u64()),
        (413, Some(400110))
    );
}

#[test]
fn lists_page_with_next_tokens_through_every_page() {
    let mut svc = service(1);
    let names = ["u1", "u2", "u3", "u4", "u5"];
    users(&mut svc, &names);
    let mut seen = Vec::new();
    let mut target = "/v3/users?limit=2".to_string();
    loop {
        let v = ok(&mut svc, "GET", &target, Value::Null);
        for u in v["users"].as_array().unwrap() {
            seen.push(u["user_id"].as_str().unwrap().to_string());
        }
        match v["next"].as_str().unwrap() {
            "" => break,
            next => target = format!("/v3/users?limit=2&token={next}"),
        }
    }
    assert_eq!(seen, names);
    // The default page is 10; limits outside 1..=100 and foreign tokens are refused.
    let v = ok(&mut svc, "GET", "/v3/users", Value::Null);
    assert_eq!(
        (v["users"].as_array().unwrap().len(), &v["next"]),
        (5, &json!(""))
    );
    for bad in ["limit=0", "limit=101", "limit=-1"] {
        let (status, code) = refused(&mut svc, "GET", &format!("/v3/users?{bad}"), Value::Null);
        assert_eq!((status, code), (400, 400111), "{bad}");
    }
    let (_, code) = refused(&mut svc, "GET", "/v3/users?token=zz", Value::Null);
    assert_eq!(code, 400109);
    // Members and channels page the same way.
    let url = channel(&mut svc, &names);
    channel(&mut svc, &["u1"]);
    let v = ok(
        &mut svc,
        "GET",
        &format!("/v3/group_channels/{url}/members?limit=3"),
        Value::Null,
    );
    let next = v["next"].as_str().unwrap().to_string();
    let v2 = ok(
        &mut svc,
        "GET",
        &format!("/v3/group_channels/{url}/members?limit=3&token={next}"),
        Value::Null,
    );
    let ids: Vec<&str> = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v2["members"].as_array().unwrap())
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, names);
    assert_eq!(v2["next"], "");
    let v = ok(&mut svc, "GET", "/v3/group_channels?limit=1", Value::Null);
    assert_eq!(v["channels"][0]["channel_url"], url);
    assert_ne!(v["next"], "");
}

#[test]
fn messages_list_around_message_ts_and_message_id() {
    let mut svc = service(1);
    users(&mut svc, &["ana", "bo"]);
    let url = channel(&mut svc, &["ana", "bo"]);
    let mut ids = Vec::new();
    let mut stamps = Vec::new();
    for i in 0..6 {
        let (status, v) = send(&mut svc, &url, "ana", &format!("m{i}"));
        assert_eq!(status, 200);
        ids.push(v["message_id"].as_u64().unwrap());
        stamps.push(v["created_at"].as_i64().unwrap());
        svc.handle(&control("POST", "clock/advance", &json!({"by": "1s"})));
    }
    let list = |svc: &mut Service, query: &str| texts(svc, &url, query);
    let ts = stamps[3];
    assert_eq!(
        list(
            &mut svc,
            &format!("message_ts={ts}&prev_limit=2&next_limit=1")
        ),
        ["m1", "m2", "m3", "m4"]
    );
    assert_eq!(
        list(
            &mut svc,
            &format!("message_ts={ts}&prev_limit=2&next_limit=1&include=false")
        ),
        ["m1", "m2", "m4"]
    );
    assert_eq!(
        list(
            &mut svc,
            &format!("message_ts={ts}&prev_limit=0&next_limit=9&reverse=true")
        ),
        ["m5", "m4", "m3"]
    );
    // message_id when message_ts is absent; the default limits are 15 each.
    assert_eq!(
        list(
            &mut svc,
            &format!("message_id={}&prev_limit=1&next_limit=1", ids[1])
        ),
        ["m0", "m1", "m2"]
    );
    assert_eq!(list(&mut svc, "message_ts=0").len(), 6);
    // A deleted message is gone from the listing and from GET.
    let m = format!("/v3/group_channels/{url}/messages/{}", ids[0]);
    ok(&mut svc, "DELETE", &m, Value::Null);
    assert_eq!(refused(&mut svc, "GET", &m, Value::Null), (400, 400201));
    assert_eq!(list(&mut svc, "message_ts=0").len(), 5);
    for bad in ["prev_limit=201", "message_ts=x", "reverse=maybe", ""] {
        let target = format!("/v3/group_channels/{url}/messages?{bad}");
        let (status, code) = refused(&mut svc, "GET", &target, Value::Null);
        assert_eq!(status, 400, "{bad}");
        assert!(
            [400101, 400104, 400105, 400111].contains(&code),
            "{bad}: {code}"
        );
    }
}

#[test]
fn errors_carry_sendbird_codes_and_change_nothing() {
    let mut svc = service(1);
    users(&mut svc, &["ana", "bo"]);
    let url = channel(&mut svc, &["ana", "bo"]);
    let c = format!("/v3/group_channels/{url}");
    let steps = svc.world().step_count();
    let cases: Vec<(&str, String, Value, u64)> = vec![
        (
            "POST",
            "/v3/users".into(),
            json!({"user_id": "ana", "nickname": ""}),
            400202,
        ),
        ("POST", "/v3/users".into(), json!({"nickname": "x"}), 400105),
        (
            "POST",
            "/v3/users".into(),
            json!({"user_id": 7, "nickname": "x"}),
            400100,
        ),
        ("GET", "/v3/users/zed".into(), Value::Null, 400201),
        (
            "PUT",
            "/v3/users/zed".into(),
            json!({"nickname": "z"}),
            400201,
        ),
        ("DELETE", "/v3/users/zed".into(), Value::Null, 400201),
        (
            "GET",
            "/v3/group_channels/sendbird_group_channel_9_x".into(),
            Value::Null,
            400201,
        ),
        (
            "POST",
            "/v3/group_channels".into(),
            json!({"user_ids": []}),
            400105,
        ),
        (
            "POST",
            "/v3/group_channels".into(),
            json!({"user_ids": ["ana", "zed"]}),
            400201,
        ),
        (
            "POST",
            "/v3/group_channels".into(),
            json!({"user_ids": "ana"}),
            400102,
        ),
        (
            "POST",
            format!("{c}/messages"),
            json!({"message_type": "MESG", "user_id": "ana", "message": "x".repeat(5001)}),
            400110,
        ),
        (
            "POST",
            format!("{c}/messages"),
            json!({"message_type": "TEXT", "user_id": "ana", "message": "x"}),
            400111,
        ),
        (
            "POST",
            format!("{c}/messages"),
            json!({"message_type": "MESG", "user_id": "zed", "message": "x"}),
            400201,
        ),
        ("GET", format!("{c}/messages/1"), Value::Null, 400201),
        (
            "POST",
            format!("{c}/invite"),
            json!({"user_ids": ["zed"]}),
            400201,
        ),
        (
            "PUT",
            format!("{c}/leave"),
            json!({"user_ids": ["zed"]}),
            400201,
        ),
        (
            "PUT",
            format!("{c}/metacounter"),
            json!({"metacounter": {"k": 1}}),
            400201,
        ),
        (
            "POST",
            format!("{c}/metacounter"),
            json!({"metacounter": {"k": "x"}}),
            400101,
        ),
        ("DELETE", format!("{c}/metacounter/k"), Value::Null, 400201),
        (
            "GET",
            "/v3/open_channels/x/messages".into(),
            Value::Null,
            400111,
        ),
    ];
    for (method, target, body, code) in cases {
        let (status, got) = refused(&mut svc, method, &target, body.clone());
        assert_eq!((status, got), (400, code), "{method} {target} {body}");
    }
    // Not JSON, and no such operation.
    let token = svc.keys().app.api_token();
    let r = svc.handle(&request(
        "POST",
        "/v3/users",
        vec![("api-token".into(), token.clone())],
        b"{",
    ));
    assert_eq!(
        (r.status, json_of(&r)["code"].as_u64()),
        (400, Some(400103))
    );
    let r = svc.handle(&request(
        "GET",
        "/v3/nowhere",
        vec![("api-token".into(), token)],
        b"",
    ));
    assert_eq!(
        (r.status, json_of(&r)["code"].as_u64()),
        (404, Some(400201))
    );
    // Only the duplicate user and the too-long message reached the
    // simulator (which refused them, recorded with their status); a
    // metacounter created twice is a duplicate.
    assert_eq!(svc.world().step_count(), steps + 2);
    ok(
        &mut svc,
        "POST",
        &format!("{c}/metacounter"),
        json!({"metacounter": {"k": 1}}),
    );
    let (_, code) = refused(
        &mut svc,
        "POST",
        &format!("{c}/metacounter"),
        json!({"metacounter": {"k": 1}}),
    );
    assert_eq!(code, 400202);
}

#[test]
fn the_per_user_cap_refuses_with_the_rate_limit_headers_and_stores_nothing() {
    let mut svc = service(1);
    users(&mut svc, &["ana", "bo", "cy"]);
    let url = channel(&mut svc, &["ana", "bo", "cy"]);
    for i in 0..5 {
        assert_eq!(send(&mut svc, &url, "ana", &format!("m{i}")).0, 200);
    }
    let r = svc.handle(&api(
        &svc,
        "POST",
        &format!("/v3/group_channels/{url}/messages"),
        &json!({"message_type": "MESG", "user_id": "ana", "message": "dropped"}),
    ));
    assert_eq!(r.status, 429);
    assert_eq!(json_of(&r)["code"], 900200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("5;w=1"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("x-ratelimit-reset"), Some("1"));
    assert_eq!(r.header("x-ratelimit-retryafter"), Some("1"));
    assert_eq!(r.header("retry-after"), Some("1"));
    let listed = |svc: &mut Service| texts(svc, &url, "message_ts=0&next_limit=50");
    assert!(!listed(&mut svc).contains(&"dropped".to_string()));
    // The display cap: bo's message is stored (200, listed) but over the
    // channel's five a second, so it reaches no one in real time.
    let inbox = |svc: &mut Service| {
        json_of(&svc.handle(&control("GET", "inbox/cy", &Value::Null)))["items"]
            .as_array()
            .unwrap()
            .len()
    };
    let before = inbox(&mut svc);
    assert_eq!(send(&mut svc, &url, "bo", "hidden").0, 200);
    assert!(listed(&mut svc).contains(&"hidden".to_string()));
    assert_eq!(inbox(&mut svc), before);
    // A second later both caps have room again.
    svc.handle(&control("POST", "clock/advance", &json!({"by": "1s"})));
    assert_eq!(send(&mut svc, &url, "ana", "again").0, 200);
    assert_eq!(inbox(&mut svc), before + 1);
    let items = json_of(&svc.handle(&control("GET", "inbox/cy", &Value::Null)));
    let last = items["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["thread"], url, "{last}");
}

/// Arbitrary requests from the Platform API's vocabulary and noise never
/// panic the server and always get a well-formed answer: a known status and
/// a JSON body, Sendbird's error body for every error.
mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = String> {
        let url = switchboard::wire::sendbird_rest::App::from_seed(1)
            .channel_url(switchboard::ThreadId(1));
        let message = switchboard::wire::sendbird_rest::App::from_seed(1)
            .message_id(switchboard::ThreadId(1), 3)
            .to_string();
        prop_oneof![
            Just("v3".to_string()),
            Just("users".to_string()),
            Just("ana".to_string()),
            Just("group_channels".to_string()),
            Just("open_channels".to_string()),
            Just(url),
            Just("messages".to_string()),
            Just(message),
            Just("members".to_string()),
            Just("invite".to_string()),
            Just("leave".to_string()),
            Just("metacounter".to_string()),
            Just("sendbird_group_channel_1_".to_string()),
            Just("%zz".to_string()),
            "[a-zA-Z0-9%_.-]{0,12}",
        ]
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"{}".to_vec()),
            Just(br#"{"user_id":"bo","nickname":"b"}"#.to_vec()),
            Just(br#"{"user_ids":["ana","bo"],"users":[{"user_id":"ana"}]}"#.to_vec()),
            Just(br#"{"message_type":"MESG","user_id":"ana","message":"hi"}"#.to_vec()),
            Just(br#"{"message_type":"FILE","user_id":"ana","url":"u","file_size":-1}"#.to_vec()),
            Just(
                br#"{"metacounter":{"a":9223372036854775807},"mode":"increase","upsert":true}"#
                    .to_vec()
            ),
            Just(
                br#"{"metacounter":{"a":-9223372036854775808},"mode":"decrease","upsert":true}"#
                    .to_vec()
            ),
            proptest::collection::vec(any::<u8>(), 0..48),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn no_request_panics_and_every_answer_is_well_formed(
            method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
            segments in proptest::collection::vec(segment(), 0..6),
            query in prop_oneof![
                Just(String::new()),
                Just("?limit=1&token=zz".to_string()),
                Just("?message_ts=0&prev_limit=200&next_limit=200&reverse=true".to_string()),
                Just("?message_id=-5&include=false".to_string()),
                Just("?keys=a,,b".to_string()),
                "\\?[a-z_=&%0-9-]{0,20}",
            ],
            body in body(),
        ) {
            let mut svc = service(1);
            users(&mut svc, &["ana", "bo"]);
            let url = channel(&mut svc, &["ana"]);
            send(&mut svc, &url, "ana", "m");
            ok(&mut svc, "POST", &format!("/v3/group_channels/{url}/metacounter"),
               json!({"metacounter": {"a": 1}}));
            let target = format!("/{}{query}", segments.join("/"));
            let token = svc.keys().app.api_token();
            let r = svc.handle(&request(method, &target, vec![("api-token".into(), token)], &body));
            prop_assert!([200, 400, 404, 429].contains(&r.status), "{} {target}", r.status);
            prop_assert!(r.header("date").is_some());
            let v: Value = serde_json::from_slice(&r.body).expect("a JSON body");
            if r.status >= 400 {
                prop_assert!(v["error"] == true && v["code"].is_u64() && v["message"].is_string(), "{v}");
            }
        }
    }
}

#[test]
fn a_channel_url_of_the_applications_choosing_names_the_channel_everywhere() {
    let mut svc = service(1);
    users(&mut svc, &["ana", "bo"]);
    let v = ok(
        &mut svc,
        "POST",
        "/v3/group_channels",
        json!({"user_ids": ["ana", "bo"], "channel_url": "support-1042"}),
    );
    assert_eq!(v["channel_url"], "support-1042");
    assert_eq!(v["name"], "Group Channel");
    let (status, m) = send(&mut svc, "support-1042", "ana", "hi");
    assert_eq!((status, &m["channel_url"]), (200, &json!("support-1042")));
    let v = ok(&mut svc, "GET", "/v3/group_channels", Value::Null);
    assert_eq!(v["channels"][0]["channel_url"], "support-1042");
    let last = json_of(&svc.handle(&control("GET", "inbox/bo", &Value::Null)))["items"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["thread"], "support-1042", "{last}");
    // Taken, malformed, or of the server's own shape: refused, nothing made.
    let default_shape =
        switchboard::wire::sendbird_rest::App::from_seed(1).channel_url(switchboard::ThreadId(2));
    for (url, code) in [
        ("support-1042", 400202),
        (default_shape.as_str(), 400202),
        ("a/b/c", 400111),
        ("abc", 400111),
    ] {
        let body = json!({"user_ids": ["ana"], "channel_url": url});
        let (status, got) = refused(&mut svc, "POST", "/v3/group_channels", body);
        assert_eq!((status, got), (400, code), "{url}");
    }
    // Once the channel is deleted, its URL may name a new one.
    ok(
        &mut svc,
        "DELETE",
        "/v3/group_channels/support-1042",
        Value::Null,
    );
    let v = ok(
        &mut svc,
        "POST",
        "/v3/group_channels",
        json!({"user_ids": ["bo"], "channel_url": "support-1042"}),
    );
    assert_eq!(v["member_count"], 1);
    let v = ok(
        &mut svc,
        "GET",
        "/v3/group_channels/support-1042?show_member=true",
        Value::Null,
    );
    assert_eq!(v["members"][0]["user_id"], "bo");
}

/// A call of several steps (a metacounter per key) is all or nothing: the
/// per-user limit (20 metacounter changes a second) refuses the 21st key,
/// so a call with 25 keys is 429 and changes nothing.
#[test]
fn a_call_of_several_steps_is_all_or_nothing() {
    let mut svc = service(1);
    users(&mut svc, &["ana"]);
    let url = channel(&mut svc, &["ana"]);
    let path = format!("/v3/group_channels/{url}/metacounter");
    let many: serde_json::Map<String, Value> =
        (0..25).map(|i| (format!("k{i:02}"), json!(i))).collect();
    let steps = svc.world().step_count();
    let trace = svc.world().trace_lines();
    let (status, code) = refused(&mut svc, "POST", &path, json!({ "metacounter": many }));
    assert_eq!((status, code), (429, 500910));
    assert_eq!(svc.world().step_count(), steps);
    assert_eq!(svc.world().trace_lines(), trace);
    assert_eq!(ok(&mut svc, "GET", &path, Value::Null), json!({}));
    let few: serde_json::Map<String, Value> =
        (0..20).map(|i| (format!("k{i:02}"), json!(i))).collect();
    assert_eq!(
        ok(&mut svc, "POST", &path, json!({ "metacounter": few }))
            .as_object()
            .unwrap()
            .len(),
        20
    );
}

/// `is_distinct`: a create naming the same members as a live distinct
/// channel answers that channel, nothing created; other members, or a
/// channel that is not distinct, make a new one.
#[test]
fn a_distinct_channel_is_answered_again_for_the_same_members() {
    let mut svc = service(1);
    users(&mut svc, &["ana", "bo", "cy"]);
    let create = |svc: &mut Service, members: &[&str], distinct: bool| {
        let body = json!({"user_ids": members, "is_distinct": distinct});
        let v = ok(svc, "POST", "/v3/group_channels", body);
        assert_eq!(v["is_distinct"], distinct);
        v["channel_url"].as_str().unwrap().to_string()
    };
    let plain = create(&mut svc, &["ana", "bo"], false);
    let dm = create(&mut svc, &["ana", "bo"], true);
    assert_ne!(plain, dm);
    let steps = svc.world().step_count();
    assert_eq!(create(&mut svc, &["bo", "ana"], true), dm);
    assert_eq!(svc.world().step_count(), steps);
    assert_ne!(create(&mut svc, &["ana", "bo", "cy"], true), dm);
    assert_ne!(create(&mut svc, &["ana", "bo"], false), dm);
    // Once a member leaves, the members differ: a new distinct channel.
    let leave = json!({"user_ids": ["bo"]});
    ok(
        &mut svc,
        "PUT",
        &format!("/v3/group_channels/{dm}/leave"),
        leave,
    );
    assert_ne!(create(&mut svc, &["ana", "bo"], true), dm);
}

/// A snapshot holds what Sendbird keeps beside the simulator too: restored,
/// a nickname changed since is as it was, and a user created since is gone.
#[test]
fn snapshots_restore_what_sendbird_keeps_beside_the_world() {
    let mut svc = service(1);
    users(&mut svc, &["ana"]);
    let snapshot = json_of(&svc.handle(&control("POST", "snapshots", &Value::Null)));
    ok(
        &mut svc,
        "PUT",
        "/v3/users/ana",
        json!({"nickname": "Anna"}),
    );
    users(&mut svc, &["bo"]);
    let restore = format!("snapshots/{}/restore", snapshot["id"].as_str().unwrap());
    assert_eq!(
        svc.handle(&control("POST", &restore, &Value::Null)).status,
        200
    );
    assert_eq!(
        ok(&mut svc, "GET", "/v3/users/ana", Value::Null)["nickname"],
        "ANA"
    );
    assert_eq!(
        refused(&mut svc, "GET", "/v3/users/bo", Value::Null),
        (400, 400201)
    );
    // A reset forgets them.
    svc.handle(&control("POST", "reset", &json!({})));
    assert_eq!(
        refused(&mut svc, "GET", "/v3/users/ana", Value::Null),
        (400, 400201)
    );
}
