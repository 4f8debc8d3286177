//! Mastodon: one OAuth client per instance, registered by the worker itself on first use.
//!
//! Pure pieces of that dance (no I/O): discovery of what an instance supports, the app
//! registration and its answer, the scope check against what was registered, and the
//! per-instance account key. The worker sends the requests and keeps the client in D1.
//!
//! Checked 2026-11-30 against mastodon/documentation:
//! - https://docs.joinmastodon.org/methods/oauth/#authorization-server-metadata (4.3+; 404 before)
//! - https://docs.joinmastodon.org/methods/apps/#create (`redirect_uris` a string, or an
//!   array from 4.3 on; 422 on validation errors; apps vacuumed before 4.3)
//! - https://docs.joinmastodon.org/api/oauth-scopes/ (scope list, `profile` from 4.3)
//! - https://docs.joinmastodon.org/methods/oauth/#token (401 `invalid_client`)

use crate::http::{form_body, HttpRequest};
use crate::secrets::ClientSecret;
use serde_json::Value;
use std::fmt;

/// What an instance's authorization-server metadata says we may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The instance verifies S256 PKCE (`code_challenge_methods_supported` lists `S256`).
    pub pkce: bool,
    /// The instance knows the `profile` scope (4.3+; `scopes_supported` lists it).
    pub profile_scope: bool,
}

/// Entries of an advertised array looked at; a longer array is read up to here (a hostile
/// document costs a bounded scan, and a real one lists a few dozen scopes).
const MAX_LISTED: usize = 512;

/// `GET https://<host>/.well-known/oauth-authorization-server` (RFC 8414; Mastodon 4.3+).
/// `host` must come from `crate::host::public_host`.
pub fn discovery_request(host: &str) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url: format!("https://{host}/.well-known/oauth-authorization-server"),
        headers: vec![("accept".into(), "application/json".into())],
        body: None,
    }
}

/// What the metadata answer allows. Anything but a 2xx JSON object (404 before 4.3, an
/// error page, garbage, wrong types) reads as an older instance: no PKCE, no `profile`.
///
/// The advertised endpoints (`authorization_endpoint`, `token_endpoint`, ...) are
/// deliberately ignored: the worker always calls the fixed paths `/oauth/authorize`,
/// `/oauth/token` and `/oauth/revoke` on the validated instance host, so a hostile
/// instance cannot point us at another host and have our client secret or its users'
/// codes and tokens sent there.
pub fn parse_discovery(status: u16, body: &[u8]) -> Discovery {
    if !(200..300).contains(&status) {
        return Discovery::default();
    }
    let Ok(Value::Object(doc)) = serde_json::from_slice::<Value>(body) else {
        return Discovery::default();
    };
    let lists = |field: &str, wanted: &str| {
        doc.get(field)
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().take(MAX_LISTED).any(|v| v.as_str() == Some(wanted)))
    };
    Discovery { pkce: lists("code_challenge_methods_supported", "S256"), profile_scope: lists("scopes_supported", "profile") }
}

/// Every granular scope in the docs' table (https://docs.joinmastodon.org/api/oauth-scopes/,
/// all known since 3.1). `read:reports` is left out: a deprecated stub since 2.6.
const GRANULAR: &[&str] = &[
    "read:accounts",
    "read:blocks",
    "read:bookmarks",
    "read:favourites",
    "read:filters",
    "read:follows",
    "read:lists",
    "read:mutes",
    "read:notifications",
    "read:search",
    "read:statuses",
    "write:accounts",
    "write:blocks",
    "write:bookmarks",
    "write:conversations",
    "write:favourites",
    "write:filters",
    "write:follows",
    "write:lists",
    "write:media",
    "write:mutes",
    "write:notifications",
    "write:reports",
    "write:statuses",
];

/// The scopes the worker's app registers for on an instance: the widest set a connect link
/// may ever ask there.
///
/// Why this list: the consent screen (Doorkeeper) checks the requested scopes against the
/// registered ones by exact name, not by hierarchy ("The set of scopes saved during
/// application creation must include all the scopes that you will request", oauth-scopes
/// doc; mastodon/documentation#1098: an app registered `read write follow` is refused
/// `read:accounts`). So besides `read write push` every granular `read:*`/`write:*` scope is
/// registered, or asking for the least privilege (`read:statuses`) would fail on the
/// instance. `profile` only where advertised: an older instance answers 422 to an unknown
/// scope. Left out: `follow` (deprecated since 3.5, covered by granular scopes), `admin:*`
/// (moderation of the whole instance, not a user's account), `crypto` (removed in 4.3).
pub fn registration_scopes(d: &Discovery) -> Vec<String> {
    let mut scopes: Vec<String> = ["read", "write", "push"].iter().map(|s| s.to_string()).collect();
    if d.profile_scope {
        scopes.push("profile".into());
    }
    scopes.extend(GRANULAR.iter().map(|s| s.to_string()));
    scopes
}

/// `POST https://<host>/api/v1/apps`, form-encoded. `redirect_uris` goes as one string,
/// which every version reads (an array is 4.3+ only); scopes are space-separated.
pub fn registration_request(
    host: &str,
    client_name: &str,
    redirect_uri: &str,
    scopes: &[String],
    website: Option<&str>,
) -> HttpRequest {
    let scopes = scopes.join(" ");
    let mut pairs = vec![("client_name", client_name), ("redirect_uris", redirect_uri), ("scopes", scopes.as_str())];
    if let Some(w) = website {
        pairs.push(("website", w));
    }
    HttpRequest {
        method: "POST",
        url: format!("https://{host}/api/v1/apps"),
        headers: vec![
            ("accept".into(), "application/json".into()),
            ("content-type".into(), "application/x-www-form-urlencoded".into()),
        ],
        body: Some(form_body(&pairs)),
    }
}

/// The client an instance issued to the worker.
#[derive(Debug)]
pub struct Registration {
    /// The public client id.
    pub client_id: String,
    /// The client secret (`Debug` redacts it).
    pub client_secret: ClientSecret,
}

/// Why a registration answer was not a usable client. `Display` never shows a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationProblem {
    /// 422: the instance refused what we sent (an unknown scope, a redirect it will not
    /// take). `error` is its message, cut to [`MAX_ERROR_CHARS`] printable characters.
    Refused {
        /// The instance's `error` text, if any.
        error: Option<String>,
    },
    /// Another non-2xx status (429 and 5xx are worth retrying later, see `transient`).
    Status(u16),
    /// A 2xx whose body is not a JSON object.
    NotJson,
    /// A 2xx without this field as a non-empty string.
    MissingField(&'static str),
    /// A 2xx whose field is over [`MAX_CLIENT_CHARS`] or holds a character outside
    /// [`is_client_char`]: nothing is stored.
    BadField(&'static str),
}

/// The longest `client_id` or `client_secret` taken from an instance.
pub const MAX_CLIENT_CHARS: usize = 256;

/// The characters a registered `client_id` or `client_secret` may hold: RFC 6749 (appendix A)
/// allows any of `%x20-7E`; this takes the URI-unreserved ones plus the base64 alphabets'
/// `+`, `/` and `=` padding. Mastodon's are base64url (43 characters), Pleroma's and
/// Akkoma's padded base64url, GoToSocial's a ULID: all inside. No space, quote, `&`, `#`,
/// `%` or `\`, so the value reads the same in a URL, a form, a log line and an HTML page.
pub fn is_client_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
}

/// Whether `v` is a client id or secret we take: 1 to [`MAX_CLIENT_CHARS`] of
/// [`is_client_char`].
pub fn is_client_value(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_CLIENT_CHARS && v.chars().all(is_client_char)
}

/// The longest piece of an instance's error message kept.
pub const MAX_ERROR_CHARS: usize = 200;

impl RegistrationProblem {
    /// Whether trying again later may work (rate limit, server trouble).
    pub fn transient(&self) -> bool {
        matches!(self, RegistrationProblem::Status(s) if *s == 429 || *s >= 500)
    }
}

impl fmt::Display for RegistrationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationProblem::Refused { error: Some(e) } => write!(f, "the instance refused the app registration: {e}"),
            RegistrationProblem::Refused { error: None } => f.write_str("the instance refused the app registration"),
            RegistrationProblem::Status(s) => write!(f, "the instance answered the app registration with HTTP {s}"),
            RegistrationProblem::NotJson => f.write_str("the instance's app registration answer is not a JSON object"),
            RegistrationProblem::MissingField(field) => write!(f, "the instance's app registration answer has no {field}"),
            RegistrationProblem::BadField(field) => write!(
                f,
                "the instance's app registration answer has a {field} that is not 1 to {MAX_CLIENT_CHARS} of \
                 A-Z a-z 0-9 - . _ ~ + / ="
            ),
        }
    }
}

/// Reads `POST /api/v1/apps`' answer: the client id and secret, or why not. Only those two
/// fields are read (`scopes`, `redirect_uris`, `vapid_key`... vary by version), and each
/// must pass [`is_client_value`].
pub fn parse_registration(status: u16, body: &[u8]) -> Result<Registration, RegistrationProblem> {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    if status == 422 {
        let error = parsed.as_ref().and_then(|v| v.get("error")).and_then(Value::as_str).map(clean_message);
        return Err(RegistrationProblem::Refused { error: error.filter(|e| !e.is_empty()) });
    }
    if !(200..300).contains(&status) {
        return Err(RegistrationProblem::Status(status));
    }
    let Some(Value::Object(app)) = parsed else {
        return Err(RegistrationProblem::NotJson);
    };
    let field = |name: &'static str| {
        let v = app
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or(RegistrationProblem::MissingField(name))?;
        is_client_value(v).then_some(v).ok_or(RegistrationProblem::BadField(name))
    };
    Ok(Registration { client_id: field("client_id")?.to_string(), client_secret: ClientSecret::new(field("client_secret")?) })
}

/// An instance's message made safe to show: printable characters only, cut short.
fn clean_message(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(MAX_ERROR_CHARS).collect::<String>().trim().to_string()
}

/// Whether every requested scope was registered, else the refused ones (in request order).
///
/// Exact names, as the instance's consent screen checks them (Doorkeeper's
/// `Scopes#has_scopes?`): `read:statuses` is refused when only `read` was registered,
/// although a token with `read` may call `read:statuses` endpoints. Checking here first
/// turns a dead end on the instance ("The requested scope is invalid, unknown, or
/// malformed") into a clear answer to the app before any redirect.
pub fn scopes_allowed(requested: &[String], registered: &[String]) -> Result<(), Vec<String>> {
    let refused: Vec<String> = requested.iter().filter(|s| !registered.contains(s)).cloned().collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused)
    }
}

/// The account's key in this deployment: `<id>@<host>`. Account ids are unique only per
/// instance (two instances both have an account `1`), so the host is part of the key.
pub fn account_key(id: &str, host: &str) -> String {
    format!("{id}@{host}")
}

/// The account's handle as people write it across the fediverse: `username@host`.
/// Written the same way as [`account_key`]: `<name>@<host>`.
pub fn handle(username: &str, host: &str) -> String {
    account_key(username, host)
}

/// Whether a token endpoint answer says our client is unknown there: 401 `invalid_client`.
/// Before 4.3 an instance may vacuum apps that hold no token; the worker then forgets the
/// stored client and registers again on the next connect.
pub fn is_unknown_client(status: u16, body: &[u8]) -> bool {
    status == 401
        && serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(|e| e == "invalid_client"))
            .unwrap_or(false)
}

#[cfg(test)]
mod tests;
