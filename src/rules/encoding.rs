//! SMS encoding and segment counts.
//!
//! A body goes out in GSM-7 when every character is in the GSM 03.38 basic set or
//! its extension table; the extension characters (`^ { } \ [ ~ ] | €` and form
//! feed) take an escape septet and count two. Any other character switches the
//! whole message to UCS-2, where a character counts its UTF-16 units (two for
//! characters outside the Basic Multilingual Plane). A message of at most 160
//! (GSM-7) or 70 (UCS-2) units is one segment; a longer one is split into
//! segments of 153 or 67 units (ACS "SMS FAQ", Twilio "SMS character limit"). Pure integer code.

use serde::Serialize;

/// The encoding an SMS body goes out in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// GSM 03.38, 7 bits a character: 160 to a single segment, 153 each when split.
    Gsm7,
    /// UCS-2, 16 bits a unit: 70 to a single segment, 67 each when split.
    Ucs2,
}

impl Encoding {
    /// The name the trace and the outbox use.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }

    /// Units that fit a single-segment message.
    pub fn single_units(self) -> u32 {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units per segment of a split message (the 6-byte UDH takes the rest).
    pub fn segment_units(self) -> u32 {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

/// GSM 03.38 basic character set (the escape code itself excluded); the
/// reference that `gsm7_units` is tested against.
pub const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// GSM 03.38 extension table: each takes an escape septet, so counts two.
pub const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{0C}";

/// How one character counts in GSM-7: `Some(1)`, `Some(2)` (extension), or
/// `None` when GSM-7 cannot carry it.
pub fn gsm7_units(c: char) -> Option<u32> {
    if c.is_ascii() {
        // Fast path: ASCII is basic except for a few characters.
        return match c {
            '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '\u{0C}' => Some(2),
            '`' => None,
            ' '..='~' | '\n' | '\r' => Some(1),
            _ => None,
        };
    }
    match c {
        '£' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | 'Ø' | 'ø' | 'Å' | 'å' | 'Δ' | 'Φ' | 'Γ'
        | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤' | '¡' | 'Ä'
        | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        '€' => Some(2),
        _ => None,
    }
}

/// A body's encoding, length in units and segment count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SmsInfo {
    /// GSM-7 or UCS-2.
    pub encoding: Encoding,
    /// The body's length in the encoding's units (septets or 16-bit units).
    pub units: u32,
    /// How many segments it is sent (and billed) as.
    pub segments: u32,
}

/// GSM-7 units of each byte as `gsm7_units` counts an ASCII character, with
/// 0x100 for one GSM-7 cannot carry: the sum over eight bytes is below 0x100
/// exactly when GSM-7 carries all eight. (A byte past ASCII also has 0x100,
/// so that a byte indexes it unchecked.)
const ASCII_UNITS: [u16; 256] = {
    let mut table = [0x100u16; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'^' | b'{' | b'}' | b'\\' | b'[' | b'~' | b']' | b'|' | 0x0C => 2,
            b'`' => 0x100,
            b' '..=b'~' | b'\n' | b'\r' => 1,
            _ => 0x100,
        };
        b += 1;
    }
    table
};

/// The encoding, units and segments of `body`. An empty body is one segment.
pub fn sms_info(body: &str) -> SmsInfo {
    // At most two units a byte, so a u64 cannot overflow.
    let mut units: u64 = 0;
    let mut gsm = true;
    let bytes = body.as_bytes();
    let mut i = 0;
    'scan: while i < bytes.len() {
        // ASCII, the common case, eight bytes at a time; a run of eight with
        // a non-ASCII byte counts the ASCII bytes before it.
        while let Some(eight) = bytes.get(i..i + 8) {
            let eight: &[u8; 8] = eight.try_into().expect("eight bytes");
            let high = u64::from_le_bytes(*eight) & 0x8080_8080_8080_8080;
            let ascii = (high.trailing_zeros() / 8) as usize;
            let sum: u16 = eight[..ascii]
                .iter()
                .map(|&b| ASCII_UNITS[b as usize])
                .sum();
            if sum >= 0x100 {
                gsm = false;
                break 'scan;
            }
            units += u64::from(sum);
            i += ascii;
            if ascii < 8 {
                break;
            }
        }
        // Then one character: a non-ASCII one, or one of the last seven bytes.
        let Some(c) = body.get(i..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        match gsm7_units(c) {
            Some(n) => units += u64::from(n),
            None => {
                gsm = false;
                break;
            }
        }
        i += c.len_utf8();
    }
    let encoding = if gsm { Encoding::Gsm7 } else { Encoding::Ucs2 };
    if !gsm {
        // UTF-16 units: one per character (every byte but a continuation
        // byte starts one), two for a four-byte character (lead 0xF0 up).
        units = bytes
            .iter()
            .map(|&b| u64::from(b & 0xC0 != 0x80) + u64::from(b >= 0xF0))
            .sum();
    }
    let units = u32::try_from(units).unwrap_or(u32::MAX);
    SmsInfo {
        encoding,
        units,
        segments: segments(encoding, units),
    }
}

/// Segments for `units` in `encoding`.
pub fn segments(encoding: Encoding, units: u32) -> u32 {
    if units <= encoding.single_units() {
        1
    } else {
        units.div_ceil(encoding.segment_units())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_disjoint_and_complete() {
        // 128 code points in GSM 03.38, minus the escape = 127 basic characters.
        assert_eq!(GSM7_BASIC.chars().count(), 127);
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
        for c in GSM7_EXTENSION.chars() {
            assert!(!GSM7_BASIC.contains(c), "{c:?} in both tables");
            assert_eq!(gsm7_units(c), Some(2));
        }
        for c in GSM7_BASIC.chars() {
            assert_eq!(gsm7_units(c), Some(1), "{c:?}");
        }
        for b in 0u8..128 {
            let table = match ASCII_UNITS[b as usize] {
                0x100 => None,
                n => Some(u32::from(n)),
            };
            assert_eq!(table, gsm7_units(b as char), "{b}");
        }
        assert!(ASCII_UNITS[128..].iter().all(|&u| u == 0x100));
        // The match agrees with the tables for every character of the BMP.
        for code in 0u32..=0xFFFF {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let slow = if GSM7_BASIC.contains(c) {
                Some(1)
            } else if GSM7_EXTENSION.contains(c) {
                Some(2)
            } else {
                None
            };
            assert_eq!(gsm7_units(c), slow, "{c:?}");
        }
    }
}
