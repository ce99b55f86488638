//! `switchboard diff`: the first line where two traces differ, with the
//! lines before it, then how many events of each kind each trace has from
//! there on.
