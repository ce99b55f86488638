//! Sendbird's Platform API v3 over the simulator: each request is checked
//! for the application's `Api-Token`, read by `wire::sendbird_rest::request`,
//! turned into the scenario steps that do the same, run on the world, and
//! answered in Sendbird's shapes by `wire::sendbird_rest::response`.
//!
//! The Platform API is the application's own: no user signs a call. The
//! core's chat calls act as an identity, so each change acts as the identity
//! Sendbird's request names or implies: a message is sent as its `user_id`
//! and edited or deleted as its sender; a channel is created by the first of
//! its members (or `inviter_id`), who joins with the rest; members leave as
//! themselves; anything else on a channel (its name, deletion, an invitation
//! without an inviter, metacounters) acts as its longest-standing member.
//! Reads (users, channels, members, messages, metacounters) are answered
//! from the simulator's inspection: they change nothing, count against no
//! limit and are not recorded (the recording's trace is the server's trace
//! all the same, since neither shows them).
//!
//! What Sendbird keeps and the simulator does not model (a user's nickname
//! and profile URL, a channel's `custom_type`, `data` and cover, which
//! metacounter keys exist) is kept beside the world in [`Extras`], snapshot
//! with it.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

use super::world::step_fields;
use super::{Request, Response, Service};
use crate::core::{Reply, ThreadView};
use crate::id::{ThreadId, UserId};
use crate::scenario::StepOutcome;
use crate::wire::sendbird_rest::request::{self, Call, MessageBody, MetacounterMode, PageQuery};
use crate::wire::sendbird_rest::response::{
    self, CUSTOM_TYPE_KEY, ChannelProfile, DATA_KEY, Render, URL_KEY, UserProfile,
};
use crate::wire::sendbird_rest::{Raw, SbError};

/// What Sendbird keeps beside the simulator's state, per world.
#[derive(Clone, Debug, Default)]
pub struct Extras {
    users: imbl::OrdMap<String, UserProfile>,
    channels: imbl::OrdMap<ThreadId, ChannelProfile>,
    /// The channels whose URL the application chose, by URL.
    urls: imbl::OrdMap<String, ThreadId>,
    /// Edited `custom_type` and `data` of messages (thread, sequence).
    message_fields: imbl::OrdMap<(ThreadId, u32), (Option<String>, Option<String>)>,
    /// The metacounter keys that exist, per channel.
    counters: imbl::OrdMap<ThreadId, BTreeSet<String>>,
}

/// The name a channel created without one gets.
pub const DEFAULT_CHANNEL_NAME: &str = "Group Channel";

/// Answers one request to the Platform API.
pub(super) fn handle(service: &mut Service, req: &Request) -> Response {
    let token = service.keys.app.api_token();
    if req.header("api-token").map(str::trim) != Some(token.as_str()) {
        return error(&SbError::bad_api_token());
    }
    let raw = Raw {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        body: &req.body,
    };
    let call = match request::read(&raw) {
        Ok(call) => call,
        Err(e) => return error(&e),
    };
    let mut handler = Handler { service };
    match handler.call(call) {
        Ok(value) => Response::json(200, value),
        Err(response) => response,
    }
}

/// Sendbird's error response.
pub(super) fn error(e: &SbError) -> Response {
    Response::json(e.status, e.body())
}

/// A refusal of the simulator as Sendbird answers it, with the rate-limit
/// headers of a 429.
pub(super) fn refusal(service: &Service, e: &crate::core::Error) -> Response {
    let mut response = error(&render(service).error(e));
    response.headers.extend(response::rate_limit_headers(e));
    response
}

/// The URL of the core's thread `t`: the application's choice or the default.
pub(super) fn channel_url(service: &Service, t: ThreadId) -> String {
    let extra = service.world.sendbird.channels.get(&t);
    render(service).channel_url(t, extra.unwrap_or(&ChannelProfile::default()))
}

/// The thread a channel URL names: one the application chose (the latest
/// channel given it), or one of this application's default URLs.
pub(super) fn thread_of_url(service: &Service, url: &str) -> Option<ThreadId> {
    match service.world.sendbird.urls.get(url) {
        Some(t) => Some(*t),
        None => service.keys.app.parse_channel_url(url),
    }
}

/// The renderer of the service's application and epoch.
fn render(service: &Service) -> Render<'_> {
    Render {
        app: &service.keys.app,
        epoch: service.epoch,
    }
}

struct Handler<'a> {
    service: &'a mut Service,
}

fn message_ref(sequence: u32) -> String {
    format!("m{sequence}")
}

impl Handler<'_> {
    fn render(&self) -> Render<'_> {
        render(self.service)
    }

    fn extras(&self) -> &Extras {
        &self.service.world.sendbird
    }

    fn extras_mut(&mut self) -> &mut Extras {
        &mut self.service.world.sendbird
    }

    /// Runs a step: the reply, or the refusal as Sendbird answers it (with
    /// the rate-limit headers of a 429).
    fn run(&mut self, fields: Map<String, Value>) -> Result<Reply, Response> {
        let outcome = self
            .service
            .world
            .step(fields)
            .map_err(|e| error(&SbError::invalid("body", e.message)))?;
        match outcome {
            StepOutcome::Reply { reply, .. } => Ok(reply),
            StepOutcome::Refused(e) => Err(refusal(self.service, &e)),
            StepOutcome::Items(_) | StepOutcome::Advanced => Ok(Reply::None),
        }
    }

    fn call(&mut self, call: Call) -> Result<Value, Response> {
        let fail = |e: SbError| error(&e);
        match call {
            Call::CreateUser {
                user_id,
                nickname,
                profile_url,
            } => {
                let mut step = json!({ "id": user_id });
                if !nickname.is_empty() {
                    step["display_name"] = json!(nickname);
                }
                self.run(step_fields("create_user", None, step))?;
                let profile = UserProfile {
                    nickname,
                    profile_url,
                    created_at_ms: self.service.world.now().ms(),
                };
                let out = self.render().user(&user_id, &profile);
                self.extras_mut().users.insert(user_id, profile);
                Ok(out)
            }
            Call::ListUsers { page } => {
                let users = self.live_users();
                let (items, next) = self.page(&users, &page).map_err(fail)?;
                let users = items
                    .iter()
                    .map(|u| self.render().user(u, &self.profile(u)))
                    .collect::<Vec<_>>();
                Ok(json!({ "users": users, "next": next }))
            }
            Call::GetUser { user_id } => {
                self.live_user(&user_id).map_err(fail)?;
                Ok(self.render().user(&user_id, &self.profile(&user_id)))
            }
            Call::UpdateUser {
                user_id,
                nickname,
                profile_url,
            } => {
                self.live_user(&user_id).map_err(fail)?;
                let mut profile = self.profile(&user_id);
                if let Some(nickname) = nickname {
                    profile.nickname = nickname;
                }
                if let Some(url) = profile_url {
                    profile.profile_url = url;
                }
                let out = self.render().user(&user_id, &profile);
                self.extras_mut().users.insert(user_id, profile);
                Ok(out)
            }
            Call::DeleteUser { user_id } => {
                self.live_user(&user_id).map_err(fail)?;
                self.run(step_fields("delete_user", None, json!({ "user": user_id })))?;
                Ok(json!({}))
            }
            Call::CreateChannel {
                user_ids,
                name,
                custom_type,
                data,
                cover_url,
                inviter_id,
                channel_url,
                is_distinct,
            } => {
                let creator = match &inviter_id {
                    Some(inviter) => inviter.clone(),
                    None => user_ids
                        .first()
                        .cloned()
                        .ok_or_else(|| fail(SbError::missing("user_ids")))?,
                };
                for user in user_ids.iter().chain(std::iter::once(&creator)) {
                    self.live_user(user).map_err(fail)?;
                }
                if is_distinct && let Some(view) = self.distinct_channel(&user_ids, &creator) {
                    return Ok(self.channel(&view, None, true));
                }
                if let Some(url) = &channel_url {
                    self.check_new_url(url).map_err(fail)?;
                }
                let others: Vec<&String> = user_ids.iter().filter(|u| **u != creator).collect();
                let topic = name
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| DEFAULT_CHANNEL_NAME.to_string());
                let step = json!({ "topic": topic, "participants": others });
                let reply = self.run(step_fields("create_thread", Some(&creator), step))?;
                let Reply::ThreadCreated { thread, .. } = reply else {
                    return Ok(json!({}));
                };
                if let Some(url) = &channel_url {
                    self.extras_mut().urls.insert(url.clone(), thread.id);
                }
                let profile = ChannelProfile {
                    url: channel_url,
                    distinct: is_distinct,
                    custom_type,
                    data,
                    cover_url,
                };
                self.extras_mut().channels.insert(thread.id, profile);
                let created_by = inviter_id.map(|u| self.basic_user(&u));
                Ok(self.channel(&thread, created_by, true))
            }
            Call::ListChannels { page } => {
                let threads = self.service.world.simulator().inspect().threads();
                let (items, next) = self.page(&threads, &page).map_err(fail)?;
                let channels = items
                    .iter()
                    .map(|t| self.channel(t, None, false))
                    .collect::<Vec<_>>();
                Ok(json!({ "channels": channels, "next": next }))
            }
            Call::GetChannel {
                channel,
                show_member,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                Ok(self.channel(&view, None, show_member))
            }
            Call::UpdateChannel {
                channel,
                name,
                custom_type,
                data,
                cover_url,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                if let Some(name) = name.filter(|n| *n != *view.topic) {
                    let operator = self.operator(view.id).map_err(fail)?;
                    let step = json!({ "thread": view.id.to_string(), "topic": name });
                    self.run(step_fields("update_thread", Some(&operator), step))?;
                }
                let mut profile = self.channel_profile(view.id);
                for (slot, value) in [
                    (&mut profile.custom_type, custom_type),
                    (&mut profile.data, data),
                    (&mut profile.cover_url, cover_url),
                ] {
                    if let Some(value) = value {
                        *slot = value;
                    }
                }
                self.extras_mut().channels.insert(view.id, profile);
                let view = self.channel_view(&channel).map_err(fail)?;
                Ok(self.channel(&view, None, false))
            }
            Call::DeleteChannel { channel } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let operator = self.operator(view.id).map_err(fail)?;
                let step = json!({ "thread": view.id.to_string() });
                self.run(step_fields("delete_thread", Some(&operator), step))?;
                Ok(json!({}))
            }
            Call::Invite {
                channel,
                user_ids,
                inviter_id,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                if user_ids.is_empty() {
                    return Err(fail(SbError::invalid("user_ids", "the list is empty")));
                }
                for user in &user_ids {
                    self.live_user(user).map_err(fail)?;
                }
                let inviter = match inviter_id {
                    Some(inviter) if self.is_member(view.id, &inviter) => inviter,
                    Some(inviter) => {
                        return Err(fail(SbError::not_found("Member", &inviter)));
                    }
                    None => self.operator(view.id).map_err(fail)?,
                };
                let step = json!({ "thread": view.id.to_string(), "participants": user_ids });
                self.run(step_fields("add_participants", Some(&inviter), step))?;
                let view = self.channel_view(&channel).map_err(fail)?;
                Ok(self.channel(&view, None, true))
            }
            Call::Leave { channel, user_ids } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                if user_ids.is_empty() {
                    return Err(fail(SbError::invalid("user_ids", "the list is empty")));
                }
                if let Some(user) = user_ids.iter().find(|u| !self.is_member(view.id, u)) {
                    return Err(fail(SbError::not_found("Member", user)));
                }
                self.atomically(|h| {
                    for user in &user_ids {
                        let step = json!({ "thread": view.id.to_string(), "participant": user });
                        h.run(step_fields("remove_participant", Some(user), step))?;
                    }
                    Ok(json!({}))
                })
            }
            Call::ListMembers { channel, page } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let members = self.member_ids(view.id);
                let (items, next) = self.page(&members, &page).map_err(fail)?;
                let members = items
                    .iter()
                    .map(|u| self.render().member(u, &self.profile(u)))
                    .collect::<Vec<_>>();
                Ok(json!({ "members": members, "next": next }))
            }
            Call::IsMember { channel, user_id } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let member = self.is_member(view.id, &user_id);
                Ok(json!({ "is_member": member, "state": if member { "joined" } else { "none" } }))
            }
            Call::SendMessage {
                channel,
                user_id,
                body,
                custom_type,
                data,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                self.live_user(&user_id).map_err(fail)?;
                let mut metadata = BTreeMap::new();
                for (key, value) in [(CUSTOM_TYPE_KEY, custom_type), (DATA_KEY, data)] {
                    if !value.is_empty() {
                        metadata.insert(key, value);
                    }
                }
                let mut step = json!({ "thread": view.id.to_string() });
                match body {
                    MessageBody::Text(text) => step["content"] = json!(text),
                    MessageBody::File(file) => {
                        step["content"] = json!("");
                        let mut medium = json!({
                            "content_type": file.mime.as_deref()
                                .unwrap_or("application/octet-stream"),
                            "bytes": file.size,
                        });
                        if let Some(name) = file.name {
                            medium["name"] = json!(name);
                        }
                        step["media"] = json!([medium]);
                        metadata.insert(URL_KEY, file.url);
                    }
                }
                if !metadata.is_empty() {
                    step["metadata"] = json!(metadata);
                }
                let reply = self.run(step_fields("send_message", Some(&user_id), step))?;
                let Reply::MessageSent { sequence } = reply else {
                    return Ok(json!({}));
                };
                self.message_json(view.id, sequence)
                    .ok_or_else(|| fail(SbError::not_found("Message", &sequence.to_string())))
            }
            Call::ListMessages {
                channel,
                message_ts,
                message_id,
                prev_limit,
                next_limit,
                include,
                reverse,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                self.list_messages(
                    view.id,
                    message_ts,
                    message_id.as_deref(),
                    (prev_limit, next_limit),
                    include,
                    reverse,
                )
                .map_err(fail)
            }
            Call::GetMessage { channel, message } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let sequence = self.message(view.id, &message).map_err(fail)?;
                self.message_json(view.id, sequence)
                    .ok_or_else(|| fail(SbError::not_found("Message", &message)))
            }
            Call::UpdateMessage {
                channel,
                message,
                text,
                custom_type,
                data,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let sequence = self.message(view.id, &message).map_err(fail)?;
                if let Some(text) = text {
                    let author = self.author(view.id, sequence);
                    let step = json!({"thread": view.id.to_string(),
                        "message": message_ref(sequence), "content": text});
                    self.run(step_fields("update_message", Some(&author), step))?;
                }
                if custom_type.is_some() || data.is_some() {
                    let key = (view.id, sequence);
                    let extras = self.extras_mut();
                    let (old_type, old_data) =
                        extras.message_fields.get(&key).cloned().unwrap_or_default();
                    extras
                        .message_fields
                        .insert(key, (custom_type.or(old_type), data.or(old_data)));
                }
                self.message_json(view.id, sequence)
                    .ok_or_else(|| fail(SbError::not_found("Message", &message)))
            }
            Call::DeleteMessage { channel, message } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let sequence = self.message(view.id, &message).map_err(fail)?;
                let author = self.author(view.id, sequence);
                let step = json!({"thread": view.id.to_string(), "message": message_ref(sequence)});
                self.run(step_fields("delete_message", Some(&author), step))?;
                Ok(json!({}))
            }
            Call::CreateMetacounter { channel, values } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let live = self.counter_keys(view.id);
                if let Some(key) = values.keys().find(|k| live.contains(*k)) {
                    return Err(fail(SbError::new(
                        400202,
                        format!(
                            "\"Metacounter\" key already exists: {}.",
                            crate::scenario::quote(key)
                        ),
                    )));
                }
                self.set_counters(view.id, &values)?;
                Ok(json!(values))
            }
            Call::GetMetacounter { channel, keys } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let live = self.counter_keys(view.id);
                let values = self.counter_values(view.id);
                let out: Map<String, Value> = live
                    .iter()
                    .filter(|k| keys.as_ref().is_none_or(|ks| ks.contains(k)))
                    .map(|k| (k.clone(), json!(values.get(k).copied().unwrap_or(0))))
                    .collect();
                Ok(Value::Object(out))
            }
            Call::UpdateMetacounter {
                channel,
                values,
                mode,
                upsert,
            } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let live = self.counter_keys(view.id);
                if !upsert && let Some(key) = values.keys().find(|k| !live.contains(*k)) {
                    return Err(fail(SbError::not_found("Metacounter", key)));
                }
                let current = self.counter_values(view.id);
                let mut targets = BTreeMap::new();
                for (key, value) in &values {
                    let old = current.get(key).copied().unwrap_or(0);
                    let new = match mode {
                        MetacounterMode::Set => Some(*value),
                        MetacounterMode::Increase => old.checked_add(*value),
                        MetacounterMode::Decrease => old.checked_sub(*value),
                    };
                    let new = new.ok_or_else(|| {
                        fail(SbError::invalid("metacounter", format!("{key} overflows")))
                    })?;
                    targets.insert(key.clone(), new);
                }
                self.set_counters(view.id, &targets)?;
                Ok(json!(targets))
            }
            Call::DeleteMetacounter { channel, key } => {
                let view = self.channel_view(&channel).map_err(fail)?;
                let live = self.counter_keys(view.id);
                let keys: Vec<String> = match key {
                    Some(key) if live.contains(&key) => vec![key],
                    Some(key) => return Err(fail(SbError::not_found("Metacounter", &key))),
                    None => live.iter().cloned().collect(),
                };
                let zeros = keys.iter().map(|k| (k.clone(), 0)).collect();
                self.set_counters(view.id, &zeros)?;
                let extras = self.extras_mut();
                let mut live = extras.counters.get(&view.id).cloned().unwrap_or_default();
                for key in &keys {
                    live.remove(key);
                }
                extras.counters.insert(view.id, live);
                Ok(json!({}))
            }
        }
    }

    // ---- users ----

    /// The identities that exist (not deleted), oldest first.
    fn live_users(&self) -> Vec<String> {
        let state = self.service.world.simulator().state();
        (1..)
            .map(|n| state.user(UserId(n)))
            .take_while(Option::is_some)
            .flatten()
            .filter(|u| !u.deleted)
            .map(|u| u.id.to_string())
            .collect()
    }

    fn live_user(&self, user_id: &str) -> Result<UserId, SbError> {
        let state = self.service.world.simulator().state();
        state
            .user_id(user_id)
            .filter(|u| state.user(*u).is_some_and(|u| !u.deleted))
            .ok_or_else(|| SbError::not_found("User", user_id))
    }

    fn profile(&self, user_id: &str) -> UserProfile {
        self.extras()
            .users
            .get(user_id)
            .cloned()
            .unwrap_or_default()
    }

    fn basic_user(&self, user_id: &str) -> Value {
        self.render().basic_user(user_id, &self.profile(user_id))
    }

    // ---- channels ----

    /// The live thread a channel URL names, or 400201.
    fn channel_view(&self, url: &str) -> Result<ThreadView, SbError> {
        thread_of_url(self.service, url)
            .and_then(|t| self.service.world.simulator().inspect().thread(t))
            .ok_or_else(|| SbError::not_found("Channel", url))
    }

    /// The live distinct channel whose members are exactly `user_ids` and
    /// `creator`, oldest first, if there is one.
    fn distinct_channel(&self, user_ids: &[String], creator: &str) -> Option<ThreadView> {
        let wanted: BTreeSet<&str> = user_ids
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(creator))
            .collect();
        self.service
            .world
            .simulator()
            .inspect()
            .threads()
            .into_iter()
            .filter(|t| self.channel_profile(t.id).distinct)
            .find(|t| {
                let members = self.member_ids(t.id);
                members.len() == wanted.len() && members.iter().all(|m| wanted.contains(m.as_str()))
            })
    }

    /// A `channel_url` the application chose: 4 to 100 letters, digits,
    /// `_` and `-`, not of the shape of the URLs this server makes, and not
    /// a live channel's (400202).
    fn check_new_url(&self, url: &str) -> Result<(), SbError> {
        let chars = url.chars().count();
        if !(4..=100).contains(&chars)
            || !url
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(SbError::invalid(
                "channel_url",
                "4 to 100 letters, digits, underscores or hyphens",
            ));
        }
        let taken = self.service.keys.app.parse_channel_url(url).is_some()
            || self.channel_view(url).is_ok();
        if taken {
            return Err(SbError::new(
                400202,
                format!(
                    "\"Channel\" already exists: {}.",
                    crate::scenario::quote(url)
                ),
            ));
        }
        Ok(())
    }

    fn channel_profile(&self, t: ThreadId) -> ChannelProfile {
        self.extras().channels.get(&t).cloned().unwrap_or_default()
    }

    fn member_ids(&self, t: ThreadId) -> Vec<String> {
        self.service
            .world
            .simulator()
            .inspect()
            .participants(t)
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.user.to_string())
            .collect()
    }

    fn is_member(&self, t: ThreadId, user: &str) -> bool {
        self.member_ids(t).iter().any(|m| m == user)
    }

    /// The member a channel's own changes act as: its longest-standing one.
    fn operator(&self, t: ThreadId) -> Result<String, SbError> {
        self.member_ids(t).into_iter().next().ok_or_else(|| {
            SbError::invalid(
                "channel_url",
                "the channel has no members left, and the simulator changes a channel \
                 through one of its members",
            )
        })
    }

    fn channel(&self, view: &ThreadView, created_by: Option<Value>, members: bool) -> Value {
        let members = members.then(|| {
            self.member_ids(view.id)
                .iter()
                .map(|u| self.render().member(u, &self.profile(u)))
                .collect()
        });
        let count = self
            .service
            .world
            .simulator()
            .state()
            .thread(view.id)
            .map_or(0, |t| t.messages.len() as u32);
        let last = (1..=count)
            .rev()
            .find(|seq| self.listed_message(view.id, *seq).is_some())
            .and_then(|seq| self.message_json(view.id, seq));
        let max = self.service.world.simulator().profile().message_bytes_max;
        self.render().channel(
            view,
            &self.channel_profile(view.id),
            created_by,
            members,
            last,
            max,
        )
    }

    // ---- messages ----

    fn listed_messages(&self, t: ThreadId) -> Vec<crate::core::MessageView> {
        self.service
            .world
            .simulator()
            .inspect()
            .messages(t)
            .unwrap_or_default()
            .into_iter()
            .filter(Render::listed)
            .collect()
    }

    /// Message `sequence` of thread `t`, if Sendbird would list it: O(1),
    /// where listing them all is O(messages).
    fn listed_message(&self, t: ThreadId, sequence: u32) -> Option<crate::core::MessageView> {
        let state = self.service.world.simulator().state();
        let thread = state.thread(t).filter(|th| th.deleted_at.is_none())?;
        let m = thread.message(sequence)?;
        Some(state.message_view(thread, sequence, m)).filter(Render::listed)
    }

    /// The sequence of the listed message a message id names, or 400201.
    fn message(&self, t: ThreadId, id: &str) -> Result<u32, SbError> {
        self.service
            .keys
            .app
            .parse_message_id(t, id)
            .filter(|s| self.listed_message(t, *s).is_some())
            .ok_or_else(|| SbError::not_found("Message", id))
    }

    fn author(&self, t: ThreadId, sequence: u32) -> String {
        self.listed_message(t, sequence)
            .map(|m| m.sender.to_string())
            .unwrap_or_default()
    }

    fn message_json(&self, t: ThreadId, sequence: u32) -> Option<Value> {
        let mut m = self.listed_message(t, sequence)?;
        if let Some((custom_type, data)) = self.extras().message_fields.get(&(t, sequence)) {
            for (key, value) in [(CUSTOM_TYPE_KEY, custom_type), (DATA_KEY, data)] {
                if let Some(value) = value {
                    m.metadata.insert(key.to_string(), value.clone());
                }
            }
        }
        let sender = self.basic_user(&m.sender);
        let url = channel_url(self.service, t);
        Some(self.render().message(t, &url, &m, sender))
    }

    /// Messages around a reference: up to `prev` sent before it, those sent
    /// at it (with `include`), then up to `next` sent after it, oldest first
    /// (newest first with `reverse`). The reference is `message_ts` (Unix ms)
    /// when given, else the message `message_id` names.
    fn list_messages(
        &self,
        t: ThreadId,
        message_ts: Option<i64>,
        message_id: Option<&str>,
        (prev, next): (u64, u64),
        include: bool,
        reverse: bool,
    ) -> Result<Value, SbError> {
        let messages = self.listed_messages(t);
        let render = self.render();
        // Each message's position against the reference: before, at, after.
        let key: Box<dyn Fn(&crate::core::MessageView) -> std::cmp::Ordering> =
            match (message_ts, message_id) {
                (Some(ts), _) => Box::new(move |m| {
                    render
                        .epoch
                        .unix_ms(crate::time::Instant(m.created_at_ms))
                        .cmp(&ts)
                }),
                (None, Some(id)) => {
                    let id: u64 = id
                        .parse()
                        .map_err(|_| SbError::new(400101, "\"message_id\" must be an integer."))?;
                    let app = render.app;
                    Box::new(move |m| app.message_id(t, m.sequence_id).cmp(&id))
                }
                (None, None) => return Err(SbError::missing("message_ts")),
            };
        use std::cmp::Ordering::{Equal, Greater, Less};
        let before: Vec<&crate::core::MessageView> =
            messages.iter().filter(|m| key(m) == Less).collect();
        let skip = before.len().saturating_sub(prev as usize);
        let mut chosen: Vec<&crate::core::MessageView> = before[skip..].to_vec();
        chosen.extend(messages.iter().filter(|m| include && key(m) == Equal));
        chosen.extend(
            messages
                .iter()
                .filter(|m| key(m) == Greater)
                .take(next as usize),
        );
        if reverse {
            chosen.reverse();
        }
        let out: Vec<Value> = chosen
            .iter()
            .filter_map(|m| self.message_json(t, m.sequence_id))
            .collect();
        Ok(json!({ "messages": out }))
    }

    // ---- metacounters ----

    fn counter_keys(&self, t: ThreadId) -> BTreeSet<String> {
        self.extras().counters.get(&t).cloned().unwrap_or_default()
    }

    fn counter_values(&self, t: ThreadId) -> BTreeMap<String, i64> {
        self.service
            .world
            .simulator()
            .state()
            .thread(t)
            .map(|th| {
                th.metacounters
                    .iter()
                    .map(|(k, v)| (k.to_string(), *v))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets each counter to its target, one `update_metacounter` step per
    /// counter (acting as the channel's operator), and marks the keys as
    /// existing; all or nothing.
    fn set_counters(
        &mut self,
        t: ThreadId,
        targets: &BTreeMap<String, i64>,
    ) -> Result<(), Response> {
        let current = self.counter_values(t);
        let operator = self.operator(t).map_err(|e| error(&e))?;
        self.atomically(|h| {
            for (key, target) in targets {
                let old = current.get(key).copied().unwrap_or(0);
                let delta = target.checked_sub(old).ok_or_else(|| {
                    error(&SbError::invalid("metacounter", format!("{key} overflows")))
                })?;
                let step = json!({"thread": t.to_string(), "key": key, "delta": delta});
                h.run(step_fields("update_metacounter", Some(&operator), step))?;
                let extras = h.extras_mut();
                let mut live = extras.counters.get(&t).cloned().unwrap_or_default();
                live.insert(key.clone());
                extras.counters.insert(t, live);
            }
            Ok(())
        })
    }

    /// Runs a call of several steps all or nothing: when one is refused, the
    /// world (its simulator, recording and extras) is as it was before the
    /// first, and the refusal is the answer. A world is O(1) to copy but for
    /// the names the recording keeps.
    fn atomically<T>(
        &mut self,
        steps: impl FnOnce(&mut Self) -> Result<T, Response>,
    ) -> Result<T, Response> {
        let before = self.service.world.clone();
        let outcome = steps(self);
        if outcome.is_err() {
            self.service.world = before;
        }
        outcome
    }

    // ---- paging ----

    /// One page of `items` from the request's `token`, and the `next` token
    /// (empty on the last page), as Sendbird pages its lists.
    fn page<'i, T>(&self, items: &'i [T], page: &PageQuery) -> Result<(&'i [T], String), SbError> {
        let profile = self.service.world.simulator().profile();
        let max = u64::from(profile.page_size_max);
        let limit = page.limit.unwrap_or(u64::from(profile.page_size_default));
        if !(1..=max).contains(&limit) {
            return Err(SbError::invalid(
                "limit",
                format!("{limit} is not from 1 to {max}"),
            ));
        }
        let start = match &page.token {
            None => 0,
            Some(token) => self
                .service
                .keys
                .app
                .parse_page_token(token)
                .ok_or_else(|| {
                    SbError::new(
                        400109,
                        format!(
                            "Invalid value: \"token\": {} is no page of this application.",
                            crate::scenario::quote(token)
                        ),
                    )
                })?,
        };
        let start = start.min(items.len());
        let end = start.saturating_add(limit as usize).min(items.len());
        let next = if end < items.len() {
            self.service.keys.app.page_token(end)
        } else {
            String::new()
        };
        Ok((&items[start..end], next))
    }
}
