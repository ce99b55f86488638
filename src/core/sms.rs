//! ACS `send_sms`: one message to 1..100 recipients, outside any thread,
//! with one result per recipient and throughput queued per sending number.

use std::sync::Arc;

use super::limit::{self, Subject, WindowKey, Windows};
use super::thread::Delivery;
use super::{DeliveryRef, Queued, SmsResult};
use super::{Error, Event, Outcome, Reply, State};
use crate::profile::Operation;
use crate::rules::{Route, Status, address, sms_info};
use crate::time::Instant;

/// One ACS `send_sms` call's message and its recipients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmsBatch {
    /// The sending number.
    pub from: Arc<str>,
    /// The text.
    pub body: Arc<str>,
    /// When it was sent.
    pub created_at: Instant,
    /// Whether the carrier's delivery reports were asked for.
    pub delivery_report: bool,
    /// Valid recipients only, each with its delivery.
    pub recipients: Vec<(Arc<str>, Delivery)>,
}

impl State {
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
        let Some(rules) = self.profile.sms_send else {
            return Err(self.unsupported("send_sms"));
        };
        let short_code = address::sender_kind(from) == address::SenderKind::ShortCode;
        if !short_code && let Err(reason) = address::e164(from) {
            return Err(Error::InvalidAddress {
                field: "from",
                address: from.chars().take(64).collect(),
                reason,
            });
        }
        let max = rules.recipients_max;
        if to.is_empty() || to.len() as u64 > u64::from(max) {
            return Err(Error::SmsRecipients {
                count: to.len().min(u32::MAX as usize) as u32,
                max,
            });
        }
        let chars = message.chars().count() as u64;
        let max = rules.body_chars_max;
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
                self.limits.applying(&self.profile, op),
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
}

/// ACS-style message id of an SMS delivery.
pub(super) fn sms_message_id(id: u64) -> String {
    format!("Outgoing_{id}")
}
