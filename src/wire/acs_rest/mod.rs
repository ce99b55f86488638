//! Azure Communication Services over HTTP: what the official ACS SDKs send
//! and expect, for the server mode. [`request`] reads a request (route,
//! query, body) into a typed [`AcsCall`]; [`response`] renders the core's
//! replies and errors in ACS's JSON shapes (the ACS Chat API specification,
//! 2024-03-07; the Identity and SMS APIs); [`ids`] holds ACS's id shapes.
//!
//! Like the rest of `wire`, this decides nothing: the simulator answers, and
//! this layer translates. It reads no clock and holds no state; calendar
//! times come from [`crate::wire::calendar`] and the epoch the server was
//! given.

pub mod ids;
pub mod request;
pub mod response;

pub use ids::Resource;
pub use request::{AcsCall, Api, Context, Named, Participant, RawRequest, RetentionPolicy};

use serde_json::{Value, json};

/// A request refused by the wire layer itself (before the simulator): its
/// status and ACS's error body parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// The HTTP status.
    pub status: u16,
    /// ACS's error code (`BadRequest`, `NotFound`, …).
    pub code: String,
    /// What is wrong, in words.
    pub message: String,
    /// The field or parameter at fault, if one.
    pub target: Option<String>,
}

impl WireError {
    /// An error with these parts.
    pub fn new(status: u16, code: &str, message: &str, target: Option<&str>) -> WireError {
        WireError {
            status,
            code: code.to_string(),
            message: message.to_string(),
            target: target.map(str::to_string),
        }
    }

    /// A 400 about `target`.
    pub fn bad_request(target: &str, message: impl Into<String>) -> WireError {
        WireError {
            status: 400,
            code: "BadRequest".to_string(),
            message: message.into(),
            target: Some(target.to_string()),
        }
    }

    /// A 401 with `message`.
    pub fn unauthorized(message: &str) -> WireError {
        WireError::new(401, "Unauthorized", message, None)
    }

    /// A 404 for a name that is nothing here.
    pub fn not_found(target: &str, what: &str) -> WireError {
        WireError::new(
            404,
            "NotFound",
            &format!("{what} {target} not found."),
            Some(target),
        )
    }

    /// The body: `{"error": {"code", "message", "target"?}}`.
    pub fn body(&self) -> Value {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(target) = &self.target {
            error["target"] = Value::String(target.clone());
        }
        json!({ "error": error })
    }
}
