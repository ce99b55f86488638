//! Twilio Conversations v1 requests: the route a path names (the account's
//! paths and the service-scoped `/v1/Services/{ChatServiceSid}/…` ones, as
//! twilio-oai's `twilio_conversations_v1.json` lists them) and the
//! form-encoded PascalCase bodies and queries the SDKs send.

use super::TwilioError;
use crate::wire::acs_rest::request::percent_decode;

/// What a path names. SIDs stay text: whether they name anything is the
/// handler's question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// `/Conversations`.
    Conversations,
    /// `/Conversations/{Sid}`.
    Conversation(String),
    /// `/Conversations/{Sid}/Participants`.
    Participants(String),
    /// `/Conversations/{Sid}/Participants/{Sid}`.
    Participant(String, String),
    /// `/Conversations/{Sid}/Messages`.
    Messages(String),
    /// `/Conversations/{Sid}/Messages/{Sid}`.
    Message(String, String),
    /// `/Conversations/{Sid}/Messages/{Sid}/Receipts`.
    Receipts(String, String),
    /// `/Conversations/{Sid}/Messages/{Sid}/Receipts/{Sid}`.
    Receipt(String, String, String),
    /// `/Users`.
    Users,
    /// `/Users/{Sid}` (a SID or an identity).
    User(String),
    /// `/Services/{Sid}/Media`: an upload to Twilio's Media Content Service
    /// (`mcs.us1.twilio.com`), served here too.
    Media,
    /// `/Services/{Sid}/Media/{Sid}`.
    Medium(String),
    /// `/Configuration/Webhooks` (the account's) or
    /// `/Services/{Sid}/Configuration/Webhooks` (the service's).
    Webhooks,
}

/// A request's route: the service SID of a service-scoped path, and the resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `Some` for `/v1/Services/{ChatServiceSid}/…`.
    pub service: Option<String>,
    /// What the rest of the path names.
    pub resource: Resource,
}

/// The route of `path` (percent-encoded), or `None` for a path Twilio
/// Conversations v1 does not have (or a segment that does not decode).
pub fn route(path: &str) -> Option<Route> {
    let segments: Vec<String> = path
        .strip_prefix("/v1/")?
        .split('/')
        .map(percent_decode)
        .collect::<Result<_, _>>()
        .ok()?;
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (service, rest) = match s.as_slice() {
        ["Services", sid, rest @ ..] if !rest.is_empty() => (Some(sid.to_string()), rest),
        rest => (None, rest),
    };
    let own = |x: &&str| x.to_string();
    let resource = match rest {
        ["Conversations"] => Resource::Conversations,
        ["Conversations", c] => Resource::Conversation(own(c)),
        ["Conversations", c, "Participants"] => Resource::Participants(own(c)),
        ["Conversations", c, "Participants", p] => Resource::Participant(own(c), own(p)),
        ["Conversations", c, "Messages"] => Resource::Messages(own(c)),
        ["Conversations", c, "Messages", m] => Resource::Message(own(c), own(m)),
        ["Conversations", c, "Messages", m, "Receipts"] => Resource::Receipts(own(c), own(m)),
        ["Conversations", c, "Messages", m, "Receipts", r] => {
            Resource::Receipt(own(c), own(m), own(r))
        }
        ["Users"] => Resource::Users,
        ["Users", u] => Resource::User(own(u)),
        ["Configuration", "Webhooks"] => Resource::Webhooks,
        ["Media"] if service.is_some() => Resource::Media,
        ["Media", m] if service.is_some() => Resource::Medium(own(m)),
        _ => return None,
    };
    if rest.iter().any(|segment| segment.is_empty()) {
        return None;
    }
    Some(Route { service, resource })
}

/// Form fields (a body or a query), decoded, in order; a key may repeat
/// (`Filters`, `MediaSid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn component(text: &str) -> Result<String, TwilioError> {
    percent_decode(&text.replace('+', " ")).map_err(|m| TwilioError::bad_request(&m))
}

impl Form {
    /// Reads `application/x-www-form-urlencoded` text.
    pub fn parse(text: &str) -> Result<Form, TwilioError> {
        let mut pairs = Vec::new();
        for part in text.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((component(key)?, component(value)?));
        }
        Ok(Form { pairs })
    }

    /// A request body: form-encoded (an empty body is an empty form).
    pub fn body(content_type: Option<&str>, body: &[u8]) -> Result<Form, TwilioError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Form::default());
        }
        let form = content_type
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim() == "application/x-www-form-urlencoded");
        if !form {
            return Err(TwilioError::bad_request(
                "The body must be application/x-www-form-urlencoded, as Twilio's API takes it.",
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| TwilioError::bad_request("The body is not UTF-8."))?;
        Form::parse(text)
    }

    /// The last value of `key` (Twilio takes the last of repeated scalars).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The pairs, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first key not in `known`: a parameter this resource does not take
    /// is a 400 naming it (never silently ignored).
    pub fn check_known(&self, known: &[&str]) -> Result<(), TwilioError> {
        match self
            .pairs
            .iter()
            .find(|(k, _)| !known.contains(&k.as_str()))
        {
            Some((key, _)) => Err(TwilioError::bad_request(&format!(
                "Parameter {} is not a parameter of this resource.",
                crate::scenario::quote(key)
            ))),
            None => Ok(()),
        }
    }

    /// A non-negative integer parameter.
    pub fn number(&self, key: &str) -> Result<Option<u32>, TwilioError> {
        match self.get(key) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                TwilioError::bad_request(&format!(
                    "{key} must be a non-negative integer, not {}.",
                    crate::scenario::quote(text)
                ))
            }),
        }
    }
}

/// A listing's page: `PageSize` and where it starts (`Page` times the size,
/// or the offset a `PageToken` carries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageQuery {
    /// `PageSize`, if given.
    pub size: Option<u32>,
    /// `Page`, from 0.
    pub page: u32,
    /// How many items come before this page.
    pub offset: u32,
}

/// The page tokens this server hands out: `PT` and an offset.
pub fn page_token(offset: u64) -> String {
    format!("PT{offset}")
}

impl PageQuery {
    /// The page a listing's query asks for; `default_size` is the profile's.
    pub fn read(query: &Form, default_size: u32) -> Result<PageQuery, TwilioError> {
        let size = query.number("PageSize")?;
        let page = query.number("Page")?.unwrap_or(0);
        let offset = match query.get("PageToken") {
            Some(token) => token
                .strip_prefix("PT")
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse().ok())
                .ok_or_else(|| {
                    TwilioError::bad_request(&format!(
                        "PageToken {} is not a page token this server handed out.",
                        crate::scenario::quote(token)
                    ))
                })?,
            None => page.saturating_mul(size.unwrap_or(default_size)),
        };
        Ok(PageQuery { size, page, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_forms_read_as_twilio_writes_them() {
        let r = route("/v1/Services/IS1/Conversations/CH1/Messages/IM2/Receipts").unwrap();
        assert_eq!(r.service.as_deref(), Some("IS1"));
        assert_eq!(r.resource, Resource::Receipts("CH1".into(), "IM2".into()));
        assert_eq!(
            route("/v1/Users/ana%40x").unwrap().resource,
            Resource::User("ana@x".into())
        );
        assert_eq!(route("/v1/Conversations/"), None);
        assert_eq!(route("/v2/Conversations"), None);
        assert_eq!(route("/v1/Services/IS1"), None);
        let f = Form::parse("Body=hi+there%21&MediaSid=ME1&MediaSid=ME2&Author=").unwrap();
        assert_eq!(f.get("Body"), Some("hi there!"));
        assert_eq!(f.all("MediaSid"), ["ME1", "ME2"]);
        assert_eq!(f.get("Author"), Some(""));
        assert!(f.check_known(&["Body", "MediaSid"]).is_err());
        assert!(Form::parse("Body=%zz").is_err());
        let q = Form::parse("PageSize=5&Page=2").unwrap();
        assert_eq!(PageQuery::read(&q, 50).unwrap().offset, 10);
        let q = Form::parse("PageSize=5&Page=2&PageToken=PT7").unwrap();
        assert_eq!(PageQuery::read(&q, 50).unwrap().offset, 7);
        assert!(PageQuery::read(&Form::parse("PageToken=x").unwrap(), 50).is_err());
        assert!(PageQuery::read(&Form::parse("PageSize=-1").unwrap(), 50).is_err());
    }
}
