//! Inbound messages: an SMS or WhatsApp user writes to the proxy address of
//! a binding; the message is stored once in the thread that holds it, shown to
//! the chat participants and fanned out to the other non-chat ones.

use std::sync::Arc;

use super::binding::parse_address;
use super::thread::{Message, MessageExtra};
use super::{Error, Event, NOBODY, Outcome, Reply, State};
use super::{MessageKind, NoticeKind};
use crate::id::ThreadId;
use crate::rules::media::check_count;
use crate::rules::{Channel, Media};
use crate::time::Instant;

/// An inbound message's checked request: its parsed addresses and the media
/// it carries (WhatsApp's extra attachments cut off).
pub(super) struct InboundRequest<'m> {
    pub from: Arc<str>,
    pub to: Arc<str>,
    pub media: &'m [Media],
}

impl State {
    /// An inbound message's request (400s): its addresses, a body or media,
    /// and the channel's media count. WhatsApp carries one medium; extra
    /// attachments are ignored (Twilio "WhatsApp media messages"), so they are cut off here.
    pub(super) fn check_inbound_request<'m>(
        &self,
        channel: Channel,
        from: &str,
        to: &str,
        body: &str,
        media: &'m [Media],
    ) -> Result<InboundRequest<'m>, Error> {
        let Some(non_chat) = &self.profile.non_chat else {
            return Err(self.unsupported("inbound"));
        };
        let from = parse_address(channel, from, "from")?;
        let to = parse_address(channel, to, "to")?;
        if body.is_empty() && media.is_empty() {
            return Err(Error::InvalidField {
                field: "body",
                reason: "a message needs a body or media".to_string(),
            });
        }
        let rules = &non_chat.channel_rules;
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
            content: body.clone().into(),
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
        // its timers, whatever its channel (Twilio "Conversation states and timers").
        outcome.events.extend(self.on_message(thread, now));
        outcome
    }
}
