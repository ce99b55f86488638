//! The harnesses behind the fuzz targets (`fuzz/`), shared with the tests
//! that replay their corpus and every input that ever failed, so that a fixed
//! crash stays fixed under `cargo test` on stable Rust.
//!
//! - [`scenario`]: arbitrary bytes as a scenario file: parsing never panics;
//!   a file that parses runs without panicking, twice to the same digest.
//! - [`commands`]: arbitrary bytes decoded into a world on one of the three
//!   profiles and a sequence of calls of every family (chat, service, carrier)
//!   with clock advances between them, up to the end of virtual time. After
//!   every call the state's invariants hold; a refused call changes nothing
//!   (but for the count of a throttled call where the profile counts them);
//!   the same bytes replay to the same digest.
//!
//! A property that does not hold panics with a message that names it: that is
//! how a fuzzer sees a finding.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::core::{
    BindingSpec, CarrierCall, ChatCall, Command, ContentType, ConversationState, PageRequest,
    ParticipantSpec, Retention, ServiceCall, StateTimers, ThreadOptions,
};
use crate::id::{MessageId, ThreadId, TokenId, UserId};
use crate::profile::Profile;
use crate::rules::{Channel, Media};
use crate::sim::Simulator;
use crate::time::{Duration, Instant};
use crate::{Caller, Error, Reply};

/// The most steps a scenario input runs (a bound on one input's time).
pub const SCENARIO_STEPS_MAX: usize = 256;

/// The most calls one command input makes.
pub const CALLS_MAX: usize = 96;

/// Parses `data` as a scenario file and, if it parses, runs it twice;
/// whether it ran.
pub fn scenario(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(parsed) = crate::scenario::parse(text, Some(1)) else {
        return false;
    };
    let generated = parsed
        .workload
        .as_ref()
        .map_or(0, |w| w.expected_calls() as usize);
    if parsed.steps.len().saturating_add(generated) > SCENARIO_STEPS_MAX {
        return false;
    }
    let first = crate::scenario::run_with(&parsed, Default::default(), |_| {});
    let second = crate::scenario::run_with(&parsed, Default::default(), |_| {});
    assert_eq!(
        first.digest, second.digest,
        "a scenario replays to its digest"
    );
    true
}

/// Decodes `data` into calls on a small world and checks every property;
/// how many of its calls were accepted.
pub fn commands(data: &[u8]) -> usize {
    let (first, accepted) = run(data, true);
    let (second, _) = run(data, false);
    assert_eq!(first, second, "the same calls replay to the same digest");
    accepted
}

/// Runs the calls `data` decodes to; returns the digest and how many calls
/// were accepted.
fn run(data: &[u8], check: bool) -> (String, usize) {
    let mut accepted = 0;
    let mut bytes = Bytes { data, at: 0 };
    let profile = match bytes.below(3) {
        0 => Profile::acs(),
        1 => Profile::twilio(),
        _ => Profile::sendbird(),
    };
    let counts_throttled = profile.throttled_calls_count;
    let mut world = World {
        sim: Simulator::builder()
            .seed(u64::from(bytes.byte()))
            .profile(profile)
            .build(),
        users: Vec::new(),
        threads: Vec::new(),
        tokens: Vec::new(),
    };
    for name in USERS.iter().take(4) {
        let user = world.sim.declare_user(name, None).expect("fresh names");
        world.users.push(user);
    }
    for _ in 0..CALLS_MAX {
        if bytes.is_empty() {
            break;
        }
        if bytes.below(8) == 0 {
            let d = world.advance(&mut bytes);
            world.sim.advance(d);
        } else {
            let (caller, command) = world.call(&mut bytes);
            let before = check.then(|| world.sim.state().clone());
            let result = world.sim.execute(caller, &command);
            accepted += usize::from(result.is_ok());
            world.remember(&command, &result);
            if let Some(before) = before {
                let after = world.sim.state();
                if let Err(broken) = after.check_invariants() {
                    panic!("invariant broken after {command:?}: {broken}");
                }
                let throttled = matches!(result, Err(Error::RateLimited { .. }));
                if result.is_err() && !(throttled && counts_throttled) {
                    assert!(after == &before, "refused {command:?} changed the state");
                }
            }
        }
    }
    (world.sim.digest(), accepted)
}

/// Identity names: the world's four, one more, one too long, one empty.
const USERS: [&str; 7] = ["ana", "bo", "cy", "di", "eve", "", "x"];

/// Addresses: valid E.164 numbers and WhatsApp addresses, and malformed ones.
const ADDRESSES: [&str; 8] = [
    "+14255550100",
    "+14255550101",
    "+18005550199",
    "+18005550198",
    "whatsapp:+14255550102",
    "whatsapp:+18005550199",
    "12345",
    "not a number",
];

const CONTENT_TYPES: [&str; 4] = ["image/png", "video/mp4", "application/pdf", "text/x-nope"];

const SCOPES: [&str; 6] = [
    "chat",
    "chat.join",
    "chat.join.limited",
    "voip",
    "voip.join",
    "?",
];

/// The input as a stream of small choices; an exhausted stream reads zeros.
struct Bytes<'d> {
    data: &'d [u8],
    at: usize,
}

impl Bytes<'_> {
    fn is_empty(&self) -> bool {
        self.at >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn text(&mut self) -> Arc<str> {
        let pieces = [
            "hi",
            "héllo",
            "😀",
            "<b>x</b><script>y</script>",
            "{",
            "",
            "€[]",
        ];
        // Mostly short, sometimes empty, rarely over every size limit.
        let n = [1, 1, 2, 3, 1, 2, 1, 0][self.below(8)];
        let mut text = String::new();
        for _ in 0..n {
            let piece = *self.pick(&pieces);
            text.push_str(piece);
        }
        if self.below(32) == 0 {
            text.push_str(&"a".repeat(30_000));
        }
        Arc::from(text)
    }
}

/// The world a command input acts on, and what its calls made.
struct World {
    sim: Simulator,
    users: Vec<UserId>,
    threads: Vec<ThreadId>,
    tokens: Vec<TokenId>,
}

impl World {
    fn advance(&self, bytes: &mut Bytes) -> Duration {
        let left = u64::MAX - self.sim.now().ms();
        let ms = match bytes.below(8) {
            0 => 1,
            1 => 999,
            2 => 60_000,
            3 => 3_600_000,
            4 => 86_400_000,
            5 => 31 * 86_400_000,
            6 => 91 * 86_400_000,
            // Near the end of virtual time.
            _ => left.saturating_sub(u64::from(bytes.byte()) * 60_000),
        };
        Duration(ms.min(left))
    }

    fn user(&self, bytes: &mut Bytes) -> UserId {
        match bytes.below(6) {
            5 => UserId(99),
            i => self.users.get(i).copied().unwrap_or(UserId(99)),
        }
    }

    /// Mostly one of the world's users, sometimes a name no one has.
    fn name(&self, bytes: &mut Bytes) -> Arc<str> {
        let n = if bytes.below(4) == 0 { USERS.len() } else { 4 };
        Arc::from(USERS[bytes.below(n)])
    }

    /// Mostly a thread a call made, sometimes one that may not exist.
    fn thread(&self, bytes: &mut Bytes) -> ThreadId {
        if self.threads.is_empty() || bytes.below(8) == 0 {
            return ThreadId(bytes.below(6) as u32);
        }
        *bytes.pick(&self.threads)
    }

    fn message(&self, bytes: &mut Bytes) -> MessageId {
        MessageId {
            thread: self.thread(bytes),
            sequence: bytes.below(8) as u32,
        }
    }

    fn page(&self, bytes: &mut Bytes) -> PageRequest {
        if bytes.below(2) == 0 {
            return PageRequest::default();
        }
        PageRequest {
            page_size: [None, Some(0), Some(1), Some(2), Some(1000)][bytes.below(5)],
            continuation: match bytes.below(4) {
                0 => Some(format!("c{}", bytes.below(6))),
                1 => Some("zz".to_string()),
                _ => None,
            },
        }
    }

    fn media(&self, bytes: &mut Bytes) -> Vec<Media> {
        if bytes.below(4) != 0 {
            return Vec::new();
        }
        (0..bytes.below(4))
            .map(|_| Media {
                content_type: Arc::from(*bytes.pick(&CONTENT_TYPES)),
                bytes: [0, 1024, 2 << 20, 6 << 20, 200 << 20][bytes.below(5)],
                name: None,
            })
            .collect()
    }

    fn participants(&self, bytes: &mut Bytes) -> Vec<ParticipantSpec> {
        (0..bytes.below(4))
            .map(|_| ParticipantSpec {
                user: self.name(bytes),
                display_name: None,
                share_history_from: bytes.flag().then(|| Instant(bytes.below(4) as u64 * 1000)),
            })
            .collect()
    }

    fn bindings(&self, bytes: &mut Bytes) -> Vec<BindingSpec> {
        if bytes.below(3) != 0 {
            return Vec::new();
        }
        (0..bytes.below(3))
            .map(|_| BindingSpec {
                channel: if bytes.flag() {
                    Channel::Whatsapp
                } else {
                    Channel::Sms
                },
                address: Arc::from(*bytes.pick(&ADDRESSES)),
                proxy: Arc::from(*bytes.pick(&ADDRESSES[..5])),
            })
            .collect()
    }

    fn options(&self, bytes: &mut Bytes) -> ThreadOptions {
        if bytes.below(4) != 0 {
            return ThreadOptions::default();
        }
        let timer = |bytes: &mut Bytes| {
            [None, Some("PT1M"), Some("PT10M"), Some("P1Y"), Some("PT0S")][bytes.below(5)]
                .map(Arc::from)
        };
        ThreadOptions {
            retention: match bytes.below(4) {
                0 => Some(Retention::None),
                1 => Some(Retention::DeleteAfterDays([1, 30, 90, 91][bytes.below(4)])),
                _ => None,
            },
            state: match bytes.below(5) {
                0 => Some(ConversationState::Active),
                1 => Some(ConversationState::Inactive),
                2 => Some(ConversationState::Closed),
                _ => None,
            },
            timers: bytes.flag().then(|| StateTimers {
                inactive: timer(bytes),
                closed: timer(bytes),
            }),
        }
    }

    /// One call: who makes it and what it is.
    fn call(&self, bytes: &mut Bytes) -> (Caller, Command) {
        let token = match bytes.below(8) {
            0 if !self.tokens.is_empty() => Some(*bytes.pick(&self.tokens)),
            _ => None,
        };
        let caller = Caller {
            user: Some(self.user(bytes)),
            connection: bytes.below(2) as u32,
            token,
        };
        let service = Caller::default();
        let command = match bytes.below(28) {
            0 => ChatCall::CreateThread {
                topic: bytes.text(),
                participants: self.participants(bytes),
                bindings: self.bindings(bytes),
                idempotency_key: bytes.flag().then(|| Arc::from("k")),
                options: self.options(bytes),
            }
            .into(),
            1 => ChatCall::GetThread {
                thread: self.thread(bytes),
            }
            .into(),
            2 => ChatCall::ListThreads {
                page: self.page(bytes),
            }
            .into(),
            3 => ChatCall::UpdateThread {
                thread: self.thread(bytes),
                topic: bytes.flag().then(|| bytes.text()),
                options: self.options(bytes),
            }
            .into(),
            4 => ChatCall::DeleteThread {
                thread: self.thread(bytes),
            }
            .into(),
            5 => ChatCall::AddParticipants {
                thread: self.thread(bytes),
                participants: self.participants(bytes),
            }
            .into(),
            6 => ChatCall::RemoveParticipant {
                thread: self.thread(bytes),
                user: self.name(bytes),
            }
            .into(),
            7 => ChatCall::ListParticipants {
                thread: self.thread(bytes),
                page: self.page(bytes),
            }
            .into(),
            8..=11 => ChatCall::SendMessage {
                thread: self.thread(bytes),
                content: bytes.text().into(),
                content_type: if bytes.flag() {
                    ContentType::Html
                } else {
                    ContentType::Text
                },
                metadata: match bytes.below(3) {
                    0 => BTreeMap::from([("k".to_string(), "v".repeat(bytes.below(40)))]),
                    _ => BTreeMap::new(),
                },
                media: self.media(bytes),
                template: bytes.flag().then(|| Arc::from("t")),
            }
            .into(),
            12 => ChatCall::GetMessage {
                message: self.message(bytes),
            }
            .into(),
            13 => ChatCall::ListMessages {
                thread: self.thread(bytes),
                page: self.page(bytes),
                start_time: bytes.flag().then(|| Instant(bytes.below(4) as u64 * 1000)),
            }
            .into(),
            14 => ChatCall::UpdateMessage {
                message: self.message(bytes),
                content: bytes.text(),
            }
            .into(),
            15 => ChatCall::DeleteMessage {
                message: self.message(bytes),
            }
            .into(),
            16 => ChatCall::SendTyping {
                thread: self.thread(bytes),
            }
            .into(),
            17 => ChatCall::SendReadReceipt {
                message: self.message(bytes),
            }
            .into(),
            18 => ChatCall::ListReadReceipts {
                thread: self.thread(bytes),
                page: self.page(bytes),
            }
            .into(),
            19 => ChatCall::UpdateProfileImage {
                bytes: [0, 1, 1 << 20][bytes.below(3)],
            }
            .into(),
            20 => ChatCall::UpdateMetacounter {
                thread: self.thread(bytes),
                key: bytes.text(),
                delta: [1, -1, i64::MAX, i64::MIN][bytes.below(4)],
            }
            .into(),
            21 => ChatCall::SetState {
                thread: self.thread(bytes),
                state: *bytes.pick(&[
                    ConversationState::Active,
                    ConversationState::Inactive,
                    ConversationState::Closed,
                ]),
            }
            .into(),
            22 => ChatCall::AddBindings {
                thread: self.thread(bytes),
                bindings: self.bindings(bytes),
            }
            .into(),
            23 => ChatCall::RemoveBinding {
                thread: self.thread(bytes),
                channel: if bytes.flag() {
                    Channel::Whatsapp
                } else {
                    Channel::Sms
                },
                address: Arc::from(*bytes.pick(&ADDRESSES)),
            }
            .into(),
            24 => {
                let command = match bytes.below(5) {
                    0 => ServiceCall::CreateUser {
                        id: self.name(bytes),
                        display_name: None,
                    },
                    1 => ServiceCall::DeleteUser {
                        user: self.name(bytes),
                    },
                    2 => ServiceCall::IssueToken {
                        user: self.name(bytes),
                        scopes: (0..bytes.below(3))
                            .map(|_| Arc::from(*bytes.pick(&SCOPES)))
                            .collect(),
                        expires_in_ms: [None, Some(3_600_000), Some(59_000), Some(86_400_000)]
                            [bytes.below(4)],
                    },
                    3 => ServiceCall::RevokeTokens {
                        user: self.name(bytes),
                    },
                    _ => ServiceCall::RecoverThread {
                        thread: self.thread(bytes),
                    },
                };
                return (service, command.into());
            }
            25 => {
                let command = CarrierCall::Inbound {
                    channel: if bytes.flag() {
                        Channel::Whatsapp
                    } else {
                        Channel::Sms
                    },
                    from: Arc::from(*bytes.pick(&ADDRESSES)),
                    to: Arc::from(*bytes.pick(&ADDRESSES)),
                    body: bytes.text(),
                    media: self.media(bytes),
                };
                return (service, command.into());
            }
            _ => {
                let command = CarrierCall::SendSms {
                    from: Arc::from(*bytes.pick(&["+18005550199", "12345", "x"])),
                    to: (0..bytes.below(4))
                        .map(|_| Arc::from(*bytes.pick(&ADDRESSES)))
                        .collect(),
                    message: bytes.text(),
                    delivery_report: bytes.flag(),
                };
                return (service, command.into());
            }
        };
        (caller, command)
    }

    /// Keeps what a call made, for later calls to name.
    fn remember(&mut self, command: &Command, result: &Result<Reply, Error>) {
        match (command, result) {
            (_, Ok(Reply::ThreadCreated { thread, .. })) => self.threads.push(thread.id),
            (_, Ok(Reply::Token(view))) => self.tokens.push(view.id),
            (Command::Service(ServiceCall::CreateUser { id, .. }), Ok(_)) => {
                if let Some(user) = self.sim.user(id) {
                    self.users.push(user);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inputs_of_every_kind_run_clean() {
        for seed in 0u8..=255 {
            let data: Vec<u8> = (0..400u32)
                .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed ^ 0x5a))
                .collect();
            commands(&data);
            scenario(&data);
        }
    }
}
