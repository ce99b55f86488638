//! The core's vocabulary: what a caller asks ([`command`]), what a successful
//! call returns ([`reply`]), what happened ([`event`]), why a call was refused
//! ([`error`]) and the lifecycle options calls carry ([`options`]). These
//! files import no behaviour of the core: they are plain data, shared by the
//! core, the shell, the scenario runner and the wire layer.

pub mod command;
pub mod error;
pub mod event;
pub mod options;
pub mod reply;
