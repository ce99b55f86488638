//! The core's replies and errors in ACS's JSON shapes (the ACS Chat API
//! specification 2024-03-07 and its examples; the Identity API 2023-10-01;
//! the SMS API 2021-03-07): threads (`ChatThreadProperties`,
//! `ChatThreadItem`), participants, messages (`ChatMessage`, with system
//! messages' content), read receipts, pages with `nextLink`, identities and
//! tokens, SMS results, and `CommunicationErrorResponse`.
//!
//! Ids become ACS's (threads `19:…@thread.v2`, messages in decimal); users
//! already are (the core's public id of an identity is its raw id). Times are
//! RFC 3339 from the epoch.

use serde_json::{Map, Value, json};

use super::ids::{self, Resource};
use crate::core::{
    Error, InvalidParticipant, MessageKind, MessageView, Page, ParticipantView, ReadReceiptView,
    Retention, SmsResult, ThreadView,
};
use crate::id::{MessageId, ThreadId};
use crate::time::Instant;
use crate::wire::calendar::Epoch;

/// What rendering needs: the resource, the epoch, and for pages the link
/// back to the listing.
#[derive(Clone, Copy, Debug)]
pub struct Render<'a> {
    /// The resource's ids and host.
    pub resource: &'a Resource,
    /// The calendar instant virtual time 0 stands for.
    pub epoch: Epoch,
}

impl Render<'_> {
    fn time(&self, ms: u64) -> Value {
        Value::String(self.epoch.rfc3339(Instant(ms)))
    }

    /// `CommunicationIdentifierModel` of a raw id (an ACS user).
    pub fn identifier(&self, raw: &str) -> Value {
        json!({"rawId": raw, "kind": "communicationUser", "communicationUser": {"id": raw}})
    }

    /// `ChatThreadProperties`.
    pub fn thread(&self, view: &ThreadView) -> Value {
        let mut out = json!({
            "id": self.resource.thread(view.id),
            "topic": view.topic,
            "createdOn": self.time(view.created_at_ms),
            "createdByCommunicationIdentifier": self.identifier(&view.created_by),
        });
        if let Some(deleted) = view.deleted_at_ms {
            out["deletedOn"] = self.time(deleted);
        }
        if let Retention::DeleteAfterDays(days) = view.retention {
            out["retentionPolicy"] =
                json!({"kind": "threadCreationDate", "deleteThreadAfterDays": days});
        }
        out
    }

    /// `ChatThreadItem`, as thread listings show threads.
    pub fn thread_item(&self, view: &ThreadView) -> Value {
        let mut out = json!({"id": self.resource.thread(view.id), "topic": view.topic});
        if let Some(deleted) = view.deleted_at_ms {
            out["deletedOn"] = self.time(deleted);
        }
        out
    }

    /// `CreateChatThreadResult`.
    pub fn thread_created(&self, view: &ThreadView, invalid: &[InvalidParticipant]) -> Value {
        let mut out = json!({ "chatThread": self.thread(view) });
        if !invalid.is_empty() {
            out["invalidParticipants"] = invalid_participants(invalid);
        }
        out
    }

    /// `AddChatParticipantsResult`.
    pub fn participants_added(&self, invalid: &[InvalidParticipant]) -> Value {
        if invalid.is_empty() {
            json!({})
        } else {
            json!({ "invalidParticipants": invalid_participants(invalid) })
        }
    }

    /// `ChatParticipant`.
    pub fn participant(&self, view: &ParticipantView) -> Value {
        let mut out = json!({
            "communicationIdentifier": self.identifier(&view.user),
            "shareHistoryTime": self.time(view.share_history_from_ms),
        });
        if let Some(name) = &view.display_name {
            out["displayName"] = Value::String(name.to_string());
        }
        out
    }

    /// `ChatMessage`; system messages carry their initiator and topic or
    /// participants in `content`.
    pub fn message(&self, view: &MessageView) -> Value {
        let sequence = view.sequence_id;
        let version = self
            .epoch
            .unix_ms(Instant(view.edited_at_ms.unwrap_or(view.created_at_ms)));
        let mut out = json!({
            "id": ids::message(sequence),
            "type": message_type(view.kind),
            "sequenceId": sequence.to_string(),
            "version": version.to_string(),
            "createdOn": self.time(view.created_at_ms),
        });
        let has_sender = !view.sender.is_empty() && &*view.sender != "system";
        let mut content = Map::new();
        if view.kind.is_user_content() {
            if has_sender {
                out["senderCommunicationIdentifier"] = self.identifier(&view.sender);
            }
            if let Some(text) = &view.content {
                content.insert("message".into(), Value::String(text.to_string()));
            }
        } else {
            if has_sender {
                content.insert(
                    "initiatorCommunicationIdentifier".into(),
                    self.identifier(&view.sender),
                );
            }
            if let Some(topic) = &view.topic {
                content.insert("topic".into(), Value::String(topic.to_string()));
            }
            if let Some(users) = &view.participants {
                let list = users
                    .iter()
                    .map(|u| json!({"communicationIdentifier": self.identifier(u)}))
                    .collect();
                content.insert("participants".into(), Value::Array(list));
            }
        }
        if view.deleted_at_ms.is_none() || !content.is_empty() {
            out["content"] = Value::Object(content);
        }
        if let Some(edited) = view.edited_at_ms {
            out["editedOn"] = self.time(edited);
        }
        if let Some(deleted) = view.deleted_at_ms {
            out["deletedOn"] = self.time(deleted);
        }
        if !view.metadata.is_empty() {
            out["metadata"] = json!(view.metadata);
        }
        out
    }

    /// `ChatMessageReadReceipt`.
    pub fn read_receipt(&self, view: &ReadReceiptView) -> Value {
        json!({
            "senderCommunicationIdentifier": self.identifier(&view.sender),
            "chatMessageId": ids::message_from_core(&view.message).unwrap_or_else(|| view.message.clone()),
            "readOn": self.time(view.read_at_ms),
        })
    }

    /// A page: `{"value": [...], "nextLink"?}`, the link made by `next`
    /// from the core's continuation token.
    pub fn page<T>(
        &self,
        page: &Page<T>,
        item: impl Fn(&T) -> Value,
        next: impl FnOnce(&str) -> String,
    ) -> Value {
        let mut out = json!({ "value": page.items.iter().map(item).collect::<Vec<_>>() });
        if let Some(token) = &page.continuation {
            out["nextLink"] = Value::String(next(token));
        }
        out
    }

    /// `CommunicationErrorResponse` for an error of the simulator. The
    /// core's names of the call's thread and message (`t<n>`, `m<seq>`)
    /// become their wire ids in the message and target.
    pub fn error(
        &self,
        error: &Error,
        thread: Option<ThreadId>,
        message: Option<MessageId>,
    ) -> Value {
        let mut body = crate::wire::acs::render_error(error);
        let Some(inner) = body.get_mut("error").and_then(Value::as_object_mut) else {
            return body;
        };
        // The wait is in the retry headers (`retry-after-ms`, `Retry-After`).
        inner.remove("retry_after_ms");
        let mut renames: Vec<(String, String)> = Vec::new();
        if let Some(t) = thread {
            renames.push((t.to_string(), self.resource.thread(t)));
        }
        if let Some(m) = message {
            renames.push((format!("m{}", m.sequence), ids::message(m.sequence)));
        }
        for key in ["message", "target"] {
            if let Some(Value::String(text)) = inner.get_mut(key) {
                for (from, to) in &renames {
                    *text = rename_word(text, from, to);
                }
            }
        }
        body
    }

    /// The SMS API's `SmsSendResponse`.
    pub fn sms_sent(&self, results: &[SmsResult]) -> Value {
        let value: Vec<Value> = results
            .iter()
            .map(|r| {
                let mut out = json!({
                    "to": r.to,
                    "httpStatusCode": r.http_status,
                    "successful": r.successful,
                });
                if let Some(id) = &r.message_id {
                    out["messageId"] = Value::String(id.clone());
                }
                if let Some(message) = &r.error_message {
                    out["errorMessage"] = Value::String(message.clone());
                }
                out
            })
            .collect();
        json!({ "value": value })
    }

    /// An issued token: `{"token", "expiresOn"}`.
    pub fn token(&self, text: &str, expires_on_ms: u64) -> Value {
        json!({"token": text, "expiresOn": self.time(expires_on_ms)})
    }
}

/// ACS's name of a message type.
pub fn message_type(kind: MessageKind) -> &'static str {
    match kind {
        MessageKind::Text => "text",
        MessageKind::Html => "html",
        MessageKind::ParticipantAdded => "participantAdded",
        MessageKind::ParticipantRemoved => "participantRemoved",
        MessageKind::TopicUpdated => "topicUpdated",
    }
}

/// `invalidParticipants`: `CommunicationError`s naming each participant.
fn invalid_participants(invalid: &[InvalidParticipant]) -> Value {
    invalid
        .iter()
        .map(|p| json!({"code": p.code, "message": p.message, "target": p.target}))
        .collect()
}

/// `text` with every whole-word occurrence of `from` (not inside a longer
/// run of letters, digits, `_` or `:`) replaced by `to`.
fn rename_word(text: &str, from: &str, to: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(from) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + from.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(word) || after.is_some_and(word) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[at + from.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_names_become_wire_ids_in_error_bodies() {
        let resource = Resource::from_seed(1);
        let r = Render {
            resource: &resource,
            epoch: Epoch::default(),
        };
        let t = ThreadId(5);
        let e = Error::ThreadNotFound {
            thread: "t5".into(),
        };
        let body = r.error(&e, Some(t), None);
        let wire = resource.thread(t);
        assert_eq!(body["error"]["target"], wire.as_str());
        assert_eq!(body["error"]["code"], "NotFound");
        assert_eq!(
            body["error"]["message"],
            format!("thread {wire} not found").as_str()
        );
        assert_eq!(rename_word("t5 t55 at5 t5.", "t5", "X"), "X t55 at5 X.");
    }
}
