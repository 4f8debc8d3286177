//! `POST /platform-webhooks/tiktok[/apps/{credential_ref}]`: TikTok's webhook events, signed
//! with the platform app's client secret (`TikTok-Signature`, format and sources in
//! `connect_links_core::platform_webhooks`); each stored TikTok credential has its own path.
//! `authorization.removed` disconnects the user's profiles; every verified event of that
//! client (that one included) is then handed on to the apps holding the user's profiles
//! (`crate::platform_events`), after the answer.

use super::{revoke_login, unauthorized};
use crate::credentials::webhook_signer;
use crate::ctx::Ctx;
use crate::platform_events::{hand_on, request};
use crate::respond::{self, object};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::platform_events::tiktok::inbound_event;
use connect_links_core::platform_webhooks::{parse_tiktok_event, verify_tiktok_signature};
use worker::Response;

/// `POST /platform-webhooks/tiktok` (the deployment's client, `credential_ref` `None`) and
/// `POST /platform-webhooks/tiktok/apps/{credential_ref}` (an app's own, verified with its
/// client secret, the only secret TikTok signs with): verifies, then acts on `authorization.removed`
/// for that client key, on the grants that client minted. 401 when the signature (or its
/// timestamp) does not check out; 404 for credentials that are not there; 200 otherwise,
/// repeats included.
pub async fn event(
    ctx: &Ctx,
    credential_ref: Option<&str>,
    signature: Option<&str>,
    body: ApiResult<Vec<u8>>,
) -> ApiResult<Response> {
    let (client_id, secret, by) = match credential_ref {
        None => {
            // A body over the cap is 413 whatever the path (as before it was read here).
            let Some(creds) = ctx.catalog.get("tiktok").and_then(|p| ctx.credentials(p)) else {
                body?;
                return Err(unauthorized());
            };
            (creds.client_id, creds.client_secret, None)
        }
        Some(r) => match webhook_signer(ctx, r, &["tiktok"]).await? {
            Some(s) => (s.client_id, s.secret, Some(s.credential_ref)),
            None => {
                body?;
                return Err(ApiError::not_found("route"));
            }
        },
    };
    let signed = match (signature, &body) {
        (Some(s), Ok(b)) => verify_tiktok_signature(s, b, secret.secret(), ctx.now()),
        _ => false,
    };
    request(ctx, "tiktok", signed).await;
    if !signed {
        body?;
        return Err(unauthorized());
    }
    let body = &body?[..];
    // Every event of this client about a user goes on to the apps, after the answer.
    let inbound = inbound_event(body, &client_id, ctx.now());
    let Some(event) = parse_tiktok_event(body) else {
        hand_on(ctx, "tiktok", by.as_deref(), inbound.into_iter().collect()).await;
        return respond::json(200, &object!("ok": true));
    };
    // An event for another TikTok app signed with this secret cannot happen; if it does, it
    // is not about this client's users.
    if event.client_key == client_id && event.event == "authorization.removed" {
        // Its own time: a redelivery after the user connected again leaves the new grant.
        let at = event.create_time.unwrap_or(ctx.now()).min(ctx.now());
        revoke_login(ctx, "tiktok", &event.user_openid, at, by.as_deref()).await?;
    }
    hand_on(ctx, "tiktok", by.as_deref(), inbound.into_iter().collect()).await;
    respond::json(200, &object!("ok": true))
}
