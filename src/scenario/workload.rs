//! Workloads drawn from the seed (the scenario format's `workload` section): a
//! population of generated chat identities and threads, message arrivals as a
//! Poisson process, optional bursts, and thread churn. Every draw comes from
//! the workload stream ([`Subsystem::Workload`]), with integers only, so a
//! workload never shifts the carrier's or the faults' draws, and the same seed
//! gives the same bytes.
//!
//! The calls are generated as the clock advances (only the next arrival, the
//! next expiry of each thread and the bursts under way are held), and each is
//! run on the scenario's [`Session`] as the step it stands for, so the trace
//! and digest are what `switchboard run` prints, and a month-long workload
//! runs in flat memory. The generator keeps the ids of what it made (threads,
//! identities) and hands the session each call already typed
//! ([`Generated`]): the session resolves no name and parses no id for it.

use serde_json::{Map, Value};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use super::faults::{Disconnects, PlanLine};
use super::parse::{ParseError, duration, error, quote};
use super::run::{Generated, Session, StepOutcome};
use super::step::{Op, Step, UserDecl};
use crate::core::{
    BindingSpec, CarrierCall, ChatCall, Command, ContentType, PageRequest, ParticipantSpec, Reply,
    ThreadOptions,
};
use crate::id::{MessageId, ThreadId, UserId};
use crate::profile::Profile;
use crate::rules::{Body, Channel, Media};
use crate::sim::{Stream, Subsystem};
use crate::time::{Duration, Instant};

/// The most generated identities (`users`).
pub const WORKLOAD_USERS_MAX: u64 = 10_000;
/// The most live threads (`threads`).
pub const WORKLOAD_THREADS_MAX: u64 = 10_000;
/// The most chat participants per thread (`chat_participants`).
pub const WORKLOAD_CHAT_PARTICIPANTS_MAX: u64 = 1_000;
/// The most SMS participants per thread (`sms_participants`).
pub const WORKLOAD_SMS_PARTICIPANTS_MAX: u64 = 100;
/// The longest horizon: 366 days.
pub const WORKLOAD_HORIZON_MAX: Duration = Duration(366 * 86_400_000);
/// The most arrivals a horizon may expect (`horizon / mean_gap`).
pub const WORKLOAD_ARRIVALS_MAX: u64 = 100_000_000;
/// The most threads a workload may create, churn included
/// (`threads × (horizon / lifetime + 1)`).
pub const WORKLOAD_THREAD_CREATIONS_MAX: u64 = 1_000_000;
/// The most fresh SMS numbers a workload may use (the seven digits after
/// `+1425`).
pub const WORKLOAD_NUMBERS_MAX: u64 = 10_000_000;
/// The most sends in one burst (`burst.sends`).
pub const WORKLOAD_BURST_SENDS_MAX: u64 = 1_000;
/// The longest gap between a burst's sends (`burst.gap`): one hour.
pub const WORKLOAD_BURST_GAP_MAX: Duration = Duration(3_600_000);
/// The most bodies drawn at the start (`bodies.count`).
pub const WORKLOAD_BODIES_MAX: u64 = 10_000;
/// The longest body, in characters (`bodies.chars_max`).
pub const WORKLOAD_BODY_CHARS_MAX: u64 = 4_096;
/// The longest identity prefix (`user_prefix`), in characters.
pub const WORKLOAD_PREFIX_CHARS_MAX: usize = 16;
/// Parts per million: the scale of every probability in a workload.
pub const PPM: u64 = 1_000_000;
/// The most media items a workload's media mix lists (`media.items`).
pub const WORKLOAD_MEDIA_ITEMS_MAX: usize = 16;
/// The largest media item a workload may attach, in bytes (100 MB).
pub const WORKLOAD_MEDIA_BYTES_MAX: u64 = 100_000_000;
/// The most retries of one throttled call (`on_429.retry`).
pub const WORKLOAD_RETRIES_MAX: u64 = 10;
/// The largest weight of an hour in a diurnal curve (`diurnal`).
pub const WORKLOAD_DIURNAL_WEIGHT_MAX: u64 = 1_000_000;

/// The most pages a reconnecting client lists in one thread.
const RECOVERY_PAGES_MAX: usize = 10;

/// The first digits of every fresh SMS number; seven digits follow.
const NUMBER_PREFIX: &str = "+1425";

/// GSM-7 characters of the extension table (two septets each).
const GSM7_EXTENSION: &[char] = &['^', '{', '}', '\\', '[', '~', ']', '|', '€'];
/// Accented letters of the GSM-7 basic table.
const GSM7_ACCENTED: &[char] = &[
    'é', 'è', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å', 'Ä', 'Ö', 'Ñ', 'Ü', '§', 'ä', 'ö', 'ñ', 'ü',
    'à',
];
/// The plain characters of a body.
const ASCII: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?";
/// Emoji a body may end with (outside GSM-7: the body goes as UCS-2).
const EMOJI: &[char] = &['😀', '👍', '🎉', '❤', '🚀', '😂', '🙏', '🔥'];

/// A scenario's `workload` section, checked against its bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Generated identities are `user_prefix` followed by their number.
    pub user_prefix: String,
    /// How many identities are generated (declared at time 0).
    pub users: u32,
    /// How many threads are live at all times.
    pub threads: u32,
    /// Chat participants per thread, a uniform sample of the identities; the
    /// first of the sample creates the thread.
    pub chat_participants: u32,
    /// SMS participants per thread, each with a fresh number.
    pub sms_participants: u32,
    /// The proxy number every SMS participant shares.
    pub proxy: Option<Arc<str>>,
    /// A thread's life: it is deleted this long after its creation and
    /// replaced at once (the first ones at uniform instants within one
    /// lifetime). `None`: threads live to the end.
    pub lifetime: Option<Duration>,
    /// No arrival at or after this instant.
    pub horizon: Instant,
    /// The mean gap between arrivals (exponential gaps: a Poisson process).
    pub mean_gap: Duration,
    /// Bursts, if any.
    pub burst: Option<Burst>,
    /// The bodies drawn at the start.
    pub bodies: Bodies,
    /// What an arrival does other than send, by parts per million.
    pub actions: Actions,
    /// Parts per million of SMS participants that are WhatsApp participants
    /// instead.
    pub whatsapp_ppm: u32,
    /// The weight of each hour of the day (0 to 23): an arrival in hour `h`
    /// happens with probability `diurnal[h] / max(diurnal)`, so `mean_gap` is
    /// the gap at the busiest hour. `None`: a flat rate.
    pub diurnal: Option<[u32; 24]>,
    /// Media attached to sends, if any.
    pub media: Option<MediaMix>,
    /// How many times a throttled call (429) is made again after its
    /// retry-after; 0: the client gives up.
    pub retries: u32,
}

/// What an arrival does instead of a send, each with a probability in parts
/// per million (their sum is at most 1,000,000; the rest are sends). An
/// action that has nothing to act on (no message yet, no SMS participant,
/// nobody to leave, a joiner already a member) makes no call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Actions {
    /// A member lists the thread's messages (first page).
    pub list_messages: u32,
    /// A member gets the thread's last message.
    pub get_message: u32,
    /// The last message's sender edits it (with a drawn body).
    pub edit: u32,
    /// The last message's sender deletes it.
    pub delete: u32,
    /// A member sends a read receipt for the last message.
    pub read_receipt: u32,
    /// A member sends a typing indicator.
    pub typing: u32,
    /// A member adds an identity drawn uniformly from the population.
    pub join: u32,
    /// A member other than the creator leaves.
    pub leave: u32,
    /// An SMS or WhatsApp participant replies (an inbound message to the
    /// proxy, with a drawn body).
    pub inbound: u32,
}

impl Actions {
    /// The knobs by name, in the order an arrival's draw tries them.
    fn table(&self) -> [(Action, u32); 9] {
        [
            (Action::ListMessages, self.list_messages),
            (Action::GetMessage, self.get_message),
            (Action::Edit, self.edit),
            (Action::Delete, self.delete),
            (Action::ReadReceipt, self.read_receipt),
            (Action::Typing, self.typing),
            (Action::Join, self.join),
            (Action::Leave, self.leave),
            (Action::Inbound, self.inbound),
        ]
    }

    fn any(&self) -> bool {
        self.table().iter().any(|(_, ppm)| *ppm > 0)
    }
}

/// What one arrival does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Send,
    ListMessages,
    GetMessage,
    Edit,
    Delete,
    ReadReceipt,
    Typing,
    Join,
    Leave,
    Inbound,
}

/// The knobs of [`Actions`] as the file spells them.
const ACTION_KEYS: [&str; 9] = [
    "list_messages_ppm",
    "get_message_ppm",
    "edit_ppm",
    "delete_ppm",
    "read_receipt_ppm",
    "typing_ppm",
    "join_ppm",
    "leave_ppm",
    "inbound_ppm",
];

/// Media on sends: with probability `ppm` a send carries one item drawn
/// uniformly from `items`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaMix {
    /// Parts per million of sends that carry a media item.
    pub ppm: u32,
    /// The items to draw from.
    pub items: Vec<Media>,
}

/// An arrival opens a burst with probability `ppm` / 1,000,000: `sends`
/// sends in all (the arrival's own included), `gap` apart, by the same
/// sender, with the same body, into the same thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Burst {
    /// Parts per million of arrivals that open a burst.
    pub ppm: u32,
    /// Sends in a burst, the first included.
    pub sends: u32,
    /// The gap between a burst's sends.
    pub gap: Duration,
}

/// The bodies of a workload: `count` drawn at the start, each send takes one
/// uniformly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bodies {
    /// How many bodies are drawn.
    pub count: u32,
    /// The shortest body, in characters (an emoji comes on top).
    pub chars_min: u32,
    /// The longest body, in characters (an emoji comes on top).
    pub chars_max: u32,
    /// Parts per million of characters from the GSM-7 extension table.
    pub extension_ppm: u32,
    /// Parts per million of characters that are GSM-7 accented letters.
    pub accented_ppm: u32,
    /// Parts per million of bodies that end with one emoji.
    pub emoji_ppm: u32,
}

impl Workload {
    /// The generated identities, in order.
    pub fn user_decls(&self) -> impl Iterator<Item = UserDecl> + '_ {
        (0..self.users).map(|i| UserDecl {
            id: self.user_id(i),
            display_name: None,
        })
    }

    /// The calls the workload is expected to make: its thread creations and
    /// deletions (churn included) and its sends (bursts included), on average.
    pub fn expected_calls(&self) -> u64 {
        let threads = u64::from(self.threads);
        let churn = self.lifetime.map_or(0, |l| self.horizon.ms() / l.0.max(1));
        let arrivals = self.horizon.ms() / self.mean_gap.0.max(1);
        let per_arrival_ppm = PPM
            + self.burst.as_ref().map_or(0, |b| {
                u64::from(b.ppm) * u64::from(b.sends.saturating_sub(1))
            });
        threads * (2 * churn + 1) + arrivals * per_arrival_ppm / PPM
    }

    /// The public id of generated identity `i`: the prefix, then `i` with as
    /// many digits as the largest number needs.
    fn user_id(&self, i: u32) -> String {
        let width = (self.users.saturating_sub(1)).to_string().len();
        format!("{}{i:0width$}", self.user_prefix)
    }
}

/// Reads a whole number at `path` in `low..=high`.
pub(super) fn number(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    low: u64,
    high: u64,
) -> Result<Option<u64>, ParseError> {
    let path = format!("{path}.{key}");
    match map.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if (low..=high).contains(&n) => Ok(Some(n)),
            _ => Err(error(
                &path,
                format!("expected a whole number in {low}..={high}"),
            )),
        },
    }
}

pub(super) fn required(value: Option<u64>, path: &str, key: &str) -> Result<u64, ParseError> {
    value.ok_or_else(|| error(&format!("{path}.{key}"), "missing"))
}

/// Reads a duration text at `path.key` in `low..=high`.
pub(super) fn duration_in(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    low: Duration,
    high: Duration,
) -> Result<Option<Duration>, ParseError> {
    let path = format!("{path}.{key}");
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => {
            let d = duration(text, &path)?;
            if d < low || d > high {
                return Err(error(
                    &path,
                    format!("expected a duration in {}ms..={}ms", low.0, high.0),
                ));
            }
            Ok(Some(d))
        }
        Some(_) => Err(error(
            &path,
            "expected a duration such as \"250ms\" or \"7d\"",
        )),
    }
}

pub(super) fn object<'a>(
    value: &'a Value,
    path: &str,
    keys: &[&str],
) -> Result<&'a Map<String, Value>, ParseError> {
    let Value::Object(map) = value else {
        return Err(error(path, "expected an object"));
    };
    for key in map.keys() {
        if !keys.contains(&key.as_str()) {
            return Err(error(&format!("{path}.{key}"), "unknown field"));
        }
    }
    Ok(map)
}

/// Parses the `workload` section at `$.workload`, with the scenario's
/// `profile` and declared `users` (generated identities must not clash).
pub(super) fn parse_workload(
    value: &Value,
    profile: &Profile,
    users: &[UserDecl],
) -> Result<Workload, ParseError> {
    let path = "$.workload";
    let map = object(
        value,
        path,
        &[
            "user_prefix",
            "users",
            "threads",
            "chat_participants",
            "sms_participants",
            "proxy",
            "lifetime",
            "horizon",
            "mean_gap",
            "burst",
            "bodies",
            "actions",
            "whatsapp_ppm",
            "diurnal",
            "media",
            "on_429",
        ],
    )?;
    let user_prefix = match map.get("user_prefix") {
        None => "user".to_string(),
        Some(Value::String(p))
            if !p.is_empty()
                && p.chars().count() <= WORKLOAD_PREFIX_CHARS_MAX
                && !p.chars().any(char::is_control) =>
        {
            p.clone()
        }
        Some(_) => {
            return Err(error(
                &format!("{path}.user_prefix"),
                format!("expected 1 to {WORKLOAD_PREFIX_CHARS_MAX} printable characters"),
            ));
        }
    };
    let users_n = required(
        number(map, "users", path, 1, WORKLOAD_USERS_MAX)?,
        path,
        "users",
    )?;
    let threads = required(
        number(map, "threads", path, 1, WORKLOAD_THREADS_MAX)?,
        path,
        "threads",
    )?;
    let chat = required(
        number(
            map,
            "chat_participants",
            path,
            1,
            WORKLOAD_CHAT_PARTICIPANTS_MAX,
        )?,
        path,
        "chat_participants",
    )?;
    if chat > users_n {
        return Err(error(
            &format!("{path}.chat_participants"),
            format!(
                "a thread's chat participants are drawn from the {users_n} users: at most {users_n}"
            ),
        ));
    }
    let sms = number(
        map,
        "sms_participants",
        path,
        0,
        WORKLOAD_SMS_PARTICIPANTS_MAX,
    )?
    .unwrap_or(0);
    let proxy = match map.get("proxy") {
        None if sms == 0 => None,
        None => {
            return Err(error(
                &format!("{path}.proxy"),
                "missing (SMS participants share a proxy number)",
            ));
        }
        // The number rule the platform applies to every proxy address.
        Some(Value::String(p)) if crate::rules::address::e164(p).is_ok() => {
            Some(Arc::from(p.as_str()))
        }
        Some(_) => {
            return Err(error(
                &format!("{path}.proxy"),
                "expected a number such as \"+18005550100\"",
            ));
        }
    };
    let horizon = required_duration(
        duration_in(map, "horizon", path, Duration(1), WORKLOAD_HORIZON_MAX)?,
        path,
        "horizon",
    )?;
    let mean_gap = required_duration(
        duration_in(map, "mean_gap", path, Duration(1), horizon)?,
        path,
        "mean_gap",
    )?;
    if horizon.0 / mean_gap.0 > WORKLOAD_ARRIVALS_MAX {
        return Err(error(
            &format!("{path}.mean_gap"),
            format!("the horizon would expect more than {WORKLOAD_ARRIVALS_MAX} arrivals"),
        ));
    }
    let lifetime = duration_in(map, "lifetime", path, Duration(1_000), WORKLOAD_HORIZON_MAX)?;
    let creations = threads * (lifetime.map_or(0, |l| horizon.0 / l.0) + 1);
    if creations > WORKLOAD_THREAD_CREATIONS_MAX {
        return Err(error(
            &format!("{path}.lifetime"),
            format!(
                "threads × (horizon / lifetime + 1) = {creations}: more than {WORKLOAD_THREAD_CREATIONS_MAX} thread creations"
            ),
        ));
    }
    if creations * sms > WORKLOAD_NUMBERS_MAX {
        return Err(error(
            &format!("{path}.sms_participants"),
            format!(
                "{} fresh SMS numbers: more than {WORKLOAD_NUMBERS_MAX}",
                creations * sms
            ),
        ));
    }
    let burst = match map.get("burst") {
        None => None,
        Some(value) => {
            let bpath = format!("{path}.burst");
            let b = object(value, &bpath, &["ppm", "sends", "gap"])?;
            Some(Burst {
                ppm: required(number(b, "ppm", &bpath, 0, PPM)?, &bpath, "ppm")? as u32,
                sends: required(
                    number(b, "sends", &bpath, 1, WORKLOAD_BURST_SENDS_MAX)?,
                    &bpath,
                    "sends",
                )? as u32,
                gap: required_duration(
                    duration_in(b, "gap", &bpath, Duration(1), WORKLOAD_BURST_GAP_MAX)?,
                    &bpath,
                    "gap",
                )?,
            })
        }
    };
    let bodies = match map.get("bodies") {
        None => Bodies {
            count: 100,
            chars_min: 1,
            chars_max: 160,
            extension_ppm: 0,
            accented_ppm: 0,
            emoji_ppm: 0,
        },
        Some(value) => {
            let bpath = format!("{path}.bodies");
            let b = object(
                value,
                &bpath,
                &[
                    "count",
                    "chars_min",
                    "chars_max",
                    "extension_ppm",
                    "accented_ppm",
                    "emoji_ppm",
                ],
            )?;
            let chars_min =
                number(b, "chars_min", &bpath, 1, WORKLOAD_BODY_CHARS_MAX)?.unwrap_or(1);
            let chars_max = number(b, "chars_max", &bpath, chars_min, WORKLOAD_BODY_CHARS_MAX)?
                .unwrap_or(chars_min.max(160));
            let extension_ppm = number(b, "extension_ppm", &bpath, 0, PPM)?.unwrap_or(0);
            let accented_ppm =
                number(b, "accented_ppm", &bpath, 0, PPM - extension_ppm)?.unwrap_or(0);
            Bodies {
                count: number(b, "count", &bpath, 1, WORKLOAD_BODIES_MAX)?.unwrap_or(100) as u32,
                chars_min: chars_min as u32,
                chars_max: chars_max as u32,
                extension_ppm: extension_ppm as u32,
                accented_ppm: accented_ppm as u32,
                emoji_ppm: number(b, "emoji_ppm", &bpath, 0, PPM)?.unwrap_or(0) as u32,
            }
        }
    };
    let actions = match map.get("actions") {
        None => Actions::default(),
        Some(value) => {
            let apath = format!("{path}.actions");
            let a = object(value, &apath, &ACTION_KEYS)?;
            let mut ppm = [0u32; 9];
            let mut total = 0u64;
            for (i, key) in ACTION_KEYS.iter().enumerate() {
                let n = number(a, key, &apath, 0, PPM - total)?.unwrap_or(0);
                total += n;
                ppm[i] = n as u32;
            }
            // In the order of ACTION_KEYS.
            Actions {
                list_messages: ppm[0],
                get_message: ppm[1],
                edit: ppm[2],
                delete: ppm[3],
                read_receipt: ppm[4],
                typing: ppm[5],
                join: ppm[6],
                leave: ppm[7],
                inbound: ppm[8],
            }
        }
    };
    let whatsapp_ppm = number(map, "whatsapp_ppm", path, 0, PPM)?.unwrap_or(0) as u32;
    let diurnal = match map.get("diurnal") {
        None => None,
        Some(value) => {
            let dpath = format!("{path}.diurnal");
            let shape = || {
                error(
                    &dpath,
                    format!(
                        "expected 24 whole numbers in 0..={WORKLOAD_DIURNAL_WEIGHT_MAX}, one per hour, not all 0"
                    ),
                )
            };
            let Value::Array(items) = value else {
                return Err(shape());
            };
            if items.len() != 24 {
                return Err(shape());
            }
            let mut weights = [0u32; 24];
            for (i, item) in items.iter().enumerate() {
                match item.as_u64() {
                    Some(w) if w <= WORKLOAD_DIURNAL_WEIGHT_MAX => weights[i] = w as u32,
                    _ => {
                        return Err(error(
                            &format!("{dpath}[{i}]"),
                            "expected a whole number in 0..=1000000",
                        ));
                    }
                }
            }
            if weights.iter().all(|w| *w == 0) {
                return Err(shape());
            }
            Some(weights)
        }
    };
    let media = match map.get("media") {
        None => None,
        Some(value) => {
            let mpath = format!("{path}.media");
            let m = object(value, &mpath, &["ppm", "items"])?;
            let ppm = required(number(m, "ppm", &mpath, 0, PPM)?, &mpath, "ppm")? as u32;
            let ipath = format!("{mpath}.items");
            let items = match m.get("items") {
                Some(Value::Array(items))
                    if (1..=WORKLOAD_MEDIA_ITEMS_MAX).contains(&items.len()) =>
                {
                    items
                }
                Some(_) => {
                    return Err(error(
                        &ipath,
                        format!("expected a list of 1 to {WORKLOAD_MEDIA_ITEMS_MAX} media items"),
                    ));
                }
                None => return Err(error(&ipath, "missing")),
            };
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let here = format!("{ipath}[{i}]");
                let o = object(item, &here, &["type", "bytes"])?;
                let content_type = match o.get("type") {
                    Some(Value::String(t))
                        if t.contains('/')
                            && t.len() <= 100
                            && !t.chars().any(char::is_control) =>
                    {
                        Arc::from(t.as_str())
                    }
                    _ => {
                        return Err(error(
                            &format!("{here}.type"),
                            "expected a MIME type such as \"image/jpeg\"",
                        ));
                    }
                };
                let bytes = required(
                    number(o, "bytes", &here, 1, WORKLOAD_MEDIA_BYTES_MAX)?,
                    &here,
                    "bytes",
                )?;
                list.push(Media {
                    content_type,
                    bytes,
                    name: None,
                });
            }
            Some(MediaMix { ppm, items: list })
        }
    };
    let retries = match map.get("on_429") {
        None => 0,
        Some(Value::String(s)) if s == "give_up" => 0,
        Some(value @ Value::Object(_)) => {
            let rpath = format!("{path}.on_429");
            let r = object(value, &rpath, &["retry"])?;
            required(
                number(r, "retry", &rpath, 1, WORKLOAD_RETRIES_MAX)?,
                &rpath,
                "retry",
            )? as u32
        }
        Some(_) => {
            return Err(error(
                &format!("{path}.on_429"),
                "expected \"give_up\" or {\"retry\": N}",
            ));
        }
    };
    if (actions.inbound > 0 || whatsapp_ppm > 0) && sms == 0 {
        let key = if actions.inbound > 0 {
            "actions.inbound_ppm"
        } else {
            "whatsapp_ppm"
        };
        return Err(error(
            &format!("{path}.{key}"),
            "needs SMS participants (sms_participants above 0)",
        ));
    }
    let workload = Workload {
        actions,
        whatsapp_ppm,
        diurnal,
        media,
        retries,
        user_prefix,
        users: users_n as u32,
        threads: threads as u32,
        chat_participants: chat as u32,
        sms_participants: sms as u32,
        proxy,
        lifetime,
        horizon: Instant(horizon.0),
        mean_gap,
        burst,
        bodies,
    };
    let longest = workload.user_id(workload.users - 1).chars().count();
    if longest > profile.identity_chars_max as usize {
        return Err(error(
            &format!("{path}.user_prefix"),
            format!(
                "generated ids such as {} are longer than the profile's {} characters",
                quote(&workload.user_id(workload.users - 1)),
                profile.identity_chars_max
            ),
        ));
    }
    let declared: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    if let Some(clash) = workload
        .user_decls()
        .find(|u| declared.contains(u.id.as_str()))
    {
        return Err(error(
            &format!("{path}.user_prefix"),
            format!(
                "the generated id {} is declared in $.users",
                quote(&clash.id)
            ),
        ));
    }
    Ok(workload)
}

pub(super) fn required_duration(
    value: Option<Duration>,
    path: &str,
    key: &str,
) -> Result<Duration, ParseError> {
    value.ok_or_else(|| error(&format!("{path}.{key}"), "missing"))
}

/// Draws one body.
fn draw_body(rng: &mut Stream, bodies: &Bodies) -> Body {
    let len = rng.between(u64::from(bodies.chars_min), u64::from(bodies.chars_max));
    let extension = u64::from(bodies.extension_ppm);
    let accented = extension + u64::from(bodies.accented_ppm);
    let mut body = String::with_capacity(len as usize * 2 + 4);
    for _ in 0..len {
        let roll = rng.below(PPM);
        let c = if roll < extension {
            GSM7_EXTENSION[rng.below(GSM7_EXTENSION.len() as u64) as usize]
        } else if roll < accented {
            GSM7_ACCENTED[rng.below(GSM7_ACCENTED.len() as u64) as usize]
        } else {
            char::from(ASCII[rng.below(ASCII.len() as u64) as usize])
        };
        body.push(c);
    }
    if rng.chance(u64::from(bodies.emoji_ppm), PPM) {
        body.push(EMOJI[rng.below(EMOJI.len() as u64) as usize]);
    }
    Body::from(body)
}

/// A burst's next send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct BurstSend {
    at: Instant,
    /// Ties at one instant go in the order the bursts began.
    order: u64,
    thread: ThreadId,
    /// The slot the burst began in.
    slot: u32,
    /// The sender, as an index into the identities.
    sender: u32,
    body: u32,
    /// The media item, as an index into the mix; [`NO_MEDIA`] for none.
    media: u32,
    /// Sends still to come after this one.
    remaining: u32,
}

/// No media item.
const NO_MEDIA: u32 = u32::MAX;

/// A generated call to make: its actor (an index into the identities),
/// its op's name and its command.
#[derive(Clone, Debug)]
struct Call {
    actor: Option<u32>,
    op_name: &'static str,
    command: Command,
    /// How many times a 429 is answered by making it again.
    retries: u32,
}

/// A workload under way: the next arrival, each slot's thread, its members
/// and expiry, the bursts under way and the throttled calls to retry. Its
/// size is set by the population, not by the horizon.
#[derive(Clone, Debug)]
pub(super) struct Generator {
    spec: Workload,
    rng: Stream,
    user_ids: Vec<Arc<str>>,
    /// The platform's id of each identity, looked up on its first call
    /// (`None` until the platform knows it).
    user_keys: Vec<Option<UserId>>,
    bodies: Vec<Body>,
    /// The live thread of each slot (`None` when its creation was refused).
    threads: Vec<Option<ThreadId>>,
    /// The chat members of each slot, as indices into the identities; the
    /// first is the creator.
    members: Vec<Vec<u32>>,
    /// Each slot's SMS and WhatsApp participants: channel and number.
    numbers: Vec<Vec<(Channel, u64)>>,
    /// Each slot's last message sent by a member: sequence id and sender.
    last: Vec<Option<(u32, u32)>>,
    /// (deletion instant, slot)
    expiries: BinaryHeap<Reverse<(Instant, u32)>>,
    bursts: BinaryHeap<Reverse<BurstSend>>,
    /// Throttled calls to make again, by (instant, order).
    retries: BTreeMap<(Instant, u64), Call>,
    /// A fault plan's connection drops, with their stream.
    disconnects: Option<(Disconnects, Stream)>,
    /// Identities offline: when each comes back, and since when it was out.
    offline: BTreeMap<u32, (Instant, Instant)>,
    /// Reconnections by (instant, identity).
    reconnects: BTreeSet<(Instant, u32)>,
    next_arrival: Instant,
    burst_order: u64,
    retry_order: u64,
    next_number: u64,
    generation: u64,
    /// The index the next generated step gets.
    next_index: usize,
    opened: bool,
    /// Hand each generated step to `emit` as an `input` line before it runs
    /// (`switchboard run --inputs`), so that a replay needs no seed.
    pub(super) record: bool,
}

impl Generator {
    /// A generator for `spec` with `seed`, whose steps are numbered from
    /// `first_index`. The bodies are drawn now.
    pub(super) fn new(
        spec: &Workload,
        seed: u64,
        first_index: usize,
        disconnects: Option<Disconnects>,
    ) -> Generator {
        let mut rng = Stream::new(seed, Subsystem::Workload);
        let bodies = (0..spec.bodies.count)
            .map(|_| draw_body(&mut rng, &spec.bodies))
            .collect();
        Generator {
            user_ids: spec
                .user_decls()
                .map(|u| Arc::from(u.id.as_str()))
                .collect(),
            user_keys: vec![None; spec.users as usize],
            spec: spec.clone(),
            rng,
            bodies,
            threads: Vec::new(),
            members: Vec::new(),
            numbers: Vec::new(),
            last: Vec::new(),
            expiries: BinaryHeap::new(),
            bursts: BinaryHeap::new(),
            retries: BTreeMap::new(),
            disconnects: disconnects.map(|d| (d, Stream::new(seed, Subsystem::FaultConnections))),
            offline: BTreeMap::new(),
            reconnects: BTreeSet::new(),
            next_arrival: Instant::ZERO,
            burst_order: 0,
            retry_order: 0,
            next_number: 0,
            generation: 0,
            next_index: first_index,
            opened: false,
            record: false,
        }
    }

    /// How many steps this generator has run.
    pub(super) fn next_index(&self) -> usize {
        self.next_index
    }

    /// Runs every generated call due before `until` (`None`: before the
    /// horizon, then moves the clock to the horizon), handing the trace lines
    /// to `emit` as each is done.
    pub(super) fn run(
        &mut self,
        session: &mut Session,
        until: Option<Instant>,
        emit: &mut impl FnMut(&str),
    ) {
        if !self.opened {
            self.open(session, emit);
        }
        let until = until.unwrap_or(self.spec.horizon).min(self.spec.horizon);
        loop {
            let expiry = self.expiries.peek().map_or(Instant(u64::MAX), |e| e.0.0);
            let burst = self.bursts.peek().map_or(Instant(u64::MAX), |b| b.0.at);
            let retry = self
                .retries
                .first_key_value()
                .map_or(Instant(u64::MAX), |(k, _)| k.0);
            let reconnect = self.reconnects.first().map_or(Instant(u64::MAX), |r| r.0);
            let arrival = self.next_arrival;
            let next = expiry.min(burst).min(retry).min(reconnect).min(arrival);
            if next >= until {
                break;
            }
            if expiry == next {
                let Reverse((_, slot)) = self.expiries.pop().expect("peeked");
                self.churn(session, slot, next, emit);
            } else if burst == next {
                let Reverse(b) = self.bursts.pop().expect("peeked");
                self.send(
                    session, next, b.slot, b.thread, b.sender, b.body, b.media, emit,
                );
                if b.remaining > 0 {
                    self.bursts.push(Reverse(BurstSend {
                        at: next.after(self.burst_gap()),
                        remaining: b.remaining - 1,
                        ..b
                    }));
                }
            } else if retry == next {
                let (_, call) = self.retries.pop_first().expect("peeked");
                self.make(session, next, call, emit);
            } else if reconnect == next {
                let (_, user) = self.reconnects.pop_first().expect("peeked");
                self.reconnect(session, next, user, emit);
            } else {
                self.arrive(session, next, emit);
                self.maybe_disconnect(session, next, emit);
            }
        }
    }

    /// Moves the clock to the horizon, running what is due on the way (an
    /// `advance`, no line of its own).
    pub(super) fn finish(&mut self, session: &mut Session, emit: &mut impl FnMut(&str)) {
        let step = Step {
            index: self.next_index,
            at: self.spec.horizon,
            actor: None,
            token: None,
            reference: None,
            op_name: "advance",
            op: Op::Advance,
            expect: Default::default(),
            generated: true,
        };
        if self.record {
            emit(&input_line(step.at, step.op_name, None, None));
        }
        // The closing clock move is no step of the workload's: it takes no
        // index.
        session.step(&step);
    }

    fn burst_gap(&self) -> Duration {
        self.spec.burst.as_ref().map_or(Duration(1), |b| b.gap)
    }

    /// Creates the first thread of every slot at time 0 (each expiring at a
    /// uniform instant within one lifetime) and draws the first arrival.
    fn open(&mut self, session: &mut Session, emit: &mut impl FnMut(&str)) {
        self.opened = true;
        for slot in 0..self.spec.threads {
            self.threads.push(None);
            self.members.push(Vec::new());
            self.numbers.push(Vec::new());
            self.last.push(None);
            self.create(session, slot, Instant::ZERO, emit);
            if let Some(lifetime) = self.spec.lifetime {
                let expiry = self.rng.between(1, lifetime.0);
                self.expiries.push(Reverse((Instant(expiry), slot)));
            }
        }
        let gap = self.rng.exponential_ms(self.spec.mean_gap.0);
        self.next_arrival = Instant(gap.max(1));
    }

    /// The platform's id of identity `a` (`None` while it does not know
    /// it): looked up once, as an identity's id never changes.
    fn user_key(&mut self, session: &Session, a: u32) -> Option<UserId> {
        let key = &mut self.user_keys[a as usize];
        if key.is_none() {
            *key = session.simulator().user(&self.user_ids[a as usize]);
        }
        *key
    }

    /// Runs a fresh generated call (with the workload's retries).
    fn call(
        &mut self,
        session: &mut Session,
        at: Instant,
        actor: Option<u32>,
        op_name: &'static str,
        command: Command,
        emit: &mut impl FnMut(&str),
    ) -> StepOutcome {
        let call = Call {
            actor,
            op_name,
            command,
            retries: self.spec.retries,
        };
        self.make(session, at, call, emit)
    }

    /// Makes `call` at `at` as the next generated step; a 429 with retries
    /// left is made again after its retry-after.
    fn make(
        &mut self,
        session: &mut Session,
        at: Instant,
        call: Call,
        emit: &mut impl FnMut(&str),
    ) -> StepOutcome {
        let Call {
            actor,
            op_name,
            command,
            retries,
        } = call;
        let index = self.next_index;
        self.next_index += 1;
        let user = actor.and_then(|a| self.user_key(session, a));
        let name = actor.map(|a| &*self.user_ids[a as usize]);
        if self.record {
            emit(&input_line(at, op_name, name, Some(&command)));
        }
        let outcome = session.generated(&Generated {
            index,
            at,
            actor: name,
            user,
            op_name,
            command: &command,
        });
        session.drain(emit);
        if retries > 0
            && let StepOutcome::Refused(error) = &outcome
            && let Some(wait) = error.retry_after_ms()
        {
            let again = at.after(Duration(wait.max(1)));
            self.retries.insert(
                (again, self.retry_order),
                Call {
                    actor,
                    op_name,
                    command,
                    retries: retries - 1,
                },
            );
            self.retry_order += 1;
        }
        outcome
    }

    /// Creates a new thread in `slot` with a fresh sample of members and
    /// fresh SMS (or WhatsApp) numbers.
    fn create(
        &mut self,
        session: &mut Session,
        slot: u32,
        at: Instant,
        emit: &mut impl FnMut(&str),
    ) {
        let p = self.spec.chat_participants as usize;
        // A partial Fisher-Yates over the identities: `p` distinct, uniform.
        let mut pool: Vec<u32> = (0..self.spec.users).collect();
        for i in 0..p {
            let j = i + self.rng.below((pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool.truncate(p);
        self.generation += 1;
        let participants: Vec<ParticipantSpec> = pool[1..]
            .iter()
            .map(|u| ParticipantSpec::user(self.user_ids[*u as usize].clone()))
            .collect();
        let mut bindings = Vec::new();
        let mut numbers = Vec::new();
        if let Some(proxy) = &self.spec.proxy {
            for _ in 0..self.spec.sms_participants {
                self.next_number += 1;
                // Drawn only when the mix has WhatsApp in it.
                let channel = if self.spec.whatsapp_ppm > 0
                    && self.rng.chance(u64::from(self.spec.whatsapp_ppm), PPM)
                {
                    Channel::Whatsapp
                } else {
                    Channel::Sms
                };
                numbers.push((channel, self.next_number));
                bindings.push(BindingSpec {
                    channel,
                    address: Arc::from(number_address(channel, self.next_number).as_str()),
                    proxy: proxy.clone(),
                });
            }
        }
        let command = Command::Chat(ChatCall::CreateThread {
            topic: Arc::from(format!("workload slot {slot} #{}", self.generation).as_str()),
            participants,
            bindings,
            idempotency_key: None,
            options: ThreadOptions::default(),
        });
        let outcome = self.call(session, at, Some(pool[0]), "create_thread", command, emit);
        self.threads[slot as usize] = match outcome {
            StepOutcome::Reply {
                reply: Reply::ThreadCreated { thread, .. },
                ..
            } => Some(thread.id),
            _ => None,
        };
        self.members[slot as usize] = pool;
        self.numbers[slot as usize] = numbers;
        self.last[slot as usize] = None;
    }

    /// Deletes `slot`'s thread (as its creator) and replaces it at once.
    fn churn(
        &mut self,
        session: &mut Session,
        slot: u32,
        at: Instant,
        emit: &mut impl FnMut(&str),
    ) {
        if let Some(thread) = self.threads[slot as usize] {
            let creator = self.members[slot as usize][0];
            let command = Command::Chat(ChatCall::DeleteThread { thread });
            self.call(session, at, Some(creator), "delete_thread", command, emit);
        }
        self.create(session, slot, at, emit);
        if let Some(lifetime) = self.spec.lifetime {
            self.expiries.push(Reverse((at.after(lifetime), slot)));
        }
    }

    /// A fault plan's connection drop, drawn at each arrival from its own
    /// stream: an identity goes offline (an identity already offline stays
    /// so until it was due back).
    fn maybe_disconnect(
        &mut self,
        session: &mut Session,
        at: Instant,
        emit: &mut impl FnMut(&str),
    ) {
        let Some((d, rng)) = self.disconnects.as_mut() else {
            return;
        };
        if !rng.chance(u64::from(d.ppm), PPM) {
            return;
        }
        let user = rng.below(u64::from(self.spec.users)) as u32;
        let back = at.after(Duration(rng.between(d.min.0, d.max.0)));
        if self.offline.contains_key(&user) {
            return;
        }
        self.offline.insert(user, (back, at));
        self.reconnects.insert((back, user));
        let line = PlanLine::connection(self.user_ids[user as usize].clone(), Some(back));
        session.record(at, &line);
        session.drain(emit);
    }

    /// `user` is back: it lists, in each of its threads, the messages since
    /// it dropped (the notifications it missed).
    fn reconnect(
        &mut self,
        session: &mut Session,
        at: Instant,
        user: u32,
        emit: &mut impl FnMut(&str),
    ) {
        let Some((_, since)) = self.offline.remove(&user) else {
            return;
        };
        session.record(
            at,
            &PlanLine::connection(self.user_ids[user as usize].clone(), None),
        );
        for slot in 0..self.threads.len() {
            let Some(thread) = self.threads[slot] else {
                continue;
            };
            if !self.members[slot].contains(&user) {
                continue;
            }
            // Page by page, as a client catching up does (at most
            // RECOVERY_PAGES_MAX pages a thread).
            let mut continuation = None;
            for _ in 0..RECOVERY_PAGES_MAX {
                let command = Command::Chat(ChatCall::ListMessages {
                    thread,
                    page: PageRequest {
                        page_size: None,
                        continuation: continuation.take(),
                    },
                    start_time: Some(since),
                });
                match self.call(session, at, Some(user), "list_messages", command, emit) {
                    StepOutcome::Reply {
                        reply: Reply::Messages(page),
                        ..
                    } if page.continuation.is_some() => continuation = page.continuation,
                    _ => break,
                }
            }
        }
        session.drain(emit);
    }

    /// What an arrival does: a send, or one of the actions by its ppm.
    fn draw_action(&mut self) -> Action {
        let roll = self.rng.below(PPM);
        let mut upto = 0u64;
        for (action, ppm) in self.spec.actions.table() {
            upto += u64::from(ppm);
            if roll < upto {
                return action;
            }
        }
        Action::Send
    }

    /// An arrival: (an hour's weight keeps it or not,) a slot, a member, a
    /// body, perhaps a burst, the next arrival's gap, (an action, a media
    /// item); then the send or the action. The draws in parentheses are
    /// made only when their knobs are set, so a workload without them draws
    /// exactly as before they existed.
    fn arrive(&mut self, session: &mut Session, at: Instant, emit: &mut impl FnMut(&str)) {
        if let Some(weights) = &self.spec.diurnal {
            let hour = (at.ms() / 3_600_000 % 24) as usize;
            let busiest = weights.iter().copied().max().unwrap_or(1);
            let weight = u64::from(weights[hour]);
            if !self.rng.chance(weight, u64::from(busiest)) {
                let gap = self.rng.exponential_ms(self.spec.mean_gap.0);
                self.next_arrival = at.after(Duration(gap.max(1)));
                return;
            }
        }
        let slot = self.rng.below(u64::from(self.spec.threads)) as u32;
        let members = &self.members[slot as usize];
        let member = self.rng.below(members.len() as u64) as usize;
        let sender = members[member];
        let body = self.rng.below(self.bodies.len() as u64) as u32;
        let burst = match &self.spec.burst {
            Some(b) => self.rng.chance(u64::from(b.ppm), PPM).then_some(b.sends),
            None => None,
        };
        let gap = self.rng.exponential_ms(self.spec.mean_gap.0);
        self.next_arrival = at.after(Duration(gap.max(1)));
        let action = if self.spec.actions.any() {
            self.draw_action()
        } else {
            Action::Send
        };
        let media = match &self.spec.media {
            Some(mix) if action == Action::Send => {
                let (ppm, items) = (u64::from(mix.ppm), mix.items.len() as u64);
                if self.rng.chance(ppm, PPM) {
                    self.rng.below(items) as u32
                } else {
                    NO_MEDIA
                }
            }
            _ => NO_MEDIA,
        };
        // A slot whose thread could not be created takes no calls.
        let Some(thread) = self.threads[slot as usize] else {
            return;
        };
        if action != Action::Send {
            self.act(session, at, slot, thread, sender, body, action, emit);
            return;
        }
        if let Some(sends) = burst
            && sends > 1
        {
            self.bursts.push(Reverse(BurstSend {
                at: at.after(self.burst_gap()),
                order: self.burst_order,
                thread,
                slot,
                sender,
                body,
                media,
                remaining: sends - 2,
            }));
            self.burst_order += 1;
        }
        self.send(session, at, slot, thread, sender, body, media, emit);
    }

    /// An arrival's action other than a send, by `member` of `slot`.
    #[allow(clippy::too_many_arguments)]
    fn act(
        &mut self,
        session: &mut Session,
        at: Instant,
        slot: u32,
        thread: ThreadId,
        member: u32,
        body: u32,
        action: Action,
        emit: &mut impl FnMut(&str),
    ) {
        let s = slot as usize;
        let last = self.last[s];
        match action {
            Action::Send => {}
            Action::ListMessages => {
                let command = Command::Chat(ChatCall::ListMessages {
                    thread,
                    page: PageRequest::default(),
                    start_time: None,
                });
                self.call(session, at, Some(member), "list_messages", command, emit);
            }
            Action::GetMessage | Action::Edit | Action::Delete | Action::ReadReceipt => {
                let Some((sequence, sender)) = last else {
                    return;
                };
                let message = MessageId { thread, sequence };
                let (actor, name, call) = match action {
                    Action::GetMessage => (member, "get_message", ChatCall::GetMessage { message }),
                    Action::Edit => {
                        let content = self.bodies[body as usize].text().clone();
                        let call = ChatCall::UpdateMessage { message, content };
                        (sender, "update_message", call)
                    }
                    Action::Delete => {
                        self.last[s] = None;
                        (
                            sender,
                            "delete_message",
                            ChatCall::DeleteMessage { message },
                        )
                    }
                    _ => (
                        member,
                        "send_read_receipt",
                        ChatCall::SendReadReceipt { message },
                    ),
                };
                self.call(session, at, Some(actor), name, Command::Chat(call), emit);
            }
            Action::Typing => {
                let command = Command::Chat(ChatCall::SendTyping { thread });
                self.call(session, at, Some(member), "send_typing", command, emit);
            }
            Action::Join => {
                let joiner = self.rng.below(u64::from(self.spec.users)) as u32;
                if self.members[s].contains(&joiner) {
                    return;
                }
                let spec = ParticipantSpec::user(self.user_ids[joiner as usize].clone());
                let command = Command::Chat(ChatCall::AddParticipants {
                    thread,
                    participants: vec![spec],
                });
                let outcome =
                    self.call(session, at, Some(member), "add_participants", command, emit);
                if matches!(outcome, StepOutcome::Reply { .. }) {
                    self.members[s].push(joiner);
                }
            }
            Action::Leave => {
                let n = self.members[s].len();
                if n <= 1 {
                    return;
                }
                let index = 1 + self.rng.below(n as u64 - 1) as usize;
                let leaver = self.members[s][index];
                let call = session.leave(thread, &self.user_ids[leaver as usize]);
                let outcome = self.call(
                    session,
                    at,
                    Some(leaver),
                    "remove_participant",
                    Command::Chat(call),
                    emit,
                );
                if matches!(outcome, StepOutcome::Reply { .. }) {
                    self.members[s].swap_remove(index);
                }
            }
            Action::Inbound => {
                let n = self.numbers[s].len();
                let Some(proxy) = self.spec.proxy.clone() else {
                    return;
                };
                if n == 0 {
                    return;
                }
                let (channel, number) = self.numbers[s][self.rng.below(n as u64) as usize];
                let command = Command::Carrier(CarrierCall::Inbound {
                    channel,
                    from: session.address(&number_address(channel, number)),
                    to: session.address(&proxy),
                    body: self.bodies[body as usize].text().clone(),
                    media: Vec::new(),
                });
                self.call(session, at, None, "inbound", command, emit);
            }
        }
    }

    /// A send into `thread` (a burst keeps its thread even once the slot has
    /// churned: its later sends are then refused, as a real client's would be).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        session: &mut Session,
        at: Instant,
        slot: u32,
        thread: ThreadId,
        sender: u32,
        body: u32,
        media: u32,
        emit: &mut impl FnMut(&str),
    ) {
        let media = match (&self.spec.media, media) {
            (Some(mix), i) if i != NO_MEDIA => vec![mix.items[i as usize].clone()],
            _ => Vec::new(),
        };
        let command = Command::Chat(ChatCall::SendMessage {
            thread,
            content: self.bodies[body as usize].clone(),
            content_type: ContentType::Text,
            metadata: BTreeMap::new(),
            media,
            template: None,
        });
        let outcome = self.call(session, at, Some(sender), "send_message", command, emit);
        if let StepOutcome::Reply {
            reply: Reply::MessageSent { sequence },
            ..
        } = outcome
            && self.threads[slot as usize] == Some(thread)
        {
            self.last[slot as usize] = Some((sequence, sender));
        }
    }
}

/// The address of fresh number `n` on `channel`.
fn number_address(channel: Channel, n: u64) -> String {
    // Written by hand: thread creation writes ten of these (`format!` with
    // padding was a tenth of the generator's own time).
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n);
    let mut address = String::with_capacity(32);
    if channel == Channel::Whatsapp {
        address.push_str("whatsapp:");
    }
    address.push_str(NUMBER_PREFIX);
    for _ in digits.len()..7 {
        address.push('0');
    }
    address.push_str(digits);
    address
}

/// A generated step as an `input` line: `{"at_ms", "kind": "input", "step"}`
/// with the step as a scenario file writes it (its instant absolute, in
/// milliseconds), for the calls a workload makes (`command`; `None` for the
/// closing clock move).
fn input_line(
    at: Instant,
    op_name: &str,
    actor: Option<&str>,
    command: Option<&Command>,
) -> String {
    use serde_json::{Value, json};
    let mut item = json!({"at": at.ms(), "op": op_name});
    if let Some(actor) = actor {
        item["as"] = Value::from(actor);
    }
    match command {
        Some(Command::Chat(ChatCall::CreateThread {
            topic,
            participants,
            bindings,
            ..
        })) => {
            item["topic"] = Value::from(&**topic);
            let users = participants.iter().map(|spec| Value::from(&*spec.user));
            let numbers = bindings
                .iter()
                .map(|b| json!({"sms": &*b.address, "proxy": &*b.proxy}));
            item["participants"] = Value::Array(users.chain(numbers).collect());
        }
        Some(Command::Chat(ChatCall::DeleteThread { thread })) => {
            item["thread"] = Value::from(thread.to_string());
        }
        Some(Command::Chat(ChatCall::SendMessage {
            thread, content, ..
        })) => {
            item["thread"] = Value::from(thread.to_string());
            item["content"] = Value::from(&**content);
        }
        _ => {}
    }
    json!({"at_ms": at.ms(), "kind": "input", "step": item}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_number_is_the_prefix_and_at_least_seven_digits() {
        for n in [
            0,
            1,
            9,
            10,
            123_456,
            1_234_567,
            9_999_999,
            10_000_000,
            u64::MAX,
        ] {
            assert_eq!(number_address(Channel::Sms, n), format!("+1425{n:07}"));
            assert_eq!(
                number_address(Channel::Whatsapp, n),
                format!("whatsapp:+1425{n:07}")
            );
        }
        assert_eq!(number_address(Channel::Sms, 42), "+14250000042");
    }
}
