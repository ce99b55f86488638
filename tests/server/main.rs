//! Server mode, tested without an SDK: requests made by hand (signed with
//! the access key, or with the tokens the Identity API issued) go to the
//! synchronous `Service`, and a few go over a real socket. What the official
//! SDKs send is tested by the conformance suite (`conformance/`).
//!
//! Checked here: the same requests give the same bytes; the recorded session
//! replays through `switchboard run`'s runner to the server's trace, byte for
//! byte; every malformed request is an error in ACS's shape that changes
//! nothing; rate limits answer 429 with `retry-after-ms` and `Retry-After`;
//! tokens expire on the virtual clock; snapshots restore the world; and no
//! request, however malformed, panics the server or gets an ill-formed answer
//! (a property test over the APIs' vocabulary and noise).

mod twilio;

use serde_json::{Value, json};
use std::io::{Read, Write};

use switchboard::scenario;

mod sendbird;
use switchboard::server::{Config, Request, Response, Service, Settings};
use switchboard::wire::calendar::Epoch;

const HOST: &str = "127.0.0.1:9";
const V: &str = "api-version=2024-03-07";

fn service(seed: u64) -> Service {
    Service::new(Settings {
        seed,
        profile: "acs".into(),
        epoch: Epoch::default(),
        scheme: "https",
        authority: HOST.into(),
    })
    .unwrap()
}

fn request(method: &str, target: &str, headers: Vec<(String, String)>, body: &[u8]) -> Request {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (target.to_string(), None),
    };
    let mut headers = headers;
    headers.push(("host".into(), HOST.into()));
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Request {
        method: method.into(),
        path,
        query,
        headers,
        body: body.to_vec(),
    }
}

/// A request to the Identity or SMS API, signed with the access key.
fn signed(svc: &Service, method: &str, target: &str, body: &Value) -> Request {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let headers = svc
        .keys()
        .sign(method, target, HOST, "Thu, 01 Jan 2026 00:00:00 GMT", &body);
    request(method, target, headers, &body)
}

/// A chat request with a Bearer token.
fn chat(token: &str, method: &str, target: &str, body: &Value) -> Request {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let headers = vec![("authorization".into(), format!("Bearer {token}"))];
    request(method, target, headers, &body)
}

fn control(method: &str, path: &str, body: &Value) -> Request {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    request(method, &format!("/_switchboard/{path}"), Vec::new(), &body)
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// Creates a user with a chat token: (raw id, token).
fn user_with_token(svc: &mut Service) -> (String, String) {
    let r = svc.handle(&signed(
        svc,
        "POST",
        "/identities?api-version=2023-10-01",
        &json!({"createTokenWithScopes": ["chat"]}),
    ));
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let v = json_of(&r);
    (
        v["identity"]["id"].as_str().unwrap().to_string(),
        v["accessToken"]["token"].as_str().unwrap().to_string(),
    )
}

fn create_thread(svc: &mut Service, token: &str, others: &[&str]) -> String {
    let participants: Vec<Value> = others
        .iter()
        .map(
            |id| json!({"communicationIdentifier": {"rawId": id, "communicationUser": {"id": id}}}),
        )
        .collect();
    let mut req = chat(
        token,
        "POST",
        &format!("/chat/threads?{V}"),
        &json!({"topic": "lunch", "participants": participants}),
    );
    req.headers
        .push(("repeatability-request-id".into(), "key-1".into()));
    let r = svc.handle(&req);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    json_of(&r)["chatThread"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A session of every chat operation, returning every response.
fn session(svc: &mut Service) -> Vec<Response> {
    let mut out = Vec::new();
    let (_ana, ana_token) = user_with_token(svc);
    let (bo, bo_token) = user_with_token(svc);
    let thread = create_thread(svc, &ana_token, &[&bo]);
    let t = format!(
        "/chat/threads/{}",
        thread.replace(':', "%3A").replace('@', "%40")
    );
    for i in 0..5 {
        out.push(svc.handle(&chat(
            &ana_token,
            "POST",
            &format!("{t}/messages?{V}"),
            &json!({"content": format!("m{i}"), "senderDisplayName": "Ana", "type": "text"}),
        )));
    }
    out.push(svc.handle(&control("POST", "clock/advance", &json!({"by": "90s"}))));
    let mut next = Some(format!("{t}/messages?maxPageSize=2&{V}"));
    let mut pages = 0;
    while let Some(target) = next.take() {
        let r = svc.handle(&chat(&bo_token, "GET", &target, &Value::Null));
        assert_eq!(r.status, 200);
        let v = json_of(&r);
        next = v["nextLink"].as_str().map(|link| {
            link.trim_start_matches(&format!("https://{HOST}"))
                .to_string()
        });
        pages += 1;
        out.push(r);
    }
    assert_eq!(pages, 4, "7 messages (2 system, 5 sent) in pages of 2");
    out.push(svc.handle(&chat(
        &bo_token,
        "POST",
        &format!("{t}/readReceipts?{V}"),
        &json!({"chatMessageId": "5"}),
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "GET",
        &format!("{t}/readReceipts?{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&chat(
        &bo_token,
        "POST",
        &format!("{t}/typing?{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "PATCH",
        &format!("{t}/messages/3?{V}"),
        &json!({"content": "edited"}),
    )));
    out.push(svc.handle(&chat(
        &bo_token,
        "GET",
        &format!("{t}/messages/3?{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "PATCH",
        &format!("{t}?{V}"),
        &json!({"topic": "dinner"}),
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "GET",
        &format!("{t}/participants?maxPageSize=1&{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "GET",
        &format!("/chat/threads?{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "POST",
        &format!("{t}/participants/:remove?{V}"),
        &json!({"rawId": bo, "communicationUser": {"id": bo}}),
    )));
    out.push(svc.handle(&chat(
        &ana_token,
        "DELETE",
        &format!("{t}/messages/4?{V}"),
        &Value::Null,
    )));
    out.push(svc.handle(&signed(
        svc,
        "POST",
        "/sms?api-version=2021-03-07",
        &json!({"from": "+18005550199", "smsRecipients": [{"to": "+14255550100"}, {"to": "bad"}],
                "message": "hi", "smsSendOptions": {"enableDeliveryReport": true}}),
    )));
    out.push(svc.handle(&control("POST", "clock/advance", &json!({"by": "1m"}))));
    out.push(svc.handle(&chat(
        &ana_token,
        "DELETE",
        &format!("{t}?{V}"),
        &Value::Null,
    )));
    out
}

#[test]
fn every_chat_operation_answers_in_acs_shapes() {
    let mut svc = service(1);
    let responses = session(&mut svc);
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            201, 201, 201, 201, 201, 200, 200, 200, 200, 200, 200, 200, 200, 204, 200, 204, 200,
            200, 204, 204, 202, 200, 204
        ]
    );
    let page = json_of(&responses[6]);
    assert_eq!(page["value"][0]["type"], "text");
    assert_eq!(page["value"][0]["content"]["message"], "m4");
    assert_eq!(page["value"][0]["sequenceId"], "7");
    assert!(page["nextLink"].as_str().unwrap().contains("syncState="));
    let system = json_of(&responses[9]);
    assert_eq!(system["value"][0]["type"], "participantAdded");
    assert!(system["value"][0]["content"]["participants"].is_array());
    let topic = json_of(&responses[8]);
    assert_eq!(topic["value"][1]["type"], "topicUpdated");
    assert_eq!(topic["value"][1]["content"]["topic"], "lunch");
    assert!(system.get("nextLink").is_none());
    let receipts = json_of(&responses[11]);
    assert_eq!(receipts["value"][0]["chatMessageId"], "5");
    let edited = json_of(&responses[14]);
    assert_eq!(edited["content"]["message"], "edited");
    assert!(
        edited["editedOn"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:01:30")
    );
    let sms = json_of(&responses[20]);
    assert_eq!(sms["value"][0]["successful"], true);
    assert_eq!(sms["value"][1]["httpStatusCode"], 400);
    assert_eq!(
        responses[0].header("date"),
        Some("Thu, 01 Jan 2026 00:00:00 GMT")
    );
}

#[test]
fn the_same_requests_give_the_same_bytes() {
    let (mut a, mut b) = (service(7), service(7));
    assert_eq!(session(&mut a), session(&mut b));
    assert_eq!(a.world().trace_lines(), b.world().trace_lines());
    let mut c = service(8);
    assert_ne!(session(&mut c), session(&mut service(7)));
}

#[test]
fn the_recorded_session_replays_to_the_same_trace() {
    let mut svc = service(3);
    session(&mut svc);
    replays_to_its_trace(&mut svc);
}

/// Runs the server's recording with `switchboard run`'s runner: it passes
/// and prints the server's trace, which the control plane answers too.
/// Answers the recording.
fn replays_to_its_trace(svc: &mut Service) -> Value {
    let trace = svc.world().trace_lines();
    let recording = json_of(&svc.handle(&control("GET", "scenario", &Value::Null)));
    let parsed = scenario::parse(&recording.to_string(), None).unwrap();
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.lines, trace);
    let text = svc.handle(&control("GET", "trace", &Value::Null));
    assert_eq!(
        String::from_utf8(text.body).unwrap(),
        trace.join("\n") + "\n"
    );
    recording
}

#[test]
fn a_server_trace_with_its_inputs_replays_without_the_seed() {
    let mut svc = service(3);
    session(&mut svc);
    let with_inputs = svc.handle(&control("GET", "trace?inputs=true", &Value::Null));
    let text = String::from_utf8(with_inputs.body).unwrap();
    let (inputs, rest) = text.split_once('\n').unwrap();
    assert!(
        inputs.starts_with("{\"at_ms\":0,\"kind\":\"inputs\""),
        "{inputs}"
    );
    assert_eq!(rest, svc.world().trace_lines().join("\n") + "\n");
    assert!(
        rest.contains("delivery_updated"),
        "the session's SMS has receipts"
    );
    let replayed =
        switchboard::research::replay::replay(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(
        replayed.diff.divergence.is_none(),
        "{}",
        replayed.diff.text("a", "b")
    );
    assert_eq!(replayed.seed, Some(3));
}

/// Each malformed request is answered in ACS's error shape and leaves the
/// world as it was: no step recorded, the trace unchanged.
#[test]
fn malformed_requests_change_nothing() {
    let mut svc = service(1);
    let (_, token) = user_with_token(&mut svc);
    let thread = create_thread(&mut svc, &token, &[]);
    let t = format!("/chat/threads/{thread}");
    let before = (svc.world().step_count(), svc.world().trace_lines());
    let other = service(2);
    let other_token = {
        let mut other = other.clone();
        user_with_token(&mut other).1
    };
    let mut wrong_type = chat(
        &token,
        "POST",
        &format!("{t}/messages?{V}"),
        &json!({"content": "x"}),
    );
    wrong_type.headers.retain(|(n, _)| n != "content-type");
    wrong_type
        .headers
        .push(("content-type".into(), "text/plain".into()));
    let mut bad_hmac = signed(
        &svc,
        "POST",
        "/identities?api-version=2023-10-01",
        &json!({}),
    );
    bad_hmac.body = b"{\"createTokenWithScopes\":[\"chat\"]}".to_vec();
    let cases: Vec<(Request, u16, &str)> = vec![
        (
            request(
                "POST",
                &format!("{t}/messages?{V}"),
                vec![
                    ("authorization".into(), format!("Bearer {token}")),
                    ("content-type".into(), "application/json".into()),
                ],
                b"{\"content\": ",
            ),
            400,
            "BadRequest",
        ),
        (wrong_type, 415, "UnsupportedMediaType"),
        (
            chat(&token, "GET", &format!("/chat/nowhere?{V}"), &Value::Null),
            404,
            "NotFound",
        ),
        (
            chat(&token, "GET", &format!("{t}/messages"), &Value::Null),
            400,
            "MissingApiVersionParameter",
        ),
        (
            chat(
                &token,
                "GET",
                &format!("{t}/messages?api-version=banana"),
                &Value::Null,
            ),
            400,
            "InvalidApiVersionParameter",
        ),
        (
            chat(
                &token,
                "GET",
                &format!("/chat/threads/19%3Z?{V}"),
                &Value::Null,
            ),
            400,
            "BadRequest",
        ),
        (
            chat(
                &token,
                "GET",
                &format!("/chat/threads/19%3Aother%40thread.v2?{V}"),
                &Value::Null,
            ),
            404,
            "NotFound",
        ),
        (
            chat(
                &token,
                "GET",
                &format!("{t}/messages/abc?{V}"),
                &Value::Null,
            ),
            404,
            "NotFound",
        ),
        (
            chat(
                &token,
                "POST",
                &format!("{t}/messages?{V}"),
                &json!({"content": 5}),
            ),
            400,
            "BadRequest",
        ),
        (
            chat(
                &token,
                "POST",
                &format!("{t}/messages?{V}"),
                &json!(["content"]),
            ),
            400,
            "BadRequest",
        ),
        (
            chat(&other_token, "GET", &format!("{t}?{V}"), &Value::Null),
            401,
            "Unauthorized",
        ),
        (
            chat("not.a.token", "GET", &format!("{t}?{V}"), &Value::Null),
            401,
            "Unauthorized",
        ),
        (
            request("GET", &format!("{t}?{V}"), vec![], b""),
            401,
            "Unauthorized",
        ),
        (bad_hmac, 401, "Unauthorized"),
        (
            chat(&token, "GET", &format!("/identities?{V}"), &Value::Null),
            401,
            "Unauthorized",
        ),
        (
            request("GET", "/nothing/here", vec![], b""),
            404,
            "NotFound",
        ),
        (
            control("POST", "clock/advance", &json!({"by": "soon"})),
            400,
            "BadRequest",
        ),
        (control("POST", "clock/set", &json!({"to": 0})), 200, ""),
        (control("GET", "nowhere", &Value::Null), 404, "NotFound"),
        (
            control("POST", "snapshots/s9/restore", &Value::Null),
            404,
            "NotFound",
        ),
        (
            control("POST", "reset", &json!({"profile": "twilio"})),
            400,
            "BadRequest",
        ),
        (
            control("POST", "inbound", &json!({"channel": "sms", "as": "x"})),
            400,
            "BadRequest",
        ),
    ];
    for (i, (req, status, code)) in cases.into_iter().enumerate() {
        let r = svc.handle(&req);
        assert_eq!(
            r.status,
            status,
            "case {i}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if !code.is_empty() {
            let v = json_of(&r);
            assert_eq!(v["error"]["code"], code, "case {i}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
        }
    }
    // clock/set to 0 moved nothing but is a recorded clock step: the trace
    // is the same but for the summary's step count.
    let after = svc.world().trace_lines();
    assert_eq!(after[..after.len() - 1], before.1[..before.1.len() - 1]);
    assert_eq!(svc.world().step_count(), before.0 + 1);
}

#[test]
fn throttled_calls_answer_429_with_the_exact_wait_in_both_headers() {
    let mut svc = service(1);
    let (_, token) = user_with_token(&mut svc);
    let thread = create_thread(&mut svc, &token, &[]);
    let get = chat(
        &token,
        "GET",
        &format!("/chat/threads/{thread}?{V}"),
        &Value::Null,
    );
    for _ in 0..10 {
        assert_eq!(svc.handle(&get).status, 200);
    }
    let r = svc.handle(&get);
    assert_eq!(r.status, 429);
    assert_eq!(json_of(&r)["error"]["code"], "TooManyRequests");
    let wait: u64 = r.header("retry-after-ms").unwrap().parse().unwrap();
    assert_eq!(wait, 5000);
    assert_eq!(r.header("retry-after"), Some("5"));
    svc.handle(&control("POST", "clock/advance", &json!({"by": wait})));
    assert_eq!(svc.handle(&get).status, 200);
}

#[test]
fn tokens_expire_on_the_virtual_clock() {
    let mut svc = service(1);
    let r = svc.handle(&signed(
        &svc,
        "POST",
        "/identities?api-version=2023-10-01",
        &Value::Null,
    ));
    let user = json_of(&r)["identity"]["id"].as_str().unwrap().to_string();
    let path = format!(
        "/identities/{}/:issueAccessToken?api-version=2023-10-01",
        user.replace(':', "%3A")
    );
    let r = svc.handle(&signed(
        &svc,
        "POST",
        &path,
        &json!({"scopes": ["chat"], "expiresInMinutes": 60}),
    ));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = json_of(&r);
    assert_eq!(v["expiresOn"], "2026-01-01T01:00:00.000Z");
    let token = v["token"].as_str().unwrap();
    let list = chat(token, "GET", &format!("/chat/threads?{V}"), &Value::Null);
    assert_eq!(svc.handle(&list).status, 200);
    svc.handle(&control(
        "POST",
        "clock/advance",
        &json!({"by": "59m59s999ms"}),
    ));
    assert_eq!(svc.handle(&list).status, 200);
    svc.handle(&control("POST", "clock/advance", &json!({"by": 1})));
    let r = svc.handle(&list);
    assert_eq!(r.status, 401);
    assert_eq!(
        json_of(&r)["error"]["message"],
        "The access token has expired."
    );
    // A voip-only token may not chat: 403.
    let r = svc.handle(&signed(&svc, "POST", &path, &json!({"scopes": ["voip"]})));
    let voip = json_of(&r)["token"].as_str().unwrap().to_string();
    let r = svc.handle(&chat(
        &voip,
        "GET",
        &format!("/chat/threads?{V}"),
        &Value::Null,
    ));
    assert_eq!(r.status, 403);
}

#[test]
fn snapshots_restore_the_world_and_reset_starts_anew() {
    let mut svc = service(1);
    let (_, token) = user_with_token(&mut svc);
    let thread = create_thread(&mut svc, &token, &[]);
    let get = chat(
        &token,
        "GET",
        &format!("/chat/threads/{thread}?{V}"),
        &Value::Null,
    );
    let snap = json_of(&svc.handle(&control("POST", "snapshots", &Value::Null)));
    assert_eq!(snap["id"], "s1");
    let del = chat(
        &token,
        "DELETE",
        &format!("/chat/threads/{thread}?{V}"),
        &Value::Null,
    );
    assert_eq!(svc.handle(&del).status, 204);
    assert_eq!(svc.handle(&get).status, 404);
    let r = svc.handle(&control("POST", "snapshots/s1/restore", &Value::Null));
    assert_eq!(r.status, 200);
    assert_eq!(svc.handle(&get).status, 200);
    let r = svc.handle(&control("POST", "reset", &json!({"seed": 5})));
    assert_eq!(r.status, 200);
    // The old token names nothing in the new world.
    assert_eq!(svc.handle(&get).status, 401);
    assert_eq!(
        json_of(&svc.handle(&control("GET", "scenario", &Value::Null)))["seed"],
        5
    );
    let clock = json_of(&svc.handle(&control("GET", "clock", &Value::Null)));
    assert_eq!(
        clock,
        json!({"now_ms": 0, "now": "2026-01-01T00:00:00.000Z"})
    );
}

#[test]
fn idempotent_creates_answer_the_first_thread() {
    let mut svc = service(1);
    let (_, token) = user_with_token(&mut svc);
    let first = create_thread(&mut svc, &token, &[]);
    let again = create_thread(&mut svc, &token, &[]);
    assert_eq!(first, again);
}

/// A request's head alone, declaring a body of `length` bytes.
fn http_head(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    length: usize,
) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

/// A tiny HTTP/1.1 client over a plain socket.
fn http(addr: std::net::SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    (status, text)
}

#[test]
fn a_server_on_a_socket_bounds_bodies_records_and_stops_on_request() {
    let record = std::env::temp_dir().join(format!("switchboard-test-{}.json", std::process::id()));
    let running = switchboard::server::start(Config {
        seed: 4,
        record: Some(record.clone()),
        ..Config::default()
    })
    .unwrap();
    let addr = running.addr;
    let line: Value = serde_json::from_str(&running.startup_line).unwrap();
    assert_eq!(line["listening"], running.url.as_str());
    assert!(
        line["acs_connection_string"]
            .as_str()
            .unwrap()
            .starts_with(&format!("endpoint={}/;accesskey=", running.url))
    );
    let (status, _) = http(addr, "GET", "/_switchboard/clock", "");
    assert_eq!(status, 200);
    let (status, text) = http(
        addr,
        "POST",
        "/_switchboard/clock/advance",
        r#"{"by":"1m"}"#,
    );
    assert_eq!(status, 200, "{text}");
    // A body over the bound is refused by its declared length, before it is
    // read: the client sends the head alone (a server that answers early
    // and closes could reset a client still writing the body).
    let (status, text) = http_head(
        addr,
        "POST",
        "/chat/threads?api-version=2024-03-07",
        switchboard::server::BODY_BYTES_MAX + 1,
    );
    assert_eq!(status, 413);
    assert!(text.contains("RequestEntityTooLarge"), "{text}");
    let (status, _) = http(addr, "POST", "/_switchboard/shutdown", "");
    assert_eq!(status, 202);
    running.wait().unwrap();
    let recorded = std::fs::read_to_string(&record).unwrap();
    let parsed = scenario::parse(&recorded, None).unwrap();
    let report = scenario::run(&parsed);
    assert!(report.failures.is_empty());
    assert!(
        report
            .lines
            .last()
            .unwrap()
            .starts_with(r#"{"at_ms":60000,"kind":"summary""#)
    );
    std::fs::remove_file(record).ok();
}

/// Arbitrary requests, built from the APIs' own vocabulary and from noise,
/// never panic the server and always get a well-formed answer: a known
/// status, and a JSON body (an ACS error body for every error) or none.
mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("chat".to_string()),
            Just("threads".to_string()),
            Just("messages".to_string()),
            Just("participants".to_string()),
            Just(":add".to_string()),
            Just(":remove".to_string()),
            Just("readReceipts".to_string()),
            Just("typing".to_string()),
            Just("identities".to_string()),
            Just(":issueAccessToken".to_string()),
            Just("sms".to_string()),
            Just("_switchboard".to_string()),
            Just("clock".to_string()),
            Just("19%3AacsV1_x_1%40thread.v2".to_string()),
            Just(
                switchboard::wire::acs_rest::Resource::from_seed(1)
                    .thread(switchboard::ThreadId(1))
                    .replace(':', "%3A")
                    .replace('@', "%40")
            ),
            Just("%zz".to_string()),
            Just("1".to_string()),
            "[a-zA-Z0-9%:@._-]{0,12}",
        ]
    }

    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(Vec::new()),
            Just(b"{}".to_vec()),
            Just(
                br#"{"topic":"t","participants":[{"communicationIdentifier":{"rawId":"x"}}]}"#
                    .to_vec()
            ),
            Just(br#"{"content":"hi","type":"html","metadata":{"a":"b"}}"#.to_vec()),
            Just(br#"{"by":"1s"}"#.to_vec()),
            Just(br#"{"scopes":["chat"],"expiresInMinutes":60}"#.to_vec()),
            Just(
                br#"{"from":"+18005550199","smsRecipients":[{"to":"+1"}],"message":"m"}"#.to_vec()
            ),
            proptest::collection::vec(any::<u8>(), 0..64),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        #[test]
        fn no_request_panics_and_every_answer_is_well_formed(
            method in prop_oneof![Just("GET"), Just("POST"), Just("PATCH"), Just("DELETE"), Just("PUT")],
            segments in proptest::collection::vec(segment(), 0..6),
            query in prop_oneof![
                Just(String::new()),
                Just("?api-version=2024-03-07".to_string()),
                Just("?api-version=2024-03-07&maxPageSize=0&skip=x".to_string()),
                Just("?%".to_string()),
                "\\?[a-z=&%0-9-]{0,20}",
            ],
            body in body(),
            auth in 0usize..3,
        ) {
            let mut svc = service(1);
            let (_, token) = user_with_token(&mut svc);
            create_thread(&mut svc, &token, &[]);
            let target = format!("/{}{query}", segments.join("/"));
            let headers = match auth {
                0 => Vec::new(),
                1 => vec![("authorization".to_string(), format!("Bearer {token}"))],
                _ => svc.keys().sign(method, &target, HOST, "x", &body),
            };
            let r = svc.handle(&request(method, &target, headers, &body));
            prop_assert!([200, 201, 202, 204, 400, 401, 403, 404, 409, 413, 415, 429].contains(&r.status), "{} {target}", r.status);
            prop_assert!(r.header("date").is_some());
            let json = r.header("content-type").is_some_and(|t| t.starts_with("application/json"));
            prop_assert!(r.body.is_empty() || json || target.starts_with("/_switchboard/trace"));
            if json {
                let v: Value = serde_json::from_slice(&r.body).expect("a JSON body");
                if r.status >= 400 {
                    prop_assert!(v["error"]["code"].is_string() && v["error"]["message"].is_string(), "{v}");
                }
            }
        }
    }
}

#[test]
fn control_plane_refusals_quote_huge_input_cut_to_a_bound() {
    let mut svc = service(1);
    let huge = "x".repeat(100_000);
    for target in [
        format!("/_switchboard/outbox?channel={huge}"),
        format!("/_switchboard/outbox?status={huge}"),
        format!("/_switchboard/outbox?thread={huge}"),
        format!("/_switchboard/inbox/{huge}"),
        format!("/_switchboard/outbox?{huge}=1"),
        format!("/_switchboard/snapshots/{huge}/restore"),
    ] {
        let method = if target.ends_with("/restore") {
            "POST"
        } else {
            "GET"
        };
        let response = svc.handle(&request(method, &target, Vec::new(), b""));
        assert!(
            matches!(response.status, 400 | 404),
            "{target:.40}: {}",
            response.status
        );
        let body = String::from_utf8_lossy(&response.body);
        assert!(
            body.len() < 1_000,
            "{target:.40} echoes {} bytes",
            body.len()
        );
        assert!(body.contains("100000 bytes"), "{body}");
    }
}
