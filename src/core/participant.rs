//! Chat participants: adding, removing and listing them. A participant's
//! reads and inbox come from its membership intervals, never from a copy.

use std::sync::Arc;

use super::limit::Count;
use super::page::continuation_token;
use super::pipeline::Found;
use super::thread::Thread;
use super::threads::system_message;
use super::{Error, Outcome, State};
use super::{
    Event, InvalidParticipant, Page, PageRequest, ParticipantSpec, ParticipantView, Reply,
};
use super::{MessageKind, NoticeKind};
use crate::id::{ThreadId, UserId};
use crate::time::Instant;

/// Named participants who join (each with its spec) and those reported invalid.
pub(super) type Resolved<'s> = (Vec<(UserId, &'s ParticipantSpec)>, Vec<InvalidParticipant>);

impl State {
    /// Splits named participants into those who can join (existing, not deleted,
    /// not `skip`, first mention only) and invalid participants, reported the
    /// profile's way (ACS's `invalidParticipants`); on a profile that reports
    /// none, the first invalid participant refuses the call (404).
    pub(super) fn resolve_participants<'s>(
        &self,
        specs: &'s [ParticipantSpec],
        skip: impl Fn(UserId) -> bool,
    ) -> Result<Resolved<'s>, Error> {
        let mut joining: Vec<(UserId, &ParticipantSpec)> = Vec::new();
        let mut invalid = Vec::new();
        for spec in specs {
            match self.user_ids.get(&spec.user) {
                Some(&u) if !self.users[&u].deleted => {
                    if !skip(u) && !joining.iter().any(|(j, _)| *j == u) {
                        joining.push((u, spec));
                    }
                }
                _ => match &self.profile.invalid_participants {
                    Some(report) => invalid.push(InvalidParticipant {
                        target: spec.user.clone(),
                        code: report.code.clone(),
                        message: report.message.clone(),
                    }),
                    None => {
                        return Err(Error::UserNotFound {
                            user: spec.user.to_string(),
                        });
                    }
                },
            }
        }
        Ok((joining, invalid))
    }

    /// The current participant `user` of `t` (404 otherwise).
    pub(super) fn participant(&self, t: &Thread, user: &Arc<str>) -> Result<UserId, Error> {
        self.user_ids
            .get(user)
            .copied()
            .filter(|u| t.is_participant(*u))
            .ok_or_else(|| Error::ParticipantNotFound {
                thread: t.id,
                user: user.to_string(),
            })
    }

    pub(super) fn apply_add_participants(
        &mut self,
        actor: UserId,
        thread: ThreadId,
        found: Found<'_>,
        now: Instant,
    ) -> Outcome {
        let mut events = vec![];
        if !found.joining.is_empty() {
            let users: Vec<UserId> = found.joining.iter().map(|(u, _)| *u).collect();
            let t = self.thread_mut(thread);
            let seq = t.push_message(system_message(
                MessageKind::ParticipantAdded,
                actor,
                now,
                Arc::from(""),
                users.clone(),
            ));
            let notice = t.push_notice(now, NoticeKind::ParticipantsAdded, actor, seq);
            t.join_all(found.joiners(), notice);
            for user in &users {
                self.user_mut(*user).threads.insert(thread);
            }
            events.push(Event::ParticipantsAdded {
                thread,
                by: self.name(actor),
                users: users.iter().map(|u| self.name(*u)).collect(),
                message: seq,
            });
        }
        Outcome::new(
            Reply::ParticipantsAdded {
                invalid_participants: found.invalid,
            },
            events,
        )
    }

    pub(super) fn apply_remove_participant(
        &mut self,
        count: &Count,
        actor: UserId,
        thread: ThreadId,
        target: UserId,
        user: &Arc<str>,
        now: Instant,
    ) -> Outcome {
        let t = self.changing(thread, count);
        let seq = t.push_message(system_message(
            MessageKind::ParticipantRemoved,
            actor,
            now,
            Arc::from(""),
            vec![target],
        ));
        let notice = t.push_notice(now, NoticeKind::ParticipantsRemoved, actor, seq);
        t.leave(target, notice, seq);
        Outcome::new(
            Reply::None,
            vec![Event::ParticipantRemoved {
                thread,
                by: self.name(actor),
                user: user.clone(),
                message: seq,
            }],
        )
    }

    pub(super) fn list_participants(&self, t: &Thread, page: &PageRequest) -> Outcome {
        let page = self.page_at(page);
        let skip = page.continuation.unwrap_or(0) as usize;
        let all = t.current_memberships();
        let items: Vec<ParticipantView> = all
            .iter()
            .skip(skip)
            .take(page.size)
            .map(|m| ParticipantView {
                user: self.name(m.user),
                display_name: m.display_name.clone(),
                share_history_from_ms: m.history_from.ms(),
            })
            .collect();
        let next = skip + items.len();
        Outcome::new(
            Reply::Participants(Page {
                items,
                continuation: (next < all.len()).then(|| continuation_token(next as u32)),
            }),
            vec![],
        )
    }
}
