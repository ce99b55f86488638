//! Fan-out: a message that leaves chat gets one delivery per current SMS or
//! WhatsApp participant, planned through the rule table (body, media, route,
//! segments), queued for the carrier or refused at once.
//!
//! One delivery is stored per non-chat recipient (8 bytes: binding, status,
//! code), under one header per fanned-out message (its first delivery id and
//! the message); its body, media, route and segments are recomputed from the
//! message and the binding when the outbox is read.

use super::thread::{Binding, Delivery, Fanout, Thread};
use super::{DeliveryRef, Queued};
use super::{Event, Outcome, State};
use crate::id::ThreadId;
use crate::rules::media::outbound;
use crate::rules::{Channel, Media, Plan, Refusal, Route, Status};
use crate::time::Instant;

impl State {
    /// Creates one delivery per current non-chat participant (but `exclude`,
    /// the sender) for message `seq`: queued for the carrier, or failed at once
    /// when a rule refuses it.
    pub(super) fn fan_out(
        &mut self,
        outcome: &mut Outcome,
        thread: ThreadId,
        seq: u32,
        exclude: Option<usize>,
        template: bool,
        now: Instant,
    ) {
        // The profile and the table are borrowed apart: no count to take.
        let State {
            profile,
            threads,
            next_delivery,
            ..
        } = self;
        let Some(non_chat) = &profile.non_chat else {
            return;
        };
        let first = *next_delivery;
        // One lookup; the thread was just written, so it is not shared.
        let Some(t) = threads.get_mut(&thread) else {
            return;
        };
        if !t.bindings.iter().any(Binding::is_current) {
            return;
        }
        let Thread {
            messages,
            bindings,
            deliveries,
            fanouts,
            ..
        } = t;
        let m = &messages[seq as usize - 1];
        let media: &[Media] = m.extra.as_ref().map_or(&[], |e| &e.media);
        let rules = &non_chat.channel_rules;
        let window = non_chat.whatsapp_window_ms;
        let mut plans: [Option<Plan>; 2] = [None, None];
        let base = deliveries.len();
        let mut queued: u32 = 0;
        let mut failed: u32 = 0;
        let mut segments = 0;
        outcome.queued.reserve(bindings.len());
        for (i, b) in bindings.iter().enumerate() {
            if !b.is_current() || Some(i) == exclude {
                continue;
            }
            let slot = b.channel as usize;
            let plan =
                plans[slot].get_or_insert_with(|| outbound(rules, b.channel, &m.content, media));
            let in_window = b.last_inbound.is_some_and(|at| now.since(at).ms() < window);
            let refused = plan.refused.or_else(|| {
                (b.channel == Channel::Whatsapp && !template && !in_window)
                    .then_some(Refusal::OutsideWhatsappWindow)
            });
            let made = (deliveries.len() - base) as u64;
            let id = first + made;
            let (status, code) = match refused {
                Some(r) => {
                    failed += 1;
                    (Status::Failed, r.code())
                }
                None => {
                    queued += 1;
                    outcome.queued.push(Queued {
                        delivery: DeliveryRef {
                            thread: Some(thread),
                            id,
                            slot: deliveries.len() as u32,
                        },
                        route: plan.route,
                        handed_at: now,
                    });
                    (Status::Queued, 0)
                }
            };
            if plan.route == Route::Sms && plan.body && refused.is_none() && segments == 0 {
                segments = m.content.sms_info().segments;
            }
            deliveries.push(Delivery {
                binding: i as u32,
                code,
                status,
            });
        }
        let made = (deliveries.len() - base) as u64;
        if made == 0 {
            return;
        }
        fanouts.push(Fanout {
            first_id: first,
            message: seq,
            start: base as u32,
        });
        *next_delivery += made;
        outcome.events.push(Event::DeliveriesCreated {
            thread: Some(thread),
            message: Some(seq),
            first,
            queued,
            failed,
            segments,
        });
    }
}
