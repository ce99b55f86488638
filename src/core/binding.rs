//! SMS and WhatsApp participants as bindings (channel, address, proxy
//! address): parsing, the caps on a thread, uniqueness across threads (one
//! index of the bindings held now), adding and removing them.

use std::sync::Arc;

use super::BindingSpec;
use super::limit::Count;
use super::thread::{Binding, Thread};
use super::{Error, Event, Outcome, Reply, State};
use crate::id::{ThreadId, UserId};
use crate::rules::{Channel, address};
use crate::time::Instant;

/// The binding index key: channel, address, proxy address.
pub(super) type BindingKey = (Channel, Arc<str>, Arc<str>);

/// A parsed, validated binding.
pub(super) struct NewBinding {
    channel: Channel,
    address: Arc<str>,
    proxy: Arc<str>,
}

pub(super) fn parse_address(
    channel: Channel,
    text: &str,
    field: &'static str,
) -> Result<Arc<str>, Error> {
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
        if !specs.is_empty() && self.profile.non_chat.is_none() {
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
        let max = self
            .profile
            .non_chat
            .as_ref()
            .map_or(0, |n| n.participants_max);
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

    /// Puts `thread`'s current SMS/WhatsApp bindings in the binding index
    /// (`held`), or takes out those the index gives to it. Group MMS
    /// participants have no proxy address, so no entry.
    pub(super) fn index_bindings(&mut self, thread: ThreadId, held: bool) {
        let Some(t) = self.threads.get(&thread) else {
            return;
        };
        let keys: Vec<BindingKey> = t
            .bindings
            .iter()
            .filter(|b| b.is_current() && !b.is_group())
            .map(|b| (b.channel, b.address.clone(), b.proxy.clone()))
            .collect();
        for key in keys {
            if held {
                self.binding_index.insert(key, thread);
            } else if self.binding_index.get(&key) == Some(&thread) {
                self.binding_index.remove(&key);
            }
        }
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
        t.bindings.reserve_exact(new.len());
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
        match &self.profile.non_chat {
            Some(n) if group => n.group_mms_participants_max.min(max),
            _ => max,
        }
    }

    /// A chat identity may be in at most `threads_per_identity_max` threads
    /// that hold participants (not deleted, not closed).
    pub(super) fn check_identity_threads(
        &self,
        users: impl IntoIterator<Item = UserId>,
    ) -> Result<(), Error> {
        let Some(max) = self.profile.threads_per_identity_max else {
            return Ok(());
        };
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
            thread: t.id,
            address: text.chars().take(64).collect(),
        };
        let address = address::parse(channel, text).map_err(|_| not_found())?;
        t.binding_of(channel, &address).ok_or_else(not_found)
    }

    pub(super) fn apply_remove_binding(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        index: usize,
        now: Instant,
    ) -> Outcome {
        let t = self.changing(thread, count);
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

    /// Checks the channel invariants of the whole state.
    pub(super) fn check_channel_invariants(&self) -> Result<(), String> {
        let p = &self.profile;
        for (id, t) in self.threads.iter() {
            if t.non_chat_count() > p.non_chat.as_ref().map_or(0, |n| n.participants_max)
                || t.member_count() > p.participants_per_thread_max
            {
                return Err(format!("thread {id} is over a participant cap"));
            }
            if t.deleted_at.is_some() && !(t.deliveries.is_empty() && t.fanouts.is_empty()) {
                return Err(format!("thread {id}: deleted but still holds deliveries"));
            }
            let ordered = t.fanouts.pairs().all(|(a, b)| {
                a.start < b.start && a.first_id + u64::from(b.start - a.start) <= b.first_id
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
                    if self.binding_holder(b.channel, &b.address, &b.proxy) != Some(id) {
                        return Err(format!(
                            "thread {id}: binding {} is not indexed to it",
                            b.address
                        ));
                    }
                }
            }
        }
        // The index forgets a deleted thread's bindings, so it does not
        // grow with every thread that ever was.
        for ((_, address, _), id) in self.binding_index.iter() {
            if self.threads.get(id).is_none_or(|t| t.deleted_at.is_some()) {
                return Err(format!("binding {address} indexed to deleted thread {id}"));
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
