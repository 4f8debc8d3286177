//! Meta's event webhooks (Pages, Messenger, Instagram, Threads): `GET` and `POST
//! /platform-webhooks/meta` for the deployment's Meta apps, `.../meta/apps/{credential_ref}`
//! for an app's own. The GET is Meta's verification (the verify token: the deployment's
//! `META_WEBHOOK_VERIFY_TOKEN`, or the one derived from the credential's secret); each POST
//! is verified (`X-Hub-Signature-256`) with the secret of every Meta app the path speaks for
//! before it is parsed, answered 200 at once, and its events handed on to the platform whose
//! secret verified it, for the profiles that platform app minted. Handshake, signature and
//! payloads, with their sources: `connect_links_core::platform_events::meta`.

use super::meta::{signers, Signer};
use super::unauthorized;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::platform_events::{hand_on, request};
use crate::respond::{self, object};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::platform_events::meta::{challenge, parse, platforms_of, verify, verify_token_of};
use worker::Response;

/// The platform counted for a request no secret verified: the path's first Meta app's.
fn first_platform(signers: &[Signer]) -> &str {
    signers.first().map_or("facebook", |s| s.platform.as_str())
}

/// `GET /platform-webhooks/meta[/apps/{credential_ref}]`: Meta's verification request. 200
/// with `hub.challenge` as text when `hub.mode` is `subscribe` and `hub.verify_token` is the
/// path's (the deployment's `META_WEBHOOK_VERIFY_TOKEN`: unset, every request is refused; an
/// app's own: [`verify_token_of`] its client secret); 403 otherwise; 404 for credentials
/// that are not there.
pub async fn verify_request(
    ctx: &Ctx,
    credential_ref: Option<&str>,
    query: &[(String, String)],
) -> ApiResult<Response> {
    let signers = signers(ctx, credential_ref).await?;
    let expected = match (credential_ref, signers.first()) {
        (Some(_), Some(named)) => verify_token_of(named.secret.secret()),
        _ => ctx.env.secret("META_WEBHOOK_VERIFY_TOKEN").map(|s| s.to_string()).unwrap_or_default(),
    };
    let answer = challenge(query, &expected);
    request(ctx, first_platform(&signers), answer.is_some()).await;
    let Some(answer) = answer else {
        return Err(ApiError::new(ErrorCode::Forbidden, "the verify token does not match"));
    };
    let resp = Response::ok(answer).or_500("challenge answer")?;
    resp.headers().set("content-type", "text/plain; charset=utf-8").or_500("content-type")?;
    Ok(resp)
}

/// `POST /platform-webhooks/meta[/apps/{credential_ref}]`: events. `body` is the request's
/// body as read under the cap (an error: too large, refused and counted so). 401 unless one
/// of the path's Meta apps' secrets signed the raw body; 404 for credentials that are not
/// there; else 200 at once, whatever the events are (an unknown account, the dashboard's
/// test id `0`: Meta would retry anything else), and each event of an `object` a verifying
/// app's platform covers (`page`: facebook; `instagram`: instagram and instagram_facebook;
/// Threads' envelope: threads) is handed on, after the answer, for the profiles it minted.
pub async fn receive(
    ctx: &Ctx,
    credential_ref: Option<&str>,
    signature: Option<&str>,
    body: ApiResult<Vec<u8>>,
) -> ApiResult<Response> {
    let signers = signers(ctx, credential_ref).await?;
    // Every secret is tried (no early exit), each compared in constant time.
    let hits: Vec<&Signer> = match &body {
        Ok(b) => signers.iter().filter(|s| verify(signature, b, s.secret.secret())).collect(),
        Err(_) => vec![],
    };
    let Some(first) = hits.first() else {
        request(ctx, first_platform(&signers), false).await;
        return Err(body.err().unwrap_or_else(unauthorized));
    };
    let events = match &body {
        Ok(b) => parse(b, ctx.now()),
        Err(_) => vec![],
    };
    let covers = |s: &Signer, object: &str| platforms_of(object).contains(&s.platform.as_str());
    // Counted once, for the platform the events are for (one Meta app may serve several).
    let counted = hits.iter().find(|s| events.iter().any(|(o, _)| covers(s, o))).unwrap_or(first);
    request(ctx, &counted.platform, true).await;
    for s in &hits {
        let mine = events.iter().filter(|(o, _)| covers(s, o)).map(|(_, e)| e.clone()).collect();
        hand_on(ctx, &s.platform, s.by.as_deref(), mine).await;
    }
    respond::json(200, &object!("ok": true))
}
