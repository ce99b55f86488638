//! Azure Communication Services' wire shapes: the error body
//! `{"error": {"code", "message", "target"?}}` with ACS's code names for each
//! canonical kind, and an access token's text.
//!
//! The token text is a three-part JWT (base64url header, payload, signature)
//! whose payload carries the identity, the scopes, the serial (`jti`), and
//! `iat`/`exp` in seconds of virtual time (instant 0 is the Unix epoch); the
//! signature is a fixed, non-cryptographic mix of header and payload. It is a
//! pure function of the token's facts, so the same token always has the same
//! text.

use serde_json::{Value, json};

use super::add_retry_after;
use crate::core::api::error::{INPUT_CHARS_MAX, cut};
use crate::core::{Error, Kind, TokenView};

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
fn target(error: &Error) -> Option<String> {
    let target = match error {
        Error::InvalidField { field, .. } => Some(field.to_string()),
        Error::UserNotFound { user } | Error::UserExists { user } => Some(user.clone()),
        Error::ThreadNotFound { thread } => Some(thread.clone()),
        Error::ConversationClosed { thread } | Error::NotDeleted { thread } => {
            Some(thread.to_string())
        }
        Error::MessageNotFound { message, .. } => Some(message.clone()),
        Error::ParticipantNotFound { user, .. } => Some(user.clone()),
        Error::InvalidAddress { field, .. } => Some(field.to_string()),
        Error::NoBinding { address, .. }
        | Error::BindingNotFound { address, .. }
        | Error::BindingExists { address, .. } => Some(address.clone()),
        _ => None,
    };
    // Caller input is quoted cut to a bound, as in every message.
    target.map(|t| cut(&t, INPUT_CHARS_MAX).into_owned())
}

/// The token's text: `header.payload.signature`, each base64url without padding.
pub fn token_text(token: &TokenView) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT"}).to_string();
    let payload = json!({
        "skypeid": format!("acs:{}", token.user),
        "scp": token.scope_set.bits(),
        "acsScope": token.scopes.join(","),
        "jti": token.id.serial.to_string(),
        "iat": token.issued_at_ms / 1000,
        "exp": token.expires_on_ms / 1000,
    })
    .to_string();
    let signed = format!(
        "{}.{}",
        base64url(header.as_bytes()),
        base64url(payload.as_bytes())
    );
    let mut signature = Vec::with_capacity(32);
    for round in 0..4u64 {
        signature.extend_from_slice(&fnv1a(signed.as_bytes(), round).to_be_bytes());
    }
    format!("{signed}.{}", base64url(&signature))
}

/// FNV-1a over `bytes`, its offset basis varied by `round`.
fn fnv1a(bytes: &[u8], round: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Base64url (RFC 4648 section 5) without padding.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::TokenId;
    use crate::id::UserId;
    use crate::profile::{Operation, Scope};

    #[test]
    fn base64url_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64url(plain.as_bytes()), encoded);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }

    /// The text of the first token of the `support_desk_month` fixture, as
    /// its snapshot records it: the text depends on the token's facts alone.
    #[test]
    fn a_token_text_is_pinned_by_its_facts() {
        let token = TokenView {
            id: TokenId {
                user: UserId(1),
                serial: 1,
            },
            expires_on_ms: 115_200_000,
            user: "ana".into(),
            scopes: vec!["chat".to_string()],
            scope_set: crate::profile::Scopes::of(0),
            issued_at_ms: 28_800_000,
        };
        assert_eq!(
            token_text(&token),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
             eyJhY3NTY29wZSI6ImNoYXQiLCJleHAiOjExNTIwMCwiaWF0IjoyODgwMCwianRpIjoiMSIsInNjcCI6MSwic2t5cGVpZCI6ImFjczphbmEifQ.\
             VkSRKmkihSYbZfceATvFiUpitudCNR0cx_ff0tWYwS8"
        );
    }

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
