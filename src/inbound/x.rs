//! `GET/POST /platform-webhooks/x[/apps/{credential_ref}]`: X's Account Activity webhooks
//! (handshake, signature and payloads in `connect_links_core::platform_events::x`, with their
//! sources). X signs with the app's API key secret ("consumer secret"), not its OAuth 2.0
//! client secret: the deployment's is `X_CONSUMER_SECRET`, an app's own X app's is the
//! `webhook_secret` of its stored credentials. Verified events go on to the apps holding
//! their accounts, after the answer.

use crate::credentials::webhook_secret_signer;
use crate::ctx::Ctx;
use crate::respond::{self, object};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::platform_events::x;
use connect_links_core::secrets::ClientSecret;
use worker::Response;

const PLATFORM: &str = "x";

/// The consumer secret the path verifies with, and whose it is (`None`: the deployment's).
/// 404 when there is none: without `X_CONSUMER_SECRET` the deployment has no X webhook (as an
/// unknown path, rather than a 403 that would say one exists and refuses), and credentials
/// without a `webhook_secret` (or not there, or not X's) have none either.
async fn signer(ctx: &Ctx, credential_ref: Option<&str>) -> ApiResult<(ClientSecret, Option<String>)> {
    let found = match credential_ref {
        None => ctx
            .env
            .secret("X_CONSUMER_SECRET")
            .ok()
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty())
            .map(|s| (ClientSecret::new(s), None)),
        Some(r) => webhook_secret_signer(ctx, r, &[PLATFORM]).await?.map(|s| (s.secret, Some(s.credential_ref))),
    };
    found.ok_or_else(|| ApiError::not_found("route"))
}

/// `GET /platform-webhooks/x[/apps/{credential_ref}]?crc_token=...`: the CRC. 200
/// `{"response_token"}`; 403 for a missing token or one that is not plausible as X's (it
/// would make the answer a signature of anything: see `x::plausible_crc_token`); 404 as
/// [`signer`].
pub async fn crc(ctx: &Ctx, credential_ref: Option<&str>, crc_token: Option<&str>) -> ApiResult<Response> {
    let answer = match signer(ctx, credential_ref).await {
        Ok((secret, _)) => crc_token
            .and_then(|t| x::crc_response(secret.secret(), t))
            .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "crc_token is missing or is not a token X sends")),
        Err(e) => Err(e),
    };
    crate::platform_events::outcome(ctx, PLATFORM, &answer).await;
    respond::json(200, &object!("response_token": answer?))
}

/// `POST /platform-webhooks/x[/apps/{credential_ref}]`: events, verified
/// (`x-twitter-webhooks-signature` over the raw body) before they are read. 200 at once, the
/// events handed on after the answer; 401 for a bad or missing signature; 413 over the cap;
/// 404 as [`signer`]. Nothing else changes on a refusal.
pub async fn event(
    ctx: &Ctx,
    credential_ref: Option<&str>,
    signature: Option<&str>,
    body: ApiResult<Vec<u8>>,
) -> ApiResult<Response> {
    let signer = signer(ctx, credential_ref);
    super::signed_events(ctx, PLATFORM, signer, signature, body, x::verify_signature, x::parse).await
}
