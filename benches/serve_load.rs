//! A bounded load test of `switchboard serve` on loopback: N concurrent
//! clients, each on its own keep-alive HTTP/1.1 connection, for M seconds,
//! every response checked to be well formed (status line, headers, a
//! `content-length` body that is the JSON the call expects, or an ACS error
//! body). It reports the requests per second.
//!
//! Two phases on one in-process server (plain HTTP on 127.0.0.1, a free
//! port): `send`, every client sending messages to a thread of its own (the
//! throughput of send message), and `mixed`, every client cycling through a
//! send, a read of the message, a page of the listing, and three malformed
//! requests (a body that is not JSON, an unknown path, a token this resource
//! never issued); then `sendbird-send`, on a `--profile sendbird` server,
//! every client sending Sendbird text messages to a channel of its own. The
//! world runs with the rate limits off (a profile
//! override), so that every send is admitted and the figure is the server's,
//! not the platform's limit.
//!
//! Run: `cargo bench --bench serve_load` (options: `--clients N`,
//! `--seconds M`). Prints one `RESULT` line per phase and exits non-zero if
//! any response was not well formed. It sends nothing but to 127.0.0.1 and
//! stops by itself.

#![allow(clippy::disallowed_methods)] // wall-clock timing is the point of a bench

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant as Clock};

use serde_json::{Value, json};
use switchboard::server::{Config, Keys, start};

struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A parsed response.
struct Answer {
    status: u16,
    body: Value,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        stream.set_nodelay(true).ok();
        Conn {
            addr,
            writer: stream.try_clone().expect("clone the socket"),
            reader: BufReader::new(stream),
        }
    }

    /// Sends a request and reads the response; `Err` says what was not
    /// well formed.
    fn call(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Answer, String> {
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.writer
            .write_all(head.as_bytes())
            .and_then(|()| self.writer.write_all(body))
            .map_err(|e| format!("write: {e}"))?;
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .map_err(|e| format!("read: {e}"))?;
        let status: u16 = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut json_type = false;
        let mut date = false;
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| format!("read: {e}"))?;
            if line == "\r\n" {
                break;
            }
            let (name, value) = line
                .trim_end()
                .split_once(':')
                .ok_or_else(|| format!("bad header {line:?}"))?;
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse::<usize>().ok(),
                "content-type" => json_type = value.trim().starts_with("application/json"),
                "date" => date = value.trim().ends_with("GMT"),
                _ => {}
            }
        }
        let length = length.ok_or("no content-length")?;
        if !date {
            return Err("no virtual Date header".into());
        }
        let mut bytes = vec![0; length];
        self.reader
            .read_exact(&mut bytes)
            .map_err(|e| format!("read body: {e}"))?;
        let body = if length == 0 {
            Value::Null
        } else if json_type {
            serde_json::from_slice(&bytes).map_err(|e| format!("body is not JSON: {e}"))?
        } else {
            return Err("a body that is not application/json".into());
        };
        Ok(Answer { status, body })
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One client's fixtures: its token and its thread's path.
struct Client {
    token: String,
    thread_path: String,
}

/// A connection to a fresh world of `profile` with the rate limits off.
fn reset(addr: SocketAddr, profile: &str) -> Conn {
    let mut conn = Conn::open(addr);
    let reset = json!({"seed": 1, "profile": {"base": profile, "overrides": {"rate_limits": []}}});
    let answer = conn
        .call(
            "POST",
            "/_switchboard/reset",
            &[],
            reset.to_string().as_bytes(),
        )
        .expect("reset");
    assert_eq!(answer.status, 200, "reset: {}", answer.body);
    conn
}

fn setup(addr: SocketAddr, keys: &Keys, clients: usize) -> Vec<Client> {
    let mut conn = reset(addr, "acs");
    (0..clients)
        .map(|_| {
            let target = "/identities?api-version=2023-10-01";
            let body = br#"{"createTokenWithScopes":["chat"]}"#;
            let mut headers = keys.sign("POST", target, &addr.to_string(), "x", body);
            headers.push(("content-type".into(), "application/json".into()));
            let answer = conn.call("POST", target, &headers, body).expect("identity");
            assert_eq!(answer.status, 201, "identity: {}", answer.body);
            let token = answer.body["accessToken"]["token"]
                .as_str()
                .expect("a token")
                .to_string();
            let auth = vec![
                ("authorization".to_string(), format!("Bearer {token}")),
                ("content-type".to_string(), "application/json".to_string()),
            ];
            let answer = conn
                .call(
                    "POST",
                    "/chat/threads?api-version=2024-03-07",
                    &auth,
                    br#"{"topic":"load"}"#,
                )
                .expect("thread");
            assert_eq!(answer.status, 201, "thread: {}", answer.body);
            let id = answer.body["chatThread"]["id"].as_str().expect("an id");
            Client {
                token,
                thread_path: format!(
                    "/chat/threads/{}",
                    id.replace(':', "%3A").replace('@', "%40")
                ),
            }
        })
        .collect()
}

/// Runs one client until `stop`; returns (responses, malformed ones, first problem).
fn drive(
    addr: SocketAddr,
    client: &Client,
    mixed: bool,
    stop: &AtomicBool,
) -> (u64, u64, Option<String>) {
    let mut conn = Conn::open(addr);
    let auth = vec![
        (
            "authorization".to_string(),
            format!("Bearer {}", client.token),
        ),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let v = "api-version=2024-03-07";
    let mut tally = Tally::default();
    let mut last_id = String::from("1");
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let kind = if mixed { i % 6 } else { 0 };
        i += 1;
        let result = match kind {
            0 => {
                let body = format!(r#"{{"content":"message {i}"}}"#);
                conn.call(
                    "POST",
                    &format!("{}/messages?{v}", client.thread_path),
                    &auth,
                    body.as_bytes(),
                )
                .and_then(|a| match (a.status, a.body["id"].as_str()) {
                    (201, Some(id)) => {
                        last_id = id.to_string();
                        Ok(())
                    }
                    _ => Err(format!("send: {} {}", a.status, a.body)),
                })
            }
            1 => conn
                .call(
                    "GET",
                    &format!("{}/messages/{last_id}?{v}", client.thread_path),
                    &auth,
                    b"",
                )
                .and_then(|a| match (a.status, a.body["type"].as_str()) {
                    (200, Some(_)) => Ok(()),
                    _ => Err(format!("get: {} {}", a.status, a.body)),
                }),
            2 => conn
                .call(
                    "GET",
                    &format!("{}/messages?maxPageSize=5&{v}", client.thread_path),
                    &auth,
                    b"",
                )
                .and_then(|a| match (a.status, a.body["value"].as_array()) {
                    (200, Some(items)) if items.len() <= 5 => Ok(()),
                    _ => Err(format!("list: {} {}", a.status, a.body)),
                }),
            3 => expect_error(
                conn.call(
                    "POST",
                    &format!("{}/messages?{v}", client.thread_path),
                    &auth,
                    b"{\"content\":",
                ),
                400,
            ),
            4 => expect_error(
                conn.call("GET", &format!("/chat/elsewhere?{v}"), &auth, b""),
                404,
            ),
            _ => {
                let forged = vec![("authorization".to_string(), "Bearer a.b.c".to_string())];
                expect_error(
                    conn.call("GET", &format!("{}?{v}", client.thread_path), &forged, b""),
                    401,
                )
            }
        };
        tally.count(result, &mut conn);
    }
    tally.parts()
}

/// One client's responses, the malformed ones among them, and the first problem.
#[derive(Default)]
struct Tally {
    done: u64,
    bad: u64,
    problem: Option<String>,
}

impl Tally {
    /// Counts one response; after a malformed one the connection is opened anew.
    fn count(&mut self, result: Result<(), String>, conn: &mut Conn) {
        self.done += 1;
        if let Err(e) = result {
            self.bad += 1;
            self.problem.get_or_insert(e);
            *conn = Conn::open(conn.addr);
        }
    }

    fn parts(self) -> (u64, u64, Option<String>) {
        (self.done, self.bad, self.problem)
    }
}

fn expect_error(answer: Result<Answer, String>, status: u16) -> Result<(), String> {
    let a = answer?;
    let shaped = a.body["error"]["code"].is_string() && a.body["error"]["message"].is_string();
    if a.status == status && shaped {
        Ok(())
    } else {
        Err(format!(
            "expected {status} in ACS's shape, got {} {}",
            a.status, a.body
        ))
    }
}

fn phase(
    name: &str,
    addr: SocketAddr,
    keys: &Keys,
    clients: usize,
    seconds: u64,
    mixed: bool,
) -> bool {
    let fixtures = Arc::new(setup(addr, keys, clients));
    run_clients(name, clients, seconds, move |c, stop| {
        drive(addr, &fixtures[c], mixed, stop)
    })
}

/// Runs `drive` for each of `clients` on a thread of its own for `seconds`,
/// and prints the phase's `RESULT` line; whether every response was well formed.
fn run_clients(
    name: &str,
    clients: usize,
    seconds: u64,
    drive: impl Fn(usize, &AtomicBool) -> (u64, u64, Option<String>) + Send + Sync + 'static,
) -> bool {
    let drive = Arc::new(drive);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Clock::now();
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let (drive, stop) = (Arc::clone(&drive), Arc::clone(&stop));
            std::thread::spawn(move || drive(c, &stop))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let results: Vec<_> = workers
        .into_iter()
        .map(|w| w.join().expect("a client"))
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let done: u64 = results.iter().map(|r| r.0).sum();
    let bad: u64 = results.iter().map(|r| r.1).sum();
    println!(
        "RESULT phase={name} clients={clients} seconds={elapsed:.1} responses={done} malformed={bad} rps={:.0}",
        done as f64 / elapsed
    );
    if let Some(problem) = results.iter().find_map(|r| r.2.clone()) {
        println!("FIRST PROBLEM: {problem}");
    }
    bad == 0
}

/// Sendbird's Platform API (`--profile sendbird`, a server of its own): each
/// client sends text messages to a channel of its own as a user of its own.
fn sendbird_phase(clients: usize, seconds: u64) -> bool {
    let running = start(Config {
        seed: 1,
        profile: "sendbird".into(),
        ..Config::default()
    })
    .expect("start the Sendbird server");
    let addr = running.addr;
    let auth = vec![
        ("api-token".to_string(), Keys::from_seed(1).app.api_token()),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let mut conn = reset(addr, "sendbird");
    let paths: Vec<String> = (0..clients)
        .map(|c| {
            let user = json!({"user_id": format!("u{c}"), "nickname": ""});
            let answer = conn
                .call("POST", "/v3/users", &auth, user.to_string().as_bytes())
                .expect("user");
            assert_eq!(answer.status, 200, "user: {}", answer.body);
            let channel = json!({"user_ids": [format!("u{c}")]});
            let answer = conn
                .call(
                    "POST",
                    "/v3/group_channels",
                    &auth,
                    channel.to_string().as_bytes(),
                )
                .expect("channel");
            let url = answer.body["channel_url"].as_str().expect("a channel URL");
            format!("/v3/group_channels/{url}/messages")
        })
        .collect();
    let ok = run_clients("sendbird-send", clients, seconds, move |c, stop| {
        let mut conn = Conn::open(addr);
        let mut tally = Tally::default();
        while !stop.load(Ordering::Relaxed) {
            let body = json!({"message_type": "MESG", "user_id": format!("u{c}"),
                "message": format!("message {}", tally.done)});
            let result = conn
                .call("POST", &paths[c], &auth, body.to_string().as_bytes())
                .and_then(|a| match (a.status, a.body["message_id"].as_u64()) {
                    (200, Some(_)) => Ok(()),
                    _ => Err(format!("send: {} {}", a.status, a.body)),
                });
            tally.count(result, &mut conn);
        }
        tally.parts()
    });
    running.stop().expect("stop the Sendbird server");
    ok
}

fn main() {
    let clients = arg("--clients", 32) as usize;
    let seconds = arg("--seconds", 10);
    let running = start(Config {
        seed: 1,
        ..Config::default()
    })
    .expect("start the server");
    let keys = Keys::from_seed(1);
    let addr = running.addr;
    let ok_send = phase("send", addr, &keys, clients, seconds, false);
    let ok_mixed = phase("mixed", addr, &keys, clients, seconds, true);
    running.stop().expect("stop the server");
    let ok_sendbird = sendbird_phase(clients, seconds);
    if !(ok_send && ok_mixed && ok_sendbird) {
        std::process::exit(1);
    }
}
