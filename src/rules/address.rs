//! Phone addresses: E.164 validation and the WhatsApp prefix.
//!
//! An address is `+` and 7 to 15 digits, the first not 0; a North American
//! number (`+1`) has exactly 11 digits, so ACS's own example of a malformed
//! recipient (`+112345678901`) is refused. A WhatsApp address may carry Twilio's
//! `whatsapp:` prefix; with or without it, it names the same address, and the
//! simulator keeps the bare E.164 form.

use super::Channel;

/// The longest address, proxy address or identity in characters (Twilio "Conversations limits").
pub const ADDRESS_CHARS_MAX: usize = 256;

/// Why an address is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError {
    /// The address as given.
    pub address: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The canonical (bare E.164) form of `text` as an address on `channel`.
pub fn parse(channel: Channel, text: &str) -> Result<String, AddressError> {
    let fail = |reason| AddressError {
        address: text.chars().take(64).collect(),
        reason,
    };
    if text.chars().count() > ADDRESS_CHARS_MAX {
        return Err(fail("longer than 256 characters"));
    }
    let bare = match channel {
        Channel::Whatsapp => text.strip_prefix("whatsapp:").unwrap_or(text),
        Channel::Sms => text,
    };
    e164(bare).map_err(fail)?;
    Ok(bare.to_string())
}

/// Checks `text` is an E.164 number.
pub fn e164(text: &str) -> Result<(), &'static str> {
    let Some(digits) = text.strip_prefix('+') else {
        return Err("an E.164 number starts with +");
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an E.164 number has only digits after the +");
    }
    if !(7..=15).contains(&digits.len()) {
        return Err("an E.164 number has 7 to 15 digits");
    }
    if digits.starts_with('0') {
        return Err("an E.164 country code does not start with 0");
    }
    if digits.starts_with('1') && digits.len() != 11 {
        return Err("a North American (+1) number has 11 digits");
    }
    Ok(())
}

/// The kinds of number an SMS goes out from; throughput limits differ by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderKind {
    /// A 5 or 6 digit short code.
    ShortCode,
    /// A North American toll-free number (+1 800, 833, 844, 855, 866, 877, 888).
    TollFree,
    /// Any other number.
    Other,
}

/// The kind of an SMS sender (ACS "SMS FAQ": short codes are 5–6 digits, no `+`).
pub fn sender_kind(from: &str) -> SenderKind {
    const TOLL_FREE: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];
    if (5..=6).contains(&from.len()) && from.bytes().all(|b| b.is_ascii_digit()) {
        return SenderKind::ShortCode;
    }
    match from.strip_prefix("+1") {
        Some(rest) if rest.len() == 10 && TOLL_FREE.iter().any(|p| rest.starts_with(p)) => {
            SenderKind::TollFree
        }
        _ => SenderKind::Other,
    }
}

/// A sender as a rate-limit key, one per distinct text: its digits (below
/// 2^50), their count (leading zeros matter) and whether a `+` leads. None
/// for text that is not 1 to 15 digits.
pub fn sender_key(from: &str) -> Option<u64> {
    let (plus, digits) = match from.strip_prefix('+') {
        Some(digits) => (1, digits),
        None => (0, from),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(n | ((digits.len() as u64) << 50) | (plus << 55))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_rules() {
        for ok in [
            "+14255550100",
            "+442071838750",
            "+8613800138000",
            "+3612345",
        ] {
            assert_eq!(e164(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "+",
            "14255550100",
            "+1425555010",
            "+112345678901",
            "+0123456789",
            "+44 20718",
            "+1234567890123456",
            "+123456",
            "+١٤٢٥٥٥٥٠١٠٠",
        ] {
            assert!(e164(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn whatsapp_prefix_names_the_same_address_and_only_for_whatsapp() {
        let bare = parse(Channel::Whatsapp, "+14255550101").unwrap();
        let prefixed = parse(Channel::Whatsapp, "whatsapp:+14255550101").unwrap();
        assert_eq!(bare, prefixed);
        assert_eq!(bare, "+14255550101");
        assert!(parse(Channel::Sms, "whatsapp:+14255550101").is_err());
        assert!(parse(Channel::Whatsapp, "WhatsApp:+14255550101").is_err());
        let long = format!("+1{}", "2".repeat(300));
        assert_eq!(
            parse(Channel::Sms, &long).unwrap_err().reason,
            "longer than 256 characters"
        );
    }
}

#[cfg(test)]
mod sender_tests {
    use super::*;

    #[test]
    fn senders_are_classified_and_keyed_apart() {
        assert_eq!(sender_kind("+18005550199"), SenderKind::TollFree);
        assert_eq!(sender_kind("+18885550199"), SenderKind::TollFree);
        assert_eq!(sender_kind("+14255550100"), SenderKind::Other);
        assert_eq!(sender_kind("+180055501"), SenderKind::Other);
        assert_eq!(sender_kind("12345"), SenderKind::ShortCode);
        assert_eq!(sender_kind("1234567"), SenderKind::Other);
        assert_ne!(sender_key("12345"), sender_key("+12345"));
        assert_ne!(sender_key("012345"), sender_key("12345"));
        assert_ne!(sender_key("+1800555019"), sender_key("+01800555019"));
        assert_eq!(
            sender_key("+18005550199"),
            Some(18_005_550_199 | (11 << 50) | (1 << 55))
        );
        assert_eq!(sender_key("+1800x"), None);
    }
}
