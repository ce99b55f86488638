//! Access-token rules as profile data (ACS's Identity API specification and
//! "Identity model"):
//! the lifetimes a token may have, how long a revocation takes, the scopes a
//! token may carry and the scope matrix, which scopes allow each operation a
//! chat call counts as. A profile without them (`tokens: null`) issues no
//! tokens.
//!
//! A set of scopes is a [`Scopes`]: bit `i` stands for the profile's `i`-th
//! scope name, so the order of `scopes` is the order of the bits (ACS's token
//! carries them as its `scp` claim). Scope names are looked up here, never in
//! the core.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Operation;

/// A set of a profile's scopes: bit `i` is `TokenRules::scopes[i]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scopes(u32);

impl Scopes {
    /// No scope.
    pub const NONE: Scopes = Scopes(0);

    /// The set of the `index`-th scope alone (`index` below
    /// [`TokenRules::SCOPES_MAX`]).
    pub fn of(index: usize) -> Scopes {
        Scopes(1 << index)
    }

    /// The bits (ACS's `scp` claim).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether the set holds no scope.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the two sets share a scope.
    pub fn intersects(self, other: Scopes) -> bool {
        self.0 & other.0 != 0
    }

    /// Both sets together.
    pub fn union(self, other: Scopes) -> Scopes {
        Scopes(self.0 | other.0)
    }

    fn contains(self, index: usize) -> bool {
        index < TokenRules::SCOPES_MAX && self.0 & (1 << index) != 0
    }
}

/// A profile's access tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRules {
    /// A token's lifetime in whole minutes: allowed range and default.
    pub minutes_min: u32,
    /// The longest lifetime, in whole minutes.
    pub minutes_max: u32,
    /// The lifetime when the call names none, in whole minutes.
    pub minutes_default: u32,
    /// Time from a revocation call until the revoked tokens are refused.
    pub revocation_delay_ms: u64,
    /// The scope names a token may carry, in the order of their bits.
    pub scopes: Vec<String>,
    /// The scopes any one of which allows a chat call, by the operation the
    /// call counts as; an operation not listed is allowed by no scope.
    pub scope_matrix: BTreeMap<Operation, Vec<String>>,
}

impl TokenRules {
    /// The most scope names a profile may declare (the bits of [`Scopes`]).
    pub const SCOPES_MAX: usize = 32;

    /// The scope named `name`, if the profile has it.
    pub fn scope(&self, name: &str) -> Option<Scopes> {
        self.scopes
            .iter()
            .position(|s| s == name)
            .filter(|&i| i < Self::SCOPES_MAX)
            .map(Scopes::of)
    }

    /// The scopes any one of which allows a call counted as `op`.
    pub fn allowing(&self, op: Operation) -> Scopes {
        self.scope_matrix.get(&op).map_or(Scopes::NONE, |names| {
            names
                .iter()
                .filter_map(|n| self.scope(n))
                .fold(Scopes::NONE, Scopes::union)
        })
    }

    /// The names of the scopes in `set`, in the profile's order.
    pub fn names(&self, set: Scopes) -> Vec<String> {
        self.scopes
            .iter()
            .enumerate()
            .filter(|(i, _)| set.contains(*i))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// `set` in words: "chat", "chat or chat.join", "chat, chat.join or
    /// chat.join.limited"; "no scope" for the empty set.
    pub fn describe(&self, set: Scopes) -> String {
        let names = self.names(set);
        match names.split_last() {
            None => "no scope".to_string(),
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        }
    }

    /// Checks the rules' own consistency; `op_name` spells an operation.
    pub(super) fn validate(&self, op_name: impl Fn(Operation) -> String) -> Result<(), String> {
        let (min, max, default) = (self.minutes_min, self.minutes_max, self.minutes_default);
        if min == 0 || min > max || !(min..=max).contains(&default) {
            return Err("tokens.minutes_default must lie in tokens.minutes_min..=\
                 tokens.minutes_max (min at least 1; null: no tokens)"
                .to_string());
        }
        let distinct = self
            .scopes
            .iter()
            .enumerate()
            .all(|(i, s)| !s.is_empty() && !self.scopes[..i].contains(s));
        if self.scopes.is_empty() || self.scopes.len() > Self::SCOPES_MAX || !distinct {
            return Err(format!(
                "tokens.scopes: 1 to {} distinct names, none empty",
                Self::SCOPES_MAX
            ));
        }
        for (op, names) in &self.scope_matrix {
            if let Some(name) = names.iter().find(|n| self.scope(n).is_none()) {
                return Err(format!(
                    "tokens.scope_matrix.{}: {name:?} is not in tokens.scopes",
                    op_name(*op)
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TokenRules {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        TokenRules {
            minutes_min: 1,
            minutes_max: 2,
            minutes_default: 1,
            revocation_delay_ms: 0,
            scopes: names(&["a", "b", "c"]),
            scope_matrix: BTreeMap::from([
                (Operation::CreateThread, names(&["a"])),
                (Operation::SendMessage, names(&["c", "a"])),
            ]),
        }
    }

    #[test]
    fn a_set_is_its_names_bits_in_the_profiles_order() {
        let r = rules();
        assert_eq!(r.scope("b"), Some(Scopes::of(1)));
        assert_eq!(r.scope("d"), None);
        let allowing = r.allowing(Operation::SendMessage);
        assert_eq!(allowing.bits(), 0b101);
        assert_eq!(r.names(allowing), ["a", "c"]);
        assert_eq!(r.describe(allowing), "a or c");
        assert_eq!(r.describe(allowing.union(Scopes::of(1))), "a, b or c");
        assert_eq!(r.describe(r.allowing(Operation::CreateThread)), "a");
        // Not in the matrix: allowed by no scope.
        assert!(r.allowing(Operation::DeleteThread).is_empty());
        assert_eq!(r.describe(Scopes::NONE), "no scope");
        assert!(allowing.intersects(Scopes::of(2)) && !allowing.intersects(Scopes::of(1)));
    }

    #[test]
    fn a_matrix_names_only_declared_scopes() {
        let name = |op: Operation| format!("{op:?}");
        assert_eq!(rules().validate(name), Ok(()));
        let mut r = rules();
        r.scope_matrix
            .insert(Operation::DeleteThread, vec!["z".to_string()]);
        assert!(r.validate(name).unwrap_err().contains("\"z\""));
        let mut r = rules();
        r.scopes.push("a".to_string());
        assert!(r.validate(name).is_err());
        let mut r = rules();
        r.minutes_default = 3;
        assert!(r.validate(name).unwrap_err().contains("null"));
    }
}
