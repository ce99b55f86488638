//! Typing indicators and read receipts: notices in the thread's log, refused
//! on threads larger than the profile allows them on.

use super::NoticeKind;
use super::limit::Count;
use super::page::continuation_token;
use super::thread::Thread;
use super::{Error, Outcome, State};
use super::{Event, Page, PageRequest, ReadReceiptView, Reply};
use crate::id::{MessageId, ThreadId, UserId, message_id};
use crate::time::Instant;

impl State {
    /// Typing and receipts on a thread over the profile's size are a 400.
    pub(super) fn check_receipts_allowed(&self, t: &Thread) -> Result<(), Error> {
        let Some(max) = self.profile.receipts_participants_max else {
            return Ok(());
        };
        if t.participant_count() > max {
            return Err(Error::ThreadTooLargeForReceipts {
                participants: t.participant_count(),
                max,
            });
        }
        Ok(())
    }

    pub(super) fn apply_send_typing(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        now: Instant,
    ) -> Outcome {
        let t = self.changing(thread, count);
        let recipients = t.participant_count() - 1;
        t.push_notice(now, NoticeKind::TypingIndicatorReceived, actor, 0);
        Outcome::new(
            Reply::None,
            vec![Event::TypingSent {
                thread,
                by: self.name(actor),
                recipients,
            }],
        )
    }

    pub(super) fn apply_read_receipt(
        &mut self,
        count: &Count,
        actor: UserId,
        message: MessageId,
        now: Instant,
    ) -> Outcome {
        let (thread, seq) = (message.thread, message.sequence);
        let t = self.changing(thread, count);
        let recipients = t.participant_count() - 1;
        t.read_receipts.insert(actor, (seq, now));
        t.push_notice(now, NoticeKind::ReadReceiptReceived, actor, seq);
        Outcome::new(
            Reply::None,
            vec![Event::ReadReceiptSent {
                thread,
                by: self.name(actor),
                message: seq,
                recipients,
            }],
        )
    }

    pub(super) fn list_read_receipts(&self, t: &Thread, page: &PageRequest) -> Outcome {
        let page = self.page_at(page);
        let skip = page.continuation.unwrap_or(0) as usize;
        let items: Vec<ReadReceiptView> = t
            .read_receipts
            .iter()
            .skip(skip)
            .take(page.size)
            .map(|(user, (seq, at))| ReadReceiptView {
                sender: self.name(*user),
                message: message_id(*seq),
                read_at_ms: at.ms(),
            })
            .collect();
        let next = skip + items.len();
        Outcome::new(
            Reply::ReadReceipts(Page {
                items,
                continuation: (next < t.read_receipts.len())
                    .then(|| continuation_token(next as u32)),
            }),
            vec![],
        )
    }
}
