mod acs_chat;
mod lifecycle;
mod limits;
mod properties;
mod scenarios;
mod sendbird;
mod states;
mod tokens;
