//! Twilio Conversations v1 over the simulator: each request is authenticated
//! (HTTP Basic with the account SID and auth token), routed and read by
//! `wire::twilio_rest::request`, turned into the scenario steps that do the
//! same, run on the world, and answered in Twilio's shapes by
//! `wire::twilio_rest::response`.
//!
//! The REST API acts as the trusted service, which the simulator's chat calls
//! cannot name: the server acts as the identity [`SERVICE_IDENTITY`]
//! (`system`, the author Twilio gives a message sent without `Author`),
//! created by the first request that needs it and made the creator of every
//! conversation the API creates. It is left out of every answer (the
//! participants listed, the users). A message with `Author` naming an
//! identity is sent as that identity; a message is edited or deleted as its
//! sender.
//!
//! What the simulator cannot even name (a SID of another account, a path
//! Twilio does not have, a parameter the resource does not take, a malformed
//! body) is answered here and not recorded. Listings run the core's listing
//! as the recorded step (its access checks, page-size rule and rate limits)
//! and cut Twilio's page, by offset, from the state at the same instant.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::webhooks::{self, Hooks, Phase};
use super::world::step_fields;
use super::{Request, Response, Service};
use crate::core::{Error, MessageKind, MessageView, OutboxFilter, Reply, ThreadView};
use crate::id::{MessageId, ThreadId, UserId};
use crate::rules::Channel;
use crate::scenario::StepOutcome;
use crate::wire::twilio_rest::response::{PageAt, ParticipantFacts, index_of};
use crate::wire::twilio_rest::{Form, Member, PageQuery, Render, Resource, TwilioError, request};

/// The identity the REST API acts as (Twilio's author of messages sent
/// without `Author`). Reserved: a participant or user of this identity is refused.
pub const SERVICE_IDENTITY: &str = "system";

/// Answers one request to Twilio Conversations v1.
pub(super) fn handle(service: &mut Service, req: &Request, hooks: &mut dyn Hooks) -> Response {
    if !authenticated(service, req) {
        return wire_error(&TwilioError::unauthenticated());
    }
    let Some(route) = request::route(&req.path) else {
        return wire_error(&TwilioError::not_found(&req.path_for_errors()));
    };
    if let Some(sid) = &route.service
        && *sid != service.twilio.service_sid
    {
        return wire_error(&TwilioError::not_found(&format!("Service {sid}")));
    }
    let query = match Form::parse(req.query.as_deref().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return wire_error(&e),
    };
    if route.resource == Resource::Media && req.method == "POST" {
        return upload(service, req, route.service.is_some());
    }
    let body = match Form::body(req.header("content-type"), &req.body) {
        Ok(b) => b,
        Err(e) => return wire_error(&e),
    };
    let base = service.base_url(req);
    // REST calls fire webhooks only when asked to (Twilio's
    // `X-Twilio-Webhook-Enabled: true`).
    let webhooks_enabled = req
        .header("x-twilio-webhook-enabled")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut handler = Handler {
        service,
        hooks,
        webhooks_enabled,
        base,
        service_scoped: route.service.is_some(),
        query,
        body,
    };
    let before = webhooks::watch(handler.service);
    let response = match handler.dispatch(&req.method, route.resource) {
        Ok(response) | Err(response) => response,
    };
    // State changes the action caused (a State update, a message waking an
    // inactive conversation): onConversationStateUpdated.
    if webhooks_enabled {
        webhooks::trace_webhooks(service, hooks, before);
    }
    response
}

impl Request {
    /// The path cut to a bound, for error messages.
    fn path_for_errors(&self) -> String {
        crate::scenario::quote(&self.path)
    }
}

/// Whether the request carries HTTP Basic credentials of this account.
fn authenticated(service: &Service, req: &Request) -> bool {
    let Some(encoded) = req.header("authorization").and_then(|a| {
        a.strip_prefix("Basic ")
            .or_else(|| a.strip_prefix("basic "))
    }) else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{}:{}", service.twilio.sid, service.twilio.auth_token);
    decoded == expected.as_bytes()
}

fn wire_error(e: &TwilioError) -> Response {
    Response::json(e.status, e.body())
}

/// An error of the simulator as Twilio answers it; a 429 carries
/// `Retry-After` in whole seconds, rounded up. A conversation, message or
/// user that is not there is Twilio's REST 20404.
pub(super) fn refusal(error: &Error) -> Response {
    let mut body = crate::wire::twilio::render_error(error);
    if matches!(
        error,
        Error::ThreadNotFound { .. } | Error::MessageNotFound { .. } | Error::UserNotFound { .. }
    ) {
        body["code"] = json!(20404);
        body["more_info"] = json!("https://www.twilio.com/docs/errors/20404");
    }
    let mut response = Response::json(error.status(), body);
    if let Some(ms) = error.retry_after_ms() {
        response
            .headers
            .push(("retry-after".into(), ms.div_ceil(1000).to_string()));
    }
    response
}

/// A parameter the simulator does not model: refused whole, never ignored.
fn unsupported(name: &str) -> Response {
    wire_error(&TwilioError::bad_request(&format!(
        "{name} is not supported by this simulator."
    )))
}

/// The parameters a resource takes that the simulator does not model: each
/// is refused unless empty (or `{}` for `Attributes`).
fn refuse_unmodelled(form: &Form, names: &[&str]) -> Result<(), Response> {
    for name in names {
        if let Some(value) = form.get(name) {
            let neutral = value.is_empty() || (*name == "Attributes" && value.trim() == "{}");
            if !neutral {
                return Err(unsupported(name));
            }
        }
    }
    Ok(())
}

/// A listing: its recorded step (`op` and fields), Twilio's key for its
/// items, its path after the prefix and its own query parameters.
struct Listing<'a> {
    op: &'a str,
    step: Value,
    key: &'a str,
    path: &'a str,
    extra: &'a str,
}

struct Handler<'a> {
    service: &'a mut Service,
    hooks: &'a mut dyn Hooks,
    webhooks_enabled: bool,
    base: String,
    service_scoped: bool,
    query: Form,
    body: Form,
}

impl Handler<'_> {
    fn render(&self) -> Render<'_> {
        Render {
            account: &self.service.twilio,
            epoch: self.service.epoch,
            base: &self.base,
            service_scoped: self.service_scoped,
        }
    }

    fn dispatch(&mut self, method: &str, resource: Resource) -> Result<Response, Response> {
        match (method, resource) {
            ("POST", Resource::Conversations) => self.create_conversation(),
            ("GET", Resource::Conversations) => self.list_conversations(),
            ("GET", Resource::Conversation(c)) => {
                let t = self.conversation(&c)?;
                let view = self.fetch_conversation(t)?;
                Ok(Response::json(200, self.conversation_json(&view)))
            }
            ("POST", Resource::Conversation(c)) => {
                let t = self.conversation(&c)?;
                self.update_conversation(t)
            }
            ("DELETE", Resource::Conversation(c)) => {
                let t = self.conversation(&c)?;
                self.delete_conversation(t)
            }
            ("POST", Resource::Participants(c)) => {
                let t = self.conversation(&c)?;
                self.add_participant(t)
            }
            ("GET", Resource::Participants(c)) => {
                let t = self.conversation(&c)?;
                self.list_participants(t)
            }
            ("GET", Resource::Participant(c, p)) => {
                let (t, member) = self.participant(&c, &p)?;
                self.fetch_conversation(t)?;
                self.participant_response(t, member, 200)
            }
            ("POST", Resource::Participant(c, p)) => {
                let (t, member) = self.participant(&c, &p)?;
                self.update_participant(t, member)
            }
            ("DELETE", Resource::Participant(c, p)) => {
                let (t, member) = self.participant(&c, &p)?;
                self.remove_participant(t, member)
            }
            ("POST", Resource::Messages(c)) => {
                let t = self.conversation(&c)?;
                self.send_message(t)
            }
            ("GET", Resource::Messages(c)) => {
                let t = self.conversation(&c)?;
                self.list_messages(t)
            }
            ("GET", Resource::Message(c, m)) => {
                let m = self.message(&c, &m)?;
                let view = self.fetch_message(m)?;
                Ok(Response::json(200, self.message_json(m.thread, &view)))
            }
            ("POST", Resource::Message(c, m)) => {
                let m = self.message(&c, &m)?;
                self.update_message(m)
            }
            ("DELETE", Resource::Message(c, m)) => {
                let m = self.message(&c, &m)?;
                self.delete_message(m)
            }
            ("GET", Resource::Receipts(c, m)) => {
                let m = self.message(&c, &m)?;
                self.list_receipts(m)
            }
            ("GET", Resource::Receipt(c, m, r)) => {
                let m = self.message(&c, &m)?;
                self.fetch_receipt(m, &r)
            }
            ("POST", Resource::Users) => self.create_user(),
            ("GET", Resource::Users) => self.list_users(),
            ("GET", Resource::User(u)) => {
                let id = self.user(&u)?;
                Ok(Response::json(200, self.user_json(id)))
            }
            ("POST", Resource::User(u)) => {
                let id = self.user(&u)?;
                self.body
                    .check_known(&["FriendlyName", "Attributes", "RoleSid"])
                    .map_err(|e| wire_error(&e))?;
                refuse_unmodelled(&self.body, &["FriendlyName", "Attributes", "RoleSid"])?;
                Ok(Response::json(200, self.user_json(id)))
            }
            ("DELETE", Resource::User(u)) => {
                let id = self.user(&u)?;
                let name = self.identity_of(id);
                let outcome =
                    self.run(step_fields("delete_user", None, json!({ "user": name })))?;
                self.empty(outcome)
            }
            ("GET", Resource::Medium(sid)) => {
                let found = self.service.twilio.parse_media(&sid).and_then(|n| {
                    let media = self.service.world.media.get(n as usize)?;
                    Some(self.render().medium(n, media))
                });
                found
                    .map(|v| Response::json(200, v))
                    .ok_or_else(|| wire_error(&TwilioError::not_found(&format!("Media {sid}"))))
            }
            ("GET", Resource::Webhooks) => {
                let config = self.service.world.webhooks.clone();
                Ok(Response::json(
                    200,
                    webhooks::config_json(&self.render(), &config),
                ))
            }
            ("POST", Resource::Webhooks) => {
                let config = webhooks::configure(
                    &self.service.world.webhooks,
                    &self.body,
                    self.service_scoped,
                )?;
                self.service.world.webhooks = config.clone();
                Ok(Response::json(
                    200,
                    webhooks::config_json(&self.render(), &config),
                ))
            }
            (method, _) => Err(wire_error(&TwilioError::new(
                405,
                20004,
                format!("Method {} not allowed", crate::scenario::quote(method)),
            ))),
        }
    }

    // ---- names: SIDs to the core's ids, or the 404 ----

    fn conversation(&self, sid: &str) -> Result<ThreadId, Response> {
        self.service
            .twilio
            .parse_conversation(sid)
            .ok_or_else(|| wire_error(&TwilioError::not_found(&format!("Conversation {sid}"))))
    }

    fn participant(&self, c: &str, p: &str) -> Result<(ThreadId, Member), Response> {
        let t = self.conversation(c)?;
        match self.service.twilio.parse_participant(p) {
            Some((pt, member)) if pt == t => Ok((t, member)),
            _ => Err(wire_error(&TwilioError::not_found(&format!(
                "Participant {p}"
            )))),
        }
    }

    fn message(&self, c: &str, m: &str) -> Result<MessageId, Response> {
        let t = self.conversation(c)?;
        match self.service.twilio.parse_message(m) {
            Some(id) if id.thread == t => Ok(id),
            _ => Err(wire_error(&TwilioError::not_found(&format!("Message {m}")))),
        }
    }

    /// A user by SID or identity (Twilio takes either), not deleted and not the service's.
    fn user(&self, name: &str) -> Result<UserId, Response> {
        let world = &self.service.world;
        let id = self
            .service
            .twilio
            .parse_user(name)
            .or_else(|| world.user(name));
        let state = world.simulator().state();
        id.filter(|id| {
            state
                .user(*id)
                .is_some_and(|u| !u.deleted && &*u.id != SERVICE_IDENTITY)
        })
        .ok_or_else(|| wire_error(&TwilioError::not_found(&format!("User {name}"))))
    }

    fn identity_of(&self, id: UserId) -> String {
        self.service
            .world
            .simulator()
            .state()
            .user(id)
            .map(|u| u.id.to_string())
            .unwrap_or_default()
    }

    // ---- running steps ----

    /// Runs `fields` as a step; a step the scenario format refuses is a 400.
    fn run(&mut self, fields: Map<String, Value>) -> Result<StepOutcome, Response> {
        self.service
            .world
            .step(fields)
            .map_err(|e| wire_error(&TwilioError::bad_request(&e.message)))
    }

    /// The reply of a successful outcome, or the refusal as Twilio answers it.
    fn reply(outcome: StepOutcome) -> Result<Reply, Response> {
        match outcome {
            StepOutcome::Reply { reply, .. } => Ok(reply),
            StepOutcome::Refused(e) => Err(refusal(&e)),
            StepOutcome::Items(_) | StepOutcome::Advanced => Ok(Reply::None),
        }
    }

    /// A 204, or the refusal.
    fn empty(&self, outcome: StepOutcome) -> Result<Response, Response> {
        Self::reply(outcome).map(|_| Response::empty(204))
    }

    /// Creates the service identity if the world has none yet.
    fn ensure_service(&mut self) -> Result<(), Response> {
        if self.service.world.user(SERVICE_IDENTITY).is_some() {
            return Ok(());
        }
        let step = json!({ "id": SERVICE_IDENTITY });
        Self::reply(self.run(step_fields("create_user", None, step))?).map(drop)
    }

    /// A page of a listing: the query's page, checked by `op`'s recorded
    /// step; `items` is the whole listing at this instant.
    /// `all` lists the items cheaply; only the page's are rendered.
    fn page<T>(
        &mut self,
        listing: Listing<'_>,
        all: impl FnOnce(&Self) -> Vec<T>,
        render: impl Fn(&Self, T) -> Value,
    ) -> Result<Response, Response> {
        let Listing {
            op,
            step,
            key,
            path,
            extra,
        } = listing;
        let default = self.service.world.simulator().profile().page_size_default;
        let page = PageQuery::read(&self.query, default).map_err(|e| wire_error(&e))?;
        let mut step = step;
        if let Some(size) = page.size {
            step["page_size"] = json!(size);
        }
        self.ensure_service()?;
        Self::reply(self.run(step_fields(op, Some(SERVICE_IDENTITY), step))?)?;
        let size = page.size.unwrap_or(default);
        let all = all(self);
        let offset = page.offset as usize;
        let more = offset.saturating_add(size as usize) < all.len();
        let items: Vec<Value> = all
            .into_iter()
            .skip(offset)
            .take(size as usize)
            .map(|item| render(self, item))
            .collect();
        let at = PageAt {
            path,
            extra,
            page: page.page,
            size,
            more,
        };
        Ok(Response::json(200, self.render().page(key, items, at)))
    }

    // ---- webhooks ----

    /// The pre-event webhook of a REST action (with
    /// `X-Twilio-Webhook-Enabled: true`): its refusal, if it refuses.
    fn pre(&mut self, event: &str, params: Vec<(String, String)>) -> Result<(), Response> {
        if !self.webhooks_enabled {
            return Ok(());
        }
        let status = webhooks::fire(self.service, self.hooks, Phase::Pre, event, "API", params);
        match webhooks::refused_by(status, event) {
            Some(e) => Err(wire_error(&e)),
            None => Ok(()),
        }
    }

    /// The post-event webhook of a REST action that happened.
    fn post(&mut self, event: &str, params: Vec<(String, String)>) {
        if self.webhooks_enabled {
            webhooks::fire(self.service, self.hooks, Phase::Post, event, "API", params);
        }
    }

    /// The form's parameters as webhook parameters, after `first`.
    fn with_form(&self, first: Vec<(String, String)>) -> Vec<(String, String)> {
        let mut params = first;
        params.extend(self.body.pairs().iter().cloned());
        params
    }

    fn conversation_params(&self, view: &ThreadView) -> Vec<(String, String)> {
        let json = self.conversation_json(view);
        let text = |key: &str| json[key].as_str().unwrap_or_default().to_string();
        vec![
            ("ConversationSid".into(), text("sid")),
            ("FriendlyName".into(), text("friendly_name")),
            ("Attributes".into(), text("attributes")),
            ("State".into(), text("state")),
            ("DateCreated".into(), text("date_created")),
        ]
    }

    fn participant_params(&self, t: ThreadId, p: &ParticipantFacts) -> Vec<(String, String)> {
        let json = self.render().participant(t, p);
        let mut params = vec![
            (
                "ConversationSid".into(),
                self.service.twilio.conversation(t),
            ),
            (
                "ParticipantSid".into(),
                json["sid"].as_str().unwrap_or_default().to_string(),
            ),
            (
                "DateCreated".into(),
                json["date_created"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ),
            ("Attributes".into(), "{}".into()),
        ];
        if let Some(identity) = &p.identity {
            params.push(("Identity".into(), identity.clone()));
        }
        if let Some(b) = json["messaging_binding"].as_object() {
            for (key, param) in [
                ("type", "MessagingBinding.Type"),
                ("address", "MessagingBinding.Address"),
                ("proxy_address", "MessagingBinding.ProxyAddress"),
            ] {
                if let Some(v) = b.get(key).and_then(Value::as_str) {
                    params.push((param.into(), v.to_string()));
                }
            }
        }
        params
    }

    // ---- conversations ----

    fn conversation_json(&self, view: &ThreadView) -> Value {
        let updated = self.updated_ms(view.id).max(view.created_at_ms);
        self.render().conversation(view, updated)
    }

    /// When a conversation last changed: its last message or notice.
    fn updated_ms(&self, t: ThreadId) -> u64 {
        let state = self.service.world.simulator().state();
        state.thread(t).map_or(0, |th| {
            let message = th.messages.last().map_or(0, |m| m.created_at.ms());
            let notice = th.notices.last().map_or(0, |n| n.at.ms());
            message.max(notice)
        })
    }

    fn fetch_conversation(&mut self, t: ThreadId) -> Result<ThreadView, Response> {
        self.ensure_service()?;
        let step = json!({ "thread": t.to_string() });
        match Self::reply(self.run(step_fields("get_thread", Some(SERVICE_IDENTITY), step))?)? {
            Reply::Thread(view) => Ok(*view),
            _ => Err(wire_error(&TwilioError::not_found("Conversation"))),
        }
    }

    /// `State`, `Timers.Inactive` and `Timers.Closed` as step fields.
    fn lifecycle_fields(&self, step: &mut Value) {
        if let Some(state) = self.body.get("State") {
            step["state"] = json!(state);
        }
        let mut timers = Map::new();
        for (param, key) in [("Timers.Inactive", "inactive"), ("Timers.Closed", "closed")] {
            if let Some(value) = self.body.get(param) {
                timers.insert(key.into(), json!(value));
            }
        }
        if !timers.is_empty() {
            step["timers"] = Value::Object(timers);
        }
    }

    fn create_conversation(&mut self) -> Result<Response, Response> {
        const KNOWN: [&str; 11] = [
            "FriendlyName",
            "UniqueName",
            "DateCreated",
            "DateUpdated",
            "MessagingServiceSid",
            "Attributes",
            "State",
            "Timers.Inactive",
            "Timers.Closed",
            "Bindings.Email.Address",
            "Bindings.Email.Name",
        ];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &[
                "UniqueName",
                "DateCreated",
                "DateUpdated",
                "MessagingServiceSid",
                "Attributes",
                "Bindings.Email.Address",
                "Bindings.Email.Name",
            ],
        )?;
        self.ensure_service()?;
        // The simulator's threads have a topic; a conversation without a
        // FriendlyName takes its own SID, which Twilio's answers show as null.
        let next = self.service.world.simulator().state().next_thread_id();
        let topic = match self.body.get("FriendlyName") {
            Some(name) => name.to_string(),
            None => self.service.twilio.conversation(next),
        };
        let mut step = json!({ "topic": topic });
        self.lifecycle_fields(&mut step);
        self.pre("onConversationAdd", self.with_form(Vec::new()))?;
        match Self::reply(self.run(step_fields("create_thread", Some(SERVICE_IDENTITY), step))?)? {
            Reply::ThreadCreated { thread, .. } => {
                self.post("onConversationAdded", self.conversation_params(&thread));
                Ok(Response::json(201, self.conversation_json(&thread)))
            }
            _ => Err(wire_error(&TwilioError::not_found("Conversation"))),
        }
    }

    fn update_conversation(&mut self, t: ThreadId) -> Result<Response, Response> {
        const KNOWN: [&str; 9] = [
            "FriendlyName",
            "DateCreated",
            "DateUpdated",
            "Attributes",
            "MessagingServiceSid",
            "State",
            "Timers.Inactive",
            "Timers.Closed",
            "UniqueName",
        ];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &[
                "DateCreated",
                "DateUpdated",
                "Attributes",
                "MessagingServiceSid",
                "UniqueName",
            ],
        )?;
        self.ensure_service()?;
        let mut step = json!({ "thread": t.to_string() });
        if let Some(name) = self.body.get("FriendlyName") {
            step["topic"] = json!(name);
        }
        self.lifecycle_fields(&mut step);
        let sid = self.service.twilio.conversation(t);
        self.pre(
            "onConversationUpdate",
            self.with_form(vec![("ConversationSid".into(), sid.clone())]),
        )?;
        Self::reply(self.run(step_fields("update_thread", Some(SERVICE_IDENTITY), step))?)?;
        let view = self
            .service
            .world
            .simulator()
            .inspect()
            .thread(t)
            .ok_or_else(|| wire_error(&TwilioError::not_found("Conversation")))?;
        self.post("onConversationUpdated", self.conversation_params(&view));
        Ok(Response::json(200, self.conversation_json(&view)))
    }

    fn delete_conversation(&mut self, t: ThreadId) -> Result<Response, Response> {
        self.ensure_service()?;
        let view = self.service.world.simulator().inspect().thread(t);
        let params = match &view {
            Some(view) => self.conversation_params(view),
            None => vec![(
                "ConversationSid".into(),
                self.service.twilio.conversation(t),
            )],
        };
        self.pre("onConversationRemove", params.clone())?;
        let step = json!({ "thread": t.to_string() });
        let outcome = self.run(step_fields("delete_thread", Some(SERVICE_IDENTITY), step))?;
        let response = self.empty(outcome)?;
        self.post("onConversationRemoved", params);
        Ok(response)
    }

    fn list_conversations(&mut self) -> Result<Response, Response> {
        self.query
            .check_known(&[
                "PageSize",
                "Page",
                "PageToken",
                "State",
                "StartDate",
                "EndDate",
            ])
            .map_err(|e| wire_error(&e))?;
        let state_filter = self.query.get("State").map(str::to_string);
        let extra = state_filter
            .as_ref()
            .map_or(String::new(), |s| format!("State={s}&"));
        if self.query.get("StartDate").is_some() || self.query.get("EndDate").is_some() {
            return Err(unsupported("Listing conversations by StartDate or EndDate"));
        }
        self.page(
            Listing {
                op: "list_threads",
                step: json!({}),
                key: "conversations",
                path: "/Conversations",
                extra: &extra,
            },
            |h| {
                h.service
                    .world
                    .simulator()
                    .inspect()
                    .threads()
                    .iter()
                    .filter(|v| v.deleted_at_ms.is_none())
                    .filter(|v| state_filter.as_deref().is_none_or(|s| v.state.name() == s))
                    .cloned()
                    .collect()
            },
            |h, v| h.conversation_json(&v),
        )
    }

    // ---- participants ----

    /// The facts of a participant of `t`, if it is current.
    fn participant_facts(&self, t: ThreadId, member: Member) -> Option<ParticipantFacts> {
        let state = self.service.world.simulator().state();
        let th = state.thread(t).filter(|th| th.deleted_at.is_none())?;
        match member {
            Member::Chat(user) => {
                let m = th
                    .memberships
                    .iter()
                    .rev()
                    .find(|m| m.user == user && m.until.is_none())?;
                let identity = state.user(user)?.id.to_string();
                if identity == SERVICE_IDENTITY {
                    return None;
                }
                let joined = th
                    .notices
                    .get(m.from_notice as usize)
                    .map_or(m.history_from.ms(), |n| n.at.ms());
                let last_read = th
                    .read_receipts
                    .get(&user)
                    .map(|(seq, at)| (index_of(*seq), at.ms()));
                Some(ParticipantFacts {
                    member,
                    identity: Some(identity),
                    binding: None,
                    joined_ms: joined,
                    last_read,
                })
            }
            Member::Binding(i) => {
                let b = th.bindings.get(i as usize).filter(|b| b.is_current())?;
                Some(ParticipantFacts {
                    member,
                    identity: None,
                    binding: Some((b.channel, b.address.to_string(), b.proxy.to_string())),
                    joined_ms: b.joined_at.ms(),
                    last_read: None,
                })
            }
        }
    }

    /// Every current participant of `t` but the service: chat
    /// participants in the order they joined, then SMS/WhatsApp ones.
    fn all_participants(&self, t: ThreadId) -> Vec<ParticipantFacts> {
        let state = self.service.world.simulator().state();
        let Some(th) = state.thread(t) else {
            return Vec::new();
        };
        let chat = th
            .current_memberships()
            .into_iter()
            .map(|m| Member::Chat(m.user));
        let bindings = (0..th.bindings.len() as u32).map(Member::Binding);
        chat.chain(bindings)
            .filter_map(|m| self.participant_facts(t, m))
            .collect()
    }

    fn participant_response(
        &self,
        t: ThreadId,
        member: Member,
        status: u16,
    ) -> Result<Response, Response> {
        let facts = self.participant_facts(t, member).ok_or_else(|| {
            wire_error(&TwilioError::not_found(&format!(
                "Participant {}",
                self.service.twilio.participant(t, member)
            )))
        })?;
        Ok(Response::json(status, self.render().participant(t, &facts)))
    }

    fn add_participant(&mut self, t: ThreadId) -> Result<Response, Response> {
        const KNOWN: [&str; 8] = [
            "Identity",
            "MessagingBinding.Address",
            "MessagingBinding.ProxyAddress",
            "MessagingBinding.ProjectedAddress",
            "DateCreated",
            "DateUpdated",
            "Attributes",
            "RoleSid",
        ];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &[
                "MessagingBinding.ProjectedAddress",
                "DateCreated",
                "DateUpdated",
                "Attributes",
                "RoleSid",
            ],
        )?;
        self.ensure_service()?;
        let identity = self.body.get("Identity").map(str::to_string);
        let address = self
            .body
            .get("MessagingBinding.Address")
            .map(str::to_string);
        let proxy = self
            .body
            .get("MessagingBinding.ProxyAddress")
            .map(str::to_string);
        let participant = match (&identity, &address) {
            (Some(identity), None) => {
                if identity == SERVICE_IDENTITY {
                    return Err(wire_error(&TwilioError::bad_request(&format!(
                        "Identity {SERVICE_IDENTITY:?} is reserved by this simulator for the REST API's own actions."
                    ))));
                }
                // Twilio refuses a second participant of one identity (50433).
                let state = self.service.world.simulator().state();
                let current = state
                    .user_id(identity)
                    .and_then(|u| state.thread(t).map(|th| th.is_participant(u)));
                if current == Some(true) {
                    return Err(wire_error(&TwilioError::new(
                        409,
                        50433,
                        "Participant already exists",
                    )));
                }
                // Twilio creates the User of a new identity (Conversations' User resource).
                if self.service.world.user(identity).is_none() {
                    let step = json!({ "id": identity });
                    Self::reply(self.run(step_fields("create_user", None, step))?)?;
                }
                json!(identity)
            }
            (None, Some(address)) => {
                let Some(proxy) = proxy else {
                    return Err(wire_error(&TwilioError::bad_request(
                        "MessagingBinding.ProxyAddress is required with MessagingBinding.Address.",
                    )));
                };
                if address.starts_with("whatsapp:") {
                    json!({"whatsapp": address, "proxy": proxy})
                } else {
                    json!({"sms": address, "proxy": proxy})
                }
            }
            _ => {
                return Err(wire_error(&TwilioError::bad_request(
                    "A participant is either Identity (chat) or MessagingBinding.Address (SMS, WhatsApp).",
                )));
            }
        };
        let step = json!({"thread": t.to_string(), "participants": [participant]});
        let sid = self.service.twilio.conversation(t);
        self.pre(
            "onParticipantAdd",
            self.with_form(vec![("ConversationSid".into(), sid)]),
        )?;
        let reply = Self::reply(self.run(step_fields(
            "add_participants",
            Some(SERVICE_IDENTITY),
            step,
        ))?)?;
        if let Reply::ParticipantsAdded {
            invalid_participants,
        } = &reply
            && let Some(invalid) = invalid_participants.first()
        {
            return Err(wire_error(&TwilioError::new(
                409,
                50433,
                format!("Participant could not be added: {}", invalid.message),
            )));
        }
        let state = self.service.world.simulator().state();
        let member = match (&identity, &address) {
            (Some(identity), _) => state.user_id(identity).map(Member::Chat),
            (None, Some(address)) => {
                let channel = if address.starts_with("whatsapp:") {
                    Channel::Whatsapp
                } else {
                    Channel::Sms
                };
                let bare = address.trim_start_matches("whatsapp:");
                state
                    .thread(t)
                    .and_then(|th| th.binding_of(channel, bare))
                    .map(|i| Member::Binding(i as u32))
            }
            _ => None,
        };
        if let Some(facts) = member.and_then(|m| self.participant_facts(t, m)) {
            self.post("onParticipantAdded", self.participant_params(t, &facts));
        }
        match member {
            Some(member) => self.participant_response(t, member, 201),
            None => Err(wire_error(&TwilioError::not_found("Participant"))),
        }
    }

    fn list_participants(&mut self, t: ThreadId) -> Result<Response, Response> {
        self.query
            .check_known(&["PageSize", "Page", "PageToken"])
            .map_err(|e| wire_error(&e))?;
        let path = format!(
            "/Conversations/{}/Participants",
            self.service.twilio.conversation(t)
        );
        self.page(
            Listing {
                op: "list_participants",
                step: json!({ "thread": t.to_string() }),
                key: "participants",
                path: &path,
                extra: "",
            },
            |h| h.all_participants(t),
            |h, p| h.render().participant(t, &p),
        )
    }

    fn update_participant(&mut self, t: ThreadId, member: Member) -> Result<Response, Response> {
        const KNOWN: [&str; 9] = [
            "DateCreated",
            "DateUpdated",
            "Attributes",
            "RoleSid",
            "MessagingBinding.ProxyAddress",
            "MessagingBinding.ProjectedAddress",
            "Identity",
            "LastReadMessageIndex",
            "LastReadTimestamp",
        ];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &[
                "DateCreated",
                "DateUpdated",
                "Attributes",
                "RoleSid",
                "MessagingBinding.ProxyAddress",
                "MessagingBinding.ProjectedAddress",
                "Identity",
                "LastReadTimestamp",
            ],
        )?;
        self.fetch_conversation(t)?;
        let facts = self
            .participant_facts(t, member)
            .ok_or_else(|| wire_error(&TwilioError::not_found("Participant")))?;
        let index = self
            .body
            .number("LastReadMessageIndex")
            .map_err(|e| wire_error(&e))?;
        let mut params = self.participant_params(t, &facts);
        params.extend(self.body.pairs().iter().cloned());
        self.pre("onParticipantUpdate", params)?;
        if let Some(index) = index {
            // A read horizon is the participant's read receipt up to that message.
            let Some(identity) = facts.identity.as_deref() else {
                return Err(unsupported(
                    "LastReadMessageIndex of an SMS or WhatsApp participant",
                ));
            };
            let step =
                json!({"thread": t.to_string(), "message": format!("m{}", u64::from(index) + 1)});
            Self::reply(self.run(step_fields("send_read_receipt", Some(identity), step))?)?;
        }
        if let Some(facts) = self.participant_facts(t, member) {
            self.post("onParticipantUpdated", self.participant_params(t, &facts));
        }
        self.participant_response(t, member, 200)
    }

    fn remove_participant(&mut self, t: ThreadId, member: Member) -> Result<Response, Response> {
        self.ensure_service()?;
        let facts = self.participant_facts(t, member);
        let params = facts
            .as_ref()
            .map(|f| self.participant_params(t, f))
            .unwrap_or_default();
        let name = match facts {
            Some(ParticipantFacts {
                identity: Some(identity),
                ..
            }) => identity,
            Some(ParticipantFacts {
                binding: Some((channel, address, _)),
                ..
            }) => match channel {
                Channel::Whatsapp => {
                    format!("whatsapp:{}", address.trim_start_matches("whatsapp:"))
                }
                Channel::Sms => address,
            },
            _ => {
                // Not a current participant: the core answers (a deleted
                // conversation's 404 first).
                self.fetch_conversation(t)?;
                return Err(wire_error(&TwilioError::not_found("Participant")));
            }
        };
        self.pre("onParticipantRemove", params.clone())?;
        let step = json!({"thread": t.to_string(), "participant": name});
        let outcome = self.run(step_fields(
            "remove_participant",
            Some(SERVICE_IDENTITY),
            step,
        ))?;
        let response = self.empty(outcome)?;
        self.post("onParticipantRemoved", params);
        Ok(response)
    }

    // ---- messages ----

    fn message_json(&self, t: ThreadId, view: &MessageView) -> Value {
        let (author, sid) = author_of(self.service, t, view);
        // An uploaded medium shows its upload's SID; another (inbound) one its own.
        let uploads = &self.service.world.media;
        let id = MessageId {
            thread: t,
            sequence: view.sequence_id,
        };
        let media_sids: Vec<String> = view
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| match uploads.index_of(m) {
                Some(n) => self.service.twilio.media(n as u32),
                None => self.service.twilio.inbound_media(id, i as u32),
            })
            .collect();
        self.render().message(t, view, &author, sid, &media_sids)
    }

    /// Whether Twilio shows the message: a participant's, not deleted.
    fn shown(view: &MessageView) -> bool {
        matches!(view.kind, MessageKind::Text | MessageKind::Html) && view.deleted_at_ms.is_none()
    }

    /// One message's view, built alone (not the whole log's).
    fn message_view(&self, m: MessageId) -> Option<MessageView> {
        let state = self.service.world.simulator().state();
        let th = state.thread(m.thread).filter(|t| t.deleted_at.is_none())?;
        let message = th.message(m.sequence)?;
        Some(state.message_view(th, m.sequence, message))
    }

    fn fetch_message(&mut self, m: MessageId) -> Result<MessageView, Response> {
        self.ensure_service()?;
        let step = message_step(m);
        match Self::reply(self.run(step_fields("get_message", Some(SERVICE_IDENTITY), step))?)? {
            Reply::Message(view) if Self::shown(&view) => Ok(*view),
            _ => Err(wire_error(&TwilioError::not_found(&format!(
                "Message {}",
                self.service.twilio.message(m)
            )))),
        }
    }

    /// `Attributes` as message metadata: a JSON object of strings.
    fn attributes(&self) -> Result<Option<Value>, Response> {
        let Some(text) = self.body.get("Attributes") else {
            return Ok(None);
        };
        let parsed: Option<Map<String, Value>> = serde_json::from_str(text).ok();
        match parsed {
            Some(map) if map.values().all(Value::is_string) => {
                Ok((!map.is_empty()).then_some(Value::Object(map)))
            }
            _ => Err(wire_error(&TwilioError::bad_request(
                "Attributes must be a JSON object of strings in this simulator (message metadata).",
            ))),
        }
    }

    fn send_message(&mut self, t: ThreadId) -> Result<Response, Response> {
        const KNOWN: [&str; 9] = [
            "Author",
            "Body",
            "DateCreated",
            "DateUpdated",
            "Attributes",
            "MediaSid",
            "ContentSid",
            "ContentVariables",
            "Subject",
        ];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &[
                "DateCreated",
                "DateUpdated",
                "ContentSid",
                "ContentVariables",
                "Subject",
            ],
        )?;
        let mut media = Vec::new();
        for sid in self.body.all("MediaSid") {
            let upload = self
                .service
                .twilio
                .parse_media(sid)
                .and_then(|n| self.service.world.media.get(n as usize));
            let Some(m) = upload else {
                return Err(wire_error(&TwilioError::not_found(&format!("Media {sid}"))));
            };
            let mut item = json!({"content_type": m.content_type, "bytes": m.bytes});
            if let Some(name) = &m.name {
                item["name"] = json!(name);
            }
            media.push(item);
        }
        self.ensure_service()?;
        let author = match self.body.get("Author") {
            None | Some("") => SERVICE_IDENTITY.to_string(),
            Some(author) if self.service.world.user(author).is_some() => author.to_string(),
            Some(author) => {
                return Err(wire_error(&TwilioError::bad_request(&format!(
                    "Author {} is not an identity of this account: the simulator sends a message as a chat identity (or as {SERVICE_IDENTITY:?} without Author).",
                    crate::scenario::quote(author)
                ))));
            }
        };
        let mut step = json!({
            "thread": t.to_string(),
            "content": self.body.get("Body").unwrap_or(""),
        });
        if let Some(metadata) = self.attributes()? {
            step["metadata"] = metadata;
        }
        if !media.is_empty() {
            step["media"] = json!(media);
        }
        let sid = self.service.twilio.conversation(t);
        let mut params = vec![
            ("ConversationSid".into(), sid),
            ("Author".into(), author.clone()),
        ];
        params.extend(
            self.body
                .pairs()
                .iter()
                .filter(|(k, _)| k != "Author")
                .cloned(),
        );
        self.pre("onMessageAdd", params)?;
        match Self::reply(self.run(step_fields("send_message", Some(&author), step))?)? {
            Reply::MessageSent { sequence } => {
                let m = MessageId {
                    thread: t,
                    sequence,
                };
                let view = self
                    .message_view(m)
                    .ok_or_else(|| wire_error(&TwilioError::not_found("Message")))?;
                self.post("onMessageAdded", message_params(self.service, t, &view));
                Ok(Response::json(201, self.message_json(t, &view)))
            }
            _ => Err(wire_error(&TwilioError::not_found("Message"))),
        }
    }

    /// The identity a message's edits act as: its sender.
    fn sender_of(&mut self, m: MessageId) -> Result<String, Response> {
        let view = self.fetch_message(m)?;
        if self.service.world.user(&view.sender).is_none() {
            return Err(unsupported(
                "Changing a message an SMS or WhatsApp participant sent",
            ));
        }
        Ok(view.sender.to_string())
    }

    fn update_message(&mut self, m: MessageId) -> Result<Response, Response> {
        const KNOWN: [&str; 5] = ["Author", "Body", "DateCreated", "DateUpdated", "Attributes"];
        self.body.check_known(&KNOWN).map_err(|e| wire_error(&e))?;
        refuse_unmodelled(
            &self.body,
            &["Author", "DateCreated", "DateUpdated", "Attributes"],
        )?;
        let sender = self.sender_of(m)?;
        let mut params = self.message_params_of(m);
        params.extend(
            self.body
                .pairs()
                .iter()
                .map(|(k, v)| (format!("Updated{k}"), v.clone())),
        );
        self.pre("onMessageUpdate", params)?;
        if let Some(body) = self.body.get("Body") {
            let mut step = message_step(m);
            step["content"] = json!(body);
            Self::reply(self.run(step_fields("update_message", Some(&sender), step))?)?;
        }
        let view = self
            .message_view(m)
            .ok_or_else(|| wire_error(&TwilioError::not_found("Message")))?;
        self.post(
            "onMessageUpdated",
            message_params(self.service, m.thread, &view),
        );
        Ok(Response::json(200, self.message_json(m.thread, &view)))
    }

    /// A message's webhook parameters, now.
    fn message_params_of(&self, m: MessageId) -> Vec<(String, String)> {
        self.message_view(m)
            .map(|v| message_params(self.service, m.thread, &v))
            .unwrap_or_default()
    }

    fn delete_message(&mut self, m: MessageId) -> Result<Response, Response> {
        let sender = self.sender_of(m)?;
        let params = self.message_params_of(m);
        self.pre("onMessageRemove", params.clone())?;
        let outcome = self.run(step_fields(
            "delete_message",
            Some(&sender),
            message_step(m),
        ))?;
        let response = self.empty(outcome)?;
        self.post("onMessageRemoved", params);
        Ok(response)
    }

    fn list_messages(&mut self, t: ThreadId) -> Result<Response, Response> {
        self.query
            .check_known(&["PageSize", "Page", "PageToken", "Order"])
            .map_err(|e| wire_error(&e))?;
        let descending = match self.query.get("Order") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(wire_error(&TwilioError::bad_request(&format!(
                    "Order must be asc or desc, not {}.",
                    crate::scenario::quote(other)
                ))));
            }
        };
        let extra = if descending { "Order=desc&" } else { "" };
        let path = format!(
            "/Conversations/{}/Messages",
            self.service.twilio.conversation(t)
        );
        self.page(
            Listing {
                op: "list_messages",
                step: json!({ "thread": t.to_string() }),
                key: "messages",
                path: &path,
                extra,
            },
            |h| {
                // The shown messages' sequence ids, without building their views.
                let state = h.service.world.simulator().state();
                let mut shown: Vec<u32> = state
                    .thread(t)
                    .map(|th| {
                        th.messages
                            .iter()
                            .zip(1..)
                            .filter(|(m, _)| {
                                matches!(m.kind, MessageKind::Text | MessageKind::Html)
                                    && m.deleted_at().is_none()
                            })
                            .map(|(_, seq)| seq)
                            .collect()
                    })
                    .unwrap_or_default();
                if descending {
                    shown.reverse();
                }
                shown
            },
            |h, sequence| {
                let m = MessageId {
                    thread: t,
                    sequence,
                };
                h.message_view(m)
                    .map_or(Value::Null, |v| h.message_json(t, &v))
            },
        )
    }

    // ---- delivery receipts ----

    fn receipts(&self, m: MessageId) -> Vec<Value> {
        let sim = self.service.world.simulator();
        let filter = OutboxFilter {
            message: Some(m),
            thread: Some(m.thread),
            ..OutboxFilter::default()
        };
        let created = self.message_view(m).map_or(0, |v| v.created_at_ms);
        let state = sim.state();
        sim.outbox(&filter)
            .iter()
            .map(|d| {
                let member = state.thread(m.thread).and_then(|th| {
                    let bare = d.to.trim_start_matches("whatsapp:");
                    th.bindings
                        .iter()
                        .position(|b| &*b.address == bare)
                        .map(|i| Member::Binding(i as u32))
                });
                let sid = member.map(|mb| self.service.twilio.participant(m.thread, mb));
                self.render().receipt(m, d, sid, created)
            })
            .collect()
    }

    fn list_receipts(&mut self, m: MessageId) -> Result<Response, Response> {
        self.query
            .check_known(&["PageSize", "Page", "PageToken"])
            .map_err(|e| wire_error(&e))?;
        self.fetch_message(m)?;
        let path = format!(
            "/Conversations/{}/Messages/{}/Receipts",
            self.service.twilio.conversation(m.thread),
            self.service.twilio.message(m)
        );
        let all = self.receipts(m);
        let default = self.service.world.simulator().profile().page_size_default;
        let page = PageQuery::read(&self.query, default).map_err(|e| wire_error(&e))?;
        let size = page.size.unwrap_or(default).max(1);
        let offset = page.offset as usize;
        let more = offset.saturating_add(size as usize) < all.len();
        let items = all.into_iter().skip(offset).take(size as usize).collect();
        let at = PageAt {
            path: &path,
            extra: "",
            page: page.page,
            size,
            more,
        };
        Ok(Response::json(
            200,
            self.render().page("delivery_receipts", items, at),
        ))
    }

    fn fetch_receipt(&mut self, m: MessageId, sid: &str) -> Result<Response, Response> {
        self.fetch_message(m)?;
        self.receipts(m)
            .into_iter()
            .find(|r| r["sid"] == sid)
            .map(|r| Response::json(200, r))
            .ok_or_else(|| wire_error(&TwilioError::not_found(&format!("Receipt {sid}"))))
    }

    // ---- users ----

    fn user_json(&self, id: UserId) -> Value {
        let state = self.service.world.simulator().state();
        let (identity, name) = state
            .user(id)
            .map(|u| {
                (
                    u.id.to_string(),
                    u.display_name.as_deref().map(str::to_string),
                )
            })
            .unwrap_or_default();
        self.render().user(id, &identity, name.as_deref())
    }

    fn create_user(&mut self) -> Result<Response, Response> {
        self.body
            .check_known(&["Identity", "FriendlyName", "Attributes", "RoleSid"])
            .map_err(|e| wire_error(&e))?;
        refuse_unmodelled(&self.body, &["Attributes", "RoleSid"])?;
        let Some(identity) = self.body.get("Identity").map(str::to_string) else {
            return Err(wire_error(&TwilioError::bad_request(
                "Missing required parameter Identity in the post body",
            )));
        };
        if identity == SERVICE_IDENTITY {
            return Err(wire_error(&TwilioError::bad_request(&format!(
                "Identity {SERVICE_IDENTITY:?} is reserved by this simulator for the REST API's own actions."
            ))));
        }
        let mut step = json!({ "id": identity });
        if let Some(name) = self.body.get("FriendlyName") {
            step["display_name"] = json!(name);
        }
        Self::reply(self.run(step_fields("create_user", None, step))?)?;
        let id = self
            .service
            .world
            .user(&identity)
            .ok_or_else(|| wire_error(&TwilioError::not_found("User")))?;
        Ok(Response::json(201, self.user_json(id)))
    }

    fn list_users(&mut self) -> Result<Response, Response> {
        self.query
            .check_known(&["PageSize", "Page", "PageToken"])
            .map_err(|e| wire_error(&e))?;
        let default = self.service.world.simulator().profile().page_size_default;
        let page = PageQuery::read(&self.query, default).map_err(|e| wire_error(&e))?;
        let max = self.service.world.simulator().profile().page_size_max;
        let size = page.size.unwrap_or(default);
        if size == 0 || size > max {
            return Err(refusal(&Error::PageSize {
                requested: size,
                max,
            }));
        }
        let state = self.service.world.simulator().state();
        let all: Vec<UserId> = (1..)
            .map(UserId)
            .map_while(|id| state.user(id).map(|u| (id, u)))
            .filter(|(_, u)| !u.deleted && &*u.id != SERVICE_IDENTITY)
            .map(|(id, _)| id)
            .collect();
        let offset = page.offset as usize;
        let more = offset.saturating_add(size as usize) < all.len();
        let items = all
            .into_iter()
            .skip(offset)
            .take(size as usize)
            .map(|id| self.user_json(id))
            .collect();
        let at = PageAt {
            path: "/Users",
            extra: "",
            page: page.page,
            size,
            more,
        };
        Ok(Response::json(200, self.render().page("users", items, at)))
    }
}

fn message_step(m: MessageId) -> Value {
    json!({"thread": m.thread.to_string(), "message": format!("m{}", m.sequence)})
}

/// How Twilio names a message's author, and its participant SID.
fn author_of(service: &Service, t: ThreadId, view: &MessageView) -> (String, Option<String>) {
    let state = service.world.simulator().state();
    let sender = view.sender.to_string();
    if sender == SERVICE_IDENTITY {
        return (sender, None);
    }
    let member = match state.user_id(&sender) {
        Some(u) => Some(Member::Chat(u)),
        None => state.thread(t).and_then(|th| {
            let bare = sender.trim_start_matches("whatsapp:");
            th.bindings
                .iter()
                .position(|b| &*b.address == bare)
                .map(|i| Member::Binding(i as u32))
        }),
    };
    let sid = member.map(|m| service.twilio.participant(t, m));
    (sender, sid)
}

/// A message's webhook parameters (`onMessageAdded` and the like).
pub(super) fn message_params(
    service: &Service,
    t: ThreadId,
    view: &MessageView,
) -> Vec<(String, String)> {
    let render = Render {
        account: &service.twilio,
        epoch: service.epoch,
        base: "",
        service_scoped: false,
    };
    let (author, participant) = author_of(service, t, view);
    let id = MessageId {
        thread: t,
        sequence: view.sequence_id,
    };
    let time = render.time(view.created_at_ms);
    let mut params = vec![
        (
            "ConversationSid".to_string(),
            service.twilio.conversation(t),
        ),
        ("MessageSid".to_string(), service.twilio.message(id)),
        ("Index".to_string(), index_of(view.sequence_id).to_string()),
        ("Author".to_string(), author),
        (
            "Body".to_string(),
            view.content.as_deref().unwrap_or("").to_string(),
        ),
        ("Attributes".to_string(), "{}".to_string()),
        (
            "DateCreated".to_string(),
            time.as_str().unwrap_or("").to_string(),
        ),
    ];
    if let Some(p) = participant {
        params.push(("ParticipantSid".to_string(), p));
    }
    params
}

/// `POST /v1/Services/{ChatServiceSid}/Media`: an upload to Twilio's Media
/// Content Service. The body is the medium itself, its `Content-Type` the
/// medium's type; `?Filename=` names it. Only its type, size and name are
/// kept (messages carry no bytes in the simulator); the upload is not a
/// step: the message that sends it records them.
fn upload(service: &mut Service, req: &Request, service_scoped: bool) -> Response {
    let content_type = req
        .header("content-type")
        .and_then(|t| t.split(';').next())
        .map(str::trim)
        .filter(|t| {
            t.split_once('/')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !b.contains('/'))
        });
    let Some(content_type) = content_type else {
        return wire_error(&TwilioError::new(
            415,
            20415,
            "A media upload needs its Content-Type (type/subtype).",
        ));
    };
    let name = Form::parse(req.query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|q| q.get("Filename").map(std::sync::Arc::from));
    let media = crate::rules::Media {
        content_type: std::sync::Arc::from(content_type),
        bytes: req.body.len() as u64,
        name,
    };
    let n = service.world.media.len() as u32;
    service.world.media.push_back(media.clone());
    let base = service.base_url(req);
    let render = Render {
        account: &service.twilio,
        epoch: service.epoch,
        base: &base,
        service_scoped,
    };
    Response::json(201, render.medium(n, &media))
}
