//! Platform profiles: plain data the core consults. A limit that is not in the
//! profile does not exist.
//!
//! `acs` models Azure Communication Services chat. Every number carries its source
//! in `../shared/reference/platforms.md` terms; choices made where sources are
//! silent are listed in the README's fidelity notes.

use serde::{Deserialize, Serialize};

use crate::channel::{Carriers, ChannelRules};

/// How a profile renders errors on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// `{"error": {"code": "TooManyRequests", "message": ...}}`
    Acs,
    /// `{"code": 20429, "message": ..., "more_info": ..., "status": 429}`
    Twilio,
    /// `{"error": true, "code": 500910, "message": ...}`
    Sendbird,
}

/// Which calls a rate limit counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    CreateThread,
    DeleteThread,
    UpdateThread,
    GetThread,
    ListThreads,
    UpdateRoster,
    ListParticipants,
    SendMessage,
    GetMessage,
    ListMessages,
    UpdateMessage,
    DeleteMessage,
    SendTyping,
    SendReadReceipt,
    ListReadReceipts,
    /// ACS `send_sms` (issue 3; its throughput limits come with issue 4).
    SendSms,
    /// A message from an SMS or WhatsApp user.
    Inbound,
}

/// Whose calls share one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    User,
    Thread,
    UserThread,
    Resource,
}

/// At most `count` admitted calls of `operations` per `scope` key in any
/// trailing window of `window_ms` (a sliding window).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub operations: Vec<Operation>,
    pub scope: Scope,
    pub window_ms: u64,
    pub count: u32,
}

/// A platform profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub error_style: ErrorStyle,
    /// Participants in one thread, in all.
    pub participants_per_thread_max: u32,
    /// Participants named in one create-thread call (the creator not counted).
    pub participants_per_create_max: u32,
    /// Participants named in one add-participants call.
    pub participants_per_add_max: u32,
    /// A message body's size in UTF-8 bytes.
    pub message_bytes_max: u32,
    /// Thread topic length in characters.
    pub topic_chars_max: u32,
    /// Message or thread metadata, keys and values together, in UTF-8 bytes.
    pub metadata_bytes_max: u32,
    /// Identity (user id) length in characters.
    pub identity_chars_max: u32,
    pub page_size_max: u32,
    pub page_size_default: u32,
    /// Read receipts and typing indicators are refused above this many participants.
    pub receipts_participants_max: u32,
    pub rate_limits: Vec<RateLimit>,
    // ---- non-chat channels (issue 3) ----
    /// Non-chat (SMS, WhatsApp) participants in one thread; 0: none allowed.
    pub non_chat_participants_max: u32,
    /// Threads (not deleted) a chat identity may be a participant of at once.
    pub threads_per_identity_max: u32,
    /// The media and body rules of SMS, MMS and WhatsApp.
    pub channel_rules: ChannelRules,
    /// A free-form WhatsApp message needs an inbound one within this window.
    pub whatsapp_window_ms: u64,
    /// Whether the ACS-style `send_sms` call exists.
    pub sms_send_supported: bool,
    /// Recipients of one `send_sms` call.
    pub sms_recipients_max: u32,
    /// A `send_sms` message in characters.
    pub sms_body_chars_max: u32,
    /// The carrier model of each channel.
    pub carriers: Carriers,
    /// Participants in all of a thread that has a group MMS participant (an
    /// SMS participant without a proxy address).
    pub group_mms_participants_max: u32,
}

/// The profiles this build knows, by name.
pub const PROFILE_NAMES: [&str; 3] = ["acs", "twilio", "sendbird"];

impl Profile {
    /// The named built-in profile.
    pub fn named(name: &str) -> Option<Profile> {
        match name {
            "acs" => Some(Profile::acs()),
            "twilio" => Some(Profile::twilio()),
            "sendbird" => Some(Profile::sendbird()),
            _ => None,
        }
    }

    /// Azure Communication Services chat.
    pub fn acs() -> Profile {
        Profile {
            name: "acs".to_string(),
            error_style: ErrorStyle::Acs,
            // platforms.md 1.10 (A7, A8)
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
            receipts_participants_max: 20,
            rate_limits: vec![
                // Seed 000, chat throttling: send message.
                RateLimit {
                    operations: vec![Operation::SendMessage],
                    scope: Scope::Thread,
                    window_ms: 60_000,
                    count: 2000,
                },
                RateLimit {
                    operations: vec![Operation::SendMessage],
                    scope: Scope::UserThread,
                    window_ms: 60_000,
                    count: 50,
                },
            ],
            // ACS chat threads hold chat users only (A8).
            non_chat_participants_max: 0,
            // A8: threads per user unlimited.
            threads_per_identity_max: u32::MAX,
            channel_rules: ChannelRules::twilio(),
            whatsapp_window_ms: 24 * 3_600_000,
            // A6: send SMS to 1..100 recipients, message at most 2048 characters.
            sms_send_supported: true,
            sms_recipients_max: 100,
            sms_body_chars_max: 2048,
            carriers: Carriers::acs(),
            group_mms_participants_max: 10,
        }
    }

    /// Twilio Conversations (platforms.md 4): conversations as threads.
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
            receipts_participants_max: 1000,
            rate_limits: Vec::new(),
            // T2: 1000 participants including at most 50 non-chat.
            non_chat_participants_max: 50,
            // T2: a chat identity belongs to at most 1000 conversations.
            threads_per_identity_max: 1000,
            channel_rules: ChannelRules::twilio(),
            // T5 63016: free-form only within 24 h of the user's last message.
            whatsapp_window_ms: 24 * 3_600_000,
            // Twilio Conversations has no ACS-style bulk SMS call.
            sms_send_supported: false,
            sms_recipients_max: 0,
            sms_body_chars_max: 1600,
            carriers: Carriers::twilio(),
            // T2: Group MMS can have up to 10 participants.
            group_mms_participants_max: 10,
        }
    }

    /// Sendbird (platforms.md 6): group channels as threads.
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
            receipts_participants_max: 100,
            rate_limits: Vec::new(),
            non_chat_participants_max: 0,
            threads_per_identity_max: u32::MAX,
            channel_rules: ChannelRules::twilio(),
            whatsapp_window_ms: 24 * 3_600_000,
            sms_send_supported: false,
            sms_recipients_max: 0,
            sms_body_chars_max: 1600,
            carriers: Carriers::twilio(),
            group_mms_participants_max: 10,
        }
    }

    /// The base profile `base` with the fields of `overrides` (a JSON object)
    /// replaced. Unknown fields and wrong types are errors naming the field.
    pub fn with_overrides(
        base: &Profile,
        overrides: &serde_json::Value,
    ) -> Result<Profile, String> {
        let serde_json::Value::Object(fields) = overrides else {
            return Err("overrides must be an object".to_string());
        };
        let mut merged = serde_json::to_value(base).expect("profiles serialize");
        let target = merged.as_object_mut().expect("a profile is an object");
        for (key, value) in fields {
            if !target.contains_key(key) {
                return Err(format!("unknown profile field {key:?}"));
            }
            target.insert(key.clone(), value.clone());
        }
        let profile: Profile = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        profile.validate()?;
        Ok(profile)
    }

    /// Checks the profile's own consistency.
    pub fn validate(&self) -> Result<(), String> {
        if self.page_size_default == 0 || self.page_size_default > self.page_size_max {
            return Err("page_size_default must be between 1 and page_size_max".to_string());
        }
        if self.rate_limits.len() > 64 {
            return Err("rate_limits: at most 64 limits per profile".to_string());
        }
        for (i, limit) in self.rate_limits.iter().enumerate() {
            if limit.count == 0 || limit.window_ms == 0 {
                return Err(format!(
                    "rate_limits[{i}]: count and window_ms must be positive"
                ));
            }
            if limit.operations.is_empty() {
                return Err(format!("rate_limits[{i}]: operations must not be empty"));
            }
        }
        self.carriers.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_valid_and_round_trips() {
        for name in PROFILE_NAMES {
            let profile = Profile::named(name).unwrap();
            assert_eq!(profile.name, name);
            profile.validate().unwrap();
            let json = serde_json::to_value(&profile).unwrap();
            let back: Profile = serde_json::from_value(json).unwrap();
            assert_eq!(back, profile);
        }
        assert_eq!(Profile::named("teams"), None);
    }

    #[test]
    fn overrides_replace_fields_and_reject_unknown_ones() {
        let acs = Profile::acs();
        let changed =
            Profile::with_overrides(&acs, &serde_json::json!({"participants_per_thread_max": 5}))
                .unwrap();
        assert_eq!(changed.participants_per_thread_max, 5);
        assert_eq!(changed.message_bytes_max, acs.message_bytes_max);
        assert!(
            Profile::with_overrides(&acs, &serde_json::json!({"nope": 1}))
                .unwrap_err()
                .contains("nope")
        );
        assert!(Profile::with_overrides(&acs, &serde_json::json!({"page_size_max": "x"})).is_err());
        assert!(
            Profile::with_overrides(&acs, &serde_json::json!({"page_size_default": 0})).is_err()
        );
    }
}
