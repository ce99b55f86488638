mod acs_chat;
mod properties;
mod scenarios;
