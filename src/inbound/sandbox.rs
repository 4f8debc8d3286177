//! The sandbox platform's events (only with `SANDBOX=on`): `POST /platform-webhooks/sandbox`
//! receives them as a real platform's, verified with the sandbox's client secret before
//! parsing (format in `connect_links_core::platform_events::sandbox`), and
//! `POST /sandbox/events` plays the platform: it builds and signs the body for one of an
//! app's sandbox profiles and hands it to the same receiver, so `make dev` and the tests run
//! the whole path (verify, parse, dedup, match, forward) with no platform and no mock.

use super::unauthorized;
use crate::ctx::Ctx;
use crate::platform_events::{hand_on, request};
use crate::respond::{self, object};
use crate::store;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{AppRow, ProfileStatus};
use connect_links_core::platform_events::sandbox::{body as event_body, default_value, parse, send_request, sign, verify};
use connect_links_core::random::new_id;
use worker::Response;

const PLATFORM: &str = "sandbox";

/// The secret the sandbox signs its events with: the deployment's sandbox client secret.
fn secret(ctx: &Ctx) -> Option<String> {
    let p = ctx.catalog.get(PLATFORM)?;
    Some(ctx.credentials(p)?.client_secret.secret().to_string())
}

/// `POST /platform-webhooks/sandbox`: `body` as read under the cap (an error when it was
/// over), `signature` the `X-Hub-Signature-256` header. Counts the request, refuses (401; a
/// body over the cap: 413) before parsing anything when the signature does not verify, then
/// answers 200 at once and forwards the events after the answer. A signed body of another
/// shape is 400, with nothing forwarded.
pub async fn receive(ctx: &Ctx, signature: Option<&str>, body: ApiResult<Vec<u8>>) -> ApiResult<Response> {
    let signed = match (&body, secret(ctx)) {
        (Ok(b), Some(s)) => verify(signature, b, &s),
        _ => false,
    };
    request(ctx, PLATFORM, signed).await;
    if !signed {
        body?;
        return Err(unauthorized());
    }
    let events = parse(&body?).map_err(ApiError::invalid)?;
    hand_on(ctx, PLATFORM, None, events).await;
    respond::json(200, &object!("ok": true))
}

/// `POST /sandbox/events` for `app`: `{profile_id, event_type?, payload?}`. The profile must be
/// the app's (else 404), active and on the sandbox (else 409). Sends the event the sandbox
/// would for that profile's account (the payload given, else a new comment), signed, through
/// [`receive`]; answers 202 with the event's id (the payload's `id`, when a string), account
/// and type. Whether an app gets it is the forwarding's business (its `platform_events`).
pub async fn send(ctx: &Ctx, app: &AppRow, body: &[u8]) -> ApiResult<Response> {
    let (profile_id, event_type, payload) = send_request(body)?;
    let profile = store::get_profile(&ctx.db()?, &app.id, &profile_id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    if profile.platform != PLATFORM {
        return Err(ApiError::new(ErrorCode::Conflict, "the profile is not on the sandbox platform"));
    }
    if profile.status != ProfileStatus::Active {
        return Err(ApiError::new(ErrorCode::Conflict, "the profile is not active"));
    }
    let now = ctx.now();
    let value = match payload {
        Some(v) => v,
        None => default_value(&new_id("sbe_")?, now),
    };
    let event_id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
    let raw = event_body(&profile.platform_user_id, &event_type, value, now);
    let secret = secret(ctx).ok_or_else(ApiError::internal)?;
    receive(ctx, Some(&sign(&raw, &secret)), Ok(raw)).await?;
    let mut answer = object!("account_id": profile.platform_user_id, "event_type": event_type);
    if let Some(id) = event_id {
        answer["event_id"] = id.into();
    }
    respond::json(202, &answer)
}
