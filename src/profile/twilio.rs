//! The `twilio` profile: Twilio Conversations, with
//! conversations as threads, SMS and WhatsApp participants, conversation
//! states and timers. Every value carries its source by this key:
//! T1 the Conversations OpenAPI specification, T2 "Conversations limits", T3
//! "States and timers", T4 the changelog "Increasing Actions Per Second for
//! Conversations", T5 Twilio's error pages, T6 "Accepted MIME types", T7
//! "WhatsApp media messages", T10 Flex's "Conversations limits"; seed 001 is
//! the project's seed document. Values chosen where the sources are silent
//! are listed in the fidelity notes (`docs/fidelity.md`).

use super::{
    Carriers, ErrorStyle, InvalidParticipantReport, NonChatRules, Operation, Profile, RateLimit,
    SECOND, StateRules, SystemMessageKind,
};
use crate::rules::{ChannelRules, ChatMediaRules};

impl Profile {
    /// Twilio Conversations: conversations as threads.
    pub fn twilio() -> Profile {
        Profile {
            name: "twilio".to_string(),
            error_style: ErrorStyle::Twilio,
            // T2: up to 1000 participants per conversation.
            participants_per_thread_max: 1000,
            // T1: ConversationWithParticipants takes at most 10 per request.
            participants_per_create_max: 10,
            // T1: one participant per POST .../Participants; the simulator's
            // add takes a list, so the cap is the conversation's.
            participants_per_add_max: 1000,
            // T2: chat message body 32 KB.
            message_bytes_max: 32 * 1024,
            // T2: friendly_name 256 characters.
            topic_chars_max: 256,
            // T2: message attributes 4 KB.
            metadata_bytes_max: 4 * 1024,
            // T2: identity 256 characters.
            identity_chars_max: 256,
            // T1: PageSize 1..100, default 50.
            page_size_max: 100,
            page_size_default: 50,
            // Twilio does not restrict receipts or typing by size.
            receipts_participants_max: None,
            rate_limits: twilio_rate_limits(),
            throttled_calls_count: false,
            // ACS's opening, kept: Twilio writes no system messages into a
            // conversation (its first message has index 0), but dropping the
            // opening would renumber every message of the twilio fixtures;
            // the OpenAPI specification says the index "may skip numbers" (T1).
            history_opening: vec![
                SystemMessageKind::ParticipantAdded,
                SystemMessageKind::TopicUpdated,
            ],
            // ACS's report, kept so that scenarios written for this profile
            // keep their results, although Twilio has no partial success (a
            // ConversationWithParticipants that fails is closed whole, 50427).
            invalid_participants: Some(InvalidParticipantReport {
                code: "404".to_string(),
                message: "Not found".to_string(),
            }),
            profile_images: false,
            metacounters: None,
            retention: None,
            // A deleted conversation is gone at once (T1 documents no recovery).
            recovery_window_ms: None,
            // Twilio's access tokens carry grants, not scopes: not modelled.
            tokens: None,
            // T3: states and timers, Timers.Inactive at least 1
            // minute (50375), Timers.Closed at least 10 minutes (50376).
            conversation_states: Some(StateRules {
                inactive_timer_min_ms: 60_000,
                closed_timer_min_ms: 600_000,
            }),
            // T2: a chat identity belongs to at most 1000 conversations.
            threads_per_identity_max: Some(1000),
            // "Conversations limits" (T2): chat to chat, any type up to 150 MB.
            chat_media: ChatMediaRules::twilio(),
            non_chat: Some(NonChatRules {
                // T2: 1000 participants including at most 50 non-chat.
                participants_max: 50,
                // T2: Group MMS can have up to 10 participants.
                group_mms_participants_max: 10,
                // T5 63016: free-form only within 24 h of the user's last message.
                whatsapp_window_ms: 24 * 3_600_000,
                // "Conversations limits", "Accepted MIME types", "WhatsApp
                // media messages" and Flex's limits (T2, T6, T7, T10;
                //).
                channel_rules: ChannelRules::twilio(),
            }),
            // No ACS-style bulk SMS call (Twilio Conversations has none).
            sms_send: None,
            carriers: Some(Carriers::twilio()),
        }
    }
}

/// Twilio Conversations (seed 001): 30 actions per second on mutating calls,
/// per conversation or per service; SDK upstream requests per connection and
/// per account. Reads are not actions.
fn twilio_rate_limits() -> Vec<RateLimit> {
    use super::Scope::*;
    use Operation::*;
    vec![
        // Conversation update; participant create/update/delete (a read
        // horizon is a participant update); message create/update/delete.
        RateLimit::new(
            &[
                UpdateThread,
                UpdateRoster,
                SendReadReceipt,
                SendMessage,
                SendFileMessage,
                UpdateMessage,
                DeleteMessage,
            ],
            Thread,
            SECOND,
            30,
        ),
        // Conversation create/delete; user create/delete.
        RateLimit::new(
            &[CreateThread, DeleteThread, CreateIdentity, DeleteIdentity],
            Resource,
            SECOND,
            30,
        ),
        // Connection limits: upstream requests, reads and writes alike.
        RateLimit::new(&Operation::client_calls(), Connection, SECOND, 500),
        RateLimit::new(&Operation::client_calls(), Resource, SECOND, 20_000),
    ]
}
