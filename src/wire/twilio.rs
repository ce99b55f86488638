//! Twilio Conversations' wire shapes: the error body
//! `{"code", "message", "more_info", "status"}` with Twilio's numeric codes
//! (Twilio's error pages) and, where the reference names none, Twilio's generic
//! `20000 + status` codes.

use serde_json::{Value, json};

use super::add_retry_after;
use crate::core::Error;

/// `error` as Twilio answers it: `{"code": 20429, "message", "more_info", "status": 429}`.
pub fn render_error(error: &Error) -> Value {
    let code = code(error);
    let mut body = json!({
        "code": code,
        "message": error.to_string(),
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": error.status(),
    });
    add_retry_after(&mut body, error);
    body
}

/// Twilio's error code (Twilio's error pages); where the reference names none,
/// Twilio's generic `20000 + status` codes (20403, 20404, 20429 are documented).
fn code(error: &Error) -> u32 {
    match error {
        Error::TimerTooShort {
            timer: "inactive", ..
        } => 50375,
        Error::TimerTooShort { .. } => 50376,
        Error::InvalidTimer { .. } => 50379,
        Error::TimersWithoutState => 50382,
        Error::CreatedClosed => 50384,
        Error::ConversationClosed { .. } => 50377,
        // Twilio's "Authentication Error" (Twilio's error pages family 2000x).
        Error::Unauthenticated | Error::TokenRejected { .. } => 20003,
        Error::ThreadNotFound { .. } => 50350,
        Error::ParticipantNotFound { .. } => 50432,
        Error::NotAParticipant { .. } => 50430,
        Error::ThreadFull { .. } | Error::TooManyNonChat { .. } => 50417,
        Error::BindingExists { .. } => 50416,
        Error::BindingNotFound { .. } => 50432,
        Error::SmsTooLong { .. } => 21617,
        _ => 20_000 + u32::from(error.status()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Operation, Scope};

    #[test]
    fn twilio_rendering_has_the_wire_shape() {
        let throttled = Error::RateLimited {
            operation: Operation::SendMessage,
            scope: Scope::Thread,
            window_ms: 1000,
            count: 30,
            socket: false,
            retry_after_ms: 250,
        };
        let v = render_error(&throttled);
        assert_eq!(v["code"], 20429);
        assert_eq!(v["status"], 429);
        assert_eq!(v["more_info"], "https://www.twilio.com/docs/errors/20429");
        let v = render_error(&Error::ThreadNotFound {
            thread: "t1".into(),
        });
        assert_eq!(
            (v["code"].as_u64(), v["status"].as_u64()),
            (Some(50350), Some(404))
        );
    }
}
