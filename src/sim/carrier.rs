//! The carrier model: what happens to a delivery after it leaves the platform.
//!
//! For each delivery handed over, the carrier draws from the Carrier stream,
//! with its channel's parameters from the profile: when it is sent (if the
//! carrier reports `sent`), then when and how it ends (delivered, failed or
//! undelivered), then, for a delivered WhatsApp message, whether and when it
//! is read. Each receipt is a report-class happening on the virtual clock; the
//! next one is drawn when the previous one is recorded, so only deliveries in
//! flight wait in the queue.

use crate::core::{DeliveryRef, Receipt};
use crate::profile::{CarrierModel, Carriers};
use crate::rules::{Route, Status};
use crate::sim::rng::{Stream, Streams, Subsystem};
use crate::time::Instant;

/// A receipt due at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Due {
    /// When it is due.
    pub at: Instant,
    /// The route of the delivery it reports on.
    pub route: Route,
    /// The report.
    pub receipt: Receipt,
}

impl Due {
    /// The report of `status` with `code` on `delivery`, due at `at`.
    fn new(at: Instant, route: Route, delivery: DeliveryRef, status: Status, code: u16) -> Due {
        Due {
            at,
            route,
            receipt: Receipt {
                delivery,
                status,
                code,
            },
        }
    }
}

fn after(at: Instant, rng: &mut Stream, min: u64, max: u64) -> Instant {
    Instant(at.ms().saturating_add(rng.between(min, max)))
}

/// The final status of a sent delivery and its code.
fn final_status(model: &CarrierModel, rng: &mut Stream) -> (Status, u16) {
    let failed = u64::from(model.failed_ppm);
    let undelivered = failed + u64::from(model.undelivered_ppm);
    if undelivered == 0 {
        // A carrier that never fails draws nothing for the outcome.
        return (Status::Delivered, model.delivered_code);
    }
    let draw = rng.below(1_000_000);
    if draw < failed {
        (Status::Failed, model.failed_code)
    } else if draw < undelivered {
        (Status::Undelivered, model.undelivered_code)
    } else {
        (Status::Delivered, model.delivered_code)
    }
}

/// The first receipt of a delivery handed over at `handed_at`; none on a
/// route the profile has no carrier for (the delivery stays queued).
pub fn first(
    carriers: &Carriers,
    rng: &mut Stream,
    delivery: DeliveryRef,
    route: Route,
    handed_at: Instant,
) -> Option<Due> {
    let model = carriers.for_route(route)?;
    if model.sent_receipt {
        let at = after(handed_at, rng, model.sent_ms_min, model.sent_ms_max);
        return Some(Due::new(at, route, delivery, Status::Sent, 0));
    }
    Some(ending(model, rng, delivery, route, handed_at))
}

fn ending(
    model: &CarrierModel,
    rng: &mut Stream,
    delivery: DeliveryRef,
    route: Route,
    from: Instant,
) -> Due {
    let at = after(from, rng, model.final_ms_min, model.final_ms_max);
    let (status, code) = final_status(model, rng);
    Due::new(at, route, delivery, status, code)
}

/// Whether `model` may draw a receipt after one of `status`: the final one
/// after `sent`, a read after `delivered` where messages are read; nothing
/// after any other (a delivery's last receipt draws nothing).
fn may_follow(model: &CarrierModel, status: Status) -> bool {
    match status {
        Status::Sent => true,
        Status::Delivered => model.read_ppm > 0,
        _ => false,
    }
}

/// The receipt that follows `done` (recorded at `now`), if any.
pub fn next(carriers: &Carriers, rng: &mut Stream, done: &Due, now: Instant) -> Option<Due> {
    let model = carriers.for_route(done.route)?;
    if !may_follow(model, done.receipt.status) {
        return None;
    }
    draw_next(model, rng, done, now)
}

/// [`next`] from the stream of `done`'s channel among `streams`, which it
/// looks up only when a receipt may follow.
pub(crate) fn follow(
    carriers: &Carriers,
    streams: &mut Streams,
    done: &Due,
    now: Instant,
) -> Option<Due> {
    let model = carriers.for_route(done.route)?;
    if !may_follow(model, done.receipt.status) {
        return None;
    }
    let rng = streams.get(Subsystem::carrier(done.route));
    draw_next(model, rng, done, now)
}

/// The draws of [`next`] once `model` may follow `done` with a receipt.
fn draw_next(model: &CarrierModel, rng: &mut Stream, done: &Due, now: Instant) -> Option<Due> {
    let delivery = done.receipt.delivery;
    if done.receipt.status == Status::Sent {
        return Some(ending(model, rng, delivery, done.route, now));
    }
    if !rng.chance(u64::from(model.read_ppm), 1_000_000) {
        return None;
    }
    let at = after(now, rng, model.read_ms_min, model.read_ms_max);
    Some(Due::new(at, done.route, delivery, Status::Read, 0))
}

/// Carrier receipts given as data instead of drawn from the seed (a replay
/// feeds a trace's `delivery_updated` lines back): each delivery's receipts,
/// in order. A delivery handed over is given its first receipt, and each
/// receipt recorded schedules the next, at the points the drawn carrier
/// would; a delivery with no receipts left gets none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    receipts: std::collections::BTreeMap<u64, std::collections::VecDeque<(Instant, Status, u16)>>,
}

impl Script {
    /// Adds the next receipt of delivery `delivery`: `status` with `code` at `at`.
    pub fn push(&mut self, delivery: u64, at: Instant, status: Status, code: u16) {
        self.receipts
            .entry(delivery)
            .or_default()
            .push_back((at, status, code));
    }

    /// The next receipt of `delivery`, if any.
    pub(crate) fn take(&mut self, delivery: DeliveryRef, route: Route) -> Option<Due> {
        let (at, status, code) = self.receipts.get_mut(&delivery.id)?.pop_front()?;
        Some(Due::new(at, route, delivery, status, code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ThreadId;
    use crate::sim::rng::Subsystem;

    /// `follow` draws what `next` draws from the channel's stream, and
    /// leaves every stream where `next` leaves it.
    #[test]
    fn follow_is_next_from_the_channels_stream() {
        let (mut followed, mut reads) = (0, 0);
        for carriers in [Carriers::twilio(), Carriers::acs()] {
            let (mut ours, mut theirs) = (Streams::new(3), Streams::new(3));
            for round in 0..20u64 {
                for route in [Route::Sms, Route::Mms, Route::Whatsapp] {
                    for status in Status::ALL {
                        let delivery = DeliveryRef {
                            thread: Some(ThreadId(1)),
                            id: round,
                            slot: 0,
                        };
                        let due = Due::new(Instant(round), route, delivery, status, 0);
                        let now = Instant(round * 1_000);
                        let rng = theirs.get(Subsystem::carrier(route));
                        let expected = next(&carriers, rng, &due, now);
                        let got = follow(&carriers, &mut ours, &due, now);
                        assert_eq!(got, expected, "{route:?} {status:?}");
                        followed += usize::from(got.is_some());
                        reads += usize::from(got.is_some_and(|d| d.receipt.status == Status::Read));
                    }
                }
            }
            for subsystem in Subsystem::ALL {
                assert_eq!(
                    ours.get(subsystem).next_u64(),
                    theirs.get(subsystem).next_u64(),
                    "{subsystem:?}"
                );
            }
        }
        // A final receipt after each of Twilio's 60 sent ones (20 rounds,
        // three routes), and a read after about half of WhatsApp's deliveries.
        assert!(followed > 60, "{followed}");
        assert!(reads > 0, "no read drawn");
    }
}
