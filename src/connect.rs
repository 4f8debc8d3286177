//! The connect flow after the consent screen: take the pending state exactly once, spend
//! the code, check scopes, fetch the identity, store encrypted tokens.

use crate::ctx::{Ctx, OrInternal};
use crate::fetch;
use crate::jobs::webhooks;
use crate::revoke::{revoke, Grant};
use crate::store::{self, LinkEnd};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::identity::{parse_identity, Identity};
use connect_links_core::model::{LinkRow, ProfileRow};
use connect_links_core::oauth::{
    clean_code, code_exchange_request, identity_request, long_lived_swap_request, missing_scopes, parse_scopes,
    parse_token_answer, ClientCredentials,
};
use connect_links_core::ownership::{new_connect_token, place, ExistingAccount, Placement, CLAIM_TTL_SECS};
use connect_links_core::platforms::Platform;
use connect_links_core::random::new_id;
use connect_links_core::refresh_policy::next_refresh_at;
use connect_links_core::secrets::ConnectToken;
use connect_links_core::state::{state_key, PendingAuth, VERIFIER_FIELD};
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

/// Looks up a state without consuming it, and opens its sealed verifier.
pub async fn peek_state(ctx: &Ctx, state: &str) -> ApiResult<Result<PendingAuth, StateProblem>> {
    let key = state_key(state);
    let raw = ctx.kv()?.get(&key).text().await.or_500("kv get state")?;
    let Some(mut pending) = raw.and_then(|r| serde_json::from_str::<PendingAuth>(&r).ok()) else {
        return Ok(Err(StateProblem::Unknown));
    };
    // A record whose verifier does not open (forged, or under a removed key) is no state.
    match ctx.keyring()?.open(&key, VERIFIER_FIELD, &pending.verifier) {
        Ok(v) => pending.verifier = v,
        Err(_) => return Ok(Err(StateProblem::Unknown)),
    }
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

/// How a successful connect ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The link completes and the app is told now (`"claim": "auto"` apps, app callbacks).
    Now,
    /// The link waits for the app's claim; a new profile stays `pending` until then.
    AwaitClaim,
}

/// A connect that succeeded.
pub struct Connected {
    /// The profile.
    pub profile_id: String,
    /// The one-time token for the claim, with [`Finish::AwaitClaim`].
    pub connect_token: Option<ConnectToken>,
}

/// Spends the code, stores the profile and ends the link, telling the app
/// (`profile.connected` / `profile.reconnected` with [`Finish::Now`], `connect_link.failed`).
/// A grant obtained by a connect that then fails is revoked where that ends no other grant.
pub async fn complete(
    ctx: &Ctx,
    pending: &PendingAuth,
    link: &LinkRow,
    code: &str,
    finish: Finish,
) -> Result<Connected, CallbackFailure> {
    match connect(ctx, pending, link, code, finish).await {
        Ok(c) => Ok(c),
        Err((failure, grant)) => {
            end_failed(ctx, link, failure, grant).await;
            Err(failure)
        }
    }
}

/// Ends a pending link in failure and tells the app (`connect_link.failed`), in one batch.
pub async fn fail_link(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure) {
    end_failed(ctx, link, failure, None).await
}

/// A grant a failed connect obtained, owned so it can be revoked after the answer.
struct FreshGrant {
    platform: Platform,
    access: String,
    refresh: Option<String>,
    /// The platform account, when the identity call told it.
    account: Option<String>,
}

/// Records the failure (link and event in one batch); then, after the answer (the browser
/// need not wait), revokes the fresh grant where that ends no other grant and makes the
/// event's first delivery attempt, in that order: once the attempt is made, the revocation is done.
async fn end_failed(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure, grant: Option<FreshGrant>) {
    let recorded = async {
        let db = ctx.db()?;
        let end = store::end_link_stmt(&db, &link.id, &LinkEnd::Failed(failure.as_str()), ctx.now(), false)?;
        let data = json!({"link_id": link.id, "platform": link.platform, "error": failure.as_str(), "external_user_id": link.external_user_id});
        let event = webhooks::event_after(ctx, &db, &link.app_id, types::LINK_FAILED, data)?;
        db.batch(vec![end, event.stmt]).await.or_500("end failed link")?;
        Ok::<String, ApiError>(event.id)
    }
    .await;
    if recorded.is_err() {
        log_failure(&link.platform, &link.id, "link", "the failure could not be recorded");
    }
    let job_ctx = ctx.detached();
    let link_id = link.id.clone();
    ctx.after_answer(async move {
        if let Some(g) = grant {
            let grant = Grant {
                platform: &g.platform,
                access: &g.access,
                refresh: g.refresh.as_deref(),
                account: g.account.as_deref(),
                profile_id: None,
            };
            if revoke(&job_ctx, &grant, false).await.is_err() {
                log_failure(&g.platform.id, &link_id, "revoke", "the fresh grant could not be revoked");
            }
        }
        if let Ok(event_id) = recorded {
            webhooks::deliver_ids(&job_ctx, &[event_id]).await;
        }
    })
    .await;
}

async fn connect(
    ctx: &Ctx,
    pending: &PendingAuth,
    link: &LinkRow,
    code: &str,
    finish: Finish,
) -> Result<Connected, (CallbackFailure, Option<FreshGrant>)> {
    let platform = ctx.catalog.get(&pending.platform).ok_or((CallbackFailure::ServerError, None))?;
    let creds = ctx.credentials(platform).ok_or((CallbackFailure::ServerError, None))?;
    let tokens = exchange(ctx, platform, &creds, pending, link, code).await.map_err(|f| (f, None))?;
    keep(ctx, platform, link, &tokens, finish).await.map_err(|(failure, account)| {
        // A storage error is ambiguous (the write may have landed and a stored profile may
        // hold this grant): no revocation then.
        if failure == CallbackFailure::ServerError {
            return (failure, None);
        }
        // The grant is ours and nobody will use it.
        let grant = FreshGrant {
            platform: platform.clone(),
            access: tokens.access_token.secret().to_string(),
            refresh: tokens.refresh_token.as_ref().map(|r| r.secret().to_string()),
            account,
        };
        (failure, Some(grant))
    })
}

/// The code exchange (and Meta's long-lived swap).
async fn exchange(
    ctx: &Ctx,
    platform: &Platform,
    creds: &ClientCredentials,
    pending: &PendingAuth,
    link: &LinkRow,
    code: &str,
) -> Result<TokenSet, CallbackFailure> {
    let code = clean_code(platform, code);
    let req = code_exchange_request(platform, creds, &code, &pending.redirect_uri, &pending.verifier());
    let resp =
        fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| CallbackFailure::ExchangeFailed)?;
    let mut tokens = parse_token_answer(platform, resp.status, &resp.body).map_err(|e| {
        log_failure(&platform.id, &link.id, "exchange", &e.to_string());
        CallbackFailure::ExchangeFailed
    })?;
    // Meta: swap the short-lived token for a long-lived one now, so the stored expiry is long.
    if let Some(swap) = long_lived_swap_request(platform, creds, &tokens.access_token) {
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
    Ok(tokens)
}

/// Checks scopes, fetches the identity and stores the profile. A failure comes with the
/// platform account when it is known (it decides whether the grant may be revoked).
async fn keep(
    ctx: &Ctx,
    platform: &Platform,
    link: &LinkRow,
    tokens: &TokenSet,
    finish: Finish,
) -> Result<Connected, (CallbackFailure, Option<String>)> {
    let requested = link.scope_list();
    let missing = missing_scopes(&requested, tokens.scope.as_deref());
    if !missing.is_empty() {
        log_failure(&platform.id, &link.id, "scopes", &format!("declined: {}", missing.join(" ")));
        return Err((CallbackFailure::MissingScopes, None));
    }
    let id_req = identity_request(platform, &tokens.access_token);
    let id_resp = fetch::send(&id_req, &platform.id, None, ctx.timeout_ms())
        .await
        .map_err(|_| (CallbackFailure::ProfileFailed, None))?;
    let identity = parse_identity(&platform.identity, id_resp.status, &id_resp.body).ok_or_else(|| {
        log_failure(&platform.id, &link.id, "identity", &format!("status {}", id_resp.status));
        (CallbackFailure::ProfileFailed, None)
    })?;
    let account = || Some(identity.platform_user_id.clone());
    let keyring = ctx.keyring().map_err(|_| (CallbackFailure::ServerError, account()))?;
    let granted = tokens.scope.as_deref().map(parse_scopes).unwrap_or(requested);
    let write = ProfileWrite { link, identity: &identity, tokens, scopes: &granted, platform };
    match store_profile(ctx, &keyring, &write, finish).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(f)) => Err((f, account())),
        Err(_) => Err((CallbackFailure::ServerError, None)),
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

/// Stores the profile of this account for this app and ends the link, in one batch (with
/// the event, when the link completes now). The same account keeps its profile id; its
/// owner never changes (see `ownership::place`); a missing refresh token in the answer keeps
/// the stored one; any refresh lease is cleared, so a refresh in flight with the old grant
/// can neither overwrite the new tokens nor disconnect the profile.
async fn store_profile(
    ctx: &Ctx,
    keyring: &Keyring,
    w: &ProfileWrite<'_>,
    finish: Finish,
) -> ApiResult<Result<Connected, CallbackFailure>> {
    let db = ctx.db()?;
    let (link, identity) = (w.link, w.identity);
    // The write is guarded by what was read; a concurrent change (a racing callback, a claim)
    // makes it a no-op, and the loop reads again.
    for _ in 0..3 {
        let existing = store::find_account(&db, &link.app_id, &link.platform, &identity.platform_user_id).await?;
        let seen = existing.as_ref().map(|(p, _)| ExistingAccount {
            id: &p.id,
            external_user_id: p.external_user_id.as_deref(),
            pending: p.status == "pending",
        });
        let (id, take_over) =
            match place(seen.as_ref(), link.external_user_id.as_deref(), link.reconnect_profile_id.as_deref()) {
                Placement::New => (new_id("prf_")?, false),
                Placement::Update(id) => (id, false),
                Placement::TakeOverPending(id) => (id, true),
                Placement::ConnectedElsewhere => {
                    log_failure(&link.platform, &link.id, "owner", "the account is connected by another user");
                    return Ok(Err(CallbackFailure::AccountConnectedElsewhere));
                }
                Placement::WrongAccount => {
                    log_failure(&link.platform, &link.id, "reconnect", "a different account came back");
                    return Ok(Err(CallbackFailure::ProfileFailed));
                }
            };
        let old = existing.as_ref().map(|(p, _)| p);
        let was_pending = old.is_none_or(|p| p.status == "pending");
        let (status, claim_link) = match finish {
            Finish::AwaitClaim if was_pending => ("pending", Some(link.id.as_str())),
            _ => ("active", None),
        };
        let access_enc = keyring.seal(&id, "access_token", w.tokens.access_token.secret()).or_500("seal")?;
        let stored_refresh = existing.as_ref().and_then(|(_, t)| t.refresh_token_enc.as_deref());
        let refresh_enc = match (&w.tokens.refresh_token, stored_refresh) {
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
        let upsert = match old {
            Some(old) => query!(
                &db,
                "UPDATE profiles SET username = ?2, display_name = ?3, avatar_url = ?4, \
                 external_user_id = CASE WHEN ?15 THEN ?5 ELSE external_user_id END, \
                 metadata = CASE WHEN ?15 THEN ?6 ELSE COALESCE(?6, metadata) END, \
                 status = ?16, claim_link_id = ?17, disconnect_reason = NULL, scopes = ?7, access_token_enc = ?8, \
                 refresh_token_enc = ?9, token_kid = ?10, access_token_expires_at = ?11, \
                 refresh_token_expires_at = COALESCE(?12, refresh_token_expires_at), token_issued_at = ?13, \
                 next_refresh_at = ?14, refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, \
                 refresh_lease_id = NULL, refresh_lease_until = NULL, last_refresh_ms = ?20, updated_at = ?13, \
                 reencrypt_failed_at = NULL \
                 WHERE id = ?1 AND external_user_id IS ?18 AND status = ?19",
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
                next,
                take_over as i32,
                status,
                claim_link,
                old.external_user_id,
                old.status,
                crate::ctx::now_ms()
            ),
            None => query!(
                &db,
                "INSERT INTO profiles (id, app_id, platform, platform_user_id, username, display_name, avatar_url, \
                 external_user_id, metadata, status, scopes, access_token_enc, refresh_token_enc, token_kid, \
                 access_token_expires_at, refresh_token_expires_at, token_issued_at, next_refresh_at, \
                 created_at, updated_at, claim_link_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?18, ?10, ?11, \
                 ?12, ?13, ?14, ?15, ?16, ?17, ?16, ?16, ?19)",
                id,
                link.app_id,
                link.platform,
                identity.platform_user_id,
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
                next,
                status,
                claim_link
            ),
        }
        .or_500("prepare upsert profile")?;

        // A never-claimed profile is new to whoever claims it.
        let kind = if was_pending { types::CONNECTED } else { types::RECONNECTED };
        let token = match finish {
            Finish::Now => None,
            Finish::AwaitClaim => Some(new_connect_token()?),
        };
        let end = match &token {
            None => LinkEnd::Completed(&id),
            Some((_, hash)) => {
                LinkEnd::AwaitingClaim { profile_id: &id, token_hash: hash, until: now + CLAIM_TTL_SECS, event: kind }
            }
        };
        let mut stmts = vec![upsert, store::end_link_stmt(&db, &link.id, &end, now, true)?];
        let mut events = Vec::new();
        if finish == Finish::Now {
            let after = ProfileRow {
                id: id.clone(),
                app_id: link.app_id.clone(),
                platform: link.platform.clone(),
                platform_user_id: identity.platform_user_id.clone(),
                username: identity.username.clone(),
                display_name: identity.display_name.clone(),
                avatar_url: identity.avatar_url.clone(),
                external_user_id: match old {
                    Some(o) if !take_over => o.external_user_id.clone(),
                    _ => link.external_user_id.clone(),
                },
                metadata: match old {
                    Some(o) if !take_over => link.metadata.clone().or_else(|| o.metadata.clone()),
                    _ => link.metadata.clone(),
                },
                status: status.to_string(),
                disconnect_reason: None,
                scopes: scopes.clone(),
                access_token_expires_at: expires_at,
                last_refreshed_at: old.and_then(|o| o.last_refreshed_at),
                created_at: old.map_or(now, |o| o.created_at),
                updated_at: now,
                claim_link_id: None,
            };
            let event = webhooks::event_after(ctx, &db, &link.app_id, kind, after.view())?;
            stmts.push(event.stmt);
            events.push(event.id);
        }
        match db.batch(stmts).await {
            Ok(results) => {
                if store::returned_rows(&results, 1) {
                    webhooks::deliver_now(ctx, &events.iter().map(String::as_str).collect::<Vec<_>>()).await;
                    return Ok(Ok(Connected { profile_id: id, connect_token: token.map(|(t, _)| t) }));
                }
            }
            // Two callbacks for one new account raced to insert: read again and update.
            Err(e) if old.is_none() && e.to_string().contains("UNIQUE") => {}
            Err(e) => return Err(e).or_500("store profile"),
        }
    }
    Ok(Err(CallbackFailure::ServerError))
}
