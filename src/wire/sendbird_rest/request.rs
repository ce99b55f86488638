//! Reads a request of Sendbird's Platform API v3 (`/v3/…`) into a typed
//! [`Call`]: the route, the query and the JSON body, each field checked for
//! its type with Sendbird's codes (400100 not a string, 400101 not a number,
//! 400102 not a list, 400103 not JSON, 400104 not a boolean, 400105 missing,
//! 400111 an invalid value). Fields the simulator does not model are
//! accepted and ignored when they change nothing it answers.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::SbError;
use crate::wire::acs_rest::request::{percent_decode, query_pairs};

/// A request as the server received it.
#[derive(Clone, Copy, Debug)]
pub struct Raw<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query, without `?`.
    pub query: Option<&'a str>,
    /// The body's bytes.
    pub body: &'a [u8],
}

/// A listing's `limit` and `token` (Sendbird's `next`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// `limit`: 1 to 100 (checked by the server against the profile).
    pub limit: Option<u64>,
    /// `token`: the `next` of the page before.
    pub token: Option<String>,
}

/// A file message's file: `url`, `file_name`, `file_size`, `file_type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    /// Where the file is (`url`).
    pub url: String,
    /// `file_name`.
    pub name: Option<String>,
    /// `file_size` in bytes.
    pub size: u64,
    /// `file_type`, a MIME type.
    pub mime: Option<String>,
}

/// What a message carries: text (`MESG`) or a file (`FILE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessageBody {
    /// A text message: `message`.
    Text(String),
    /// A file message.
    File(FileSpec),
}

/// How a metacounter update applies its values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetacounterMode {
    /// `set`: the value becomes the one given.
    Set,
    /// `increase`: the value given is added.
    Increase,
    /// `decrease`: the value given is subtracted.
    Decrease,
}

/// A Platform API call, typed. Channels and messages are named as the
/// request names them (a channel URL, a message id's text); the server
/// resolves them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the Platform API operation it names; fields are Sendbird's
pub enum Call {
    /// `POST /v3/users`.
    CreateUser {
        user_id: String,
        nickname: String,
        profile_url: String,
    },
    /// `GET /v3/users`.
    ListUsers { page: PageQuery },
    /// `GET /v3/users/{user_id}`.
    GetUser { user_id: String },
    /// `PUT /v3/users/{user_id}`.
    UpdateUser {
        user_id: String,
        nickname: Option<String>,
        profile_url: Option<String>,
    },
    /// `DELETE /v3/users/{user_id}`.
    DeleteUser { user_id: String },
    /// `POST /v3/group_channels`: members from `user_ids` and `users`.
    CreateChannel {
        user_ids: Vec<String>,
        name: Option<String>,
        custom_type: String,
        data: String,
        cover_url: String,
        inviter_id: Option<String>,
        channel_url: Option<String>,
        is_distinct: bool,
    },
    /// `GET /v3/group_channels`.
    ListChannels { page: PageQuery },
    /// `GET /v3/group_channels/{channel_url}`.
    GetChannel { channel: String, show_member: bool },
    /// `PUT /v3/group_channels/{channel_url}`.
    UpdateChannel {
        channel: String,
        name: Option<String>,
        custom_type: Option<String>,
        data: Option<String>,
        cover_url: Option<String>,
    },
    /// `DELETE /v3/group_channels/{channel_url}`.
    DeleteChannel { channel: String },
    /// `POST /v3/group_channels/{channel_url}/invite`.
    Invite {
        channel: String,
        user_ids: Vec<String>,
        inviter_id: Option<String>,
    },
    /// `PUT /v3/group_channels/{channel_url}/leave`.
    Leave {
        channel: String,
        user_ids: Vec<String>,
    },
    /// `GET /v3/group_channels/{channel_url}/members`.
    ListMembers { channel: String, page: PageQuery },
    /// `GET /v3/group_channels/{channel_url}/members/{user_id}`.
    IsMember { channel: String, user_id: String },
    /// `POST /v3/group_channels/{channel_url}/messages`.
    SendMessage {
        channel: String,
        user_id: String,
        body: MessageBody,
        custom_type: String,
        data: String,
    },
    /// `GET /v3/group_channels/{channel_url}/messages`: around `message_ts`
    /// (Unix ms) or, without it, `message_id`.
    ListMessages {
        channel: String,
        message_ts: Option<i64>,
        message_id: Option<String>,
        prev_limit: u64,
        next_limit: u64,
        include: bool,
        reverse: bool,
    },
    /// `GET /v3/group_channels/{channel_url}/messages/{message_id}`.
    GetMessage { channel: String, message: String },
    /// `PUT /v3/group_channels/{channel_url}/messages/{message_id}`.
    UpdateMessage {
        channel: String,
        message: String,
        text: Option<String>,
        custom_type: Option<String>,
        data: Option<String>,
    },
    /// `DELETE /v3/group_channels/{channel_url}/messages/{message_id}`.
    DeleteMessage { channel: String, message: String },
    /// `POST /v3/group_channels/{channel_url}/metacounter`.
    CreateMetacounter {
        channel: String,
        values: BTreeMap<String, i64>,
    },
    /// `GET /v3/group_channels/{channel_url}/metacounter[?keys=a,b]`, or
    /// `GET …/metacounter/{key}`.
    GetMetacounter {
        channel: String,
        keys: Option<Vec<String>>,
    },
    /// `PUT /v3/group_channels/{channel_url}/metacounter`.
    UpdateMetacounter {
        channel: String,
        values: BTreeMap<String, i64>,
        mode: MetacounterMode,
        upsert: bool,
    },
    /// `DELETE /v3/group_channels/{channel_url}/metacounter[/{key}]`.
    DeleteMetacounter {
        channel: String,
        key: Option<String>,
    },
}

/// Prefix of Sendbird's default messages listing limits.
const MESSAGE_LIMIT_DEFAULT: u64 = 15;
/// The largest `prev_limit`/`next_limit` (Sendbird's list messages: 0 to 200).
pub const MESSAGE_LIMIT_MAX: u64 = 200;

/// Reads a request into its call, or the error Sendbird answers.
pub fn read(raw: &Raw<'_>) -> Result<Call, SbError> {
    let segments = raw
        .path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect::<Result<Vec<String>, String>>()
        .map_err(|m| SbError::invalid("path", m))?;
    let pairs = query_pairs(raw.query).map_err(|e| SbError::invalid("query", e.message))?;
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let no_route = || SbError {
        status: 404,
        code: 400201,
        message: format!(
            "No Sendbird Platform API operation answers {} {}.",
            raw.method,
            crate::scenario::quote(raw.path)
        ),
    };
    let Some(["v3", rest @ ..]) = s.get(..) else {
        return Err(no_route());
    };
    if let [kind @ ("open_channels" | "group_channels"), _, ..] = rest
        && *kind == "open_channels"
    {
        return Err(SbError::invalid(
            "channel_type",
            "open channels are not modelled by this simulator (group_channels only)",
        ));
    }
    let q = Query(&pairs);
    let body = || body(raw.body);
    let owned = |t: &str| t.to_string();
    let call = match (raw.method, rest) {
        ("POST", ["users"]) => {
            let b = body()?;
            Call::CreateUser {
                user_id: required_string(&b, "user_id")?,
                nickname: required_string(&b, "nickname")?,
                profile_url: optional_string(&b, "profile_url")?.unwrap_or_default(),
            }
        }
        ("GET", ["users"]) => Call::ListUsers { page: q.page()? },
        ("GET", ["users", id]) => Call::GetUser { user_id: owned(id) },
        ("PUT", ["users", id]) => {
            let b = body()?;
            Call::UpdateUser {
                user_id: owned(id),
                nickname: optional_string(&b, "nickname")?,
                profile_url: optional_string(&b, "profile_url")?,
            }
        }
        ("DELETE", ["users", id]) => Call::DeleteUser { user_id: owned(id) },
        ("POST", ["group_channels"]) => {
            let b = body()?;
            let mut user_ids = optional_strings(&b, "user_ids")?.unwrap_or_default();
            if let Some(users) = b.get("users").filter(|v| !v.is_null()) {
                let Value::Array(users) = users else {
                    return Err(SbError::new(400102, "\"users\" must be a list of users."));
                };
                for user in users {
                    let id = user
                        .get("user_id")
                        .and_then(Value::as_str)
                        .ok_or_else(|| SbError::missing("users[].user_id"))?;
                    user_ids.push(id.to_string());
                }
            }
            let mut seen = Vec::new();
            user_ids.retain(|u| {
                let fresh = !seen.contains(u);
                seen.push(u.clone());
                fresh
            });
            Call::CreateChannel {
                user_ids,
                name: optional_string(&b, "name")?,
                custom_type: optional_string(&b, "custom_type")?.unwrap_or_default(),
                data: optional_string(&b, "data")?.unwrap_or_default(),
                cover_url: optional_string(&b, "cover_url")?.unwrap_or_default(),
                inviter_id: optional_string(&b, "inviter_id")?,
                channel_url: optional_string(&b, "channel_url")?,
                is_distinct: optional_bool(&b, "is_distinct")?.unwrap_or(false),
            }
        }
        ("GET", ["group_channels"]) => Call::ListChannels { page: q.page()? },
        ("GET", ["group_channels", url]) => Call::GetChannel {
            channel: owned(url),
            show_member: q.flag("show_member")?.unwrap_or(false),
        },
        ("PUT", ["group_channels", url]) => {
            let b = body()?;
            Call::UpdateChannel {
                channel: owned(url),
                name: optional_string(&b, "name")?,
                custom_type: optional_string(&b, "custom_type")?,
                data: optional_string(&b, "data")?,
                cover_url: optional_string(&b, "cover_url")?,
            }
        }
        ("DELETE", ["group_channels", url]) => Call::DeleteChannel {
            channel: owned(url),
        },
        ("POST", ["group_channels", url, "invite"]) => {
            let b = body()?;
            Call::Invite {
                channel: owned(url),
                user_ids: required_strings(&b, "user_ids")?,
                inviter_id: optional_string(&b, "inviter_id")?,
            }
        }
        ("PUT", ["group_channels", url, "leave"]) => {
            let b = body()?;
            if b.get("should_leave_all").and_then(Value::as_bool) == Some(true) {
                return Err(SbError::invalid(
                    "should_leave_all",
                    "removing every member at once is not modelled; name them in user_ids",
                ));
            }
            Call::Leave {
                channel: owned(url),
                user_ids: required_strings(&b, "user_ids")?,
            }
        }
        ("GET", ["group_channels", url, "members"]) => Call::ListMembers {
            channel: owned(url),
            page: q.page()?,
        },
        ("GET", ["group_channels", url, "members", user]) => Call::IsMember {
            channel: owned(url),
            user_id: owned(user),
        },
        ("POST", ["group_channels", url, "messages"]) => {
            let b = body()?;
            let user_id = required_string(&b, "user_id")?;
            let kind = required_string(&b, "message_type")?;
            let body = match kind.as_str() {
                "MESG" => MessageBody::Text(required_string(&b, "message")?),
                "FILE" => MessageBody::File(FileSpec {
                    url: required_string(&b, "url")?,
                    name: optional_string(&b, "file_name")?,
                    size: optional_integer(&b, "file_size")?
                        .map(|n| {
                            u64::try_from(n)
                                .map_err(|_| SbError::new(400106, "\"file_size\" is negative."))
                        })
                        .transpose()?
                        .unwrap_or(0),
                    mime: optional_string(&b, "file_type")?,
                }),
                "ADMM" => {
                    return Err(SbError::invalid(
                        "message_type",
                        "admin messages (ADMM) are not modelled by this simulator",
                    ));
                }
                other => {
                    return Err(SbError::invalid(
                        "message_type",
                        format!("{} is not MESG or FILE", crate::scenario::quote(other)),
                    ));
                }
            };
            Call::SendMessage {
                channel: owned(url),
                user_id,
                body,
                custom_type: optional_string(&b, "custom_type")?.unwrap_or_default(),
                data: optional_string(&b, "data")?.unwrap_or_default(),
            }
        }
        ("GET", ["group_channels", url, "messages"]) => {
            let message_ts = q.integer("message_ts")?;
            let message_id = q.get("message_id").map(str::to_string);
            if message_ts.is_none() && message_id.is_none() {
                return Err(SbError::missing("message_ts"));
            }
            let limit = |key: &str| -> Result<u64, SbError> {
                match q.integer(key)? {
                    None => Ok(MESSAGE_LIMIT_DEFAULT),
                    Some(n) if (0..=MESSAGE_LIMIT_MAX as i64).contains(&n) => Ok(n as u64),
                    Some(n) => Err(SbError::invalid(
                        key,
                        format!("{n} is not from 0 to {MESSAGE_LIMIT_MAX}"),
                    )),
                }
            };
            Call::ListMessages {
                channel: owned(url),
                message_ts,
                message_id,
                prev_limit: limit("prev_limit")?,
                next_limit: limit("next_limit")?,
                include: q.flag("include")?.unwrap_or(true),
                reverse: q.flag("reverse")?.unwrap_or(false),
            }
        }
        ("GET", ["group_channels", url, "messages", id]) => Call::GetMessage {
            channel: owned(url),
            message: owned(id),
        },
        ("PUT", ["group_channels", url, "messages", id]) => {
            let b = body()?;
            let kind = required_string(&b, "message_type")?;
            if kind != "MESG" && kind != "FILE" {
                return Err(SbError::invalid(
                    "message_type",
                    format!("{} is not MESG or FILE", crate::scenario::quote(&kind)),
                ));
            }
            Call::UpdateMessage {
                channel: owned(url),
                message: owned(id),
                text: optional_string(&b, "message")?,
                custom_type: optional_string(&b, "custom_type")?,
                data: optional_string(&b, "data")?,
            }
        }
        ("DELETE", ["group_channels", url, "messages", id]) => Call::DeleteMessage {
            channel: owned(url),
            message: owned(id),
        },
        ("POST", ["group_channels", url, "metacounter"]) => Call::CreateMetacounter {
            channel: owned(url),
            values: counters(&body()?)?,
        },
        ("GET", ["group_channels", url, "metacounter"]) => Call::GetMetacounter {
            channel: owned(url),
            keys: q.get("keys").map(|k| {
                k.split(',')
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
        },
        ("GET", ["group_channels", url, "metacounter", key]) => Call::GetMetacounter {
            channel: owned(url),
            keys: Some(vec![owned(key)]),
        },
        ("PUT", ["group_channels", url, "metacounter"]) => {
            let b = body()?;
            let mode = match optional_string(&b, "mode")?.as_deref() {
                None | Some("set") => MetacounterMode::Set,
                Some("increase") => MetacounterMode::Increase,
                Some("decrease") => MetacounterMode::Decrease,
                Some(other) => {
                    return Err(SbError::invalid(
                        "mode",
                        format!(
                            "{} is not set, increase or decrease",
                            crate::scenario::quote(other)
                        ),
                    ));
                }
            };
            Call::UpdateMetacounter {
                channel: owned(url),
                values: counters(&b)?,
                mode,
                upsert: optional_bool(&b, "upsert")?.unwrap_or(false),
            }
        }
        ("DELETE", ["group_channels", url, "metacounter"]) => Call::DeleteMetacounter {
            channel: owned(url),
            key: None,
        },
        ("DELETE", ["group_channels", url, "metacounter", key]) => Call::DeleteMetacounter {
            channel: owned(url),
            key: Some(owned(key)),
        },
        _ => return Err(no_route()),
    };
    Ok(call)
}

/// The body as a JSON object; an empty body is `{}`.
fn body(bytes: &[u8]) -> Result<Map<String, Value>, SbError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SbError::new(400103, "The body must be a JSON object.")),
        Err(e) => Err(SbError::new(
            400103,
            format!("The body is not valid JSON: {e}."),
        )),
    }
}

/// A string field; `null` is absent.
fn optional_string(b: &Map<String, Value>, key: &str) -> Result<Option<String>, SbError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(SbError::new(400100, format!("\"{key}\" must be a string."))),
    }
}

fn required_string(b: &Map<String, Value>, key: &str) -> Result<String, SbError> {
    optional_string(b, key)?.ok_or_else(|| SbError::missing(key))
}

fn optional_strings(b: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, SbError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| SbError::new(400100, format!("\"{key}\" must be a list of strings."))),
        Some(_) => Err(SbError::new(400102, format!("\"{key}\" must be a list."))),
    }
}

fn required_strings(b: &Map<String, Value>, key: &str) -> Result<Vec<String>, SbError> {
    optional_strings(b, key)?.ok_or_else(|| SbError::missing(key))
}

fn optional_integer(b: &Map<String, Value>, key: &str) -> Result<Option<i64>, SbError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| SbError::new(400101, format!("\"{key}\" must be an integer."))),
    }
}

fn optional_bool(b: &Map<String, Value>, key: &str) -> Result<Option<bool>, SbError> {
    match b.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(v)) => Ok(Some(*v)),
        Some(_) => Err(SbError::new(
            400104,
            format!("\"{key}\" must be a boolean."),
        )),
    }
}

/// `metacounter`: an object of integer values.
fn counters(b: &Map<String, Value>) -> Result<BTreeMap<String, i64>, SbError> {
    let Some(value) = b.get("metacounter") else {
        return Err(SbError::missing("metacounter"));
    };
    let Value::Object(map) = value else {
        return Err(SbError::new(
            400103,
            "\"metacounter\" must be an object of integers.",
        ));
    };
    if map.is_empty() {
        return Err(SbError::invalid("metacounter", "no key given"));
    }
    map.iter()
        .map(|(k, v)| {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                // Sendbird's examples give metacounter values as strings too.
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            n.map(|n| (k.clone(), n)).ok_or_else(|| {
                SbError::new(
                    400101,
                    format!(
                        "\"metacounter\".{} must be an integer.",
                        crate::scenario::quote(k)
                    ),
                )
            })
        })
        .collect()
}

/// The query's pairs.
struct Query<'a>(&'a [(String, String)]);

impl Query<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn integer(&self, key: &str) -> Result<Option<i64>, SbError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    SbError::new(
                        400101,
                        format!(
                            "\"{key}\" must be an integer, not {}.",
                            crate::scenario::quote(v)
                        ),
                    )
                })
            })
            .transpose()
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, SbError> {
        self.get(key)
            .map(|v| match v {
                "true" | "True" => Ok(true),
                "false" | "False" => Ok(false),
                _ => Err(SbError::new(
                    400104,
                    format!("\"{key}\" must be true or false."),
                )),
            })
            .transpose()
    }

    fn page(&self) -> Result<PageQuery, SbError> {
        let limit = match self.integer("limit")? {
            None => None,
            Some(n) => Some(u64::try_from(n).map_err(|_| SbError::invalid("limit", n))?),
        };
        Ok(PageQuery {
            limit,
            token: self
                .get("token")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }
}
