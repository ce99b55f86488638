//! Commands: what a caller asks, grouped by who asks it (a chat identity,
//! the trusted service, the telephone side), and who the caller is.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::options::{ConversationState, ThreadOptions};
use crate::id::{MessageId, ThreadId, TokenId, UserId};
use crate::profile::Operation;
use crate::rules::address::{self, SenderKind};
use crate::rules::{Body, Channel, Media, Route, Status};
use crate::time::Instant;

/// A participant named in a create or add call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantSpec {
    /// The identity, by its public id.
    pub user: Arc<str>,
    /// The display name other participants see.
    pub display_name: Option<Arc<str>>,
    /// History visible from this instant; `None` shares the whole history.
    pub share_history_from: Option<Instant>,
}

impl ParticipantSpec {
    /// A participant by identity, with no display name, sharing the whole history.
    pub fn user(user: impl Into<Arc<str>>) -> ParticipantSpec {
        ParticipantSpec {
            user: user.into(),
            display_name: None,
            share_history_from: None,
        }
    }
}

/// A non-chat participant named in a call: a binding of an address and the
/// proxy address it talks through, as given (validated by the core).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindingSpec {
    /// SMS or WhatsApp.
    pub channel: Channel,
    /// The participant's address (E.164, or `whatsapp:+…`).
    pub address: Arc<str>,
    /// The platform's address it talks through (empty for a group MMS participant).
    pub proxy: Arc<str>,
}

/// A query of the deliveries to non-chat recipients; every given field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    /// An address (a WhatsApp address with or without `whatsapp:`).
    pub to: Option<Arc<str>>,
    /// `sms`, `mms` or `whatsapp`.
    pub channel: Option<Route>,
    /// Only deliveries of this thread.
    pub thread: Option<ThreadId>,
    /// Only deliveries in this carrier status.
    pub status: Option<Status>,
    /// A message: its delivery receipts.
    pub message: Option<MessageId>,
}

/// A page request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items a page holds; `None` for the platform's default.
    pub page_size: Option<u32>,
    /// The token a previous page returned; `None` for the first page.
    pub continuation: Option<String>,
}

/// text or html.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ContentType {
    /// Plain text.
    #[default]
    Text,
    /// HTML (ACS), sanitized on the way in.
    Html,
}

/// A call to the platform, grouped by who makes it: each family has its own
/// path through [`State::execute`](crate::core::State::execute), so no dispatcher
/// meets a call it cannot handle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A call by a chat identity (authenticated, authorized, rate-limited).
    Chat(ChatCall),
    /// A call by the trusted service or the operator: no chat identity.
    Service(ServiceCall),
    /// Traffic from the telephone side: inbound SMS/WhatsApp and ACS `send_sms`.
    Carrier(CarrierCall),
}

/// A call a chat identity makes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatCall {
    /// Creates a thread with chat participants, SMS/WhatsApp participants
    /// (`bindings`, Twilio) and lifecycle options (retention; Twilio state and
    /// timers); all or nothing.
    CreateThread {
        /// The topic (Sendbird: the channel name; Twilio: the friendly name).
        topic: Arc<str>,
        /// The chat participants besides the creator.
        participants: Vec<ParticipantSpec>,
        /// The SMS or WhatsApp participants (Twilio).
        bindings: Vec<BindingSpec>,
        /// ACS's `repeatabilityRequestId`: a retry with the same key returns the first thread.
        idempotency_key: Option<Arc<str>>,
        /// Retention, and Twilio's state and timers.
        options: ThreadOptions,
    },
    /// Reads a thread the caller belongs to.
    GetThread {
        /// The thread.
        thread: ThreadId,
    },
    /// Lists the threads the caller belongs to.
    ListThreads {
        /// The page size and continuation.
        page: PageRequest,
    },
    /// Changes the topic and lifecycle options (a retention change moves the
    /// deletion; a Twilio state change moves the conversation).
    UpdateThread {
        /// The thread.
        thread: ThreadId,
        /// The new topic; `None` keeps it.
        topic: Option<Arc<str>>,
        /// The lifecycle options to change.
        options: ThreadOptions,
    },
    /// Deletes a thread (soft, where a recovery window applies).
    DeleteThread {
        /// The thread.
        thread: ThreadId,
    },
    /// Adds chat participants, all or nothing (ACS reports invalid ones instead).
    AddParticipants {
        /// The thread.
        thread: ThreadId,
        /// The participants to add.
        participants: Vec<ParticipantSpec>,
    },
    /// Removes a chat participant, or leaves when it is the caller.
    RemoveParticipant {
        /// The thread.
        thread: ThreadId,
        /// The participant's identity.
        user: Arc<str>,
    },
    /// Lists a thread's chat participants.
    ListParticipants {
        /// The thread.
        thread: ThreadId,
        /// The page size and continuation.
        page: PageRequest,
    },
    /// A chat message, with media or as a template (WhatsApp's 24-hour window
    /// does not apply to templates); empty content is allowed with media.
    SendMessage {
        /// The thread.
        thread: ThreadId,
        /// The text or HTML; may be empty with media.
        content: Body,
        /// Text or HTML.
        content_type: ContentType,
        /// Key-value metadata.
        metadata: BTreeMap<String, String>,
        /// Media attached (Twilio, Sendbird).
        media: Vec<Media>,
        /// A WhatsApp template's name.
        template: Option<Arc<str>>,
    },
    /// Reads a message in the caller's visible history.
    GetMessage {
        /// The message.
        message: MessageId,
    },
    /// Lists a thread's messages the caller may see, newest first.
    ListMessages {
        /// The thread.
        thread: ThreadId,
        /// The page size and continuation.
        page: PageRequest,
        /// Only messages from this instant on.
        start_time: Option<Instant>,
    },
    /// The sender edits a message.
    UpdateMessage {
        /// The message.
        message: MessageId,
        /// The new text.
        content: Arc<str>,
    },
    /// Deletes a message (its sequence id stays).
    DeleteMessage {
        /// The message.
        message: MessageId,
    },
    /// Sends a typing indicator.
    SendTyping {
        /// The thread.
        thread: ThreadId,
    },
    /// Marks a message read, and every one before it.
    SendReadReceipt {
        /// The message read up to.
        message: MessageId,
    },
    /// Lists a thread's read receipts.
    ListReadReceipts {
        /// The thread.
        thread: ThreadId,
        /// The page size and continuation.
        page: PageRequest,
    },
    /// Uploads the caller's profile image (Sendbird), `bytes` in size.
    UpdateProfileImage {
        /// The image's size, in bytes.
        bytes: u32,
    },
    /// Adds `delta` to the thread's counter `key` (Sendbird's channel
    /// metacounters; a new key starts at 0).
    UpdateMetacounter {
        /// The group channel.
        thread: ThreadId,
        /// The counter's key.
        key: Arc<str>,
        /// What to add (negative subtracts).
        delta: i64,
    },
    /// Twilio: move a conversation to a state.
    SetState {
        /// The conversation.
        thread: ThreadId,
        /// The state to enter.
        state: ConversationState,
    },
    /// Adds SMS or WhatsApp participants, all or nothing.
    AddBindings {
        /// The thread.
        thread: ThreadId,
        /// The channel, address and proxy of each participant.
        bindings: Vec<BindingSpec>,
    },
    /// Removes an SMS or WhatsApp participant, freeing its binding.
    RemoveBinding {
        /// The thread.
        thread: ThreadId,
        /// SMS or WhatsApp.
        channel: Channel,
        /// The participant's address.
        address: Arc<str>,
    },
}

/// A call of the trusted service (identities and tokens) or of the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceCall {
    /// Creates an identity.
    CreateUser {
        /// The identity's public id.
        id: Arc<str>,
        /// The display name.
        display_name: Option<Arc<str>>,
    },
    /// Deletes an identity, its memberships and its tokens.
    DeleteUser {
        /// The identity's public id.
        user: Arc<str>,
    },
    /// The operator restores a deleted thread within its recovery window.
    RecoverThread {
        /// The deleted thread.
        thread: ThreadId,
    },
    /// The trusted service issues an access token.
    IssueToken {
        /// The identity's public id.
        user: Arc<str>,
        /// The scope names, as the platform spells them.
        scopes: Vec<Arc<str>>,
        /// The lifetime (whole minutes); `None` takes the profile's default.
        expires_in_ms: Option<u64>,
    },
    /// The trusted service revokes every token of an identity.
    RevokeTokens {
        /// The identity's public id.
        user: Arc<str>,
    },
}

/// A call from the telephone side, with no chat identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CarrierCall {
    /// A message from an SMS or WhatsApp user to the proxy address of a binding
    /// (the carrier's call: no identity).
    Inbound {
        /// SMS or WhatsApp.
        channel: Channel,
        /// The sender's address.
        from: Arc<str>,
        /// The proxy address it was sent to.
        to: Arc<str>,
        /// The text; may be empty with media.
        body: Arc<str>,
        /// Media attached (MMS, WhatsApp).
        media: Vec<Media>,
    },
    /// ACS's SMS API: one message to 1..100 recipients (the resource's call).
    SendSms {
        /// The sending number (toll-free, short code or 10DLC).
        from: Arc<str>,
        /// The recipients' numbers, 1 to 100.
        to: Vec<Arc<str>>,
        /// The text.
        message: Arc<str>,
        /// Whether the carrier's delivery reports are wanted.
        delivery_report: bool,
    },
}

impl From<ChatCall> for Command {
    fn from(call: ChatCall) -> Command {
        Command::Chat(call)
    }
}

impl From<ServiceCall> for Command {
    fn from(call: ServiceCall) -> Command {
        Command::Service(call)
    }
}

impl From<CarrierCall> for Command {
    fn from(call: CarrierCall) -> Command {
        Command::Carrier(call)
    }
}

impl Command {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            Command::Chat(call) => call.op(),
            Command::Service(call) => call.op(),
            Command::Carrier(call) => call.op(),
        }
    }

    /// The HTTP-like status of success.
    pub fn success_status(&self) -> u16 {
        match self {
            Command::Chat(call) => call.success_status(),
            Command::Service(ServiceCall::CreateUser { .. }) => 201,
            Command::Service(ServiceCall::DeleteUser { .. } | ServiceCall::RevokeTokens { .. }) => {
                204
            }
            Command::Service(
                ServiceCall::IssueToken { .. } | ServiceCall::RecoverThread { .. },
            ) => 200,
            Command::Carrier(CarrierCall::Inbound { .. }) => 201,
            Command::Carrier(CarrierCall::SendSms { .. }) => 202,
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            Command::Chat(call) => call.operation(),
            Command::Service(call) => call.operation(),
            Command::Carrier(call) => call.operation(),
        }
    }

    /// The thread the call targets, if any.
    pub fn thread(&self) -> Option<ThreadId> {
        match self {
            Command::Chat(call) => call.thread(),
            Command::Service(ServiceCall::RecoverThread { thread }) => Some(*thread),
            Command::Service(_) | Command::Carrier(_) => None,
        }
    }
}

impl ChatCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            ChatCall::CreateThread { .. } => "create_thread",
            ChatCall::GetThread { .. } => "get_thread",
            ChatCall::ListThreads { .. } => "list_threads",
            ChatCall::UpdateThread { .. } => "update_thread",
            ChatCall::DeleteThread { .. } => "delete_thread",
            ChatCall::AddParticipants { .. } | ChatCall::AddBindings { .. } => "add_participants",
            ChatCall::RemoveParticipant { .. } | ChatCall::RemoveBinding { .. } => {
                "remove_participant"
            }
            ChatCall::ListParticipants { .. } => "list_participants",
            ChatCall::SendMessage { .. } => "send_message",
            ChatCall::GetMessage { .. } => "get_message",
            ChatCall::ListMessages { .. } => "list_messages",
            ChatCall::UpdateMessage { .. } => "update_message",
            ChatCall::DeleteMessage { .. } => "delete_message",
            ChatCall::SendTyping { .. } => "send_typing",
            ChatCall::SendReadReceipt { .. } => "send_read_receipt",
            ChatCall::ListReadReceipts { .. } => "list_read_receipts",
            ChatCall::UpdateProfileImage { .. } => "update_profile_image",
            ChatCall::UpdateMetacounter { .. } => "update_metacounter",
            ChatCall::SetState { .. } => "set_state",
        }
    }

    /// The HTTP-like status of success.
    pub fn success_status(&self) -> u16 {
        match self {
            ChatCall::CreateThread { .. }
            | ChatCall::AddParticipants { .. }
            | ChatCall::SendMessage { .. }
            | ChatCall::AddBindings { .. } => 201,
            ChatCall::UpdateThread { .. }
            | ChatCall::DeleteThread { .. }
            | ChatCall::RemoveParticipant { .. }
            | ChatCall::RemoveBinding { .. }
            | ChatCall::UpdateMessage { .. }
            | ChatCall::DeleteMessage { .. } => 204,
            _ => 200,
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            ChatCall::CreateThread { .. } => Operation::CreateThread,
            ChatCall::GetThread { .. } => Operation::GetThread,
            ChatCall::ListThreads { .. } => Operation::ListThreads,
            ChatCall::UpdateThread { .. } | ChatCall::SetState { .. } => Operation::UpdateThread,
            ChatCall::DeleteThread { .. } => Operation::DeleteThread,
            ChatCall::AddParticipants { .. }
            | ChatCall::RemoveParticipant { .. }
            | ChatCall::AddBindings { .. }
            | ChatCall::RemoveBinding { .. } => Operation::UpdateRoster,
            ChatCall::ListParticipants { .. } => Operation::ListParticipants,
            ChatCall::SendMessage { media, .. } => Operation::message(!media.is_empty()),
            ChatCall::GetMessage { .. } => Operation::GetMessage,
            ChatCall::ListMessages { .. } => Operation::ListMessages,
            ChatCall::UpdateMessage { .. } => Operation::UpdateMessage,
            ChatCall::DeleteMessage { .. } => Operation::DeleteMessage,
            ChatCall::SendTyping { .. } => Operation::SendTyping,
            ChatCall::SendReadReceipt { .. } => Operation::SendReadReceipt,
            ChatCall::ListReadReceipts { .. } => Operation::ListReadReceipts,
            ChatCall::UpdateProfileImage { .. } => Operation::UpdateProfileImage,
            ChatCall::UpdateMetacounter { .. } => Operation::UpdateMetacounter,
        }
    }

    /// The thread the call targets, if any.
    pub fn thread(&self) -> Option<ThreadId> {
        match self {
            ChatCall::GetThread { thread }
            | ChatCall::UpdateThread { thread, .. }
            | ChatCall::DeleteThread { thread }
            | ChatCall::AddParticipants { thread, .. }
            | ChatCall::RemoveParticipant { thread, .. }
            | ChatCall::ListParticipants { thread, .. }
            | ChatCall::SendMessage { thread, .. }
            | ChatCall::ListMessages { thread, .. }
            | ChatCall::SendTyping { thread }
            | ChatCall::ListReadReceipts { thread, .. }
            | ChatCall::UpdateMetacounter { thread, .. }
            | ChatCall::SetState { thread, .. }
            | ChatCall::AddBindings { thread, .. }
            | ChatCall::RemoveBinding { thread, .. } => Some(*thread),
            ChatCall::GetMessage { message }
            | ChatCall::UpdateMessage { message, .. }
            | ChatCall::DeleteMessage { message }
            | ChatCall::SendReadReceipt { message } => Some(message.thread),
            ChatCall::CreateThread { .. }
            | ChatCall::ListThreads { .. }
            | ChatCall::UpdateProfileImage { .. } => None,
        }
    }
}

impl ServiceCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            ServiceCall::CreateUser { .. } => "create_user",
            ServiceCall::DeleteUser { .. } => "delete_user",
            ServiceCall::IssueToken { .. } => "issue_token",
            ServiceCall::RevokeTokens { .. } => "revoke_tokens",
            ServiceCall::RecoverThread { .. } => "recover_thread",
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            ServiceCall::CreateUser { .. } => Operation::CreateIdentity,
            ServiceCall::DeleteUser { .. } => Operation::DeleteIdentity,
            ServiceCall::IssueToken { .. } => Operation::IssueToken,
            ServiceCall::RevokeTokens { .. } => Operation::RevokeTokens,
            ServiceCall::RecoverThread { .. } => Operation::RecoverThread,
        }
    }
}

impl CarrierCall {
    /// The scenario op name.
    pub fn op(&self) -> &'static str {
        match self {
            CarrierCall::Inbound { .. } => "inbound",
            CarrierCall::SendSms { .. } => "send_sms",
        }
    }

    /// The operation rate limits count this call as.
    pub fn operation(&self) -> Operation {
        match self {
            CarrierCall::Inbound { .. } => Operation::Inbound,
            CarrierCall::SendSms { from, .. } => match address::sender_kind(from) {
                SenderKind::TollFree => Operation::SendSmsTollFree,
                SenderKind::ShortCode => Operation::SendSmsShortCode,
                SenderKind::Other => Operation::SendSms,
            },
        }
    }
}

/// Who makes a call: the identity (None for the trusted service) and the
/// connection it calls through (rate limits scoped per connection count it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Caller {
    /// The identity; `None` for the trusted service.
    pub user: Option<UserId>,
    /// The connection (socket) it calls through, for per-connection limits.
    pub connection: u32,
    /// The access token the call presents; `None` acts with a valid credential.
    pub token: Option<TokenId>,
}
