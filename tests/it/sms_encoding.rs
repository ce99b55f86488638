//! SMS encoding and segment counts: every BMP character classified, every
//! length up to the 1600-character cap counted against an independent oracle,
//! and properties over arbitrary text.

use proptest::prelude::*;
use switchboard::rules::encoding::{Encoding, gsm7_units, segments, sms_info};

/// Segments by filling them one unit at a time: an oracle that shares no
/// arithmetic with the division in the crate.
fn oracle(encoding: Encoding, units: u32) -> u32 {
    let (single, per) = match encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    if units <= single {
        return 1;
    }
    let (mut count, mut room) = (1, per);
    for _ in 0..units {
        if room == 0 {
            count += 1;
            room = per;
        }
        room -= 1;
    }
    count
}

#[test]
fn every_length_up_to_the_cap_has_the_oracle_segment_count() {
    for units in 0..=3300u32 {
        for encoding in [Encoding::Gsm7, Encoding::Ucs2] {
            assert_eq!(
                segments(encoding, units),
                oracle(encoding, units),
                "{encoding:?} {units}"
            );
        }
    }
    // The boundaries the sources name: (encoding, units, segments).
    let boundaries = [
        (Encoding::Gsm7, 160, 1),
        (Encoding::Gsm7, 161, 2),
        (Encoding::Gsm7, 306, 2),
        (Encoding::Gsm7, 307, 3),
        (Encoding::Ucs2, 70, 1),
        (Encoding::Ucs2, 71, 2),
        (Encoding::Ucs2, 134, 2),
        (Encoding::Ucs2, 135, 3),
    ];
    for (encoding, units, expected) in boundaries {
        assert_eq!(segments(encoding, units), expected, "{encoding:?} {units}");
    }
}

#[test]
fn every_bmp_character_is_classified_once() {
    let (mut basic, mut extension, mut other) = (0, 0, 0);
    for code in 0u32..=0xFFFF {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        match gsm7_units(c) {
            Some(1) => basic += 1,
            Some(2) => extension += 1,
            None => other += 1,
            Some(n) => panic!("{c:?} counts {n}"),
        }
        // One character alone: its encoding and unit count.
        let info = sms_info(&c.to_string());
        match gsm7_units(c) {
            Some(n) => assert_eq!((info.encoding, info.units), (Encoding::Gsm7, n)),
            None => assert_eq!((info.encoding, info.units), (Encoding::Ucs2, 1)),
        }
    }
    assert_eq!((basic, extension), (127, 10));
    assert_eq!(basic + extension + other, 0x10000 - 0x800);
}

#[test]
fn each_class_of_text_counts_its_own_units_and_segments() {
    let cases = [
        ("a".repeat(160), Encoding::Gsm7, 160, 1),
        ("a".repeat(161), Encoding::Gsm7, 161, 2),
        // Extension characters count two: 80 of them fill one segment.
        ("€".repeat(80), Encoding::Gsm7, 160, 1),
        (
            format!("{}{}", "a".repeat(159), "^"),
            Encoding::Gsm7,
            161,
            2,
        ),
        // Accented letters in the basic set stay GSM-7.
        ("é".repeat(160), Encoding::Gsm7, 160, 1),
        // One character outside GSM-7 switches the whole message.
        (format!("{}ł", "a".repeat(69)), Encoding::Ucs2, 70, 1),
        (format!("{}ł", "a".repeat(70)), Encoding::Ucs2, 71, 2),
        // Outside the BMP: two UTF-16 units.
        ("😀".repeat(35), Encoding::Ucs2, 70, 1),
        (format!("{}😀", "a".repeat(69)), Encoding::Ucs2, 71, 2),
        // In UCS-2, extension characters count one like any other.
        (format!("{}€ł", "a".repeat(68)), Encoding::Ucs2, 70, 1),
        (String::new(), Encoding::Gsm7, 0, 1),
        ("a".repeat(1600), Encoding::Gsm7, 1600, 11),
        ("ł".repeat(1600), Encoding::Ucs2, 1600, 24),
    ];
    for (text, encoding, units, segs) in cases {
        let info = sms_info(&text);
        assert_eq!(
            (info.encoding, info.units, info.segments),
            (encoding, units, segs),
            "{text:?}"
        );
    }
}

/// The encoding and units of `text` counted character by character from
/// `gsm7_units` and UTF-16 lengths: the reference `sms_info` must match.
fn per_character(text: &str) -> (Encoding, u32) {
    if text.chars().all(|c| gsm7_units(c).is_some()) {
        (Encoding::Gsm7, text.chars().filter_map(gsm7_units).sum())
    } else {
        (
            Encoding::Ucs2,
            text.chars().map(|c| c.len_utf16() as u32).sum(),
        )
    }
}

proptest! {
    /// Mostly ASCII (the table-lookup path), with a rare other character
    /// anywhere: the counts are the per-character reference's.
    #[test]
    fn mostly_ascii_bodies_count_as_their_characters(
        head in "[\\x00-\\x7f]{0,40}",
        odd in "\\PC{0,1}",
        tail in "[\\x00-\\x7f]{0,40}",
    ) {
        let text = format!("{head}{odd}{tail}");
        let info = sms_info(&text);
        let (encoding, units) = per_character(&text);
        prop_assert_eq!((info.encoding, info.units), (encoding, units));
    }

    /// GSM-7 text with extension and accented characters anywhere, so that
    /// runs of ASCII of every length meet two- and three-byte characters.
    #[test]
    fn gsm7_bodies_count_as_their_characters(text in "[a-z ^{}\\[\\]~|€éÄΩ\n\r`]{0,60}") {
        let info = sms_info(&text);
        let (encoding, units) = per_character(&text);
        prop_assert_eq!((info.encoding, info.units), (encoding, units));
    }

    #[test]
    fn segment_counts_hold_their_properties(text in "\\PC{0,400}", extra in any::<char>()) {
        let info = sms_info(&text);
        let (encoding, units) = per_character(&text);
        prop_assert_eq!((info.encoding, info.units), (encoding, units));
        prop_assert_eq!(info.segments, oracle(info.encoding, units));
        // Appending never lowers the count of segments within one encoding.
        let longer = sms_info(&format!("{text}{extra}"));
        if longer.encoding == info.encoding {
            prop_assert!(longer.segments >= info.segments);
        }
        // Every segment but the last is full.
        if info.segments > 1 {
            let per = info.encoding.segment_units();
            prop_assert!(units > (info.segments - 1) * per && units <= info.segments * per);
        }
    }
}
