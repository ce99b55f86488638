//! The ACS REST APIs over the simulator: each request is authenticated
//! (HMAC for Identity and SMS, a Bearer token for Chat), read by
//! `wire::acs_rest::request`, turned into the scenario step that does the
//! same, run on the world, and answered in ACS's shapes by
//! `wire::acs_rest::response`.
//!
//! What the simulator cannot even name (a thread id of another resource, a
//! token this world never issued, a bad signature, a malformed body) is
//! answered here and not recorded; for chat calls the token is checked first,
//! so a refused token is a 401 whatever else is wrong (the error precedence
//! of the simulator's core).

use serde_json::{Map, Value, json};

use super::world::step_fields;
use super::{Request, Response, Service};
use crate::core::{Error, Reply, TokenId};
use crate::id::{MessageId, ThreadId};
use crate::scenario::StepOutcome;
use crate::wire::acs_rest::request::{self, Api, PageQuery, RawRequest};
use crate::wire::acs_rest::response::Render;
use crate::wire::acs_rest::{AcsCall, Context, Named, Participant, RetentionPolicy, WireError};

/// Who a request authenticated as.
#[derive(Clone, Debug)]
enum Credential {
    /// The resource's access key (Identity, SMS).
    Service,
    /// A user's token: the identity's raw id, the token and its step ref.
    User {
        raw: String,
        token: TokenId,
        reference: String,
    },
}

/// Answers one request to the ACS APIs.
pub(super) fn handle(service: &mut Service, api: Api, req: &Request) -> Response {
    let credential = match authenticate(service, api, req) {
        Ok(c) => c,
        Err(e) => return wire_error(&e),
    };
    let raw = RawRequest {
        method: &req.method,
        path: &req.path,
        query: req.query.as_deref(),
        content_type: req.header("content-type"),
        body: &req.body,
        repeatability_request_id: req.header("repeatability-request-id"),
    };
    let cx = Context {
        resource: &service.keys.resource,
        epoch: service.epoch,
    };
    let call = match request::read(&raw, cx) {
        Ok(call) => call,
        Err(e) => return refused_at_the_door(service, &credential, e),
    };
    // Requests the simulator does not model are refused here, whole.
    if let Some(e) = unsupported(&call) {
        return refused_at_the_door(service, &credential, e);
    }
    let mut handler = Handler {
        service,
        req,
        credential,
    };
    handler.call(call)
}

/// A wire error, unless the request's token is refused now (401 first).
fn refused_at_the_door(service: &Service, credential: &Credential, e: WireError) -> Response {
    if let Credential::User { raw, token, .. } = credential
        && let Some(user) = service.world.user(raw)
        && let Some(refusal) = service.world.token_refusal(user, *token)
    {
        let render = service.render();
        return Response::json(refusal.status(), render.error(&refusal, None, None));
    }
    wire_error(&e)
}

fn wire_error(e: &WireError) -> Response {
    Response::json(e.status, e.body())
}

/// The credential a request presents, checked at the door.
fn authenticate(service: &Service, api: Api, req: &Request) -> Result<Credential, WireError> {
    match api {
        Api::Identity | Api::Sms => {
            let path_and_query = match &req.query {
                Some(q) => format!("{}?{q}", req.path),
                None => req.path.clone(),
            };
            service
                .keys
                .verify_hmac(
                    &req.method,
                    &path_and_query,
                    req.header("authorization"),
                    |name| req.header(name),
                    &req.body,
                )
                .map_err(|m| WireError::unauthorized(&m))?;
            Ok(Credential::Service)
        }
        Api::Chat => {
            let text = req
                .header("authorization")
                .and_then(|a| {
                    a.strip_prefix("Bearer ")
                        .or_else(|| a.strip_prefix("bearer "))
                })
                .ok_or_else(|| {
                    WireError::unauthorized("The request has no Bearer access token.")
                })?;
            let claims = service
                .keys
                .read_token(text.trim())
                .map_err(|m| WireError::unauthorized(&m))?;
            let not_here = || WireError::unauthorized("The access token is not valid.");
            let user = service.world.user(&claims.user).ok_or_else(not_here)?;
            let token = TokenId {
                user,
                serial: claims.serial,
            };
            let reference = service.world.token_ref(token).ok_or_else(not_here)?;
            Ok(Credential::User {
                raw: claims.user,
                token,
                reference: reference.to_string(),
            })
        }
    }
}

/// What the simulator does not model, refused before it.
fn unsupported(call: &AcsCall) -> Option<WireError> {
    let refuse = |target: &str, what: &str| {
        Some(WireError::bad_request(
            target,
            format!("{what} is not supported by this simulator."),
        ))
    };
    match call {
        AcsCall::CreateThread { metadata, .. } | AcsCall::UpdateThread { metadata, .. }
            if !metadata.is_empty() =>
        {
            refuse("metadata", "Thread metadata")
        }
        AcsCall::UpdateMessage {
            metadata: Some(m), ..
        } if !m.is_empty() => refuse("metadata", "Changing a message's metadata"),
        AcsCall::ListThreads {
            start_time_ms: Some(ms),
            ..
        } if *ms > 0 => refuse(
            "startTime",
            "Listing threads from a startTime after the epoch",
        ),
        _ => None,
    }
}

struct Handler<'a> {
    service: &'a mut Service,
    req: &'a Request,
    credential: Credential,
}

fn participants_json(list: &[Participant]) -> Value {
    list.iter()
        .map(|p| {
            let mut out = json!({ "user": p.user });
            if let Some(name) = &p.display_name {
                out["display_name"] = json!(name);
            }
            if let Some(ms) = p.share_history_from_ms {
                out["share_history_from"] = json!(ms);
            }
            out
        })
        .collect()
}

fn retention_json(policy: RetentionPolicy) -> Value {
    match policy {
        RetentionPolicy::None => json!("none"),
        RetentionPolicy::DeleteAfterDays(days) => json!({ "delete_after": format!("{days}d") }),
    }
}

fn page_json(page: &PageQuery, into: &mut Map<String, Value>) {
    if let Some(size) = page.max_page_size {
        into.insert("page_size".into(), json!(size));
    }
    if let Some(token) = &page.continuation {
        into.insert("continuation".into(), json!(token));
    }
}

impl Handler<'_> {
    fn render(&self) -> Render<'_> {
        self.service.render()
    }

    /// Runs `fields` as a step acting with the request's credential.
    fn run(&mut self, mut fields: Map<String, Value>) -> Result<StepOutcome, Response> {
        if let Credential::User { raw, reference, .. } = &self.credential {
            fields.insert("as".into(), json!(raw));
            fields.insert("token".into(), json!(reference));
        }
        self.service.world.step(fields).map_err(|e| {
            // A request the scenario format refuses (an empty id, say).
            wire_error(&WireError::bad_request("body", e.message))
        })
    }

    fn call(&mut self, call: AcsCall) -> Response {
        match self.dispatch(call) {
            Ok(response) | Err(response) => response,
        }
    }

    fn dispatch(&mut self, call: AcsCall) -> Result<Response, Response> {
        match call {
            AcsCall::CreateIdentity {
                token_scopes,
                expires_in_minutes,
            } => self.create_identity(token_scopes, expires_in_minutes),
            AcsCall::DeleteIdentity { user } => {
                let outcome =
                    self.run(step_fields("delete_user", None, json!({ "user": user })))?;
                Ok(self.answer(outcome, None, None, |_, _| Value::Null))
            }
            AcsCall::IssueToken {
                user,
                scopes,
                expires_in_minutes,
            } => {
                let (outcome, token) = self.issue_token(&user, &scopes, expires_in_minutes)?;
                Ok(self.answer(outcome, None, None, |_, _| token.clone()))
            }
            AcsCall::RevokeTokens { user } => {
                let outcome =
                    self.run(step_fields("revoke_tokens", None, json!({ "user": user })))?;
                Ok(self.answer(outcome, None, None, |_, _| Value::Null))
            }
            AcsCall::SendSms {
                from,
                to,
                message,
                delivery_report,
            } => {
                let step = json!({"from": from, "to": to, "message": message,
                    "delivery_report": delivery_report});
                let outcome = self.run(step_fields("send_sms", None, step))?;
                Ok(self.answer(outcome, None, None, |r, reply| match reply {
                    Reply::SmsSent(results) => r.sms_sent(results),
                    _ => Value::Null,
                }))
            }
            AcsCall::CreateThread {
                topic,
                participants,
                idempotency_key,
                retention,
                ..
            } => {
                let mut step =
                    json!({"topic": topic, "participants": participants_json(&participants)});
                if let Some(key) = idempotency_key {
                    step["idempotency_key"] = json!(key);
                }
                if let Some(policy) = retention {
                    step["retention"] = retention_json(policy);
                }
                let outcome = self.run(step_fields("create_thread", None, step))?;
                let location = match &outcome {
                    StepOutcome::Reply {
                        reply: Reply::ThreadCreated { thread, .. },
                        ..
                    } => Some(format!(
                        "{}/chat/threads/{}",
                        self.service.base_url(self.req),
                        self.service.keys.resource.thread(thread.id)
                    )),
                    _ => None,
                };
                let mut response = self.answer(outcome, None, None, |r, reply| match reply {
                    Reply::ThreadCreated {
                        thread,
                        invalid_participants,
                    } => r.thread_created(thread, invalid_participants),
                    _ => Value::Null,
                });
                if let Some(location) = location {
                    response.headers.push(("location".into(), location));
                }
                Ok(response)
            }
            AcsCall::ListThreads { page, .. } => {
                let mut step = Map::new();
                page_json(&page, &mut step);
                let outcome = self.run(step_fields("list_threads", None, Value::Object(step)))?;
                let next = self.next_link("/chat/threads", &page, "syncState", None);
                Ok(self.answer(outcome, None, None, |r, reply| match reply {
                    Reply::Threads(p) => r.page(p, |t| r.thread_item(t), &next),
                    _ => Value::Null,
                }))
            }
            AcsCall::GetThread { thread } => {
                let t = self.known(thread, "Thread")?;
                let outcome = self.run(step_fields(
                    "get_thread",
                    None,
                    json!({ "thread": t.to_string() }),
                ))?;
                Ok(self.answer(outcome, Some(t), None, |r, reply| match reply {
                    Reply::Thread(view) => r.thread(view),
                    _ => Value::Null,
                }))
            }
            AcsCall::UpdateThread {
                thread,
                topic,
                retention,
                ..
            } => {
                let t = self.known(thread, "Thread")?;
                let mut step = json!({ "thread": t.to_string() });
                if let Some(topic) = topic {
                    step["topic"] = json!(topic);
                }
                if let Some(policy) = retention {
                    step["retention"] = retention_json(policy);
                }
                let outcome = self.run(step_fields("update_thread", None, step))?;
                Ok(self.answer(outcome, Some(t), None, |_, _| Value::Null))
            }
            AcsCall::DeleteThread { thread } => {
                let t = self.known(thread, "Thread")?;
                let outcome = self.run(step_fields(
                    "delete_thread",
                    None,
                    json!({ "thread": t.to_string() }),
                ))?;
                Ok(self.answer(outcome, Some(t), None, |_, _| Value::Null))
            }
            AcsCall::AddParticipants {
                thread,
                participants,
            } => {
                let t = self.known(thread, "Thread")?;
                let step = json!({"thread": t.to_string(),
                    "participants": participants_json(&participants)});
                let outcome = self.run(step_fields("add_participants", None, step))?;
                Ok(self.answer(outcome, Some(t), None, |r, reply| match reply {
                    Reply::ParticipantsAdded {
                        invalid_participants,
                    } => r.participants_added(invalid_participants),
                    _ => Value::Null,
                }))
            }
            AcsCall::RemoveParticipant { thread, user } => {
                let t = self.known(thread, "Thread")?;
                let step = json!({"thread": t.to_string(), "participant": user});
                let outcome = self.run(step_fields("remove_participant", None, step))?;
                Ok(self.answer(outcome, Some(t), None, |_, _| Value::Null))
            }
            AcsCall::ListParticipants { thread, page } => {
                let t = self.known(thread, "Thread")?;
                let mut step = Map::new();
                step.insert("thread".into(), json!(t.to_string()));
                page_json(&page, &mut step);
                let outcome =
                    self.run(step_fields("list_participants", None, Value::Object(step)))?;
                let path = format!("/chat/threads/{}/participants", self.wire_thread(t));
                let next = self.next_link(&path, &page, "skip", None);
                Ok(self.answer(outcome, Some(t), None, |r, reply| match reply {
                    Reply::Participants(p) => r.page(p, |v| r.participant(v), &next),
                    _ => Value::Null,
                }))
            }
            AcsCall::SendMessage {
                thread,
                content,
                html,
                metadata,
            } => {
                let t = self.known(thread, "Thread")?;
                let mut step = json!({"thread": t.to_string(), "content": content});
                if html {
                    step["type"] = json!("html");
                }
                if !metadata.is_empty() {
                    step["metadata"] = json!(metadata);
                }
                let outcome = self.run(step_fields("send_message", None, step))?;
                Ok(self.answer(outcome, Some(t), None, |_, reply| match reply {
                    Reply::MessageSent { sequence } => {
                        json!({ "id": crate::wire::acs_rest::ids::message(*sequence) })
                    }
                    _ => Value::Null,
                }))
            }
            AcsCall::ListMessages {
                thread,
                page,
                start_time_ms,
            } => {
                let t = self.known(thread, "Thread")?;
                let mut step = Map::new();
                step.insert("thread".into(), json!(t.to_string()));
                page_json(&page, &mut step);
                if let Some(ms) = start_time_ms {
                    step.insert("start_time".into(), json!(ms));
                }
                let outcome = self.run(step_fields("list_messages", None, Value::Object(step)))?;
                let path = format!("/chat/threads/{}/messages", self.wire_thread(t));
                let next = self.next_link(&path, &page, "syncState", start_time_ms);
                Ok(self.answer(outcome, Some(t), None, |r, reply| match reply {
                    Reply::Messages(p) => r.page(p, |m| r.message(m), &next),
                    _ => Value::Null,
                }))
            }
            AcsCall::GetMessage { message } => {
                let m = self.known(message, "Message")?;
                let outcome = self.run(step_fields("get_message", None, message_step(m)))?;
                Ok(
                    self.answer(outcome, Some(m.thread), Some(m), |r, reply| match reply {
                        Reply::Message(view) => r.message(view),
                        _ => Value::Null,
                    }),
                )
            }
            AcsCall::UpdateMessage {
                message, content, ..
            } => {
                let m = self.known(message, "Message")?;
                let mut step = message_step(m);
                step["content"] = json!(content.unwrap_or_default());
                let outcome = self.run(step_fields("update_message", None, step))?;
                Ok(self.answer(outcome, Some(m.thread), Some(m), |_, _| Value::Null))
            }
            AcsCall::DeleteMessage { message } => {
                let m = self.known(message, "Message")?;
                let outcome = self.run(step_fields("delete_message", None, message_step(m)))?;
                Ok(self.answer(outcome, Some(m.thread), Some(m), |_, _| Value::Null))
            }
            AcsCall::SendTyping { thread } => {
                let t = self.known(thread, "Thread")?;
                let outcome = self.run(step_fields(
                    "send_typing",
                    None,
                    json!({ "thread": t.to_string() }),
                ))?;
                Ok(self.answer(outcome, Some(t), None, |_, _| Value::Null))
            }
            AcsCall::SendReadReceipt { message } => {
                let m = self.known(message, "Message")?;
                let outcome = self.run(step_fields("send_read_receipt", None, message_step(m)))?;
                Ok(self.answer(outcome, Some(m.thread), Some(m), |_, _| Value::Null))
            }
            AcsCall::ListReadReceipts { thread, page } => {
                let t = self.known(thread, "Thread")?;
                let mut step = Map::new();
                step.insert("thread".into(), json!(t.to_string()));
                page_json(&page, &mut step);
                let outcome =
                    self.run(step_fields("list_read_receipts", None, Value::Object(step)))?;
                let path = format!("/chat/threads/{}/readReceipts", self.wire_thread(t));
                let next = self.next_link(&path, &page, "skip", None);
                Ok(self.answer(outcome, Some(t), None, |r, reply| match reply {
                    Reply::ReadReceipts(p) => r.page(p, |v| r.read_receipt(v), &next),
                    _ => Value::Null,
                }))
            }
        }
    }

    /// The id a path names, or the 404 for a name that is nothing here
    /// (a 401 first if the token is refused now).
    fn known<T>(&self, named: Named<T>, what: &str) -> Result<T, Response> {
        match named {
            Named::Known(t) => Ok(t),
            Named::Unknown(name) => Err(refused_at_the_door(
                self.service,
                &self.credential,
                WireError::not_found(&name, what),
            )),
        }
    }

    fn wire_thread(&self, t: ThreadId) -> String {
        self.service.keys.resource.thread(t)
    }

    /// A `nextLink` maker: the listing's URL with the continuation as
    /// `param` (`skip` takes the number of items to skip; `syncState` the
    /// token), the page size, `startTime` if the listing had one, and the
    /// request's api-version.
    fn next_link(
        &self,
        path: &str,
        page: &PageQuery,
        param: &'static str,
        start_time_ms: Option<u64>,
    ) -> impl Fn(&str) -> String + use<> {
        let base = format!("{}{path}", self.service.base_url(self.req));
        let version = request::query_pairs(self.req.query.as_deref())
            .ok()
            .and_then(|pairs| {
                pairs
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
            })
            .map(|(_, v)| v)
            .unwrap_or_default();
        let size = page.max_page_size;
        let start = start_time_ms.map(|ms| {
            self.service
                .epoch
                .rfc3339(crate::time::Instant(ms))
                .replace(':', "%3A")
        });
        move |token: &str| {
            let value = match param {
                "skip" => token.trim_start_matches('c').to_string(),
                _ => token.to_string(),
            };
            let mut link = format!("{base}?{param}={value}");
            if let Some(size) = size {
                link.push_str(&format!("&maxPageSize={size}"));
            }
            if let Some(start) = &start {
                link.push_str(&format!("&startTime={start}"));
            }
            link.push_str(&format!("&api-version={version}"));
            link
        }
    }

    /// The response to a step's outcome: the success status with `body`
    /// made from the reply (none for `Value::Null`), or the error in ACS's
    /// shape with the retry headers of a 429.
    fn answer(
        &self,
        outcome: StepOutcome,
        thread: Option<ThreadId>,
        message: Option<MessageId>,
        body: impl FnOnce(&Render<'_>, &Reply) -> Value,
    ) -> Response {
        let render = self.render();
        match outcome {
            StepOutcome::Reply { status, reply } => {
                let value = body(&render, &reply);
                if value.is_null() {
                    Response::empty(status)
                } else {
                    Response::json(status, value)
                }
            }
            StepOutcome::Refused(error) => refusal(&render, &error, thread, message),
            StepOutcome::Items(items) => Response::json(200, json!({ "value": items })),
            StepOutcome::Advanced => Response::empty(204),
        }
    }

    /// `create_user`, then with `createTokenWithScopes` `issue_token`.
    fn create_identity(
        &mut self,
        token_scopes: Option<Vec<String>>,
        expires_in_minutes: Option<u64>,
    ) -> Result<Response, Response> {
        let n = self.service.world.users_created + 1;
        let raw = self.service.keys.resource.user(n);
        let outcome = self.run(step_fields("create_user", None, json!({ "id": raw })))?;
        if let StepOutcome::Reply { .. } = outcome {
            self.service.world.users_created = n;
        } else {
            return Ok(self.answer(outcome, None, None, |_, _| Value::Null));
        }
        let identity = json!({ "id": raw });
        let Some(scopes) = token_scopes else {
            return Ok(Response::json(201, json!({ "identity": identity })));
        };
        let (outcome, token) = self.issue_token(&raw, &scopes, expires_in_minutes)?;
        Ok(self
            .answer(
                outcome,
                None,
                None,
                |_, _| json!({ "identity": identity, "accessToken": token }),
            )
            .with_status_if_ok(201))
    }

    /// `issue_token`: the outcome and, when it succeeded, the token's JSON.
    fn issue_token(
        &mut self,
        user: &str,
        scopes: &[String],
        expires_in_minutes: Option<u64>,
    ) -> Result<(StepOutcome, Value), Response> {
        let reference = self.service.world.next_token_ref();
        let mut step = json!({"user": user, "scopes": scopes, "ref": reference});
        if let Some(minutes) = expires_in_minutes {
            step["expires_in"] = json!(minutes.saturating_mul(60_000));
        }
        let outcome = self.run(step_fields("issue_token", None, step))?;
        let mut token = Value::Null;
        if let StepOutcome::Reply {
            reply: Reply::Token(view),
            ..
        } = &outcome
        {
            let epoch = self.service.epoch;
            let iat = epoch
                .unix_ms(crate::time::Instant(view.issued_at_ms))
                .div_euclid(1000);
            let text = self.service.keys.mint_token(
                &view.user,
                view.id.serial,
                &view.scopes.join(","),
                iat,
            );
            token = self.render().token(&text, view.expires_on_ms);
            self.service.world.remember_token(view.id, reference);
        }
        Ok((outcome, token))
    }
}

fn message_step(m: MessageId) -> Value {
    json!({"thread": m.thread.to_string(), "message": format!("m{}", m.sequence)})
}

/// An error of the simulator as ACS answers it; a 429 carries its wait in
/// `retry-after-ms` and, rounded up to whole seconds, `Retry-After`.
pub(super) fn refusal(
    render: &Render<'_>,
    error: &Error,
    thread: Option<ThreadId>,
    message: Option<MessageId>,
) -> Response {
    let mut response = Response::json(error.status(), render.error(error, thread, message));
    if let Some(ms) = error.retry_after_ms() {
        response
            .headers
            .push(("retry-after-ms".into(), ms.to_string()));
        response
            .headers
            .push(("retry-after".into(), ms.div_ceil(1000).to_string()));
    }
    response
}
