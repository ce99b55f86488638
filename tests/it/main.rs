mod acs_chat;
mod limits;
mod properties;
mod scenarios;
