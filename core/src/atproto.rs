//! Bluesky (AT Protocol) sign-in with app passwords, as pure request builders and answer
//! readers: handle -> DID -> DID document -> PDS host -> session, then refresh, revoke and
//! the public profile. The worker sends the requests; nothing here does I/O.
//!
//! Every host that comes from a user or from a fetched document (a `did:web` host, the PDS
//! `serviceEndpoint`) goes through [`public_host`] before a request is built for it, since
//! the worker will send the user's password there. Errors never carry a token, a password or
//! a JWT, nor text the server wrote (which may echo what was sent).
//!
//! Facts checked 2026-11-30 (see `platforms/bluesky.rs` for the endpoint list and URLs):
//! handle and DID syntax per https://atproto.com/specs/handle and
//! https://atproto.com/specs/did; XRPC errors are `{"error": Name, "message": text}`.

pub use crate::platforms::bluesky::DEFAULT_ACCESS_TTL_SECS;
use crate::host::{public_host, HostProblem};
use crate::http::HttpRequest;
use crate::random::b64url_decode;
use crate::secrets::{AccessToken, RefreshToken};
use crate::token::TokenSet;
use serde_json::{Map, Value};
use std::fmt;

/// Bluesky's cached public AppView: answers `resolveHandle` and `getProfile` without a token.
pub const PUBLIC_APPVIEW: &str = "https://public.api.bsky.app";
/// The `did:plc` directory.
pub const PLC_DIRECTORY: &str = "https://plc.directory";
/// The longest handle (atproto handle spec).
pub const MAX_HANDLE_LEN: usize = 253;
/// The longest DID (atproto DID spec).
pub const MAX_DID_LEN: usize = 2048;
/// The largest DID document read (real ones are a few hundred bytes).
pub const MAX_DID_DOCUMENT_BYTES: usize = 64 * 1024;
/// The longest JWT decoded for its `exp` (real ones are well under 2 KiB).
const MAX_JWT_LEN: usize = 16 * 1024;
/// TLDs a handle may never use (atproto handle spec: they must fail resolution; `.test` is
/// for development only).
const RESERVED_TLDS: &[&str] =
    &["alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion", "test"];

/// What a user typed to name their account, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// A handle, lower-cased, without a leading `@` (`alice.bsky.social`).
    Handle(String),
    /// A `did:plc` or `did:web` DID.
    Did(String),
}

impl Identifier {
    /// The normalised value (what `createSession` takes as `identifier`).
    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Handle(s) | Identifier::Did(s) => s,
        }
    }
}

/// Why an identifier was refused (said to the user; it never repeats the value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifierProblem {
    /// Nothing was given.
    Empty,
    /// Longer than a handle or DID may be.
    TooLong,
    /// An email address: we resolve the account first, which needs a handle.
    Email,
    /// Not a handle's syntax.
    BadHandle,
    /// A handle under a TLD that never resolves (`.test`, `.local`, `.invalid`...).
    ReservedTld,
    /// Not a DID's syntax, or a `did:web` that is not a bare public host.
    BadDid,
    /// A DID method other than `plc` and `web`.
    UnsupportedDidMethod,
}

impl fmt::Display for IdentifierProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentifierProblem::Empty => "enter your Bluesky handle (alice.bsky.social)",
            IdentifierProblem::TooLong => "too long for a Bluesky handle or DID",
            IdentifierProblem::Email => "use your handle (alice.bsky.social), not your email address",
            IdentifierProblem::BadHandle => "not a valid handle: expected something like alice.bsky.social",
            IdentifierProblem::ReservedTld => "this handle's domain can't be used on the public network",
            IdentifierProblem::BadDid => "not a valid DID (did:plc:... or did:web:<host>)",
            IdentifierProblem::UnsupportedDidMethod => "only did:plc and did:web DIDs are supported",
        })
    }
}

/// Normalises what a user typed: a handle (an `@` in front is dropped, case is folded) or a
/// `did:plc` / `did:web` DID. Emails are refused: the worker must resolve the account's PDS
/// before it signs in, and an email names none.
pub fn normalize_identifier(input: &str) -> Result<Identifier, IdentifierProblem> {
    let input = input.trim();
    if input.is_empty() {
        return Err(IdentifierProblem::Empty);
    }
    if input.len() > MAX_DID_LEN {
        return Err(IdentifierProblem::TooLong);
    }
    if input.starts_with("did:") {
        check_did(input)?;
        return Ok(Identifier::Did(canonical_did(input)));
    }
    let handle = input.strip_prefix('@').unwrap_or(input);
    if handle.contains('@') {
        return Err(IdentifierProblem::Email);
    }
    if handle.len() > MAX_HANDLE_LEN {
        return Err(IdentifierProblem::TooLong);
    }
    let handle = handle.to_ascii_lowercase();
    if !is_handle_syntax(&handle) {
        return Err(IdentifierProblem::BadHandle);
    }
    let tld = handle.rsplit('.').next().unwrap_or_default();
    if RESERVED_TLDS.contains(&tld) {
        return Err(IdentifierProblem::ReservedTld);
    }
    Ok(Identifier::Handle(handle))
}

/// Handle syntax (atproto spec): ASCII, at most 253 characters, two or more labels of 1-63
/// `[a-z0-9-]` not starting or ending with `-`, the last not starting with a digit.
/// Case-insensitive; reserved TLDs are not refused here (`handle.invalid` is a valid value
/// in a session answer).
fn is_handle_syntax(h: &str) -> bool {
    if h.is_empty() || h.len() > MAX_HANDLE_LEN {
        return false;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels.last().is_some_and(|tld| tld.bytes().next().is_some_and(|b| b.is_ascii_alphabetic()))
}

/// DID syntax (`^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$`, at most 2048), then the method:
/// `did:plc:` takes 24 base32 characters; `did:web:` a bare public host (no port, no path).
fn check_did(did: &str) -> Result<(), IdentifierProblem> {
    if did.len() > MAX_DID_LEN {
        return Err(IdentifierProblem::TooLong);
    }
    let rest = did.strip_prefix("did:").ok_or(IdentifierProblem::BadDid)?;
    let (method, id) = rest.split_once(':').ok_or(IdentifierProblem::BadDid)?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(IdentifierProblem::BadDid);
    }
    let id_ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'%' | b'-'))
        && !id.ends_with([':', '%']);
    if !id_ok {
        return Err(IdentifierProblem::BadDid);
    }
    match method {
        "plc" if id.len() == 24 && id.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)) => Ok(()),
        "plc" => Err(IdentifierProblem::BadDid),
        "web" => did_web_host(did).map(|_| ()).map_err(|_| IdentifierProblem::BadDid),
        _ => Err(IdentifierProblem::UnsupportedDidMethod),
    }
}

/// The host of a hostname-level `did:web`. atproto supports no path-based `did:web` (a `:`
/// after the host) and ports only for localhost, which we never call, so an encoded port
/// (`%3A`) is refused too; what is left must be a public host.
fn did_web_host(did: &str) -> Result<String, HostProblem> {
    let host = did.strip_prefix("did:web:").ok_or(HostProblem::NotAHost)?;
    if host.contains([':', '%']) {
        return Err(HostProblem::ExtraParts);
    }
    public_host(host)
}

/// Why a handle did not resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolveProblem {
    /// No account has this handle (any 400, whatever its error name: the AppView says
    /// `InvalidRequest`, a PDS `HandleNotFound`).
    NotFound,
    /// The service failed (another non-2xx status).
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// A 2xx answer without a valid `did:plc` / `did:web`.
    Malformed,
}

impl fmt::Display for ResolveProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveProblem::NotFound => f.write_str("no Bluesky account has this handle"),
            ResolveProblem::Upstream { status } => write!(f, "handle resolution answered {status}"),
            ResolveProblem::Malformed => f.write_str("handle resolution gave no valid DID"),
        }
    }
}

fn get(url: String) -> HttpRequest {
    HttpRequest { method: "GET", url, headers: vec![("accept".into(), "application/json".into())], body: None }
}

fn query_value(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// `GET https://public.api.bsky.app/xrpc/com.atproto.identity.resolveHandle?handle=..`; the
/// handle should come from [`normalize_identifier`].
pub fn resolve_handle_request(handle: &str) -> HttpRequest {
    get(format!("{PUBLIC_APPVIEW}/xrpc/com.atproto.identity.resolveHandle?handle={}", query_value(handle)))
}

/// The DID a handle resolved to, syntax-checked (`did:plc` or `did:web` only).
pub fn parse_resolved_handle(status: u16, body: &[u8]) -> Result<String, ResolveProblem> {
    if status == 400 {
        return Err(ResolveProblem::NotFound);
    }
    if !(200..300).contains(&status) {
        return Err(ResolveProblem::Upstream { status });
    }
    let obj = json_object(body).ok_or(ResolveProblem::Malformed)?;
    let did = obj.get("did").and_then(Value::as_str).ok_or(ResolveProblem::Malformed)?;
    check_did(did).map_err(|_| ResolveProblem::Malformed)?;
    Ok(canonical_did(did))
}

/// Why a DID document could not be fetched or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DidProblem {
    /// Not a `did:plc` / `did:web` DID we may fetch (syntax, method, or a `did:web` host
    /// that is not a bare public host).
    BadDid,
    /// The directory or host has no document for it (404 or 410).
    NotFound,
    /// The directory or host failed (another non-2xx status).
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// Not a JSON object, or larger than [`MAX_DID_DOCUMENT_BYTES`].
    Malformed,
    /// The document's `id` is not the DID asked for.
    IdMismatch,
    /// No `#atproto_pds` service of type `AtprotoPersonalDataServer`.
    NoPds,
    /// The PDS endpoint is not an https origin on a public host.
    PdsNotAllowed(HostProblem),
}

impl fmt::Display for DidProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DidProblem::BadDid => f.write_str("not a did:plc or did:web DID on a public host"),
            DidProblem::NotFound => f.write_str("no DID document was found for this account"),
            DidProblem::Upstream { status } => write!(f, "the DID document fetch answered {status}"),
            DidProblem::Malformed => f.write_str("the DID document is not a valid JSON object"),
            DidProblem::IdMismatch => f.write_str("the DID document is for another DID"),
            DidProblem::NoPds => f.write_str("the DID document names no AT Protocol PDS"),
            DidProblem::PdsNotAllowed(why) => write!(f, "the account's PDS endpoint is refused: {why}"),
        }
    }
}

/// `did:plc` -> `GET https://plc.directory/<did>`; `did:web` -> `GET
/// https://<host>/.well-known/did.json`, the host checked by [`public_host`].
pub fn did_document_request(did: &str) -> Result<HttpRequest, DidProblem> {
    check_did(did).map_err(|_| DidProblem::BadDid)?;
    if did.starts_with("did:plc:") {
        // The syntax check left only `did:plc:` and base32: nothing to escape.
        return Ok(get(format!("{PLC_DIRECTORY}/{did}")));
    }
    let host = did_web_host(did).map_err(|_| DidProblem::BadDid)?;
    Ok(get(format!("https://{host}/.well-known/did.json")))
}

/// Reads the status of a DID document fetch, before [`parse_did_document`]: 404 and 410 (a
/// tombstoned `did:plc`) mean no document; any other non-2xx is the service's failure.
pub fn did_document_status(status: u16) -> Result<(), DidProblem> {
    match status {
        200..=299 => Ok(()),
        404 | 410 => Err(DidProblem::NotFound),
        _ => Err(DidProblem::Upstream { status }),
    }
}

/// What the worker needs from a DID document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidDocument {
    /// The PDS host alone (`morel.us-east.host.bsky.network`), checked by [`public_host`].
    pub pds_host: String,
    /// The handle the document claims (first `at://` entry of `alsoKnownAs`), lower-cased,
    /// when it is valid handle syntax. The claim is one-sided until the handle resolves back.
    pub handle: Option<String>,
}

/// The one spelling of a DID: a `did:web` names a host, which DNS reads without case, so it
/// is folded to lower case (a `did:plc` is lower case by syntax). DIDs are compared in this
/// form wherever they come from: the user, the AppView, a document, a session.
pub fn canonical_did(did: &str) -> String {
    if did.starts_with("did:web:") {
        did.to_ascii_lowercase()
    } else {
        did.to_string()
    }
}

/// Reads a DID document for `did` (its status already checked by [`did_document_status`]).
pub fn parse_did_document(did: &str, body: &[u8]) -> Result<DidDocument, DidProblem> {
    if body.len() > MAX_DID_DOCUMENT_BYTES {
        return Err(DidProblem::Malformed);
    }
    let doc = json_object(body).ok_or(DidProblem::Malformed)?;
    if doc.get("id").and_then(Value::as_str).map(canonical_did) != Some(canonical_did(did)) {
        return Err(DidProblem::IdMismatch);
    }
    let handle = doc
        .get("alsoKnownAs")
        .and_then(Value::as_array)
        .and_then(|aka| aka.iter().filter_map(Value::as_str).find_map(|s| s.strip_prefix("at://")))
        .map(str::to_ascii_lowercase)
        .filter(|h| is_handle_syntax(h));
    let full_id = format!("{did}#atproto_pds");
    let service = doc
        .get("service")
        .and_then(Value::as_array)
        .and_then(|services| {
            services.iter().find(|s| {
                let id = s.get("id").and_then(Value::as_str);
                (id == Some("#atproto_pds") || id == Some(full_id.as_str()))
                    && s.get("type").and_then(Value::as_str) == Some("AtprotoPersonalDataServer")
            })
        })
        .ok_or(DidProblem::NoPds)?;
    let endpoint = service.get("serviceEndpoint").and_then(Value::as_str).ok_or(DidProblem::NoPds)?;
    // The endpoint must be an https URL: `public_host` alone would also take a bare name.
    if !endpoint.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
        return Err(DidProblem::PdsNotAllowed(HostProblem::NotHttps));
    }
    let pds_host = public_host(endpoint).map_err(DidProblem::PdsNotAllowed)?;
    Ok(DidDocument { pds_host, handle })
}

/// `POST https://<pds_host>/xrpc/com.atproto.server.createSession` with JSON
/// `{identifier, password}`. `pds_host` must come from [`parse_did_document`] (checked);
/// `identifier` is the handle or, better, the DID it resolved to. The request carries the
/// password: never log its body.
pub fn create_session_request(pds_host: &str, identifier: &str, password: &str) -> HttpRequest {
    let body = serde_json::json!({ "identifier": identifier, "password": password }).to_string();
    HttpRequest {
        method: "POST",
        url: format!("https://{pds_host}/xrpc/com.atproto.server.createSession"),
        headers: vec![("accept".into(), "application/json".into()), ("content-type".into(), "application/json".into())],
        body: Some(body),
    }
}

/// `POST https://<pds_host>/xrpc/com.atproto.server.refreshSession` with the refresh JWT as
/// the Bearer token and no body. The answer (read by [`parse_session`]) carries a new
/// refresh JWT: store it every time, the old one dies after the PDS's grace period.
pub fn refresh_session_request(pds_host: &str, refresh_jwt: &RefreshToken) -> HttpRequest {
    bearer_post(pds_host, "com.atproto.server.refreshSession", refresh_jwt.secret())
}

/// `POST https://<pds_host>/xrpc/com.atproto.server.deleteSession` with the refresh JWT as
/// the Bearer token: revokes that refresh JWT. The access JWT is stateless and stays valid
/// until its `exp` (at most 2 h on the reference PDS).
pub fn delete_session_request(pds_host: &str, refresh_jwt: &RefreshToken) -> HttpRequest {
    bearer_post(pds_host, "com.atproto.server.deleteSession", refresh_jwt.secret())
}

fn bearer_post(pds_host: &str, nsid: &str, token: &str) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url: format!("https://{pds_host}/xrpc/{nsid}"),
        headers: vec![
            ("accept".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {token}")),
        ],
        body: None,
    }
}

/// A signed-in (or refreshed) session.
#[derive(Debug)]
pub struct Session {
    /// The account's DID: its stable id.
    pub did: String,
    /// The handle, lower-cased (`handle.invalid` when the PDS found it broken).
    pub handle: String,
    /// `access_token` = accessJwt, `refresh_token` = refreshJwt, lifetimes read from their
    /// `exp` claims; `scope` is the access JWT's `scope` claim when readable
    /// (`com.atproto.appPass`, `com.atproto.appPassPrivileged`, `com.atproto.access`).
    pub tokens: TokenSet,
}

/// Why a sign-in or refresh failed. `Display` never shows a token, password or server text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    /// 401 `AuthenticationRequired`: wrong identifier or password (the PDS does not say which).
    InvalidCredentials,
    /// 401 `AuthFactorTokenRequired`: the account has email 2FA and its main password was
    /// given; an app password signs in without the code.
    AuthFactorRequired,
    /// `AccountTakedown`, or a session answer whose `status` is `takendown`.
    AccountTakendown,
    /// 429 `RateLimitExceeded` (createSession allows 30 per 5 minutes per identifier and IP).
    RateLimited,
    /// Any other non-2xx status (a refresh's 400 `ExpiredToken` / `InvalidToken` lands here;
    /// the lifecycle job classifies it with the platform's `terminal_errors`).
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// A 2xx answer without valid `accessJwt`, `refreshJwt`, `did` and `handle`.
    Malformed,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::InvalidCredentials => f.write_str("Bluesky refused the handle or app password"),
            SessionError::AuthFactorRequired => f.write_str(
                "this account uses a sign-in code by email: create an app password in Bluesky \
                 (Settings > Privacy and security > App passwords) and use it instead",
            ),
            SessionError::AccountTakendown => f.write_str("this Bluesky account has been taken down"),
            SessionError::RateLimited => f.write_str("too many sign-in attempts: try again in a few minutes"),
            SessionError::Upstream { status } => write!(f, "the Bluesky server answered {status}"),
            SessionError::Malformed => f.write_str("the Bluesky server's session answer is invalid"),
        }
    }
}

/// Reads a `createSession` or `refreshSession` answer. `expires_in` is the access JWT's `exp`
/// minus `now_secs` ([`DEFAULT_ACCESS_TTL_SECS`] when unreadable); `refresh_expires_in` the
/// refresh JWT's (`None` when unreadable: the refresh then just runs until refused). Both
/// are decoded without verification, only to schedule refreshes; a past `exp` gives 0.
pub fn parse_session(status: u16, body: &[u8], now_secs: i64) -> Result<Session, SessionError> {
    if !(200..300).contains(&status) {
        return Err(session_failure(status, body));
    }
    let obj = json_object(body).ok_or(SessionError::Malformed)?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let access = text("accessJwt").ok_or(SessionError::Malformed)?;
    let refresh = text("refreshJwt").ok_or(SessionError::Malformed)?;
    let did = text("did").filter(|d| check_did(d).is_ok()).ok_or(SessionError::Malformed)?;
    let handle = text("handle").map(str::to_ascii_lowercase).filter(|h| is_handle_syntax(h));
    let handle = handle.ok_or(SessionError::Malformed)?;
    if text("status") == Some("takendown") {
        return Err(SessionError::AccountTakendown);
    }
    let left = |exp: i64| (exp - now_secs).max(0);
    let access_claims = jwt_claims(access);
    let tokens = TokenSet {
        expires_in: Some(access_claims.as_ref().and_then(claims_exp).map_or(DEFAULT_ACCESS_TTL_SECS, left)),
        refresh_expires_in: jwt_exp(refresh).map(left),
        scope: access_claims
            .as_ref()
            .and_then(|c| c.get("scope").and_then(Value::as_str).map(str::to_string))
            .filter(|s| s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')),
        access_token: AccessToken::new(access),
        refresh_token: Some(RefreshToken::new(refresh)),
        token_type: "Bearer".into(),
    };
    Ok(Session { did: did.to_string(), handle, tokens })
}

fn session_failure(status: u16, body: &[u8]) -> SessionError {
    match (status, xrpc_error(body).as_deref()) {
        (_, Some("AccountTakedown")) => SessionError::AccountTakendown,
        (401, Some("AuthFactorTokenRequired")) => SessionError::AuthFactorRequired,
        (401, _) => SessionError::InvalidCredentials,
        (429, _) => SessionError::RateLimited,
        _ => SessionError::Upstream { status },
    }
}

/// The `exp` claim of a JWT, in epoch seconds, read without verifying the signature (only
/// to schedule a refresh). `None` when the token is not three base64url parts, the payload is
/// not a JSON object, or `exp` is missing, not a positive number, or absurdly large.
fn jwt_exp(token: &str) -> Option<i64> {
    claims_exp(&jwt_claims(token)?)
}

/// The `exp` claim of decoded JWT claims (see [`jwt_exp`]).
fn claims_exp(claims: &Map<String, Value>) -> Option<i64> {
    let exp = claims.get("exp")?.as_f64()?;
    (exp > 0.0 && exp < 1e12).then_some(exp as i64)
}

fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_JWT_LEN {
        return None;
    }
    let mut parts = token.split('.');
    let (_header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = b64url_decode(payload.trim_end_matches('='))?;
    json_object(&bytes)
}

/// `GET https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile?actor=<did>`: public, no
/// token needed.
pub fn profile_request(did: &str) -> HttpRequest {
    get(format!("{PUBLIC_APPVIEW}/xrpc/app.bsky.actor.getProfile?actor={}", query_value(did)))
}

/// What a profile adds to a connected account; both may be absent (no display name or
/// avatar set, or an account the AppView has not indexed yet).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProfileFacts {
    /// `displayName`, cut as `crate::caps::name` cuts names.
    pub display_name: Option<String>,
    /// `avatar` (an image URL), dropped when over `crate::caps::MAX_URL_CHARS`.
    pub avatar_url: Option<String>,
}

/// Reads a `getProfile` answer; `None` when the status is not 2xx or the body not a JSON
/// object (the profile is optional: the account is connected without it).
pub fn parse_profile(status: u16, body: &[u8]) -> Option<ProfileFacts> {
    if !(200..300).contains(&status) {
        return None;
    }
    let obj = json_object(body)?;
    let text = |k: &str| obj.get(k)?.as_str().map(str::trim);
    Some(ProfileFacts {
        display_name: text("displayName").and_then(crate::caps::name),
        avatar_url: text("avatar").and_then(crate::caps::url),
    })
}

fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// An XRPC error name (`ExpiredToken`); anything but a short ASCII word is not passed on.
pub(crate) fn xrpc_error(body: &[u8]) -> Option<String> {
    let name = json_object(body)?.get("error")?.as_str()?.to_string();
    (name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(name)
}

#[cfg(test)]
mod tests;
