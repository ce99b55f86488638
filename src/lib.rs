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
//! ## Layout
//!
//! - [`core`]: the pure state machine: [`State`], [`Command`], [`Reply`], [`Error`].
//! - [`sim`]: the shell: [`Simulator`], its clock, queue, seeded streams and trace.
//! - [`profile`]: platform profiles as data ([`Profile::acs`], [`Profile::twilio`]).
//! - [`channel`]: SMS, MMS and WhatsApp rules: segments, addresses, the media
//!   table, carrier parameters.
//! - [`scenario`]: scenario files (`switchboard run FILE`).
//! - [`time`]: virtual [`Instant`]s and [`Duration`]s.
//! - [`wire`]: each platform's wire shapes, outside the core: error bodies
//!   ([`wire::render_error`]), reply JSON and the token text.

#![deny(missing_docs)]

pub mod core;
#[doc(hidden)]
pub mod fuzz;
pub mod id;
pub mod profile;
pub mod rules;
pub mod scenario;
#[cfg(feature = "server")]
pub mod server;
pub mod sim;
pub mod time;
pub mod wire;

pub use crate::core::{
    Caller, Command, ConversationState, Error, Kind, MessageKind, NoticeKind, Reply, State,
};
pub use crate::id::{MessageId, ParseIdError, ThreadId, TokenId, UserId};
pub use crate::profile::Profile;
pub use crate::sim::{Client, SimBuilder, Simulator};
pub use crate::time::{Duration, Instant};

/// The README's Rust examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
