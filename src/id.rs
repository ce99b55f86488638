//! Typed ids, allocated from counters in the state (never from a clock or RNG).

use serde::{Serialize, Serializer};
use std::fmt;

/// A chat identity, by allocation order. Its public name lives in the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u32);

/// A thread, by allocation order; rendered `t<n>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub u32);

impl ThreadId {
    /// Parses the rendered form `t<n>`.
    pub fn parse(text: &str) -> Option<ThreadId> {
        let digits = text.strip_prefix('t')?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(ThreadId)
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
    pub thread: ThreadId,
    pub sequence: u32,
}

/// Renders a message sequence id as the message id string `m<seq>`.
pub fn message_id(sequence: u32) -> String {
    format!("m{sequence}")
}

/// Parses `m<seq>`.
pub fn parse_message_id(text: &str) -> Option<u32> {
    let digits = text.strip_prefix('m')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A token's handle: its identity and its serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TokenId {
    pub user: UserId,
    pub serial: u32,
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
}
