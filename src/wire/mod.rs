//! The platforms' wire shapes, outside the pure core. The core answers with
//! typed replies and errors (facts, no JSON); this layer turns them into the
//! JSON a platform would send: each platform's error body in its own module
//! ([`acs`], [`twilio`], [`sendbird`]), chosen by the profile's [`ErrorStyle`]
//! through [`render_error`], the reply JSON that scenario traces record,
//! which is the same on every profile ([`reply_json`]), and an access token's
//! text ([`acs::token_text`]). The rendering is a pure function of what the
//! core returned: it decides nothing and changes nothing.

pub mod acs;
pub mod acs_rest;
pub mod calendar;
pub mod sendbird;
pub mod sendbird_rest;
pub mod twilio;
pub mod twilio_rest;

use serde::Serialize;
use serde_json::{Value, json};

use crate::core::{Error, Reply};
use crate::id::message_id;
use crate::profile::ErrorStyle;

/// `error` in the wire shape of the platform whose style is `style` (a
/// profile's `error_style`).
pub fn render_error(error: &Error, style: ErrorStyle) -> Value {
    match style {
        ErrorStyle::Acs => acs::render_error(error),
        ErrorStyle::Twilio => twilio::render_error(error),
        ErrorStyle::Sendbird => sendbird::render_error(error),
    }
}

/// A successful call's reply as JSON; `Value::Null` for empty (204-style)
/// replies. One shape for every profile; an issued token carries its text,
/// which only ACS defines ([`acs::token_text`]).
pub fn reply_json(reply: &Reply) -> Value {
    match reply {
        Reply::None => Value::Null,
        Reply::User { id } => json!({ "id": id }),
        Reply::ThreadCreated {
            thread,
            invalid_participants,
        } => {
            // A thread, as every thread result, plus the refused participants.
            let mut value = ser(thread);
            value["invalid_participants"] = ser(invalid_participants);
            value
        }
        Reply::Thread(t) => ser(t),
        Reply::Threads(p) => ser(p),
        Reply::ParticipantsAdded {
            invalid_participants,
        } => json!({ "invalid_participants": ser(invalid_participants) }),
        Reply::Participants(p) => ser(p),
        Reply::MessageSent { sequence } => {
            json!({ "id": message_id(*sequence), "sequence_id": sequence })
        }
        Reply::Message(m) => ser(m),
        Reply::Messages(p) => ser(p),
        Reply::ReadReceipts(p) => ser(p),
        Reply::Counter { key, value } => json!({ key.to_string(): value }),
        Reply::Token(t) => {
            // The token's facts plus its text.
            let mut value = ser(t);
            value["token"] = Value::String(acs::token_text(t));
            value
        }
        Reply::SmsSent(results) => json!({ "value": ser(results) }),
    }
}

/// Any view as JSON.
fn ser<T: Serialize + ?Sized>(view: &T) -> Value {
    serde_json::to_value(view).expect("views serialize")
}

/// Adds the exact wait of a 429 to an error object, as every profile's body
/// carries it (`retry_after_ms`).
fn add_retry_after(object: &mut Value, error: &Error) {
    if let Some(ms) = error.retry_after_ms() {
        object["retry_after_ms"] = json!(ms);
    }
}
