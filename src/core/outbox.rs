//! Carrier receipts and the outbox: a receipt moves one delivery along its
//! status order (queued, sent, final, read); the outbox lists deliveries with
//! their body, media, route and segments recomputed from the message.

use std::sync::Arc;

use super::sms::sms_message_id;
use super::thread::{Delivery, Thread};
use super::{DeliveryView, DroppedView, OutboxFilter, Receipt};
use super::{Event, State};
use crate::id::{ThreadId, message_id};
use crate::rules::media::outbound;
use crate::rules::{Body, Channel, ChannelRules, Dropped, Media, Refusal, Route, Status, sms_info};

fn dropped_views(dropped: &[Dropped]) -> Vec<DroppedView> {
    dropped
        .iter()
        .map(|d| DroppedView {
            what: match d.media {
                None => "body".to_string(),
                Some(i) => format!("media[{i}]"),
            },
            why: d.reason,
        })
        .collect()
}

/// A receipt's code as its `delivery_updated` event reports it (0 is none).
fn reported_code(receipt: &Receipt) -> Option<u16> {
    (receipt.code != 0).then_some(receipt.code)
}

impl State {
    /// Applies a carrier's receipt. A receipt for a delivery that no longer
    /// exists (its thread was deleted) or that does not follow the status
    /// order changes nothing and returns no event.
    pub fn apply_receipt(&mut self, receipt: &Receipt) -> Option<Event> {
        self.update_delivery(receipt)
            .map(|(delivery, status, code)| Event::DeliveryUpdated {
                delivery,
                status,
                code,
            })
    }

    /// [`State::apply_receipt`], answering the fields of the
    /// `delivery_updated` event (delivery, status, code) instead of the event:
    /// the shell traces them directly, once per receipt.
    pub(crate) fn update_delivery(
        &mut self,
        receipt: &Receipt,
    ) -> Option<(u64, Status, Option<u16>)> {
        let Some(thread) = receipt.delivery.thread else {
            return self.update_sms_delivery(receipt);
        };
        let id = receipt.delivery.id;
        // One lookup: a receipt almost always names a live delivery.
        let t = self.threads.get_mut(&thread)?;
        let slot = receipt.delivery.slot as usize;
        if t.fanout_of(slot).is_none_or(|(_, found)| found != id) {
            return None;
        }
        let d = t.deliveries.get_mut(slot)?;
        if !d.status.may_become(receipt.status) {
            return None;
        }
        d.status = receipt.status;
        d.code = receipt.code;
        Some((id, receipt.status, reported_code(receipt)))
    }

    /// [`State::update_delivery`] for a recipient of an ACS `send_sms` call
    /// (out of line: the thread's deliveries are the frequent case).
    #[inline(never)]
    fn update_sms_delivery(&mut self, receipt: &Receipt) -> Option<(u64, Status, Option<u16>)> {
        let id = receipt.delivery.id;
        let (&key, batch) = self.sms_batches.range(..=id).next_back()?;
        let i = receipt.delivery.slot as usize;
        if i >= batch.recipients.len() || key + i as u64 != id {
            return None;
        }
        if !batch.recipients[i].1.status.may_become(receipt.status) {
            return None;
        }
        let report = batch.delivery_report;
        let batch = Arc::make_mut(self.sms_batches.get_mut(&key).expect("found"));
        let d = &mut batch.recipients[i].1;
        d.status = receipt.status;
        d.code = receipt.code;
        report.then_some((id, receipt.status, reported_code(receipt)))
    }

    /// The deliveries to non-chat recipients that match `filter`, in the
    /// order they were created.
    pub fn outbox(&self, filter: &OutboxFilter) -> Vec<DeliveryView> {
        let to = filter.to.as_deref().map(|t| {
            t.strip_prefix("whatsapp:")
                .map_or((t, false), |bare| (bare, true))
        });
        let mut out = Vec::new();
        // A message names its thread.
        let only = match (filter.thread, filter.message) {
            (Some(t), Some(m)) if t != m.thread => return out,
            (t, m) => t.or(m.map(|m| m.thread)),
        };
        let threads: Box<dyn Iterator<Item = (ThreadId, &Thread)>> = match only {
            Some(id) => Box::new(self.threads.get(&id).map(|t| (id, t)).into_iter()),
            None => Box::new(self.threads.iter()),
        };
        // Only a profile with SMS/WhatsApp participants has thread deliveries.
        let rules = self.profile.non_chat.as_ref().map(|n| &n.channel_rules);
        for (id, t) in threads {
            let Some(rules) = rules else { break };
            if t.deleted_at.is_some() {
                continue;
            }
            for (delivery_id, message, d) in t.deliveries_with_ids() {
                let b = &t.bindings[d.binding as usize];
                if to.is_some_and(|(addr, wa)| {
                    *b.address != *addr || (wa && b.channel != Channel::Whatsapp)
                }) {
                    continue;
                }
                if filter.status.is_some_and(|s| s != d.status)
                    || filter.message.is_some_and(|m| m.sequence != message)
                {
                    continue;
                }
                let view = self.thread_delivery_view(rules, id, t, delivery_id, message, d);
                if filter.channel.is_some_and(|c| c != view.channel) {
                    continue;
                }
                out.push(view);
            }
        }
        if filter.thread.is_none() && filter.message.is_none() {
            for (&batch_first, batch) in self.sms_batches.iter() {
                let info = sms_info(&batch.body);
                for (k, (number, d)) in batch.recipients.iter().enumerate() {
                    let delivery_id = batch_first + k as u64;
                    if to.is_some_and(|(addr, wa)| **number != *addr || wa)
                        || filter.status.is_some_and(|s| s != d.status)
                        || filter.channel.is_some_and(|c| c != Route::Sms)
                    {
                        continue;
                    }
                    out.push(DeliveryView {
                        id: delivery_id,
                        channel: Route::Sms,
                        to: number.clone(),
                        from: batch.from.clone(),
                        body: Some(batch.body.clone()),
                        media: vec![],
                        segments: info.segments,
                        encoding: info.encoding,
                        status: d.status,
                        thread: None,
                        message: Some(sms_message_id(delivery_id)),
                        error_code: (d.code != 0).then_some(d.code),
                        dropped: vec![],
                        refused: None,
                    });
                }
            }
        }
        out.sort_by_key(|v| v.id);
        out
    }

    fn thread_delivery_view(
        &self,
        rules: &ChannelRules,
        id: ThreadId,
        t: &Thread,
        delivery_id: u64,
        message: u32,
        d: &Delivery,
    ) -> DeliveryView {
        let b = &t.bindings[d.binding as usize];
        let m = t.message(message);
        // What was sent, even if the message was edited or deleted since.
        let content = m.map_or("", |m| &**m.sent_content());
        let media: &[Media] = m.and_then(|m| m.extra.as_ref()).map_or(&[], |e| &e.media);
        let plan = outbound(rules, b.channel, content, media);
        let refused = if d.code == Refusal::OutsideWhatsappWindow.code() {
            Some(Refusal::OutsideWhatsappWindow)
        } else {
            plan.refused
        };
        let body = (plan.body && refused.is_none())
            .then(|| m.map_or_else(|| Body::from(""), |m| m.sent_content().clone()));
        let (segments, encoding) = match &body {
            Some(text) => {
                let info = text.sms_info();
                (info.segments, info.encoding)
            }
            None => (0, crate::rules::Encoding::Gsm7),
        };
        let from = match b.channel {
            Channel::Sms => b.proxy.clone(),
            Channel::Whatsapp => Arc::from(format!("whatsapp:{}", b.proxy).as_str()),
        };
        DeliveryView {
            id: delivery_id,
            channel: plan.route,
            to: b.display(),
            from,
            body: body.map(|b| b.text().clone()),
            media: match (plan.medium, refused) {
                (Some(i), None) => media.get(i as usize).cloned().into_iter().collect(),
                _ => vec![],
            },
            segments,
            encoding,
            status: d.status,
            thread: Some(id),
            message: Some(message_id(message)),
            error_code: (d.code != 0).then_some(d.code),
            dropped: dropped_views(&plan.dropped),
            refused,
        }
    }
}
