//! Typed ids, allocated from counters in the state (never from a clock or RNG).

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A chat identity, by allocation order. Its public name lives in the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u32);

/// A thread, by allocation order; rendered `t<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub u32);

impl ThreadId {
    /// Parses the rendered form `t<n>`.
    pub fn parse(text: &str) -> Option<ThreadId> {
        number_after('t', text).map(ThreadId)
    }
}

/// The number after `prefix` in `text`: ASCII digits only, no sign.
fn number_after(prefix: char, text: &str) -> Option<u32> {
    let digits = text.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Why a text is not an id of the kind asked for; it names the kind and
/// quotes the text (cut to 64 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseIdError {
    /// The kind of id asked for (`user`, `thread`, …).
    pub kind: &'static str,
    /// The text, cut to 64 characters.
    pub text: String,
}

impl ParseIdError {
    fn new(kind: &'static str, text: &str) -> ParseIdError {
        ParseIdError {
            kind,
            text: text.chars().take(64).collect(),
        }
    }
}

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a {} id", self.text, self.kind)
    }
}

impl std::error::Error for ParseIdError {}

impl fmt::Display for UserId {
    /// `u<n>`: the allocation number (the public name lives in the state).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "u{}", self.0)
    }
}

impl FromStr for UserId {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<UserId, ParseIdError> {
        number_after('u', text)
            .map(UserId)
            .ok_or_else(|| ParseIdError::new("user", text))
    }
}

impl FromStr for ThreadId {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<ThreadId, ParseIdError> {
        ThreadId::parse(text).ok_or_else(|| ParseIdError::new("thread", text))
    }
}

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

impl Serialize for ThreadId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A message: its thread and its sequence id there; rendered `m<seq>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId {
    /// The thread it is in.
    pub thread: ThreadId,
    /// Its position in the thread's log, counted from 1.
    pub sequence: u32,
}

impl fmt::Display for MessageId {
    /// `t<n>/m<seq>`: the thread and the message's id in it (`m<seq>` is the
    /// id the platforms' APIs show inside a thread).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/m{}", self.thread, self.sequence)
    }
}

impl FromStr for MessageId {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<MessageId, ParseIdError> {
        let error = || ParseIdError::new("message", text);
        let (thread, message) = text.split_once('/').ok_or_else(error)?;
        Ok(MessageId {
            thread: ThreadId::parse(thread).ok_or_else(error)?,
            sequence: parse_message_id(message).ok_or_else(error)?,
        })
    }
}

/// Renders a message sequence id as the message id string `m<seq>`.
pub fn message_id(sequence: u32) -> String {
    format!("m{sequence}")
}

/// Parses `m<seq>`.
pub fn parse_message_id(text: &str) -> Option<u32> {
    number_after('m', text)
}

/// A token's handle: its identity and its serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId {
    /// The identity it was issued to.
    pub user: UserId,
    /// Its number among the identity's tokens, counted from 1.
    pub serial: u32,
}

impl fmt::Display for TokenId {
    /// `u<n>/<serial>`: the identity and the token's serial.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.user, self.serial)
    }
}

impl FromStr for TokenId {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<TokenId, ParseIdError> {
        let error = || ParseIdError::new("token", text);
        let (user, serial) = text.split_once('/').ok_or_else(error)?;
        let serial = Some(serial)
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .ok_or_else(error)?;
        Ok(TokenId {
            user: user.parse().map_err(|_| error())?,
            serial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_render_and_parse() {
        assert_eq!(ThreadId(12).to_string(), "t12");
        assert_eq!(ThreadId::parse("t12"), Some(ThreadId(12)));
        assert_eq!(ThreadId::parse("t"), None);
        assert_eq!(ThreadId::parse("t+1"), None);
        assert_eq!(ThreadId::parse("x1"), None);
        assert_eq!(parse_message_id(&message_id(7)), Some(7));
        assert_eq!(parse_message_id("m"), None);
        assert_eq!(parse_message_id("7"), None);
    }

    #[test]
    fn every_id_renders_and_parses_back() {
        let user = UserId(4);
        let thread = ThreadId(12);
        let message = MessageId {
            thread,
            sequence: 7,
        };
        let token = TokenId { user, serial: 3 };
        assert_eq!(user.to_string(), "u4");
        assert_eq!(message.to_string(), "t12/m7");
        assert_eq!(token.to_string(), "u4/3");
        assert_eq!("u4".parse(), Ok(user));
        assert_eq!("t12".parse(), Ok(thread));
        assert_eq!("t12/m7".parse(), Ok(message));
        assert_eq!("u4/3".parse(), Ok(token));
        for bad in [
            "",
            "u",
            "u-1",
            "t12/",
            "t12/7",
            "m7",
            "u4/",
            "u4/x",
            "t99999999999",
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad}");
            assert!(bad.parse::<TokenId>().is_err(), "{bad}");
        }
        let error = "x".repeat(1000).parse::<ThreadId>().unwrap_err();
        assert!(error.to_string().len() < 100, "{error}");
    }
}
