//! `Body`: a message body as the core stores and fans it out. The text is
//! shared (an `Arc<str>`), and so is its SMS encoding, worked out the first
//! time a delivery needs it: a body sent many times (a workload's corpus, a
//! burst, a template) is counted once, however many messages carry it. One
//! pointer wide, so a message stays small.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use super::encoding::{SmsInfo, sms_info};

/// Shared text with its SMS encoding, counted once. Equal as its text;
/// the memo is invisible.
#[derive(Clone)]
pub struct Body(triomphe::Arc<Shared>);

struct Shared {
    text: Arc<str>,
    sms: OnceLock<SmsInfo>,
}

impl Body {
    /// The text, shared.
    pub fn text(&self) -> &Arc<str> {
        &self.0.text
    }

    /// The SMS encoding, units and segments of the text (`sms_info`),
    /// worked out on the first call and remembered by every clone.
    pub fn sms_info(&self) -> SmsInfo {
        *self.0.sms.get_or_init(|| sms_info(&self.0.text))
    }
}

impl From<Arc<str>> for Body {
    fn from(text: Arc<str>) -> Body {
        Body(triomphe::Arc::new(Shared {
            text,
            sms: OnceLock::new(),
        }))
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Body {
        Body::from(Arc::<str>::from(text))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::from(Arc::<str>::from(text))
    }
}

impl Deref for Body {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0.text
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.0.text == other.0.text
    }
}

impl Eq for Body {}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0.text, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_counts_its_text_once_for_every_clone() {
        let body = Body::from("héllo {world}");
        let copy = body.clone();
        assert!(copy.0.sms.get().is_none());
        assert_eq!(copy.sms_info(), sms_info("héllo {world}"));
        // The clone's count is the original's: they share it.
        assert_eq!(body.0.sms.get(), Some(&sms_info("héllo {world}")));
        // A body made from the same text apart counts on its own.
        let apart = Body::from(String::from("héllo {world}"));
        assert!(apart.0.sms.get().is_none());
        assert_eq!(apart, body);
        assert_eq!(&*apart, "héllo {world}");
    }
}
