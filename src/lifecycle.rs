//! The token lifecycle (api.md section 7): refresh under a D1 lease, classify failures,
//! tell the app; plus the cron job and the queue consumer that drive it.

use crate::ctx::{Ctx, OrInternal};
use crate::fetch;
use crate::store;
use crate::store::Stmt;
use crate::webhooks;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::oauth::{parse_scopes, parse_token_answer};
use connect_links_core::platforms::{Platform, RefreshKind};
use connect_links_core::random::{new_id, unit};
use connect_links_core::refresh::{backoff, classify, refresh_request, DisconnectReason, Failure};
use connect_links_core::refresh_policy::{next_refresh_at, EXPIRING_NOTICE};
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{console_error, console_log, query};

/// How long a lease is held at most: past two platform timeouts (the call and its
/// webhook), so it never runs out under a live refresh; a worker that dies mid-refresh
/// frees it by expiry.
fn lease_secs(ctx: &Ctx) -> i64 {
    2 * (ctx.timeout_ms() as i64 / 1000) + 30
}
/// Self-exchange tokens are never exchanged before this age.
const SELF_EXCHANGE_MIN_AGE: i64 = 24 * 3600;
/// Refreshes run this many at a time (Workers allow six open connections).
const CONCURRENCY: usize = 6;

/// What asked for a refresh. `since_ms` is when the asker started: a refresh completed after
/// that already serves it, so it makes no second call.
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    /// The cron job: only when due.
    Cron,
    /// A queue message, enqueued at `since_ms`.
    Queue { since_ms: i64 },
    /// `POST /v1/profiles/{id}/refresh` or the access-token endpoint, started at `since_ms`.
    OnDemand { since_ms: i64 },
}

/// How a refresh attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// New tokens are stored.
    Refreshed,
    /// Another refresh holds the lease.
    InFlight,
    /// Nothing to do: not due, refreshed since the trigger started, or not active.
    NotNeeded,
    /// A self-exchange token younger than 24 hours; rescheduled.
    TooYoung,
    /// The platform has no refresh; expiry handling ran instead.
    NoRefresh,
    /// The refresh failed.
    Failed(Failure),
}

/// The profile columns a lease returns.
#[derive(Deserialize)]
struct Leased {
    id: String,
    app_id: String,
    platform: String,
    access_token_enc: String,
    refresh_token_enc: Option<String>,
    access_token_expires_at: Option<i64>,
    token_issued_at: i64,
    refresh_failures: i64,
    refresh_failing: i64,
    expiring_notified: i64,
}

/// Refreshes one profile under the D1 lease: one winner across crons, queue redeliveries
/// and on-demand calls; the new tokens are written before anything else happens.
pub async fn refresh_one(ctx: &Ctx, profile_id: &str, trigger: Trigger) -> ApiResult<Outcome> {
    let db = ctx.db()?;
    let lease = new_id("lse_")?;
    let (due_only, since_ms) = match trigger {
        Trigger::Cron => (1, ctx.started_ms),
        Trigger::Queue { since_ms } | Trigger::OnDemand { since_ms } => (0, since_ms),
    };
    let leased = query!(
        &db,
        "UPDATE profiles SET refresh_lease_id = ?2, refresh_lease_until = ?3 + ?4 \
         WHERE id = ?1 AND status = 'active' \
           AND (refresh_lease_until IS NULL OR refresh_lease_until < ?3) \
           AND (?5 = 0 OR next_refresh_at <= ?3) \
           AND (last_refresh_ms IS NULL OR last_refresh_ms < ?6) \
         RETURNING id, app_id, platform, access_token_enc, refresh_token_enc, access_token_expires_at, \
           token_issued_at, refresh_failures, refresh_failing, expiring_notified",
        profile_id,
        lease,
        ctx.now(),
        lease_secs(ctx),
        due_only,
        since_ms
    )
    .one::<Leased>("lease")
    .await?;
    let Some(row) = leased else {
        return why_not(ctx, profile_id).await;
    };
    let result = refresh_leased(ctx, &row, &lease).await;
    if result.is_err() {
        // Free the lease so the next trigger can try; the error itself is already logged.
        let _ = release(ctx, &row.id, &lease, None).await;
    }
    result
}

/// Why no lease was taken: in flight, or nothing to do.
async fn why_not(ctx: &Ctx, id: &str) -> ApiResult<Outcome> {
    let db = ctx.db()?;
    let held = query!(&db, "SELECT id FROM profiles WHERE id = ?1 AND refresh_lease_until >= ?2", id, ctx.now())
        .one::<serde_json::Value>("lease check")
        .await?;
    Ok(if held.is_some() { Outcome::InFlight } else { Outcome::NotNeeded })
}

/// Frees the lease, optionally moving `next_refresh_at`.
async fn release(ctx: &Ctx, id: &str, lease: &str, next: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    query!(
        &db,
        "UPDATE profiles SET refresh_lease_id = NULL, refresh_lease_until = NULL, \
         next_refresh_at = COALESCE(?3, next_refresh_at) WHERE id = ?1 AND refresh_lease_id = ?2",
        id,
        lease,
        next
    )
    .exec("release")
    .await?;
    Ok(())
}

async fn refresh_leased(ctx: &Ctx, row: &Leased, lease: &str) -> ApiResult<Outcome> {
    let platform = ctx.catalog.get(&row.platform).ok_or_else(|| {
        console_error!(
            "{}",
            json!({"event": "refresh_skipped", "profile_id": row.id, "why": "platform not in catalog"})
        );
        connect_links_core::error::ApiError::internal()
    })?;
    if platform.refresh == RefreshKind::SelfExchange && ctx.now() - row.token_issued_at < SELF_EXCHANGE_MIN_AGE {
        release(ctx, &row.id, lease, Some(row.token_issued_at + SELF_EXCHANGE_MIN_AGE)).await?;
        return Ok(Outcome::TooYoung);
    }
    let keyring = ctx.keyring()?;
    let access = keyring.open(&row.id, "access_token", &row.access_token_enc).or_500("open access token")?;
    let refresh = match &row.refresh_token_enc {
        Some(enc) => Some(keyring.open(&row.id, "refresh_token", enc).or_500("open refresh token")?),
        None => None,
    };
    let creds = ctx.credentials(platform);
    let req = creds.as_ref().and_then(|c| refresh_request(platform, c, &access, refresh.as_deref()));
    let Some(req) = req else {
        if creds.is_none() {
            // Credentials removed: nothing can be done now; look again in an hour.
            release(ctx, &row.id, lease, Some(ctx.now() + 3600)).await?;
            return Ok(Outcome::Failed(Failure::Transient));
        }
        return expiry_without_refresh(ctx, row, lease).await;
    };
    let answer = fetch::send(&req, &platform.id, Some(&row.id), ctx.timeout_ms()).await;
    let failure = match &answer {
        Err(_) => Failure::Transient,
        Ok(resp) => match parse_answer(platform, resp.status, &resp.body) {
            Ok(tokens) => {
                store_refreshed(ctx, &keyring, row, lease, platform, &tokens, refresh.as_deref()).await?;
                if row.refresh_failing != 0 {
                    emit_profile(ctx, &row.app_id, &row.id, types::RECOVERED).await;
                }
                return Ok(Outcome::Refreshed);
            }
            Err(()) => classify(platform, resp.status, &resp.body),
        },
    };
    match failure {
        Failure::Terminal(reason) => disconnect(ctx, row, Some(lease), reason).await?,
        Failure::Transient => {
            let failures = row.refresh_failures + 1;
            let next = ctx.now() + backoff(failures as u32, unit());
            let db = ctx.db()?;
            query!(
                &db,
                "UPDATE profiles SET refresh_failures = ?3, refresh_failing = 1, next_refresh_at = ?4, \
                 refresh_lease_id = NULL, refresh_lease_until = NULL, updated_at = ?5 \
                 WHERE id = ?1 AND refresh_lease_id = ?2",
                row.id,
                lease,
                failures,
                next,
                ctx.now()
            )
            .exec("refresh failure")
            .await?;
            if row.refresh_failing == 0 {
                emit_profile(ctx, &row.app_id, &row.id, types::REFRESH_FAILED).await;
            }
        }
    }
    log_outcome(&row.id, &platform.id, failure);
    Ok(Outcome::Failed(failure))
}

fn parse_answer(p: &Platform, status: u16, body: &[u8]) -> Result<TokenSet, ()> {
    let parsed = if p.refresh == RefreshKind::SelfExchange {
        TokenSet::from_response(status, body)
    } else {
        parse_token_answer(p, status, body)
    };
    parsed.map_err(|_| ())
}

fn log_outcome(profile_id: &str, platform: &str, failure: Failure) {
    let kind = match failure {
        Failure::Terminal(r) => r.as_str(),
        Failure::Transient => "transient",
    };
    console_log!(
        "{}",
        json!({"event": "refresh_failed", "profile_id": profile_id, "platform": platform, "failure": kind})
    );
}

/// Writes the new tokens, guarded by the lease. A rotated refresh token replaces the stored
/// one; an answer without one keeps it (re-sealed, so the row stays under one key id).
async fn store_refreshed(
    ctx: &Ctx,
    keyring: &Keyring,
    row: &Leased,
    lease: &str,
    platform: &Platform,
    tokens: &TokenSet,
    old_refresh: Option<&str>,
) -> ApiResult<()> {
    let access_enc = keyring.seal(&row.id, "access_token", tokens.access_token.secret()).or_500("seal")?;
    let refresh_plain = tokens.refresh_token.as_ref().map(|r| r.secret()).or(old_refresh);
    let refresh_enc = match refresh_plain {
        Some(rt) => Some(keyring.seal(&row.id, "refresh_token", rt).or_500("seal")?),
        None => None,
    };
    let now = ctx.now();
    let expires_at = tokens.expires_in.or(platform.default_access_ttl_secs).map(|s| now + s);
    let next = next_refresh_at(platform.refresh, now, expires_at);
    let scopes = match &tokens.scope {
        Some(s) => Some(serde_json::to_string(&parse_scopes(s)).or_500("scopes json")?),
        None => None,
    };
    let db = ctx.db()?;
    let written = query!(
        &db,
        "UPDATE profiles SET access_token_enc = ?3, refresh_token_enc = ?4, token_kid = ?5, \
         access_token_expires_at = ?6, refresh_token_expires_at = COALESCE(?7, refresh_token_expires_at), \
         scopes = COALESCE(?8, scopes), token_issued_at = ?9, last_refreshed_at = ?9, last_refresh_ms = ?10, \
         next_refresh_at = ?11, refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, \
         refresh_lease_id = NULL, refresh_lease_until = NULL, updated_at = ?9 \
         WHERE id = ?1 AND refresh_lease_id = ?2 RETURNING id",
        row.id,
        lease,
        access_enc,
        refresh_enc,
        keyring.current_kid(),
        expires_at,
        tokens.refresh_expires_in.map(|s| now + s),
        scopes,
        now,
        crate::ctx::now_ms(),
        next
    )
    .one::<serde_json::Value>("store refreshed")
    .await?;
    if written.is_none() {
        // Only if the lease ran out and another refresh took over: its write is the one that
        // counts, and this refresh must not report success.
        console_error!("{}", json!({"event": "refresh_lease_lost", "profile_id": row.id}));
        return Err(connect_links_core::error::ApiError::internal());
    }
    Ok(())
}

/// Platforms without refresh: `profile.expiring` once, seven days ahead; at expiry
/// `disconnected` / `token_expired`.
async fn expiry_without_refresh(ctx: &Ctx, row: &Leased, lease: &str) -> ApiResult<Outcome> {
    match row.access_token_expires_at {
        Some(exp) if ctx.now() >= exp => disconnect(ctx, row, Some(lease), DisconnectReason::TokenExpired).await?,
        // Asked early (a forced refresh): nothing to tell yet.
        Some(exp) if exp - ctx.now() > EXPIRING_NOTICE => release(ctx, &row.id, lease, None).await?,
        Some(exp) => {
            let db = ctx.db()?;
            query!(
                &db,
                "UPDATE profiles SET expiring_notified = 1, next_refresh_at = ?3, refresh_lease_id = NULL, \
                 refresh_lease_until = NULL WHERE id = ?1 AND refresh_lease_id = ?2",
                row.id,
                lease,
                exp
            )
            .exec("expiring")
            .await?;
            if row.expiring_notified == 0 {
                emit_profile(ctx, &row.app_id, &row.id, types::EXPIRING).await;
            }
        }
        None => release(ctx, &row.id, lease, None).await?,
    }
    Ok(Outcome::NoRefresh)
}

/// Marks the profile disconnected (once) and tells the app.
async fn disconnect(ctx: &Ctx, row: &Leased, lease: Option<&str>, reason: DisconnectReason) -> ApiResult<()> {
    let db = ctx.db()?;
    let changed = query!(
        &db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?3, next_refresh_at = NULL, \
         refresh_lease_id = NULL, refresh_lease_until = NULL, updated_at = ?4 \
         WHERE id = ?1 AND status = 'active' AND (?2 IS NULL OR refresh_lease_id = ?2) RETURNING id",
        row.id,
        lease,
        reason.as_str(),
        ctx.now()
    )
    .one::<serde_json::Value>("disconnect")
    .await?;
    if changed.is_some() {
        emit_profile(ctx, &row.app_id, &row.id, types::DISCONNECTED).await;
    }
    Ok(())
}

/// Sends a profile event with the profile's current view; a failure is logged, never
/// raised (the outbox retry covers delivery, and the refresh itself already happened).
pub async fn emit_profile(ctx: &Ctx, app_id: &str, profile_id: &str, kind: &str) {
    let result = async {
        let db = ctx.db()?;
        if let Some(p) = store::get_profile(&db, app_id, profile_id).await? {
            webhooks::emit(ctx, app_id, kind, p.view()).await?;
        }
        Ok::<(), connect_links_core::error::ApiError>(())
    }
    .await;
    if result.is_err() {
        console_error!("{}", json!({"event": "webhook_emit_failed", "profile_id": profile_id, "type": kind}));
    }
}

/// A refresh job on `REFRESH_QUEUE`.
#[derive(Serialize, Deserialize)]
pub struct RefreshMessage {
    /// The profile to refresh.
    pub profile_id: String,
    /// When the cron enqueued it (ms): a refresh completed later makes this one moot.
    pub enqueued_ms: i64,
}

/// The lifecycle job run by the cron trigger.
pub async fn run_cron(ctx: &Ctx) -> ApiResult<()> {
    let batch = ctx.env.var("REFRESH_BATCH_SIZE").ok().and_then(|v| v.to_string().parse::<u32>().ok()).unwrap_or(200);
    let due = store::due_profiles(&ctx.db()?, ctx.now(), batch).await?;
    match ctx.env.queue("REFRESH_QUEUE") {
        Ok(queue) => {
            for chunk in due.chunks(100) {
                let messages: Vec<RefreshMessage> = chunk
                    .iter()
                    .map(|id| RefreshMessage { profile_id: id.clone(), enqueued_ms: ctx.started_ms })
                    .collect();
                queue.send_batch(messages).await.or_500("enqueue refresh")?;
                // Fence: not selected again for ten minutes, unless the consumer sets a new time.
                store::fence_due(&ctx.db()?, chunk, ctx.now(), ctx.now() + 600).await?;
            }
        }
        Err(_) => {
            let results: Vec<_> = stream::iter(due.iter())
                .map(|id| refresh_one(ctx, id, Trigger::Cron))
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let failed = results.iter().filter(|r| r.is_err()).count();
            console_log!("{}", json!({"event": "cron_refresh", "due": due.len(), "errors": failed}));
        }
    }
    let _ = webhooks::deliver_due(ctx, 100).await;
    housekeeping(ctx).await
}

/// Consumed states older than a day go; a batch of tokens and webhook secrets still under a
/// non-current key is re-encrypted with the current one.
async fn housekeeping(ctx: &Ctx) -> ApiResult<()> {
    let db = ctx.db()?;
    store::delete_old_states(&db, ctx.now() - 24 * 3600).await?;
    let keyring = ctx.keyring()?;
    let kid = keyring.current_kid().to_string();
    for row in store::profiles_under_old_key(&db, &kid, 50).await? {
        let reseal = |field: &str, enc: &str| -> ApiResult<String> {
            let plain = keyring.open(&row.id, field, enc).or_500("open for re-encryption")?;
            keyring.seal(&row.id, field, &plain).or_500("seal")
        };
        let access = reseal("access_token", &row.access_token_enc);
        let refresh = row.refresh_token_enc.as_deref().map(|e| reseal("refresh_token", e)).transpose();
        match (access, refresh) {
            (Ok(a), Ok(r)) => store::rewrap_profile(&db, &row, &a, r.as_deref(), &kid).await?,
            _ => console_error!("{}", json!({"event": "reencrypt_failed", "profile_id": row.id})),
        }
    }
    for app in store::apps_under_old_key(&db, &kid, 50).await? {
        match keyring
            .open(&app.id, "webhook_secret", &app.webhook_secret_enc)
            .and_then(|p| keyring.seal(&app.id, "webhook_secret", &p))
        {
            Ok(enc) => store::rewrap_app_secret(&db, &app.id, &app.webhook_secret_enc, &enc).await?,
            Err(_) => console_error!("{}", json!({"event": "reencrypt_failed", "app_id": app.id})),
        }
    }
    Ok(())
}
