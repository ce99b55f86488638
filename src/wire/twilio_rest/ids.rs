//! Twilio's SID shapes, from counters and the seed: two letters and 32
//! lowercase hex digits (34 characters), as Twilio's SIDs are. The account
//! (`AC…`), its auth token and its default conversation service (`IS…`)
//! come from the seed; conversations (`CH…`), participants (`MB…`),
//! messages (`IM…`), users (`US…`) and delivery receipts (`DY…`) carry the
//! core's counters in their first 16 hex digits and a seed-keyed check in
//! the last 16, so a SID names one thing of this account and no other, and a
//! SID from elsewhere (or mistyped) names nothing.
//!
//! Nothing here is random: SplitMix64 (Steele, Lea and Flood, "Fast
//! Splittable Pseudorandom Number Generators") mixes the seed and counters.

use crate::id::{MessageId, ThreadId, UserId};
use crate::wire::acs_rest::ids::splitmix;

/// Who a participant SID names inside its conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member {
    /// A chat participant: the identity.
    Chat(UserId),
    /// An SMS or WhatsApp participant: its binding's index in the conversation.
    Binding(u32),
}

/// One simulated Twilio account's SIDs and secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account SID, `AC…`.
    pub sid: String,
    /// The auth token: 32 lowercase hex digits.
    pub auth_token: String,
    /// The default conversation service, `IS…`.
    pub service_sid: String,
    mix: u64,
}

impl Account {
    /// The account of a server started with `seed`.
    pub fn from_seed(seed: u64) -> Account {
        let mix = splitmix(seed ^ 0x5457_494C_494F_4143);
        let hex = |salt: u64| {
            format!(
                "{:016x}{:016x}",
                splitmix(mix ^ salt),
                splitmix(mix ^ (salt << 8))
            )
        };
        Account {
            sid: format!("AC{}", hex(1)),
            auth_token: hex(2),
            service_sid: format!("IS{}", hex(3)),
            mix,
        }
    }

    /// A SID of `prefix` carrying `a` and `b` (32 bits of each: a counter
    /// beyond makes a SID that names nothing).
    fn sid(&self, prefix: &str, a: u64, b: u64) -> String {
        let (a, b) = (a & 0xffff_ffff, b & 0xffff_ffff);
        let tag = u64::from(prefix.as_bytes()[0]) << 8 | u64::from(prefix.as_bytes()[1]);
        let check = splitmix(self.mix ^ splitmix(tag ^ (a << 16)) ^ splitmix(b));
        format!("{prefix}{:08x}{:08x}{check:016x}", a, b)
    }

    /// The two counters a SID of `prefix` carries, if it is one of this account's.
    fn parse(&self, prefix: &str, sid: &str) -> Option<(u64, u64)> {
        let hex = sid.strip_prefix(prefix)?;
        let lower_hex = hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !lower_hex {
            return None;
        }
        let a = u64::from_str_radix(&hex[..8], 16).ok()?;
        let b = u64::from_str_radix(&hex[8..16], 16).ok()?;
        (self.sid(prefix, a, b) == sid).then_some((a, b))
    }

    /// A conversation's SID.
    pub fn conversation(&self, t: ThreadId) -> String {
        self.sid("CH", u64::from(t.0), 0)
    }

    /// The conversation a SID names.
    pub fn parse_conversation(&self, sid: &str) -> Option<ThreadId> {
        let (a, _) = self.parse("CH", sid)?;
        u32::try_from(a).ok().map(ThreadId)
    }

    /// A message's SID.
    pub fn message(&self, m: MessageId) -> String {
        self.sid("IM", u64::from(m.thread.0), u64::from(m.sequence))
    }

    /// The message a SID names.
    pub fn parse_message(&self, sid: &str) -> Option<MessageId> {
        let (a, b) = self.parse("IM", sid)?;
        Some(MessageId {
            thread: ThreadId(u32::try_from(a).ok()?),
            sequence: u32::try_from(b).ok()?,
        })
    }

    /// A participant's SID.
    pub fn participant(&self, t: ThreadId, member: Member) -> String {
        let b = match member {
            Member::Chat(u) => u64::from(u.0) << 1,
            Member::Binding(i) => (u64::from(i) << 1) | 1,
        };
        self.sid("MB", u64::from(t.0), b)
    }

    /// The participant a SID names.
    pub fn parse_participant(&self, sid: &str) -> Option<(ThreadId, Member)> {
        let (a, b) = self.parse("MB", sid)?;
        let index = u32::try_from(b >> 1).ok()?;
        let member = if b & 1 == 0 {
            Member::Chat(UserId(index))
        } else {
            Member::Binding(index)
        };
        Some((ThreadId(u32::try_from(a).ok()?), member))
    }

    /// The SID of the `n`th medium uploaded (from 0).
    pub fn media(&self, n: u32) -> String {
        self.sid("ME", u64::from(n), 0)
    }

    /// The SID of the `i`th medium of message `m` that no upload made (an
    /// inbound MMS or WhatsApp medium): it names no upload.
    pub fn inbound_media(&self, m: MessageId, i: u32) -> String {
        let b = (u64::from(m.thread.0) << 20) ^ (u64::from(m.sequence) << 4) ^ u64::from(i);
        self.sid("ME", 0xffff_ffff, b)
    }

    /// The upload a media SID names.
    pub fn parse_media(&self, sid: &str) -> Option<u32> {
        let (a, _) = self.parse("ME", sid)?;
        u32::try_from(a).ok()
    }

    /// A user's SID.
    pub fn user(&self, u: UserId) -> String {
        self.sid("US", u64::from(u.0), 0)
    }

    /// The user a SID names.
    pub fn parse_user(&self, sid: &str) -> Option<UserId> {
        let (a, _) = self.parse("US", sid)?;
        u32::try_from(a).ok().map(UserId)
    }

    /// A delivery receipt's SID: the outbox delivery's global id.
    pub fn receipt(&self, delivery: u64) -> String {
        self.sid("DY", delivery >> 32, delivery & 0xffff_ffff)
    }

    /// The delivery a receipt SID names.
    pub fn parse_receipt(&self, sid: &str) -> Option<u64> {
        let (a, b) = self.parse("DY", sid)?;
        Some((a << 32) | b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_have_twilio_shapes_and_round_trip() {
        let a = Account::from_seed(1);
        assert_eq!(a, Account::from_seed(1));
        assert_ne!(a.sid, Account::from_seed(2).sid);
        for sid in [&a.sid, &a.service_sid] {
            assert_eq!(sid.len(), 34);
        }
        assert_eq!(a.auth_token.len(), 32);
        let t = ThreadId(7);
        let ch = a.conversation(t);
        assert!(ch.starts_with("CH") && ch.len() == 34, "{ch}");
        assert_eq!(a.parse_conversation(&ch), Some(t));
        let m = MessageId {
            thread: t,
            sequence: 12,
        };
        assert_eq!(a.parse_message(&a.message(m)), Some(m));
        for member in [Member::Chat(UserId(3)), Member::Binding(0)] {
            assert_eq!(
                a.parse_participant(&a.participant(t, member)),
                Some((t, member))
            );
        }
        assert_eq!(a.parse_user(&a.user(UserId(9))), Some(UserId(9)));
        assert_eq!(a.parse_media(&a.media(4)), Some(4));
        assert_eq!(a.parse_receipt(&a.receipt(5)), Some(5));
        // Another seed's SIDs, other prefixes and near misses name nothing.
        let other = Account::from_seed(2);
        assert_eq!(a.parse_conversation(&other.conversation(t)), None);
        assert_eq!(a.parse_conversation(&a.user(UserId(7))), None);
        assert_eq!(a.parse_conversation(&ch.to_uppercase()), None);
        assert_eq!(a.parse_conversation(&ch[..33]), None);
        assert_eq!(a.parse_conversation("CHé"), None);
    }
}
