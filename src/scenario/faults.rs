//! Fault plans (the scenario format's `faults` section): carrier outages,
//! latency, failures, receipt faults and WhatsApp template rejections (run
//! by the simulator, [`crate::sim::faults`]), and throttling storms (run
//! here, before a call reaches the platform). With `swarm`, the seed chooses
//! which of the listed faults are on and how strong. Every kind draws from
//! its own stream, and every injected fault is a `fault` line in the trace.

use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

use super::ops::channel;
use super::parse::{ParseError, error};
use super::workload::{PPM, duration_in, number, object, required, required_duration};
use crate::core::{Command, Error};
use crate::profile::Scope;
use crate::rules::Channel;
use crate::sim::faults::{
    CarrierFaultPlan, FailureRate, Latency, Outage, ReceiptFaults, TemplateRejections,
};
use crate::sim::{Stream, Subsystem};
use crate::time::{Duration, Instant};

/// The most outage windows (`outages`) or storms (`storms`) in a plan.
pub const FAULT_WINDOWS_MAX: usize = 64;
/// The longest extra latency (`latency[].extra_max`): one day.
pub const FAULT_LATENCY_MAX: Duration = Duration(86_400_000);
/// The latest instant a fault window may end: 366 days.
pub const FAULT_INSTANT_MAX: Duration = Duration(366 * 86_400_000);

/// A window in which the platform answers calls with 429s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Storm {
    /// The window's first instant.
    pub start: Instant,
    /// The instant after its last.
    pub end: Instant,
    /// Parts per million of calls in the window refused.
    pub ppm: u32,
    /// The retry-after the refusals name.
    pub retry_after: Duration,
}

/// Real-time connections dropping: at each workload arrival, with
/// probability `ppm`, an identity drawn uniformly loses its connection for a
/// time uniform in `min..=max`; when it reconnects it lists each of its
/// threads' messages since it dropped (what it missed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnects {
    /// Parts per million of arrivals that drop a connection.
    pub ppm: u32,
    /// The shortest time offline.
    pub min: Duration,
    /// The longest time offline.
    pub max: Duration,
}

/// A scenario's `faults` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// What happens to deliveries.
    pub carrier: CarrierFaultPlan,
    /// Throttling storms.
    pub storms: Vec<Storm>,
    /// Connections dropping (needs a workload).
    pub disconnects: Option<Disconnects>,
    /// The seed chooses which faults are on and how strong.
    pub swarm: bool,
}

/// A trace line of the fault plan's own: a swarm's choice, or a storm's
/// refusal.
#[derive(Clone, Debug, Serialize)]
pub(super) struct PlanLine {
    kind: &'static str,
    fault: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    strength_ppm: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    op: Option<&'static str>,
}

fn channel_field(map: &Map<String, Value>, path: &str) -> Result<Channel, ParseError> {
    match map.get("channel") {
        Some(v) => channel(v, &format!("{path}.channel")),
        None => Err(error(&format!("{path}.channel"), "missing")),
    }
}

fn code_field(map: &Map<String, Value>, path: &str) -> Result<u16, ParseError> {
    Ok(required(
        number(map, "code", path, 1, u64::from(u16::MAX))?,
        path,
        "code",
    )? as u16)
}

fn ppm_field(map: &Map<String, Value>, key: &str, path: &str) -> Result<u32, ParseError> {
    Ok(number(map, key, path, 0, PPM)?.unwrap_or(0) as u32)
}

/// A window's `start` and `end`, `start` before `end`.
fn window(map: &Map<String, Value>, path: &str) -> Result<(Instant, Instant), ParseError> {
    let start = required_duration(
        duration_in(map, "start", path, Duration(0), FAULT_INSTANT_MAX)?,
        path,
        "start",
    )?;
    let end = required_duration(
        duration_in(map, "end", path, Duration(1), FAULT_INSTANT_MAX)?,
        path,
        "end",
    )?;
    if end <= start {
        return Err(error(&format!("{path}.end"), "must come after start"));
    }
    Ok((Instant(start.0), Instant(end.0)))
}

/// The items of list `key` at `path`, at most `max`, each parsed by `item`.
fn list<T>(
    map: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
    mut item: impl FnMut(&Value, &str) -> Result<T, ParseError>,
) -> Result<Vec<T>, ParseError> {
    let lpath = format!("{path}.{key}");
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= max => items
            .iter()
            .enumerate()
            .map(|(i, v)| item(v, &format!("{lpath}[{i}]")))
            .collect(),
        Some(_) => Err(error(&lpath, format!("expected a list of at most {max}"))),
    }
}

/// Refuses a second entry for one channel in a per-channel list.
fn one_per_channel<T>(
    items: &[T],
    channel: impl Fn(&T) -> Channel,
    path: &str,
) -> Result<(), ParseError> {
    for (i, a) in items.iter().enumerate() {
        if items[..i].iter().any(|b| channel(b) == channel(a)) {
            return Err(error(
                &format!("{path}[{i}].channel"),
                "a second entry for this channel",
            ));
        }
    }
    Ok(())
}

/// Parses the `faults` section at `$.faults`.
pub(super) fn parse_faults(value: &Value) -> Result<FaultPlan, ParseError> {
    let path = "$.faults";
    let map = object(
        value,
        path,
        &[
            "swarm",
            "outages",
            "latency",
            "failures",
            "receipts",
            "template_rejections",
            "storms",
            "disconnects",
        ],
    )?;
    let swarm = match map.get("swarm") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(error(&format!("{path}.swarm"), "expected true or false")),
    };
    let outages = list(map, "outages", path, FAULT_WINDOWS_MAX, |v, p| {
        let o = object(v, p, &["channel", "from", "start", "end", "code"])?;
        let (start, end) = window(o, p)?;
        let from = match o.get("from") {
            None => None,
            Some(Value::String(n)) if crate::rules::address::e164(n).is_ok() => {
                Some(Arc::from(n.as_str()))
            }
            Some(_) => {
                return Err(error(
                    &format!("{p}.from"),
                    "expected a sending number such as \"+18005550100\"",
                ));
            }
        };
        Ok(Outage {
            channel: channel_field(o, p)?,
            from,
            start,
            end,
            code: code_field(o, p)?,
        })
    })?;
    let latency = list(map, "latency", path, 2, |v, p| {
        let l = object(v, p, &["channel", "ppm", "extra_min", "extra_max", "mean"])?;
        let min =
            duration_in(l, "extra_min", p, Duration(0), FAULT_LATENCY_MAX)?.unwrap_or(Duration(0));
        let max = required_duration(
            duration_in(l, "extra_max", p, min, FAULT_LATENCY_MAX)?,
            p,
            "extra_max",
        )?;
        Ok(Latency {
            channel: channel_field(l, p)?,
            ppm: required(number(l, "ppm", p, 0, PPM)?, p, "ppm")? as u32,
            extra_ms_min: min.0,
            extra_ms_max: max.0,
            mean_ms: duration_in(l, "mean", p, Duration(1), FAULT_LATENCY_MAX)?.map(|d| d.0),
        })
    })?;
    one_per_channel(&latency, |l| l.channel, &format!("{path}.latency"))?;
    let failures = list(map, "failures", path, 2, |v, p| {
        let f = object(v, p, &["channel", "ppm", "code"])?;
        Ok(FailureRate {
            channel: channel_field(f, p)?,
            ppm: required(number(f, "ppm", p, 0, PPM)?, p, "ppm")? as u32,
            code: code_field(f, p)?,
        })
    })?;
    one_per_channel(&failures, |f| f.channel, &format!("{path}.failures"))?;
    let receipts = list(map, "receipts", path, 2, |v, p| {
        let r = object(
            v,
            p,
            &["channel", "lost_ppm", "duplicated_ppm", "reordered_ppm"],
        )?;
        let lost = ppm_field(r, "lost_ppm", p)?;
        Ok(ReceiptFaults {
            channel: channel_field(r, p)?,
            lost_ppm: lost,
            // A receipt is lost or heard twice, not both.
            duplicated_ppm: number(r, "duplicated_ppm", p, 0, PPM - u64::from(lost))?.unwrap_or(0)
                as u32,
            reordered_ppm: ppm_field(r, "reordered_ppm", p)?,
        })
    })?;
    one_per_channel(&receipts, |r| r.channel, &format!("{path}.receipts"))?;
    let templates = match map.get("template_rejections") {
        None => None,
        Some(v) => {
            let p = format!("{path}.template_rejections");
            let t = object(v, &p, &["ppm", "code"])?;
            Some(TemplateRejections {
                ppm: required(number(t, "ppm", &p, 0, PPM)?, &p, "ppm")? as u32,
                code: code_field(t, &p)?,
            })
        }
    };
    let storms = list(map, "storms", path, FAULT_WINDOWS_MAX, |v, p| {
        let s = object(v, p, &["start", "end", "ppm", "retry_after"])?;
        let (start, end) = window(s, p)?;
        Ok(Storm {
            start,
            end,
            ppm: required(number(s, "ppm", p, 0, PPM)?, p, "ppm")? as u32,
            retry_after: required_duration(
                duration_in(s, "retry_after", p, Duration(1), FAULT_LATENCY_MAX)?,
                p,
                "retry_after",
            )?,
        })
    })?;
    let disconnects = match map.get("disconnects") {
        None => None,
        Some(v) => {
            let p = format!("{path}.disconnects");
            let d = object(v, &p, &["ppm", "min", "max"])?;
            let min = required_duration(
                duration_in(d, "min", &p, Duration(1), FAULT_LATENCY_MAX)?,
                &p,
                "min",
            )?;
            Some(Disconnects {
                ppm: required(number(d, "ppm", &p, 0, PPM)?, &p, "ppm")? as u32,
                min,
                max: required_duration(
                    duration_in(d, "max", &p, min, FAULT_LATENCY_MAX)?,
                    &p,
                    "max",
                )?,
            })
        }
    };
    Ok(FaultPlan {
        carrier: CarrierFaultPlan {
            outages,
            latency,
            failures,
            receipts,
            templates,
        },
        storms,
        disconnects,
        swarm,
    })
}

/// Scales a rate by a strength in parts per million.
fn scaled(ppm: u32, strength: u64) -> u32 {
    (u64::from(ppm) * strength / PPM) as u32
}

impl FaultPlan {
    /// The plan a run uses with `seed`: as written, or, with `swarm`, each
    /// entry on with probability 1/2 and its rates scaled by a strength
    /// drawn uniformly in 0..=1,000,000 ppm (from the swarm's own stream).
    /// Also returns the swarm's choice as trace lines (none without swarm).
    pub(super) fn resolve(&self, seed: u64) -> (FaultPlan, Vec<PlanLine>) {
        if !self.swarm {
            return (self.clone(), Vec::new());
        }
        let mut rng = Stream::new(seed, Subsystem::Faults);
        let mut lines = Vec::new();
        // Both draws are made for every entry, so one entry's choice never
        // moves another's.
        let mut choose = |entry: String| -> Option<u64> {
            let on = rng.chance(1, 2);
            let strength = rng.between(0, PPM);
            let rated = !entry.starts_with("outages");
            lines.push(PlanLine {
                kind: "fault",
                fault: "swarm",
                user: None,
                until_ms: None,
                entry: Some(entry),
                on: Some(on),
                strength_ppm: (on && rated).then_some(strength),
                op: None,
            });
            on.then_some(strength)
        };
        let c = &self.carrier;
        // Each entry on or off, its rates scaled by its strength.
        fn pick<T: Clone>(
            items: &[T],
            name: &str,
            choose: &mut impl FnMut(String) -> Option<u64>,
            scale: impl Fn(&T, u64) -> T,
        ) -> Vec<T> {
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| Some(scale(item, choose(format!("{name}[{i}]"))?)))
                .collect()
        }
        let outages = pick(&c.outages, "outages", &mut choose, |o, _| o.clone());
        let latency = pick(&c.latency, "latency", &mut choose, |l, s| Latency {
            ppm: scaled(l.ppm, s),
            ..*l
        });
        let failures = pick(&c.failures, "failures", &mut choose, |f, s| FailureRate {
            ppm: scaled(f.ppm, s),
            ..*f
        });
        let receipts = pick(&c.receipts, "receipts", &mut choose, |r, s| ReceiptFaults {
            lost_ppm: scaled(r.lost_ppm, s),
            duplicated_ppm: scaled(r.duplicated_ppm, s),
            reordered_ppm: scaled(r.reordered_ppm, s),
            ..*r
        });
        let templates = c.templates.and_then(|t| {
            let s = choose("template_rejections".to_string())?;
            Some(TemplateRejections {
                ppm: scaled(t.ppm, s),
                ..t
            })
        });
        let storms = pick(&self.storms, "storms", &mut choose, |st, s| Storm {
            ppm: scaled(st.ppm, s),
            ..*st
        });
        let disconnects = self.disconnects.and_then(|d| {
            let s = choose("disconnects".to_string())?;
            Some(Disconnects {
                ppm: scaled(d.ppm, s),
                ..d
            })
        });
        let plan = FaultPlan {
            carrier: CarrierFaultPlan {
                outages,
                latency,
                failures,
                receipts,
                templates,
            },
            storms,
            disconnects,
            swarm: false,
        };
        (plan, lines)
    }
}

impl PlanLine {
    /// `user` lost its connection until `until` (`None`: it is back).
    pub(super) fn connection(user: Arc<str>, until: Option<Instant>) -> PlanLine {
        PlanLine {
            kind: "fault",
            fault: if until.is_some() {
                "connection_dropped"
            } else {
                "connection_restored"
            },
            user: Some(user),
            until_ms: until.map(Instant::ms),
            entry: None,
            on: None,
            strength_ppm: None,
            op: None,
        }
    }
}

/// Throttling storms under way, with their stream.
#[derive(Clone, Debug)]
pub(super) struct Storms {
    storms: Vec<Storm>,
    rng: Stream,
}

impl Storms {
    pub(super) fn new(seed: u64, storms: Vec<Storm>) -> Option<Storms> {
        (!storms.is_empty()).then(|| Storms {
            storms,
            rng: Stream::new(seed, Subsystem::FaultStorms),
        })
    }

    /// Whether a storm refuses `command` at `at`: the refusal, and its
    /// trace line.
    pub(super) fn refuse(&mut self, at: Instant, command: &Command) -> Option<(Error, PlanLine)> {
        let storm = *self.storms.iter().find(|s| s.start <= at && at < s.end)?;
        if !self.rng.chance(u64::from(storm.ppm), PPM) {
            return None;
        }
        let line = PlanLine {
            kind: "fault",
            fault: "throttled",
            user: None,
            until_ms: None,
            entry: None,
            on: None,
            strength_ppm: None,
            op: Some(command.op()),
        };
        let error = Error::RateLimited {
            operation: command.operation(),
            scope: Scope::Resource,
            window_ms: storm.retry_after.0,
            count: 0,
            socket: false,
            retry_after_ms: storm.retry_after.0,
        };
        Some((error, line))
    }
}
