//! LinkedIn's webhooks (organization social action notifications): the challenge, the POST
//! signature and the parser.
//!
//! Facts checked 2026-12-07 against
//! https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation (the
//! challenge: "an HTTP GET to your webhook endpoint" with `challengeCode`, a "Randomly
//! generated type-4 UUID string", answered 200 `application/json` `{"challengeCode",
//! "challengeResponse"}` "within 3 seconds", `challengeResponse = Hex-encoded(HMACSHA256(
//! challengeCode, clientSecret))`; the POST's `X-LI-Signature`; "deduplicate notifications
//! using the Notification ID") and
//! https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-social-action-notifications
//! (whose payload section was not in the stored copy: the envelope `{"type":
//! "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [...]}` and the fields
//! `notificationId`, `organizationalEntity` (the organization's URN), `lastModifiedAt` (ms)
//! are as https://github.com/api-evangelist/linkedin `asyncapi/linkedin-webhooks.yml`
//! (2026-08-13) quotes that page, unconfirmed against LinkedIn's own text).

use super::{ct_eq_str, dedup_key_of, hmac_sha256_hex, InboundEvent};
use serde_json::Value;

/// The longest `challengeCode` answered (a UUID is 36 characters).
const MAX_CHALLENGE: usize = 64;

/// The `challengeResponse` for `code` under the client secret: hex HMAC-SHA256; `None` for a
/// code that is not plausible as LinkedIn's UUID (1 to 64 hex digits and dashes). Were the
/// POST signature the plain hex HMAC of the body (one of the readings [`verify_signature`]
/// accepts), answering any code would sign any forged body for whoever asks; a body is JSON
/// and cannot be written in this alphabet.
pub fn challenge_response(client_secret: &str, code: &str) -> Option<String> {
    let plausible =
        (1..=MAX_CHALLENGE).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    plausible.then(|| hmac_sha256_hex(client_secret.as_bytes(), code.as_bytes()))
}

/// The prefix LinkedIn's text puts somewhere in the signature.
const PREFIX: &str = "hmacsha256=";

/// Whether `header` (`X-LI-Signature`) signs the raw `body` under the client secret. The
/// documentation reads "the HMACSHA256 hash of the JSON-encoded string representation of the
/// POST body prefixed by `hmacsha256=`" (webhook-validation page above), which says neither
/// whether the prefix is in the header or in the string signed, and implementations differ
/// (https://github.com/api-evangelist/linkedin: signed `"hmacsha256=" + body`, plain hex
/// header; other adapters: a `hmacsha256=<hex>` header over the body alone). So: an optional
/// `hmacsha256=` is taken off the header (any case), the hex compared lowercased, and both
/// `hex(HMAC(secret, "hmacsha256=" + body))` and `hex(HMAC(secret, body))` are accepted, each
/// compared in constant time, both always computed.
pub fn verify_signature(client_secret: &str, header: &str, body: &[u8]) -> bool {
    let h = header.trim();
    let h = match h.get(..PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(PREFIX) => &h[PREFIX.len()..],
        _ => h,
    }
    .to_ascii_lowercase();
    let key = client_secret.as_bytes();
    let mut prefixed = PREFIX.as_bytes().to_vec();
    prefixed.extend_from_slice(body);
    let a = ct_eq_str(&h, &hmac_sha256_hex(key, &prefixed));
    let b = ct_eq_str(&h, &hmac_sha256_hex(key, body));
    a | b
}

/// The events of a verified POST body: one per notification of `notifications`, for the
/// organization its `organizationalEntity` names (the URN, as the worker stores an
/// organization profile's `platform_user_id`, `urn:li:organization:<id>`), typed by the
/// notification's `action` as LinkedIn writes it (`COMMENT`, `LIKE`, `SHARE_MENTION`, ...:
/// what an app chooses by), else by the envelope's `type`, deduplicated by its
/// `notificationId`, at its `lastModifiedAt` (else `now`). Anything else gives nothing.
pub fn parse(body: &[u8], now: i64) -> Vec<InboundEvent> {
    let Ok(root) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let name = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|k| (1..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            .map(str::to_string)
    };
    let Some(envelope) = name(root.get("type")) else { return vec![] };
    let Some(items) = root.get("notifications").and_then(Value::as_array) else { return vec![] };
    items
        .iter()
        .filter_map(|n| {
            let org = n.get("organizationalEntity")?.as_str()?;
            if !org.starts_with("urn:li:") || org.len() > 128 {
                return None;
            }
            let at = n.get("lastModifiedAt").and_then(Value::as_i64).map(|ms| ms / 1000).filter(|s| *s > 0);
            let kind = name(n.get("action")).unwrap_or_else(|| envelope.clone());
            let dedup_key = match n.get("notificationId") {
                Some(Value::Number(id)) => id.to_string(),
                Some(Value::String(id)) if !id.is_empty() && id.len() <= 128 => id.clone(),
                _ => dedup_key_of(org, &kind, n),
            };
            Some(InboundEvent {
                account_id: org.to_string(),
                event_type: kind,
                occurred_at: at.unwrap_or(now).min(now),
                payload: n.clone(),
                dedup_key,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn challenge_answers_a_uuid_only() {
        // The code of the documentation's example; its secret is not given, so the answer
        // under ours is computed independently (node: createHmac('sha256', secret)
        // .update(code).digest('hex')).
        let code = "890e4665-4dfe-4ab1-b689-ed553bceeed0";
        assert_eq!(
            challenge_response("ea7c8e4b-secret", code).unwrap(),
            "a5eb159d23287ed0e26d78c73bd9dc1ad58eef66673e9243b45b413ebefbfe4c"
        );
        for bad in ["", "{\"type\":\"X\"}", "hmacsha256=ab", "890e4665 4dfe", "zz", &"a".repeat(65)] {
            assert!(challenge_response("s", bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn each_reading_of_the_signature_verifies_and_nothing_else() {
        let body = br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[]}"#;
        let over_prefixed = hmac_sha256_hex(b"sec", &[PREFIX.as_bytes(), &body[..]].concat());
        let over_body = hmac_sha256_hex(b"sec", body);
        for good in [
            over_prefixed.clone(),
            format!("hmacsha256={over_prefixed}"),
            format!("HMACSHA256={}", over_prefixed.to_uppercase()),
            over_body.clone(),
            format!("hmacsha256={over_body}"),
            format!(" {over_body} "),
        ] {
            assert!(verify_signature("sec", &good, body), "{good}");
        }
        for bad in [
            String::new(),
            "hmacsha256=".into(),
            hmac_sha256_hex(b"other", body),
            format!("sha256={over_body}"),
            over_body[..63].to_string(),
            format!("hmacsha256=hmacsha256={over_body}"),
        ] {
            assert!(!verify_signature("sec", &bad, body), "{bad}");
        }
        assert!(!verify_signature("sec", &over_body, b"{}"));
    }

    #[test]
    fn the_comment_notification_is_one_event_of_its_organization() {
        // A COMMENT notification as a third-party script shows it (see the module comment).
        let n = json!({ "subscriber": "urn:li:person:zLqTygBP8S", "lastModifiedAt": 1691574506310_i64,
            "decoratedSourcePost": { "owner": "urn:li:organization:96072893", "mediaCategory": "NONE",
              "text": "This is my post 0008", "entity": "urn:li:share:7094637247487995904" },
            "sourcePost": "urn:li:activity:7094637247890620418",
            "action": "COMMENT", "notificationId": 5603453321_i64,
            "organizationalEntity": "urn:li:organization:96072893",
            "generatedActivity": "urn:li:comment:(activity:7094637247890620418,7094977717598625792)" });
        let body = json!({ "type": "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS", "notifications": [n, n] });
        let ev = parse(body.to_string().as_bytes(), 2_000_000_000);
        assert_eq!(ev.len(), 2, "each notification is an event; the copy is the same id");
        assert_eq!(ev[0].account_id, "urn:li:organization:96072893");
        assert_eq!(ev[0].event_type, "COMMENT", "the notification's action");
        assert_eq!(ev[0].occurred_at, 1691574506);
        assert_eq!(ev[0].dedup_key, "5603453321");
        assert_eq!(ev[0].payload, n);
        assert_eq!(ev[0], ev[1]);
    }

    #[test]
    fn hostile_shapes_give_nothing_or_only_what_is_well_formed() {
        for body in [
            &b""[..],
            b"[]",
            br#"{"notifications":[{"organizationalEntity":"urn:li:organization:1"}]}"#,
            br#"{"type":"A B","notifications":[{"organizationalEntity":"urn:li:organization:1"}]}"#,
            br#"{"type":7,"notifications":[{"organizationalEntity":"urn:li:organization:1"}]}"#,
            br#"{"type":"T","notifications":{"organizationalEntity":"urn:li:organization:1"}}"#,
            br#"{"type":"T","notifications":[1,null,{"organizationalEntity":7},{"organizationalEntity":"organization:1"}]}"#,
        ] {
            assert!(parse(body, 100).is_empty(), "{}", String::from_utf8_lossy(body));
        }
        let body = br#"{"type":"T","notifications":[{"organizationalEntity":"urn:li:organization:1","lastModifiedAt":"x","notificationId":{"a":1}}]}"#;
        let ev = parse(body, 100);
        assert_eq!((ev[0].occurred_at, ev[0].dedup_key.len(), ev[0].event_type.as_str()), (100, 64, "T"), "no action: the envelope's type");
    }
}
