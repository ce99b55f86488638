//! The core's views in Twilio Conversations v1's JSON shapes (twilio-oai's
//! `twilio_conversations_v1.json`): conversations, participants, messages
//! with their `delivery` summary, delivery receipts, users, the webhook
//! configuration, and pages with `meta`. SIDs come from [`Account`], times
//! are ISO 8601 in whole seconds (as Twilio writes them) from the epoch, and
//! every `url` is absolute and points at the server.

use serde_json::{Map, Value, json};

use super::ids::{Account, Member};
use crate::core::{DeliveryView, MessageView, Share, ThreadView};
use crate::id::{MessageId, ThreadId, UserId};
use crate::rules::{Channel, Route};
use crate::time::Instant;
use crate::wire::calendar::Epoch;

/// What rendering needs: the account, the epoch, the server's base URL and
/// whether the request came by the service-scoped paths.
#[derive(Clone, Copy, Debug)]
pub struct Render<'a> {
    /// The account's SIDs.
    pub account: &'a Account,
    /// The calendar instant virtual time 0 stands for.
    pub epoch: Epoch,
    /// `scheme://host` of the server.
    pub base: &'a str,
    /// Whether URLs take the `/v1/Services/{ChatServiceSid}` form.
    pub service_scoped: bool,
}

/// A participant as the handler found it in the conversation.
#[derive(Clone, Debug)]
pub struct ParticipantFacts {
    /// Who it is.
    pub member: Member,
    /// A chat participant's identity.
    pub identity: Option<String>,
    /// An SMS or WhatsApp participant's channel, address and proxy address.
    pub binding: Option<(Channel, String, String)>,
    /// When it joined, in virtual milliseconds.
    pub joined_ms: u64,
    /// The last message it read (index) and when, for a chat participant.
    pub last_read: Option<(u32, u64)>,
}

/// The delivery summary's share names: `all`, `some`, `none`.
fn share(s: Share) -> &'static str {
    match s {
        Share::All => "all",
        Share::Some => "some",
        Share::None => "none",
    }
}

/// A message's index: its position in the log from 0 (Twilio's indexes
/// start at 0 and "may skip numbers").
pub fn index_of(sequence: u32) -> u32 {
    sequence.saturating_sub(1)
}

impl Render<'_> {
    /// ISO 8601 in whole seconds: `2026-01-01T00:00:05Z`.
    pub fn time(&self, ms: u64) -> Value {
        let text = self.epoch.rfc3339(Instant(ms));
        Value::String(match text.split_once('.') {
            Some((seconds, _)) => format!("{seconds}Z"),
            None => text,
        })
    }

    /// The URL prefix of resources: `{base}/v1` or `{base}/v1/Services/{IS}`.
    pub fn prefix(&self) -> String {
        if self.service_scoped {
            format!("{}/v1/Services/{}", self.base, self.account.service_sid)
        } else {
            format!("{}/v1", self.base)
        }
    }

    /// The URL of conversation `t`.
    pub fn conversation_url(&self, t: ThreadId) -> String {
        format!(
            "{}/Conversations/{}",
            self.prefix(),
            self.account.conversation(t)
        )
    }

    /// `account_sid`, and `chat_service_sid` where the resource's schema has
    /// it: always for conversations and users, and on the service-scoped
    /// paths for participants, messages and receipts.
    fn common(&self, always_service: bool) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("account_sid".into(), json!(self.account.sid));
        if always_service || self.service_scoped {
            out.insert("chat_service_sid".into(), json!(self.account.service_sid));
        }
        out
    }

    /// A conversation; `updated_ms` is its last change.
    pub fn conversation(&self, view: &ThreadView, updated_ms: u64) -> Value {
        let url = self.conversation_url(view.id);
        let mut out = self.common(true);
        let timers = match &view.timers {
            Some(t) => {
                let mut timers = Map::new();
                if let Some(ms) = t.date_inactive_ms {
                    timers.insert("date_inactive".into(), self.time(ms));
                }
                if let Some(ms) = t.date_closed_ms {
                    timers.insert("date_closed".into(), self.time(ms));
                }
                Value::Object(timers)
            }
            None => json!({}),
        };
        // A conversation created without a FriendlyName has its SID as topic.
        let sid = self.account.conversation(view.id);
        let friendly = (*view.topic != *sid).then(|| view.topic.to_string());
        out.extend(
            json!({
                "messaging_service_sid": null,
                "sid": sid,
                "friendly_name": friendly,
                "unique_name": null,
                "attributes": "{}",
                "state": view.state.name(),
                "date_created": self.time(view.created_at_ms),
                "date_updated": self.time(updated_ms),
                "timers": timers,
                "bindings": null,
                "links": {
                    "participants": format!("{url}/Participants"),
                    "messages": format!("{url}/Messages"),
                    "webhooks": format!("{url}/Webhooks"),
                },
                "url": url,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Value::Object(out)
    }

    /// A participant of conversation `t`.
    pub fn participant(&self, t: ThreadId, p: &ParticipantFacts) -> Value {
        let sid = self.account.participant(t, p.member);
        let mut out = self.common(false);
        let binding = p.binding.as_ref().map(|(channel, address, proxy)| {
            let (kind, address, proxy) = match channel {
                Channel::Whatsapp => ("whatsapp", whatsapp(address), whatsapp(proxy)),
                Channel::Sms => ("sms", address.clone(), proxy.clone()),
            };
            let mut b = json!({"type": kind, "address": address});
            if proxy.is_empty() {
                b["projected_address"] = Value::Null;
            } else {
                b["proxy_address"] = json!(proxy);
            }
            b
        });
        let (index, read_at) = match p.last_read {
            Some((index, at)) => (json!(index), self.time(at)),
            None => (Value::Null, Value::Null),
        };
        out.extend(
            json!({
                "conversation_sid": self.account.conversation(t),
                "sid": sid,
                "identity": p.identity,
                "attributes": "{}",
                "messaging_binding": binding,
                "role_sid": null,
                "date_created": self.time(p.joined_ms),
                "date_updated": self.time(p.joined_ms),
                "last_read_message_index": index,
                "last_read_timestamp": read_at,
                "url": format!("{}/Participants/{sid}", self.conversation_url(t)),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Value::Object(out)
    }

    /// A message of conversation `t`: `author` as Twilio names it and the
    /// sender's participant SID, if it is one.
    pub fn message(
        &self,
        t: ThreadId,
        view: &MessageView,
        author: &str,
        participant_sid: Option<String>,
        media_sids: &[String],
    ) -> Value {
        let id = MessageId {
            thread: t,
            sequence: view.sequence_id,
        };
        let sid = self.account.message(id);
        let url = format!("{}/Messages/{sid}", self.conversation_url(t));
        let media = (!view.media.is_empty()).then(|| {
            view.media
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    json!({
                        "sid": media_sids.get(i).cloned()
                            .unwrap_or_else(|| self.account.inbound_media(id, i as u32)),
                        "size": m.bytes,
                        "content_type": m.content_type,
                        "filename": m.name,
                        "category": "media",
                    })
                })
                .collect::<Vec<_>>()
        });
        let delivery = view.delivery.as_ref().map(|d| {
            json!({
                "total": d.total,
                "sent": share(d.sent),
                "delivered": share(d.delivered),
                "read": share(d.read),
                "failed": share(d.failed),
                "undelivered": share(d.undelivered),
            })
        });
        let attributes = if view.metadata.is_empty() {
            "{}".to_string()
        } else {
            serde_json::to_string(&view.metadata).expect("string maps serialize")
        };
        let mut out = self.common(false);
        out.extend(
            json!({
                "conversation_sid": self.account.conversation(t),
                "sid": sid,
                "index": index_of(view.sequence_id),
                "author": author,
                "body": view.content,
                "media": media,
                "attributes": attributes,
                "participant_sid": participant_sid,
                "date_created": self.time(view.created_at_ms),
                "date_updated": self.time(view.edited_at_ms.unwrap_or(view.created_at_ms)),
                "delivery": delivery,
                "content_sid": null,
                "links": {
                    "delivery_receipts": format!("{url}/Receipts"),
                    "channel_metadata": format!("{url}/ChannelMetadata"),
                },
                "url": url,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Value::Object(out)
    }

    /// A delivery receipt: one SMS/WhatsApp delivery of a message.
    pub fn receipt(
        &self,
        message: MessageId,
        delivery: &DeliveryView,
        participant_sid: Option<String>,
        updated_ms: u64,
    ) -> Value {
        let sid = self.account.receipt(delivery.id);
        let message_sid = self.account.message(message);
        let channel_prefix = match delivery.channel {
            Route::Whatsapp | Route::Sms => "SM",
            Route::Mms => "MM",
        };
        let mut out = self.common(false);
        out.extend(
            json!({
                "conversation_sid": self.account.conversation(message.thread),
                "sid": sid,
                "message_sid": message_sid,
                "channel_message_sid": format!("{channel_prefix}{}", &sid[2..]),
                "participant_sid": participant_sid,
                "status": delivery.status.name(),
                "error_code": delivery.error_code.map_or(0, u32::from),
                "date_created": self.time(updated_ms),
                "date_updated": self.time(updated_ms),
                "url": format!("{}/Messages/{message_sid}/Receipts/{sid}",
                    self.conversation_url(message.thread)),
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Value::Object(out)
    }

    /// An uploaded medium (Twilio's Media Content Service resource), the
    /// `n`th upload, made at `at_ms`.
    pub fn medium(&self, n: u32, media: &crate::rules::Media) -> Value {
        let sid = self.account.media(n);
        let url = format!("{}/Media/{sid}", self.prefix());
        json!({
            "sid": sid,
            "account_sid": self.account.sid,
            "service_sid": self.account.service_sid,
            "size": media.bytes,
            "content_type": media.content_type,
            "filename": media.name,
            "author": null,
            "category": "media",
            "message_sid": null,
            "channel_sid": null,
            "links": {"content": format!("{url}/Content")},
            "url": url,
        })
    }

    /// A user (the identity's creation time is not kept: `date_created` is null).
    pub fn user(&self, id: UserId, identity: &str, friendly_name: Option<&str>) -> Value {
        let sid = self.account.user(id);
        let url = format!("{}/Users/{sid}", self.prefix());
        let mut out = self.common(true);
        out.extend(
            json!({
                "sid": sid,
                "role_sid": null,
                "identity": identity,
                "friendly_name": friendly_name,
                "attributes": "{}",
                "is_online": null,
                "is_notifiable": null,
                "date_created": null,
                "date_updated": null,
                "links": {"user_conversations": format!("{url}/Conversations")},
                "url": url,
            })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        );
        Value::Object(out)
    }

    /// A page of `key` items with Twilio's `meta`: `path` is the listing's
    /// path after the prefix, `extra` the listing's own query (`Order=desc`),
    /// `more` whether a next page exists.
    pub fn page(&self, key: &str, items: Vec<Value>, at: PageAt<'_>) -> Value {
        let listing = format!("{}{}", self.prefix(), at.path);
        let link = |page: u32| {
            let offset = u64::from(page) * u64::from(at.size);
            format!(
                "{listing}?{}PageSize={}&Page={page}&PageToken={}",
                at.extra,
                at.size,
                super::request::page_token(offset)
            )
        };
        let first = format!("{listing}?{}PageSize={}&Page=0", at.extra, at.size);
        json!({
            key: items,
            "meta": {
                "page": at.page,
                "page_size": at.size,
                "first_page_url": first,
                "previous_page_url": (at.page > 0).then(|| link(at.page - 1)),
                "url": if at.page == 0 { first.clone() } else { link(at.page) },
                "next_page_url": at.more.then(|| link(at.page.saturating_add(1))),
                "key": key,
            }
        })
    }
}

/// Where a page is: the listing's path, its own query, the page number and
/// size, and whether more follow.
#[derive(Clone, Copy, Debug)]
pub struct PageAt<'a> {
    /// The listing's path after the prefix (`/Conversations`).
    pub path: &'a str,
    /// The listing's own query parameters, each followed by `&`.
    pub extra: &'a str,
    /// The page number, from 0.
    pub page: u32,
    /// The page size.
    pub size: u32,
    /// Whether a next page exists.
    pub more: bool,
}

/// An address with WhatsApp's `whatsapp:` prefix.
fn whatsapp(address: &str) -> String {
    if address.is_empty() || address.starts_with("whatsapp:") {
        address.to_string()
    } else {
        format!("whatsapp:{address}")
    }
}
