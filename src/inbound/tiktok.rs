//! `POST /platform-webhooks/tiktok`: TikTok's webhook events, signed with the app's client
//! secret (`TikTok-Signature`, format and sources in `connect_links_core::platform_webhooks`).
//! `authorization.removed` disconnects the user's profiles; other events are acknowledged.

use super::{revoke_login, unauthorized};
use crate::ctx::Ctx;
use crate::respond;
use connect_links_core::error::ApiResult;
use connect_links_core::platform_webhooks::{parse_tiktok_event, verify_tiktok_signature};
use serde_json::json;
use worker::Response;

/// Verifies, then acts on `authorization.removed` for our own client key. 401 when the
/// signature (or its timestamp) does not check out; 200 otherwise, repeats included.
pub async fn event(ctx: &Ctx, signature: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    let Some(creds) = ctx.catalog.get("tiktok").and_then(|p| ctx.credentials(p)) else {
        return Err(unauthorized());
    };
    let signed = signature.is_some_and(|s| verify_tiktok_signature(s, body, creds.client_secret.secret(), ctx.now()));
    if !signed {
        return Err(unauthorized());
    }
    let Some(event) = parse_tiktok_event(body) else {
        return respond::json(200, &json!({"ok": true}));
    };
    // An event for another TikTok app signed with our secret cannot happen; if it does, it
    // is not about our users.
    if event.client_key == creds.client_id && event.event == "authorization.removed" {
        // Its own time: a redelivery after the user connected again leaves the new grant.
        let at = event.create_time.unwrap_or(ctx.now()).min(ctx.now());
        revoke_login(ctx, "tiktok", &event.user_openid, at).await?;
    }
    respond::json(200, &json!({"ok": true}))
}
