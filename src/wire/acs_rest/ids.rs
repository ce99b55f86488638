//! Azure Communication Services' id shapes, from counters and the seed: the
//! resource (a GUID), users `8:acs:<resource>_<guid>`, threads
//! `19:acsV1_<tag>_<n>@thread.v2` and messages (a decimal number, as ACS's
//! message ids are). A thread id names the core's thread `t<n>` of this
//! resource and no other; a user id is the core's public id of the identity
//! itself, so the simulator, its trace and the wire all name a user alike.
//!
//! Nothing here is random: the resource comes from the seed through a fixed
//! mixing function (SplitMix64, as in Steele, Lea and Flood, "Fast Splittable
//! Pseudorandom Number Generators"), users from their creation number.

use crate::id::{MessageId, ThreadId};

/// One simulated ACS resource's ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The resource id, a GUID in lowercase hex.
    pub id: String,
    /// The part of thread ids that names this resource.
    tag: String,
    mix: u64,
}

/// SplitMix64's output function over `x`.
pub(crate) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// 128 bits as a GUID: 8-4-4-4-12 lowercase hex digits.
fn guid(high: u64, low: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

impl Resource {
    /// The resource of a server started with `seed`.
    pub fn from_seed(seed: u64) -> Resource {
        let mix = splitmix(seed ^ 0x5357_4954_4348_4244);
        let (high, low) = (splitmix(mix), splitmix(mix ^ 1));
        Resource {
            id: guid(high, low),
            tag: format!("{:012x}", splitmix(mix ^ 2) & 0xffff_ffff_ffff),
            mix,
        }
    }

    /// The raw id of the `n`th identity created (from 1): `8:acs:<resource>_<guid>`.
    pub fn user(&self, n: u32) -> String {
        let n = u64::from(n);
        let low = splitmix(self.mix ^ (n << 8) ^ 3);
        let high = (n << 32) | (splitmix(self.mix ^ (n << 8) ^ 4) & 0xffff_ffff);
        format!("8:acs:{}_{}", self.id, guid(high, low))
    }

    /// Whether `raw` is a user id of this resource (its shape, not whether
    /// the identity exists).
    pub fn owns_user(&self, raw: &str) -> bool {
        raw.strip_prefix("8:acs:")
            .and_then(|rest| rest.strip_prefix(self.id.as_str()))
            .is_some_and(|rest| rest.starts_with('_'))
    }

    /// The wire id of thread `t`: `19:acsV1_<tag>_<n>@thread.v2`.
    pub fn thread(&self, t: ThreadId) -> String {
        format!("19:acsV1_{}_{}@thread.v2", self.tag, t.0)
    }

    /// The thread a wire id names, if it is one of this resource's.
    pub fn parse_thread(&self, wire: &str) -> Option<ThreadId> {
        let digits = wire
            .strip_prefix("19:acsV1_")?
            .strip_prefix(self.tag.as_str())?
            .strip_prefix('_')?
            .strip_suffix("@thread.v2")?;
        decimal(digits).map(ThreadId)
    }
}

/// The wire id of a message: its sequence id in decimal.
pub fn message(sequence: u32) -> String {
    sequence.to_string()
}

/// The wire id of a message the core names `m<seq>` (`None` for any other
/// text).
pub fn message_from_core(core: &str) -> Option<String> {
    core.strip_prefix('m').and_then(decimal).map(message)
}

/// The message a wire id names in `thread`.
pub fn parse_message(thread: ThreadId, wire: &str) -> Option<MessageId> {
    decimal(wire).map(|sequence| MessageId { thread, sequence })
}

/// A decimal number without sign or leading zeros.
fn decimal(text: &str) -> Option<u32> {
    let well_formed = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    well_formed.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_acs_shapes_and_depend_on_the_seed_only() {
        let r = Resource::from_seed(1);
        assert_eq!(r, Resource::from_seed(1));
        assert_ne!(r.id, Resource::from_seed(2).id);
        assert_eq!(r.id.len(), 36);
        let user = r.user(1);
        assert!(
            user.starts_with(&format!("8:acs:{}_00000001-", r.id)),
            "{user}"
        );
        assert_eq!(user.len(), "8:acs:".len() + 36 + 1 + 36);
        assert_ne!(r.user(1), r.user(2));
        assert!(r.owns_user(&user));
        assert!(!Resource::from_seed(2).owns_user(&user));
    }

    #[test]
    fn thread_and_message_ids_round_trip() {
        let r = Resource::from_seed(7);
        let wire = r.thread(ThreadId(42));
        assert!(wire.starts_with("19:acsV1_") && wire.ends_with("_42@thread.v2"));
        assert_eq!(r.parse_thread(&wire), Some(ThreadId(42)));
        assert_eq!(Resource::from_seed(8).parse_thread(&wire), None);
        for bad in ["", "19:x@thread.v2", "t42", &wire.replace("_42@", "_042@")] {
            assert_eq!(r.parse_thread(bad), None, "{bad}");
        }
        assert_eq!(message(3), "3");
        assert_eq!(message_from_core("m3").as_deref(), Some("3"));
        assert_eq!(message_from_core("3"), None);
        let m = parse_message(ThreadId(1), "12").unwrap();
        assert_eq!((m.thread, m.sequence), (ThreadId(1), 12));
        assert_eq!(parse_message(ThreadId(1), "+1"), None);
        assert_eq!(parse_message(ThreadId(1), "99999999999"), None);
    }
}
