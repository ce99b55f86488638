//! Platform profiles: plain data the core consults. A limit that is not in the
//! profile does not exist.
//!
//! `acs` models Azure Communication Services chat. Every number carries its source
//! in `../shared/reference/platforms.md` terms; choices made where sources are
//! silent are listed in the README's fidelity notes.

pub mod carrier;

pub use carrier::{CarrierModel, Carriers};

use serde::{Deserialize, Serialize};

use crate::rules::ChannelRules;

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
    CreateIdentity,
    DeleteIdentity,
    IssueToken,
    RevokeTokens,
    UpdateProfileImage,
    UpdateMetacounter,
    /// The operator's recovery of a deleted thread.
    RecoverThread,
    /// ACS `send_sms` from a number that is neither toll-free nor a short code.
    SendSms,
    /// `send_sms` from a toll-free number.
    SendSmsTollFree,
    /// `send_sms` from a short code.
    SendSmsShortCode,
    /// A message with media (Sendbird's file message: a file upload).
    SendFileMessage,
    /// A message from an SMS or WhatsApp user: the carrier's call, not an API
    /// action; no limit counts it.
    Inbound,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 27] = [
        Operation::CreateThread,
        Operation::DeleteThread,
        Operation::UpdateThread,
        Operation::GetThread,
        Operation::ListThreads,
        Operation::UpdateRoster,
        Operation::ListParticipants,
        Operation::SendMessage,
        Operation::GetMessage,
        Operation::ListMessages,
        Operation::UpdateMessage,
        Operation::DeleteMessage,
        Operation::SendTyping,
        Operation::SendReadReceipt,
        Operation::ListReadReceipts,
        Operation::CreateIdentity,
        Operation::DeleteIdentity,
        Operation::IssueToken,
        Operation::RevokeTokens,
        Operation::UpdateProfileImage,
        Operation::UpdateMetacounter,
        Operation::RecoverThread,
        Operation::SendSms,
        Operation::SendSmsTollFree,
        Operation::SendSmsShortCode,
        Operation::SendFileMessage,
        Operation::Inbound,
    ];

    /// A chat message: a file message when it carries media.
    pub fn message(with_media: bool) -> Operation {
        match with_media {
            true => Operation::SendFileMessage,
            false => Operation::SendMessage,
        }
    }

    /// The calls a chat client makes (through an SDK connection): every
    /// operation but the operator's, the carrier's and the SMS API's.
    pub fn client_calls() -> Vec<Operation> {
        use Operation::*;
        Operation::ALL
            .into_iter()
            .filter(|op| {
                !matches!(
                    op,
                    RecoverThread | Inbound | SendSms | SendSmsTollFree | SendSmsShortCode
                )
            })
            .collect()
    }
}

/// Whose calls share one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    User,
    Thread,
    UserThread,
    Resource,
    /// One user's one connection (`Caller::connection`).
    Connection,
    /// One sending number (ACS SMS throughput is per number).
    Sender,
}

/// What happens to a call over a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// Refused with a 429 and the exact retry-after.
    #[default]
    Reject,
    /// Accepted, and takes effect once the window has room (ACS SMS).
    Queue,
    /// Accepted and stored, but not shown to the others in real time
    /// (Sendbird's per-channel display cap).
    Hide,
}

/// The most rate limits a profile may hold: the limiter keeps a set of
/// them in one 64-bit word.
pub const LIMITS_MAX: usize = 64;

/// At most `count` counted calls of `operations` per `scope` key in any
/// trailing window of `window_ms` (a sliding window).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub operations: Vec<Operation>,
    pub scope: Scope,
    pub window_ms: u64,
    pub count: u32,
    #[serde(default)]
    pub consequence: Consequence,
    /// Counted on the real-time socket rather than the API (Sendbird reports
    /// these as 900200 instead of 500910).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub socket: bool,
}

impl RateLimit {
    /// A rejecting API limit.
    pub fn new(operations: &[Operation], scope: Scope, window_ms: u64, count: u32) -> RateLimit {
        RateLimit {
            operations: operations.to_vec(),
            scope,
            window_ms,
            count,
            consequence: Consequence::Reject,
            socket: false,
        }
    }

    pub fn consequence(mut self, consequence: Consequence) -> RateLimit {
        self.consequence = consequence;
        self
    }

    pub fn on_socket(mut self) -> RateLimit {
        self.socket = true;
        self
    }
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
    /// Whether a throttled call still counts against the windows it was
    /// checked in (ACS: "throttled requests still count", A7).
    pub throttled_calls_count: bool,
    /// Users can upload a profile image (Sendbird).
    #[serde(default)]
    pub profile_images: bool,
    /// Threads keep named integer counters (Sendbird's channel metacounters).
    #[serde(default)]
    pub metacounters: bool,
    /// Retention policies "delete N days after creation" allow N in
    /// `retention_days_min..=retention_days_max`; a max of 0 means the profile
    /// has no retention policies.
    #[serde(default)]
    pub retention_days_min: u32,
    #[serde(default)]
    pub retention_days_max: u32,
    /// How long a deleted thread stays recoverable by an operator before it is
    /// purged; 0 purges at deletion.
    #[serde(default)]
    pub recovery_window_ms: u64,
    /// Access-token lifetimes in minutes: allowed range and default; a max of 0
    /// means the profile issues no tokens.
    #[serde(default)]
    pub token_minutes_min: u32,
    #[serde(default)]
    pub token_minutes_max: u32,
    #[serde(default)]
    pub token_minutes_default: u32,
    /// Time from a revocation call until the revoked tokens are refused.
    #[serde(default)]
    pub token_revocation_delay_ms: u64,
    /// Twilio's conversation states (active, inactive, closed) and their timers.
    #[serde(default)]
    pub conversation_states: bool,
    #[serde(default)]
    pub inactive_timer_min_ms: u64,
    #[serde(default)]
    pub closed_timer_min_ms: u64,
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
            rate_limits: acs_rate_limits(),
            // "Throttled requests still count" (A7): do not retry at once.
            throttled_calls_count: true,
            // ACS chat threads hold chat users only (A8).
            non_chat_participants_max: 0,
            // A8: threads per user unlimited.
            threads_per_identity_max: u32::MAX,
            // A6: send SMS to 1..100 recipients, message at most 2048 characters.
            sms_send_supported: true,
            sms_recipients_max: 100,
            sms_body_chars_max: 2048,
            carriers: Carriers::acs(),
            // platforms.md 1.8: "delete after 30 to 90 days" (A7, A8, seed 002).
            retention_days_min: 30,
            retention_days_max: 90,
            // Seed 002: a deleted thread can be retrieved by support within 30 days.
            recovery_window_ms: 30 * 86_400_000,
            // platforms.md 2: expiresInMinutes 60..=1440, default 1440 (A5).
            token_minutes_min: 60,
            token_minutes_max: 1440,
            token_minutes_default: 1440,
            // A9 says revocation may take up to 15 minutes; immediate by default.
            token_revocation_delay_ms: 0,
            ..Profile::base("acs", ErrorStyle::Acs)
        }
    }

    /// The base of every built-in profile: zero maxima, no rate limits, every
    /// lifecycle feature off, no non-chat participants; Twilio's channel rules
    /// and carriers, no thread cap per identity. Each profile sets what differs.
    fn base(name: &str, error_style: ErrorStyle) -> Profile {
        Profile {
            name: name.to_string(),
            error_style,
            participants_per_thread_max: 0,
            participants_per_create_max: 0,
            participants_per_add_max: 0,
            message_bytes_max: 0,
            topic_chars_max: 0,
            metadata_bytes_max: 0,
            identity_chars_max: 0,
            page_size_max: 0,
            page_size_default: 0,
            receipts_participants_max: 0,
            rate_limits: Vec::new(),
            throttled_calls_count: false,
            profile_images: false,
            metacounters: false,
            retention_days_min: 0,
            retention_days_max: 0,
            recovery_window_ms: 0,
            token_minutes_min: 0,
            token_minutes_max: 0,
            token_minutes_default: 0,
            token_revocation_delay_ms: 0,
            conversation_states: false,
            inactive_timer_min_ms: 0,
            closed_timer_min_ms: 0,
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

    /// Twilio Conversations (platforms.md 4): conversations as threads.
    pub fn twilio() -> Profile {
        Profile {
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
            rate_limits: twilio_rate_limits(),
            // platforms.md 4.3: states and timers, Timers.Inactive at least 1
            // minute (50375), Timers.Closed at least 10 minutes (50376).
            conversation_states: true,
            inactive_timer_min_ms: 60_000,
            closed_timer_min_ms: 600_000,
            // T2: 1000 participants including at most 50 non-chat.
            non_chat_participants_max: 50,
            // T2: a chat identity belongs to at most 1000 conversations.
            threads_per_identity_max: 1000,
            // T5 63016: free-form only within 24 h of the user's last message.
            whatsapp_window_ms: 24 * 3_600_000,
            // T2: Group MMS can have up to 10 participants.
            group_mms_participants_max: 10,
            // From the base: no ACS-style bulk SMS call (Twilio Conversations
            // has none); a deleted conversation is gone at once (T1 documents
            // no recovery).
            ..Profile::base("twilio", ErrorStyle::Twilio)
        }
    }

    /// Sendbird (platforms.md 6): group channels as threads.
    pub fn sendbird() -> Profile {
        Profile {
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
            rate_limits: sendbird_rate_limits(),
            profile_images: true,
            metacounters: true,
            ..Profile::base("sendbird", ErrorStyle::Sendbird)
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
        if self.retention_days_min > self.retention_days_max
            || (self.retention_days_max > 0 && self.retention_days_min == 0)
        {
            return Err("retention_days_min must lie in 1..=retention_days_max".to_string());
        }
        if self.token_minutes_max > 0
            && (self.token_minutes_min == 0
                || self.token_minutes_min > self.token_minutes_max
                || !(self.token_minutes_min..=self.token_minutes_max)
                    .contains(&self.token_minutes_default))
        {
            return Err(
                "token_minutes_default must lie in token_minutes_min..=token_minutes_max \
                 (min at least 1)"
                    .to_string(),
            );
        }
        if self.conversation_states
            && (self.inactive_timer_min_ms == 0 || self.closed_timer_min_ms == 0)
        {
            return Err("state timer minimums must be positive".to_string());
        }
        if self.rate_limits.len() > LIMITS_MAX {
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
            // Queueing and per-sender limits exist for SMS sends only, hiding
            // for messages only: elsewhere they would have no effect.
            use Operation::*;
            let sms = |op: &Operation| matches!(op, SendSms | SendSmsTollFree | SendSmsShortCode);
            let message = |op: &Operation| matches!(op, SendMessage | SendFileMessage);
            let misplaced = match (limit.consequence, limit.scope) {
                (Consequence::Queue, _) | (_, Scope::Sender) => !limit.operations.iter().all(sms),
                (Consequence::Hide, _) => !limit.operations.iter().all(message),
                (Consequence::Reject, _) => false,
            };
            if misplaced {
                return Err(format!(
                    "rate_limits[{i}]: consequence \"queue\" and scope \"sender\" apply to SMS \
                     sends only, consequence \"hide\" to messages only"
                ));
            }
        }
        self.carriers.validate()?;
        Ok(())
    }
}

const SECOND: u64 = 1000;
const MINUTE: u64 = 60 * SECOND;

/// ACS: the chat and identity throttling tables of seed 000 (service limits,
/// 2021). Rows without numbers there (get message; update roster per user per
/// thread) have no limit.
fn acs_rate_limits() -> Vec<RateLimit> {
    use Operation::*;
    use Scope::*;
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

/// Twilio Conversations (seed 001): 30 actions per second on mutating calls,
/// per conversation or per service; SDK upstream requests per connection and
/// per account. Reads are not actions.
fn twilio_rate_limits() -> Vec<RateLimit> {
    use Operation::*;
    use Scope::*;
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

/// Sendbird (seed 004): per-user message cap, per-channel display cap, SDK
/// methods per user per second and per minute, real-time events.
fn sendbird_rate_limits() -> Vec<RateLimit> {
    use Operation::*;
    use Scope::*;
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

    /// Every field of each built-in profile, pinned: a change to a profile's
    /// construction that changes no value leaves these snapshots alone.
    #[test]
    fn built_in_profiles_are_pinned() {
        for name in PROFILE_NAMES {
            let profile = Profile::named(name).unwrap();
            let json = serde_json::to_string_pretty(&profile).unwrap();
            insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(format!("profile_{name}"), json);
            });
        }
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
