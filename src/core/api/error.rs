//! The one error type of the platform API.
//!
//! Checks run in a fixed precedence, written once in the core's pipeline:
//! 401 (who is calling), 400 (is the request well formed), 404 (does the target
//! exist), 403 (may this token make the call; is the caller a participant), 409
//! for a closed Twilio conversation (50377, with the 403s: a change to it is
//! refused before its size is looked at), 404 for the message or participant
//! named inside the thread, 413 (is it too large), the 400s and 409s that
//! depend on the target's state (a thread that would overflow its participant
//! or non-chat caps, an identity in too many threads, receipts or typing on a
//! thread that is too large, a binding held elsewhere), and 429 (is the caller
//! over a rate limit). A request with several faults reports the first in
//! that order. Errors carry typed facts; the wording and wire shape belong to
//! the profile's rendering.

use serde::Serialize;
use std::fmt;

use crate::id::{MessageId, ThreadId};
use crate::profile::{Operation, Scope};
use crate::rules::Violation;

/// The canonical error kinds of the scenario format, each with its HTTP-like status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// 400: the request is malformed, or the profile lacks the feature.
    BadRequest,
    /// 401: no valid identity or token.
    Unauthorized,
    /// 403: the caller may not do this (not a participant, not the sender, a missing scope).
    Forbidden,
    /// 404: the identity, thread, message or participant does not exist for the caller.
    NotFound,
    /// 409: the call conflicts with the state (an existing identity, a closed conversation, a bound address).
    Conflict,
    /// 413: the message or its metadata is over the size limit.
    TooLarge,
    /// 415: a media type the channel does not accept.
    UnsupportedMedia,
    /// 429: over a rate limit; `retry_after_ms` says how long to wait.
    RateLimited,
}

impl Kind {
    /// The HTTP status a platform answers with (400, 401, 403, 404, 409, 413, 415, 429).
    pub fn status(self) -> u16 {
        match self {
            Kind::BadRequest => 400,
            Kind::Unauthorized => 401,
            Kind::Forbidden => 403,
            Kind::NotFound => 404,
            Kind::Conflict => 409,
            Kind::TooLarge => 413,
            Kind::UnsupportedMedia => 415,
            Kind::RateLimited => 429,
        }
    }

    /// The canonical name `expect.error` matches.
    pub fn name(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad_request",
            Kind::Unauthorized => "unauthorized",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not_found",
            Kind::Conflict => "conflict",
            Kind::TooLarge => "too_large",
            Kind::UnsupportedMedia => "unsupported_media",
            Kind::RateLimited => "rate_limited",
        }
    }

    /// The kind `name` spells (`"not_found"`, …), if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        [
            Kind::BadRequest,
            Kind::Unauthorized,
            Kind::Forbidden,
            Kind::NotFound,
            Kind::Conflict,
            Kind::TooLarge,
            Kind::UnsupportedMedia,
            Kind::RateLimited,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// An error returned to a caller. A rejected call changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // 401
    /// The call has no identity, or the identity was deleted.
    Unauthenticated,
    // 400
    /// A field is missing, empty or malformed.
    InvalidField {
        /// The field, as the scenario format names it.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// More participants in one call than the profile allows.
    TooManyParticipantsInCall {
        /// How many the call named.
        count: u32,
        /// The profile's maximum per call.
        max: u32,
    },
    /// The thread would hold more participants than the profile allows.
    ThreadFull {
        /// How many it would hold.
        count: u32,
        /// The profile's maximum per thread.
        max: u32,
    },
    /// Page size out of range.
    PageSize {
        /// The page size asked for.
        requested: u32,
        /// The profile's maximum page size.
        max: u32,
    },
    /// A continuation token that this listing did not issue.
    BadContinuation {
        /// The token as given.
        token: String,
    },
    /// Read receipts and typing indicators on a thread that is too large.
    ThreadTooLargeForReceipts {
        /// How many participants the thread has.
        participants: u32,
        /// The profile's maximum for receipts and typing.
        max: u32,
    },
    /// An operation this profile does not model (yet).
    UnsupportedByProfile {
        /// The op's scenario name.
        op: String,
        /// The profile's name.
        profile: String,
    },
    // 404
    /// 404: no such identity (or it was deleted).
    UserNotFound {
        /// The identity as named.
        user: String,
    },
    /// The thread, as the caller named it (a name that is no thread id
    /// is not found either).
    ThreadNotFound {
        /// The thread as named.
        thread: String,
    },
    /// The message, as the caller named it, in a thread as named.
    MessageNotFound {
        /// The thread as named.
        thread: String,
        /// The message as named.
        message: String,
    },
    /// 404: the thread has no such chat participant.
    ParticipantNotFound {
        /// The thread.
        thread: ThreadId,
        /// The identity as named.
        user: String,
    },
    // 403
    /// 403: the caller is not a participant of the thread.
    NotAParticipant {
        /// The thread.
        thread: ThreadId,
        /// The caller's identity.
        user: String,
    },
    /// 403: only the sender may edit or delete a message.
    NotTheSender {
        /// The message.
        message: MessageId,
        /// The caller's identity.
        user: String,
    },
    // 413
    /// 413: the message's content is over the profile's limit.
    MessageTooLarge {
        /// The content's size, in bytes.
        bytes: u32,
        /// The profile's maximum, in bytes.
        max: u32,
    },
    /// 413: the message's metadata is over the profile's limit.
    MetadataTooLarge {
        /// The metadata's size, in bytes.
        bytes: u32,
        /// The profile's maximum, in bytes.
        max: u32,
    },
    // 409
    /// 409: an identity with this id exists.
    UserExists {
        /// The identity's id.
        user: String,
    },
    // 429
    /// 429: a rate limit's window is full.
    RateLimited {
        /// The operation counted.
        operation: Operation,
        /// What the limit counts per (user, thread, resource, …).
        scope: Scope,
        /// The limit's window, in milliseconds.
        window_ms: u64,
        /// How many calls the window admits.
        count: u32,
        /// Counted on the real-time socket (Sendbird's 900200).
        socket: bool,
        /// How long until the call would be admitted, in milliseconds.
        retry_after_ms: u64,
    },
    // Lifecycle and access (retention, tokens, conversation states).
    /// 401: the token presented is unknown, expired or revoked.
    TokenRejected {
        /// Unknown, expired or revoked.
        problem: TokenProblem,
    },
    /// 403: the token presented lacks every scope that allows the call.
    MissingScope {
        /// The op's scenario name.
        op: &'static str,
        /// The scopes that would allow it, as the platform spells them.
        needs: String,
    },
    /// 400: a Twilio state timer below its minimum (50375 inactive, 50376 closed).
    TimerTooShort {
        /// `inactive` or `closed`.
        timer: &'static str,
        /// The timer asked for, in milliseconds.
        ms: u64,
        /// The profile's minimum, in milliseconds.
        min_ms: u64,
    },
    /// 400: a Twilio state timer that is not an ISO-8601 duration (50379).
    InvalidTimer {
        /// `inactive` or `closed`.
        timer: &'static str,
        /// The text as given.
        value: String,
        /// It is ISO-8601, but in years or months, which have no fixed length.
        calendar_units: bool,
    },
    /// 400: a deadline the call would set lies past the end of virtual time
    /// (a token's expiry, a retention deletion, a deleted thread's purge).
    DeadlineOutOfTime {
        /// Which deadline (a token's expiry, a retention deletion, a purge).
        deadline: &'static str,
    },
    /// 400: timers on create without a state (50382).
    TimersWithoutState,
    /// 400: a conversation created in the closed state (50384).
    CreatedClosed,
    /// 409: a change to a closed conversation (50377).
    ConversationClosed {
        /// The conversation.
        thread: ThreadId,
    },
    /// 409: an operator recovery of a thread that is not deleted.
    NotDeleted {
        /// The thread.
        thread: ThreadId,
    },
    // ---- non-chat channels ----
    /// 400: an address or proxy address that is not E.164 (or too long).
    InvalidAddress {
        /// The field, as the scenario format names it.
        field: &'static str,
        /// The address as given.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// 400: more non-chat participants than the profile allows in a thread.
    TooManyNonChat {
        /// How many the thread would hold.
        count: u32,
        /// The profile's maximum per thread.
        max: u32,
    },
    /// 400: a chat identity already in the most threads the profile allows.
    TooManyThreadsForIdentity {
        /// The identity.
        user: String,
        /// The profile's maximum threads per identity.
        max: u32,
    },
    /// 400/413/415: media or a body that breaks the channel's rules.
    Media(Violation),
    /// 400: more SMS recipients than allowed, or none.
    SmsRecipients {
        /// How many recipients were named.
        count: u32,
        /// The maximum per call (100).
        max: u32,
    },
    /// 400: an SMS message longer than allowed.
    SmsTooLong {
        /// The message's length, in characters.
        chars: u32,
        /// The maximum, in characters.
        max: u32,
    },
    /// 404: no thread binds this address and proxy address.
    NoBinding {
        /// The sender's address.
        address: String,
        /// The proxy address it was sent to.
        proxy: String,
    },
    /// 404: the thread has no such SMS or WhatsApp participant.
    BindingNotFound {
        /// The thread.
        thread: ThreadId,
        /// The address as given.
        address: String,
    },
    /// 409: the address and proxy pair is bound in a thread already.
    BindingExists {
        /// The participant's address.
        address: String,
        /// The proxy address.
        proxy: String,
    },
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenProblem {
    /// No such token was issued.
    Unknown,
    /// Its lifetime has passed.
    Expired,
    /// It was revoked, or its identity deleted.
    Revoked,
}

impl Error {
    /// The canonical kind, as `expect.error` names it.
    pub fn kind(&self) -> Kind {
        match self {
            Error::Unauthenticated => Kind::Unauthorized,
            Error::InvalidField { .. }
            | Error::TooManyParticipantsInCall { .. }
            | Error::ThreadFull { .. }
            | Error::PageSize { .. }
            | Error::BadContinuation { .. }
            | Error::ThreadTooLargeForReceipts { .. }
            | Error::UnsupportedByProfile { .. } => Kind::BadRequest,
            Error::UserNotFound { .. }
            | Error::ThreadNotFound { .. }
            | Error::MessageNotFound { .. }
            | Error::ParticipantNotFound { .. } => Kind::NotFound,
            Error::NotAParticipant { .. } | Error::NotTheSender { .. } => Kind::Forbidden,
            Error::MessageTooLarge { .. } | Error::MetadataTooLarge { .. } => Kind::TooLarge,
            Error::UserExists { .. } => Kind::Conflict,
            Error::RateLimited { .. } => Kind::RateLimited,
            Error::TokenRejected { .. } => Kind::Unauthorized,
            Error::MissingScope { .. } => Kind::Forbidden,
            Error::TimerTooShort { .. }
            | Error::InvalidTimer { .. }
            | Error::TimersWithoutState
            | Error::DeadlineOutOfTime { .. }
            | Error::CreatedClosed => Kind::BadRequest,
            Error::ConversationClosed { .. } | Error::NotDeleted { .. } => Kind::Conflict,
            Error::InvalidAddress { .. }
            | Error::TooManyNonChat { .. }
            | Error::TooManyThreadsForIdentity { .. }
            | Error::SmsRecipients { .. }
            | Error::SmsTooLong { .. } => Kind::BadRequest,
            Error::Media(v) => match v {
                Violation::TooManyMedia { .. } => Kind::BadRequest,
                Violation::FileTooLarge { .. }
                | Violation::TotalTooLarge { .. }
                | Violation::BodyTooLarge { .. } => Kind::TooLarge,
                Violation::TypeNotAccepted { .. } => Kind::UnsupportedMedia,
            },
            Error::NoBinding { .. } | Error::BindingNotFound { .. } => Kind::NotFound,
            Error::BindingExists { .. } => Kind::Conflict,
        }
    }

    /// The HTTP status a platform answers with.
    pub fn status(&self) -> u16 {
        self.kind().status()
    }

    /// The exact wait before a retry can be admitted, for 429s.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            Error::RateLimited { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }
}

/// The most characters of one piece of caller input an error message quotes.
pub const INPUT_CHARS_MAX: usize = 64;

/// The most characters of a reason an error message gives.
const REASON_CHARS_MAX: usize = 200;

/// `text` cut to `max` characters, marked with `…` when cut: an error never
/// echoes input of any size whole.
pub fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(text),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..at])),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthenticated => write!(f, "Request is not authorized."),
            Error::InvalidField { field, reason } => {
                write!(f, "invalid {field}: {}", cut(reason, REASON_CHARS_MAX))
            }
            Error::TooManyParticipantsInCall { count, max } => {
                write!(
                    f,
                    "{count} participants in one call; at most {max} are allowed"
                )
            }
            Error::ThreadFull { count, max } => {
                write!(
                    f,
                    "the thread would have {count} participants; at most {max} are allowed"
                )
            }
            Error::PageSize { requested, max } => {
                write!(f, "page size {requested} is out of range 1..={max}")
            }
            Error::BadContinuation { token } => write!(
                f,
                "unknown continuation token {:?}",
                cut(token, INPUT_CHARS_MAX)
            ),
            Error::ThreadTooLargeForReceipts { participants, max } => write!(
                f,
                "read receipts and typing indicators are not supported on threads with more \
                 than {max} participants (this one has {participants})"
            ),
            Error::UnsupportedByProfile { op, profile } => {
                write!(
                    f,
                    "{} is not supported by profile {}",
                    cut(op, INPUT_CHARS_MAX),
                    cut(profile, INPUT_CHARS_MAX)
                )
            }
            Error::UserNotFound { user } => {
                write!(f, "user {} not found", cut(user, INPUT_CHARS_MAX))
            }
            Error::ThreadNotFound { thread } => {
                write!(f, "thread {} not found", cut(thread, INPUT_CHARS_MAX))
            }
            Error::MessageNotFound { thread, message } => {
                write!(
                    f,
                    "message {} not found in thread {}",
                    cut(message, INPUT_CHARS_MAX),
                    cut(thread, INPUT_CHARS_MAX)
                )
            }
            Error::ParticipantNotFound { thread, user } => {
                write!(
                    f,
                    "{} is not a participant of thread {thread}",
                    cut(user, INPUT_CHARS_MAX)
                )
            }
            Error::NotAParticipant { thread, user } => write!(
                f,
                "User is not allowed to perform specified action: {user} is not a participant \
                 of thread {thread}."
            ),
            Error::NotTheSender { message, user } => write!(
                f,
                "User is not allowed to perform specified action: {user} did not send message \
                 m{}.",
                message.sequence
            ),
            Error::MessageTooLarge { bytes, max } => {
                write!(f, "message is {bytes} bytes; at most {max} are allowed")
            }
            Error::MetadataTooLarge { bytes, max } => {
                write!(f, "metadata is {bytes} bytes; at most {max} are allowed")
            }
            Error::UserExists { user } => {
                write!(f, "user {} already exists", cut(user, INPUT_CHARS_MAX))
            }
            Error::RateLimited {
                retry_after_ms,
                count,
                window_ms,
                scope,
                ..
            } => {
                let per = match scope {
                    Scope::User => "user",
                    Scope::Thread => "thread",
                    Scope::UserThread => "user in a thread",
                    Scope::Resource => "resource",
                    Scope::Connection => "connection",
                    Scope::Sender => "sending number",
                };
                write!(
                    f,
                    "Rate limit exceeded ({count} per {window_ms} ms per {per}); retry after \
                     {retry_after_ms} ms."
                )
            }
            Error::TokenRejected { problem } => match problem {
                TokenProblem::Unknown => write!(f, "The access token is not valid."),
                TokenProblem::Expired => write!(f, "The access token has expired."),
                TokenProblem::Revoked => write!(f, "The access token has been revoked."),
            },
            Error::MissingScope { op, needs } => write!(
                f,
                "User is not allowed to perform specified action: {op} needs a token with \
                 scope {needs}."
            ),
            Error::TimerTooShort { timer, ms, min_ms } => write!(
                f,
                "Timers.{timer} is {ms} ms; it must be at least {min_ms} ms"
            ),
            Error::InvalidTimer {
                timer,
                value,
                calendar_units,
            } => {
                write!(
                    f,
                    "Timers.{timer} {:?} is not an ISO-8601 duration",
                    cut(value, INPUT_CHARS_MAX)
                )?;
                if *calendar_units {
                    write!(
                        f,
                        " Twilio takes: years and months have no fixed length; give weeks, \
                         days, hours, minutes or seconds"
                    )?;
                }
                Ok(())
            }
            Error::DeadlineOutOfTime { deadline } => {
                write!(f, "the {deadline} would fall after the end of virtual time")
            }
            Error::TimersWithoutState => {
                write!(f, "Timers can't be set without State on creation")
            }
            Error::CreatedClosed => write!(f, "A conversation can't be created closed"),
            Error::ConversationClosed { thread } => write!(
                f,
                "Can't update conversation {thread} as it's in final closed state"
            ),
            Error::NotDeleted { thread } => {
                write!(
                    f,
                    "thread {thread} is not deleted; there is nothing to recover"
                )
            }
            Error::InvalidAddress {
                field,
                address,
                reason,
            } => write!(
                f,
                "invalid {field} {:?}: {reason}",
                cut(address, INPUT_CHARS_MAX)
            ),
            Error::TooManyNonChat { count, max } => write!(
                f,
                "the thread would have {count} SMS and WhatsApp participants; at most {max} are allowed"
            ),
            Error::TooManyThreadsForIdentity { user, max } => write!(
                f,
                "{user} already belongs to {max} threads; at most {max} are allowed"
            ),
            Error::Media(v) => write!(f, "{v}"),
            Error::SmsRecipients { count, max } => {
                write!(f, "{count} recipients; 1 to {max} are allowed")
            }
            Error::SmsTooLong { chars, max } => write!(
                f,
                "the message is {chars} characters; at most {max} are allowed"
            ),
            Error::NoBinding { address, proxy } => {
                write!(
                    f,
                    "no thread binds {} with proxy address {}",
                    cut(address, INPUT_CHARS_MAX),
                    cut(proxy, INPUT_CHARS_MAX)
                )
            }
            Error::BindingNotFound { thread, address } => {
                write!(
                    f,
                    "{} is not a participant of thread {thread}",
                    cut(address, INPUT_CHARS_MAX)
                )
            }
            Error::BindingExists { address, proxy } => write!(
                f,
                "A binding for this participant and proxy address already exists: {} with {}",
                cut(address, INPUT_CHARS_MAX),
                cut(proxy, INPUT_CHARS_MAX)
            ),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_status_and_name() {
        let table = [
            (Kind::BadRequest, 400, "bad_request"),
            (Kind::Unauthorized, 401, "unauthorized"),
            (Kind::Forbidden, 403, "forbidden"),
            (Kind::NotFound, 404, "not_found"),
            (Kind::Conflict, 409, "conflict"),
            (Kind::TooLarge, 413, "too_large"),
            (Kind::UnsupportedMedia, 415, "unsupported_media"),
            (Kind::RateLimited, 429, "rate_limited"),
        ];
        for (kind, status, name) in table {
            assert_eq!(kind.status(), status);
            assert_eq!(kind.name(), name);
            assert_eq!(Kind::from_name(name), Some(kind));
        }
    }
}
