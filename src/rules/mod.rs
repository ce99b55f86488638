//! The stateless channel rules of SMS (and MMS) and WhatsApp: encoding and
//! segments ([`encoding`]), address validation ([`address`]), and the media
//! and body rule table ([`media`]). The core consults them; the carrier model
//! (its parameters in `profile::carrier`, its draws in the shell) decides what
//! happens to a delivery after it leaves.

pub mod address;
pub mod body;
pub mod encoding;
pub mod html;
pub mod media;

use serde::{Deserialize, Serialize};

pub use body::Body;
pub use encoding::{Encoding, SmsInfo, sms_info};
pub use media::{
    ChannelRules, ChatMediaRules, DropReason, Dropped, Media, Plan, Refusal, Violation,
};

/// The channel of a non-chat participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Channel {
    /// SMS (and MMS), to a phone number.
    Sms,
    /// WhatsApp, to a `whatsapp:` address.
    Whatsapp,
}

impl Channel {
    /// The name the scenario format and the trace use.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
        }
    }
}

/// How one delivery goes out: SMS (text only), MMS (with a medium) or WhatsApp.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Route {
    /// SMS: text only, in segments.
    Sms,
    /// MMS: text and media (US and Canadian numbers).
    Mms,
    /// WhatsApp.
    Whatsapp,
}

impl Route {
    /// The name the scenario format and the trace use.
    pub fn name(self) -> &'static str {
        match self {
            Route::Sms => "sms",
            Route::Mms => "mms",
            Route::Whatsapp => "whatsapp",
        }
    }
}

/// A delivery's status, in the order a delivery moves through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Accepted and waiting for the carrier.
    Queued,
    /// Handed to the carrier.
    Sent,
    /// The handset confirmed receipt.
    Delivered,
    /// The carrier could not deliver it.
    Undelivered,
    /// Refused before or by the carrier.
    Failed,
    /// The recipient read it (WhatsApp).
    Read,
}

impl Status {
    /// Every status, in the order a delivery moves through them.
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Sent,
        Status::Delivered,
        Status::Undelivered,
        Status::Failed,
        Status::Read,
    ];

    /// The name the scenario format and the trace use.
    pub fn name(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Undelivered => "undelivered",
            Status::Failed => "failed",
            Status::Read => "read",
        }
    }

    /// Whether a receipt may move a delivery from `self` to `next`:
    /// queued → sent → delivered | undelivered | failed, delivered → read;
    /// a carrier that reports no `sent` goes from queued to the final status.
    pub fn may_become(self, next: Status) -> bool {
        matches!(
            (self, next),
            (
                Status::Queued,
                Status::Sent | Status::Delivered | Status::Undelivered | Status::Failed
            ) | (
                Status::Sent,
                Status::Delivered | Status::Undelivered | Status::Failed
            ) | (Status::Delivered, Status::Read)
        )
    }

    /// The status `name` spells, if any.
    pub fn from_name(name: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.name() == name)
    }
}
