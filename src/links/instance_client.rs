//! Mastodon's client per instance, for the links that connect an account there (an instance
//! is chosen per connect, so no deployment secret can hold its client): on the first connect
//! to an instance the worker reads the instance's authorization-server metadata (PKCE, the
//! `profile` scope), registers itself with `POST /api/v1/apps` for this deployment's
//! callback, and keeps that client in D1 (`instance_clients`, the secret sealed). Concurrent
//! first connects to one instance register once: one of them claims the row (a conditional
//! insert holding its own claim id), the others wait for its client. A stored client is
//! confirmed with the instance at most hourly (older Mastodon versions delete apps that hold
//! no token, and a user sent to a consent screen for an unknown client never comes back to
//! say so). The pure steps are `connect_links_core::mastodon`.

use crate::ctx::{now_ms, Ctx};
use crate::error::OrInternal;
use crate::fetch;
use crate::instances::{callback_url, secret_field};
use crate::respond::object;
use crate::store::{self, ClientRow, InstanceSlot, RegisteredClient, Stmt};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::mastodon::{
    discovery_request, is_unknown_client, parse_discovery, parse_registration, registration_request,
    registration_scopes, RegistrationProblem,
};
use connect_links_core::model::AppRow;
use connect_links_core::oauth::{revoke_request, token_endpoint_request};
use connect_links_core::platforms::Platform;
use connect_links_core::random::new_id;
use connect_links_core::token::TokenSet;
use std::time::Duration;
use worker::Delay;

/// How long a confirmed client is used before the instance is asked again.
const CHECK_AFTER_SECS: i64 = 3600;
/// How soon an instance that could not confirm its client (unreachable, or another answer
/// than a token or `invalid_client`) is asked again.
const RECHECK_AFTER_DOUBT_SECS: i64 = 300;
/// How often a client's last use is written: one write a day at most marks it as in use
/// (a client no link used for 30 days, and no grant holds, is purged by housekeeping).
const TOUCH_AFTER_SECS: i64 = 86_400;
/// The first wait of a connect waiting for another one's registration (doubled each time,
/// up to [`WAIT_MAX_MS`]): a few D1 reads per wait, not hundreds.
const WAIT_FIRST_MS: u64 = 100;
const WAIT_MAX_MS: u64 = 2_000;

/// The name the instance shows on its consent screen (`MASTODON_CLIENT_NAME`).
fn client_name(ctx: &Ctx) -> String {
    match ctx.env.var("MASTODON_CLIENT_NAME").map(|v| v.to_string()) {
        Ok(v) if !v.trim().is_empty() && v.len() <= 100 => v,
        _ => "connect-links".into(),
    }
}

/// The client registered with `host` for this deployment (`platform` unresolved, from the
/// catalog), registering it first if there is none or the instance no longer knows it; a
/// registration counts against `app`'s daily cap (429 past it). `host` must come from
/// `host::public_host`.
pub async fn ensure_client(ctx: &Ctx, platform: &Platform, host: &str, app: &AppRow) -> ApiResult<ClientRow> {
    let redirect = callback_url(ctx, &platform.id, host);
    let db = ctx.db()?;
    // The claim outlives the two calls a registration makes; a worker that dies holding it
    // frees it by expiry.
    let hold_secs = 2 * (ctx.timeout_ms() as i64 / 1000) + 10;
    let give_up_ms = now_ms() + hold_secs * 1000;
    let mut wait_ms = WAIT_FIRST_MS;
    loop {
        let slot = store::instance_slot(&db, &platform.id, host, &redirect)
            .one::<InstanceSlot>("read instance client")
            .await?;
        let now = ctx.now();
        match slot {
            Some(InstanceSlot {
                client_id: Some(id),
                client_secret_enc: Some(enc),
                scopes,
                pkce,
                checked_at,
                last_used_at,
                ..
            }) => {
                let row = ClientRow { client_id: id, client_secret_enc: enc, scopes, pkce };
                if checked_at.is_some_and(|t| now - t < CHECK_AFTER_SECS)
                    || still_known(ctx, platform, host, &row).await?
                {
                    if touch(ctx, &platform.id, host, &redirect, &row.client_id, last_used_at).await {
                        return Ok(row);
                    }
                    // Purged (or replaced) since it was read: never handed to a link. The
                    // next turn, after the wait below, registers again or takes the
                    // replacement.
                } else {
                    // Forgotten by the instance: register again (the next turn claims the slot).
                    crate::instances::forget_client(ctx, &platform.id, host, &row.client_id).await?;
                    continue;
                }
            }
            Some(InstanceSlot { registering_until: Some(until), .. }) if until >= now => {}
            _ => {
                let claim = new_id("clm_")?;
                let won = store::claim_instance_registration(
                    &db,
                    &platform.id,
                    host,
                    &redirect,
                    now + hold_secs,
                    &claim,
                    now,
                )
                .exists("claim instance registration")
                .await?;
                if won {
                    // Counted before any call to the instance: an app naming thousands of
                    // hosts makes the worker call at most its cap of them a day.
                    let registered = match crate::tenant::spend_registration(ctx, app).await {
                        Ok(()) => register(ctx, &platform.id, host, &redirect, &claim).await,
                        Err(e) => Err(e),
                    };
                    if registered.is_err() {
                        // Free this claim at once (only this one): the next connect tries again.
                        let _ = store::free_instance_registration(&db, &platform.id, host, &redirect, &claim)
                            .exec("free instance registration")
                            .await;
                    }
                    return registered;
                }
            }
        }
        if now_ms() > give_up_ms {
            return Err(ApiError::upstream("another connect is still registering with this instance; try again"));
        }
        Delay::from(Duration::from_millis(wait_ms)).await;
        wait_ms = (wait_ms * 2).min(WAIT_MAX_MS);
    }
}

/// Marks the client `client_id` as used by a link now, unless that was written in the last
/// day; `false` when it is no longer stored (the purge deleted it, or another connect
/// replaced it, since it was read). The write is best effort: a storage error is logged and
/// the client used (it was read a moment ago, and the purge takes only clients unused for
/// 30 days). The purge cannot slip in between a skipped write and the link either: it takes
/// only clients whose last use is 30 days old, and a skipped write means one within a day.
async fn touch(
    ctx: &Ctx,
    platform: &str,
    host: &str,
    redirect: &str,
    client_id: &str,
    last_used_at: Option<i64>,
) -> bool {
    let now = ctx.now();
    if last_used_at.is_some_and(|t| now - t < TOUCH_AFTER_SECS) {
        return true;
    }
    let written = match ctx.db() {
        Ok(db) => {
            store::touch_instance_client(&db, platform, host, redirect, client_id, now)
                .exists("instance client used")
                .await
        }
        Err(e) => Err(e),
    };
    written.unwrap_or_else(|_| {
        crate::log::warn(&object!("event": "instance_client_use_not_written", "platform": platform, "instance": host));
        true
    })
}

/// Asks the instance whether it still knows the client: a `client_credentials` grant, whose
/// app token is revoked at once. Only an `invalid_client` answer says no; an instance that
/// cannot be reached or answers otherwise is given the benefit of the doubt (the connect
/// itself will tell).
async fn still_known(ctx: &Ctx, platform: &Platform, host: &str, row: &ClientRow) -> ApiResult<bool> {
    // A secret no key opens is as good as no client.
    let Some(creds) = crate::instances::try_open_client(&*ctx.keyring()?, &platform.id, host, row) else {
        return Ok(false);
    };
    let at = platform.at_instance(host);
    let req = token_endpoint_request(&at, &creds, vec![("grant_type", "client_credentials"), ("scope", "read")]);
    let answer = fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await;
    if let Ok(resp) = &answer {
        if is_unknown_client(resp.status, &resp.body) {
            crate::log::info(&object!("event": "instance_client_forgotten", "platform": platform.id, "instance": host));
            return Ok(false);
        }
    }
    // Only a token answer confirms the client for an hour; an outage or any other answer is
    // asked about again in five minutes (and the client is used meanwhile: the connect itself
    // will tell).
    let confirmed = match answer.as_ref().ok().map(|r| TokenSet::from_response(r.status, &r.body)) {
        Some(Ok(app_token)) => {
            if let Some(revoke) = revoke_request(&at, &creds, app_token.access_token.secret()) {
                let _ = fetch::send(&revoke, &platform.id, None, ctx.timeout_ms()).await;
            }
            true
        }
        _ => false,
    };
    let checked_at = if confirmed { ctx.now() } else { ctx.now() - CHECK_AFTER_SECS + RECHECK_AFTER_DOUBT_SECS };
    let db = ctx.db()?;
    store::instance_client_checked(&db, &platform.id, host, &row.client_id, checked_at)
        .exec("instance client checked")
        .await?;
    Ok(true)
}

/// Discovery, then registration, then the client stored over this connect's claim.
async fn register(ctx: &Ctx, platform: &str, host: &str, redirect: &str, claim: &str) -> ApiResult<ClientRow> {
    let unreachable = || ApiError::upstream("the Mastodon instance could not be reached");
    let meta =
        fetch::send(&discovery_request(host), platform, None, ctx.timeout_ms()).await.map_err(|_| unreachable())?;
    // A 404 (before 4.3) or anything unreadable: an older instance, no PKCE, no `profile`.
    let discovery = parse_discovery(meta.status, &meta.body);
    let scopes = registration_scopes(&discovery);
    // The consent screen shows the website: only an https one is worth showing.
    let website = ctx.https().then_some(ctx.public_url.as_str());
    let req = registration_request(host, &client_name(ctx), redirect, &scopes, website);
    let resp = fetch::send(&req, platform, None, ctx.timeout_ms()).await.map_err(|_| unreachable())?;
    let registration = parse_registration(resp.status, &resp.body).map_err(|why| {
        // The instance's own words go to the log, not to the app.
        crate::log::info(&object!("event": "instance_registration_refused", "instance": host, "why": why.to_string()));
        match why {
            // Names the field and the rule, never the value.
            RegistrationProblem::BadField(_) => ApiError::upstream(format!(
                "the Mastodon instance registered this deployment with a client this worker does not accept: {why}"
            )),
            _ => ApiError::upstream("the Mastodon instance refused to register this deployment"),
        }
    })?;
    let keyring = ctx.keyring()?;
    let sealed = keyring
        .seal(&secret_field(platform, host), "client_secret", registration.client_secret.secret())
        .or_500("seal instance client secret")?;
    let scopes_json = serde_json::to_string(&scopes).or_500("scopes json")?;
    let pkce = i64::from(discovery.pkce);
    let db = ctx.db()?;
    let now = ctx.now();
    let client = RegisteredClient {
        platform,
        host,
        redirect,
        client_id: &registration.client_id,
        client_secret_enc: &sealed,
        token_kid: keyring.current_kid(),
        scopes: &scopes_json,
        pkce,
        now,
        claim,
    };
    let stored = store::store_instance_client(&db, &client).exists("store instance client").await?;
    if !stored {
        // Our claim ran out and another connect took the slot: its client serves.
        return Err(ApiError::upstream("another connect registered with this instance meanwhile; try again"));
    }
    Ok(ClientRow { client_id: registration.client_id, client_secret_enc: sealed, scopes: scopes_json, pkce })
}
