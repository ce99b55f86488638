//! Scenario files (the scenario format): `parse` reads a file into typed steps
//! (`step`), each op's fields by its row in `ops`, checking everything that
//! can be checked before anything runs; `run` executes the steps on a
//! simulator and checks their expectations.

mod json;
mod ops;
mod parse;
mod run;
mod step;

pub use parse::{ParseError, QUOTE_CHARS_MAX, StepReader, cut_word, parse, quote};
pub use run::{
    RunOptions, RunReport, Session, StepOutcome, contains, first_divergence, run, run_with,
};
pub use step::{
    Expect, InThread, Op, OutboxQuery, Participant, RetentionField, Scenario, Step, ThreadSettings,
    UserDecl,
};
