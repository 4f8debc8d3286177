//! Incoming platform webhooks: what Meta and TikTok send when a user lets go of the app
//! from the platform side (issue 10), checked and read without touching the runtime.
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
//!     tolerated clock difference is left to the receiver (300 seconds here, issue 10).
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
/// allowing for clock skew (issue 10).
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
mod tests {
    use super::*;
    use crate::random::b64url;
    use serde_json::json;

    const SECRET: &str = "meta-app-secret";
    const TT_SECRET: &str = "tiktok-client-secret";
    const NOW: i64 = 1_764_460_800;

    /// A signed request built the way Meta's docs describe, independently of the code
    /// under test: HMAC over the encoded payload, both parts base64url without padding.
    fn meta_sign(payload: &Value, secret: &str) -> String {
        sign_encoded(&b64url(payload.to_string().as_bytes()), secret)
    }

    /// A signed request around an already encoded payload part (signed as given).
    fn sign_encoded(encoded: &str, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(encoded.as_bytes());
        format!("{}.{encoded}", b64url(&mac.finalize().into_bytes()))
    }

    fn deletion_payload() -> Value {
        json!({"algorithm": "HMAC-SHA256", "expires": 1_291_840_400, "issued_at": 1_291_836_800, "user_id": "218471"})
    }

    fn tiktok_sig(t: &str, body: &[u8], secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }

    const TT_BODY: &str = r#"{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example12345Example12345Example","content":"{\"reason\": 1 }"}"#;

    #[test]
    fn valid_signed_request_reads() {
        let sr = meta_sign(&deletion_payload(), SECRET);
        assert_eq!(
            verify_signed_request(&sr, SECRET),
            Some(SignedRequest { user_id: "218471".into(), issued_at: Some(1_291_836_800), from_login: false })
        );
    }

    #[test]
    fn padding_and_surrounding_space_are_accepted() {
        let sr = meta_sign(&deletion_payload(), SECRET);
        let (sig, payload) = sr.split_once('.').unwrap();
        // A 32-byte signature is 43 characters unpadded, one `=` padded.
        let padded = format!("  {sig}=.{payload}\n");
        assert!(verify_signed_request(&padded, SECRET).is_some());
        // Too much padding is not base64.
        assert!(verify_signed_request(&format!("{sig}===.{payload}"), SECRET).is_none());
    }

    #[test]
    fn padded_payload_is_signed_as_sent() {
        // If the payload part carries padding, the MAC covers it as sent (Meta's sample
        // hashes the string after the dot untouched).
        let mut encoded = b64url(deletion_payload().to_string().as_bytes());
        while !encoded.len().is_multiple_of(4) {
            encoded.push('=');
        }
        let sr = sign_encoded(&encoded, SECRET);
        assert!(verify_signed_request(&sr, SECRET).is_some());
    }

    #[test]
    fn tampered_payload_is_refused() {
        let sr = meta_sign(&deletion_payload(), SECRET);
        let (sig, _) = sr.split_once('.').unwrap();
        let mut other = deletion_payload();
        other["user_id"] = json!("999");
        let forged = format!("{sig}.{}", b64url(other.to_string().as_bytes()));
        assert!(verify_signed_request(&forged, SECRET).is_none());
        // One flipped character of the signature too.
        let mut chars: Vec<char> = sr.chars().collect();
        chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
        assert!(verify_signed_request(&chars.into_iter().collect::<String>(), SECRET).is_none());
    }

    #[test]
    fn wrong_secret_is_refused() {
        let sr = meta_sign(&deletion_payload(), "threads-app-secret");
        assert!(verify_signed_request(&sr, SECRET).is_none());
        assert!(verify_signed_request(&sr, "threads-app-secret").is_some());
        assert!(verify_signed_request(&sr, "").is_none());
    }

    #[test]
    fn algorithm_must_be_hmac_sha256_in_any_case() {
        let mut p = deletion_payload();
        p["algorithm"] = json!("hmac-sha256");
        assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_some());
        for bad in [json!("HMAC-SHA1"), json!("none"), json!(""), json!(256), Value::Null] {
            p["algorithm"] = bad;
            assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
        }
        let mut p = deletion_payload();
        p.as_object_mut().unwrap().remove("algorithm");
        assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
    }

    #[test]
    fn user_id_must_be_there() {
        let mut p = deletion_payload();
        p.as_object_mut().unwrap().remove("user_id");
        assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
        for bad in [json!(""), json!("  "), Value::Null, json!(1.5), json!({"id": "1"}), json!(["1"])] {
            p["user_id"] = bad;
            assert!(verify_signed_request(&meta_sign(&p, SECRET), SECRET).is_none());
        }
    }

    #[test]
    fn numeric_user_id_and_loose_issued_at() {
        let p = json!({"algorithm": "HMAC-SHA256", "issued_at": "1291836800", "user_id": 10_000_123_456_789_u64});
        let got = verify_signed_request(&meta_sign(&p, SECRET), SECRET).unwrap();
        assert_eq!(got.user_id, "10000123456789");
        assert_eq!(got.issued_at, Some(1_291_836_800));
        // A deauthorize payload with extra fields and no issued_at.
        let p = json!({"algorithm": "HMAC-SHA256", "user": {"country": "de"}, "user_id": "42"});
        let got = verify_signed_request(&meta_sign(&p, SECRET), SECRET).unwrap();
        assert_eq!((got.user_id.as_str(), got.issued_at), ("42", None));
    }

    #[test]
    fn garbage_is_refused() {
        let sr = meta_sign(&deletion_payload(), SECRET);
        let (sig, payload) = sr.split_once('.').unwrap();
        let huge = format!("{sig}.{}", "A".repeat(MAX_SIGNED_REQUEST_LEN));
        for bad in [
            "",
            ".",
            "nodot",
            sig,
            &format!("{sig}."),
            &format!(".{payload}"),
            &format!("{sig}.{payload}.extra"),
            "!!!.???",
            &format!("{sig}.%%%"),
            &format!("{sig}+/.{payload}"),
            "é.é",
            &huge,
        ] {
            assert!(verify_signed_request(bad, SECRET).is_none(), "{bad:.40}");
        }
        // Correctly signed but not JSON, or JSON but not an object.
        for body in ["not json", "[1,2]", "\"s\"", "null"] {
            let sr = sign_encoded(&b64url(body.as_bytes()), SECRET);
            assert!(verify_signed_request(&sr, SECRET).is_none());
        }
    }

    #[test]
    fn form_field_is_found() {
        let sr = meta_sign(&deletion_payload(), SECRET);
        let body = format!(
            "foo=1&signed_request={}&bar=2",
            url::form_urlencoded::byte_serialize(sr.as_bytes()).collect::<String>()
        );
        assert_eq!(signed_request_of_form(body.as_bytes()).as_deref(), Some(sr.as_str()));
        assert!(verify_signed_request(&signed_request_of_form(body.as_bytes()).unwrap(), SECRET).is_some());
        assert_eq!(signed_request_of_form(b"signed_request=a%2Eb").as_deref(), Some("a.b"));
        assert_eq!(signed_request_of_form(b""), None);
        assert_eq!(signed_request_of_form(b"other=1"), None);
        assert_eq!(signed_request_of_form(b"signed_request="), None);
        assert_eq!(signed_request_of_form(b"signed_request=a.b&signed_request=c.d"), None);
        assert_eq!(signed_request_of_form(&[0xff, 0xfe, b'=', 0x80]), None);
        let huge = format!("signed_request={}", "a".repeat(MAX_FORM_LEN));
        assert_eq!(signed_request_of_form(huge.as_bytes()), None);
    }

    #[test]
    fn tiktok_valid_signature() {
        let t = NOW.to_string();
        let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
        assert!(verify_tiktok_signature(&format!("t={t},s={s}"), TT_BODY.as_bytes(), TT_SECRET, NOW));
    }

    #[test]
    fn tiktok_header_variants() {
        let t = NOW.to_string();
        let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
        let body = TT_BODY.as_bytes();
        for header in [
            format!("s={s},t={t}"),
            format!(" t = {t} , s = {s} "),
            format!("T={t},S={}", s.to_uppercase()),
            format!("t={t},v=1,s={s}"),
            format!("t={t},s=zz,s={s}"),
            format!("t={t},s={},s={s}", "0".repeat(64)),
            format!("t={t},,s={s},"),
        ] {
            assert!(verify_tiktok_signature(&header, body, TT_SECRET, NOW), "{header}");
        }
        for header in [
            String::new(),
            format!("t={t}"),
            format!("s={s}"),
            format!("t={t};s={s}"),
            format!("t={t},t={t},s={s}"),
            format!("t=+{t},s={s}"),
            format!("t=-{t},s={s}"),
            format!("t={t}.0,s={s}"),
            format!("t=,s={s}"),
            format!("t={t},s="),
            format!("t={t},s={}", "a".repeat(2000)),
        ] {
            assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW), "{header:.80}");
        }
    }

    #[test]
    fn tiktok_bad_hex_is_refused() {
        let t = NOW.to_string();
        let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
        let body = TT_BODY.as_bytes();
        for bad in [&s[..63], &s[..62], &format!("{s}00"), &format!("g{}", &s[1..]), &format!("é{}", &s[2..]), "0x00"]
        {
            assert!(!verify_tiktok_signature(&format!("t={t},s={bad}"), body, TT_SECRET, NOW), "{bad}");
        }
    }

    #[test]
    fn tiktok_tampered_body_or_wrong_secret_is_refused() {
        let t = NOW.to_string();
        let s = tiktok_sig(&t, TT_BODY.as_bytes(), TT_SECRET);
        let header = format!("t={t},s={s}");
        let tampered = TT_BODY.replace("act.example", "act.attacker");
        assert!(!verify_tiktok_signature(&header, tampered.as_bytes(), TT_SECRET, NOW));
        assert!(!verify_tiktok_signature(&header, b"", TT_SECRET, NOW));
        assert!(!verify_tiktok_signature(&header, TT_BODY.as_bytes(), "other-secret", NOW));
        // The timestamp is part of what is signed: moving it breaks the signature.
        let moved = format!("t={},s={s}", NOW - 1);
        assert!(!verify_tiktok_signature(&moved, TT_BODY.as_bytes(), TT_SECRET, NOW));
        let huge = vec![b'x'; MAX_TIKTOK_BODY_LEN + 1];
        let hs = tiktok_sig(&t, &huge, TT_SECRET);
        assert!(!verify_tiktok_signature(&format!("t={t},s={hs}"), &huge, TT_SECRET, NOW));
    }

    #[test]
    fn tiktok_timestamp_window() {
        let body = TT_BODY.as_bytes();
        let at = |t: i64| {
            let ts = t.to_string();
            format!("t={ts},s={}", tiktok_sig(&ts, body, TT_SECRET))
        };
        assert!(verify_tiktok_signature(&at(NOW - 300), body, TT_SECRET, NOW));
        assert!(verify_tiktok_signature(&at(NOW + 300), body, TT_SECRET, NOW));
        assert!(!verify_tiktok_signature(&at(NOW - 301), body, TT_SECRET, NOW));
        assert!(!verify_tiktok_signature(&at(NOW + 301), body, TT_SECRET, NOW));
        assert!(!verify_tiktok_signature(&at(0), body, TT_SECRET, NOW));
        // Extreme clocks and timestamps do not overflow.
        assert!(!verify_tiktok_signature(&at(NOW), body, TT_SECRET, i64::MIN));
        assert!(!verify_tiktok_signature(&at(NOW), body, TT_SECRET, i64::MAX));
        let big = "999999999999".to_string();
        let header = format!("t={big},s={}", tiktok_sig(&big, body, TT_SECRET));
        assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW));
        let huge = "9".repeat(30);
        let header = format!("t={huge},s={}", tiktok_sig(&huge, body, TT_SECRET));
        assert!(!verify_tiktok_signature(&header, body, TT_SECRET, NOW));
    }

    #[test]
    fn tiktok_documented_event_parses() {
        assert_eq!(
            parse_tiktok_event(TT_BODY.as_bytes()),
            Some(TikTokEvent {
                client_key: "bwo2m45353a6k85".into(),
                event: "authorization.removed".into(),
                user_openid: "act.example12345Example12345Example".into(),
                create_time: Some(1_615_338_610),
            })
        );
        let no_time = r#"{"client_key":"k","event":"e","user_openid":"u"}"#;
        assert_eq!(parse_tiktok_event(no_time.as_bytes()).unwrap().create_time, None);
    }

    #[test]
    fn tiktok_bad_events_are_refused() {
        for bad in [
            "",
            "not json",
            "[]",
            "null",
            r#"{"event":"authorization.removed","user_openid":"u"}"#,
            r#"{"client_key":"k","user_openid":"u"}"#,
            r#"{"client_key":"k","event":"e"}"#,
            r#"{"client_key":"k","event":"e","user_openid":""}"#,
            r#"{"client_key":"k","event":"e","user_openid":7}"#,
        ] {
            assert!(parse_tiktok_event(bad.as_bytes()).is_none(), "{bad}");
        }
        assert!(parse_tiktok_event(&[0xff, 0xfe]).is_none());
        let mut huge = br#"{"client_key":"k","event":"e","user_openid":"u","x":""#.to_vec();
        huge.extend(std::iter::repeat_n(b'a', MAX_TIKTOK_BODY_LEN));
        huge.extend(b"\"}");
        assert!(parse_tiktok_event(&huge).is_none());
    }

    #[test]
    fn confirmation_codes_are_stable_keyed_and_distinct() {
        let key = [7u8; 32];
        let a = confirmation_code(&key, "facebook", "218471", Some(1_291_836_800));
        assert_eq!(a.len(), 20);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(a, confirmation_code(&key, "facebook", "218471", Some(1_291_836_800)));
        // Matches the documented construction.
        let expect = hex(&hmac_sha256(&key, b"facebook|218471|1291836800"));
        assert_eq!(a, expect[..20]);
        assert_ne!(a, confirmation_code(&[8u8; 32], "facebook", "218471", Some(1_291_836_800)));
        assert_ne!(a, confirmation_code(&key, "threads", "218471", Some(1_291_836_800)));
        assert_ne!(a, confirmation_code(&key, "facebook", "218472", Some(1_291_836_800)));
        assert_ne!(a, confirmation_code(&key, "facebook", "218471", Some(1_291_836_801)));
        assert_ne!(a, confirmation_code(&key, "facebook", "218471", None));
        assert_eq!(
            confirmation_code(&key, "facebook", "218471", None),
            hex(&hmac_sha256(&key, b"facebook|218471|"))[..20]
        );
    }

    #[test]
    fn vectors_from_the_e2e_signers_verify() {
        // Produced by tests/e2e/platform-webhook-signers.mjs (node:crypto), so the e2e
        // helper and this verifier are pinned to the same reading of the formats.
        let sr = "0Z4osfo-PaC7Gh_rpdK1pI5Ntem4bdCETF8Q6eM6bcU.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsInVzZXJfaWQiOiI0MiIsImlzc3VlZF9hdCI6MX0";
        assert_eq!(
            verify_signed_request(sr, "sec"),
            Some(SignedRequest { user_id: "42".into(), issued_at: Some(1), from_login: false })
        );
        let header = "t=1764460800,s=7824c0c1d83b18c0afd452c9960ef1ae9f67959c392665f40a353934d96e8039";
        assert!(verify_tiktok_signature(header, br#"{"a":1}"#, "sec", 1_764_460_800));
    }

    #[test]
    fn hex_decode_edges() {
        assert_eq!(hex_decode(""), Some(vec![]));
        assert_eq!(hex_decode("00fF"), Some(vec![0, 255]));
        assert_eq!(hex_decode("0"), None);
        assert_eq!(hex_decode("0g"), None);
        assert_eq!(hex_decode("éé"), None);
    }
}

#[cfg(test)]
mod freshness_tests {
    use super::*;

    #[test]
    fn only_recent_callbacks_count_and_never_a_logins_signed_request() {
        let r = |issued_at, from_login| SignedRequest { user_id: "1".into(), issued_at, from_login };
        let now = 1_800_000_000;
        assert!(is_fresh_callback(&r(Some(now - 60), false), now));
        assert!(is_fresh_callback(&r(Some(now - MAX_CALLBACK_AGE_SECS), false), now));
        assert!(!is_fresh_callback(&r(Some(now - MAX_CALLBACK_AGE_SECS - 1), false), now), "a replay");
        assert!(!is_fresh_callback(&r(Some(now + 301), false), now), "from the future");
        assert!(!is_fresh_callback(&r(None, false), now), "no time");
        assert!(!is_fresh_callback(&r(Some(now), true), now), "a login's signed request");
    }
}
