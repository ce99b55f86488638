//! Sendbird's id shapes, from counters and the seed: the application's API
//! token (40 hex digits, as Sendbird's are), group channel URLs
//! `sendbird_group_channel_<n>_<40 hex>` (the shape Sendbird gives a channel
//! created without a URL of its own) and message ids (integers, as
//! Sendbird's are). A channel URL names the core's thread `t<n>` of this
//! application and no other; a message id names one message of its
//! channel. User ids are the application's own strings, the core's identity
//! ids themselves.
//!
//! Nothing here is random: everything comes from the seed through the same
//! mixing function as ACS's ids (`acs_rest::ids`).

use crate::id::ThreadId;
use crate::wire::acs_rest::ids::splitmix;

/// The prefix of every group channel URL the server makes.
const CHANNEL_PREFIX: &str = "sendbird_group_channel_";

/// A message id is `offset + n * MESSAGES_PER_CHANNEL + sequence`.
const MESSAGES_PER_CHANNEL: u64 = 1_000_000_000;

/// One simulated Sendbird application's ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    mix: u64,
    /// What every message id of this application starts from.
    offset: u64,
}

impl App {
    /// The application of a server started with `seed`.
    pub fn from_seed(seed: u64) -> App {
        let mix = splitmix(seed ^ 0x5345_4e44_4249_5244);
        App {
            mix,
            // 100 to 999 times 10^12: message ids stay below 2^53 (JSON-safe)
            // for eight million channels.
            offset: (100 + splitmix(mix ^ 7) % 900) * 1_000_000_000_000,
        }
    }

    /// The application's API token (`Api-Token`): 40 lowercase hex digits.
    pub fn api_token(&self) -> String {
        self.hex40(0xa91)
    }

    fn hex40(&self, salt: u64) -> String {
        let (a, b, c) = (
            splitmix(self.mix ^ salt),
            splitmix(self.mix ^ salt ^ (1 << 40)),
            splitmix(self.mix ^ salt ^ (2 << 40)),
        );
        format!("{a:016x}{b:016x}{:08x}", c >> 32)
    }

    /// The URL of the core's thread `t`.
    pub fn channel_url(&self, t: ThreadId) -> String {
        format!(
            "{CHANNEL_PREFIX}{}_{}",
            t.0,
            self.hex40(u64::from(t.0) << 12)
        )
    }

    /// The thread a channel URL names, if this application made it.
    pub fn parse_channel_url(&self, url: &str) -> Option<ThreadId> {
        let rest = url.strip_prefix(CHANNEL_PREFIX)?;
        let (n, hex) = rest.split_once('_')?;
        let t = ThreadId(n.parse().ok()?);
        (hex.len() == 40 && self.channel_url(t) == url).then_some(t)
    }

    /// The `next` token of a listing that goes on at item `offset`: opaque
    /// to the client (16 hex digits), the offset under the application's mix.
    pub fn page_token(&self, offset: usize) -> String {
        format!("{:016x}", (offset as u64) ^ self.mix)
    }

    /// The offset a `next` token stands for, if this application made it.
    pub fn parse_page_token(&self, token: &str) -> Option<usize> {
        if token.len() != 16 {
            return None;
        }
        let offset = u64::from_str_radix(token, 16).ok()? ^ self.mix;
        usize::try_from(offset).ok().filter(|o| *o < (1 << 32))
    }

    /// The message id of message `sequence` of thread `t`.
    pub fn message_id(&self, t: ThreadId, sequence: u32) -> u64 {
        self.offset + u64::from(t.0) * MESSAGES_PER_CHANNEL + u64::from(sequence)
    }

    /// The sequence of the message of thread `t` that `id` names, if it names one there.
    pub fn parse_message_id(&self, t: ThreadId, id: &str) -> Option<u32> {
        let id: u64 = id.parse().ok()?;
        let rest = id.checked_sub(self.offset)?;
        (rest / MESSAGES_PER_CHANNEL == u64::from(t.0))
            .then(|| u32::try_from(rest % MESSAGES_PER_CHANNEL).ok())
            .flatten()
            .filter(|s| *s > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_belong_to_their_app() {
        let app = App::from_seed(1);
        let token = app.api_token();
        assert_eq!(token.len(), 40);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(token, App::from_seed(2).api_token());
        for n in [1, 9, 10, 12345] {
            let url = app.channel_url(ThreadId(n));
            assert_eq!(app.parse_channel_url(&url), Some(ThreadId(n)), "{url}");
            assert_eq!(App::from_seed(2).parse_channel_url(&url), None);
            assert_eq!(app.parse_channel_url(&format!("{url}0")), None);
            let id = app.message_id(ThreadId(n), 7);
            assert!(id < (1 << 53));
            assert_eq!(app.parse_message_id(ThreadId(n), &id.to_string()), Some(7));
            assert_eq!(app.parse_message_id(ThreadId(n + 1), &id.to_string()), None);
        }
        assert_eq!(app.parse_channel_url("sendbird_group_channel_1_x"), None);
        assert_eq!(app.parse_page_token(&app.page_token(30)), Some(30));
        assert_eq!(
            App::from_seed(2).parse_page_token(&app.page_token(30)),
            None
        );
        assert_eq!(app.parse_page_token("zz"), None);
        assert_eq!(app.parse_message_id(ThreadId(1), "-1"), None);
        assert_eq!(app.parse_message_id(ThreadId(1), "abc"), None);
    }
}
