//! Phone addresses: E.164 validation and the WhatsApp prefix.
//!
//! An address is `+` and 7 to 15 digits, the first not 0; a North American
//! number (`+1`) has exactly 11 digits, so ACS's own example of a malformed
//! recipient (`+112345678901`) is refused. A WhatsApp address may carry Twilio's
//! `whatsapp:` prefix; with or without it, it names the same address, and the
//! simulator keeps the bare E.164 form.

use super::Channel;

/// The longest address, proxy address or identity in characters (T2).
pub const ADDRESS_CHARS_MAX: usize = 256;

/// Why an address is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressError {
    pub address: String,
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
