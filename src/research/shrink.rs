//! `switchboard shrink`.
