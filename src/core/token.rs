//! Access tokens (ACS identity, "Identity model"): issued to an identity
//! with scopes and a lifetime, refused (401) once expired or revoked, and
//! checked against the scope matrix, which decides which chat calls a token
//! allows (403 otherwise). Lifetimes, scope names and the matrix are the
//! profile's `tokens` (`crate::profile::TokenRules`).
//!
//! A call without a token acts with a valid credential, as before tokens
//! existed; only a call that presents a token is checked. Tokens are
//! deterministic: the core keeps each token's facts (identity, serial, scopes,
//! issue and expiry instants) and a call presents the token by its handle
//! ([`TokenId`]); the token's text, a JWT, is rendered outside the core from
//! those facts (`crate::wire::acs::token_text`). No randomness, no clock.

use std::sync::Arc;

use super::{Caller, Outcome, State};
use super::{ChatCall, Event, Reply, TokenId, TokenView};
use super::{Error, TokenProblem};
use crate::id::UserId;
use crate::profile::{Operation, Scopes};
use crate::time::{Duration, Instant};

/// What the platform remembers of an issued token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    /// The scopes it grants.
    pub scopes: Scopes,
    /// When it was issued.
    pub issued_at: Instant,
    /// When it expires.
    pub expires_at: Instant,
    /// Refused from this instant on (the revocation plus its delay).
    pub revoked_at: Option<Instant>,
}

impl TokenRecord {
    /// Why the token is refused at `now`, if it is. A token is valid up to
    /// the millisecond before `expires_at` (JWT: not accepted on or after `exp`).
    fn problem(&self, now: Instant) -> Option<TokenProblem> {
        if self.revoked_at.is_some_and(|r| r <= now) {
            Some(TokenProblem::Revoked)
        } else if now >= self.expires_at {
            Some(TokenProblem::Expired)
        } else {
            None
        }
    }
}

impl State {
    /// The identity a call acts as: with a token, the token's identity if the
    /// token is valid now; without, the caller's identity if it exists.
    pub(super) fn authenticate(&self, caller: Caller, now: Instant) -> Result<UserId, Error> {
        let Some(id) = caller.token else {
            return match caller.user.and_then(|a| self.users.get(&a).map(|u| (a, u))) {
                Some((a, user)) if !user.deleted => Ok(a),
                _ => Err(Error::Unauthenticated),
            };
        };
        let refused = |problem| Err(Error::TokenRejected { problem });
        let Some(record) = self.tokens.get(&id) else {
            return refused(TokenProblem::Unknown);
        };
        if caller.user.is_some_and(|u| u != id.user) {
            return refused(TokenProblem::Unknown);
        }
        if self.users.get(&id.user).is_none_or(|u| u.deleted) {
            return refused(TokenProblem::Revoked);
        }
        match record.problem(now) {
            Some(problem) => refused(problem),
            None => Ok(id.user),
        }
    }

    /// Who `caller` acts as at `now`, or the 401 it gets (for front ends that
    /// must answer 401 before they can even build the call).
    pub fn caller_identity(&self, caller: Caller, now: Instant) -> Result<UserId, Error> {
        self.authenticate(caller, now)
    }

    /// The 403 a call with a token gets when none of its scopes allows it:
    /// the profile's scope matrix, by the operation the call counts as.
    pub(super) fn check_scope(&self, caller: Caller, call: &ChatCall) -> Result<(), Error> {
        let Some(record) = caller.token.and_then(|id| self.tokens.get(&id)) else {
            return Ok(());
        };
        let Some(rules) = &self.profile.tokens else {
            return Ok(());
        };
        let allowing = rules.allowing(call.operation());
        if !record.scopes.intersects(allowing) {
            return Err(Error::MissingScope {
                op: call.op(),
                needs: rules.describe(allowing),
            });
        }
        Ok(())
    }

    /// The identity `id`, if it exists and is not deleted.
    pub(super) fn live_user(&self, id: &str) -> Result<UserId, Error> {
        self.user_ids
            .get(id)
            .copied()
            .filter(|u| self.users.get(u).is_some_and(|u| !u.deleted))
            .ok_or_else(|| Error::UserNotFound {
                user: id.to_string(),
            })
    }

    /// Issues a token to `user` (a trusted-service call).
    pub(super) fn issue_token(
        &mut self,
        caller: Caller,
        user: &Arc<str>,
        scopes: &[Arc<str>],
        expires_in_ms: Option<u64>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let profile = Arc::clone(&self.profile);
        let Some(rules) = &profile.tokens else {
            return Err(self.unsupported("issue_token"));
        };
        let mut set = Scopes::NONE;
        for scope in scopes {
            match rules.scope(scope) {
                Some(one) => set = set.union(one),
                None => {
                    return Err(Error::InvalidField {
                        field: "scopes",
                        reason: format!("unknown scope {scope:?}"),
                    });
                }
            }
        }
        if set.is_empty() {
            return Err(Error::InvalidField {
                field: "scopes",
                reason: "at least one scope is required".to_string(),
            });
        }
        let (min, max) = (rules.minutes_min, rules.minutes_max);
        let minutes = match expires_in_ms {
            None => u64::from(rules.minutes_default),
            Some(ms)
                if ms % 60_000 == 0
                    && (u64::from(min)..=u64::from(max)).contains(&(ms / 60_000)) =>
            {
                ms / 60_000
            }
            Some(ms) => {
                return Err(Error::InvalidField {
                    field: "expires_in",
                    reason: format!(
                        "{ms} ms; a token lives a whole number of minutes from {min} to {max}"
                    ),
                });
            }
        };
        let id = self.live_user(user)?;
        let expires_at =
            now.checked_add(Duration::from_mins(minutes))
                .ok_or(Error::DeadlineOutOfTime {
                    deadline: "token's expiry",
                })?;
        let subject = caller.subject();
        let verdict = self.admit(Operation::IssueToken, subject, None, now)?;
        self.count_limits(&verdict, subject, None, now);
        self.prune_tokens(id, now);
        let token = TokenId {
            user: id,
            serial: self.next_token,
        };
        self.next_token += 1;
        let record = TokenRecord {
            scopes: set,
            issued_at: now,
            expires_at,
            revoked_at: None,
        };
        self.tokens.insert(token, record);
        let view = TokenView {
            id: token,
            expires_on_ms: record.expires_at.ms(),
            user: user.clone(),
            scopes: rules.names(set),
            scope_set: set,
            issued_at_ms: record.issued_at.ms(),
        };
        let issued = Event::TokenIssued {
            user: user.clone(),
            scopes: view.scopes.join(","),
            expires_at_ms: record.expires_at.ms(),
        };
        Ok(Outcome::new(Reply::Token(Box::new(view)), vec![issued]))
    }

    /// Forgets `user`'s tokens that can never be accepted again, so that the
    /// store holds only live tokens (a forgotten token is refused as unknown,
    /// which is a 401 like expired and revoked).
    fn prune_tokens(&mut self, user: UserId, now: Instant) {
        let dead: Vec<TokenId> = self
            .tokens_of(user)
            .filter(|(_, r)| r.problem(now).is_some())
            .map(|(id, _)| id)
            .collect();
        for id in dead {
            self.tokens.remove(&id);
        }
    }

    fn tokens_of(&self, user: UserId) -> impl Iterator<Item = (TokenId, &TokenRecord)> {
        let from = TokenId { user, serial: 0 };
        let to = TokenId {
            user,
            serial: u32::MAX,
        };
        self.tokens.range(from..=to).map(|(id, r)| (*id, r))
    }

    /// Revokes every token `user` holds now, effective after the profile's
    /// delay; returns how many.
    pub(super) fn revoke_all(&mut self, user: UserId, now: Instant, delay_ms: u64) -> u32 {
        let at = now.after(Duration::from_ms(delay_ms));
        let live: Vec<TokenId> = self
            .tokens_of(user)
            .filter(|(_, r)| r.revoked_at.is_none_or(|r| r > at))
            .map(|(id, _)| id)
            .collect();
        for id in &live {
            if let Some(r) = self.tokens.get_mut(id) {
                r.revoked_at = Some(at);
            }
        }
        live.len() as u32
    }

    /// `revoke_tokens` (a trusted-service call).
    pub(super) fn revoke_tokens(
        &mut self,
        caller: Caller,
        user: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let Some(delay) = self.profile.tokens.as_ref().map(|t| t.revocation_delay_ms) else {
            return Err(self.unsupported("revoke_tokens"));
        };
        let id = self.live_user(user)?;
        let subject = caller.subject();
        let verdict = self.admit(Operation::RevokeTokens, subject, None, now)?;
        self.count_limits(&verdict, subject, None, now);
        let tokens = self.revoke_all(id, now, delay);
        Ok(Outcome::new(
            Reply::None,
            vec![Event::TokensRevoked {
                user: user.clone(),
                tokens,
            }],
        ))
    }

    /// Token invariants: every token belongs to a known identity, lives 1 to
    /// `tokens.minutes_max` minutes, and has a serial below the counter.
    pub(super) fn check_tokens(&self) -> Result<(), String> {
        let max_ms = self
            .profile
            .tokens
            .as_ref()
            .map_or(0, |t| u64::from(t.minutes_max) * 60_000);
        for (id, r) in self.tokens.iter() {
            if !self.users.contains_key(&id.user) || id.serial >= self.next_token {
                return Err(format!("token {} belongs to no identity", id.serial));
            }
            let life = r.expires_at.since(r.issued_at).ms();
            if life == 0 || life > max_ms || r.scopes.is_empty() {
                return Err(format!("token {} has a bad lifetime or scopes", id.serial));
            }
            if self.users[&id.user].deleted && r.revoked_at.is_none() {
                return Err(format!("token {} outlives its identity", id.serial));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_until_the_millisecond_before_it_expires() {
        let r = TokenRecord {
            scopes: Scopes::of(0),
            issued_at: Instant(0),
            expires_at: Instant(3_600_000),
            revoked_at: None,
        };
        assert_eq!(r.problem(Instant(3_599_999)), None);
        assert_eq!(r.problem(Instant(3_600_000)), Some(TokenProblem::Expired));
        let revoked = TokenRecord {
            revoked_at: Some(Instant(10)),
            ..r
        };
        assert_eq!(revoked.problem(Instant(9)), None);
        assert_eq!(revoked.problem(Instant(10)), Some(TokenProblem::Revoked));
    }
}
