//! YouTube's push notifications (WebSub, formerly PubSubHubbub): the subscription request,
//! the hub's signature and the Atom feed it delivers, as [`InboundEvent`]s.
//!
//! Facts (retrieved 2026-12-07 unless dated):
//! - <https://developers.google.com/youtube/v3/guides/push_notifications> (last updated
//!   2023-10-26): subscribe at Google's hub `https://pubsubhubbub.appspot.com/subscribe`
//!   with the topic `https://www.youtube.com/xml/feeds/videos.xml?channel_id=CHANNEL_ID`; a
//!   notification is an Atom feed whose `<entry>` has `<yt:videoId>` and `<yt:channelId>`
//!   (namespace `http://www.youtube.com/xml/schemas/2015`), `<title>`, `<link
//!   rel="alternate">`, `<published>` and `<updated>`; uploads and title or description
//!   updates come through the same feed.
//! - <https://www.w3.org/TR/websub/> (W3C Recommendation 2018-01-23): the subscribe request
//!   is a form POST of `hub.callback` ("SHOULD be an unguessable URL that is unique per
//!   subscription"), `hub.mode`, `hub.topic`, `hub.lease_seconds`, `hub.secret` ("MUST be
//!   less than 200 bytes"); the hub answers 202 and then verifies with a GET carrying
//!   `hub.mode`, `hub.topic`, `hub.challenge` and (for subscribe) `hub.lease_seconds`, which
//!   the subscriber answers with a 2xx whose body is the challenge, or 404 when it "does not
//!   agree with the action"; each delivery is signed `X-Hub-Signature: method=<hex>`, the
//!   HMAC of the body under `hub.secret`, and a mismatch MUST be ignored.
//! - <https://github.com/w3c/websub/blob/master/implementation-reports/HUB-pubsubhubbub-appspot-com.md>
//!   (2017-08-09): Google's hub signs with `sha1` only; `sha256=` is accepted too, should it
//!   move on.
//! - <https://pubsubhubbub.github.io/PubSubHubbub/pubsubhubbub-core-0.3.html>: `hub.verify`
//!   (`sync`/`async`) is 0.3's; Google's reference hub still reads it, and WebSub hubs
//!   "MUST ignore additional request parameters they do not understand".
//! - A deleted (or made private) video arrives as an RFC 6721 tombstone, `<at:deleted-entry
//!   ref="yt:video:VIDEO_ID" when="...">` with the channel in `<at:by><uri>`: not in
//!   YouTube's guide, seen in real deliveries (captures in public repos, 2018 on).

use super::InboundEvent;
use crate::random::{ct_eq, hex};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

/// Google's hub, where subscriptions are asked for.
pub const HUB_URL: &str = "https://pubsubhubbub.appspot.com/subscribe";

/// The lease asked for: ten days, the longest Google's reference hub grants
/// (`MAX_LEASE_SECONDS`); the hub says what it granted in its verification GET.
pub const LEASE_SECS: i64 = 10 * 86_400;

/// Entries read from one feed at most (a notification carries one or a few).
const MAX_ENTRIES: usize = 20;

/// Characters kept of one text field (a title is at most 100 on YouTube).
const MAX_TEXT: usize = 1000;

/// The feed of a channel's uploads: the topic subscribed to.
pub fn topic_of(channel_id: &str) -> String {
    format!("https://www.youtube.com/xml/feeds/videos.xml?channel_id={channel_id}")
}

/// Whether `id` can be a channel id (`UC` and 22 more characters of base64url on YouTube;
/// read loosely): it goes into the topic's query unencoded.
pub fn plausible_channel(id: &str) -> bool {
    (2..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The form body of a subscribe (`mode` `subscribe`) or unsubscribe request.
pub fn hub_request(mode: &str, callback: &str, topic: &str, secret: &str) -> String {
    let lease = LEASE_SECS.to_string();
    crate::http::form_body(&[
        ("hub.callback", callback),
        ("hub.mode", mode),
        ("hub.topic", topic),
        ("hub.lease_seconds", &lease),
        ("hub.secret", secret),
        ("hub.verify", "async"),
    ])
}

/// Checks `X-Hub-Signature` (`sha1=<hex>`, or `sha256=<hex>`) over the raw `body` under the
/// subscription's `secret`, in constant time.
pub fn verify_signature(header: &str, body: &[u8], secret: &str) -> bool {
    let Some((method, sig)) = header.trim().split_once('=') else { return false };
    let sig = sig.trim().to_ascii_lowercase();
    let mac = match method.trim().to_ascii_lowercase().as_str() {
        "sha1" => hmac_sha1_hex(secret.as_bytes(), body),
        "sha256" => super::hmac_sha256_hex(secret.as_bytes(), body),
        _ => return false,
    };
    ct_eq(mac.as_bytes(), sig.as_bytes())
}

/// Lowercase hex HMAC-SHA1 of `body` under `key` (what Google's hub signs with).
pub fn hmac_sha1_hex(key: &[u8], body: &[u8]) -> String {
    match Hmac::<sha1::Sha1>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(body);
            hex(&m.finalize().into_bytes())
        }
        // HMAC takes keys of any length; unreachable, and then nothing verifies.
        Err(_) => String::new(),
    }
}

/// One entry being read.
#[derive(Default)]
struct Entry {
    deleted: bool,
    video_id: String,
    channel_id: String,
    title: String,
    link: String,
    published: String,
    updated: String,
}

/// The events of a verified Atom notification for `channel` (the subscription's channel,
/// the account every event is about): `video.published` for an `<entry>` (an upload or an
/// update of one), `video.deleted` for an `<at:deleted-entry>`. An entry naming another
/// channel, or no video, is skipped. XML the tokenizer cannot read gives no events; nothing is
/// expanded but XML's five predefined entities and character references (a DTD is ignored
/// whole).
pub fn parse_feed(body: &[u8], channel: &str, now: i64) -> Vec<InboundEvent> {
    let Ok(text) = std::str::from_utf8(body) else { return Vec::new() };
    read_entries(text)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !e.video_id.is_empty() && (e.channel_id.is_empty() || e.channel_id == channel))
        .map(|e| event_of(e, channel, now))
        .collect()
}

/// Every entry of the feed, or `None` when the tokenizer cannot read it to its end.
///
/// maybe_xml tokenizes without checking that tags nest (a feed is signed by the hub before
/// it gets here) and leaves references as written: [`expand`] turns XML's five predefined
/// entities and character references into text, and no other entity is expanded.
fn read_entries(text: &str) -> Option<Vec<Entry>> {
    use maybe_xml::token::Ty;
    // A notification has no DTD and no comment, and maybe_xml 0.11 reads both badly: a DTD's
    // content models take time exponential in their nesting, and a text ending in `<!-` is
    // read past its end (a panic). So any `<!` but a CDATA section's makes the feed unreadable
    // before the tokenizer sees it.
    if text.match_indices("<!").any(|(at, _)| !text[at..].starts_with("<![CDATA[")) {
        return None;
    }
    let reader = maybe_xml::Reader::from_str(text);
    let mut pos = 0;
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    // The element whose text is being read, inside an entry.
    let mut field = String::new();
    while pos < text.len() {
        let (name, attrs, empty) = match reader.tokenize(&mut pos)?.ty() {
            Ty::StartTag(t) => (t.name().local().as_str(), t.attributes(), false),
            Ty::EmptyElementTag(t) => (t.name().local().as_str(), t.attributes(), true),
            Ty::EndTag(t) => {
                let name = t.name().local().as_str();
                if name == "entry" || name == "deleted-entry" {
                    entries.extend(current.take());
                }
                field.clear();
                continue;
            }
            Ty::Characters(c) => {
                append(&mut current, &field, &expand(c.content().as_str()));
                continue;
            }
            Ty::Cdata(c) => {
                append(&mut current, &field, c.content().as_str());
                continue;
            }
            _ => continue,
        };
        // An attribute's value, references expanded (with duplicates, the first wins).
        let attr = |k: &str| {
            attrs?
                .into_iter()
                .find(|a| a.name().local().as_str() == k)
                .and_then(|a| a.value())
                .map(|v| clip(&expand(v.as_str())))
        };
        match (name, current.as_mut()) {
            ("entry", None) | ("deleted-entry", None) if entries.len() < MAX_ENTRIES => {
                let deleted = name == "deleted-entry";
                let mut entry = Entry { deleted, ..Entry::default() };
                if deleted {
                    let r = attr("ref").unwrap_or_default();
                    entry.video_id = r.strip_prefix("yt:video:").unwrap_or(&r).to_string();
                    entry.updated = attr("when").unwrap_or_default();
                }
                // A self-closed tombstone (`<at:deleted-entry ... />`) ends here.
                if empty {
                    entries.push(entry);
                } else {
                    current = Some(entry);
                }
            }
            ("link", Some(entry)) if entry.link.is_empty() => {
                let rel = attr("rel");
                if rel.is_none() || rel.as_deref() == Some("alternate") {
                    entry.link = attr("href").unwrap_or_default();
                }
            }
            (_, Some(_)) if !empty => field = name.to_string(),
            _ => {}
        }
    }
    Some(entries)
}

/// Text or an attribute value with XML's predefined entities and character references
/// expanded (quick-xml's unescaping); any other entity (one a DTD would declare) is dropped,
/// and text whose references do not read is dropped whole.
fn expand(raw: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::unescape_with(raw, predefined_or_nothing as Resolver).unwrap_or_default()
}

/// An entity resolver as a function pointer, so that every `unescape_with` in the crate
/// (here and the logos' SVG, `brand::svg`) is one instantiation.
pub(crate) type Resolver = fn(&str) -> Option<&'static str>;

/// XML's predefined entities; any other entity reads as nothing.
fn predefined_or_nothing(entity: &str) -> Option<&'static str> {
    quick_xml::escape::resolve_predefined_entity(entity).or(Some(""))
}

/// Adds text to the entry's field being read.
fn append(current: &mut Option<Entry>, field: &str, text: &str) {
    let Some(e) = current.as_mut() else { return };
    let slot = match field {
        "videoId" => &mut e.video_id,
        "channelId" => &mut e.channel_id,
        "title" => &mut e.title,
        "published" => &mut e.published,
        "updated" => &mut e.updated,
        // A tombstone's channel: `<at:by><uri>https://www.youtube.com/channel/ID</uri>`.
        "uri" if e.deleted => {
            if let Some(id) = text.trim().rsplit('/').next() {
                e.channel_id = clip(id);
            }
            return;
        }
        _ => return,
    };
    // Cut at MAX_TEXT bytes (at a character boundary), whatever the number of pieces.
    let text = if field == "title" { text } else { text.trim() };
    let room = MAX_TEXT.saturating_sub(slot.len());
    slot.push_str(&clip_to(text, room));
}

/// `s` cut to [`MAX_TEXT`] bytes (at a character boundary).
fn clip(s: &str) -> String {
    clip_to(s, MAX_TEXT)
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn clip_to(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_string()
}

/// The event of one entry.
fn event_of(e: Entry, channel: &str, now: i64) -> InboundEvent {
    let at = |s: &str| (!s.is_empty()).then(|| Value::String(s.to_string())).unwrap_or(Value::Null);
    let occurred_at = epoch_of(&e.updated).or_else(|| epoch_of(&e.published)).unwrap_or(now);
    // The same video at the same `updated` is the same notification (the hub redelivers);
    // a later update of it is news.
    let dedup_key = format!("{}@{}", e.video_id, e.updated);
    let (event_type, payload) = if e.deleted {
        (
            "video.deleted",
            json!({"video_id": e.video_id, "channel_id": channel, "deleted_at": at(&e.updated), "link": at(&e.link)}),
        )
    } else {
        let p = json!({"video_id": e.video_id, "channel_id": channel, "title": e.title.trim(), "link": at(&e.link),
            "published": at(&e.published), "updated": at(&e.updated)});
        ("video.published", p)
    };
    InboundEvent { account_id: channel.to_string(), event_type: event_type.into(), occurred_at, payload, dedup_key }
}

/// Unix seconds of an RFC 3339 time (`2015-03-09T19:05:24.552394234+00:00`, `...Z`).
fn epoch_of(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(10).is_none_or(|c| !c.eq_ignore_ascii_case(&b'T')) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // The zone: after the fraction, `Z` or `+hh:mm` / `-hh:mm`.
    let rest = s[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest.as_bytes().first() {
        Some(b'Z' | b'z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let off = num(s.len() - 5..s.len() - 3)? * 3600 + num(s.len() - 2..s.len())? * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    // Howard Hinnant's days-from-civil (proleptic Gregorian).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

#[cfg(test)]
mod tests;
