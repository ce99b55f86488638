//! Carrier faults: what a fault plan does to deliveries between the platform
//! and the handsets. Each kind draws from its own stream (so changing one
//! fault's rate moves no other draw, and no workload arrival), and every
//! injected fault is a `fault` line in the trace: a fault at hand-over
//! just after the `deliveries_created` line of its delivery, a fault on a
//! receipt just before the receipt's `delivery_updated` line (if any).
//!
//! | fault | when | what |
//! | --- | --- | --- |
//! | `carrier_outage` | a delivery handed over inside an outage window of its channel (and sending number, if the window names one) | it fails at once with the window's code |
//! | `template_rejected` | a WhatsApp delivery handed over, with the plan's probability | it fails at once with the rejection code |
//! | `latency` | a delivery handed over, with its channel's probability | its receipts come later by a uniform extra delay |
//! | `receipts_reordered` | a delivery whose carrier reports `sent`, with its channel's probability | the final receipt comes when `sent` would have, and `sent` after it (the platform ignores a receipt out of order) |
//! | `delivery_failed` | a `delivered` receipt, with its channel's probability | it is `failed` with the plan's code instead |
//! | `receipt_lost` | any receipt, with its channel's probability | the platform never hears it (the carrier goes on) |
//! | `receipt_duplicated` | any receipt, with its channel's probability | the platform hears it again 1 ms to 1 s later |

use serde::Serialize;
use std::sync::Arc;

use super::carrier::Due;
use super::rng::{Stream, Subsystem};
use crate::core::Receipt;
use crate::profile::Carriers;
use crate::rules::{Channel, Route, Status};
use crate::time::Instant;

/// Parts per million.
const PPM: u64 = 1_000_000;

/// The channel of a carrier route (MMS goes by the SMS carrier).
pub fn channel_of(route: Route) -> Channel {
    match route {
        Route::Whatsapp => Channel::Whatsapp,
        Route::Sms | Route::Mms => Channel::Sms,
    }
}

/// A window in which a channel's carrier (or one sending number on it)
/// fails every delivery handed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    /// The channel out.
    pub channel: Channel,
    /// Only deliveries sent from this number (the thread's proxy); `None`:
    /// every number.
    pub from: Option<Arc<str>>,
    /// The window's first instant.
    pub start: Instant,
    /// The instant after its last.
    pub end: Instant,
    /// The error code the deliveries fail with.
    pub code: u16,
}

/// Extra carrier latency on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Latency {
    /// The channel.
    pub channel: Channel,
    /// Parts per million of deliveries delayed.
    pub ppm: u32,
    /// The shortest extra delay, in milliseconds.
    pub extra_ms_min: u64,
    /// The longest extra delay, in milliseconds.
    pub extra_ms_max: u64,
    /// `None`: the extra delay is uniform in `extra_ms_min..=extra_ms_max`;
    /// `Some(mean)`: it is `extra_ms_min` plus an exponential wait of this
    /// mean, cut at `extra_ms_max` (a long tail).
    pub mean_ms: Option<u64>,
}

/// Deliveries the carrier reports failed instead of delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRate {
    /// The channel.
    pub channel: Channel,
    /// Parts per million of `delivered` receipts turned `failed`.
    pub ppm: u32,
    /// The error code.
    pub code: u16,
}

/// Receipts lost, duplicated or reordered on a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiptFaults {
    /// The channel.
    pub channel: Channel,
    /// Parts per million of receipts the platform never hears.
    pub lost_ppm: u32,
    /// Parts per million of receipts the platform hears twice.
    pub duplicated_ppm: u32,
    /// Parts per million of deliveries whose final receipt overtakes `sent`.
    pub reordered_ppm: u32,
}

/// WhatsApp template messages the provider rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateRejections {
    /// Parts per million of WhatsApp deliveries rejected.
    pub ppm: u32,
    /// The error code.
    pub code: u16,
}

/// What the carrier faults of a plan are. At most one entry per channel in
/// each list (the parser sees to it; the first one counts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CarrierFaultPlan {
    /// Outage windows.
    pub outages: Vec<Outage>,
    /// Extra latency per channel.
    pub latency: Vec<Latency>,
    /// Failure rates per channel.
    pub failures: Vec<FailureRate>,
    /// Receipt faults per channel.
    pub receipts: Vec<ReceiptFaults>,
    /// WhatsApp template rejections.
    pub templates: Option<TemplateRejections>,
}

impl CarrierFaultPlan {
    /// Whether the plan injects anything.
    pub fn is_empty(&self) -> bool {
        self.outages.is_empty()
            && self.latency.is_empty()
            && self.failures.is_empty()
            && self.receipts.is_empty()
            && self.templates.is_none()
    }
}

/// One injected fault, as its trace line shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FaultLine {
    /// Always `fault`.
    pub kind: &'static str,
    /// Which fault.
    pub fault: &'static str,
    /// The delivery it touched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<u64>,
    /// The receipt's status it touched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<&'static str>,
    /// The error code it set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// The extra delay it added, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl FaultLine {
    fn on(fault: &'static str, delivery: u64) -> FaultLine {
        FaultLine {
            kind: "fault",
            fault,
            delivery: Some(delivery),
            receipt: None,
            code: None,
            delay_ms: None,
        }
    }
}

/// What happens to a receipt that falls due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The platform hears it.
    Heard,
    /// The platform never hears it.
    Lost,
    /// The platform hears it, and again at this instant.
    Twice(Instant),
}

/// A plan's carrier faults under way, with their streams.
#[derive(Clone, Debug)]
pub struct CarrierFaults {
    plan: CarrierFaultPlan,
    latency: Stream,
    failure: Stream,
    receipts: Stream,
    templates: Stream,
}

impl CarrierFaults {
    /// The faults of `plan` with `seed`.
    pub fn new(seed: u64, plan: CarrierFaultPlan) -> CarrierFaults {
        CarrierFaults {
            plan,
            latency: Stream::new(seed, Subsystem::FaultLatency),
            failure: Stream::new(seed, Subsystem::FaultFailure),
            receipts: Stream::new(seed, Subsystem::FaultReceipts),
            templates: Stream::new(seed, Subsystem::FaultTemplates),
        }
    }

    /// Whether an outage window that names a sending number covers `at` on
    /// `channel` (the caller then looks the delivery's number up).
    pub fn needs_sender(&self, channel: Channel, at: Instant) -> bool {
        self.plan
            .outages
            .iter()
            .any(|o| o.channel == channel && o.from.is_some() && o.start <= at && at < o.end)
    }

    /// A delivery is handed over at `at` from `sender`: the faults that
    /// change its first receipt `due`. Returns a receipt to schedule as well,
    /// without follow-up (the `sent` a reordering put after the final).
    pub fn handover(
        &mut self,
        due: &mut Due,
        at: Instant,
        sender: Option<&str>,
        carriers: &Carriers,
        carrier_rng: &mut Stream,
        lines: &mut Vec<FaultLine>,
    ) -> Option<Due> {
        let channel = channel_of(due.route);
        let id = due.receipt.delivery.id;
        let outage = self.plan.outages.iter().find(|o| {
            o.channel == channel
                && o.start <= at
                && at < o.end
                && o.from.as_deref().is_none_or(|f| Some(f) == sender)
        });
        if let Some(o) = outage {
            fail_at_once(due, at, o.code);
            lines.push(FaultLine {
                code: Some(o.code),
                ..FaultLine::on("carrier_outage", id)
            });
            return None;
        }
        if channel == Channel::Whatsapp
            && let Some(t) = self.plan.templates
            && self.templates.chance(u64::from(t.ppm), PPM)
        {
            fail_at_once(due, at, t.code);
            lines.push(FaultLine {
                code: Some(t.code),
                ..FaultLine::on("template_rejected", id)
            });
            return None;
        }
        if let Some(l) = self.plan.latency.iter().find(|l| l.channel == channel)
            && self.latency.chance(u64::from(l.ppm), PPM)
        {
            let extra = match l.mean_ms {
                None => self.latency.between(l.extra_ms_min, l.extra_ms_max),
                Some(mean) => l
                    .extra_ms_min
                    .saturating_add(self.latency.exponential_ms(mean))
                    .min(l.extra_ms_max),
            };
            due.at = due.at.after(crate::time::Duration(extra));
            lines.push(FaultLine {
                delay_ms: Some(extra),
                ..FaultLine::on("latency", id)
            });
        }
        if due.receipt.status == Status::Sent
            && let Some(r) = self.plan.receipts.iter().find(|r| r.channel == channel)
            && r.reordered_ppm > 0
            && self.receipts.chance(u64::from(r.reordered_ppm), PPM)
            && let Some(mut ending) = super::carrier::next(carriers, carrier_rng, due, due.at)
        {
            // The final receipt takes `sent`'s instant; `sent` comes after.
            let sent = Due {
                at: ending.at.after(crate::time::Duration(1)),
                ..*due
            };
            ending.at = due.at;
            *due = ending;
            lines.push(FaultLine::on("receipts_reordered", id));
            return Some(sent);
        }
        None
    }

    /// A receipt falls due at `now`: whether the platform hears it, and the
    /// faults that change it.
    pub fn receipt(&mut self, due: &mut Due, now: Instant, lines: &mut Vec<FaultLine>) -> Fate {
        let channel = channel_of(due.route);
        let id = due.receipt.delivery.id;
        if due.receipt.status == Status::Delivered
            && let Some(f) = self.plan.failures.iter().find(|f| f.channel == channel)
            && self.failure.chance(u64::from(f.ppm), PPM)
        {
            due.receipt.status = Status::Failed;
            due.receipt.code = f.code;
            lines.push(FaultLine {
                code: Some(f.code),
                ..FaultLine::on("delivery_failed", id)
            });
        }
        let Some(r) = self.plan.receipts.iter().find(|r| r.channel == channel) else {
            return Fate::Heard;
        };
        if r.lost_ppm > 0 && self.receipts.chance(u64::from(r.lost_ppm), PPM) {
            lines.push(FaultLine {
                receipt: Some(due.receipt.status.name()),
                ..FaultLine::on("receipt_lost", id)
            });
            return Fate::Lost;
        }
        if r.duplicated_ppm > 0 && self.receipts.chance(u64::from(r.duplicated_ppm), PPM) {
            let again = now.after(crate::time::Duration(self.receipts.between(1, 1_000)));
            lines.push(FaultLine {
                receipt: Some(due.receipt.status.name()),
                ..FaultLine::on("receipt_duplicated", id)
            });
            return Fate::Twice(again);
        }
        Fate::Heard
    }
}

/// Makes `due` a `failed` receipt with `code` at `at`.
fn fail_at_once(due: &mut Due, at: Instant, code: u16) {
    due.at = at;
    due.receipt = Receipt {
        status: Status::Failed,
        code,
        ..due.receipt
    };
}
