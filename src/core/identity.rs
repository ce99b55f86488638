//! Identities: the trusted service creates and deletes them; a user's own
//! profile image (Sendbird). Deleting an identity revokes its tokens; its
//! messages stay in threads, attributed to it.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::limit::Subject;
use super::{Error, Outcome, State, User};
use super::{Event, Reply};
use crate::id::UserId;
use crate::profile::Operation;
use crate::time::Instant;

impl State {
    /// The public id of `user` ("system" for no one).
    pub(super) fn name(&self, user: UserId) -> Arc<str> {
        self.users
            .get(&user)
            .map(|u| u.id.clone())
            .unwrap_or_else(|| Arc::from("system"))
    }

    pub(super) fn user_mut(&mut self, user: UserId) -> &mut User {
        self.users.get_mut(&user).expect("known user")
    }

    pub(super) fn create_user(
        &mut self,
        subject: Subject,
        id: &Arc<str>,
        display_name: &Option<Arc<str>>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        self.check_new_identity(id)?;
        let verdict = self.admit(Operation::CreateIdentity, subject, None, now)?;
        self.count_limits(&verdict, subject, None, now);
        let (_, event) = self.insert_user(id, display_name);
        Ok(Outcome::new(Reply::User { id: id.clone() }, vec![event]))
    }

    /// Declares an identity as part of the world's set-up (a scenario file's
    /// `users`, created at time 0): checked like a creation, but not a call,
    /// so no rate limit counts it.
    pub fn declare_user(
        &mut self,
        id: &Arc<str>,
        display_name: &Option<Arc<str>>,
    ) -> Result<(UserId, Event), Error> {
        self.check_new_identity(id)?;
        Ok(self.insert_user(id, display_name))
    }

    fn check_new_identity(&self, id: &Arc<str>) -> Result<(), Error> {
        check_identity(id, self.profile.identity_chars_max)?;
        if self.user_ids.contains_key(id) {
            return Err(Error::UserExists {
                user: id.to_string(),
            });
        }
        Ok(())
    }

    fn insert_user(&mut self, id: &Arc<str>, display_name: &Option<Arc<str>>) -> (UserId, Event) {
        let user = UserId(self.next_user);
        self.next_user += 1;
        self.users.push(
            user,
            User {
                id: id.clone(),
                display_name: display_name.clone(),
                deleted: false,
                threads: BTreeSet::new(),
                profile_image_bytes: None,
            },
        );
        self.user_ids.insert(id.clone(), user);
        (user, Event::UserCreated { user: id.clone() })
    }

    /// Deleting an identity revokes its access and its tokens; its messages
    /// stay in threads (ACS keeps a deleted user's messages, attributed to the
    /// old identity).
    pub(super) fn delete_user(
        &mut self,
        subject: Subject,
        id: &Arc<str>,
        now: Instant,
    ) -> Result<Outcome, Error> {
        let user = self.live_user(id)?;
        let verdict = self.admit(Operation::DeleteIdentity, subject, None, now)?;
        self.count_limits(&verdict, subject, None, now);
        self.user_mut(user).deleted = true;
        let mut events = vec![Event::UserDeleted { user: id.clone() }];
        let tokens = self.revoke_all(user, now, 0);
        if tokens > 0 {
            events.push(Event::TokensRevoked {
                user: id.clone(),
                tokens,
            });
        }
        Ok(Outcome::new(Reply::None, events))
    }

    /// The caller's profile image (Sendbird), checked.
    pub(super) fn apply_profile_image(&mut self, actor: UserId, bytes: u32) -> Outcome {
        self.user_mut(actor).profile_image_bytes = Some(bytes);
        Outcome::new(
            Reply::None,
            vec![Event::ProfileImageUpdated {
                user: self.name(actor),
                bytes,
            }],
        )
    }
}

fn check_identity(id: &str, max: u32) -> Result<(), Error> {
    let chars = id.chars().count();
    if chars == 0 || chars > max as usize || id.chars().any(char::is_control) {
        return Err(Error::InvalidField {
            field: "id",
            reason: format!("an identity is 1 to {max} printable characters"),
        });
    }
    Ok(())
}
