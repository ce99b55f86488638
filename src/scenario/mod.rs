//! Scenario files (SCENARIO.md): parse and validate, then run with expectations.

mod parse;
mod run;

pub use parse::{Expect, ParseError, Scenario, Step, UserDecl, parse};
pub use run::{RunReport, contains, first_divergence, run};
