//! Scenario files (the scenario format): `parse` reads a file into typed steps
//! (`step`), each op's fields by its row in `ops`, checking everything that
//! can be checked before anything runs; `run` executes the steps on a
//! simulator and checks their expectations.

pub mod faults;
mod json;
mod ops;
pub mod oracle;
mod parse;
mod run;
mod step;
mod workload;

pub use oracle::{OracleFailure, Oracles, check_trace};
pub use parse::{ParseError, QUOTE_CHARS_MAX, StepReader, parse, quote};
pub use run::{
    Run, RunOptions, RunReport, Session, StepOutcome, contains, first_divergence, run,
    run_recording_inputs, run_scripted, run_with,
};
pub use step::{
    Expect, InThread, Op, OutboxQuery, Participant, RetentionField, Scenario, Step, ThreadSettings,
    UserDecl,
};
pub use workload::{
    Bodies, Burst, PPM, WORKLOAD_ARRIVALS_MAX, WORKLOAD_BODIES_MAX, WORKLOAD_BODY_CHARS_MAX,
    WORKLOAD_BURST_GAP_MAX, WORKLOAD_BURST_SENDS_MAX, WORKLOAD_CHAT_PARTICIPANTS_MAX,
    WORKLOAD_HORIZON_MAX, WORKLOAD_NUMBERS_MAX, WORKLOAD_PREFIX_CHARS_MAX,
    WORKLOAD_SMS_PARTICIPANTS_MAX, WORKLOAD_THREAD_CREATIONS_MAX, WORKLOAD_THREADS_MAX, Workload,
};
