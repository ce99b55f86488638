//! Non-chat participants and everything that happens when a message leaves
//! chat: bindings and their uniqueness, fan-out to SMS and WhatsApp
//! participants through the rule table, inbound messages, WhatsApp's 24-hour
//! window, ACS `send_sms`, carrier receipts and the outbox.
//!
//! One delivery is stored per non-chat recipient (8 bytes: binding, status,
//! code), under one header per fanned-out message (its first delivery id and
//! the message); its body, media, route and segments are recomputed from the
//! message and the binding when the outbox is read. Checks run before any change, like every call.

use serde::Serialize;
use std::sync::Arc;

use super::command::{BindingSpec, DeliveryRef, OutboxFilter, Queued, Receipt, SmsResult};
use super::limit::{self, Subject, WindowKey, Windows};
use super::thread::{
    Binding, Delivery, Fanout, Message, MessageExtra, MessageKind, NoticeKind, Thread,
};
use super::{Error, Event, NOBODY, Outcome, Reply, State};
use crate::channel::media::{check_count, outbound};
use crate::channel::{Channel, Dropped, Media, Plan, Refusal, Route, Status, address, sms_info};
use crate::id::{ThreadId, UserId, message_id};
use crate::profile::Operation;
use crate::time::Instant;

/// The binding index key: channel, address, proxy address.
pub(super) type BindingKey = (Channel, Arc<str>, Arc<str>);

/// One ACS `send_sms` call's message and its recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsBatch {
    pub from: Arc<str>,
    pub body: Arc<str>,
    pub created_at: Instant,
    pub delivery_report: bool,
    /// Valid recipients only, each with its delivery.
    pub recipients: Vec<(Arc<str>, Delivery)>,
}

/// A delivery as the outbox lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    pub id: u64,
    pub channel: &'static str,
    pub to: Arc<str>,
    pub from: Arc<str>,
    pub body: Option<Arc<str>>,
    pub media: Vec<Media>,
    pub segments: u32,
    pub encoding: &'static str,
    pub status: &'static str,
    pub thread: Option<ThreadId>,
    pub message: Option<String>,
    pub error_code: Option<u16>,
    /// What the rules dropped, and why.
    pub dropped: Vec<DroppedView>,
    /// Why nothing was sent, for a delivery refused at creation.
    pub refused: Option<Refusal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DroppedView {
    pub what: String,
    pub why: crate::channel::DropReason,
}

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

/// An inbound message's checked request: its parsed addresses and the media
/// it carries (WhatsApp's extra attachments cut off).
pub(super) struct InboundRequest<'m> {
    pub from: Arc<str>,
    pub to: Arc<str>,
    pub media: &'m [Media],
}

/// A parsed, validated binding.
pub(super) struct NewBinding {
    channel: Channel,
    address: Arc<str>,
    proxy: Arc<str>,
}

fn parse_address(channel: Channel, text: &str, field: &'static str) -> Result<Arc<str>, Error> {
    address::parse(channel, text)
        .map(|a| Arc::from(a.as_str()))
        .map_err(|e| Error::InvalidAddress {
            field,
            address: e.address,
            reason: e.reason,
        })
}

impl State {
    /// Validates the addresses of `specs` (400s that need no state).
    pub(super) fn parse_bindings(&self, specs: &[BindingSpec]) -> Result<Vec<NewBinding>, Error> {
        if !specs.is_empty() && self.profile.non_chat_participants_max == 0 {
            return Err(self.unsupported("sms and whatsapp participants"));
        }
        specs
            .iter()
            .map(|s| {
                // An SMS participant without a proxy is a group MMS participant.
                let group = s.channel == Channel::Sms && s.proxy.is_empty();
                Ok(NewBinding {
                    channel: s.channel,
                    address: parse_address(s.channel, &s.address, "address")?,
                    proxy: if group {
                        Arc::from("")
                    } else {
                        parse_address(s.channel, &s.proxy, "proxy")?
                    },
                })
            })
            .collect()
    }

    /// The thread that holds the binding now, if any.
    pub(super) fn binding_holder(
        &self,
        channel: Channel,
        address: &Arc<str>,
        proxy: &Arc<str>,
    ) -> Option<ThreadId> {
        let key: BindingKey = (channel, address.clone(), proxy.clone());
        let id = *self.binding_index.get(&key)?;
        let t = self.threads.get(&id)?;
        let held = t.holds_bindings()
            && t.binding_of(channel, address)
                .is_some_and(|i| t.bindings[i].proxy == *proxy);
        held.then_some(id)
    }

    /// The caps on adding `new` to a thread that has `members` participants
    /// of which `non_chat` are SMS or WhatsApp (400s that depend on the
    /// target); with no `new`, the thread's participant cap alone.
    pub(super) fn check_binding_room(
        &self,
        new: &[NewBinding],
        existing: Option<&Thread>,
        members: u32,
        non_chat: u32,
    ) -> Result<(), Error> {
        let count = non_chat.saturating_add(new.len() as u32);
        let max = self.profile.non_chat_participants_max;
        if count > max {
            return Err(Error::TooManyNonChat { count, max });
        }
        let total = members.saturating_add(new.len() as u32);
        let group =
            existing.is_some_and(Thread::is_group_mms) || new.iter().any(|b| b.proxy.is_empty());
        let max = self.participant_cap_for(group);
        if total > max {
            return Err(Error::ThreadFull { count: total, max });
        }
        Ok(())
    }

    /// That no address of `new` is a participant of `existing` already or
    /// named twice, and that no binding of `new` is held elsewhere (409).
    pub(super) fn check_bindings_free(
        &self,
        new: &[NewBinding],
        existing: Option<&Thread>,
    ) -> Result<(), Error> {
        for (i, b) in new.iter().enumerate() {
            // One address is one participant of a thread, whatever its proxy.
            let twice = new[..i]
                .iter()
                .any(|o| o.channel == b.channel && o.address == b.address)
                || existing.is_some_and(|t| t.binding_of(b.channel, &b.address).is_some());
            if twice
                || self
                    .binding_holder(b.channel, &b.address, &b.proxy)
                    .is_some()
            {
                return Err(Error::BindingExists {
                    address: b.address.to_string(),
                    proxy: b.proxy.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Joins `new` to `thread` (checked) and indexes them.
    pub(super) fn attach_bindings(
        &mut self,
        thread: ThreadId,
        new: Vec<NewBinding>,
        now: Instant,
    ) -> Vec<Arc<str>> {
        let t = self.thread_mut(thread);
        let mut shown = Vec::with_capacity(new.len());
        for b in &new {
            let binding = Binding {
                channel: b.channel,
                address: b.address.clone(),
                proxy: b.proxy.clone(),
                joined_at: now,
                removed_at: None,
                last_inbound: None,
            };
            shown.push(binding.display());
            t.bindings.push(binding);
        }
        for b in new.into_iter().filter(|b| !b.proxy.is_empty()) {
            self.binding_index
                .insert((b.channel, b.address, b.proxy), thread);
        }
        shown
    }

    /// The most participants `t` may hold: fewer when it is a group MMS.
    pub(super) fn participant_cap(&self, t: &Thread) -> u32 {
        self.participant_cap_for(t.is_group_mms())
    }

    /// The most participants a thread may hold, a group MMS or not.
    fn participant_cap_for(&self, group: bool) -> u32 {
        let max = self.profile.participants_per_thread_max;
        if group {
            self.profile.group_mms_participants_max.min(max)
        } else {
            max
        }
    }

    /// A chat identity may be in at most `threads_per_identity_max` threads
    /// that hold participants (not deleted, not closed).
    pub(super) fn check_identity_threads(
        &self,
        users: impl IntoIterator<Item = UserId>,
    ) -> Result<(), Error> {
        let max = self.profile.threads_per_identity_max;
        for user in users {
            let Some(u) = self.users.get(&user) else {
                continue;
            };
            // Fast path: a user who ever joined fewer threads cannot be full.
            if (u.threads.len() as u64) < u64::from(max) {
                continue;
            }
            let live = u
                .threads
                .iter()
                .filter(|id| {
                    self.threads
                        .get(*id)
                        .is_some_and(|t| t.holds_bindings() && t.is_participant(user))
                })
                .count();
            if live as u64 >= u64::from(max) {
                return Err(Error::TooManyThreadsForIdentity {
                    user: u.id.to_string(),
                    max,
                });
            }
        }
        Ok(())
    }

    pub(super) fn apply_add_bindings(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        new: Vec<NewBinding>,
        now: Instant,
    ) -> Outcome {
        let addresses = self.attach_bindings(thread, new, now);
        Outcome::new(
            Reply::ParticipantsAdded {
                invalid_participants: vec![],
            },
            vec![Event::BindingsAdded {
                thread,
                by: self.name(actor),
                addresses,
            }],
        )
    }

    /// The index of the current SMS/WhatsApp participant `text` of `t` (404).
    pub(super) fn binding_named(
        &self,
        t: &Thread,
        channel: Channel,
        text: &str,
    ) -> Result<usize, Error> {
        let not_found = || Error::BindingNotFound {
            thread: t.id.to_string(),
            address: text.chars().take(64).collect(),
        };
        let address = address::parse(channel, text).map_err(|_| not_found())?;
        t.binding_of(channel, &address).ok_or_else(not_found)
    }

    pub(super) fn apply_remove_binding(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        index: usize,
        now: Instant,
    ) -> Outcome {
        let t = self.thread_mut(thread);
        let b = &mut t.bindings[index];
        b.removed_at = Some(now);
        let key: BindingKey = (b.channel, b.address.clone(), b.proxy.clone());
        let shown = b.display();
        // The pair may be held by another thread since this one was closed.
        if self.binding_index.get(&key) == Some(&thread) {
            self.binding_index.remove(&key);
        }
        Outcome::new(
            Reply::None,
            vec![Event::BindingRemoved {
                thread,
                by: self.name(actor),
                address: shown,
            }],
        )
    }

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
        let profile = Arc::clone(&self.profile);
        let first = self.next_delivery;
        // One lookup; the thread was just written, so it is not shared.
        let Some(t) = self.threads.get_mut(&thread) else {
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
        } = Arc::make_mut(t);
        let m = &messages[seq as usize - 1];
        let media: &[Media] = m.extra.as_ref().map_or(&[], |e| &e.media);
        let rules = &profile.channel_rules;
        let window = profile.whatsapp_window_ms;
        let mut plans: [Option<Plan>; 2] = [None, None];
        let base = deliveries.len();
        let mut queued: u32 = 0;
        let mut failed: u32 = 0;
        let mut segments = 0;
        deliveries.reserve(bindings.len());
        outcome.queued.reserve(bindings.len());
        for (i, b) in bindings.iter().enumerate() {
            if !b.is_current() || Some(i) == exclude {
                continue;
            }
            let slot = b.channel as usize;
            let plan =
                plans[slot].get_or_insert_with(|| outbound(rules, b.channel, &m.content, media));
            let in_window = b
                .last_inbound
                .is_some_and(|at| now.ms().saturating_sub(at.ms()) < window);
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
                segments = sms_info(&m.content).segments;
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
        self.next_delivery += made;
        outcome.events.push(Event::DeliveriesCreated {
            thread: Some(thread),
            message: Some(seq),
            first,
            queued,
            failed,
            segments,
        });
    }

    /// An inbound message's request (400s): its addresses, a body or media,
    /// and the channel's media count. WhatsApp carries one medium; extra
    /// attachments are ignored (T7), so they are cut off here.
    pub(super) fn check_inbound_request<'m>(
        &self,
        channel: Channel,
        from: &str,
        to: &str,
        body: &str,
        media: &'m [Media],
    ) -> Result<InboundRequest<'m>, Error> {
        if self.profile.non_chat_participants_max == 0 {
            return Err(self.unsupported("inbound"));
        }
        let from = parse_address(channel, from, "from")?;
        let to = parse_address(channel, to, "to")?;
        if body.is_empty() && media.is_empty() {
            return Err(Error::InvalidField {
                field: "body",
                reason: "a message needs a body or media".to_string(),
            });
        }
        let rules = &self.profile.channel_rules;
        let media = match channel {
            Channel::Whatsapp => {
                let max = rules.whatsapp_media_count_max as usize;
                &media[..media.len().min(max)]
            }
            Channel::Sms => media,
        };
        check_count(media, rules.inbound_media_count_max(channel)).map_err(Error::Media)?;
        Ok(InboundRequest { from, to, media })
    }

    /// The thread that holds the binding an inbound message arrives on (404).
    pub(super) fn inbound_thread(
        &self,
        channel: Channel,
        from: &Arc<str>,
        to: &Arc<str>,
    ) -> Result<ThreadId, Error> {
        self.binding_holder(channel, from, to)
            .ok_or_else(|| Error::NoBinding {
                address: from.to_string(),
                proxy: to.to_string(),
            })
    }

    /// A checked inbound message: stored once, shown to the chat
    /// participants, fanned out to the other non-chat ones.
    pub(super) fn apply_inbound(
        &mut self,
        thread: ThreadId,
        channel: Channel,
        from: &Arc<str>,
        body: &Arc<str>,
        media: &[Media],
        now: Instant,
    ) -> Outcome {
        let t = self.thread_mut(thread);
        let index = t
            .binding_of(channel, from)
            .expect("held binding is current");
        let shown = t.bindings[index].display();
        t.bindings[index].last_inbound = Some(now);
        let seq = t.push_message(Message {
            kind: MessageKind::Text,
            sender: NOBODY,
            created_at: now,
            content: body.clone(),
            extra: Some(Box::new(MessageExtra {
                from_address: Some(shown.clone()),
                media: media.to_vec(),
                ..MessageExtra::default()
            })),
        });
        t.push_notice(now, NoticeKind::ChatMessageReceived, NOBODY, seq);
        let recipients = t.participant_count();
        let mut outcome = Outcome::new(
            Reply::MessageSent { sequence: seq },
            vec![Event::InboundReceived {
                thread,
                message: seq,
                from: shown,
                bytes: body.len() as u32,
                media: media.len() as u32,
                recipients,
            }],
        );
        self.fan_out(&mut outcome, thread, seq, Some(index), false, now);
        // A participant's message wakes an inactive conversation and restarts
        // its timers, whatever its channel (T3).
        outcome.events.extend(self.on_message(thread, now));
        outcome
    }

    /// ACS `send_sms`: a 202 with one result per recipient; a malformed number
    /// fails only its own recipient.
    pub(super) fn send_sms(
        &mut self,
        op: Operation,
        from: &Arc<str>,
        to: &[Arc<str>],
        message: &Arc<str>,
        delivery_report: bool,
        now: Instant,
    ) -> Result<Outcome, Error> {
        if !self.profile.sms_send_supported {
            return Err(self.unsupported("send_sms"));
        }
        let short_code = address::sender_kind(from) == address::SenderKind::ShortCode;
        if !short_code && let Err(reason) = address::e164(from) {
            return Err(Error::InvalidAddress {
                field: "from",
                address: from.chars().take(64).collect(),
                reason,
            });
        }
        let max = self.profile.sms_recipients_max;
        if to.is_empty() || to.len() as u64 > u64::from(max) {
            return Err(Error::SmsRecipients {
                count: to.len().min(u32::MAX as usize) as u32,
                max,
            });
        }
        let chars = message.chars().count() as u64;
        let max = self.profile.sms_body_chars_max;
        if chars > u64::from(max) {
            return Err(Error::SmsTooLong {
                chars: chars.min(u64::from(u32::MAX)) as u32,
                max,
            });
        }
        let first = self.next_delivery;
        let mut results = Vec::with_capacity(to.len());
        let mut recipients = Vec::new();
        let mut queued = Vec::new();
        // Throughput is per sending number: each message (one per recipient)
        // is handed to the carrier once the number is under its limit.
        let sender = Subject {
            user: None,
            connection: 0,
            sender: address::sender_key(from),
        };
        for (i, number) in to.iter().enumerate() {
            if address::e164(number).is_err() {
                results.push(SmsResult {
                    to: number.clone(),
                    message_id: None,
                    http_status: 400,
                    successful: false,
                    error_message: Some("Invalid To phone number format.".to_string()),
                });
                continue;
            }
            // A rejecting limit (none in `acs`: its SMS limits queue) refuses
            // only this recipient, as ACS reports status per recipient.
            let no_thread: Option<&imbl::OrdMap<WindowKey, Windows>> = None;
            let decision = limit::decide(
                &self.profile,
                op,
                sender,
                now,
                &self.windows,
                no_thread,
                false,
            );
            let handed_at = match decision {
                Ok(verdict) => {
                    self.count_limits(&verdict, sender, None, now);
                    verdict.effective_at
                }
                Err(error) => {
                    results.push(SmsResult {
                        to: number.clone(),
                        message_id: None,
                        http_status: error.status(),
                        successful: false,
                        error_message: Some(error.to_string()),
                    });
                    continue;
                }
            };
            let id = first + recipients.len() as u64;
            recipients.push((
                number.clone(),
                Delivery {
                    binding: i as u32,
                    code: 0,
                    status: Status::Queued,
                },
            ));
            queued.push(Queued {
                delivery: DeliveryRef {
                    thread: None,
                    id,
                    slot: (recipients.len() - 1) as u32,
                },
                route: Route::Sms,
                handed_at,
            });
            results.push(SmsResult {
                to: number.clone(),
                message_id: Some(sms_message_id(id)),
                http_status: 202,
                successful: true,
                error_message: None,
            });
        }
        let mut events = Vec::new();
        if !recipients.is_empty() {
            events.push(Event::DeliveriesCreated {
                thread: None,
                message: None,
                first,
                queued: recipients.len() as u32,
                failed: 0,
                segments: sms_info(message).segments,
            });
            self.next_delivery += recipients.len() as u64;
            self.sms_batches.insert(
                first,
                Arc::new(SmsBatch {
                    from: from.clone(),
                    body: message.clone(),
                    created_at: now,
                    delivery_report,
                    recipients,
                }),
            );
        }
        let mut outcome = Outcome::new(Reply::SmsSent(results), events);
        outcome.queued = queued;
        Ok(outcome)
    }

    /// Records a carrier's receipt. A receipt for a delivery that no longer
    /// exists (its thread was deleted) or that does not follow the status
    /// order changes nothing and returns no event.
    pub fn record(&mut self, receipt: &Receipt) -> Option<Event> {
        let code = (receipt.code != 0).then_some(receipt.code);
        let id = receipt.delivery.id;
        match receipt.delivery.thread {
            Some(thread) => {
                // One lookup: a receipt almost always names a live delivery.
                let t = Arc::make_mut(self.threads.get_mut(&thread)?);
                let slot = receipt.delivery.slot as usize;
                if t.fanout_of(slot).is_none_or(|(_, found)| found != id) {
                    return None;
                }
                let d = &mut t.deliveries[slot];
                if !d.status.may_become(receipt.status) {
                    return None;
                }
                d.status = receipt.status;
                d.code = receipt.code;
                Some(Event::DeliveryUpdated {
                    delivery: id,
                    status: receipt.status,
                    code,
                })
            }
            None => {
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
                if !report {
                    return None;
                }
                Some(Event::DeliveryUpdated {
                    delivery: id,
                    status: receipt.status,
                    code,
                })
            }
        }
    }

    /// The deliveries to non-chat recipients that match `filter`, in the
    /// order they were created.
    pub fn outbox(&self, filter: &OutboxFilter) -> Vec<DeliveryView> {
        let to = filter.to.as_deref().map(|t| {
            t.strip_prefix("whatsapp:")
                .map_or((t, false), |bare| (bare, true))
        });
        let mut out = Vec::new();
        let threads: Box<dyn Iterator<Item = (&ThreadId, &Arc<Thread>)>> = match filter.thread {
            Some(id) => Box::new(self.threads.get_key_value(&id).into_iter()),
            None => Box::new(self.threads.iter()),
        };
        for (&id, t) in threads {
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
                    || filter.message.is_some_and(|m| m != message)
                {
                    continue;
                }
                let view = self.thread_delivery_view(id, t, delivery_id, message, d);
                if filter.channel.is_some_and(|c| c.name() != view.channel) {
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
                        channel: Route::Sms.name(),
                        to: number.clone(),
                        from: batch.from.clone(),
                        body: Some(batch.body.clone()),
                        media: vec![],
                        segments: info.segments,
                        encoding: info.encoding.name(),
                        status: d.status.name(),
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
        id: ThreadId,
        t: &Thread,
        delivery_id: u64,
        message: u32,
        d: &Delivery,
    ) -> DeliveryView {
        let b = &t.bindings[d.binding as usize];
        let m = t.message(message);
        // What was sent, even if the message was edited or deleted since.
        let content = m.map_or("", |m| m.sent_content());
        let media: &[Media] = m.and_then(|m| m.extra.as_ref()).map_or(&[], |e| &e.media);
        let plan = outbound(&self.profile.channel_rules, b.channel, content, media);
        let refused = if d.code == Refusal::OutsideWhatsappWindow.code() {
            Some(Refusal::OutsideWhatsappWindow)
        } else {
            plan.refused
        };
        let body = (plan.body && refused.is_none())
            .then(|| m.map_or_else(|| Arc::from(""), |m| m.sent_content().clone()));
        let (segments, encoding) = match &body {
            Some(text) => {
                let info = sms_info(text);
                (info.segments, info.encoding.name())
            }
            None => (0, crate::channel::Encoding::Gsm7.name()),
        };
        let from = match b.channel {
            Channel::Sms => b.proxy.clone(),
            Channel::Whatsapp => Arc::from(format!("whatsapp:{}", b.proxy).as_str()),
        };
        DeliveryView {
            id: delivery_id,
            channel: plan.route.name(),
            to: b.display(),
            from,
            body,
            media: match (plan.medium, refused) {
                (Some(i), None) => media.get(i as usize).cloned().into_iter().collect(),
                _ => vec![],
            },
            segments,
            encoding,
            status: d.status.name(),
            thread: Some(id),
            message: Some(message_id(message)),
            error_code: (d.code != 0).then_some(d.code),
            dropped: dropped_views(&plan.dropped),
            refused,
        }
    }

    /// Checks the channel invariants of the whole state.
    pub(super) fn check_channel_invariants(&self) -> Result<(), String> {
        let p = &self.profile;
        for (id, t) in self.threads.iter() {
            if t.non_chat_count() > p.non_chat_participants_max
                || t.member_count() > p.participants_per_thread_max
            {
                return Err(format!("thread {id} is over a participant cap"));
            }
            if t.deleted_at.is_some() && !(t.deliveries.is_empty() && t.fanouts.is_empty()) {
                return Err(format!("thread {id}: deleted but still holds deliveries"));
            }
            let ordered = t.fanouts.windows(2).all(|w| {
                w[0].start < w[1].start
                    && w[0].first_id + u64::from(w[1].start - w[0].start) <= w[1].first_id
            });
            if !ordered
                || t.fanouts.first().is_some_and(|f| f.start != 0)
                || t.fanouts.is_empty() != t.deliveries.is_empty()
                || t.fanouts
                    .last()
                    .is_some_and(|f| f.start as usize >= t.deliveries.len())
            {
                return Err(format!("thread {id}: fan-outs out of order"));
            }
            for (delivery, message, d) in t.deliveries_with_ids() {
                if delivery >= self.next_delivery
                    || d.binding as usize >= t.bindings.len()
                    || t.message(message).is_none()
                {
                    return Err(format!("thread {id}: delivery {delivery} points nowhere"));
                }
            }
            if t.member_count() > self.participant_cap(t) {
                return Err(format!("thread {id} is over its group MMS cap"));
            }
            if t.holds_bindings() {
                for b in t
                    .bindings
                    .iter()
                    .filter(|b| b.is_current() && !b.is_group())
                {
                    if self.binding_holder(b.channel, &b.address, &b.proxy) != Some(*id) {
                        return Err(format!(
                            "thread {id}: binding {} is not indexed to it",
                            b.address
                        ));
                    }
                }
            }
        }
        for (first, batch) in self.sms_batches.iter() {
            if batch.recipients.is_empty()
                || first + batch.recipients.len() as u64 > self.next_delivery
            {
                return Err(format!("sms batch {first}: bad delivery ids"));
            }
        }
        Ok(())
    }
}

/// ACS-style message id of an SMS delivery.
fn sms_message_id(id: u64) -> String {
    format!("Outgoing_{id}")
}
