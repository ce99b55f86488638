//! Server mode (`switchboard serve`): the simulator behind a local HTTP(S)
//! server that speaks the platforms' REST APIs, so that an application
//! written against an official SDK runs against it with only its endpoint
//! and credentials changed, and a control plane (`/_switchboard/…`) that
//! moves the virtual clock, snapshots the world and reads the trace.
//!
//! Two halves. [`Service`] is synchronous and deterministic: it takes one
//! [`Request`] at a time and answers a [`Response`], driving one [`World`]
//! (a scenario session that records every call as a scenario step); it
//! reads no clock and does no I/O, and the same requests give the same
//! responses, byte for byte. [`http`] is the network: a current-thread tokio
//! runtime, axum, rustls, the certificate, body limits and shutdown; it hands
//! requests to the one `Service` one at a time, in arrival order, behind a
//! mutex. The core knows nothing of either.

mod acs;
pub mod auth;
mod control;
pub mod http;
mod sendbird;
mod twilio;
pub mod webhooks;
pub mod world;

use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::profile::Profile;
use crate::wire::acs_rest::WireError;
use crate::wire::acs_rest::request::{Api, api_of};
use crate::wire::acs_rest::response::Render;
use crate::wire::calendar::Epoch;
pub use auth::Keys;
pub use http::{Config, Running, run, start};
pub use webhooks::{Delivery, Hooks, NoHooks};
pub use world::World;

/// The largest request body taken, in bytes (1 MiB): the largest ACS
/// request (200 participants, or 100 SMS recipients, or a 28 KB message)
/// is far smaller. A larger body is refused with 413.
pub const BODY_BYTES_MAX: usize = 1024 * 1024;

/// A request as the network hands it over.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The HTTP method.
    pub method: String,
    /// The path as sent (percent-encoded).
    pub path: String,
    /// The query as sent, without `?`.
    pub query: Option<String>,
    /// Headers with lowercase names, in order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status, headers and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// Headers with lowercase names, in order.
    pub headers: Vec<(String, String)>,
    /// The body's bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON body (keys in sorted order, so the bytes are stable).
    pub fn json(status: u16, value: Value) -> Response {
        Response {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(&value).expect("JSON values serialize"),
        }
    }

    /// No body.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A text body of `content_type`.
    pub fn text(status: u16, content_type: &str, body: String) -> Response {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into_bytes(),
        }
    }

    /// This response with `status` if it is a success.
    fn with_status_if_ok(mut self, status: u16) -> Response {
        if (200..300).contains(&self.status) {
            self.status = status;
        }
        self
    }

    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server serves, fixed at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The seed the server started with: the credentials and ids come from it.
    pub seed: u64,
    /// The profile's base name (`acs`).
    pub profile: String,
    /// The calendar instant virtual time 0 stands for.
    pub epoch: Epoch,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The address served, as `host:port`, for requests without `Host`.
    pub authority: String,
}

/// The server's whole state: its credentials and the world, with its
/// snapshots. Synchronous: one request at a time.
#[derive(Clone, Debug)]
pub struct Service {
    settings: Settings,
    keys: Keys,
    twilio: crate::wire::twilio_rest::Account,
    epoch: Epoch,
    world: World,
    snapshots: BTreeMap<String, World>,
    snapshots_taken: u32,
    stopping: bool,
}

impl Service {
    /// A service with a fresh world of `settings.seed` and the named profile.
    pub fn new(settings: Settings) -> Result<Service, String> {
        let profile = Profile::named(&settings.profile)
            .ok_or_else(|| format!("unknown profile {:?}", settings.profile))?;
        if !matches!(settings.profile.as_str(), "acs" | "twilio" | "sendbird") {
            return Err(format!(
                "server mode serves the acs, twilio and sendbird profiles, not {:?}",
                settings.profile
            ));
        }
        let world = World::new(
            settings.seed,
            profile,
            Value::String(settings.profile.clone()),
        );
        Ok(Service {
            keys: Keys::from_seed(settings.seed),
            twilio: crate::wire::twilio_rest::Account::from_seed(settings.seed),
            epoch: settings.epoch,
            settings,
            world,
            snapshots: BTreeMap::new(),
            snapshots_taken: 0,
            stopping: false,
        })
    }

    /// The served profile's credentials (the start-up line's and
    /// `/_switchboard/credentials`'), and the seed.
    pub fn credentials(&self) -> Value {
        let seed = self.settings.seed;
        match self.settings.profile.as_str() {
            "sendbird" => json!({"sendbird_api_token": self.keys.app.api_token(), "seed": seed}),
            "twilio" => json!({"twilio_account_sid": self.twilio.sid,
                "twilio_auth_token": self.twilio.auth_token, "seed": seed}),
            _ => json!({"acs_connection_string": self.keys.connection_string(
                &format!("{}://{}", self.settings.scheme, self.settings.authority)),
                "seed": seed}),
        }
    }

    /// The resource's secrets and ids.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The Twilio account's SIDs and auth token (the `twilio` profile's credentials).
    pub fn twilio_account(&self) -> &crate::wire::twilio_rest::Account {
        &self.twilio
    }

    /// The world the requests change.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// What the server serves.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether a shutdown was asked for.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    fn render(&self) -> Render<'_> {
        Render {
            resource: &self.keys.resource,
            epoch: self.epoch,
        }
    }

    /// `scheme://host` of a request (its `Host`, else the address served).
    fn base_url(&self, req: &Request) -> String {
        let host = req
            .header("host")
            .unwrap_or(self.settings.authority.as_str());
        format!("{}://{host}", self.settings.scheme)
    }

    /// Answers one request. The `Date` header is the virtual clock's, and
    /// `x-ms-client-request-id` is echoed, so the same requests give the
    /// same bytes.
    pub fn handle(&mut self, req: &Request) -> Response {
        self.handle_with(req, &mut NoHooks)
    }

    /// Answers one request, making the webhook calls it causes through
    /// `hooks` (the `twilio` profile's webhooks; other profiles make none).
    pub fn handle_with(&mut self, req: &Request, hooks: &mut dyn Hooks) -> Response {
        let mut response = if req.path == "/_switchboard" || req.path.starts_with("/_switchboard/")
        {
            control::handle(self, req, hooks)
        } else if self.settings.profile == "twilio" {
            twilio::handle(self, req, hooks)
        } else if self.settings.profile == "sendbird" {
            sendbird::handle(self, req)
        } else {
            match api_of(&req.path) {
                Some(api @ (Api::Chat | Api::Identity | Api::Sms)) => acs::handle(self, api, req),
                None => {
                    let e = WireError::new(
                        404,
                        "NotFound",
                        &format!("No ACS operation answers {} {}.", req.method, req.path),
                        None,
                    );
                    Response::json(404, e.body())
                }
            }
        };
        response
            .headers
            .push(("date".into(), self.epoch.http_date(self.world.now())));
        if let Some(id) = req.header("x-ms-client-request-id") {
            response
                .headers
                .push(("x-ms-client-request-id".into(), id.to_string()));
        }
        response
    }

    /// The answer to a body over [`BODY_BYTES_MAX`], in the served
    /// platform's error shape.
    pub fn too_large(&self) -> Response {
        let message = format!("The request body is larger than {BODY_BYTES_MAX} bytes.");
        let body = match self.settings.profile.as_str() {
            "sendbird" => crate::wire::sendbird_rest::SbError::new(400110, message).body(),
            _ => WireError::new(413, "RequestEntityTooLarge", &message, Some("body")).body(),
        };
        let mut response = Response::json(413, body);
        response
            .headers
            .push(("date".into(), self.epoch.http_date(self.world.now())));
        response
    }
}
