//! Twilio Conversations v1 over HTTP, for the server mode: what twilio-python
//! sends and expects. [`request`] reads routes and form-encoded PascalCase
//! bodies; [`response`] renders the core's views in Twilio's snake_case JSON
//! shapes (twilio-oai's `twilio_conversations_v1.json`), with `meta` paging;
//! [`ids`] holds Twilio's SID shapes and the account's credentials.
//!
//! Like the rest of `wire`, this decides nothing and holds no state.

pub mod ids;
pub mod request;
pub mod response;

pub use ids::{Account, Member};
pub use request::{Form, PageQuery, Resource, Route};
pub use response::Render;

use crate::core::api::error::{INPUT_CHARS_MAX, cut};
use serde_json::{Value, json};

/// A request refused by the wire layer itself (before the simulator), in
/// Twilio's error shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwilioError {
    /// The HTTP status.
    pub status: u16,
    /// Twilio's error code.
    pub code: u32,
    /// What is wrong, in words.
    pub message: String,
}

impl TwilioError {
    /// An error with these parts.
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> TwilioError {
        TwilioError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 (Twilio's 20001, "Invalid parameter").
    pub fn bad_request(message: &str) -> TwilioError {
        TwilioError::new(400, 20001, message)
    }

    /// A 404 (Twilio's 20404, "The requested resource was not found").
    pub fn not_found(what: &str) -> TwilioError {
        TwilioError::new(
            404,
            20404,
            // `what` names the caller's id: cut, never echoed whole.
            format!(
                "The requested resource {} was not found",
                cut(what, 2 * INPUT_CHARS_MAX)
            ),
        )
    }

    /// A 401 (Twilio's 20003, "Authentication Error").
    pub fn unauthenticated() -> TwilioError {
        TwilioError::new(
            401,
            20003,
            "Authentication Error - invalid username or password",
        )
    }

    /// The body: `{"code", "message", "more_info", "status"}`.
    pub fn body(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status,
        })
    }
}
