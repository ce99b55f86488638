//! Azure Communication Services' wire shapes: the error body
//! `{"error": {"code", "message", "target"?}}` with ACS's code names for each
//! canonical kind.

use serde_json::{Value, json};

use super::add_retry_after;
use crate::core::{Error, Kind};

/// `error` as ACS answers it: `{"error": {"code": "TooManyRequests", ...}}`.
pub fn render_error(error: &Error) -> Value {
    let code = match error.kind() {
        Kind::BadRequest => "BadRequest",
        Kind::Unauthorized => "Unauthorized",
        Kind::Forbidden => "Forbidden",
        Kind::NotFound => "NotFound",
        Kind::Conflict => "Conflict",
        Kind::TooLarge => "RequestEntityTooLarge",
        Kind::UnsupportedMedia => "UnsupportedMediaType",
        Kind::RateLimited => "TooManyRequests",
    };
    let mut body = json!({"code": code, "message": error.to_string()});
    if let Some(target) = target(error) {
        body["target"] = Value::String(target.to_string());
    }
    add_retry_after(&mut body, error);
    json!({ "error": body })
}

/// The field or identifier the error is about, where there is one.
fn target(error: &Error) -> Option<&str> {
    match error {
        Error::InvalidField { field, .. } => Some(field),
        Error::UserNotFound { user } | Error::UserExists { user } => Some(user),
        Error::ThreadNotFound { thread }
        | Error::ConversationClosed { thread }
        | Error::NotDeleted { thread } => Some(thread),
        Error::MessageNotFound { message, .. } => Some(message),
        Error::ParticipantNotFound { user, .. } => Some(user),
        Error::InvalidAddress { field, .. } => Some(field),
        Error::NoBinding { address, .. }
        | Error::BindingNotFound { address, .. }
        | Error::BindingExists { address, .. } => Some(address),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Operation, Scope};

    #[test]
    fn acs_rendering_has_the_wire_shape() {
        let e = Error::RateLimited {
            operation: Operation::SendMessage,
            scope: Scope::UserThread,
            window_ms: 60_000,
            count: 50,
            socket: false,
            retry_after_ms: 1234,
        };
        let v = render_error(&e);
        assert_eq!(v["error"]["code"], "TooManyRequests");
        assert_eq!(v["error"]["retry_after_ms"], 1234);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Rate limit exceeded")
        );
        let v = render_error(&Error::ThreadNotFound {
            thread: "19:t1@thread.v2".into(),
        });
        assert_eq!(v["error"]["code"], "NotFound");
        assert_eq!(v["error"]["target"], "19:t1@thread.v2");
    }
}
