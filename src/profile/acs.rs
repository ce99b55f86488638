//! The `acs` profile: Azure Communication Services chat, identity and its SMS
//! API. Every value carries its source by this key: A1 the Chat REST API specification (2021-09-07) and its
//! examples, A3 its 2025-03-15 version, A5 the Identity API specification, A6
//! the SMS API specification, A7 "Service limits", A8 "Chat concepts", A9
//! "Identity model", A10 the SMS FAQ, A11 the SMS SDK error codes, T2
//! Twilio's "Conversations limits"; seed 000 and 002 are the project's seed
//! documents. Values chosen where the sources are silent are listed in the
//! fidelity notes (`docs/fidelity.md`).

use std::collections::BTreeMap;

use super::{
    Carriers, Consequence, ErrorStyle, InvalidParticipantReport, MINUTE, Operation, Profile,
    RateLimit, RetentionRules, SECOND, SmsSendRules, SystemMessageKind, TokenRules,
};
use crate::rules::ChatMediaRules;

impl Profile {
    /// Azure Communication Services chat.
    pub fn acs() -> Profile {
        Profile {
            name: "acs".to_string(),
            error_style: ErrorStyle::Acs,
            // A7, A8
            participants_per_thread_max: 250,
            participants_per_create_max: 200,
            participants_per_add_max: 200,
            // "approximately 28 KB" (A7, A8); counted as UTF-8 bytes of content.
            message_bytes_max: 28 * 1024,
            // Not documented for ACS; Twilio's friendly_name limit of 256 (T2).
            topic_chars_max: 256,
            // Metadata total at most 1 KB (A3).
            metadata_bytes_max: 1024,
            identity_chars_max: 256,
            page_size_max: 200,
            page_size_default: 100,
            // A7, A8: read receipts and typing not supported above 20 participants.
            receipts_participants_max: Some(20),
            rate_limits: acs_rate_limits(),
            // "Throttled requests still count" (A7): do not retry at once.
            throttled_calls_count: true,
            // The Chat API specification's example ListChatMessagesWithPageSize
            // (A1): a history starts with participantAdded (sequence 1), then
            // topicUpdated (2).
            history_opening: vec![
                SystemMessageKind::ParticipantAdded,
                SystemMessageKind::TopicUpdated,
            ],
            // The Chat API specification's examples (A1): the call succeeds
            // (201) and lists each unknown participant with code "404" and
            // message "Not found".
            invalid_participants: Some(InvalidParticipantReport {
                code: "404".to_string(),
                message: "Not found".to_string(),
            }),
            profile_images: false,
            metacounters: None,
            // "delete after 30 to 90 days" (A7, A8, seed 002).
            retention: Some(RetentionRules {
                days_min: 30,
                days_max: 90,
            }),
            // Seed 002: a deleted thread can be retrieved by support within 30 days.
            recovery_window_ms: Some(30 * 86_400_000),
            tokens: Some(acs_tokens()),
            conversation_states: None,
            // A8: threads per user unlimited.
            threads_per_identity_max: None,
            // Chat messages carry no media in the Chat API specification
            // modelled here (A1): Twilio's numbers, from its "Conversations
            // limits" (T2; the count a gap).
            chat_media: ChatMediaRules::twilio(),
            // ACS chat threads hold chat users only (A8).
            non_chat: None,
            // A6: send SMS to 1..100 recipients, message at most 2048 characters.
            sms_send: Some(SmsSendRules {
                recipients_max: 100,
                body_chars_max: 2048,
            }),
            // SMS delivery reports (the SMS API specification, A6, and its
            // SDK error codes, A11); no WhatsApp.
            carriers: Some(Carriers::acs()),
        }
    }
}

/// ACS access tokens.
fn acs_tokens() -> TokenRules {
    use Operation::*;
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // "Identity model" (A9): managing threads needs
    // `chat`; adding and removing participants `chat` or `chat.join`; every
    // other chat call any chat scope. The voip scopes allow no chat call.
    // Calls ACS does not have follow the same rule (a Twilio state change
    // counts as a thread update; Sendbird's profile image and metacounter
    // calls as any other call), so that a profile that takes ACS's tokens
    // has a whole matrix.
    let mut scope_matrix = BTreeMap::new();
    for op in [CreateThread, UpdateThread, DeleteThread] {
        scope_matrix.insert(op, names(&["chat"]));
    }
    scope_matrix.insert(UpdateRoster, names(&["chat", "chat.join"]));
    for op in [
        GetThread,
        ListThreads,
        ListParticipants,
        SendMessage,
        SendFileMessage,
        GetMessage,
        ListMessages,
        UpdateMessage,
        DeleteMessage,
        SendTyping,
        SendReadReceipt,
        ListReadReceipts,
        UpdateProfileImage,
        UpdateMetacounter,
    ] {
        scope_matrix.insert(op, names(&["chat", "chat.join", "chat.join.limited"]));
    }
    TokenRules {
        // expiresInMinutes 60..=1440, default 1440 (A5).
        minutes_min: 60,
        minutes_max: 1440,
        minutes_default: 1440,
        // A9 says revocation may take up to 15 minutes; immediate by default.
        revocation_delay_ms: 0,
        // The Identity API specification's scope enum (A5), in its order
        // (the bits of the token's `scp`).
        scopes: names(&[
            "chat",
            "chat.join",
            "chat.join.limited",
            "voip",
            "voip.join",
        ]),
        scope_matrix,
    }
}

/// ACS: the chat and identity throttling tables of seed 000 (service limits,
/// 2021). Rows without numbers there (get message; update roster per user per
/// thread) have no limit.
fn acs_rate_limits() -> Vec<RateLimit> {
    use super::Scope::*;
    use Operation::*;
    const IDENTITY: [Operation; 4] = [CreateIdentity, DeleteIdentity, IssueToken, RevokeTokens];
    vec![
        RateLimit::new(&[SendMessage, SendFileMessage], Thread, MINUTE, 2000),
        RateLimit::new(&[SendMessage, SendFileMessage], UserThread, MINUTE, 50),
        RateLimit::new(&[ListMessages], UserThread, 5 * SECOND, 15),
        RateLimit::new(&[ListMessages], Thread, 5 * SECOND, 250),
        RateLimit::new(&[UpdateMessage], UserThread, 5 * SECOND, 3),
        RateLimit::new(&[UpdateMessage], UserThread, MINUTE, 30),
        RateLimit::new(&[UpdateMessage], UserThread, 3 * MINUTE, 60),
        RateLimit::new(&[GetThread], UserThread, 5 * SECOND, 10),
        RateLimit::new(&[GetThread], User, 5 * SECOND, 20),
        RateLimit::new(&[ListThreads], User, 5 * SECOND, 40),
        RateLimit::new(&[UpdateRoster], Thread, 5 * MINUTE, 25),
        RateLimit::new(&[UpdateRoster], User, MINUTE, 25),
        // Identity: per resource.
        RateLimit::new(&[CreateIdentity], Resource, 30 * SECOND, 500),
        RateLimit::new(&[DeleteIdentity], Resource, 30 * SECOND, 500),
        RateLimit::new(&[IssueToken], Resource, 30 * SECOND, 500),
        RateLimit::new(&[RevokeTokens], Resource, SECOND, 100),
        // "Global limit per request": every identity call.
        RateLimit::new(&IDENTITY, Resource, 30 * SECOND, 5000),
        // SMS throughput per number: over it, messages are queued and sent
        // once the number is back under the limit (A7, A10).
        RateLimit::new(&[SendSmsTollFree], Sender, MINUTE, 200).consequence(Consequence::Queue),
        RateLimit::new(&[SendSmsShortCode], Sender, MINUTE, 6000).consequence(Consequence::Queue),
    ]
}
