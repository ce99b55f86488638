//! Sendbird's Platform API v3 over HTTP, for the server mode: what
//! Sendbird's Platform API SDKs send and expect. [`request`] reads a request
//! (route, query, JSON body) into a typed [`Call`]; [`response`] renders
//! users, group channels, members, messages, metacounters and errors in
//! Sendbird's JSON shapes; [`ids`] holds Sendbird's id shapes.
//!
//! Like the rest of `wire`, this decides nothing: the simulator answers, and
//! this layer translates. It reads no clock and holds no state.

pub mod ids;
pub mod request;
pub mod response;

pub use ids::App;
pub use request::{Call, FileSpec, MessageBody, MetacounterMode, PageQuery, Raw};

use crate::core::api::error::{INPUT_CHARS_MAX, cut};
use serde_json::{Value, json};

/// A request refused by the wire layer itself (before the simulator), or a
/// refusal of the simulator as Sendbird words it: the HTTP status and
/// Sendbird's body parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbError {
    /// The HTTP status: 400 for Sendbird's `400…` codes (Sendbird's Platform
    /// API answers every client error with 400), 404 for a path that names no
    /// operation, 413 for an oversized body, 429 when rate limited.
    pub status: u16,
    /// Sendbird's six-digit code.
    pub code: u32,
    /// What is wrong, in words.
    pub message: String,
}

impl SbError {
    /// A 400 with `code`.
    pub fn new(code: u32, message: impl Into<String>) -> SbError {
        SbError {
            status: 400,
            code,
            message: message.into(),
        }
    }

    /// 400105: a required parameter is missing.
    pub fn missing(field: &str) -> SbError {
        SbError::new(
            400105,
            format!("\"{field}\" is required (missing parameter)."),
        )
    }

    /// 400111: a parameter's value is not valid.
    pub fn invalid(field: &str, why: impl std::fmt::Display) -> SbError {
        // `why` may quote the caller's input: cut, never echoed whole.
        let why = why.to_string();
        SbError::new(
            400111,
            format!(
                "Invalid value: \"{field}\": {}.",
                cut(&why, 4 * INPUT_CHARS_MAX)
            ),
        )
    }

    /// 400201: the resource is not found.
    pub fn not_found(what: &str, name: &str) -> SbError {
        SbError::new(
            400201,
            format!("\"{what}\" not found: {}.", crate::scenario::quote(name)),
        )
    }

    /// 400401: the API token is missing or wrong.
    pub fn bad_api_token() -> SbError {
        SbError::new(400401, "Invalid value: \"Api-Token\".")
    }

    /// The body: `{"error": true, "code", "message"}`.
    pub fn body(&self) -> Value {
        json!({"error": true, "code": self.code, "message": self.message})
    }
}
