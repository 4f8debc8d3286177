//! The console's session cookie and form (CSRF) tokens.
//!
//! The session is stateless: `<issued>.<nonce>.<mac>`, where `mac` is HMAC-SHA256 under a
//! key derived from `ADMIN_TOKEN` ([`SessionKey::of`]). So it needs no table, it lasts
//! [`SESSION_SECONDS`] from sign-in, and rotating `ADMIN_TOKEN` revokes every session at once
//! (the key changes, no cookie verifies). Every form of a session carries [`csrf_token`] of the
//! session's nonce; the sign-in form, before any session, carries one of a short-lived
//! pre-session cookie's nonce ([`SIGNIN_COOKIE`]).

use crate::cookie::strict_cookie;
use crate::envelope::hmac_sha256;
use crate::random::{b64url, ct_eq};
use sha2::{Digest, Sha256};

/// How long a session lasts from sign-in: 12 hours.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// How long the sign-in form may be posted after it was shown: 10 minutes.
pub const SIGNIN_SECONDS: i64 = 600;

/// The pre-session cookie that binds the sign-in form to the browser it was shown to.
pub const SIGNIN_COOKIE: &str = "cl_console_signin";

/// The session cookie's name: `__Host-` prefixed over https (the browser then insists on
/// `Secure`, `Path=/` and no `Domain`, so no sibling host can plant or read it).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-cl_console"
    } else {
        "cl_console"
    }
}

/// The key sessions and form tokens are MACed under, from `ADMIN_TOKEN`.
pub struct SessionKey([u8; 32]);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey([redacted])")
    }
}

impl SessionKey {
    /// The key of admin token `token`: HMAC-SHA256(SHA-256(token), label). A new token is a
    /// new key, which is how rotating `ADMIN_TOKEN` signs every session out.
    pub fn of(token: &str) -> SessionKey {
        let root: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        SessionKey(hmac_sha256(&root, b"connect-links console session v1"))
    }

    fn mac(&self, purpose: &str, text: &str) -> String {
        b64url(&hmac_sha256(&self.0, format!("{purpose}\n{text}").as_bytes()))
    }
}

/// A session that verified: when it began and its nonce (what its form tokens are bound to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Epoch seconds of the sign-in.
    pub issued: i64,
    /// The session's random nonce (b64url).
    pub nonce: String,
}

/// A session cookie's value for a sign-in at `now` with random `nonce` (b64url, no dots).
pub fn mint(key: &SessionKey, now: i64, nonce: &str) -> String {
    let body = format!("{now}.{nonce}");
    let mac = key.mac("session", &body);
    format!("{body}.{mac}")
}

/// The session `value` carries if its MAC verifies (constant time) and it is neither older
/// than [`SESSION_SECONDS`] nor from more than a minute in the future.
pub fn verify(key: &SessionKey, value: &str, now: i64) -> Option<Session> {
    let mut parts = value.splitn(3, '.');
    let (issued, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if nonce.is_empty() || mac.contains('.') {
        return None;
    }
    let expected = key.mac("session", &format!("{issued}.{nonce}"));
    if !ct_eq(expected.as_bytes(), mac.as_bytes()) {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    (issued <= now + 60 && now - issued < SESSION_SECONDS).then(|| Session { issued, nonce: nonce.to_string() })
}

/// The form token of the session (or sign-in cookie) with `nonce`.
pub fn csrf_token(key: &SessionKey, nonce: &str) -> String {
    key.mac("csrf", nonce)
}

/// Whether `given` is the form token of `nonce` (constant time); empty never is.
pub fn csrf_ok(key: &SessionKey, nonce: &str, given: &str) -> bool {
    !nonce.is_empty() && !given.is_empty() && ct_eq(csrf_token(key, nonce).as_bytes(), given.as_bytes())
}

/// The `Set-Cookie` value of a new session: HttpOnly, SameSite=Strict, 12 hours.
pub fn session_cookie(value: &str, secure: bool) -> String {
    strict_cookie(cookie_name(secure), value, "/", SESSION_SECONDS, secure)
}

/// The `Set-Cookie` value that ends the session in this browser.
pub fn clear_session_cookie(secure: bool) -> String {
    strict_cookie(cookie_name(secure), "", "/", 0, secure)
}

/// The `Set-Cookie` value of the sign-in form's cookie, `<issued>.<nonce>` (its nonce is what
/// the form's token is bound to).
pub fn signin_cookie(value: &str, secure: bool) -> String {
    strict_cookie(SIGNIN_COOKIE, value, "/console", SIGNIN_SECONDS, secure)
}

/// The `Set-Cookie` value that drops the sign-in form's cookie (after a sign-in).
pub fn clear_signin_cookie(secure: bool) -> String {
    strict_cookie(SIGNIN_COOKIE, "", "/console", 0, secure)
}

/// The nonce of a sign-in cookie's value `<issued>.<nonce>` that is at most
/// [`SIGNIN_SECONDS`] old at `now`.
pub fn signin_nonce(value: &str, now: i64) -> Option<&str> {
    let (issued, nonce) = value.split_once('.')?;
    let issued: i64 = issued.parse().ok()?;
    (!nonce.is_empty() && issued <= now + 60 && now - issued <= SIGNIN_SECONDS).then_some(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_session_verifies_for_twelve_hours() {
        let key = SessionKey::of("admin-token");
        let v = mint(&key, 1_000_000, "nonce1");
        assert_eq!(verify(&key, &v, 1_000_000), Some(Session { issued: 1_000_000, nonce: "nonce1".into() }));
        assert!(verify(&key, &v, 1_000_000 + SESSION_SECONDS - 1).is_some());
        assert_eq!(verify(&key, &v, 1_000_000 + SESSION_SECONDS), None);
        assert_eq!(verify(&key, &v, 1_000_000 - 61), None, "from the future");
    }

    #[test]
    fn rotating_the_admin_token_revokes_sessions_and_form_tokens() {
        let old = SessionKey::of("admin-token");
        let new = SessionKey::of("admin-token-2");
        let v = mint(&old, 50, "n");
        assert_eq!(verify(&new, &v, 50), None);
        assert!(!csrf_ok(&new, "n", &csrf_token(&old, "n")));
    }

    #[test]
    fn a_tampered_session_fails() {
        let key = SessionKey::of("t");
        let v = mint(&key, 100, "abc");
        let mac = v.rsplit('.').next().unwrap_or_default();
        assert_eq!(verify(&key, &format!("200.abc.{mac}"), 100), None, "issued time changed");
        assert_eq!(verify(&key, &format!("100.abd.{mac}"), 100), None, "nonce changed");
        assert_eq!(verify(&key, "100.abc.", 100), None);
        assert_eq!(verify(&key, "", 100), None);
        assert_eq!(verify(&key, &format!("{v}.x"), 100), None);
    }

    #[test]
    fn form_tokens_are_bound_to_their_nonce() {
        let key = SessionKey::of("t");
        let t = csrf_token(&key, "n1");
        assert!(csrf_ok(&key, "n1", &t));
        assert!(!csrf_ok(&key, "n2", &t));
        assert!(!csrf_ok(&key, "n1", ""));
        assert!(!csrf_ok(&key, "", &csrf_token(&key, "")));
    }

    #[test]
    fn cookies_are_host_only_http_only_strict() {
        let c = session_cookie("v", true);
        assert!(c.starts_with("__Host-cl_console=v; Path=/;"));
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure") && c.contains("Max-Age=43200"));
        assert!(!c.contains("Domain"));
        assert!(session_cookie("v", false).starts_with("cl_console=v;"));
        assert!(!session_cookie("v", false).contains("Secure"));
    }

    #[test]
    fn signin_cookies_last_ten_minutes() {
        assert_eq!(signin_nonce("100.abc", 100 + SIGNIN_SECONDS), Some("abc"));
        assert_eq!(signin_nonce("100.abc", 101 + SIGNIN_SECONDS), None);
        assert_eq!(signin_nonce("100.", 100), None);
        assert_eq!(signin_nonce("x.abc", 100), None);
    }
}
