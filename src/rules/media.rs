//! The media and body rules of non-chat channels, as one table of data
//! ([`ChannelRules`], part of a profile's `non_chat`), the chat media caps
//! ([`ChatMediaRules`], every profile's `chat_media`) and three pure
//! functions over them:
//!
//! - [`check_chat`]: what a chat sender may attach (any type, each file up to
//!   150 MB, several files plus text);
//! - [`check_inbound`]: what an SMS/MMS or WhatsApp sender may send (the
//!   channel's own limits: MMS at most 10 media, 5 MB in all, 2 MB a file, types
//!   MMS accepts; WhatsApp one medium of at most 16 MB of the seed's types; a body
//!   of at most 32 KB);
//! - [`outbound`]: what one SMS or WhatsApp recipient gets of a message (a single
//!   medium, the text dropped when a medium goes; media of other types or too
//!   large are not fanned out; a body of at most 1600 characters). What a rule
//!   drops or refuses is listed with its reason.
//!
//! Sizes are bytes; "MB" in the sources is read as MiB (Twilio's Flex table
//! gives 2 MB as 2,097,152 bytes).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::{Channel, Route};

const MIB: u64 = 1024 * 1024;

/// One attached file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The MIME type (`image/jpeg`, …).
    pub content_type: Arc<str>,
    /// The size, in bytes.
    pub bytes: u64,
    /// The file name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Arc<str>>,
}

/// What a chat sender may attach: any type, each file at most `bytes_max`,
/// at most `count_max` files on one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatMediaRules {
    /// The largest media item a chat message may carry, in bytes.
    pub bytes_max: u64,
    /// The most media items a chat message may carry.
    pub count_max: u32,
}

impl ChatMediaRules {
    /// Twilio Conversations: any type up to 150 MB between chat participants
    /// (Twilio "Conversations limits"); the count, 10, is a gap in the sources.
    pub fn twilio() -> ChatMediaRules {
        ChatMediaRules {
            bytes_max: 150 * MIB,
            count_max: 10,
        }
    }
}

/// The SMS, MMS and WhatsApp rules of a profile (Twilio "Conversations limits",
/// "Accepted MIME types", "WhatsApp media messages").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRules {
    /// Types fanned out from chat to SMS as MMS (JPG, PNG, MP3, AMR, MP4, PDF).
    pub mms_fanout_types: Vec<String>,
    /// A medium is fanned out to SMS only when strictly smaller than this (5 MB).
    pub mms_fanout_bytes_below: u64,
    /// Types a WhatsApp recipient or sender may exchange.
    pub whatsapp_types: Vec<String>,
    /// One WhatsApp medium at most this large (16 MB).
    pub whatsapp_media_bytes_max: u64,
    /// Outbound body to SMS and WhatsApp, in characters (1600).
    pub outbound_body_chars_max: u32,
    /// Inbound body, in UTF-8 bytes (32 KB).
    pub inbound_body_bytes_max: u32,
    /// Media in one inbound MMS (10).
    pub mms_media_count_max: u32,
    /// All media of one inbound MMS together (5 MB).
    pub mms_total_bytes_max: u64,
    /// One file of an inbound MMS (2 MB).
    pub mms_file_bytes_max: u64,
    /// Types MMS accepts from a sender; an entry ending in `/` is a prefix.
    pub mms_accepted_types: Vec<String>,
    /// Media in one WhatsApp message (1).
    pub whatsapp_media_count_max: u32,
}

impl ChannelRules {
    /// The most media an inbound message of `channel` may carry.
    pub fn inbound_media_count_max(&self, channel: Channel) -> u32 {
        match channel {
            Channel::Sms => self.mms_media_count_max,
            Channel::Whatsapp => self.whatsapp_media_count_max,
        }
    }

    /// Twilio Conversations' rules (Twilio "Conversations limits", "Accepted MIME types",
    /// "WhatsApp media messages", and Flex "Conversations limits").
    pub fn twilio() -> ChannelRules {
        let six = [
            "image/jpeg",
            "image/jpg",
            "image/png",
            "audio/mpeg",
            "audio/mp3",
            "audio/amr",
            "video/mp4",
            "application/pdf",
        ];
        ChannelRules {
            mms_fanout_types: six.iter().map(|s| s.to_string()).collect(),
            mms_fanout_bytes_below: 5 * MIB,
            whatsapp_types: six.iter().map(|s| s.to_string()).collect(),
            whatsapp_media_bytes_max: 16 * MIB,
            outbound_body_chars_max: 1600,
            inbound_body_bytes_max: 32 * 1024,
            mms_media_count_max: 10,
            mms_total_bytes_max: 5 * MIB,
            mms_file_bytes_max: 2 * MIB,
            mms_accepted_types: [
                "image/",
                "audio/",
                "video/",
                "text/vcard",
                "text/csv",
                "text/calendar",
                "application/pdf",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            whatsapp_media_count_max: 1,
        }
    }
}

fn listed(types: &[String], content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    types.iter().any(|t| {
        if t.ends_with('/') {
            ct.starts_with(t.as_str())
        } else {
            *t == ct
        }
    })
}

/// A sender's message that breaks its channel's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// More media items than the channel carries in one message.
    TooManyMedia {
        /// How many were attached.
        count: u32,
        /// The channel's maximum.
        max: u32,
    },
    /// One media item is over the channel's size limit.
    FileTooLarge {
        /// Its position among the media, counted from 0.
        index: u32,
        /// Its size, in bytes.
        bytes: u64,
        /// The channel's maximum, in bytes.
        max: u64,
    },
    /// The media together are over the channel's size limit.
    TotalTooLarge {
        /// Their total size, in bytes.
        bytes: u64,
        /// The channel's maximum, in bytes.
        max: u64,
    },
    /// A media type the channel does not accept (415).
    TypeNotAccepted {
        /// Its position among the media, counted from 0.
        index: u32,
        /// Its MIME type, as given.
        content_type: String,
    },
    /// The text body is over the channel's limit.
    BodyTooLarge {
        /// The body's size, in bytes.
        bytes: u64,
        /// The channel's maximum, in bytes.
        max: u64,
    },
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Violation::TooManyMedia { count, max } => {
                write!(f, "{count} media; at most {max} are allowed")
            }
            Violation::FileTooLarge { index, bytes, max } => {
                write!(
                    f,
                    "media[{index}] is {bytes} bytes; at most {max} are allowed"
                )
            }
            Violation::TotalTooLarge { bytes, max } => {
                write!(
                    f,
                    "the media total {bytes} bytes; at most {max} are allowed"
                )
            }
            Violation::TypeNotAccepted {
                index,
                content_type,
            } => write!(f, "media[{index}] type {content_type:?} is not accepted"),
            Violation::BodyTooLarge { bytes, max } => {
                write!(f, "the body is {bytes} bytes; at most {max} are allowed")
            }
        }
    }
}

/// At most `max` media on one message: too many is a malformed request (a
/// 400, checked before anything about the target), whatever the files are.
pub fn check_count(media: &[Media], max: u32) -> Result<(), Violation> {
    let count = media.len() as u64;
    if count > u64::from(max) {
        return Err(Violation::TooManyMedia {
            count: count.min(u64::from(u32::MAX)) as u32,
            max,
        });
    }
    Ok(())
}

/// What a chat sender may attach.
pub fn check_chat(rules: &ChatMediaRules, media: &[Media]) -> Result<(), Violation> {
    check_count(media, rules.count_max)?;
    for (i, m) in media.iter().enumerate() {
        if m.bytes > rules.bytes_max {
            return Err(Violation::FileTooLarge {
                index: i as u32,
                bytes: m.bytes,
                max: rules.bytes_max,
            });
        }
    }
    Ok(())
}

/// What an SMS/MMS or WhatsApp sender may send: the channel's own limits.
pub fn check_inbound(
    rules: &ChannelRules,
    from: Channel,
    body: &str,
    media: &[Media],
) -> Result<(), Violation> {
    let (file_max, types): (u64, &[String]) = match from {
        Channel::Sms => (rules.mms_file_bytes_max, &rules.mms_accepted_types),
        Channel::Whatsapp => (rules.whatsapp_media_bytes_max, &rules.whatsapp_types),
    };
    check_count(media, rules.inbound_media_count_max(from))?;
    for (i, m) in media.iter().enumerate() {
        if !listed(types, &m.content_type) {
            return Err(Violation::TypeNotAccepted {
                index: i as u32,
                content_type: m.content_type.chars().take(100).collect(),
            });
        }
    }
    for (i, m) in media.iter().enumerate() {
        if m.bytes > file_max {
            return Err(Violation::FileTooLarge {
                index: i as u32,
                bytes: m.bytes,
                max: file_max,
            });
        }
    }
    if from == Channel::Sms {
        let total = media.iter().fold(0u64, |a, m| a.saturating_add(m.bytes));
        if total > rules.mms_total_bytes_max {
            return Err(Violation::TotalTooLarge {
                bytes: total,
                max: rules.mms_total_bytes_max,
            });
        }
    }
    if body.len() as u64 > u64::from(rules.inbound_body_bytes_max) {
        return Err(Violation::BodyTooLarge {
            bytes: body.len() as u64,
            max: u64::from(rules.inbound_body_bytes_max),
        });
    }
    Ok(())
}

/// Why a part of a message did not reach a recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The text is dropped when a medium is sent.
    TextDroppedForMedia,
    /// The medium's type is not fanned out to this channel.
    TypeNotAllowed,
    /// The medium is too large for this channel.
    TooLarge,
    /// The channel carries one medium; this one came after it.
    OneMediumOnly,
}

/// A part of a message a recipient did not get: the text (`media: None`) or
/// `media[i]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// The media item's index; `None` for the text body.
    pub media: Option<u32>,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// Why a recipient gets nothing at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The body is over the channel's 1600 characters (Twilio 21617).
    BodyTooLong,
    /// No text and no medium the channel can carry.
    NothingToDeliver,
    /// WhatsApp free-form message outside the 24-hour window (Twilio 63016).
    OutsideWhatsappWindow,
}

impl Refusal {
    /// The platform's error code for this refusal, where the reference gives one.
    pub fn code(self) -> u16 {
        match self {
            Refusal::BodyTooLong => 21617,
            Refusal::OutsideWhatsappWindow => 63016,
            Refusal::NothingToDeliver => 0,
        }
    }
}

/// What one SMS or WhatsApp recipient gets of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The route the delivery travels.
    pub route: Route,
    /// Whether the text body goes.
    pub body: bool,
    /// The one medium that goes, by index.
    pub medium: Option<u32>,
    /// What the recipient does not get, and why.
    pub dropped: Vec<Dropped>,
    /// Why nothing goes at all, if so.
    pub refused: Option<Refusal>,
}

/// What a recipient on `to` gets of a message with `body` and `media`.
pub fn outbound(rules: &ChannelRules, to: Channel, body: &str, media: &[Media]) -> Plan {
    let mut dropped = Vec::new();
    let mut medium = None;
    for (i, m) in media.iter().enumerate() {
        let (type_ok, size_ok) = match to {
            Channel::Sms => (
                listed(&rules.mms_fanout_types, &m.content_type),
                m.bytes < rules.mms_fanout_bytes_below,
            ),
            Channel::Whatsapp => (
                listed(&rules.whatsapp_types, &m.content_type),
                m.bytes <= rules.whatsapp_media_bytes_max,
            ),
        };
        let reason = if !type_ok {
            DropReason::TypeNotAllowed
        } else if !size_ok {
            DropReason::TooLarge
        } else if medium.is_some() {
            DropReason::OneMediumOnly
        } else {
            medium = Some(i as u32);
            continue;
        };
        dropped.push(Dropped {
            media: Some(i as u32),
            reason,
        });
    }
    let has_text = !body.is_empty();
    if medium.is_some() && has_text {
        dropped.insert(
            0,
            Dropped {
                media: None,
                reason: DropReason::TextDroppedForMedia,
            },
        );
    }
    let body_goes = has_text && medium.is_none();
    let route = match (to, medium) {
        (Channel::Whatsapp, _) => Route::Whatsapp,
        (Channel::Sms, Some(_)) => Route::Mms,
        (Channel::Sms, None) => Route::Sms,
    };
    // A body of no more bytes than the limit has no more characters either,
    // so only a longer one that goes is counted.
    let max_chars = rules.outbound_body_chars_max as usize;
    let too_long = body_goes && body.len() > max_chars && body.chars().count() > max_chars;
    let refused = if too_long {
        Some(Refusal::BodyTooLong)
    } else if !body_goes && medium.is_none() {
        Some(Refusal::NothingToDeliver)
    } else {
        None
    };
    Plan {
        route,
        body: body_goes,
        medium,
        dropped,
        refused,
    }
}
