//! A client handle: calls made as one identity, in the platform's own terms.

use crate::core::ChatCall;
use std::sync::Arc;

use crate::core::BindingSpec;
use crate::core::{
    Caller, Command, ContentType, Error, MessageView, Page, PageRequest, ParticipantSpec,
    ParticipantView, ReadReceiptView, Reply, ThreadView,
};
use crate::core::{ConversationState, ThreadOptions, TokenId};
use crate::id::{MessageId, ThreadId, UserId};
use crate::rules::{Body, Channel, Media};
use crate::sim::Simulator;

/// Calls as `user`, at the simulator's current instant.
///
/// A client made [`retrying`](Client::retrying) answers a 429 by advancing the
/// virtual clock by its retry-after and calling again, so a test can say "send
/// these as fast as the platform allows" with no sleeps.
pub struct Client<'a> {
    sim: &'a mut Simulator,
    user: UserId,
    connection: u32,
    retries: u32,
    /// The token every call presents, if the handle was made with one.
    token: Option<TokenId>,
}

/// How many times a retrying client calls again after 429s before it gives
/// up and returns the last one.
pub const DEFAULT_RETRIES: u32 = 1000;

fn unexpected(reply: Reply) -> ! {
    unreachable!("the core answered with an unexpected reply: {reply:?}")
}

impl<'a> Client<'a> {
    pub(crate) fn new(sim: &'a mut Simulator, user: UserId) -> Client<'a> {
        Client {
            sim,
            user,
            connection: 0,
            retries: 0,
            token: None,
        }
    }

    pub(crate) fn with_token(sim: &'a mut Simulator, token: TokenId) -> Client<'a> {
        Client {
            sim,
            user: token.user,
            connection: 0,
            retries: 0,
            token: Some(token),
        }
    }

    /// Calls through real-time connection `connection` (0 by default); limits
    /// scoped per connection count each connection apart.
    pub fn connection(mut self, connection: u32) -> Client<'a> {
        self.connection = connection;
        self
    }

    /// Retries throttled calls after their retry-after, advancing the virtual
    /// clock, up to [`DEFAULT_RETRIES`] times a call.
    pub fn retrying(self) -> Client<'a> {
        self.retrying_up_to(DEFAULT_RETRIES)
    }

    /// Retries throttled calls after their retry-after, up to `retries` times
    /// a call.
    pub fn retrying_up_to(mut self, retries: u32) -> Client<'a> {
        self.retries = retries;
        self
    }

    /// Runs any command as this user (retrying 429s if the client retries).
    pub fn execute(&mut self, command: &Command) -> Result<Reply, Error> {
        let caller = Caller {
            user: Some(self.user),
            connection: self.connection,
            token: self.token,
        };
        self.sim.execute_retrying(caller, command, self.retries)
    }

    /// Creates a thread with lifecycle options (retention; Twilio state and
    /// timers).
    pub fn create_thread_with(
        &mut self,
        topic: &str,
        participants: &[UserId],
        options: ThreadOptions,
    ) -> Result<ThreadId, Error> {
        let command = Command::Chat(ChatCall::CreateThread {
            topic: Arc::from(topic),
            participants: self.specs(participants),
            idempotency_key: None,
            options,
            bindings: vec![],
        });
        match self.execute(&command)? {
            Reply::ThreadCreated { thread, .. } => Ok(thread.id),
            other => unexpected(other),
        }
    }

    /// Changes a thread's lifecycle options (a retention change moves its
    /// deletion).
    pub fn update_thread_with(
        &mut self,
        thread: ThreadId,
        options: ThreadOptions,
    ) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::UpdateThread {
            thread,
            topic: None,
            options,
        }))
        .map(drop)
    }

    /// Twilio: moves a conversation to `state`.
    pub fn set_state(
        &mut self,
        thread: ThreadId,
        state: ConversationState,
    ) -> Result<ThreadView, Error> {
        match self.execute(&Command::Chat(ChatCall::SetState { thread, state }))? {
            Reply::Thread(view) => Ok(*view),
            other => unexpected(other),
        }
    }

    fn specs(&self, users: &[UserId]) -> Vec<ParticipantSpec> {
        users
            .iter()
            .map(|u| ParticipantSpec::user(self.sim.name_of(*u)))
            .collect()
    }

    /// Creates a thread with `topic`; the caller joins it automatically.
    pub fn create_thread(
        &mut self,
        topic: &str,
        participants: &[UserId],
    ) -> Result<ThreadId, Error> {
        let command = Command::Chat(ChatCall::CreateThread {
            topic: Arc::from(topic),
            participants: self.specs(participants),
            idempotency_key: None,
            bindings: vec![],
            options: Default::default(),
        });
        match self.execute(&command)? {
            Reply::ThreadCreated { thread, .. } => Ok(thread.id),
            other => unexpected(other),
        }
    }

    /// Reads a thread the caller belongs to.
    pub fn get_thread(&mut self, thread: ThreadId) -> Result<ThreadView, Error> {
        match self.execute(&Command::Chat(ChatCall::GetThread { thread }))? {
            Reply::Thread(view) => Ok(*view),
            other => unexpected(other),
        }
    }

    /// Lists the threads the caller belongs to, one page.
    pub fn list_threads(&mut self, page: PageRequest) -> Result<Page<ThreadView>, Error> {
        match self.execute(&Command::Chat(ChatCall::ListThreads { page }))? {
            Reply::Threads(p) => Ok(p),
            other => unexpected(other),
        }
    }

    /// Changes a thread's topic.
    pub fn update_topic(&mut self, thread: ThreadId, topic: &str) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::UpdateThread {
            thread,
            topic: Some(Arc::from(topic)),
            options: Default::default(),
        }))
        .map(drop)
    }

    /// Deletes a thread (soft, where a recovery window applies).
    pub fn delete_thread(&mut self, thread: ThreadId) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::DeleteThread { thread }))
            .map(drop)
    }

    /// Adds chat participants, sharing the whole history.
    pub fn add_participants(&mut self, thread: ThreadId, users: &[UserId]) -> Result<(), Error> {
        let participants = self.specs(users);
        self.execute(&Command::Chat(ChatCall::AddParticipants {
            thread,
            participants,
        }))
        .map(drop)
    }

    /// Removes a chat participant, or leaves when it is the caller.
    pub fn remove_participant(&mut self, thread: ThreadId, user: UserId) -> Result<(), Error> {
        let user = self.sim.name_of(user);
        self.execute(&Command::Chat(ChatCall::RemoveParticipant { thread, user }))
            .map(drop)
    }

    /// Lists a thread's chat participants, one page.
    pub fn list_participants(
        &mut self,
        thread: ThreadId,
        page: PageRequest,
    ) -> Result<Page<ParticipantView>, Error> {
        match self.execute(&Command::Chat(ChatCall::ListParticipants { thread, page }))? {
            Reply::Participants(p) => Ok(p),
            other => unexpected(other),
        }
    }

    /// Sends a text message.
    pub fn send_message(&mut self, thread: ThreadId, content: &str) -> Result<MessageId, Error> {
        self.send(thread, Arc::from(content), ContentType::Text)
    }

    /// Sends an html message.
    pub fn send_html(&mut self, thread: ThreadId, content: &str) -> Result<MessageId, Error> {
        self.send(thread, Arc::from(content), ContentType::Html)
    }

    /// Sends a shared body without copying it (for generated workloads).
    pub fn send(
        &mut self,
        thread: ThreadId,
        content: Arc<str>,
        content_type: ContentType,
    ) -> Result<MessageId, Error> {
        let command = Command::Chat(ChatCall::SendMessage {
            thread,
            content: content.into(),
            content_type,
            metadata: Default::default(),
            media: vec![],
            template: None,
        });
        match self.execute(&command)? {
            Reply::MessageSent { sequence } => Ok(MessageId { thread, sequence }),
            other => unexpected(other),
        }
    }

    /// Reads a message in the caller's visible history.
    pub fn get_message(&mut self, message: MessageId) -> Result<MessageView, Error> {
        match self.execute(&Command::Chat(ChatCall::GetMessage { message }))? {
            Reply::Message(m) => Ok(*m),
            other => unexpected(other),
        }
    }

    /// One page of messages, newest first.
    pub fn list_messages(
        &mut self,
        thread: ThreadId,
        page: PageRequest,
    ) -> Result<Page<MessageView>, Error> {
        match self.execute(&Command::Chat(ChatCall::ListMessages {
            thread,
            page,
            start_time: None,
        }))? {
            Reply::Messages(p) => Ok(p),
            other => unexpected(other),
        }
    }

    /// The sender edits a message's text.
    pub fn update_message(&mut self, message: MessageId, content: &str) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::UpdateMessage {
            message,
            content: Arc::from(content),
        }))
        .map(drop)
    }

    /// Deletes a message (its sequence id stays).
    pub fn delete_message(&mut self, message: MessageId) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::DeleteMessage { message }))
            .map(drop)
    }

    /// Sends a typing indicator to the thread.
    pub fn send_typing(&mut self, thread: ThreadId) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::SendTyping { thread }))
            .map(drop)
    }

    /// Marks a message read, and every one before it.
    pub fn send_read_receipt(&mut self, message: MessageId) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::SendReadReceipt { message }))
            .map(drop)
    }

    /// Lists a thread's read receipts (the first page).
    pub fn list_read_receipts(&mut self, thread: ThreadId) -> Result<Page<ReadReceiptView>, Error> {
        match self.execute(&Command::Chat(ChatCall::ListReadReceipts {
            thread,
            page: PageRequest::default(),
        }))? {
            Reply::ReadReceipts(p) => Ok(p),
            other => unexpected(other),
        }
    }

    /// Uploads a profile image of `bytes` (Sendbird).
    pub fn update_profile_image(&mut self, bytes: u32) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::UpdateProfileImage { bytes }))
            .map(drop)
    }

    /// Adds `delta` to the thread's metacounter `key` (Sendbird) and returns
    /// its new value.
    pub fn update_metacounter(
        &mut self,
        thread: ThreadId,
        key: &str,
        delta: i64,
    ) -> Result<i64, Error> {
        let command = Command::Chat(ChatCall::UpdateMetacounter {
            thread,
            key: Arc::from(key),
            delta,
        });
        match self.execute(&command)? {
            Reply::Counter { value, .. } => Ok(value),
            other => unexpected(other),
        }
    }

    // ---- non-chat channels ----

    /// Adds an SMS or WhatsApp participant: `address` talking through `proxy`.
    pub fn add_binding(
        &mut self,
        thread: ThreadId,
        channel: Channel,
        address: &str,
        proxy: &str,
    ) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::AddBindings {
            thread,
            bindings: vec![BindingSpec {
                channel,
                address: Arc::from(address),
                proxy: Arc::from(proxy),
            }],
        }))
        .map(drop)
    }

    /// Removes an SMS or WhatsApp participant, freeing its binding.
    pub fn remove_binding(
        &mut self,
        thread: ThreadId,
        channel: Channel,
        address: &str,
    ) -> Result<(), Error> {
        self.execute(&Command::Chat(ChatCall::RemoveBinding {
            thread,
            channel,
            address: Arc::from(address),
        }))
        .map(drop)
    }

    /// Sends a message with media, or (with `template`) a template message.
    pub fn send_media(
        &mut self,
        thread: ThreadId,
        content: &str,
        media: Vec<Media>,
        template: Option<&str>,
    ) -> Result<MessageId, Error> {
        let command = Command::Chat(ChatCall::SendMessage {
            thread,
            content: Body::from(content),
            content_type: ContentType::Text,
            metadata: Default::default(),
            media,
            template: template.map(Arc::from),
        });
        match self.execute(&command)? {
            Reply::MessageSent { sequence } => Ok(MessageId { thread, sequence }),
            other => unexpected(other),
        }
    }
}
