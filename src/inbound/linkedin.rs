//! `GET/POST /platform-webhooks/linkedin[/apps/{credential_ref}]`: LinkedIn's webhooks
//! (challenge, signature and payloads in `connect_links_core::platform_events::linkedin`,
//! with their sources), signed with the client secret: the deployment's
//! (`LINKEDIN_CLIENT_SECRET`), or an app's own LinkedIn app's on its credentials' path.
//! Verified notifications go on to the apps holding their organizations, after the answer.

use crate::credentials::webhook_signer;
use crate::ctx::Ctx;
use crate::respond::{self, object};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::platform_events::linkedin;
use connect_links_core::secrets::ClientSecret;
use worker::Response;

const PLATFORM: &str = "linkedin";

/// The client secret the path verifies with, and whose it is (`None`: the deployment's).
/// 404 when there is none: LinkedIn not configured, or credentials not there (or not
/// LinkedIn's).
async fn signer(ctx: &Ctx, credential_ref: Option<&str>) -> ApiResult<(ClientSecret, Option<String>)> {
    let found = match credential_ref {
        None => ctx.catalog.get(PLATFORM).and_then(|p| ctx.credentials(p)).map(|c| (c.client_secret, None)),
        Some(r) => webhook_signer(ctx, r, &[PLATFORM]).await?.map(|s| (s.secret, Some(s.credential_ref))),
    };
    found.ok_or_else(|| ApiError::not_found("route"))
}

/// `GET /platform-webhooks/linkedin[/apps/{credential_ref}]?challengeCode=...`: the
/// validation. 200 `{"challengeCode", "challengeResponse"}`; 403 for a missing code or one
/// that is not plausible as LinkedIn's UUID (see `linkedin::challenge_response`); 404 as
/// [`signer`].
pub async fn challenge(ctx: &Ctx, credential_ref: Option<&str>, code: Option<&str>) -> ApiResult<Response> {
    let answer = match signer(ctx, credential_ref).await {
        Ok((secret, _)) => {
            code.and_then(|c| Some((c, linkedin::challenge_response(secret.secret(), c)?))).ok_or_else(|| {
                ApiError::new(ErrorCode::Forbidden, "challengeCode is missing or is not a code LinkedIn sends")
            })
        }
        Err(e) => Err(e),
    };
    crate::platform_events::outcome(ctx, PLATFORM, &answer).await;
    let (code, response) = answer?;
    respond::json(200, &object!("challengeCode": code, "challengeResponse": response))
}

/// `POST /platform-webhooks/linkedin[/apps/{credential_ref}]`: notifications, verified
/// (`X-LI-Signature`) before they are read. 200 at once, the events handed on after the
/// answer; 401 for a bad or missing signature; 413 over the cap; 404 as [`signer`].
pub async fn event(
    ctx: &Ctx,
    credential_ref: Option<&str>,
    signature: Option<&str>,
    body: ApiResult<Vec<u8>>,
) -> ApiResult<Response> {
    let signer = signer(ctx, credential_ref);
    super::signed_events(ctx, PLATFORM, signer, signature, body, linkedin::verify_signature, linkedin::parse).await
}
