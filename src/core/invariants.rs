//! The state's invariants, checked after every call by the property tests:
//! each broken one is named in the error.

use super::State;
use super::limit::Windows;
use crate::profile::Profile;

impl State {
    /// Checks the state's invariants; the error names the first one broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        let p = &self.profile;
        for (id, user) in self.users.iter() {
            if self.user_ids.get(&user.id) != Some(&id) {
                return Err(format!("user {} is not indexed by its id", user.id));
            }
            for t in &user.threads {
                let Some(thread) = self.threads.get(t) else {
                    return Err(format!("user {} lists unknown thread {t}", user.id));
                };
                if !thread.was_ever_participant(id) {
                    return Err(format!("user {} lists thread {t} it never joined", user.id));
                }
            }
        }
        if self.user_ids.len() != self.users.len() {
            return Err("user index and users differ in size".to_string());
        }
        for (id, t) in self.threads.iter() {
            if t.id != id || id.0 >= self.next_thread {
                return Err(format!("thread {id} has a bad id"));
            }
            if t.participant_count() > p.participants_per_thread_max {
                return Err(format!("thread {id} is over the participant cap"));
            }
            for (user, index) in &t.current {
                let m = t.memberships.get(*index as usize);
                if m.is_none_or(|m| m.user != *user || m.until.is_some()) {
                    return Err(format!(
                        "thread {id}: current member has no open membership"
                    ));
                }
            }
            let open = t.memberships.iter().filter(|m| m.until.is_none()).count();
            if open != t.current.len() {
                return Err(format!("thread {id}: open memberships differ from current"));
            }
            for m in &t.memberships {
                if m.from_notice as usize >= t.notices.len()
                    || m.until.is_some_and(|u| {
                        u.notice < m.from_notice || u.notice as usize >= t.notices.len()
                    })
                {
                    return Err(format!("thread {id}: membership interval out of range"));
                }
                if !self
                    .users
                    .get(&m.user)
                    .is_some_and(|u| u.threads.contains(&id))
                {
                    return Err(format!("thread {id}: member does not list the thread"));
                }
            }
            if t.notices.pairs().any(|(a, b)| a.at > b.at)
                || t.messages.pairs().any(|(a, b)| a.created_at > b.created_at)
            {
                return Err(format!("thread {id}: log out of time order"));
            }
            if t.deleted_at.is_some() && !t.windows.is_empty() {
                return Err(format!("thread {id}: deleted but still holds rate windows"));
            }
            for m in t.messages.iter() {
                if m.content.len() > p.message_bytes_max as usize {
                    return Err(format!("thread {id}: message over the size limit"));
                }
            }
            windows_within_bounds(p, t.windows.values())
                .map_err(|e| format!("thread {id}: {e}"))?;
        }
        windows_within_bounds(p, self.windows.values())?;
        for (key, (t, _)) in self.idempotency.iter() {
            if self.threads.get(t).is_none_or(|t| t.life.purged) {
                return Err(format!("idempotency key {key} points at no thread"));
            }
        }
        self.check_lifecycle()?;
        self.check_tokens()?;
        self.check_channel_invariants()
    }
}

/// Every window holds (and has room for) at most its limit's count of
/// instants, oldest first.
fn windows_within_bounds<'w>(
    profile: &Profile,
    all: impl Iterator<Item = &'w Windows>,
) -> Result<(), String> {
    for windows in all {
        for (index, w) in windows.iter() {
            let limit = profile.rate_limits.get(index);
            if limit.is_none_or(|l| w.capacity() > l.count as usize) || !w.is_sorted() {
                return Err(format!("rate window of limit {index} over its bound"));
            }
        }
    }
    Ok(())
}
