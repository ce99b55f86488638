//! Messages: send (stored once, shown to the chat participants unless over a
//! display cap, fanned out to the SMS/WhatsApp ones), edit, delete and list,
//! and the checks that find a message and its sender.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::limit::Count;
use super::page::continuation_token;
use super::thread::{Message, MessageExtra, Thread};
use super::{ContentType, Event, Page, PageRequest, Reply};
use super::{Error, Outcome, State};
use super::{MessageKind, NoticeKind};
use crate::id::{MessageId, ThreadId, UserId, message_id};
use crate::rules::{Body, Media, html};
use crate::time::Instant;

impl State {
    /// Message `seq` of `t`, if `actor` can see it (404 otherwise).
    pub(super) fn visible_message<'t>(
        &self,
        actor: UserId,
        t: &'t Thread,
        seq: u32,
    ) -> Result<&'t Message, Error> {
        match t.message(seq) {
            Some(m) if t.can_read(actor, seq) => Ok(m),
            _ => Err(Error::MessageNotFound {
                thread: t.id.to_string(),
                message: message_id(seq),
            }),
        }
    }

    /// The sender's own, visible, not deleted message (404, then 403).
    pub(super) fn own_message(&self, actor: UserId, t: &Thread, seq: u32) -> Result<(), Error> {
        let m = self.visible_message(actor, t, seq)?;
        if m.deleted_at().is_some() || !m.kind.is_user_content() {
            return Err(Error::MessageNotFound {
                thread: t.id.to_string(),
                message: message_id(seq),
            });
        }
        if m.sender != actor {
            return Err(Error::NotTheSender {
                message: MessageId {
                    thread: t.id,
                    sequence: seq,
                },
                user: self.name(actor).to_string(),
            });
        }
        Ok(())
    }

    /// The body and metadata against the profile's sizes (413).
    pub(super) fn check_sizes(
        &self,
        content: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let bytes = content.len() as u64;
        let max = self.profile.message_bytes_max;
        if bytes > u64::from(max) {
            return Err(Error::MessageTooLarge {
                bytes: bytes.min(u64::from(u32::MAX)) as u32,
                max,
            });
        }
        let meta: u64 = metadata
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        let max = self.profile.metadata_bytes_max;
        if meta > u64::from(max) {
            return Err(Error::MetadataTooLarge {
                bytes: meta.min(u64::from(u32::MAX)) as u32,
                max,
            });
        }
        Ok(())
    }

    /// A chat message, with media or as a template (WhatsApp's 24-hour window
    /// does not apply to templates): stored once, shown to the chat
    /// participants (unless over a display cap), fanned out to the non-chat ones.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn apply_send_message(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        content: &Body,
        content_type: ContentType,
        metadata: &BTreeMap<String, String>,
        media: &[Media],
        template: bool,
        now: Instant,
    ) -> Outcome {
        let hidden = !count.verdict.shown;
        let name = self.name(actor);
        let t = self.changing(thread, count);
        let recipients = if hidden { 0 } else { t.participant_count() - 1 };
        let wakes = t.life.reacts_to_message();
        let (kind, content) = match content_type {
            ContentType::Text => (MessageKind::Text, content.clone()),
            // Stored sanitized, as ACS stores it.
            ContentType::Html => (MessageKind::Html, Body::from(html::sanitize(content))),
        };
        let extra = (!metadata.is_empty() || !media.is_empty()).then(|| {
            Box::new(MessageExtra {
                metadata: metadata.clone(),
                media: media.to_vec(),
                ..MessageExtra::default()
            })
        });
        let bytes = content.len() as u32;
        let seq = t.push_message(Message {
            kind,
            sender: actor,
            created_at: now,
            content,
            extra,
        });
        if !hidden {
            t.push_notice(now, NoticeKind::ChatMessageReceived, actor, seq);
        }
        // Room for the fan-out's event too, so the common send allocates once.
        let mut events = Vec::with_capacity(2);
        events.push(Event::MessageSent {
            thread,
            message: seq,
            by: name,
            bytes,
            recipients,
            hidden,
        });
        let mut outcome = Outcome::new(Reply::MessageSent { sequence: seq }, events);
        self.fan_out(&mut outcome, thread, seq, None, template, now);
        if wakes {
            outcome.events.extend(self.on_message(thread, now));
        }
        outcome
    }

    /// The messages `actor` can read, newest first.
    pub(super) fn list_messages(
        &self,
        actor: UserId,
        t: &Thread,
        page: &PageRequest,
        start_time: Option<Instant>,
    ) -> Outcome {
        let page = self.page_at(page);
        let below = page
            .continuation
            .unwrap_or(u32::MAX)
            .min(t.last_sequence() + 1);
        let memberships: Vec<_> = t.memberships_of(actor).collect();
        let start = start_time.unwrap_or(Instant::ZERO);
        let mut items = Vec::new();
        let mut continuation = None;
        for seq in (1..below).rev() {
            let m = t.message(seq).expect("in range");
            if m.created_at < start {
                break;
            }
            if !memberships.iter().any(|ms| ms.reads(seq, m.created_at)) {
                continue;
            }
            if items.len() == page.size {
                continuation = Some(continuation_token(seq + 1));
                break;
            }
            items.push(self.message_view(t, seq, m));
        }
        Outcome::new(
            Reply::Messages(Page {
                items,
                continuation,
            }),
            vec![],
        )
    }

    pub(super) fn apply_update_message(
        &mut self,
        count: &Count,
        actor: UserId,
        message: MessageId,
        content: &Arc<str>,
        now: Instant,
    ) -> Outcome {
        let (thread, seq) = (message.thread, message.sequence);
        let t = self.changing(thread, count);
        let m = t.message_to_change(seq);
        m.content = match m.kind {
            MessageKind::Html => Body::from(html::sanitize(content)),
            _ => Body::from(content.clone()),
        };
        let bytes = m.content.len() as u32;
        m.extra_mut().edited_at = Some(now);
        t.push_notice(now, NoticeKind::ChatMessageEdited, actor, seq);
        Outcome::new(
            Reply::None,
            vec![Event::MessageEdited {
                thread,
                message: seq,
                by: self.name(actor),
                bytes,
            }],
        )
    }

    /// Deletion is immediate and permanent: the content is dropped, the message
    /// keeps its place in the sequence with its deleted stamp.
    pub(super) fn apply_delete_message(
        &mut self,
        count: &Count,
        actor: UserId,
        message: MessageId,
        now: Instant,
    ) -> Outcome {
        let (thread, seq) = (message.thread, message.sequence);
        let t = self.changing(thread, count);
        let m = t.message_to_change(seq);
        m.content = Body::from("");
        let extra = m.extra_mut();
        extra.deleted_at = Some(now);
        extra.metadata.clear();
        t.push_notice(now, NoticeKind::ChatMessageDeleted, actor, seq);
        Outcome::new(
            Reply::None,
            vec![Event::MessageDeleted {
                thread,
                message: seq,
                by: self.name(actor),
            }],
        )
    }
}
