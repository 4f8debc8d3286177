//! `GET/POST /platform-webhooks/youtube/{subscription}`: Google's WebSub hub calling back
//! for one of our subscriptions (`crate::platform_events::websub`; facts and sources in
//! `connect_links_core::platform_events::youtube`). The GET is the hub verifying a
//! subscribe or unsubscribe we asked for; the POST is a notification, signed with that
//! subscription's own secret, handed on to the apps holding the channel after the answer.

use super::unauthorized;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::platform_events::{hand_on, request, websub};
use crate::respond::{self, object};
use crate::store::{self, Stmt, WebsubRow};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::platform_events::youtube::{parse_feed, verify_signature, LEASE_SECS};
use worker::Response;

/// Longest `hub.challenge` echoed (the hub's are tens of characters).
const MAX_CHALLENGE: usize = 512;

/// `GET /platform-webhooks/youtube/{subscription}?hub.mode&hub.topic&hub.challenge&hub.lease_seconds`:
/// answers the challenge (200, text/plain) only when the mode and the topic are those of a
/// request we sent for this subscription: a subscribe (recording the lease the hub granted)
/// or an unsubscribe (then the subscription is forgotten); 404 otherwise, as WebSub asks of a
/// subscriber that "does not agree with the action" (a denial included: it is logged).
pub async fn verify(ctx: &Ctx, id: &str, q: &[(String, String)]) -> ApiResult<Response> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // The challenge first: a request we cannot answer must record nothing.
    let challenge = get("hub.challenge").filter(|c| plausible_challenge(c));
    let agreed = match challenge {
        Some(_) => agree(ctx, id, get("hub.mode"), get("hub.topic"), get("hub.lease_seconds")).await?,
        None => false,
    };
    request(ctx, "youtube", agreed).await;
    let (true, Some(challenge)) = (agreed, challenge) else {
        if get("hub.mode") == Some("denied") {
            crate::log::info(&object!("event": "websub_denied", "topic": get("hub.topic")));
        }
        return Err(ApiError::not_found("subscription"));
    };
    Response::ok(challenge).or_500("challenge answer")
}

/// Whether subscription `id` asked for `mode` on `topic`, recording what the hub confirmed.
async fn agree(ctx: &Ctx, id: &str, mode: Option<&str>, topic: Option<&str>, lease: Option<&str>) -> ApiResult<bool> {
    let db = ctx.db()?;
    let Some(row) = store::websub_by_id(&db, id).one::<WebsubRow>("read websub").await? else { return Ok(false) };
    if topic != Some(row.topic.as_str()) {
        return Ok(false);
    }
    let now = ctx.now();
    match mode {
        Some("subscribe") if row.status != "unsubscribing" => {
            // The hub MUST say the lease it granted; without it (or past ours), ours.
            let secs =
                lease.and_then(|l| l.parse::<i64>().ok()).filter(|l| *l > 0).map_or(LEASE_SECS, |l| l.min(LEASE_SECS));
            store::websub_verified(&db, id, now + secs, now).exists("websub verified").await
        }
        Some("unsubscribe") if row.status == "unsubscribing" => {
            store::websub_delete(&db, id).exists("websub unsubscribed").await
        }
        _ => Ok(false),
    }
}

/// A challenge echoed as the answer's body: short, printable ASCII.
fn plausible_challenge(c: &str) -> bool {
    !c.is_empty() && c.len() <= MAX_CHALLENGE && c.bytes().all(|b| b.is_ascii_graphic())
}

/// `POST /platform-webhooks/youtube/{subscription}`: a notification. 404 for no such
/// subscription; 401 unless `X-Hub-Signature` is the HMAC of the raw body under its secret
/// (checked before the XML is read); 204 otherwise, the feed's videos handed on as
/// `video.published` / `video.deleted` for its channel after the answer.
pub async fn notify(ctx: &Ctx, id: &str, signature: Option<&str>, body: ApiResult<Vec<u8>>) -> ApiResult<Response> {
    let Some(row) = store::websub_by_id(&ctx.db()?, id).one::<WebsubRow>("read websub").await? else {
        body?;
        return Err(ApiError::not_found("subscription"));
    };
    let secret = websub::secret_of(ctx, &row);
    let signed = match (signature, &secret, &body) {
        (Some(s), Some(k), Ok(b)) => verify_signature(s, b, k),
        _ => false,
    };
    request(ctx, "youtube", signed).await;
    if !signed {
        body?;
        return Err(unauthorized());
    }
    let events = parse_feed(&body?, &row.channel_id, ctx.now());
    hand_on(ctx, "youtube", row.credential_ref.as_deref(), events).await;
    respond::no_content()
}
