//! The sandbox platform's events, in Meta's webhook shape so that `make dev` and the tests
//! run the whole path of a real platform's events with no platform and no mock: a body
//! `{"object": "sandbox", "entry": [{"id", "time", "changes": [{"field", "value"}]}]}`,
//! signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` with the sandbox's
//! client secret, as Meta signs with the app secret
//! (https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Event
//! Notifications" and "Validate Payloads", read 2026-12-07).

use super::{dedup_key_of, hmac_sha256_hex, InboundEvent};
use crate::error::{ApiError, ApiResult};
use crate::random::ct_eq;
use serde_json::{json, Value};

/// The `object` of every sandbox body.
pub const OBJECT: &str = "sandbox";
/// The event type `POST /sandbox/events` sends when the request names none.
pub const DEFAULT_EVENT_TYPE: &str = "feed";

/// The `X-Hub-Signature-256` value of `body` under `secret`.
pub fn sign(body: &[u8], secret: &str) -> String {
    format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), body))
}

/// Whether `header` is `body`'s signature under `secret` (hex in either case), in constant
/// time. Checked before the body is parsed.
pub fn verify(header: Option<&str>, body: &[u8], secret: &str) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    ct_eq(given.to_ascii_lowercase().as_bytes(), sign(body, secret)[7..].as_bytes())
}

/// Whether `name` can be an event type: 1 to 64 of `a-z`, `0-9`, `_`, `.` (the names apps
/// list in their `platform_events` setting).
pub fn valid_event_type(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.'))
}

/// The events of a verified body: one per change of each entry (an entry with several
/// changes is several events), for the account `entry.id`, typed by the change's `field`, at
/// `entry.time` (Unix seconds), the change's `value` as payload; deduplicated by the value's
/// own `id` when it has a string one. Any other shape is an error naming what is wrong.
pub fn parse(body: &[u8]) -> Result<Vec<InboundEvent>, &'static str> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    if doc.get("object").and_then(Value::as_str) != Some(OBJECT) {
        return Err("object must be \"sandbox\"");
    }
    let entries = doc.get("entry").and_then(Value::as_array).ok_or("entry must be an array")?;
    let mut events = Vec::new();
    for entry in entries {
        let account = entry.get("id").and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 256);
        let account = account.ok_or("entry[].id must be a string of 1 to 256 characters")?;
        let time = entry.get("time").and_then(Value::as_i64).filter(|t| *t >= 0);
        let time = time.ok_or("entry[].time must be a whole number of seconds")?;
        let changes = entry.get("changes").and_then(Value::as_array).ok_or("entry[].changes must be an array")?;
        for change in changes {
            let field = change.get("field").and_then(Value::as_str).filter(|f| valid_event_type(f));
            let field = field.ok_or("changes[].field must be 1 to 64 of a-z, 0-9, '_', '.'")?;
            let value = change.get("value").ok_or("changes[].value is missing")?;
            let dedup_key = match value.get("id").and_then(Value::as_str) {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => dedup_key_of(account, field, value),
            };
            events.push(InboundEvent {
                account_id: account.to_string(),
                event_type: field.to_string(),
                occurred_at: time,
                payload: value.clone(),
                dedup_key,
            });
        }
    }
    Ok(events)
}

/// The body the sandbox sends for one change of `account_id` at `time`.
pub fn body(account_id: &str, event_type: &str, value: Value, time: i64) -> Vec<u8> {
    let doc = json!({
        "object": OBJECT,
        "entry": [{"id": account_id, "time": time, "changes": [{"field": event_type, "value": value}]}],
    });
    doc.to_string().into_bytes()
}

/// A comment on the account's feed, in the shape of Meta's Page `feed` change: what
/// `POST /sandbox/events` sends when the request carries no payload of its own.
pub fn default_value(id: &str, time: i64) -> Value {
    json!({
        "id": id,
        "item": "comment",
        "verb": "add",
        "from": {"id": "sandbox-visitor", "name": "A sandbox visitor"},
        "message": "Hello from the sandbox",
        "created_time": time,
    })
}

/// `POST /sandbox/events`'s body: `{profile_id, event_type?, payload?}` (an object), as
/// (profile id, event type, payload).
pub fn send_request(body: &[u8]) -> ApiResult<(String, String, Option<Value>)> {
    let doc: Value = crate::input::parse_json(body)?;
    let doc = doc.as_object().ok_or_else(|| ApiError::invalid("the body must be a JSON object"))?;
    if doc.keys().any(|k| !matches!(k.as_str(), "profile_id" | "event_type" | "payload")) {
        return Err(ApiError::invalid("the body takes only profile_id, event_type and payload"));
    }
    let profile = doc.get("profile_id").and_then(Value::as_str).filter(|s| !s.is_empty());
    let profile = profile.ok_or_else(|| ApiError::invalid("profile_id must be a string"))?;
    let event_type = match doc.get("event_type") {
        None | Some(Value::Null) => DEFAULT_EVENT_TYPE,
        Some(v) => v
            .as_str()
            .filter(|t| valid_event_type(t))
            .ok_or_else(|| ApiError::invalid("event_type must be 1 to 64 of a-z, 0-9, '_', '.'"))?,
    };
    let payload = match doc.get("payload") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => return Err(ApiError::invalid("payload must be an object")),
    };
    Ok((profile.to_string(), event_type.to_string(), payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_with_several_changes_is_several_events() {
        let body = br#"{"object":"sandbox","entry":[
            {"id":"acct1","time":1700000000,"changes":[
                {"field":"feed","value":{"id":"c1","message":"hi"}},
                {"field":"mention","value":{"post_id":"p9"}}]},
            {"id":"acct2","time":1700000005,"changes":[{"field":"feed","value":{"id":"c2"}}]}]}"#;
        let events = parse(body).unwrap();
        let got: Vec<_> = events.iter().map(|e| (e.account_id.as_str(), e.event_type.as_str(), e.occurred_at)).collect();
        assert_eq!(got, [("acct1", "feed", 1700000000), ("acct1", "mention", 1700000000), ("acct2", "feed", 1700000005)]);
        assert_eq!(events[0].payload, json!({"id": "c1", "message": "hi"}));
        // The value's own id dedups; a value without one dedups by its content.
        assert_eq!(events[0].dedup_key, "c1");
        assert_eq!(events[1].dedup_key, dedup_key_of("acct1", "mention", &json!({"post_id": "p9"})));
        assert_eq!(events[2].dedup_key, "c2");
    }

    #[test]
    fn bad_shapes_are_errors_never_panics() {
        let bad: &[&[u8]] = &[
            b"",
            b"not json",
            b"[]",
            b"null",
            br#"{"entry":[]}"#,
            br#"{"object":"page","entry":[]}"#,
            br#"{"object":"sandbox"}"#,
            br#"{"object":"sandbox","entry":{}}"#,
            br#"{"object":"sandbox","entry":[1]}"#,
            br#"{"object":"sandbox","entry":[{"time":1,"changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":7,"time":1,"changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"","time":1,"changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":"1","changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":-1,"changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1.5,"changes":[]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[null]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[{"value":{}}]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[{"field":"Feed","value":{}}]}]}"#,
            br#"{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[{"field":"feed"}]}]}"#,
        ];
        for b in bad {
            assert!(parse(b).is_err(), "{}", String::from_utf8_lossy(b));
        }
        let long = format!(r#"{{"object":"sandbox","entry":[{{"id":"{}","time":1,"changes":[]}}]}}"#, "9".repeat(257));
        assert!(parse(long.as_bytes()).is_err());
        // No entries, or entries with no changes: nothing to hand on, not an error.
        assert_eq!(parse(br#"{"object":"sandbox","entry":[]}"#).unwrap(), []);
        assert_eq!(parse(br#"{"object":"sandbox","entry":[{"id":"a","time":1,"changes":[]}]}"#).unwrap(), []);
    }

    #[test]
    fn what_the_sandbox_sends_verifies_and_parses_back() {
        let body = body("acct1", "feed", default_value("sbe_1", 1700000000), 1700000000);
        let sig = sign(&body, "sandbox-secret");
        assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
        assert!(verify(Some(&sig), &body, "sandbox-secret"));
        assert!(verify(Some(&sig.to_uppercase().replacen("SHA256=", "sha256=", 1)), &body, "sandbox-secret"));
        assert!(!verify(Some(&sig), &body, "another-secret"));
        assert!(!verify(Some(&sig[7..]), &body, "sandbox-secret"));
        assert!(!verify(Some("sha256="), &body, "sandbox-secret"));
        assert!(!verify(None, &body, "sandbox-secret"));
        let mut changed = body.clone();
        changed.push(b' ');
        assert!(!verify(Some(&sig), &changed, "sandbox-secret"));
        let events = parse(&body).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].account_id.as_str(), events[0].dedup_key.as_str()), ("acct1", "sbe_1"));
        assert_eq!(events[0].payload["from"]["name"], "A sandbox visitor");
    }

    #[test]
    fn the_send_request_is_checked_field_by_field() {
        let (p, t, v) = send_request(br#"{"profile_id":"prf_1"}"#).unwrap();
        assert_eq!((p.as_str(), t.as_str(), v), ("prf_1", "feed", None));
        let (_, t, v) = send_request(br#"{"profile_id":"prf_1","event_type":"mention","payload":{"a":1}}"#).unwrap();
        assert_eq!((t.as_str(), v), ("mention", Some(json!({"a": 1}))));
        for bad in [
            &br#"{}"#[..],
            br#"[]"#,
            br#"{"profile_id":1}"#,
            br#"{"profile_id":""}"#,
            br#"{"profile_id":"p","event_type":"Bad Type"}"#,
            br#"{"profile_id":"p","event_type":""}"#,
            br#"{"profile_id":"p","payload":[1]}"#,
            br#"{"profile_id":"p","payload":"x"}"#,
            br#"{"profile_id":"p","other":1}"#,
            b"nope",
        ] {
            assert!(send_request(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
