mod acs_chat;
mod channels;
mod properties;
mod scenarios;
mod sms_encoding;
mod twilio;
