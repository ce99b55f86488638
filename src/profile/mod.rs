//! Platform profiles: plain data the core consults. A limit that is not in the
//! profile does not exist.
//!
//! This module holds the profile's types, its JSON overrides and its
//! consistency check; each built-in profile is spelled in full, every field,
//! in its own file: `acs.rs` (Azure Communication Services), `twilio.rs`
//! (Twilio Conversations), `sendbird.rs`. Every number carries its source in
//! the reference notes' terms; choices made where sources are silent are listed in
//! the fidelity notes (`docs/fidelity.md`).

mod acs;
pub mod carrier;
mod sendbird;
pub mod tokens;
mod twilio;

pub use carrier::{CarrierModel, Carriers};
pub use tokens::{Scopes, TokenRules};

use serde::{Deserialize, Serialize};

use crate::rules::{ChannelRules, ChatMediaRules};

/// How a profile renders errors on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum Operation {
    /// Create a thread (conversation, group channel).
    CreateThread,
    /// Delete a thread.
    DeleteThread,
    /// Change a thread's topic, lifecycle options or state.
    UpdateThread,
    /// Read a thread.
    GetThread,
    /// List the caller's threads.
    ListThreads,
    /// Add or remove participants, chat or SMS/WhatsApp.
    UpdateRoster,
    /// List a thread's participants.
    ListParticipants,
    /// Send a message (without media).
    SendMessage,
    /// Read a message.
    GetMessage,
    /// List a thread's messages.
    ListMessages,
    /// Edit a message.
    UpdateMessage,
    /// Delete a message.
    DeleteMessage,
    /// Send a typing indicator.
    SendTyping,
    /// Send a read receipt.
    SendReadReceipt,
    /// List a thread's read receipts.
    ListReadReceipts,
    /// Create an identity (the trusted service).
    CreateIdentity,
    /// Delete an identity (the trusted service).
    DeleteIdentity,
    /// Issue an access token (the trusted service).
    IssueToken,
    /// Revoke an identity's tokens (the trusted service).
    RevokeTokens,
    /// Upload a profile image (Sendbird).
    UpdateProfileImage,
    /// Change a channel metacounter (Sendbird).
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

/// A system message a new thread's history can open with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SystemMessageKind {
    /// The creator and the named participants were added.
    ParticipantAdded,
    /// The topic was set.
    TopicUpdated,
}

/// Whose calls share one window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Scope {
    /// One identity's calls, across threads.
    User,
    /// One thread's calls, by anyone.
    Thread,
    /// One identity's calls in one thread.
    UserThread,
    /// Every call on the resource (the account, the application).
    Resource,
    /// One user's one connection (`Caller::connection`).
    Connection,
    /// One sending number (ACS SMS throughput is per number).
    Sender,
}

/// What happens to a call over a limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    /// The operations counted together.
    pub operations: Vec<Operation>,
    /// What one window is kept for (per user, thread, …).
    pub scope: Scope,
    /// The sliding window's length, in milliseconds.
    pub window_ms: u64,
    /// How many calls one window admits.
    pub count: u32,
    /// What happens to a call over the limit.
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

    /// With this consequence instead of a 429.
    pub fn consequence(mut self, consequence: Consequence) -> RateLimit {
        self.consequence = consequence;
        self
    }

    /// Counted on the real-time socket rather than the API.
    pub fn on_socket(mut self) -> RateLimit {
        self.socket = true;
        self
    }
}

/// A platform profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `acs`, `twilio` or `sendbird` (or the name a scenario gives an override).
    pub name: String,
    /// How errors are rendered on the wire.
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
    /// The largest page size a listing accepts.
    pub page_size_max: u32,
    /// The page size of a listing that names none.
    pub page_size_default: u32,
    /// Read receipts and typing indicators are refused above this many
    /// participants; `None`: allowed on threads of any size.
    pub receipts_participants_max: Option<u32>,
    /// The rate-limit table; every row that applies must admit a call.
    pub rate_limits: Vec<RateLimit>,
    /// Whether a throttled call still counts against the windows it was
    /// checked in (ACS: "throttled requests still count", A7).
    pub throttled_calls_count: bool,
    /// The system messages every new thread's history opens with, in order
    /// (each takes a sequence id); empty: a history opens with the first
    /// message sent.
    pub history_opening: Vec<SystemMessageKind>,
    /// Named participants who do not exist (unknown or deleted identities)
    /// in a create or add call: listed with this code and message while the
    /// call succeeds (ACS's `invalidParticipants`); `None`: the call is
    /// refused (404, the first such participant).
    pub invalid_participants: Option<InvalidParticipantReport>,
    /// Users can upload a profile image (Sendbird).
    #[serde(default)]
    pub profile_images: bool,
    /// Threads keep named integer counters (Sendbird's channel
    /// metacounters); `None`: the profile has none.
    #[serde(default)]
    pub metacounters: Option<MetacounterRules>,
    /// Retention policies "delete N days after creation"; `None`: the profile
    /// has no retention policies.
    #[serde(default)]
    pub retention: Option<RetentionRules>,
    /// How long a deleted thread stays recoverable by an operator before it is
    /// purged; `None`: purged at deletion, nothing to recover.
    #[serde(default)]
    pub recovery_window_ms: Option<u64>,
    /// Access tokens: lifetimes, revocation delay, scopes and the scope
    /// matrix; `None`: the profile issues no tokens.
    #[serde(default)]
    pub tokens: Option<TokenRules>,
    /// Twilio's conversation states (active, inactive, closed) and their
    /// timers; `None`: threads have no states.
    #[serde(default)]
    pub conversation_states: Option<StateRules>,
    /// Threads that hold participants (not deleted, not closed) a chat
    /// identity may be a participant of at once; `None`: no cap.
    pub threads_per_identity_max: Option<u32>,
    /// What a chat message may carry: files of any type, their size and
    /// count.
    pub chat_media: ChatMediaRules,
    /// SMS and WhatsApp participants (bindings) and the rules of their
    /// channels; `None`: threads hold chat participants only.
    #[serde(default)]
    pub non_chat: Option<NonChatRules>,
    /// ACS's `send_sms` call; `None`: the profile has no such call.
    #[serde(default)]
    pub sms_send: Option<SmsSendRules>,
    /// The carrier model of each channel, for SMS/WhatsApp participants and
    /// `send_sms`; `None`: the profile sends nothing through a carrier.
    #[serde(default)]
    pub carriers: Option<Carriers>,
}

/// SMS and WhatsApp participants (Twilio Conversations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonChatRules {
    /// SMS and WhatsApp participants in one thread.
    pub participants_max: u32,
    /// Participants in all of a thread that has a group MMS participant (an
    /// SMS participant without a proxy address).
    pub group_mms_participants_max: u32,
    /// A free-form WhatsApp message needs an inbound one within this window.
    pub whatsapp_window_ms: u64,
    /// The media and body rules of SMS, MMS and WhatsApp.
    pub channel_rules: ChannelRules,
}

/// How a participant that cannot join is listed (ACS's `invalidParticipants`
/// items: a CommunicationError with the participant as `target`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidParticipantReport {
    /// The error code of an invalid participant.
    pub code: String,
    /// The error message of an invalid participant.
    pub message: String,
}

/// Retention policies "delete N days after creation" allow N in
/// `days_min..=days_max` (ACS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// The fewest days a policy may keep a thread.
    pub days_min: u32,
    /// The most days a policy may keep a thread.
    pub days_max: u32,
}

/// Twilio's conversation states: the least each timer may be set to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRules {
    /// The least the inactive timer may be, in milliseconds.
    pub inactive_timer_min_ms: u64,
    /// The least the closed timer may be, in milliseconds.
    pub closed_timer_min_ms: u64,
}

/// Sendbird's channel metacounters: named integers per thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetacounterRules {
    /// A counter's key is 1 to this many characters.
    pub key_chars_max: u32,
}

/// ACS's `send_sms`: one message to several numbers, outside any thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSendRules {
    /// Recipients of one call.
    pub recipients_max: u32,
    /// The message, in characters.
    pub body_chars_max: u32,
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

    /// The base profile `base` with the fields of `overrides` (a JSON object)
    /// replaced. A key names a field and replaces its whole value (`null`
    /// turns an optional feature off, an object turns it on); a dotted key
    /// (`"non_chat.participants_max"`) replaces one field inside a feature
    /// that is on. Unknown fields and wrong types are errors naming the field.
    pub fn with_overrides(
        base: &Profile,
        overrides: &serde_json::Value,
    ) -> Result<Profile, String> {
        let serde_json::Value::Object(fields) = overrides else {
            return Err("overrides must be an object".to_string());
        };
        let start = serde_json::to_value(base).expect("profiles serialize");
        let mut merged = start.clone();
        for (key, value) in fields {
            set_field(&mut merged, key, value)?;
        }
        let profile: Profile = serde_json::from_value(merged).map_err(|e| {
            // Name the field at fault: the first override that fails alone.
            let alone = |key: &String, value| {
                let mut one = start.clone();
                set_field(&mut one, key, value).is_err()
                    || serde_json::from_value::<Profile>(one).is_err()
            };
            match fields.iter().find(|(key, value)| alone(key, value)) {
                Some((key, _)) => format!("{key}: {e}"),
                None => e.to_string(),
            }
        })?;
        profile.validate()?;
        Ok(profile)
    }

    /// Checks the profile's own consistency.
    pub fn validate(&self) -> Result<(), String> {
        if self.identity_chars_max == 0 {
            return Err("identity_chars_max must be at least 1".to_string());
        }
        if self.page_size_default == 0 || self.page_size_default > self.page_size_max {
            return Err("page_size_default must be between 1 and page_size_max".to_string());
        }
        if let Some(r) = &self.retention
            && (r.days_min == 0 || r.days_min > r.days_max)
        {
            return Err("retention.days_min must lie in 1..=retention.days_max \
                 (null: no retention policies)"
                .to_string());
        }
        if self.recovery_window_ms == Some(0) {
            return Err(
                "recovery_window_ms must be positive (null: a deleted thread is purged at once)"
                    .to_string(),
            );
        }
        if let Some(tokens) = &self.tokens {
            tokens.validate(|op| {
                serde_json::to_value(op)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })?;
        }
        if let Some(s) = &self.conversation_states
            && (s.inactive_timer_min_ms == 0 || s.closed_timer_min_ms == 0)
        {
            return Err(
                "conversation_states: timer minimums must be positive (null: no states)"
                    .to_string(),
            );
        }
        if self
            .metacounters
            .as_ref()
            .is_some_and(|m| m.key_chars_max == 0)
        {
            return Err(
                "metacounters.key_chars_max must be positive (null: no metacounters)".to_string(),
            );
        }
        if let Some(s) = &self.sms_send
            && (s.recipients_max == 0 || s.body_chars_max == 0)
        {
            return Err(
                "sms_send: recipients_max and body_chars_max must be positive \
                 (null: no send_sms)"
                    .to_string(),
            );
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
        if let Some(non_chat) = &self.non_chat {
            if non_chat.participants_max == 0 {
                return Err("non_chat.participants_max must be positive \
                     (null: no SMS/WhatsApp participants)"
                    .to_string());
            }
            if self.carriers.as_ref().is_none_or(|c| c.whatsapp.is_none()) {
                return Err(
                    "non_chat needs carriers for sms and whatsapp (carriers.whatsapp)".to_string(),
                );
            }
        }
        if self.sms_send.is_some() && self.carriers.is_none() {
            return Err("sms_send needs carriers (carriers.sms)".to_string());
        }
        if let Some(carriers) = &self.carriers {
            carriers.validate()?;
        }
        Ok(())
    }
}

const SECOND: u64 = 1000;
const MINUTE: u64 = 60 * SECOND;

/// Sets the field `key` (dotted for a field of a group) of a profile's JSON.
fn set_field(
    profile: &mut serde_json::Value,
    key: &str,
    value: &serde_json::Value,
) -> Result<(), String> {
    use serde_json::Value;
    let mut slot = profile;
    for (depth, part) in key.split('.').enumerate() {
        slot = match slot {
            Value::Object(map) if map.contains_key(part) => &mut map[part],
            Value::Null if depth > 0 => {
                let on = key.split('.').take(depth).collect::<Vec<_>>().join(".");
                return Err(format!(
                    "profile field {on:?} is null: give it whole to turn it on"
                ));
            }
            _ => return Err(format!("unknown profile field {key:?}")),
        };
    }
    *slot = value.clone();
    Ok(())
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

    /// Each platform has its own channels: ACS sends SMS (no WhatsApp, no
    /// SMS participants), Twilio has SMS and WhatsApp participants, Sendbird
    /// neither; SMS/WhatsApp participants need a carrier for each channel.
    #[test]
    fn each_platform_has_its_own_channels_and_carriers() {
        let (acs, twilio, sendbird) = (Profile::acs(), Profile::twilio(), Profile::sendbird());
        assert!(acs.non_chat.is_none() && acs.sms_send.is_some());
        assert!(acs.carriers.as_ref().is_some_and(|c| c.whatsapp.is_none()));
        assert!(twilio.non_chat.is_some() && twilio.sms_send.is_none());
        assert!(
            twilio
                .carriers
                .as_ref()
                .is_some_and(|c| c.whatsapp.is_some())
        );
        assert!(sendbird.non_chat.is_none() && sendbird.sms_send.is_none());
        assert!(sendbird.carriers.is_none());
        let err = Profile::with_overrides(&acs, &serde_json::json!({"non_chat": twilio.non_chat}))
            .unwrap_err();
        assert!(err.contains("carriers.whatsapp"), "{err}");
        let err =
            Profile::with_overrides(&acs, &serde_json::json!({"carriers": null})).unwrap_err();
        assert!(err.contains("sms_send needs carriers"), "{err}");
        let on = serde_json::json!({"non_chat": twilio.non_chat, "carriers": twilio.carriers});
        assert!(Profile::with_overrides(&acs, &on).is_ok());
    }

    /// A dotted key replaces one field of a group; a plain key the whole
    /// value, so a group given in part is refused.
    #[test]
    fn a_dotted_key_replaces_one_field_of_a_group() {
        let acs = Profile::acs();
        let changed = Profile::with_overrides(
            &acs,
            &serde_json::json!({"tokens.revocation_delay_ms": 5, "carriers.sms.failed_ppm": 7}),
        )
        .unwrap();
        let tokens = changed.tokens.as_ref().unwrap();
        assert_eq!(tokens.revocation_delay_ms, 5);
        assert_eq!(tokens.scopes, acs.tokens.as_ref().unwrap().scopes);
        assert_eq!(changed.carriers.as_ref().unwrap().sms.failed_ppm, 7);
        for (key, needle) in [
            ("tokens.nope", "unknown profile field \"tokens.nope\""),
            ("page_size_max.x", "unknown profile field"),
            ("non_chat.participants_max", "\"non_chat\" is null"),
            (
                "non_chat.channel_rules.mms_media_count_max",
                "\"non_chat\" is null",
            ),
        ] {
            let err = Profile::with_overrides(&acs, &serde_json::json!({ key: 1 })).unwrap_err();
            assert!(err.contains(needle), "{key}: {err}");
        }
        assert!(
            Profile::with_overrides(&acs, &serde_json::json!({"tokens": {"minutes_min": 1}}))
                .is_err()
        );
    }

    /// `null` turns a feature off; a value turns it on; a value that would
    /// mean "off" as a number is refused with a message that names `null`.
    #[test]
    fn null_turns_a_feature_off_and_zero_is_refused() {
        let acs = Profile::acs();
        let off = Profile::with_overrides(
            &acs,
            &serde_json::json!({"retention": null, "recovery_window_ms": null, "sms_send": null}),
        )
        .unwrap();
        assert_eq!(
            (off.retention, off.recovery_window_ms, off.sms_send),
            (None, None, None)
        );
        let on = Profile::with_overrides(
            &Profile::twilio(),
            &serde_json::json!({"retention": {"days_min": 1, "days_max": 7}}),
        )
        .unwrap();
        assert_eq!(on.retention.map(|r| r.days_max), Some(7));
        for (field, value) in [
            ("recovery_window_ms", serde_json::json!(0)),
            (
                "retention",
                serde_json::json!({"days_min": 0, "days_max": 7}),
            ),
            ("metacounters", serde_json::json!({"key_chars_max": 0})),
            (
                "sms_send",
                serde_json::json!({"recipients_max": 0, "body_chars_max": 10}),
            ),
            (
                "conversation_states",
                serde_json::json!({"inactive_timer_min_ms": 0, "closed_timer_min_ms": 1}),
            ),
        ] {
            let err =
                Profile::with_overrides(&acs, &serde_json::json!({ field: value })).unwrap_err();
            assert!(
                err.contains(field) && err.contains("null"),
                "{field}: {err}"
            );
        }
    }
}
