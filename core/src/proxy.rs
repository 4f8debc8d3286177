//! The proxy's rules, as pure functions: where a proxied call may go, which
//! headers pass each way, what an endpoint's class is, what a platform's answer says about
//! its limits, and whether to retry. The worker (`src/api/proxy.rs`) only moves bytes.

mod limits;
pub mod location;

pub use crate::platforms::proxy_spec::{BudgetRule, ProxySpec, RateHeaders, Scope, TokenInvalid};
pub use limits::{read_limits, Limits, DEFAULT_BLOCK_SECS, MAX_BLOCK_SECS};

use sha2::{Digest, Sha256};

/// The request header that picks another of the platform's API hosts (an upload host).
pub const HOST_HEADER: &str = "x-connect-links-host";
/// The response header counting the platform calls one proxied call made.
pub const ATTEMPTS_HEADER: &str = "x-connect-links-attempts";
/// The response header saying whether the token was refreshed during the call.
pub const REFRESHED_HEADER: &str = "x-connect-links-refreshed";

/// Platform calls one proxied call may make for 5xx answers and network errors.
pub const MAX_ATTEMPTS: u32 = 3;
/// A retry after a 5xx or a network error starts only this long after the call began, so
/// a slow platform does not hold the caller for three full timeouts.
pub const RETRY_WINDOW_MS: i64 = 10_000;
/// A request body up to this size is held in memory, so that it can be sent again (after a
/// refresh, or a 5xx); a larger one, or one of unknown length, streams through once.
pub const REPLAYABLE_BODY_BYTES: usize = 1 << 20;

/// Request headers a caller may set for every platform; anything else is dropped unless the
/// platform lists it (`ProxySpec::request_headers`). `Authorization` and cookies never pass:
/// the token is ours to set, and a cookie is the caller's, not the account's.
pub const COMMON_REQUEST_HEADERS: [&str; 13] = [
    "accept",
    "accept-language",
    "content-type",
    "content-disposition",
    "content-language",
    "content-range",
    "idempotency-key",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "range",
    "user-agent",
];

/// Response headers that never come back: hop-by-hop ones, cookies (the platform's session
/// is not the caller's), framing the runtime sets again for the body it sends, and the
/// platform's `Cache-Control` (an answer made with one profile's token is never for a shared
/// cache: the answer goes out `no-store`, which `harden` sets only where no header is).
pub const DROPPED_RESPONSE_HEADERS: [&str; 14] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "set-cookie2",
    "content-length",
    "content-encoding",
    "alt-svc",
    "cache-control",
];

/// Why a proxied call was refused before any platform call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetError {
    /// The path would leave the API base (or is not a plain path).
    Escape(&'static str),
    /// `x-connect-links-host` names a host the platform's token may not go to.
    HostNotAllowed,
    /// The platform has no API base.
    NoApiBase,
}

impl TargetError {
    /// The human sentence for the 400 answer (never echoes the path).
    pub fn message(self) -> &'static str {
        match self {
            TargetError::Escape(why) => why,
            TargetError::HostNotAllowed => "x-connect-links-host is not one of this platform's API hosts",
            TargetError::NoApiBase => "this platform has no API base to proxy to",
        }
    }
}

/// Where a proxied call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The full URL, query included.
    pub url: String,
    /// The path as sent to the platform, relative to the API base, with a leading `/`
    /// (what [`endpoint_class`] reads).
    pub path: String,
}

/// The URL a proxied call goes to: the API base (or the allowed host picked by
/// `host_choice`) joined with `raw_path` (the request's path after `/proxy/`, still
/// percent-encoded) and `raw_query`. Refused, before any call, when the result could be
/// anywhere but under the base: an absolute URL, `//`, dot segments (plain or encoded),
/// encoded slashes or backslashes, or a first segment that looks like a scheme or userinfo.
/// Percent-encoded unreserved characters are decoded (RFC 3986 says they mean the same), so
/// that `rec%65nt` is `recent` for the budgets as it is for the platform. The joined URL
/// must parse back to exactly the base's scheme, host, port and path prefix and to the very
/// path given, so no normalization can move it.
pub fn target(
    api_base: Option<&str>,
    extra_hosts: &[String],
    host_choice: Option<&str>,
    raw_path: &str,
    raw_query: Option<&str>,
) -> Result<Target, TargetError> {
    let base = url::Url::parse(api_base.ok_or(TargetError::NoApiBase)?).map_err(|_| TargetError::NoApiBase)?;
    let base_host = base.host_str().ok_or(TargetError::NoApiBase)?.to_ascii_lowercase();
    let host = match host_choice.map(|h| h.trim().to_ascii_lowercase()) {
        None => base_host.clone(),
        Some(h) if h == base_host || extra_hosts.iter().any(|e| e.eq_ignore_ascii_case(&h)) => h,
        Some(_) => return Err(TargetError::HostNotAllowed),
    };
    check_path(raw_path)?;
    let decoded = decode_unreserved(raw_path);
    // The decoded path passes the same checks (a second guard: with well-formed escapes
    // only, decoding unreserved characters cannot make a separator or a dot segment).
    check_path(&decoded)?;
    let relative = format!("/{decoded}");
    let prefix = base.path().trim_end_matches('/');
    let mut joined = format!("{}://{}", base.scheme(), host);
    if let Some(port) = base.port() {
        joined.push_str(&format!(":{port}"));
    }
    let path = format!("{prefix}{relative}");
    joined.push_str(&path);
    if let Some(q) = raw_query.filter(|q| !q.is_empty()) {
        if q.contains('#') {
            return Err(TargetError::Escape("the query may not hold a fragment"));
        }
        joined.push('?');
        joined.push_str(q);
    }
    let url = url::Url::parse(&joined).map_err(|_| TargetError::Escape("the path is not a valid URL path"))?;
    let same_place = url.scheme() == base.scheme()
        && url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host))
        && url.port() == base.port()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == path
        && url.fragment().is_none();
    if !same_place {
        return Err(TargetError::Escape("the path would leave the platform's API"));
    }
    Ok(Target { url: url.into(), path: relative })
}

/// Decodes `%XX` escapes of unreserved characters (`A-Z a-z 0-9 - . _ ~`); every other
/// escape stays as it is.
fn decode_unreserved(path: &str) -> String {
    let b = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                let c = (h * 16 + l) as u8;
                if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                    out.push(c);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    // Only ASCII was put in for ASCII taken out, so the bytes are still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| path.to_string())
}

/// Whether every `%` starts a two-hex-digit escape: then decoding some escapes can never
/// put a new one together (`%2%66` would become `%2f`).
fn escapes_well_formed(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.iter().enumerate().all(|(i, c)| {
        *c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// `s` with each `%` followed by any run of `25` as one `%` (`%25252e` is `%2e`), in one pass.
fn fold_percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut parts = s.split('%');
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        out.push('%');
        out.push_str(part.trim_start_matches("25"));
    }
    out
}

/// Refuses a path that is not a plain relative path under the base.
fn check_path(raw: &str) -> Result<(), TargetError> {
    const ESCAPE: TargetError = TargetError::Escape("the path must be a relative path under the platform's API");
    if raw.is_empty() {
        return Err(TargetError::Escape("the path after /proxy/ is empty"));
    }
    // Checked with `%25` runs folded into `%` too: a host that decodes twice reads
    // `%252e%252e` as `..` and `%252f` as `/`.
    let lower = fold_percent(&raw.to_ascii_lowercase());
    if !escapes_well_formed(raw) {
        return Err(TargetError::Escape("the path has a malformed percent escape"));
    }
    if raw.starts_with('/')
        || raw.contains("//")
        || raw.contains('\\')
        || lower.contains("%2f")
        || lower.contains("%5c")
        || lower.contains("%00")
        || raw.chars().any(|c| c.is_control() || c == ' ' || c == '#' || c == '?')
    {
        return Err(ESCAPE);
    }
    for seg in lower.split('/') {
        // `.`, `..`, and their encoded spellings (`%2e`, `.%2e`, `%2e%2e`...), which URL
        // parsers resolve as dot segments.
        let decoded = seg.replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return Err(ESCAPE);
        }
    }
    let first = lower.split('/').next().unwrap_or_default();
    if first.contains(':') || first.contains('@') || first.contains("%40") || first.contains("%3a") {
        return Err(ESCAPE);
    }
    Ok(())
}

/// The endpoint class of a call: the method and the path with ids replaced by `{id}`, so
/// that counters and log lines group calls by what they do, not by whom they touch. A
/// segment is an id when it holds a digit, a `:` (URNs), an `@`, a `%` (anything encoded)
/// or is longer than 32 characters; a version segment stays (`v2`, `v25.0` anywhere, a bare
/// `2` only first, as X's `/2/...`). The path is lower-cased, matrix parameters (`;x`) and a
/// trailing `/` are cut, so spellings a platform may treat alike share one class; a class
/// longer than [`MAX_CLASS_LEN`] keeps its start and a hash of the whole.
pub fn endpoint_class(method: &str, path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    out.push_str(&method.to_ascii_uppercase());
    out.push(' ');
    let lower = path.to_ascii_lowercase();
    let trimmed = lower.trim_start_matches('/').trim_end_matches('/');
    for (i, seg) in trimmed.split('/').enumerate() {
        let seg = seg.split(';').next().unwrap_or_default();
        out.push('/');
        if is_version(seg) && (i == 0 || seg.starts_with('v')) {
            out.push_str(seg);
        } else if seg.len() > 32 || seg.chars().any(|c| c.is_ascii_digit() || matches!(c, ':' | '@' | '%')) {
            out.push_str("{id}");
        } else {
            out.push_str(seg);
        }
    }
    if out.len() > MAX_CLASS_LEN {
        let digest = crate::random::hex(&Sha256::digest(out.as_bytes())[..8]);
        let mut cut = MAX_CLASS_LEN - 17;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('~');
        out.push_str(&digest);
    }
    out
}

/// The longest endpoint class (the limiter takes keys up to 200 bytes).
pub const MAX_CLASS_LEN: usize = 120;

/// The method a call really has, for budgets, classes and the retry rule. Only where the
/// platform tunnels methods: a POST's `X-HTTP-Method-Override` when the platform takes that
/// header (LinkedIn's query tunnelling), a GET's `method` query parameter when it has one
/// (Graph's `?method=post`). `None` when the call is ambiguous (the parameter twice).
pub fn effective_method(
    method: &str,
    override_header: Option<&str>,
    query: Option<&str>,
    spec: &ProxySpec,
) -> Option<String> {
    let method = method.to_ascii_uppercase();
    let valid = |m: &str| matches!(m, "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS");
    let takes_header = spec.request_headers.iter().any(|h| h.eq_ignore_ascii_case("x-http-method-override"));
    if method == "POST" && takes_header {
        if let Some(m) = override_header.map(|m| m.trim().to_ascii_uppercase()).filter(|m| valid(m)) {
            return Some(m);
        }
    }
    if let (Some(param), Some(q), "GET") = (spec.method_param.as_deref(), query, method.as_str()) {
        let mut given = url::form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k.eq_ignore_ascii_case(param));
        let first = given.next();
        if given.next().is_some() {
            return None;
        }
        if let Some(m) = first.map(|(_, m)| m.trim().to_ascii_uppercase()).filter(|m| valid(m)) {
            return Some(m);
        }
    }
    Some(method)
}

/// `2`, `v2`, `v25.0`, `v1.0`: a short version number.
fn is_version(seg: &str) -> bool {
    let s = seg.strip_prefix('v').unwrap_or(seg);
    !s.is_empty() && s.len() <= 5 && s.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Whether a request header passes to the platform.
pub fn forwards_request_header(name: &str, spec: &ProxySpec) -> bool {
    let n = name.to_ascii_lowercase();
    COMMON_REQUEST_HEADERS.contains(&n.as_str()) || spec.request_headers.iter().any(|h| h.eq_ignore_ascii_case(&n))
}

/// Whether a response header comes back to the caller.
pub fn returns_response_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !DROPPED_RESPONSE_HEADERS.contains(&n.as_str()) && !n.starts_with("cf-")
}

/// Whether a call may be sent again after a 5xx or a network error: methods that are
/// idempotent by definition, and any method the caller marked with `Idempotency-Key`.
pub fn retry_safe(method: &str, has_idempotency_key: bool) -> bool {
    matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS") || has_idempotency_key
}

/// The wait before attempt `next` (2, 3, ...): exponential from 200 ms with full jitter
/// over its upper half (`unit` in [0, 1)), so two retries wait at most 1.2 s together.
pub fn backoff_ms(next: u32, unit: f64) -> u64 {
    let cap = 200u64 << next.saturating_sub(2).min(4);
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.5 };
    cap / 2 + ((cap / 2) as f64 * unit) as u64
}

/// Whether a platform answer says the token is dead or expired (`body` is the start of
/// the answer, read only when [`needs_body_for_token_check`] said so).
pub fn token_invalid(spec: &ProxySpec, status: u16, body: Option<&[u8]>) -> bool {
    match spec.token_invalid {
        TokenInvalid::Status401 => status == 401,
        TokenInvalid::MetaCode190 => {
            status == 401
                || (matches!(status, 400 | 403)
                    && body
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                        .and_then(|v| v.pointer("/error/code").and_then(serde_json::Value::as_i64))
                        == Some(190))
        }
        TokenInvalid::XrpcExpiredToken => {
            status == 401
                || (status == 400 && body.and_then(crate::atproto::xrpc_error).as_deref() == Some("ExpiredToken"))
        }
    }
}

/// Whether the answer's body must be read to tell a dead token (Meta's 400 with code 190).
pub fn needs_body_for_token_check(spec: &ProxySpec, status: u16) -> bool {
    match spec.token_invalid {
        TokenInvalid::Status401 => false,
        TokenInvalid::MetaCode190 => matches!(status, 400 | 403),
        TokenInvalid::XrpcExpiredToken => status == 400,
    }
}

#[cfg(test)]
mod tests;
