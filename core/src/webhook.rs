//! Standard Webhooks (standardwebhooks.com): the signature and the event body.

use crate::random::{b64, b64_decode};
use crate::secrets::WebhookSecret;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Event types the worker sends (api.md section 8).
pub mod types {
    /// A new profile was connected.
    pub const CONNECTED: &str = "profile.connected";
    /// An existing profile was connected again (a reconnect link, or the same account).
    pub const RECONNECTED: &str = "profile.reconnected";
    /// A refresh failed for a transient reason (sent once until it recovers).
    pub const REFRESH_FAILED: &str = "profile.refresh_failed";
    /// A refresh succeeded after `profile.refresh_failed`.
    pub const RECOVERED: &str = "profile.recovered";
    /// The profile needs its user again.
    pub const DISCONNECTED: &str = "profile.disconnected";
    /// A platform without refresh: the token expires within seven days.
    pub const EXPIRING: &str = "profile.expiring";
    /// The app deleted the profile.
    pub const DELETED: &str = "profile.deleted";
    /// A connect link ended in failure.
    pub const LINK_FAILED: &str = "connect_link.failed";
    /// An operator's test of the app's webhook endpoint (the console's "Send a test event").
    pub const TEST: &str = "webhook.test";
}

/// `v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>`, where the key is the
/// base64 part of `whsec_<base64>`. `None` when the secret is not of that form.
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = b64_decode(secret.secret().strip_prefix("whsec_")?)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", b64(&mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one `v1,<signature>` per secret, space-separated, as
/// Standard Webhooks defines it for rotation (a receiver accepts the message when any of
/// them verifies with its secret). Secrets not of the `whsec_` form are left out; `None`
/// when none signs.
pub fn signature_header(secrets: &[WebhookSecret], msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let signatures: Vec<String> = secrets.iter().filter_map(|s| sign(s, msg_id, timestamp, body)).collect();
    (!signatures.is_empty()).then(|| signatures.join(" "))
}

/// The event body: `{type, timestamp, data}`.
pub fn event_body(kind: &str, timestamp_rfc3339: &str, data: Value) -> String {
    json!({"type": kind, "timestamp": timestamp_rfc3339, "data": data}).to_string()
}

/// Delay before delivery attempt `attempts + 1`, after `attempts` failed ones; `None` once
/// the schedule (about 51 hours, so at least 24) is exhausted.
pub fn retry_delay(attempts: u32) -> Option<i64> {
    const SCHEDULE: [i64; 10] = [30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 43_200, 86_400];
    SCHEDULE.get(attempts.saturating_sub(1) as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let secret = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let sig = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, r#"{"test": 2432232314}"#);
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn a_rotated_secret_signs_next_to_the_new_one() {
        let new = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let old = WebhookSecret::new("whsec_bm90IHRoZSBzYW1lIHNlY3JldCBhdCBhbGw=");
        let body = r#"{"test": 2432232314}"#;
        let header = signature_header(&[new, old], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body).unwrap();
        let old_sig = sign(
            &WebhookSecret::new("whsec_bm90IHRoZSBzYW1lIHNlY3JldCBhdCBhbGw="),
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        )
        .unwrap();
        assert_eq!(header, format!("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= {old_sig}"));
        // One secret: one signature; an unusable one is left out; none: no header.
        let one = signature_header(
            &[WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), WebhookSecret::new("nope")],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
        );
        assert_eq!(one.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        assert_eq!(signature_header(&[WebhookSecret::new("nope")], "m", 1, "{}"), None);
        assert_eq!(signature_header(&[], "m", 1, "{}"), None);
    }

    #[test]
    fn malformed_secret_signs_nothing() {
        assert!(sign(&WebhookSecret::new("nope"), "m", 1, "{}").is_none());
    }

    #[test]
    fn retries_cover_at_least_a_day() {
        let total: i64 = (1..=10).map(|a| retry_delay(a).unwrap()).sum();
        assert!(total >= 24 * 3600, "{total}");
        assert_eq!(retry_delay(1), Some(30));
        assert_eq!(retry_delay(11), None);
    }
}
