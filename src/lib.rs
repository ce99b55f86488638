//! # switchboard
//!
//! A deterministic, single-threaded, discrete-event simulator of hosted
//! messaging platforms on a virtual clock. Run your application's tests against
//! it instead of the cloud service: the real limits and the real errors (403,
//! 404, 429 with an exact retry-after), no network, no sleeps, no flakiness. A run
//! replays byte for byte from its seed.
//!
//! ## Quick start
//!
//! ```
//! use switchboard::{Duration, Kind, NoticeKind, Simulator};
//!
//! /// A lunch date on a simulated Azure Communication Services chat resource.
//! fn lunch(seed: u64) -> Simulator {
//!     let mut sim = Simulator::builder().seed(seed).build();
//!     let alice = sim.create_user("alice").unwrap();
//!     let bob = sim.create_user("bob").unwrap();
//!     let eve = sim.create_user("eve").unwrap();
//!
//!     // Alice creates a thread with Bob (she joins it automatically) and writes.
//!     let thread = sim.client(alice).create_thread("Lunch?", &[bob]).unwrap();
//!     let hello = sim.client(alice).send_message(thread, "12:30 at the usual place?").unwrap();
//!
//!     // Time is virtual: a minute passes instantly.
//!     sim.advance(Duration::from_mins(1));
//!     sim.client(bob).send_message(thread, "See you there").unwrap();
//!
//!     // Bob received Alice's message in real time; Eve is not a participant.
//!     assert!(sim.inbox(bob).iter().any(|n| n.kind == NoticeKind::ChatMessageReceived));
//!     let refused = sim.client(eve).get_message(hello).unwrap_err();
//!     assert_eq!(refused.kind(), Kind::Forbidden);
//!     assert_eq!(refused.status(), 403);
//!
//!     // Only the sender may edit; ACS's limit of 50 sends per user per thread
//!     // per minute answers 429 with the exact wait.
//!     assert_eq!(sim.client(bob).update_message(hello, "no").unwrap_err().status(), 403);
//!     let mut last = Ok(hello);
//!     for i in 0..51 {
//!         last = sim.client(alice).send_message(thread, &format!("spam {i}"));
//!     }
//!     let throttled = last.unwrap_err();
//!     assert_eq!(throttled.status(), 429);
//!     sim.advance(Duration::from_ms(throttled.retry_after_ms().unwrap()));
//!     assert!(sim.client(alice).send_message(thread, "back").is_ok());
//!
//!     // A fork is an O(1) independent copy: try a "what if" without touching the original.
//!     let mut what_if = sim.fork();
//!     what_if.client(alice).delete_thread(thread).unwrap();
//!     assert!(sim.client(bob).get_thread(thread).is_ok());
//!
//!     // The branch made one more call, so its digest is not the original's.
//!     assert_ne!(what_if.digest(), sim.digest());
//!     sim
//! }
//!
//! // The trace is the run's record; its digest pins it. The same seed and the
//! // same calls replay it byte for byte.
//! let sim = lunch(7);
//! println!("{}", sim.trace().render());
//! assert_eq!(lunch(7).trace().jsonl(), sim.trace().jsonl());
//! assert_eq!(lunch(7).digest(), sim.digest());
//! ```
//!
//! ## The virtual clock and ordering
//!
//! Time is virtual: the simulator reads no wall clock and never sleeps. It
//! jumps from one due instant to the next. [`Simulator::advance`] moves the
//! clock forward by a [`Duration`]; [`Simulator::run_until`] moves it to an
//! [`Instant`]; both run everything due on the way. A call made through a
//! [`Client`] runs now; [`Simulator::schedule`] queues a [`Command`] for later.
//!
//! Within one instant the order is fixed: the core's timers first (retention
//! deletions, purges, Twilio's inactive and closed timers), then reports (carrier
//! receipts), then commands, each in the order they were scheduled.
//!
//! ```
//! use switchboard::{ChatCall, Command, ContentType, Duration, Simulator};
//!
//! let mut sim = Simulator::builder().seed(1).build();
//! let ana = sim.create_user("ana").unwrap();
//! let thread = sim.client(ana).create_thread("Plans", &[]).unwrap();
//! let send = |text: &str| {
//!     Command::Chat(ChatCall::SendMessage {
//!         thread,
//!         content: text.into(),
//!         content_type: ContentType::Text,
//!         metadata: Default::default(),
//!         media: vec![],
//!         template: None,
//!     })
//! };
//! let at = sim.now() + Duration::from_secs(5);
//! sim.schedule(at, ana, send("first")).unwrap();
//! sim.schedule(at, ana, send("second")).unwrap();
//! assert_eq!(sim.pending(), 2);
//!
//! sim.run_until(at); // both run, in the order they were scheduled
//! assert_eq!(sim.pending(), 0);
//! assert_eq!(sim.now(), at);
//! let texts: Vec<_> = sim.inspect().messages(thread).unwrap().into_iter()
//!     .filter_map(|m| m.content.map(|c| c.to_string()))
//!     .collect();
//! assert_eq!(texts, ["first", "second"]);
//! ```
//!
//! ## Determinism
//!
//! A run is a function of its seed and its calls: the same seed and the same
//! calls give the same trace, byte for byte, on any machine. All randomness
//! (carrier latencies and outcomes) comes from one seeded stream per subsystem;
//! ids come from counters. [`Simulator::digest`] pins a run in 16 hex digits,
//! and [`Trace::jsonl`] is the run's record:
//!
//! ```
//! use switchboard::{Duration, Simulator};
//!
//! let run = |seed| {
//!     let mut sim = Simulator::builder().seed(seed).build();
//!     let ana = sim.create_user("ana").unwrap();
//!     let t = sim.client(ana).create_thread("Standup", &[]).unwrap();
//!     sim.advance(Duration::from_mins(1));
//!     sim.client(ana).send_message(t, "done").unwrap();
//!     sim
//! };
//! assert_eq!(run(3).trace().jsonl(), run(3).trace().jsonl());
//! assert_eq!(run(3).digest(), run(3).digest());
//! assert_eq!(run(3).digest().len(), 16);
//! ```
//!
//! ## Errors
//!
//! Every refusal is one type, [`Error`]: a variant with typed facts (which
//! limit, which thread, how large). [`Error::kind`] gives its canonical
//! [`Kind`] (`forbidden`, `rate_limited`, … as scenario files name them),
//! [`Error::status`] its HTTP status and [`Error::retry_after_ms`] the exact
//! wait of a 429. [`wire::render_error`] renders the body the platform would
//! send, in the profile's [`ErrorStyle`]. A refused call changes nothing. Both
//! `Kind` and `Error` may grow as platforms do, so a `match` on them ends with a
//! wildcard arm.
//!
//! ```
//! use switchboard::{Error, Kind, Simulator};
//!
//! let mut sim = Simulator::builder().seed(1).build();
//! let ana = sim.create_user("ana").unwrap();
//! let t = sim.client(ana).create_thread("Busy", &[]).unwrap();
//! // ACS: 50 sends per user per thread per minute.
//! let error = (0..51)
//!     .map(|i| sim.client(ana).send_message(t, &format!("m{i}")))
//!     .find_map(Result::err)
//!     .unwrap();
//! assert_eq!((error.kind(), error.status()), (Kind::RateLimited, 429));
//! match &error {
//!     Error::RateLimited { window_ms, count, retry_after_ms, .. } => {
//!         assert_eq!((*window_ms, *count), (60_000, 50));
//!         assert_eq!(Some(*retry_after_ms), error.retry_after_ms());
//!     }
//!     other => panic!("not a rate limit: {other}"),
//! }
//! let body = switchboard::wire::render_error(&error, sim.profile().error_style);
//! assert_eq!(body["error"]["code"], "TooManyRequests");
//! ```
//!
//! `docs/errors.md` lists every kind, the precedence of the checks, and each
//! platform's codes and bodies.
//!
//! ## Forking
//!
//! [`Simulator::fork`] is an O(1) independent copy of the whole simulation (the
//! state is persistent maps; a write copies only what it touches). Try a "what
//! if" on the fork; the original goes on untouched:
//!
//! ```
//! use switchboard::Simulator;
//!
//! let mut sim = Simulator::builder().seed(1).build();
//! let ana = sim.create_user("ana").unwrap();
//! let t = sim.client(ana).create_thread("Draft", &[]).unwrap();
//! let mut branch = sim.fork();
//! branch.client(ana).delete_thread(t).unwrap();
//! assert!(branch.inspect().thread(t).is_none());
//! assert!(sim.inspect().thread(t).is_some());
//! ```
//!
//! ## Inspection
//!
//! [`Simulator::inspect`] is a read-only view for assertions: threads,
//! messages, participants, an identity's inbox, the outbox of SMS and WhatsApp
//! deliveries, and how long a call would wait for the rate limits
//! ([`Inspect::wait_for_limits`]). It changes nothing (state, clock, trace) and
//! counts against no limit, so the digest stays as it was:
//!
//! ```
//! use switchboard::{Duration, NoticeKind, Operation, OutboxFilter, Simulator};
//!
//! let mut sim = Simulator::builder().seed(1).build();
//! let (ana, bo) = (sim.create_user("ana").unwrap(), sim.create_user("bo").unwrap());
//! let t = sim.client(ana).create_thread("Lunch?", &[bo]).unwrap();
//! sim.client(ana).send_message(t, "12:30?").unwrap();
//!
//! let digest = sim.digest();
//! let view = sim.inspect();
//! assert_eq!(view.threads().len(), 1);
//! assert_eq!(view.participants(t).unwrap().len(), 2);
//! assert!(view.messages(t).unwrap().iter().any(|m| m.content.as_deref() == Some("12:30?")));
//! assert!(view.inbox(bo).iter().any(|n| n.kind == NoticeKind::ChatMessageReceived));
//! assert!(view.outbox(&OutboxFilter::default()).is_empty()); // no SMS on this thread
//! assert_eq!(view.wait_for_limits(ana, Operation::SendMessage, Some(t)), Duration::ZERO);
//! assert_eq!(sim.digest(), digest);
//! ```
//!
//! ## Scenarios and the command line
//!
//! A scenario file (JSON: a profile, a seed, users and timed steps with what each
//! must answer) runs with `switchboard run FILE`, or from Rust with
//! [`scenario::parse`] and [`scenario::run`]; `switchboard serve` puts the
//! simulator behind ACS's REST APIs. The formats, the command line and the
//! server are documented in the repository's `docs/` folder.
//!
//! ## Layout
//!
//! - [`core`]: the pure state machine: [`State`], [`Command`], [`Reply`], [`Error`].
//! - [`sim`]: the shell: [`Simulator`], its clock, queue, seeded streams and trace.
//! - [`profile`]: platform profiles as data ([`Profile::acs`], [`Profile::twilio`],
//!   [`Profile::sendbird`]).
//! - [`rules`]: SMS, MMS and WhatsApp rules: segments, addresses, the media
//!   table; carrier parameters are in [`profile::carrier`].
//! - [`scenario`]: scenario files (`switchboard run FILE`).
//! - [`time`]: virtual [`Instant`]s and [`Duration`]s.
//! - [`wire`]: each platform's wire shapes, outside the core: error bodies
//!   ([`wire::render_error`]), reply JSON and the token text.
//! - [`id`]: typed ids of users, threads, messages and tokens.

#![deny(missing_docs)]

pub mod core;
#[doc(hidden)]
pub mod fuzz;
pub mod id;
pub mod profile;
pub mod research;
pub mod rules;
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
pub mod sim;
pub mod time;
pub mod wire;

pub use crate::core::{
    BindingSpec, Caller, CarrierCall, ChatCall, Command, ContentType, ConversationState,
    DeliveryView, Error, Event, Kind, MessageKind, MessageView, NoticeKind, Notification,
    OutboxFilter, Page, PageRequest, ParticipantSpec, ParticipantView, Reply, Retention,
    ServiceCall, State, StateChangeReason, ThreadOptions, ThreadView,
};
pub use crate::id::{MessageId, ParseIdError, ThreadId, TokenId, UserId};
pub use crate::profile::{ErrorStyle, Operation, Profile, Scope};
pub use crate::rules::{Channel, Route, Status};
pub use crate::scenario::{RunOptions, RunReport, Scenario};
pub use crate::sim::{Client, Inspect, SimBuilder, Simulator, Trace};
pub use crate::time::{Duration, Instant};

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
