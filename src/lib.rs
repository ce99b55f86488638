pub mod core;
pub mod id;
pub mod profile;
pub mod sim;
pub mod time;

pub use crate::core::{Command, Error, Kind, Reply, State};
pub use crate::id::{MessageId, ThreadId, UserId};
pub use crate::profile::Profile;
pub use crate::sim::{Client, SimBuilder, Simulator};
pub use crate::time::{Duration, Instant};
