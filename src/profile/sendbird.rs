//! The `sendbird` profile: Sendbird Chat, with group
//! channels as threads, its per-user and per-channel message caps, SDK method
//! limits, profile images and channel metacounters. Every value carries its
//! source by this key or names Sendbird's documentation: S1
//! "Platform API error codes", S3 the SDKs' "Rate limits" pages, S4
//! "Application overview" and "Smart throttling"; seed 004 is the project's
//! seed document. Values chosen where the sources are silent are listed in
//! the fidelity notes (`docs/fidelity.md`).

use super::{
    Consequence, ErrorStyle, MINUTE, MetacounterRules, Operation, Profile, RateLimit, SECOND,
    SystemMessageKind,
};
use crate::rules::ChatMediaRules;

impl Profile {
    /// Sendbird: group channels as threads.
    pub fn sendbird() -> Profile {
        Profile {
            name: "sendbird".to_string(),
            error_style: ErrorStyle::Sendbird,
            // Sendbird group channels: 100 members by default (Supergroups aside).
            participants_per_thread_max: 100,
            participants_per_create_max: 100,
            participants_per_add_max: 100,
            // Sendbird's default message length limit is 5000 characters; the
            // simulator counts UTF-8 bytes, as for the other profiles.
            message_bytes_max: 5000,
            topic_chars_max: 256,
            metadata_bytes_max: 1024,
            identity_chars_max: 80,
            // Platform API list limit: 1..100, default 10.
            page_size_max: 100,
            page_size_default: 10,
            // Sendbird's documentation restricts receipts and typing by no channel size.
            receipts_participants_max: None,
            rate_limits: sendbird_rate_limits(),
            throttled_calls_count: false,
            // ACS's opening, kept: a Sendbird group channel's history holds
            // only what is sent to it (no system messages in),
            // but dropping the opening would renumber the sendbird fixture.
            history_opening: vec![
                SystemMessageKind::ParticipantAdded,
                SystemMessageKind::TopicUpdated,
            ],
            // Sendbird's errors carry one code and no list ("Platform API
            // error codes", S1): a call naming a user who does not exist is
            // refused whole (404, 400201).
            invalid_participants: None,
            profile_images: true,
            // Channel metacounters (the SDKs' "Rate limits", S3, name the
            // call); keys up to 128 characters, as Sendbird's metadata keys
            // (a gap).
            metacounters: Some(MetacounterRules { key_chars_max: 128 }),
            retention: None,
            recovery_window_ms: None,
            // Sendbird's session tokens are not modelled.
            tokens: None,
            conversation_states: None,
            threads_per_identity_max: None,
            // File messages: Sendbird's documentation gives no size or count; Twilio's
            // numbers (a gap).
            chat_media: ChatMediaRules::twilio(),
            // Group channels hold app users only: no SMS, no WhatsApp, no
            // carrier.
            non_chat: None,
            sms_send: None,
            carriers: None,
        }
    }
}

/// Sendbird (seed 004): per-user message cap, per-channel display cap, SDK
/// methods per user per second and per minute, real-time events.
fn sendbird_rate_limits() -> Vec<RateLimit> {
    use super::Scope::*;
    use Operation::*;
    let method = |ops: &[Operation], per_second: u32, per_minute: u32| {
        [
            RateLimit::new(ops, User, SECOND, per_second),
            RateLimit::new(ops, User, MINUTE, per_minute),
        ]
    };
    let mut limits = vec![
        // Five messages per second per user: the excess is neither sent nor
        // stored (the socket event "sending a message", 5/s).
        RateLimit::new(&[SendMessage, SendFileMessage], User, SECOND, 5).on_socket(),
        // Five messages per second per channel are shown; the excess is
        // stored but not displayed.
        RateLimit::new(&[SendMessage, SendFileMessage], Thread, SECOND, 5)
            .consequence(Consequence::Hide),
        // Events: mark as read 3/s; typing 0.1/s per user and channel; other
        // events (edits among them) 3/s.
        RateLimit::new(&[SendReadReceipt], User, SECOND, 3).on_socket(),
        RateLimit::new(&[SendTyping], UserThread, 10 * SECOND, 1).on_socket(),
        RateLimit::new(&[UpdateMessage, SendFileMessage], User, SECOND, 3).on_socket(),
    ];
    limits.extend(method(
        &[
            ListThreads,
            ListParticipants,
            ListMessages,
            ListReadReceipts,
        ],
        20,
        120,
    ));
    limits.extend(method(&[GetThread, GetMessage], 20, 120));
    limits.extend(method(&[CreateThread], 10, 120));
    limits.extend(method(
        &[UpdateThread, UpdateRoster, UpdateMessage],
        10,
        120,
    ));
    limits.extend(method(&[DeleteThread, DeleteMessage], 10, 120));
    limits.extend(method(&[UpdateProfileImage], 2, 40));
    limits.extend(method(&[SendFileMessage], 4, 60));
    limits.extend(method(&[UpdateMetacounter], 20, 400));
    limits
}
