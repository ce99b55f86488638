//! The server's credentials and their checks: the ACS resource's access key
//! and the HMAC-SHA256 request signature the Identity and SMS SDKs make with
//! it ("Sign an HTTP request", Azure Communication Services documentation),
//! and the user access tokens the Identity API issues, which chat calls
//! present as `Bearer` tokens.
//!
//! Everything is derived from the seed the server started with, so the same
//! seed gives the same credentials. A token is a three-part JWT whose payload
//! names the identity (`skypeid`), the resource (`resourceId`) and the core's
//! token serial (`jti`), signed with HMAC-SHA256 over the access key. Its
//! `exp` is a fixed far-future instant (2100-01-01): the SDKs compare `exp`
//! with the machine's real clock (the JavaScript credential refuses an expired
//! token before sending it), while the simulator enforces the token's real
//! lifetime on the virtual clock. The payload is ASCII JSON without `>`, `?`
//! or `~`, padded to a multiple of three bytes, so its standard base64 has
//! no `+`, `/` or `=` and both the Python SDK's base64 reading and the
//! JavaScript SDK's base64url reading accept it.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::wire::acs_rest::Resource;

type HmacSha256 = Hmac<Sha256>;

/// The fixed `exp` of every token: 2100-01-01T00:00:00Z, in seconds.
pub const TOKEN_EXP: u64 = 4_102_444_800;

/// The JWT header every token has.
const TOKEN_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// One simulated ACS resource's secrets and ids.
#[derive(Clone, Debug)]
pub struct Keys {
    /// The simulated ACS resource: its id and host.
    pub resource: Resource,
    /// The simulated Sendbird application: its API token and ids.
    pub app: crate::wire::sendbird_rest::App,
    access_key: Vec<u8>,
}

/// What a token says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// The identity's raw id (`8:acs:…`).
    pub user: String,
    /// The core's serial of the token.
    pub serial: u32,
}

impl Keys {
    /// The resource and access key of a server started with `seed`.
    pub fn from_seed(seed: u64) -> Keys {
        let mut key = Vec::with_capacity(64);
        for part in [b"switchboard access key 1", b"switchboard access key 2"] {
            let mut h = Sha256::new();
            h.update(part);
            h.update(seed.to_le_bytes());
            key.extend_from_slice(&h.finalize());
        }
        Keys {
            resource: Resource::from_seed(seed),
            app: crate::wire::sendbird_rest::App::from_seed(seed),
            access_key: key,
        }
    }

    /// The access key as the connection string gives it (base64).
    pub fn access_key(&self) -> String {
        STANDARD.encode(&self.access_key)
    }

    /// `endpoint=<endpoint>;accesskey=<key>`.
    pub fn connection_string(&self, endpoint: &str) -> String {
        format!("endpoint={endpoint}/;accesskey={}", self.access_key())
    }

    fn mac(&self) -> HmacSha256 {
        <HmacSha256 as KeyInit>::new_from_slice(&self.access_key).expect("HMAC takes any key")
    }

    /// Checks an HMAC-SHA256 signed request: `authorization` is
    /// `HMAC-SHA256 SignedHeaders=a;b;c&Signature=<base64>`, the string
    /// signed is `METHOD\npath?query\n<values of the signed headers, ;-joined>`,
    /// and `x-ms-content-sha256` must be the body's SHA-256. `header` gives a
    /// request header's value by lowercase name (`host` included).
    pub fn verify_hmac<'h>(
        &self,
        method: &str,
        path_and_query: &str,
        authorization: Option<&str>,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> Result<(), String> {
        let authorization =
            authorization.ok_or("The request has no Authorization header (HMAC-SHA256).")?;
        let rest = authorization
            .strip_prefix("HMAC-SHA256 ")
            .ok_or("The Authorization header is not HMAC-SHA256.")?;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.trim().split('&') {
            match part.split_once('=') {
                Some(("SignedHeaders", v)) => signed_headers = Some(v),
                Some(("Signature", v)) => signature = Some(v),
                _ => return Err("The HMAC Authorization header is malformed.".into()),
            }
        }
        let (Some(signed_headers), Some(signature)) = (signed_headers, signature) else {
            return Err("The HMAC Authorization header lacks SignedHeaders or Signature.".into());
        };
        let content_hash = STANDARD.encode(Sha256::digest(body));
        if header("x-ms-content-sha256") != Some(content_hash.as_str()) {
            return Err("x-ms-content-sha256 is not the SHA-256 of the body.".into());
        }
        let mut values = Vec::new();
        for name in signed_headers.split(';') {
            let name = name.trim().to_ascii_lowercase();
            values.push(
                header(&name).ok_or_else(|| format!("The signed header {name} is missing."))?,
            );
        }
        let to_sign = format!(
            "{}\n{path_and_query}\n{}",
            method.to_ascii_uppercase(),
            values.join(";")
        );
        let signature = STANDARD
            .decode(signature)
            .map_err(|_| "The HMAC signature is not base64.".to_string())?;
        let mut mac = self.mac();
        mac.update(to_sign.as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| "The HMAC signature does not match the access key.".to_string())
    }

    /// The headers that sign a request with the access key, as the SDKs
    /// make them (`x-ms-date`, `x-ms-content-sha256`, `authorization`): for
    /// tools and tests that call the Identity and SMS APIs without an SDK.
    pub fn sign(
        &self,
        method: &str,
        path_and_query: &str,
        host: &str,
        date: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let hash = STANDARD.encode(Sha256::digest(body));
        let mut mac = self.mac();
        mac.update(
            format!(
                "{}\n{path_and_query}\n{date};{host};{hash}",
                method.to_ascii_uppercase()
            )
            .as_bytes(),
        );
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        vec![
            ("x-ms-date".into(), date.into()),
            ("x-ms-content-sha256".into(), hash),
            (
                "authorization".into(),
                format!(
                    "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
                ),
            ),
        ]
    }

    /// The text of token `serial` of identity `user` (a raw id), with
    /// `scopes` (comma-separated names) issued at Unix second `iat`.
    pub fn mint_token(&self, user: &str, serial: u32, scopes: &str, iat: i64) -> String {
        let skypeid = user.strip_prefix("8:").unwrap_or(user);
        let claims = json!({
            "skypeid": skypeid,
            "scp": 1792,
            "csi": iat.to_string(),
            "iat": iat,
            "exp": TOKEN_EXP,
            "rgn": "switchboard",
            "acsScope": scopes,
            "resourceId": self.resource.id,
            "resourceLocation": "switchboard",
            "jti": serial.to_string(),
        });
        let mut payload = claims.to_string();
        // Characters whose ASCII code makes base64 emit `+` or `/` where
        // they fall third in a group of three bytes; ids and scope names
        // never hold them.
        debug_assert!(!payload.contains(['>', '?', '~']));
        while !payload.len().is_multiple_of(3) {
            payload.push(' ');
        }
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(TOKEN_HEADER),
            STANDARD.encode(payload.as_bytes())
        );
        let mut mac = self.mac();
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// Reads a token this resource issued: its identity and serial, or why
    /// it is no token of this resource.
    pub fn read_token(&self, token: &str) -> Result<Claims, String> {
        let not_valid = || "The access token is not valid.".to_string();
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_valid());
        };
        let bytes = STANDARD_NO_PAD
            .decode(payload.trim_end_matches('='))
            .or_else(|_| URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')))
            .map_err(|_| not_valid())?;
        let claims: Value = serde_json::from_slice(&bytes).map_err(|_| not_valid())?;
        if claims["resourceId"].as_str() != Some(self.resource.id.as_str()) {
            return Err("The access token was issued for another resource.".into());
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| not_valid())?;
        let mut mac = self.mac();
        mac.update(format!("{header}.{payload}").as_bytes());
        mac.verify_slice(&signature).map_err(|_| not_valid())?;
        let user = claims["skypeid"].as_str().ok_or_else(not_valid)?;
        let serial = claims["jti"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(not_valid)?;
        Ok(Claims {
            user: format!("8:{user}"),
            serial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_their_payload_is_plain_base64() {
        let keys = Keys::from_seed(1);
        let user = keys.resource.user(3);
        for serial in 1..200 {
            let text = keys.mint_token(
                &user,
                serial,
                "chat,voip",
                1_767_225_600 + i64::from(serial),
            );
            let payload = text.split('.').nth(1).unwrap();
            assert!(
                payload.bytes().all(|b| b.is_ascii_alphanumeric()),
                "{payload}"
            );
            assert_eq!(
                keys.read_token(&text),
                Ok(Claims {
                    user: user.clone(),
                    serial
                })
            );
        }
        let other = Keys::from_seed(2).mint_token(&user, 1, "chat", 0);
        assert_eq!(
            keys.read_token(&other).unwrap_err(),
            "The access token was issued for another resource."
        );
        let text = keys.mint_token(&user, 1, "chat", 0);
        let forged = format!("{}x", &text[..text.len() - 1]);
        assert!(keys.read_token(&forged).is_err());
        assert!(keys.read_token("a.b").is_err());
    }

    #[test]
    fn hmac_signatures_are_checked_against_the_key_and_body() {
        let keys = Keys::from_seed(1);
        let body = br#"{"createTokenWithScopes":["chat"]}"#;
        let hash = STANDARD.encode(Sha256::digest(body));
        let date = "Thu, 01 Jan 2026 00:00:00 GMT";
        let host = "127.0.0.1:8443";
        let path = "/identities?api-version=2023-10-01";
        let mut mac = keys.mac();
        mac.update(format!("POST\n{path}\n{date};{host};{hash}").as_bytes());
        let signature = STANDARD.encode(mac.finalize().into_bytes());
        let authorization = format!(
            "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={signature}"
        );
        let header = |name: &str| match name {
            "x-ms-date" => Some(date),
            "host" => Some(host),
            "x-ms-content-sha256" => Some(hash.as_str()),
            _ => None,
        };
        assert_eq!(
            keys.verify_hmac("POST", path, Some(&authorization), header, body),
            Ok(())
        );
        assert!(
            keys.verify_hmac("POST", path, Some(&authorization), header, b"{}")
                .is_err()
        );
        assert!(
            keys.verify_hmac("DELETE", path, Some(&authorization), header, body)
                .is_err()
        );
        let other = Keys::from_seed(2);
        assert!(
            other
                .verify_hmac("POST", path, Some(&authorization), header, body)
                .is_err()
        );
        assert!(keys.verify_hmac("POST", path, None, header, body).is_err());
    }
}
