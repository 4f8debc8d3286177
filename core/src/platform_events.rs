//! Platform events in: the pure part. Each platform that pushes events (comments, mentions,
//! messages, uploads, account changes) has a module here with its handshake, its signature
//! check and its parser, each citing the platform's documentation; all of them hand on
//! [`InboundEvent`]s, one per platform account and change, for the worker to match to
//! profiles and forward to the apps that asked for that event type.

pub mod forwarding;
pub mod linkedin;
pub mod meta;
pub mod sandbox;
pub mod tiktok;
pub mod x;
pub mod youtube;

use crate::random::{ct_eq, hex};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// One event for one platform account, as the platform sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEvent {
    /// The platform account the event is about, as the worker stores it in
    /// `profiles.platform_user_id` (a Page id, an Instagram account id, an X user id, a
    /// LinkedIn organization URN, a TikTok open id, a YouTube channel id).
    pub account_id: String,
    /// The platform's own name of the event type (Meta's change `field`, X's event key,
    /// LinkedIn's `type`, TikTok's `event`, YouTube's `video.published` / `video.deleted`).
    pub event_type: String,
    /// When it happened (Unix seconds): the platform's time when it gives one, else the time
    /// it was received.
    pub occurred_at: i64,
    /// The platform's own event object for that account (one change of an entry with several).
    pub payload: Value,
    /// What makes a redelivery of the same event the same: the platform's event id when it
    /// has one, else [`dedup_key_of`] of the event.
    pub dedup_key: String,
}

/// The dedup key of an event with no id of its own: hex SHA-256 of the account, the type and
/// the payload's JSON text (a redelivery carries the same payload, so the same key).
pub fn dedup_key_of(account_id: &str, event_type: &str, payload: &Value) -> String {
    let mut h = Sha256::new();
    h.update(account_id.as_bytes());
    h.update([0]);
    h.update(event_type.as_bytes());
    h.update([0]);
    h.update(payload.to_string().as_bytes());
    hex(&h.finalize())
}

/// HMAC-SHA256 of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex of [`hmac_sha256`].
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hex(&hmac_sha256(key, msg))
}

/// Standard base64 (with padding) of [`hmac_sha256`].
pub fn hmac_sha256_b64(key: &[u8], msg: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key, msg))
}

/// Compares two strings in constant time (for signatures as sent against as computed).
pub fn ct_eq_str(a: &str, b: &str) -> bool {
    ct_eq(a.as_bytes(), b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn dedup_key_differs_by_account_type_and_payload() {
        let p = serde_json::json!({"a": 1});
        let k = dedup_key_of("1", "feed", &p);
        assert_eq!(k, dedup_key_of("1", "feed", &p));
        assert_ne!(k, dedup_key_of("2", "feed", &p));
        assert_ne!(k, dedup_key_of("1", "mention", &p));
        assert_ne!(k, dedup_key_of("1", "feed", &serde_json::json!({"a": 2})));
        assert!(!ct_eq_str("ab", "abc"));
        assert!(ct_eq_str("abc", "abc"));
    }
}
