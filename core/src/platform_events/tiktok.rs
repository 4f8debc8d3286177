//! TikTok's webhook events as [`InboundEvent`]s: every verified event of the platform app's
//! own client key (the signature and the envelope are read by
//! `crate::platform_webhooks::{verify_tiktok_signature, parse_tiktok_event}`).
//!
//! Facts (retrieved 2026-12-07):
//! - <https://developers.tiktok.com/doc/webhooks-events>: the body is `{client_key, event,
//!   create_time (int64, UTC epoch seconds), user_openid, content}`, where `content` is "A
//!   serialized JSON string of event information" (so it is parsed a second time), e.g.
//!   `"content":"{\"share_id\":\"video.6974245311675353080.VDCxrcMJ\"}"` for
//!   `video.publish.completed`; `user_openid` is the open id returned with the token (what the
//!   worker stores as the profile's `platform_user_id`). `portability.download.ready` carries
//!   no `user_openid`: it concerns no account the worker can route to, and is not handed on.
//! - <https://developers.tiktok.com/doc/webhooks-overview>: "at least once delivery", retried
//!   for up to 72 hours; TikTok sends no event id, so a redelivery is known by its body.

use super::{dedup_key_of, InboundEvent};
use serde_json::Value;

/// The event of a verified TikTok body for the client `client_key` (the platform app the
/// path names), or `None`: not a JSON object, another client's, or about no user. The
/// payload is `content` parsed (a JSON string inside the JSON), or `content` as sent when it
/// is not JSON; the time is `create_time`, else `now`.
pub fn inbound_event(body: &[u8], client_key: &str, now: i64) -> Option<InboundEvent> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k)?.as_str().filter(|s| !s.is_empty());
    if text("client_key")? != client_key {
        return None;
    }
    let account_id = text("user_openid")?.to_string();
    let event_type = text("event")?.to_string();
    let occurred_at = v.get("create_time").and_then(Value::as_i64).unwrap_or(now);
    let payload = match v.get("content") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    // No event id: the whole body (its `create_time` included) tells two events apart, and
    // is the same on a redelivery.
    let dedup_key = dedup_key_of(&account_id, &event_type, &v);
    Some(InboundEvent { account_id, event_type, occurred_at, payload, dedup_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The documented `video.publish.completed` example (webhooks-events, 2026-12-07).
    const PUBLISHED: &str = r#"{"client_key":"bwo2m45353a6k85","event":"video.publish.completed","create_time":1615338610,"user_openid":"act.example12345Example12345Example","content":"{\"share_id\":\"video.6974245311675353080.VDCxrcMJ\"}"}"#;

    #[test]
    fn reads_the_documented_event_with_its_content_parsed() {
        let e = inbound_event(PUBLISHED.as_bytes(), "bwo2m45353a6k85", 9).unwrap();
        assert_eq!(e.account_id, "act.example12345Example12345Example");
        assert_eq!(e.event_type, "video.publish.completed");
        assert_eq!(e.occurred_at, 1615338610);
        assert_eq!(e.payload, serde_json::json!({"share_id": "video.6974245311675353080.VDCxrcMJ"}));
        assert_eq!(e.dedup_key, inbound_event(PUBLISHED.as_bytes(), "bwo2m45353a6k85", 10).unwrap().dedup_key);
        let later = PUBLISHED.replace("1615338610", "1615338611");
        assert_ne!(e.dedup_key, inbound_event(later.as_bytes(), "bwo2m45353a6k85", 9).unwrap().dedup_key);
    }

    #[test]
    fn refuses_other_clients_and_events_about_no_user() {
        assert!(inbound_event(PUBLISHED.as_bytes(), "someone-else", 9).is_none());
        let portability = r#"{"client_key":"k","event":"portability.download.ready","create_time":1,"content":"{\"request_id\":123123123123123}"}"#;
        assert!(inbound_event(portability.as_bytes(), "k", 9).is_none());
        assert!(inbound_event(b"[1]", "k", 9).is_none());
        assert!(inbound_event(b"not json", "k", 9).is_none());
        let odd = r#"{"client_key":"k","event":"e","user_openid":"u","content":"not json"}"#;
        let e = inbound_event(odd.as_bytes(), "k", 9).unwrap();
        assert_eq!((e.payload, e.occurred_at), (Value::String("not json".into()), 9));
    }
}
