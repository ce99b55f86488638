//! Sendbird's wire shapes: the error body `{"error": true, "code", "message"}`
//! with Sendbird's six-digit codes, and the wording of its 429 (Sendbird's community answer on rate-limit errors), which
//! names the limit's scope and window in seconds.

use serde_json::{Value, json};

use super::add_retry_after;
use crate::core::{Error, Kind, TokenProblem};
use crate::profile::Scope;

/// `error` as Sendbird answers it: `{"error": true, "code": 500910, "message"}`.
pub fn render_error(error: &Error) -> Value {
    let message = match error {
        // Sendbird's community answer on rate-limit errors: "Too many requests (scope: app|channel, limit: 10;w=1,
        // remaining: 0, retry_after: <s>, reset: <s>)".
        Error::RateLimited {
            scope,
            window_ms,
            count,
            retry_after_ms,
            ..
        } => format!(
            "Too many requests (scope: {}, limit: {count};w={}, remaining: 0, \
             retry_after: {}, reset: {})",
            match scope {
                Scope::Thread | Scope::UserThread => "channel",
                Scope::User | Scope::Connection => "user",
                Scope::Resource | Scope::Sender => "app",
            },
            window_ms.div_ceil(1000),
            retry_after_ms.div_ceil(1000),
            retry_after_ms.div_ceil(1000),
        ),
        _ => error.to_string(),
    };
    let mut body = json!({
        "error": true,
        "code": code(error),
        "message": message,
    });
    add_retry_after(&mut body, error);
    body
}

/// Sendbird's error code: the platform API's codes (Sendbird's documentation, Sendbird Platform API error codes)
/// and, where Sendbird Platform API error codes names none, the server codes of Sendbird's SDK reference
/// (`SBDErrorCode`): 400201 not found, 400202 duplicated, 400203 reached
/// max count, 400302 access token not valid, 400309 session key expired,
/// 400310 session token revoked.
fn code(error: &Error) -> u32 {
    match error {
        Error::TokenRejected {
            problem: TokenProblem::Unknown,
        } => 400302,
        Error::TokenRejected {
            problem: TokenProblem::Expired,
        } => 400309,
        Error::TokenRejected {
            problem: TokenProblem::Revoked,
        } => 400310,
        Error::TooManyParticipantsInCall { .. } | Error::ThreadFull { .. } => 400203,
        Error::BadContinuation { .. } => 400109,
        Error::InvalidField { .. } | Error::PageSize { .. } => 400111,
        Error::RateLimited { socket: true, .. } => 900200,
        _ => match error.kind() {
            Kind::RateLimited => 500910,
            Kind::Unauthorized | Kind::Forbidden => 400108,
            Kind::NotFound => 400201,
            Kind::Conflict => 400202,
            Kind::TooLarge => 400110,
            Kind::BadRequest | Kind::UnsupportedMedia => 400100,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Operation;

    #[test]
    fn sendbird_rendering_has_the_wire_shape() {
        let throttled = Error::RateLimited {
            operation: Operation::SendMessage,
            scope: Scope::Thread,
            window_ms: 1000,
            count: 30,
            socket: false,
            retry_after_ms: 250,
        };
        let v = render_error(&throttled);
        assert_eq!(v["error"], true);
        assert_eq!(v["code"], 500910);
        assert_eq!(v["retry_after_ms"], 250);
        assert_eq!(
            v["message"],
            "Too many requests (scope: channel, limit: 30;w=1, remaining: 0, retry_after: 1, \
             reset: 1)"
        );
        let socket = Error::RateLimited {
            operation: Operation::SendMessage,
            scope: Scope::User,
            window_ms: 1000,
            count: 5,
            socket: true,
            retry_after_ms: 1,
        };
        assert_eq!(render_error(&socket)["code"], 900200);
    }
}
