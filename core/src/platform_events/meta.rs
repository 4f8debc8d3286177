//! Meta's event webhooks (Facebook Pages and Messenger, Instagram with either login, Threads):
//! the verification GET, the `X-Hub-Signature-256` check and the parser. Facts read
//! 2026-12-07 from:
//! - https://developers.facebook.com/docs/graph-api/webhooks/getting-started: the GET
//!   `hub.mode=subscribe&hub.challenge=...&hub.verify_token=...` answered with the challenge;
//!   "We sign all Event Notification payloads with a SHA256 signature ... `X-Hub-Signature-256`
//!   header, preceded with `sha256=`", made with the app secret; `entry[]` of `{id, time,
//!   changes: [{field, value}]}`, `time` in seconds there.
//! - https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks
//!   (updated 2026-05-05): 200 with the challenge, 403 on a mismatch; the signature is over
//!   the body as sent (escaped unicode, lowercase hex), so it is checked on the raw bytes;
//!   Messenger events come in `entry[].messaging[]`, `time` and `timestamp` in milliseconds.
//! - https://developers.facebook.com/docs/instagram-platform/webhooks/examples/ (updated
//!   2025-11-24): `object: "instagram"`, `entry[].id` the professional account's id; the
//!   Instagram Login comments sample puts `field`/`value` in the entry itself, without
//!   `changes`, and some samples wrap the body in `[...]`: both are read.
//! - https://developers.facebook.com/docs/threads/webhooks: Threads sends no `entry[]` but
//!   `{app_id, topic, target_id, time, values: {field, value}}`; `target_id` is the mentioned
//!   user for `mentions`, the media otherwise, whose owner is in the value.

use super::{dedup_key_of, hmac_sha256, InboundEvent};
use crate::http::{form_body, HttpRequest};
use crate::platforms::GRAPH_API_VERSION;
use crate::random::{ct_eq, hex};
use serde_json::Value;

/// The platforms whose apps are Meta apps, each with its own webhooks (and app secret).
pub const PLATFORMS: [&str; 4] = ["facebook", "instagram_facebook", "instagram", "threads"];

/// The `object` the parser gives Threads' envelope, which has none of its own.
pub const THREADS_OBJECT: &str = "threads";

/// The longest `hub.challenge` echoed back. Meta's is "an int"; anything long or other than
/// letters, digits, `-`, `_` and `.` is refused rather than reflected.
const MAX_CHALLENGE: usize = 128;

/// The challenge to answer a verification GET with (`query` its parameters), when `hub.mode`
/// is `subscribe` and `hub.verify_token` is `expected` (compared in constant time); `None`
/// otherwise (answer 403), also for an empty `expected` and a challenge that is empty, longer
/// than 128 bytes or not plain text (letters, digits, `-`, `_`, `.`). The challenge is echoed as received, not as a number.
pub fn challenge<'q>(query: &'q [(String, String)], expected: &str) -> Option<&'q str> {
    let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let token = get("hub.verify_token")?;
    let challenge = get("hub.challenge")?;
    let plain = (1..=MAX_CHALLENGE).contains(&challenge.len())
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok =
        get("hub.mode") == Some("subscribe") && !expected.is_empty() && ct_eq(token.as_bytes(), expected.as_bytes());
    (ok && plain).then_some(challenge)
}

/// Whether `header` (`X-Hub-Signature-256`) is `sha256=` and the lowercase hex HMAC-SHA256
/// of the raw `body` under `secret`, compared in constant time. Anything else (absent, another
/// prefix, not 64 lowercase hex digits, an empty secret) is refused.
pub fn verify(header: Option<&str>, body: &[u8], secret: &str) -> bool {
    let Some(given) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    if secret.is_empty() || given.len() != 64 || !given.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return false;
    }
    ct_eq(given.as_bytes(), hex(&hmac_sha256(secret.as_bytes(), body)).as_bytes())
}

/// The verify token of an app's own Meta app, derived from its client secret so that it needs
/// no storage and changes with the secret: the first 32 hex digits of
/// HMAC-SHA256(secret, "meta-webhook-verify-token").
pub fn verify_token_of(client_secret: &str) -> String {
    let mut t = hex(&hmac_sha256(client_secret.as_bytes(), b"meta-webhook-verify-token"));
    t.truncate(32);
    t
}

/// The platforms whose profiles an `object` concerns: `page` Facebook Pages, `instagram`
/// Instagram accounts (either login), Threads' envelope Threads users; none for any other.
pub fn platforms_of(object: &str) -> &'static [&'static str] {
    match object {
        "page" => &["facebook"],
        "instagram" => &["instagram", "instagram_facebook"],
        THREADS_OBJECT => &["threads"],
        _ => &[],
    }
}

/// The events of a verified body, each with its envelope's `object`: one per change of each
/// entry (`changes[]`, or the entry's own `field`/`value`) typed by its `field`, one per
/// `messaging[]` item typed `messages`, one for Threads' envelope typed by its `field`; the
/// account is `entry.id` (Threads: see [`threads`]). A body wrapped in `[...]` is read element
/// by element. Shapes that are not these yield nothing; nothing panics. `now` (Unix seconds)
/// stands in for a missing time.
pub fn parse(body: &[u8], now: i64) -> Vec<(String, InboundEvent)> {
    let Ok(doc) = serde_json::from_slice::<Value>(body) else { return vec![] };
    let mut out = Vec::new();
    match doc {
        Value::Array(docs) => docs.iter().for_each(|d| envelope(d, now, &mut out)),
        d => envelope(&d, now, &mut out),
    }
    out
}

/// One envelope's events into `out`.
fn envelope(doc: &Value, now: i64, out: &mut Vec<(String, InboundEvent)>) {
    let Some(entries) = doc.get("entry").and_then(Value::as_array) else {
        if let Some(e) = threads(doc, now) {
            out.push((THREADS_OBJECT.to_string(), e));
        }
        return;
    };
    let Some(object) = doc.get("object").and_then(Value::as_str) else { return };
    for entry in entries {
        let Some(account) = id_of(entry.get("id")) else { continue };
        let time = entry.get("time").map_or(now, |t| seconds(t, now));
        let changes: &[Value] = match entry.get("changes").and_then(Value::as_array) {
            Some(c) => c,
            // Instagram Login's comments sample: the change is the entry itself.
            None if entry.get("field").is_some() => std::slice::from_ref(entry),
            None => &[],
        };
        for change in changes {
            let Some(field) = change.get("field").and_then(Value::as_str).filter(|f| !f.is_empty()) else { continue };
            let value = change.get("value").cloned().unwrap_or(Value::Null);
            out.push((object.to_string(), event(&account, field, time, value)));
        }
        for item in entry.get("messaging").and_then(Value::as_array).into_iter().flatten() {
            let at = item.get("timestamp").map_or(time, |t| seconds(t, time));
            out.push((object.to_string(), event(&account, "messages", at, item.clone())));
        }
    }
}

/// Threads' envelope: the account is `target_id` for `mentions` (the mentioned user), else the
/// owner the value names (`owner.owner_id` for `delete`, `root_post.owner_id` for `replies`),
/// else `target_id`. What `target_id` is for `replies`, `delete` and `publish` is not settled
/// by the docs (their samples show the owner's id there too).
fn threads(doc: &Value, now: i64) -> Option<InboundEvent> {
    let values = doc.get("values")?;
    let field = values.get("field").and_then(Value::as_str).filter(|f| !f.is_empty())?;
    let value = values.get("value").cloned().unwrap_or(Value::Null);
    let target = id_of(doc.get("target_id"));
    let owner = id_of(value.pointer("/owner/owner_id")).or_else(|| id_of(value.pointer("/root_post/owner_id")));
    let account = if field == "mentions" { target.or(owner) } else { owner.or(target) }?;
    let time = doc.get("time").map_or(now, |t| seconds(t, now));
    Some(event(&account, field, time, value))
}

/// An id sent as a string or a number, 1 to 256 characters.
fn id_of(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (1..=256).contains(&s.len()).then_some(s)
}

/// A Meta time as Unix seconds: Page changes send seconds, Messenger and Instagram messaging
/// milliseconds; a number past 10^11 (year 5138 in seconds) is taken as milliseconds. Not a
/// positive number: `fallback`.
fn seconds(v: &Value, fallback: i64) -> i64 {
    match v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)) {
        Some(t) if t > 100_000_000_000 => t / 1000,
        Some(t) if t > 0 => t,
        _ => fallback,
    }
}

/// One event, with its dedup key: the id of what happened when the value carries one that
/// names this event alone, else [`dedup_key_of`] (a redelivery carries the same value).
fn event(account: &str, field: &str, at: i64, payload: Value) -> InboundEvent {
    let dedup_key = match own_id(field, &payload) {
        Some(id) => format!("{account}:{field}:{id}"),
        None => dedup_key_of(account, field, &payload),
    };
    InboundEvent { account_id: account.to_string(), event_type: field.to_string(), occurred_at: at, payload, dedup_key }
}

/// The id that names this event alone, when there is one. A comment's or post's id names the
/// object, and an edit or a removal shares it with the addition: it counts only with the
/// `verb` (`add` and `remove` happen once per object; each `edited` is its own event, so its
/// key is the hash). A message's `mid` names the message (a deletion of it is its own event).
/// Instagram's `comments` and `mentions` and Threads' fields (no verb) are sent once per
/// comment or media.
fn own_id(field: &str, v: &Value) -> Option<String> {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty() && s.len() <= 256);
    if field == "messages" {
        let deleted = v.pointer("/message/is_deleted").and_then(Value::as_bool) == Some(true);
        return s("/message/mid").filter(|_| !deleted).map(|m| format!("mid:{m}"));
    }
    let id = s("/comment_id").or_else(|| s("/post_id")).or_else(|| s("/id")).or_else(|| s("/media_id"))?;
    match v.get("verb").and_then(Value::as_str) {
        Some(verb @ ("add" | "remove")) => Some(format!("{verb}:{id}")),
        Some(_) => None,
        None if matches!(field, "comments" | "live_comments" | "mentions" | "replies" | "publish" | "delete") => {
            Some(id.to_string())
        }
        None => None,
    }
}

/// The Page fields subscribed for an app whose setting asks for every Facebook event type
/// (`"*"`): the feed and mentions (each needs `pages_manage_metadata`; `messages` would also
/// need `pages_messaging`, which the app asks for by naming it).
const ALL_PAGE_FIELDS: &str = "feed,mention";

/// The `subscribed_fields` of a Page: the union of the facebook types named by `settings`,
/// the `platform_events` settings (JSON `{"facebook": ["feed", ...]}`) of every app holding a
/// profile of the Page under one platform app (a Page subscribes that platform app once, for
/// all of them: each subscription replaces the last). Comma-separated, in first-named order
/// (`"*"`: [`ALL_PAGE_FIELDS`]); `None` when none names any (the Page is not subscribed).
/// Names other than `a-z`, `0-9`, `_`, and settings not of that shape, are left out.
pub fn page_fields(settings: &[&str]) -> Option<String> {
    let ok = |n: &&str| {
        (1..=64).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut fields: Vec<String> = Vec::new();
    for setting in settings {
        let Ok(v) = serde_json::from_str::<Value>(setting) else { continue };
        let Some(names) = v.get("facebook").and_then(Value::as_array) else { continue };
        let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
        let names: Vec<&str> = if names.contains(&"*") {
            ALL_PAGE_FIELDS.split(',').collect()
        } else {
            names.into_iter().filter(ok).take(50).collect()
        };
        for n in names {
            if !fields.iter().any(|f| f == n) {
                fields.push(n.to_string());
            }
        }
    }
    (!fields.is_empty()).then(|| fields.join(","))
}

/// The Page's `subscribed_apps` edge: `POST` with `fields` subscribes the app to Page
/// `page_id`, `DELETE` (`fields` `None`) unsubscribes it; both with the Page's own token (a
/// bearer header, so no token is in the URL). `None` for a Page id that is not a number.
/// Facts read 2026-12-07 from https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps
/// (`subscribed_fields` required; "A Page access token"; `pages_manage_metadata` and
/// `pages_show_list`; "only fields with subscriptions at both the page and app levels will
/// get Webhooks") and https://developers.facebook.com/docs/graph-api/webhooks/getting-started/webhooks-for-pages
/// (the POST; `pages_messaging` too for `messages`). The DELETE is the same edge's ("You can
/// dissociate an Application from a Page by making a DELETE request"); its answer is not in
/// the docs read.
pub fn page_subscription_request(page_id: &str, page_token: &str, fields: Option<&str>) -> Option<HttpRequest> {
    if page_id.is_empty() || page_id.len() > 64 || !page_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let url = format!("https://graph.facebook.com/{GRAPH_API_VERSION}/{page_id}/subscribed_apps");
    let mut headers = vec![("Authorization".to_string(), format!("Bearer {page_token}"))];
    let body = fields.map(|f| {
        headers.push(("Content-Type".to_string(), "application/x-www-form-urlencoded".to_string()));
        form_body(&[("subscribed_fields", f)])
    });
    Some(HttpRequest { method: if fields.is_some() { "POST" } else { "DELETE" }, url, headers, body })
}

/// Whether Graph's answer to [`page_subscription_request`] is a success: a 2xx with `success`
/// `true`, which the docs show both as a boolean and as the string `"true"`.
pub fn page_subscription_ok(status: u16, body: &[u8]) -> bool {
    let success = serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("success").cloned());
    (200..300).contains(&status) && (success == Some(Value::Bool(true)) || success == Some(Value::from("true")))
}

#[cfg(test)]
mod tests;
