//! Incoming platform webhooks: what Meta and TikTok send when a user lets go of the app
//! from the platform side (a deauthorization, a data deletion request), checked and read
//! without touching the runtime.
//!
//! Everything here takes untrusted bytes from the internet, so every function answers
//! `None` / `false` for anything it does not fully understand, never panics, and caps
//! its input before decoding it.
//!
//! Formats, as documented (read 2026-11-30):
//!
//! - Meta `signed_request` (Data Deletion Request callback and Deauthorize callback of
//!   Facebook Login, and the same two URLs of the Instagram and Threads use cases):
//!   - <https://developers.facebook.com/docs/development/create-an-app/app-dashboard/data-deletion-callback>
//!     (2026-11-30): the POST carries a form field `signed_request`; Meta's PHP sample
//!     splits it at the first `.` into `<encoded_sig>.<payload>`, base64url-decodes both,
//!     refuses unless `strtoupper(algorithm) === 'HMAC-SHA256'`, and compares the
//!     signature with `hash_hmac('sha256', $payload, $secret, true)` over the *encoded*
//!     payload; the answer is `{ url, confirmation_code }` with an alphanumeric code.
//!   - <https://developers.facebook.com/docs/apps/delete-data> (2026-11-30): same callback,
//!     older address.
//!   - <https://developers.facebook.com/docs/reference/login/signed-request> (2026-11-30):
//!     payload fields `algorithm` (normally `HMAC-SHA256`), `issued_at` (a JSON number,
//!     Unix time), `user_id` (a JSON string, the app-scoped user id).
//!   - <https://developers.facebook.com/docs/development/create-an-app/threads-use-case>
//!     (2026-11-30): the Threads use case has its own app secret and its own
//!     "Deauthorize callback URL" and "Data Deletion Requests URL".
//!   - <https://developers.facebook.com/documentation/development/create-an-app/instagram-use-case>
//!     (2026-11-30): the Instagram use case (API setup with Instagram Login) has its own
//!     Instagram app id and secret.
//! - TikTok webhooks:
//!   - <https://developers.tiktok.com/doc/webhooks-overview> (2026-11-30): JSON POST,
//!     answer 200 at once, retried with backoff for up to 72 hours, "at least once", so
//!     processing must be idempotent.
//!   - <https://developers.tiktok.com/doc/webhooks-verification> (2026-11-30): header
//!     `TikTok-Signature: t=<unix seconds>,s=<hex>`; split at `,` then at `=`; the
//!     signature is HMAC-SHA256 keyed with the client secret over `<t>.<raw body>`; the
//!     tolerated clock difference is left to the receiver (300 seconds here,
//!     [`TIKTOK_TOLERANCE_SECS`]).
//!   - <https://developers.tiktok.com/doc/webhooks-events> (2026-11-30): body
//!     `{client_key, event, create_time (int64 seconds), user_openid, content}`, where
//!     `content` is a serialized JSON string; `authorization.removed` carries
//!     `{"reason": <int>}` in it, and the token is already revoked when it arrives.

use crate::envelope::hmac_sha256;
use crate::random::hex;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// Longest `signed_request` accepted. Meta's are a few hundred bytes; the cap keeps a
/// hostile post from costing decode and JSON time before the signature is known good.
pub const MAX_SIGNED_REQUEST_LEN: usize = 8 * 1024;

/// Longest form body searched for `signed_request` (the field itself plus room for others).
pub const MAX_FORM_LEN: usize = 16 * 1024;

/// Longest TikTok webhook body accepted. Events are well under 1 KiB.
pub const MAX_TIKTOK_BODY_LEN: usize = 64 * 1024;

/// Longest `TikTok-Signature` header parsed.
const MAX_TIKTOK_HEADER_LEN: usize = 1024;

/// How far a TikTok timestamp may be from our clock, either way, in seconds. TikTok leaves
/// the tolerance to the receiver; five minutes bounds replays of a captured delivery while
/// allowing for clock skew.
pub const TIKTOK_TOLERANCE_SECS: u64 = 300;

/// The purpose the key of Meta's deletion confirmation codes is first derived for from the
/// current `TOKEN_KEYS` key (`Keyring::derive`), before it is stored. Changing it changes
/// every code answered before: `core/tests/meta_deletion_code.rs` pins it.
pub const CONFIRMATION_CODE_PURPOSE: &str = "meta-data-deletion-code";

/// Hex characters in a deletion confirmation code (80 bits of the MAC).
const CONFIRMATION_CODE_LEN: usize = 20;

/// A Meta `signed_request` whose signature checked out under an app secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The app-scoped user id of the person who removed the app or asked for deletion.
    pub user_id: String,
    /// When Meta signed the request (Unix seconds), if the payload says.
    pub issued_at: Option<i64>,
    /// Whether the payload carries what only a login's signed request does (`code`,
    /// `oauth_token`): Meta signs those with the same secret, and one leaked from a cookie
    /// or a page must not pass for a deauthorize or deletion callback.
    pub from_login: bool,
}

/// How old a Meta callback may be: a day. Meta sends them when the user acts; an older one
/// is a replay (or a login's signed request kept somewhere), not news.
pub const MAX_CALLBACK_AGE_SECS: i64 = 24 * 3600;

/// Whether a verified request is a deauthorize or data deletion callback usable at `now`:
/// it says when it was issued, no more than [`MAX_CALLBACK_AGE_SECS`] ago (and not over
/// five minutes ahead), and is not a login's signed request.
pub fn is_fresh_callback(r: &SignedRequest, now: i64) -> bool {
    let fresh = r.issued_at.is_some_and(|t| t <= now + 300 && now - t <= MAX_CALLBACK_AGE_SECS);
    fresh && !r.from_login
}

/// Checks a Meta `signed_request` (`<base64url signature>.<base64url JSON payload>`)
/// against one app secret and reads it.
///
/// `None` for anything too long, malformed, signed with another secret, naming another
/// algorithm than HMAC-SHA256, or without a `user_id`. The caller tries the secret of each
/// configured Meta platform in turn and acts only for the one that verifies.
pub fn verify_signed_request(raw: &str, secret: &str) -> Option<SignedRequest> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_SIGNED_REQUEST_LEN {
        return None;
    }
    // Meta's sample splits at the first dot only; a second dot can only be garbage in the
    // payload, which then fails to decode.
    let (encoded_sig, encoded_payload) = raw.split_once('.')?;
    let sig = b64url_lenient(encoded_sig)?;

    // The signature is checked before the payload is parsed, so nothing unauthenticated
    // reaches the JSON parser. It covers the payload part exactly as sent.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(encoded_payload.as_bytes());
    // `verify_slice` compares in constant time and refuses a wrong length.
    mac.verify_slice(&sig).ok()?;

    let payload: Value = serde_json::from_slice(&b64url_lenient(encoded_payload)?).ok()?;
    let payload = payload.as_object()?;
    // Meta's own sample upper-cases before comparing; the field sits inside the signed
    // payload, so accepting any case lets nothing unsigned through.
    let algorithm = payload.get("algorithm")?.as_str()?;
    if !algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return None;
    }
    let user_id = id_string(payload.get("user_id")?)?;
    let issued_at = payload.get("issued_at").and_then(int_of);
    let from_login = payload.contains_key("code") || payload.contains_key("oauth_token");
    Some(SignedRequest { user_id, issued_at, from_login })
}

/// The `signed_request` field of an `application/x-www-form-urlencoded` body, as Meta
/// posts it. `None` when the body is too long, has no such field, has it empty, or has it
/// more than once (an ambiguous body is not Meta's).
pub fn signed_request_of_form(body: &[u8]) -> Option<String> {
    if body.len() > MAX_FORM_LEN {
        return None;
    }
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(body) {
        if key == "signed_request" {
            if found.is_some() {
                return None;
            }
            found = Some(value.into_owned());
        }
    }
    found.filter(|v| !v.trim().is_empty())
}

/// Checks a `TikTok-Signature` header (`t=<unix seconds>,s=<hex HMAC-SHA256>`) over the
/// raw body with the app's client secret, at time `now` (Unix seconds).
///
/// The header is read leniently (either order, spaces around parts, keys in any case, more
/// than one `s=` where any may match) but strictly where it matters: exactly one `t`, all
/// digits, within [`TIKTOK_TOLERANCE_SECS`] of `now`, and a signature of exactly 32 bytes
/// compared in constant time.
pub fn verify_tiktok_signature(header: &str, body: &[u8], client_secret: &str, now: i64) -> bool {
    if header.len() > MAX_TIKTOK_HEADER_LEN || body.len() > MAX_TIKTOK_BODY_LEN {
        return false;
    }
    let mut t: Option<&str> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else { continue };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("t") {
            if t.is_some() {
                // Two timestamps: which one was signed is a guess we refuse to make.
                return false;
            }
            t = Some(value);
        } else if key.eq_ignore_ascii_case("s") {
            // A malformed `s` is skipped, not fatal, so one bad entry cannot hide a good one.
            if let Some(sig) = hex_decode(value).filter(|s| s.len() == 32) {
                sigs.push(sig);
            }
        }
    }
    let Some(t) = t else { return false };
    // Digits only (no sign, no spaces inside): the signed string uses `t` exactly as sent.
    if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(ts) = t.parse::<i64>() else { return false };
    if now.abs_diff(ts) > TIKTOK_TOLERANCE_SECS || sigs.is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes()) else { return false };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    // Every candidate is compared (no early exit), each in constant time.
    sigs.iter().fold(false, |ok, sig| mac.clone().verify_slice(sig).is_ok() | ok)
}

/// A TikTok webhook event (all documented fields but `content`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TikTokEvent {
    /// The app the event is for; the caller checks it is ours.
    pub client_key: String,
    /// The event name, e.g. `authorization.removed`.
    pub event: String,
    /// The user's open id, as returned with their token.
    pub user_openid: String,
    /// When the event happened (Unix seconds), if given.
    pub create_time: Option<i64>,
}

/// Reads a TikTok webhook body (after [`verify_tiktok_signature`]). `None` when it is too
/// long, not a JSON object, or lacks a non-empty `client_key`, `event` or `user_openid`.
pub fn parse_tiktok_event(body: &[u8]) -> Option<TikTokEvent> {
    if body.len() > MAX_TIKTOK_BODY_LEN {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let text = |k: &str| obj.get(k)?.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
    Some(TikTokEvent {
        client_key: text("client_key")?,
        event: text("event")?,
        user_openid: text("user_openid")?,
        create_time: obj.get("create_time").and_then(int_of),
    })
}

/// The confirmation code answered to a Meta data deletion request: the first 20 hex
/// characters of HMAC-SHA256(key, `platform|user_id|issued_at`), `issued_at` empty when
/// absent.
///
/// Deterministic, so a request Meta repeats gets the same code (and the same status page);
/// keyed, so codes cannot be guessed or enumerated from user ids. Hex is alphanumeric, as
/// Meta asks. `|` cannot be ambiguous here: platform names have none and Meta user ids are
/// digits.
pub fn confirmation_code(key: &[u8; 32], platform: &str, user_id: &str, issued_at: Option<i64>) -> String {
    let issued = issued_at.map(|t| t.to_string()).unwrap_or_default();
    let mac = hmac_sha256(key, format!("{platform}|{user_id}|{issued}").as_bytes());
    let mut code = hex(&mac);
    code.truncate(CONFIRMATION_CODE_LEN);
    code
}

/// Base64url, with or without `=` padding (Meta sends none, but some of its signatures have
/// been seen with a trailing `=`, and PHP's decoder takes both).
fn b64url_lenient(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim_end_matches('=');
    // More than two pad characters is never valid base64.
    if s.len() - trimmed.len() > 2 || trimmed.is_empty() {
        return None;
    }
    crate::random::b64url_decode(trimmed)
}

/// An id that may come as a JSON string or a JSON integer (Meta documents a string, older
/// payloads and some SDKs send a number). Empty strings are no id.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// A Unix time given as a JSON integer or a string of digits.
fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Hex, either case, even length. The alloc-free checks come before any work.
fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    s.as_bytes().chunks_exact(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

#[cfg(test)]
mod tests;
