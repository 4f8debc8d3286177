//! X's webhooks (the Account Activity API, and the X Activity API that succeeds it, delivering
//! to the same registered webhook): the CRC handshake, the POST signature and the parser.
//!
//! Facts checked 2026-12-07 against X's docs (repository `xdevplatform/docs`, files last
//! changed 2026-07-24 and 2026-08-21): https://docs.x.com/x-api/webhooks/quickstart (the CRC:
//! "a GET request to your webhook URL with a `crc_token` query parameter", answered
//! `{"response_token": "sha256=<base64_encoded_hmac_hash>"}`, HMAC-SHA256 keyed with "your
//! app's consumer secret (API secret key)"; the POST: "Each POST request from X includes an
//! `x-twitter-webhooks-signature` header", the same construction over "the raw request
//! body"; "deduplicate by event ID"),
//! https://docs.x.com/x-api/account-activity/introduction (`for_user_id` "Identifies the user
//! subscription that the event is related to"; the `*_events` arrays; `user_event` (a
//! revocation) has no `for_user_id`, its user is `revoke.source.user_id`; two subscribed
//! users in one DM conversation get one delivery each) and
//! https://docs.x.com/x-api/activity/introduction (the X Activity API's envelope `{"data":
//! {"event_uuid", "filter": {"user_id"}, "event_type", "payload"}}`; `oauth.revoke` has an
//! empty filter and its user in `payload.user_id`).

use super::{ct_eq_str, dedup_key_of, hmac_sha256_b64, InboundEvent};
use serde_json::{Map, Value};

/// The longest `crc_token` answered.
const MAX_CRC_TOKEN: usize = 128;

/// Whether `token` is plausible as a `crc_token` X sends: 1 to 128 characters of base64 or
/// base64url (with `=`), which also covers the UUID form X's own example uses
/// (`9b4507b3-9040-4669-9ca3-6b94edb50553`,
/// https://gist.github.com/jcipriano/373d4d441e8041f775b6227c0e2fd1f3, X developer relations,
/// 2017). The CRC answer is `base64(HMAC(secret, token))`, the very value a POST's signature
/// is over its body: answering any token would let anyone have us sign a forged event body
/// (a signing oracle, https://github.com/vercel/chat/pull/775, 2026-08-03). A body is JSON,
/// so it holds `{` and `"`, which this alphabet does not.
pub fn plausible_crc_token(token: &str) -> bool {
    (1..=MAX_CRC_TOKEN).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// The CRC's `response_token` for `crc_token` under the consumer secret: `sha256=` and the
/// base64 HMAC-SHA256; `None` for a token that is not plausible (see [`plausible_crc_token`]).
pub fn crc_response(consumer_secret: &str, crc_token: &str) -> Option<String> {
    plausible_crc_token(crc_token)
        .then(|| format!("sha256={}", hmac_sha256_b64(consumer_secret.as_bytes(), crc_token.as_bytes())))
}

/// Whether `header` (`x-twitter-webhooks-signature`) is `sha256=` and the base64
/// HMAC-SHA256 of the raw `body` under the consumer secret; compared in constant time.
pub fn verify_signature(consumer_secret: &str, header: &str, body: &[u8]) -> bool {
    let want = format!("sha256={}", hmac_sha256_b64(consumer_secret.as_bytes(), body));
    ct_eq_str(header.trim(), &want)
}

/// An X user id as X writes it (a string of digits), the worker's `platform_user_id` of an X
/// profile (`/2/users/me`'s `data.id`).
fn user_id(v: Option<&Value>) -> Option<&str> {
    let s = v?.as_str()?;
    (!s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// An event type name as the worker keeps it: 1 to 64 of `[a-z0-9_.]`.
fn type_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

/// Milliseconds in `item[field]` (a number or a string of digits), as Unix seconds, when
/// positive.
fn millis(item: &Map<String, Value>, field: &str) -> Option<i64> {
    let ms = match item.get(field)? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.parse::<i64>().ok()?,
        _ => return None,
    };
    let secs = ms / 1000;
    (secs > 0).then_some(secs)
}

/// The item's own id (`id_str`, else `id`, a string or a number).
fn item_id(item: &Map<String, Value>) -> Option<String> {
    match item.get("id_str").or_else(|| item.get("id"))? {
        Value::String(s) if !s.is_empty() && s.len() <= 128 => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One event of `account` from `item` of the array `key`. The dedup key is the item's id
/// qualified by the account and the key: X delivers the same DM once per subscribed user of
/// the conversation (same id, another `for_user_id`), each a delivery of its own.
fn event_of(account: &str, key: &str, item: &Value, now: i64) -> InboundEvent {
    let obj = item.as_object();
    let id = obj.and_then(item_id);
    let at = obj.and_then(|o| millis(o, "timestamp_ms").or_else(|| millis(o, "created_timestamp")));
    InboundEvent {
        account_id: account.to_string(),
        event_type: key.to_string(),
        occurred_at: at.unwrap_or(now).min(now),
        dedup_key: match id {
            Some(id) => format!("{account}/{key}/{id}"),
            None => dedup_key_of(account, key, item),
        },
        payload: item.clone(),
    }
}

/// The events of a verified POST body: one per item of each `*_events` array, for the user
/// `for_user_id` names (event type: the array's key, such as `tweet_create_events`); a
/// `user_event` (a revocation) for its `revoke.source.user_id`; an X Activity API envelope
/// for its `filter.user_id` (or `payload.user_id`), typed by its `event_type`, deduplicated
/// by its `event_uuid`. `now`: the time of events that carry none. Anything else (not JSON,
/// no user, an item that is not an object) gives nothing.
pub fn parse(body: &[u8], now: i64) -> Vec<InboundEvent> {
    let Ok(Value::Object(root)) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let mut out = vec![];
    if let Some(account) = user_id(root.get("for_user_id")) {
        for (key, items) in &root {
            let Some(items) = items.as_array() else { continue };
            if !key.ends_with("_events") || !type_name(key) {
                continue;
            }
            out.extend(items.iter().filter(|i| i.is_object()).map(|i| event_of(account, key, i, now)));
        }
    }
    if let Some(ue) = root.get("user_event").filter(|v| v.is_object()) {
        if let Some(account) = user_id(ue.pointer("/revoke/source/user_id")) {
            out.push(event_of(account, "user_event", ue, now));
        }
    }
    if let Some(data) = root.get("data").filter(|v| v.is_object()) {
        let account = user_id(data.pointer("/filter/user_id")).or_else(|| user_id(data.pointer("/payload/user_id")));
        let kind = data.get("event_type").and_then(Value::as_str).filter(|k| type_name(k));
        if let (Some(account), Some(kind)) = (account, kind) {
            let mut e = event_of(account, kind, data, now);
            if let Some(uuid) = data.get("event_uuid").and_then(Value::as_str).filter(|u| u.len() <= 128) {
                e.dedup_key = format!("{account}/{kind}/{uuid}");
            }
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &str = "z3ZX4v7mAAUGykl3EcmkqbartmuW8VFOOzCloLx9Q45P0hLrFu";

    #[test]
    fn crc_answers_a_plausible_token_only() {
        // The consumer secret and token of X's example (gist above); the answer computed
        // independently with node's crypto (createHmac('sha256', secret).digest('base64')).
        let token = "9b4507b3-9040-4669-9ca3-6b94edb50553";
        assert_eq!(crc_response(SECRET, token).unwrap(), "sha256=Cytd4Sq+NvEcV3MMrXxWJGJx5A+y/lXzzU2Maartkx8=");
        assert!(crc_response(SECRET, "AbC+/_-=09").is_some());
        assert!(crc_response(SECRET, &"a".repeat(128)).is_some());
        for bad in ["", "a b", "{\"for_user_id\":\"1\"}", "tok\n", "é", "a;b", "%7B"] {
            assert!(crc_response(SECRET, bad).is_none(), "{bad:?}");
        }
        assert!(crc_response(SECRET, &"a".repeat(129)).is_none());
    }

    #[test]
    fn crc_answer_never_signs_a_body() {
        // The oracle: a body's signature would be crc_response(secret, body).
        let body = r#"{"for_user_id":"1","tweet_create_events":[{"id_str":"2"}]}"#;
        assert!(crc_response(SECRET, body).is_none());
    }

    #[test]
    fn signature_is_base64_hmac_of_the_raw_body() {
        let body = br#"{"for_user_id":"2244994945","favorite_events":[]}"#;
        let header = format!("sha256={}", hmac_sha256_b64(SECRET.as_bytes(), body));
        assert!(verify_signature(SECRET, &header, body));
        assert!(verify_signature(SECRET, &format!(" {header} "), body));
        assert!(!verify_signature("other", &header, body));
        assert!(!verify_signature(SECRET, &header, b"{\"for_user_id\":\"2244994945\",\"favorite_events\":[] }"));
        assert!(!verify_signature(SECRET, &header.replace("sha256=", ""), body));
        assert!(!verify_signature(SECRET, &header.replace("sha256=", "sha1="), body));
        assert!(!verify_signature(SECRET, "", body));
        let hex = super::super::hmac_sha256_hex(SECRET.as_bytes(), body);
        assert!(!verify_signature(SECRET, &format!("sha256={hex}"), body), "hex is not X's form");
    }

    #[test]
    fn favorite_and_dm_events_from_the_docs() {
        // https://docs.x.com/x-api/account-activity/introduction (favorite_events, trimmed).
        let body = json!({ "for_user_id": "2244994945", "favorite_events": [{ "id": "a7ba59eab0bfcba386f7acedac279542",
            "created_at": "Mon Mar 26 16:33:26 +0000 2018", "timestamp_ms": 1522082006140_i64,
            "favorited_status": { "id_str": "1" }, "user": { "id_str": "2" } }] });
        let ev = parse(body.to_string().as_bytes(), 2_000_000_000);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].account_id, "2244994945");
        assert_eq!(ev[0].event_type, "favorite_events");
        assert_eq!(ev[0].occurred_at, 1522082006);
        assert_eq!(ev[0].dedup_key, "2244994945/favorite_events/a7ba59eab0bfcba386f7acedac279542");
        assert_eq!(ev[0].payload, body["favorite_events"][0]);

        // direct_message_events, verbatim but trimmed (same page).
        let body = br#"{ "for_user_id": "4337869213",
          "direct_message_events": [{ "type": "message_create", "id": "954491830116155396",
            "created_timestamp": "1516403560557",
            "message_create": { "target": { "recipient_id": "4337869213" }, "sender_id": "3001969357",
              "source_app_id": "13090192",
              "message_data": { "text": "Hello World!", "entities": { "hashtags": [], "symbols": [], "user_mentions": [], "urls": [] } } } }],
          "apps": { "13090192": { "id": "13090192", "name": "FuriousCamperTestApp1", "url": "https://x.com/furiouscamper" } },
          "users": { "3001969357": { "id": "3001969357", "screen_name": "furiouscamper" } } }"#;
        let ev = parse(body, 2_000_000_000);
        assert_eq!(ev.len(), 1, "apps and users are no event arrays");
        assert_eq!(ev[0].event_type, "direct_message_events");
        assert_eq!(ev[0].occurred_at, 1516403560);
        assert_eq!(ev[0].dedup_key, "4337869213/direct_message_events/954491830116155396");
        assert_eq!(ev[0].payload["message_create"]["message_data"]["text"], "Hello World!");
    }

    #[test]
    fn each_item_of_each_array_is_an_event() {
        let body = json!({ "for_user_id": "7", "user_has_blocked": "false",
            "tweet_create_events": [{ "id_str": "10", "timestamp_ms": "1700000000123" }, { "id": 11 }],
            "follow_events": [{ "type": "follow", "created_timestamp": "1700000001000" }],
            "tweet_delete_events": [{ "status": { "id": "12", "user_id": "7" }, "timestamp_ms": "1700000002000" }] });
        let ev = parse(body.to_string().as_bytes(), 1_800_000_000);
        let mut got: Vec<_> = ev.iter().map(|e| (e.event_type.as_str(), e.occurred_at)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("follow_events", 1700000001),
                ("tweet_create_events", 1700000000),
                ("tweet_create_events", 1800000000),
                ("tweet_delete_events", 1700000002),
            ]
        );
        let keys: Vec<_> = ev.iter().map(|e| e.dedup_key.as_str()).collect();
        assert!(keys.contains(&"7/tweet_create_events/10") && keys.contains(&"7/tweet_create_events/11"));
        // No id: the hash of the item, stable across redeliveries.
        let follow = ev.iter().find(|e| e.event_type == "follow_events").unwrap();
        assert_eq!(follow.dedup_key, dedup_key_of("7", "follow_events", &body["follow_events"][0]));
        assert_eq!(parse(body.to_string().as_bytes(), 1_800_000_000), ev);
    }

    #[test]
    fn the_same_dm_for_two_users_is_two_events() {
        let dm = json!({ "type": "message_create", "id": "9" });
        let a = parse(json!({ "for_user_id": "1", "direct_message_events": [dm] }).to_string().as_bytes(), 100);
        let b = parse(json!({ "for_user_id": "2", "direct_message_events": [dm] }).to_string().as_bytes(), 100);
        assert_ne!(a[0].dedup_key, b[0].dedup_key);
    }

    #[test]
    fn revocation_and_activity_api_envelopes() {
        let body = br#"{ "user_event": { "revoke": { "date_time": "2018-05-24T09:48:12+00:00",
          "target": { "app_id": "13090192" }, "source": { "user_id": "63046977" } } } }"#;
        let ev = parse(body, 100);
        assert_eq!((ev[0].account_id.as_str(), ev[0].event_type.as_str()), ("63046977", "user_event"));

        // https://docs.x.com/x-api/activity/introduction (event payloads).
        let body = br#"{ "data": { "event_uuid": "2080761390344937796", "filter": { "user_id": "1111111111111111111" },
          "event_type": "post.create", "tag": "posts", "payload": {}, "includes": {} } }"#;
        let ev = parse(body, 100);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].account_id, "1111111111111111111");
        assert_eq!(ev[0].event_type, "post.create");
        assert_eq!(ev[0].dedup_key, "1111111111111111111/post.create/2080761390344937796");
        let body = br#"{ "data": { "event_uuid": "5", "filter": {}, "event_type": "oauth.revoke",
          "payload": { "date_time": "2026-07-23T21:44:05+00:00", "user_id": "1111111111111111111", "app_id": "29820954" } } }"#;
        assert_eq!(parse(body, 100)[0].account_id, "1111111111111111111");
    }

    #[test]
    fn hostile_shapes_give_nothing_or_only_what_is_well_formed() {
        for body in [
            &b""[..],
            b"not json",
            b"[]",
            b"null",
            br#"{"tweet_create_events":[{"id":"1"}]}"#,
            br#"{"for_user_id":7,"tweet_create_events":[{"id":"1"}]}"#,
            br#"{"for_user_id":"","tweet_create_events":[{"id":"1"}]}"#,
            br#"{"for_user_id":"12a","tweet_create_events":[{"id":"1"}]}"#,
            br#"{"for_user_id":"1","tweet_create_events":{"id":"1"}}"#,
            br#"{"for_user_id":"1","tweet_create_events":[1,"x",null,[]]}"#,
            br#"{"for_user_id":"1","Bad Key_events":[{"id":"1"}]}"#,
            br#"{"user_event":{"revoke":{"source":{"user_id":["1"]}}}}"#,
            br#"{"data":{"event_type":"Post Create","filter":{"user_id":"1"}}}"#,
            br#"{"data":{"event_type":"post.create","filter":{"user_id":"x"}}}"#,
        ] {
            assert!(parse(body, 100).is_empty(), "{}", String::from_utf8_lossy(body));
        }
        // A time in the future, negative or not a number: the receive time.
        let body = br#"{"for_user_id":"1","a_events":[{"timestamp_ms":"99999999999999"},{"timestamp_ms":-5},{"created_timestamp":"soon"}]}"#;
        assert!(parse(body, 100).iter().all(|e| e.occurred_at == 100));
        // An id that is neither a string nor a number, or too long: the hash.
        let long = "9".repeat(129);
        let body = json!({"for_user_id":"1","a_events":[{"id":{"x":1}},{"id_str":long}]}).to_string();
        assert!(parse(body.as_bytes(), 100).iter().all(|e| e.dedup_key.len() == 64));
    }
}
