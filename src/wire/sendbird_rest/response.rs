//! The core's views and errors in Sendbird's Platform API shapes: users
//! (`SendbirdUser`), group channels (`SendbirdGroupChannelDetail`), members
//! (`SendbirdMember`), messages (`SendbirdMessageResponse`) and the error
//! body, as Sendbird's Platform API SDK (sendbird-platform-sdk 2.1.5, its
//! OpenAPI models) parses them. What the simulator does not model (online
//! state, unread counts, operators, push settings) has the value a fresh
//! application shows.

use serde_json::{Value, json};

use super::{App, SbError};
use crate::core::{Error, Kind, MessageKind, MessageView, ThreadView};
use crate::id::ThreadId;
use crate::time::Instant;
use crate::wire::calendar::Epoch;

/// What Sendbird keeps of a user that the simulator does not: its
/// `nickname`, `profile_url` and when it was created.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserProfile {
    /// `nickname`.
    pub nickname: String,
    /// `profile_url`.
    pub profile_url: String,
    /// When it was created, in virtual ms.
    pub created_at_ms: u64,
}

/// What Sendbird keeps of a group channel that the simulator does not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelProfile {
    /// The `channel_url` the application chose, if it chose one.
    pub url: Option<String>,
    /// `is_distinct`: a create naming the same members answers this channel.
    pub distinct: bool,
    /// `custom_type`.
    pub custom_type: String,
    /// `data`.
    pub data: String,
    /// `cover_url`.
    pub cover_url: String,
}

/// The metadata keys a message keeps Sendbird's fields under.
pub const CUSTOM_TYPE_KEY: &str = "custom_type";
/// See [`CUSTOM_TYPE_KEY`].
pub const DATA_KEY: &str = "data";
/// See [`CUSTOM_TYPE_KEY`]: a file message's URL.
pub const URL_KEY: &str = "url";

/// Renders in Sendbird's shapes for one application and epoch.
#[derive(Clone, Copy, Debug)]
pub struct Render<'a> {
    /// The application's ids.
    pub app: &'a App,
    /// The calendar instant virtual time 0 stands for.
    pub epoch: Epoch,
}

impl Render<'_> {
    fn unix_ms(&self, ms: u64) -> i64 {
        self.epoch.unix_ms(Instant(ms))
    }

    fn unix_s(&self, ms: u64) -> i64 {
        self.unix_ms(ms).div_euclid(1000)
    }

    /// A user (`SendbirdUser`): `created_at` in Unix seconds, as Sendbird's.
    pub fn user(&self, user_id: &str, p: &UserProfile) -> Value {
        json!({
            "user_id": user_id,
            "nickname": p.nickname,
            "profile_url": p.profile_url,
            "require_auth_for_profile_image": false,
            "access_token": "",
            "is_active": true,
            "is_online": false,
            "is_shadow_blocked": false,
            "is_hide_me_from_friends": false,
            "has_ever_logged_in": false,
            "created_at": self.unix_s(p.created_at_ms),
            "last_seen_at": 0,
            "discovery_keys": [],
            "preferred_languages": [],
            "locale": "",
            "metadata": {},
        })
    }

    /// A user as a message or channel names it (`SendbirdBasicUserInfo`).
    pub fn basic_user(&self, user_id: &str, p: &UserProfile) -> Value {
        json!({
            "user_id": user_id,
            "nickname": p.nickname,
            "profile_url": p.profile_url,
            "require_auth_for_profile_image": false,
            "metadata": {},
        })
    }

    /// A member (`SendbirdMember`): joined, offline.
    pub fn member(&self, user_id: &str, p: &UserProfile) -> Value {
        json!({
            "user_id": user_id,
            "nickname": p.nickname,
            "profile_url": p.profile_url,
            "require_auth_for_profile_image": false,
            "is_active": true,
            "is_online": false,
            "is_muted": false,
            "last_seen_at": 0,
            "state": "joined",
            "role": "",
            "metadata": {},
        })
    }

    /// A group channel (`SendbirdGroupChannelDetail`): `created_at` in Unix
    /// seconds, as Sendbird's; `members` when asked for.
    #[allow(clippy::too_many_arguments)] // one per part of the shape
    pub fn channel(
        &self,
        view: &ThreadView,
        extra: &ChannelProfile,
        created_by: Option<Value>,
        members: Option<Vec<Value>>,
        last_message: Option<Value>,
        max_length_message: u32,
    ) -> Value {
        let mut out = json!({
            "channel_url": self.channel_url(view.id, extra),
            "name": view.topic,
            "cover_url": extra.cover_url,
            "custom_type": extra.custom_type,
            "data": extra.data,
            "is_distinct": extra.distinct,
            "is_public": false,
            "is_super": false,
            "is_ephemeral": false,
            "is_broadcast": false,
            "is_discoverable": false,
            "is_access_code_required": false,
            "freeze": false,
            "ignore_profanity_filter": false,
            "member_count": view.participant_count,
            "joined_member_count": view.participant_count,
            "max_length_message": max_length_message,
            "message_survival_seconds": -1,
            "unread_message_count": 0,
            "unread_mention_count": 0,
            "created_at": self.unix_s(view.created_at_ms),
            "created_by": created_by,
            "last_message": last_message,
            "operators": [],
        });
        if let Some(members) = members {
            out["members"] = Value::Array(members);
        }
        out
    }

    /// The URL of the core's thread `t`: the one the application chose, or
    /// the application's default shape.
    pub fn channel_url(&self, t: ThreadId, extra: &ChannelProfile) -> String {
        extra.url.clone().unwrap_or_else(|| self.app.channel_url(t))
    }

    /// A message (`SendbirdMessageResponse`) of the channel at `url`: `MESG`
    /// or, with media, `FILE`; `created_at` and `updated_at` in Unix ms.
    pub fn message(&self, thread: ThreadId, url: &str, m: &MessageView, sender: Value) -> Value {
        let field = |key: &str| m.metadata.get(key).cloned().unwrap_or_default();
        let mut out = json!({
            "message_id": self.app.message_id(thread, m.sequence_id),
            "type": "MESG",
            "custom_type": field(CUSTOM_TYPE_KEY),
            "data": field(DATA_KEY),
            "channel_url": url,
            "channel_type": "group",
            "created_at": self.unix_ms(m.created_at_ms),
            "updated_at": m.edited_at_ms.map_or(0, |ms| self.unix_ms(ms)),
            "user": sender,
            "mention_type": "users",
            "mentioned_users": [],
            "is_removed": m.deleted_at_ms.is_some(),
            "is_op_msg": false,
            "silent": false,
            "message_retention_hour": -1,
            "message_survival_seconds": -1,
            "translations": {},
        });
        match m.media.first() {
            Some(file) => {
                out["type"] = json!("FILE");
                out["file"] = json!({
                    "url": field(URL_KEY),
                    "name": file.name.as_deref().unwrap_or(""),
                    "type": file.content_type,
                    "size": file.bytes,
                    "data": "",
                });
            }
            None => out["message"] = json!(m.content.as_deref().unwrap_or("")),
        }
        out
    }

    /// Whether a message is one Sendbird would list (a member's text or
    /// file, not deleted; the simulator's system messages are not Sendbird's).
    pub fn listed(m: &MessageView) -> bool {
        matches!(m.kind, MessageKind::Text | MessageKind::Html) && m.deleted_at_ms.is_none()
    }

    /// A refusal of the simulator as Sendbird answers it: HTTP 429 when rate
    /// limited, else 400 (Sendbird's Platform API answers every client error
    /// with 400), with Sendbird's code and message.
    pub fn error(&self, e: &Error) -> SbError {
        let body = crate::wire::sendbird::render_error(e);
        SbError {
            status: if e.kind() == Kind::RateLimited {
                429
            } else {
                400
            },
            code: body["code"].as_u64().map_or(400100, |c| c as u32),
            message: body["message"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// The headers of a 429: `X-RateLimit-Limit` (`N;w=W`, the limit and its
/// window in seconds), `X-RateLimit-Remaining` (0), `X-RateLimit-Reset` and
/// `X-RateLimit-RetryAfter` (seconds until a retry is admitted, rounded up),
/// and `Retry-After` (the same).
pub fn rate_limit_headers(e: &Error) -> Vec<(String, String)> {
    let Error::RateLimited {
        count,
        window_ms,
        retry_after_ms,
        ..
    } = e
    else {
        return Vec::new();
    };
    let seconds = retry_after_ms.div_ceil(1000).to_string();
    vec![
        (
            "x-ratelimit-limit".into(),
            format!("{count};w={}", window_ms.div_ceil(1000)),
        ),
        ("x-ratelimit-remaining".into(), "0".into()),
        ("x-ratelimit-reset".into(), seconds.clone()),
        ("x-ratelimit-retryafter".into(), seconds.clone()),
        ("retry-after".into(), seconds),
    ]
}
