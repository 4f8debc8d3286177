//! Mastodon's client per instance (issue 12): on the first connect to an instance the worker
//! reads the instance's authorization-server metadata (PKCE, the `profile` scope), registers
//! itself with `POST /api/v1/apps` for this deployment's callback, and keeps that client in
//! D1 (`instance_clients`, the secret sealed). Concurrent first connects to one instance
//! register once: one of them claims the row (a conditional insert), the others wait for its
//! client. The pure steps are `connect_links_core::mastodon`.

use crate::ctx::{now_ms, Ctx, OrInternal};
use crate::fetch;
use crate::instances::{callback_url, secret_field, stored_client, ClientRow};
use crate::store::Stmt;
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::mastodon::{
    discovery_request, parse_discovery, parse_registration, registration_request, registration_scopes,
};
use std::time::Duration;
use worker::{query, Delay};

/// How often a connect waiting for another one's registration looks again.
const WAIT_STEP_MS: u64 = 200;

/// The name the instance shows on its consent screen (`MASTODON_CLIENT_NAME`).
fn client_name(ctx: &Ctx) -> String {
    match ctx.env.var("MASTODON_CLIENT_NAME").map(|v| v.to_string()) {
        Ok(v) if !v.trim().is_empty() && v.len() <= 100 => v,
        _ => "connect-links".into(),
    }
}

/// The client registered with `host` for this deployment, registering it first if there is
/// none. `host` must come from `host::public_host`.
pub async fn ensure_client(ctx: &Ctx, platform: &str, host: &str) -> ApiResult<ClientRow> {
    let redirect = callback_url(ctx);
    let db = ctx.db()?;
    // The claim outlives the two calls a registration makes; a worker that dies holding it
    // frees it by expiry.
    let hold_secs = 2 * (ctx.timeout_ms() as i64 / 1000) + 10;
    let give_up_ms = now_ms() + hold_secs * 1000;
    loop {
        if let Some(row) = stored_client(ctx, platform, host).await? {
            return Ok(row);
        }
        let now = ctx.now();
        let won = query!(
            &db,
            "INSERT INTO instance_clients (platform, instance, redirect_uri, registering_until, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (platform, instance, redirect_uri) DO UPDATE SET registering_until = excluded.registering_until, \
               updated_at = excluded.updated_at \
             WHERE instance_clients.client_id IS NULL \
               AND (instance_clients.registering_until IS NULL OR instance_clients.registering_until < ?5) \
             RETURNING instance",
            platform,
            host,
            redirect,
            now + hold_secs,
            now
        )
        .exists("claim instance registration")
        .await?;
        if won {
            let registered = register(ctx, platform, host, &redirect).await;
            if registered.is_err() {
                // Free the claim at once: the next connect tries again.
                let _ = query!(
                    &db,
                    "DELETE FROM instance_clients WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 \
                     AND client_id IS NULL",
                    platform,
                    host,
                    redirect
                )
                .exec("free instance registration")
                .await;
            }
            return registered;
        }
        if now_ms() > give_up_ms {
            return Err(ApiError::upstream("another connect is still registering with this instance; try again"));
        }
        Delay::from(Duration::from_millis(WAIT_STEP_MS)).await;
    }
}

/// Discovery, then registration, then the client stored over the claim.
async fn register(ctx: &Ctx, platform: &str, host: &str, redirect: &str) -> ApiResult<ClientRow> {
    let unreachable = || ApiError::upstream("the Mastodon instance could not be reached");
    let meta = fetch::send(&discovery_request(host), platform, None, ctx.timeout_ms()).await.map_err(|_| unreachable())?;
    // A 404 (before 4.3) or anything unreadable: an older instance, no PKCE, no `profile`.
    let discovery = parse_discovery(meta.status, &meta.body);
    let scopes = registration_scopes(&discovery);
    // The consent screen shows the website: only an https one is worth showing.
    let website = ctx.public_url.starts_with("https://").then_some(ctx.public_url.as_str());
    let req = registration_request(host, &client_name(ctx), redirect, &scopes, website);
    let resp = fetch::send(&req, platform, None, ctx.timeout_ms()).await.map_err(|_| unreachable())?;
    let registration = parse_registration(resp.status, &resp.body)
        .map_err(|why| ApiError::upstream(format!("the Mastodon instance refused to register this deployment: {why}")))?;
    let keyring = ctx.keyring()?;
    let sealed = keyring
        .seal(&secret_field(platform, host), "client_secret", registration.client_secret.secret())
        .or_500("seal instance client secret")?;
    let scopes_json = serde_json::to_string(&scopes).or_500("scopes json")?;
    let pkce = i64::from(discovery.pkce);
    let db = ctx.db()?;
    let stored = query!(
        &db,
        "UPDATE instance_clients SET client_id = ?4, client_secret_enc = ?5, token_kid = ?6, scopes = ?7, pkce = ?8, \
         registering_until = NULL, updated_at = ?9 \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_id IS NULL RETURNING instance",
        platform,
        host,
        redirect,
        registration.client_id,
        sealed,
        keyring.current_kid(),
        scopes_json,
        pkce,
        ctx.now()
    )
    .exists("store instance client")
    .await?;
    if !stored {
        // Our claim ran out and another connect registered meanwhile: use its client.
        return stored_client(ctx, platform, host).await?.ok_or_else(ApiError::internal);
    }
    Ok(ClientRow { client_id: registration.client_id, client_secret_enc: sealed, scopes: scopes_json, pkce })
}
