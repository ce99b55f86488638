//! The media and body rule table, enumerated: every channel × media type × size
//! class × count, snapshotted as one text table, plus focused tests of the rules
//! the table must show.

use std::fmt::Write as _;
use std::sync::Arc;

use switchboard::rules::media::{check_chat, check_inbound, outbound};
use switchboard::rules::{
    Channel, ChannelRules, ChatMediaRules, DropReason, Media, Refusal, Route,
};

const MIB: u64 = 1024 * 1024;

const TYPES: [&str; 10] = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "audio/mpeg",
    "audio/amr",
    "video/mp4",
    "application/pdf",
    "text/vcard",
    "application/zip",
    "image/webp",
];

/// Size classes around every bound in the table.
const SIZES: [(&str, u64); 9] = [
    ("1KiB", 1024),
    ("2MiB", 2 * MIB),
    ("2MiB+1", 2 * MIB + 1),
    ("5MiB-1", 5 * MIB - 1),
    ("5MiB", 5 * MIB),
    ("16MiB", 16 * MIB),
    ("16MiB+1", 16 * MIB + 1),
    ("150MiB", 150 * MIB),
    ("150MiB+1", 150 * MIB + 1),
];

const COUNTS: [usize; 4] = [1, 2, 10, 11];

fn media(content_type: &str, bytes: u64, count: usize) -> Vec<Media> {
    (0..count)
        .map(|i| Media {
            content_type: Arc::from(content_type),
            bytes,
            name: Some(Arc::from(format!("f{i}").as_str())),
        })
        .collect()
}

fn describe_plan(rules: &ChannelRules, to: Channel, body: &str, m: &[Media]) -> String {
    let plan = outbound(rules, to, body, m);
    let mut out = match plan.refused {
        Some(r) => format!("refused:{r:?}"),
        None => format!(
            "{} body={} medium={}",
            plan.route.name(),
            if plan.body { "yes" } else { "no" },
            plan.medium.map_or("-".to_string(), |i| i.to_string())
        ),
    };
    // Summarise drops by reason: how many of each.
    for reason in [
        DropReason::TextDroppedForMedia,
        DropReason::TypeNotAllowed,
        DropReason::TooLarge,
        DropReason::OneMediumOnly,
    ] {
        let n = plan.dropped.iter().filter(|d| d.reason == reason).count();
        if n > 0 {
            let _ = write!(out, " drop:{reason:?}x{n}");
        }
    }
    out
}

fn verdict<E: std::fmt::Debug>(r: Result<(), E>) -> String {
    match r {
        Ok(()) => "ok".to_string(),
        Err(e) => {
            let text = format!("{e:?}");
            text.split([' ', '{'])
                .next()
                .unwrap_or_default()
                .to_string()
        }
    }
}

/// The whole table: for each media type, size class and count (and the text
/// body present), what chat accepts, what an SMS and a WhatsApp sender may
/// send, and what an SMS and a WhatsApp recipient get.
fn table(rules: &ChannelRules) -> String {
    let mut out =
        String::from("type size count | chat-send | mms-send | wa-send | to-sms | to-whatsapp\n");
    // No media at all, with and without text.
    for body in ["hello", ""] {
        let _ = writeln!(
            out,
            "- - 0 body={:?} | {} | {} | {} | {} | {}",
            body,
            verdict(check_chat(&ChatMediaRules::twilio(), &[])),
            verdict(check_inbound(rules, Channel::Sms, body, &[])),
            verdict(check_inbound(rules, Channel::Whatsapp, body, &[])),
            describe_plan(rules, Channel::Sms, body, &[]),
            describe_plan(rules, Channel::Whatsapp, body, &[]),
        );
    }
    for ty in TYPES {
        for (size_name, bytes) in SIZES {
            for count in COUNTS {
                let m = media(ty, bytes, count);
                let _ = writeln!(
                    out,
                    "{ty} {size_name} {count} | {} | {} | {} | {} | {}",
                    verdict(check_chat(&ChatMediaRules::twilio(), &m)),
                    verdict(check_inbound(rules, Channel::Sms, "hello", &m)),
                    verdict(check_inbound(rules, Channel::Whatsapp, "hello", &m)),
                    describe_plan(rules, Channel::Sms, "hello", &m),
                    describe_plan(rules, Channel::Whatsapp, "hello", &m),
                );
            }
        }
    }
    out
}

#[test]
fn the_media_rule_table_covers_every_cell() {
    let rules = ChannelRules::twilio();
    let text = table(&rules);
    assert_eq!(
        text.lines().count(),
        1 + 2 + TYPES.len() * SIZES.len() * COUNTS.len()
    );
    insta::with_settings!({
        snapshot_path => "../../snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("media_rule_table", text);
    });
}

#[test]
fn chat_to_sms_sends_small_listed_media_as_mms_and_drops_the_text() {
    let r = ChannelRules::twilio();
    let plan = outbound(
        &r,
        Channel::Sms,
        "see photo",
        &media("image/jpeg", 5 * MIB - 1, 1),
    );
    assert_eq!(
        (plan.route, plan.body, plan.medium),
        (Route::Mms, false, Some(0))
    );
    assert_eq!(plan.dropped[0].reason, DropReason::TextDroppedForMedia);
    // 5 MB is not "less than 5 MB": not fanned out, the text goes alone as SMS.
    let plan = outbound(
        &r,
        Channel::Sms,
        "see photo",
        &media("image/jpeg", 5 * MIB, 1),
    );
    assert_eq!(
        (plan.route, plan.body, plan.medium),
        (Route::Sms, true, None)
    );
    assert_eq!(plan.dropped[0].reason, DropReason::TooLarge);
    // GIF is not in the fan-out list.
    let plan = outbound(&r, Channel::Sms, "", &media("image/gif", 1024, 1));
    assert_eq!(plan.refused, Some(Refusal::NothingToDeliver));
    assert_eq!(plan.dropped[0].reason, DropReason::TypeNotAllowed);
    // Several media: one goes, the others are dropped as one-medium-only.
    let plan = outbound(&r, Channel::Sms, "x", &media("application/pdf", 1024, 3));
    assert_eq!(plan.medium, Some(0));
    let extra = plan
        .dropped
        .iter()
        .filter(|d| d.reason == DropReason::OneMediumOnly)
        .count();
    assert_eq!(extra, 2);
}

#[test]
fn whatsapp_takes_one_medium_up_to_16_mb_and_bodies_cap_at_1600_characters() {
    let r = ChannelRules::twilio();
    let plan = outbound(&r, Channel::Whatsapp, "", &media("video/mp4", 16 * MIB, 1));
    assert_eq!(
        (plan.route, plan.medium, plan.refused),
        (Route::Whatsapp, Some(0), None)
    );
    let plan = outbound(
        &r,
        Channel::Whatsapp,
        "",
        &media("video/mp4", 16 * MIB + 1, 1),
    );
    assert_eq!(plan.refused, Some(Refusal::NothingToDeliver));
    let long = "a".repeat(1601);
    assert_eq!(
        outbound(&r, Channel::Sms, &long, &[]).refused,
        Some(Refusal::BodyTooLong)
    );
    assert_eq!(outbound(&r, Channel::Sms, &long[..1600], &[]).refused, None);
    // Characters, not bytes.
    assert_eq!(
        outbound(&r, Channel::Whatsapp, &"é".repeat(1600), &[]).refused,
        None
    );
    assert_eq!(
        outbound(&r, Channel::Whatsapp, &"é".repeat(1601), &[]).refused,
        Some(Refusal::BodyTooLong)
    );
    assert_eq!(Refusal::BodyTooLong.code(), 21617);
}

#[test]
fn non_chat_senders_meet_their_channels_own_limits() {
    let r = ChannelRules::twilio();
    let (sms, whatsapp) = (Some(Channel::Sms), Some(Channel::Whatsapp));
    let text = |n: usize| "a".repeat(n);
    // (case, the sender's channel (None: chat), body, media, accepted)
    type Case = (&'static str, Option<Channel>, String, Vec<Media>, bool);
    #[rustfmt::skip]
    let cases: [Case; 13] = [
        // MMS: 2 MB a file, 5 MB in all, at most ten media.
        ("mms: two files of 2 MB", sms, text(0), media("image/png", 2 * MIB, 2), true),
        ("mms: a file of 2 MB + 1", sms, text(0), media("image/png", 2 * MIB + 1, 1), false),
        ("mms: three files of 2 MB (6 MB)", sms, text(0), media("image/png", 2 * MIB, 3), false),
        ("mms: ten media", sms, text(0), media("image/png", 1024, 10), true),
        ("mms: eleven media", sms, text(0), media("image/png", 1024, 11), false),
        // WhatsApp: one medium of at most 16 MB.
        ("whatsapp: one medium of 16 MB", whatsapp, text(0), media("application/pdf", 16 * MIB, 1), true),
        ("whatsapp: one medium of 16 MB + 1", whatsapp, text(0), media("application/pdf", 16 * MIB + 1, 1), false),
        ("whatsapp: two media", whatsapp, text(0), media("application/pdf", 1024, 2), false),
        // An inbound body is at most 32 KB.
        ("sms: a body of 32 KB", sms, text(32 * 1024), vec![], true),
        ("sms: a body of 32 KB + 1", sms, text(32 * 1024 + 1), vec![], false),
        // Chat: any type up to 150 MB.
        ("chat: a zip of 150 MB", None, text(0), media("application/zip", 150 * MIB, 1), true),
        ("chat: a zip of 150 MB + 1", None, text(0), media("application/zip", 150 * MIB + 1, 1), false),
        ("chat: eleven media", None, text(0), media("application/zip", 1024, 11), false),
    ];
    for (case, from, body, m, accepted) in cases {
        let verdict = match from {
            Some(channel) => check_inbound(&r, channel, &body, &m),
            None => check_chat(&ChatMediaRules::twilio(), &m),
        };
        assert_eq!(verdict.is_ok(), accepted, "{case}: {verdict:?}");
    }
}
