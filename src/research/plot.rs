//! `switchboard plot`.
