//! What forwarding an event to an app needs that is pure: the app's `platform_events`
//! setting (checked when the operator sets it, matched against each event) and the data of
//! the `platform.event` webhook.

use super::InboundEvent;
use crate::error::{ApiError, ApiResult};
use crate::time::rfc3339;
use serde_json::{json, Value};

/// Most event types an app names for one platform.
pub const MAX_TYPES: usize = 50;
/// Longest event type name.
const MAX_NAME: usize = 64;
/// Largest payload forwarded (its JSON text, bytes): a bigger one goes as `payload: null`
/// with `payload_truncated: true`, so one huge platform event cannot outgrow the outbox's
/// rows (a body holds the payload next to the rest of the event).
pub const MAX_PAYLOAD: usize = 48 * 1024;

/// Reads an app's `platform_events` setting from a request body: an object from platform ids
/// (`known` tells which exist) to lists of at most [`MAX_TYPES`] event type names (letters,
/// digits, `_` and `.`; `"*"` for every type); `null` clears it. Returns the JSON text to
/// store (`None`: no setting, so no events).
pub fn check_setting(value: &Value, known: &dyn Fn(&str) -> bool) -> ApiResult<Option<String>> {
    let bad = |m: String| Err(ApiError::invalid(format!("platform_events: {m}")));
    let map = match value {
        Value::Null => return Ok(None),
        Value::Object(m) => m,
        _ => return bad("must be an object of platform ids to lists of event types, or null".into()),
    };
    for (platform, types) in map {
        if !known(platform) {
            // A well-formed id this deployment does not configure (a custom provider's,
            // say): configuration, not form, as `POST /v1/connect-links` answers it.
            return Err(ApiError::new(
                crate::error::ErrorCode::PlatformNotConfigured,
                format!("platform_events: unknown platform {platform:?}"),
            ));
        }
        let Some(list) = types.as_array().filter(|l| l.len() <= MAX_TYPES) else {
            return bad(format!("{platform} must be a list of at most {MAX_TYPES} event types"));
        };
        for t in list {
            if !t.as_str().is_some_and(valid_name) {
                return bad(format!("{platform}: an event type is 1 to {MAX_NAME} of A-Z a-z 0-9 _ . or \"*\""));
            }
        }
    }
    Ok(Some(value.to_string()))
}

/// An event type name as a setting may hold it: the platform's own name (Meta's lowercase
/// fields, LinkedIn's uppercase types, TikTok's dotted ones), or `*`.
fn valid_name(s: &str) -> bool {
    s == "*"
        || (!s.is_empty()
            && s.len() <= MAX_NAME
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
}

/// Whether the setting (an app's stored `platform_events`, parsed) asks for `event_type` on
/// `platform`: its list for the platform names the type or `*`. A platform missing, or an
/// empty list, asks for nothing.
pub fn wants(setting: &Value, platform: &str, event_type: &str) -> bool {
    setting.get(platform).and_then(Value::as_array).is_some_and(|l| l.iter().any(|t| t == "*" || t == event_type))
}

/// The `data` of the `platform.event` webhook of `event` for profile `profile_id`: the
/// payload as the platform sent it, or `null` with `payload_truncated: true` when its JSON is
/// over [`MAX_PAYLOAD`].
pub fn event_data(profile_id: &str, platform: &str, event: &InboundEvent) -> Value {
    let mut data = json!({
        "profile_id": profile_id,
        "platform": platform,
        "account_id": event.account_id,
        "event_type": event.event_type,
        "occurred_at": rfc3339(event.occurred_at),
        "payload": Value::Null,
    });
    if event.payload.to_string().len() > MAX_PAYLOAD {
        data["payload_truncated"] = Value::Bool(true);
    } else {
        data["payload"] = event.payload.clone();
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(p: &str) -> bool {
        ["facebook", "sandbox", "linkedin"].contains(&p)
    }

    #[test]
    fn settings_are_checked() {
        let ok = json!({"facebook": ["feed", "mention"], "sandbox": ["*"], "linkedin": ["COMMENT"]});
        let stored = check_setting(&ok, &known).unwrap().unwrap();
        assert_eq!(serde_json::from_str::<Value>(&stored).unwrap(), ok);
        assert_eq!(check_setting(&Value::Null, &known).unwrap(), None);
        assert_eq!(check_setting(&json!({}), &known).unwrap().as_deref(), Some("{}"));
        assert_eq!(check_setting(&json!({"facebook": []}), &known).unwrap().as_deref(), Some(r#"{"facebook":[]}"#));
        let fifty: Vec<String> = (0..MAX_TYPES).map(|i| format!("t{i}")).collect();
        assert!(check_setting(&json!({ "facebook": fifty }), &known).is_ok());
        for bad in [
            json!(["feed"]),
            json!("facebook"),
            json!({"facebook": "feed"}),
            json!({"facebook": [1]}),
            json!({"facebook": [""]}),
            json!({"facebook": ["feed mention"]}),
            json!({"facebook": ["feed*"]}),
            json!({"facebook": ["x".repeat(MAX_NAME + 1)]}),
            json!({"facebook": (0..=MAX_TYPES).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
        ] {
            let e = check_setting(&bad, &known).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidRequest, "{bad}");
            assert!(e.message.starts_with("platform_events: "), "{}", e.message);
        }
        // A well-formed id the deployment does not configure: configuration, not form.
        let e = check_setting(&json!({"myspace": ["feed"]}), &known).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::PlatformNotConfigured);
        assert_eq!(e.message, r#"platform_events: unknown platform "myspace""#);
    }

    #[test]
    fn settings_match_event_types() {
        let s = json!({"facebook": ["feed", "mention"], "sandbox": ["*"], "x": []});
        assert!(wants(&s, "facebook", "feed"));
        assert!(wants(&s, "facebook", "mention"));
        assert!(!wants(&s, "facebook", "messages"));
        assert!(wants(&s, "sandbox", "anything"));
        assert!(!wants(&s, "x", "tweet_create_events"), "an empty list asks for nothing");
        assert!(!wants(&s, "linkedin", "COMMENT"), "a platform missing asks for nothing");
        assert!(!wants(&Value::Null, "facebook", "feed"));
    }

    #[test]
    fn event_data_keeps_the_payload_under_the_cap() {
        let event = InboundEvent {
            account_id: "123".into(),
            event_type: "feed".into(),
            occurred_at: 1_700_000_000,
            payload: json!({"item": "comment", "message": "hi"}),
            dedup_key: "k".into(),
        };
        assert_eq!(
            event_data("prf_1", "facebook", &event),
            json!({"profile_id": "prf_1", "platform": "facebook", "account_id": "123", "event_type": "feed",
                   "occurred_at": "2023-11-14T22:13:20Z", "payload": {"item": "comment", "message": "hi"}})
        );
        let big = InboundEvent { payload: json!({"m": "x".repeat(MAX_PAYLOAD)}), ..event };
        let d = event_data("prf_1", "facebook", &big);
        assert_eq!(d["payload"], Value::Null);
        assert_eq!(d["payload_truncated"], true);
    }
}
