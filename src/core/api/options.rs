//! Options of a thread's lifecycle as calls give them and views show them:
//! ACS retention, Twilio conversation states and timers. Vocabulary only.

use serde::{Serialize, Serializer};
use std::sync::Arc;

use crate::time::{Duration, Instant};

/// A thread's ACS retention policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retention {
    /// Kept until deleted.
    #[default]
    None,
    /// Deleted this many days after its creation.
    DeleteAfterDays(u32),
}

impl Serialize for Retention {
    /// As scenario files write it: `"none"` or `{"delete_after": "30d"}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Retention::None => s.serialize_str("none"),
            Retention::DeleteAfterDays(days) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("delete_after", &format!("{days}d"))?;
                map.end()
            }
        }
    }
}

impl Retention {
    /// When a thread created at `created_at` is deleted under this policy;
    /// `None` (the outer one) when that instant is past the end of virtual time.
    pub fn checked_deletion_at(self, created_at: Instant) -> Option<Option<Instant>> {
        match self {
            Retention::None => Some(None),
            Retention::DeleteAfterDays(days) => created_at
                .checked_add(Duration::from_days(u64::from(days)))
                .map(Some),
        }
    }

    /// When a thread created at `created_at` is deleted under this policy.
    pub fn deletion_at(self, created_at: Instant) -> Option<Instant> {
        match self {
            Retention::None => None,
            Retention::DeleteAfterDays(days) => {
                Some(created_at.after(Duration::from_days(u64::from(days))))
            }
        }
    }
}

/// A Twilio conversation's state (Twilio "Conversation states and timers"). ACS and
/// Sendbird threads stay active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConversationState {
    /// Open: takes messages and changes.
    #[default]
    Active,
    /// Quiet past its inactive timer; a message wakes it.
    Inactive,
    /// Final: takes no change.
    Closed,
}

impl ConversationState {
    /// Whether a conversation in this state takes changes (closed is final).
    pub fn takes_changes(self) -> bool {
        self != ConversationState::Closed
    }

    /// The name the scenario format and Twilio use.
    pub fn name(self) -> &'static str {
        match self {
            ConversationState::Active => "active",
            ConversationState::Inactive => "inactive",
            ConversationState::Closed => "closed",
        }
    }

    /// The state `name` spells (`active`, `inactive`, `closed`), if any.
    pub fn parse(name: &str) -> Option<ConversationState> {
        match name {
            "active" => Some(ConversationState::Active),
            "inactive" => Some(ConversationState::Inactive),
            "closed" => Some(ConversationState::Closed),
            _ => None,
        }
    }
}

/// Twilio's `Timers.Inactive` and `Timers.Closed` as given (ISO-8601 durations).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateTimers {
    /// `Timers.Inactive`: an ISO-8601 duration such as `PT10M`.
    pub inactive: Option<Arc<str>>,
    /// `Timers.Closed`: an ISO-8601 duration such as `P1D`.
    pub closed: Option<Arc<str>>,
}

/// Lifecycle settings of a create or update call; `None` leaves a setting as
/// it is (on create: no retention, active, no timers).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadOptions {
    /// The retention policy to set.
    pub retention: Option<Retention>,
    /// The Twilio conversation state to set.
    pub state: Option<ConversationState>,
    /// Twilio's state timers to set.
    pub timers: Option<StateTimers>,
}

impl std::fmt::Display for ConversationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}
