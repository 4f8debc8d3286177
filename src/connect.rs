//! The connect flow after the consent screen: take the pending state exactly once, spend
//! the code, check scopes, fetch the identity, store encrypted tokens.

use crate::ctx::{Ctx, OrInternal};
use crate::fetch;
use crate::store;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::identity::{parse_identity, Identity};
use connect_links_core::model::LinkRow;
use connect_links_core::oauth::{
    clean_code, code_exchange_request, identity_request, long_lived_swap_request, missing_scopes, parse_scopes,
    parse_token_answer,
};
use connect_links_core::platforms::Platform;
use connect_links_core::random::new_id;
use connect_links_core::refresh_policy::next_refresh_at;
use connect_links_core::state::{state_key, PendingAuth};
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;
use serde_json::json;
use worker::{console_log, query};

/// Why a state could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum StateProblem {
    /// Not in KV: never issued, expired from KV, or already consumed.
    Unknown,
    /// Still in KV but older than ten minutes.
    Expired,
    /// Already consumed (lost the D1 race).
    Replayed,
}

/// Looks up a state without consuming it.
pub async fn peek_state(ctx: &Ctx, state: &str) -> ApiResult<Result<PendingAuth, StateProblem>> {
    let raw = ctx.kv()?.get(&state_key(state)).text().await.or_500("kv get state")?;
    let Some(pending) = raw.and_then(|r| serde_json::from_str::<PendingAuth>(&r).ok()) else {
        return Ok(Err(StateProblem::Unknown));
    };
    if !pending.is_fresh(ctx.now()) {
        return Ok(Err(StateProblem::Expired));
    }
    Ok(Ok(pending))
}

/// Consumes a state exactly once (recorded in D1) and drops it from KV.
pub async fn consume_state(ctx: &Ctx, state: &str, pending: &PendingAuth) -> ApiResult<Result<(), StateProblem>> {
    let key = state_key(state);
    if !store::consume_state(&ctx.db()?, &key, &pending.link_id, ctx.now()).await? {
        return Ok(Err(StateProblem::Replayed));
    }
    // Best effort: D1 already refuses a second use.
    let _ = ctx.kv()?.delete(&key).await;
    Ok(Ok(()))
}

/// Spends the code, stores the profile and tells the app (`profile.connected`,
/// `profile.reconnected` or `connect_link.failed`); the profile id, or the failure code.
pub async fn complete(ctx: &Ctx, pending: &PendingAuth, link: &LinkRow, code: &str) -> Result<String, CallbackFailure> {
    let outcome = exchange_and_store(ctx, pending, link, code).await;
    match &outcome {
        Ok((id, created)) => {
            let kind = if *created { types::CONNECTED } else { types::RECONNECTED };
            crate::lifecycle::emit_profile(ctx, &link.app_id, id, kind).await;
        }
        Err(f) => {
            let data = json!({"link_id": link.id, "platform": link.platform, "error": f.as_str(), "external_user_id": link.external_user_id});
            if crate::webhooks::emit(ctx, &link.app_id, types::LINK_FAILED, data).await.is_err() {
                log_failure(&link.platform, &link.id, "webhook", "connect_link.failed not recorded");
            }
        }
    }
    outcome.map(|(id, _)| id)
}

/// Tells the app a link failed before any code was spent (the user denied).
pub async fn link_failed(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure) {
    let data = json!({"link_id": link.id, "platform": link.platform, "error": failure.as_str(), "external_user_id": link.external_user_id});
    if crate::webhooks::emit(ctx, &link.app_id, types::LINK_FAILED, data).await.is_err() {
        log_failure(&link.platform, &link.id, "webhook", "connect_link.failed not recorded");
    }
}

async fn exchange_and_store(
    ctx: &Ctx,
    pending: &PendingAuth,
    link: &LinkRow,
    code: &str,
) -> Result<(String, bool), CallbackFailure> {
    let platform = ctx.catalog.get(&pending.platform).ok_or(CallbackFailure::ServerError)?;
    let creds = ctx.credentials(platform).ok_or(CallbackFailure::ServerError)?;

    let code = clean_code(platform, code);
    let req = code_exchange_request(platform, &creds, &code, &pending.redirect_uri, &pending.verifier());
    let resp =
        fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| CallbackFailure::ExchangeFailed)?;
    let mut tokens = parse_token_answer(platform, resp.status, &resp.body).map_err(|e| {
        log_failure(&platform.id, &link.id, "exchange", &e.to_string());
        CallbackFailure::ExchangeFailed
    })?;
    // Meta: swap the short-lived token for a long-lived one now, so the stored expiry is long.
    if let Some(swap) = long_lived_swap_request(platform, &creds, &tokens.access_token) {
        let resp = fetch::send(&swap, &platform.id, None, ctx.timeout_ms())
            .await
            .map_err(|_| CallbackFailure::ExchangeFailed)?;
        let long = TokenSet::from_response(resp.status, &resp.body).map_err(|e| {
            log_failure(&platform.id, &link.id, "long_lived_swap", &e.to_string());
            CallbackFailure::ExchangeFailed
        })?;
        tokens.access_token = long.access_token;
        tokens.expires_in = long.expires_in;
    }

    let requested = link.scope_list();
    let missing = missing_scopes(&requested, tokens.scope.as_deref());
    if !missing.is_empty() {
        log_failure(&platform.id, &link.id, "scopes", &format!("declined: {}", missing.join(" ")));
        return Err(CallbackFailure::MissingScopes);
    }

    let id_req = identity_request(platform, &tokens.access_token);
    let id_resp =
        fetch::send(&id_req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| CallbackFailure::ProfileFailed)?;
    let identity = parse_identity(&platform.identity, id_resp.status, &id_resp.body).ok_or_else(|| {
        log_failure(&platform.id, &link.id, "identity", &format!("status {}", id_resp.status));
        CallbackFailure::ProfileFailed
    })?;

    let keyring = ctx.keyring().map_err(|_| CallbackFailure::ServerError)?;
    let granted = tokens.scope.as_deref().map(parse_scopes).unwrap_or(requested);
    let write = ProfileWrite { link, identity: &identity, tokens: &tokens, scopes: &granted, platform };
    match upsert_profile(ctx, &keyring, &write).await {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(f)) => Err(f),
        Err(_) => Err(CallbackFailure::ServerError),
    }
}

fn log_failure(platform: &str, link_id: &str, step: &str, detail: &str) {
    console_log!(
        "{}",
        json!({"event": "connect_failed", "platform": platform, "link_id": link_id, "step": step, "detail": detail})
    );
}

struct ProfileWrite<'a> {
    link: &'a LinkRow,
    identity: &'a Identity,
    tokens: &'a TokenSet,
    scopes: &'a [String],
    platform: &'a Platform,
}

/// Inserts or updates the profile of this account for this app. The same account keeps its
/// profile id; a missing refresh token in the answer keeps the stored one.
async fn upsert_profile(
    ctx: &Ctx,
    keyring: &Keyring,
    w: &ProfileWrite<'_>,
) -> ApiResult<Result<(String, bool), CallbackFailure>> {
    let db = ctx.db()?;
    let (link, identity) = (w.link, w.identity);
    // Two callbacks for one account may race to insert; the loser retries as an update.
    for _ in 0..2 {
        let existing = store::find_account(&db, &link.app_id, &link.platform, &identity.platform_user_id).await?;
        if let Some(target) = &link.reconnect_profile_id {
            if existing.as_ref().map(|e| &e.id) != Some(target) {
                log_failure(&link.platform, &link.id, "reconnect", "a different account came back");
                return Ok(Err(CallbackFailure::ProfileFailed));
            }
        }
        let id = match &existing {
            Some(e) => e.id.clone(),
            None => new_id("prf_")?,
        };
        let access_enc = keyring.seal(&id, "access_token", w.tokens.access_token.secret()).or_500("seal")?;
        let refresh_enc =
            match (&w.tokens.refresh_token, existing.as_ref().and_then(|e| e.refresh_token_enc.as_deref())) {
                (Some(rt), _) => Some(keyring.seal(&id, "refresh_token", rt.secret()).or_500("seal")?),
                // Keep the stored one, moved under the current key so the row has one key id.
                (None, Some(old)) if Keyring::kid_of(old) == Some(keyring.current_kid()) => Some(old.to_string()),
                (None, Some(old)) => {
                    let plain = keyring.open(&id, "refresh_token", old).or_500("open refresh token")?;
                    Some(keyring.seal(&id, "refresh_token", &plain).or_500("seal")?)
                }
                (None, None) => None,
            };
        let now = ctx.now();
        let expires_at = w.tokens.expires_in.or(w.platform.default_access_ttl_secs).map(|s| now + s);
        let refresh_expires_at = w.tokens.refresh_expires_in.map(|s| now + s);
        let next = next_refresh_at(w.platform.refresh, now, expires_at);
        let scopes = serde_json::to_string(w.scopes).or_500("scopes json")?;
        let stmt =
            if existing.is_some() {
                query!(
                    &db,
                    "UPDATE profiles SET username = ?2, display_name = ?3, avatar_url = ?4, \
                 external_user_id = COALESCE(?5, external_user_id), metadata = COALESCE(?6, metadata), \
                 status = 'active', disconnect_reason = NULL, scopes = ?7, access_token_enc = ?8, \
                 refresh_token_enc = ?9, token_kid = ?10, access_token_expires_at = ?11, \
                 refresh_token_expires_at = COALESCE(?12, refresh_token_expires_at), token_issued_at = ?13, \
                 next_refresh_at = ?14, refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, \
                 updated_at = ?13 WHERE id = ?1",
                    id,
                    identity.username,
                    identity.display_name,
                    identity.avatar_url,
                    link.external_user_id,
                    link.metadata,
                    scopes,
                    access_enc,
                    refresh_enc,
                    keyring.current_kid(),
                    expires_at,
                    refresh_expires_at,
                    now,
                    next
                )
            } else {
                query!(
                &db,
                "INSERT INTO profiles (id, app_id, platform, platform_user_id, username, display_name, avatar_url, \
                 external_user_id, metadata, status, scopes, access_token_enc, refresh_token_enc, token_kid, \
                 access_token_expires_at, refresh_token_expires_at, token_issued_at, next_refresh_at, \
                 created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'active', ?10, ?11, ?12, ?13, \
                 ?14, ?15, ?16, ?17, ?16, ?16)",
                id, link.app_id, link.platform, identity.platform_user_id, identity.username,
                identity.display_name, identity.avatar_url, link.external_user_id, link.metadata, scopes,
                access_enc, refresh_enc, keyring.current_kid(), expires_at, refresh_expires_at, now, next
            )
            }
            .or_500("prepare upsert profile")?;
        match stmt.run().await {
            Ok(_) => return Ok(Ok((id, existing.is_none()))),
            Err(e) if existing.is_none() && e.to_string().contains("UNIQUE") => continue,
            Err(e) => return Err(e).or_500("upsert profile"),
        }
    }
    Ok(Err(CallbackFailure::ServerError))
}
