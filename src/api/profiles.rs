//! Profiles of an app: list, read, delete (with revocation at the platform).

use crate::api::admin::page_cursor;
use crate::ctx::{Ctx, OrInternal};
use crate::jobs::lifecycle::{refresh_one, Outcome, Trigger};
use crate::respond;
use crate::revoke::{revoke, Grant};
use crate::store::{self, ProfileFilter, ProfileToken};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{decode_cursor, encode_cursor, GrantRow, ProfileRow, ProfileStatus};
use connect_links_core::refresh::Failure;
use connect_links_core::refresh_policy::refresh_on_read;
use connect_links_core::time::rfc3339_opt;
use connect_links_core::webhook::types;
use futures_util::future::{select, Either};
use serde_json::json;
use std::time::Duration;
use worker::{query, Delay, Response};

/// `GET /v1/profiles?platform&status&external_user_id&limit&cursor`.
pub async fn list(ctx: &Ctx, app_id: &str, q: &[(String, String)]) -> ApiResult<Response> {
    let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = connect_links_core::input::parse_limit(param("limit").as_deref())?;
    let after = match param("cursor") {
        Some(c) => Some(decode_cursor(&c).ok_or_else(|| ApiError::invalid("cursor is not valid"))?),
        None => None,
    };
    let status = param("status");
    if status.as_deref().is_some_and(|s| !["pending", "active", "disconnected"].contains(&s)) {
        return Err(ApiError::invalid("status must be pending, active or disconnected"));
    }
    let filter = ProfileFilter { platform: param("platform"), status, external_user_id: param("external_user_id") };
    let mut rows = store::list_profiles(&ctx.db()?, app_id, &filter, after, limit).await?;
    let next = page_cursor(&mut rows, limit, |p| encode_cursor(p.created_at, &p.id));
    respond::json(200, &json!({"data": rows.iter().map(ProfileRow::view).collect::<Vec<_>>(), "next_cursor": next}))
}

/// `GET /v1/profiles/{id}`.
pub async fn get(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let p = store::get_profile(&ctx.db()?, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    respond::json(200, &p.view())
}

/// `DELETE /v1/profiles/{id}`: delete, then revoke at the platform where it can be. The
/// tokens go whatever the platform answers: the app asked for them to be gone. While other
/// profiles use the same grant (the other Pages of one login), only this profile and its
/// own token go; the last one takes the grant with it, which is then revoked, except when
/// another grant (any app) holds the same login: a revoke can end every grant of it
/// (Facebook), and deleting in one app never breaks another. Deleting first makes two
/// racing deletes of one login (in two apps) end with exactly one revocation, by whichever
/// deletes last.
pub async fn delete(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let profile = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    let delete = store::delete_profile_stmt(&db, app_id, id)?;
    // After the delete in one batch: two racing deletes send one `profile.deleted`.
    let event = crate::jobs::webhooks::event_after(ctx, &db, app_id, types::DELETED, profile.view())?;
    // Delivered events keep no copy of the profile's data once it is deleted (undelivered
    // ones, `profile.deleted` included, go when they are delivered).
    let forget = query!(
        &db,
        "DELETE FROM webhook_outbox WHERE app_id = ?1 AND next_attempt_at IS NULL AND instr(body, ?2) > 0",
        app_id,
        id
    )
    .or_500("prepare outbox forget")?;
    let grant_ids = serde_json::to_string(&[&profile.grant_id]).or_500("ids json")?;
    let orphan = store::orphan_grants_stmt(&db, &grant_ids)?;
    let results =
        crate::jobs::webhooks::commit(ctx, &db, vec![delete, event.stmt, forget, orphan], &[&event.id]).await?;
    for (grant, cols) in store::deleted_grants(&results, 3)? {
        revoke_grant(ctx, &grant, &cols).await;
    }
    respond::no_content()
}

/// Revokes a stored grant at the platform where allowed (best effort, see `revoke`).
pub async fn revoke_grant(ctx: &Ctx, grant: &GrantRow, cols: &store::TokenColumns) {
    let Some(platform) = ctx.platform_at(&cols.platform, grant.instance.as_deref()) else { return };
    let platform = &platform;
    let Ok(keyring) = ctx.keyring() else { return };
    let Some((access, refresh)) = cols.open(&keyring) else { return };
    let g = Grant {
        platform,
        access: access.secret(),
        refresh: refresh.as_ref().map(|r| r.secret()),
        account: Some(&grant.platform_user_id),
        grant_id: Some(&grant.id),
    };
    if revoke(ctx, &g, true).await.is_err() {
        worker::console_error!("{}", json!({"event": "revoke_failed", "grant_id": grant.id}));
    }
}

/// Refuses a profile that is not active: pending (waiting for its claim) or disconnected.
pub(crate) fn require_active(p: &ProfileRow) -> ApiResult<()> {
    match p.status {
        ProfileStatus::Active => Ok(()),
        ProfileStatus::Pending => Err(ApiError::new(
            ErrorCode::Conflict,
            "the profile waits for its claim (POST /v1/connect-links/{id}/claim)",
        )),
        _ => Err(ApiError::new(ErrorCode::Conflict, "the profile is disconnected; it needs a reconnect link")),
    }
}

/// How long `GET /access-token` waits on a refresh while the current token is still valid;
/// past it, the current token is answered and the refresh finishes in the background.
const ACCESS_TOKEN_MAX_WAIT_MS: u64 = 2_000;

/// Runs a refresh that outlives the request (`wait_until`): if the client goes away, or
/// the answer goes out first (`max_wait_ms`), the platform may already have rotated the
/// refresh token, and only a finished write keeps it. Past `max_wait_ms` the outcome is
/// `InFlight`.
pub(crate) async fn refresh_detached(ctx: &Ctx, grant_id: &str, max_wait_ms: Option<u64>) -> ApiResult<Outcome> {
    let job_ctx = ctx.detached();
    let id = grant_id.to_string();
    let since_ms = ctx.started_ms;
    let (tx, rx) = futures_channel::oneshot::channel();
    let job = async move {
        let result = refresh_one(&job_ctx, &id, Trigger::OnDemand { since_ms }).await;
        // The client may be gone; the refresh is stored all the same.
        let _ = tx.send(result);
    };
    ctx.after_answer(job).await;
    let outcome = async { rx.await.unwrap_or_else(|_| Err(ApiError::internal())) };
    match max_wait_ms {
        None => outcome.await,
        Some(ms) => match select(Box::pin(outcome), Box::pin(Delay::from(Duration::from_millis(ms)))).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Ok(Outcome::InFlight),
        },
    }
}

/// `POST /v1/profiles/{id}/refresh`: a forced refresh under the same lease as the cron.
/// 409 while another refresh is in flight; a refresh that completed after this call began
/// is taken as this call's result.
pub async fn refresh(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let p = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    require_active(&p)?;
    let outcome = refresh_detached(ctx, &p.grant_id, None).await?;
    outcome_error(outcome)?;
    let p = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    respond::json(200, &p.view())
}

/// Maps a refresh outcome to the API error it means, if any.
fn outcome_error(outcome: Outcome) -> ApiResult<()> {
    match outcome {
        Outcome::Refreshed | Outcome::NotNeeded => Ok(()),
        Outcome::InFlight => Err(ApiError::new(ErrorCode::Conflict, "a refresh of this profile is already in flight")),
        Outcome::TooYoung => {
            Err(ApiError::new(ErrorCode::Conflict, "this platform's token can be exchanged once it is 24 hours old"))
        }
        Outcome::NoRefresh => Err(ApiError::new(
            ErrorCode::Conflict,
            "this platform offers no refresh; the user reconnects before expiry",
        )),
        Outcome::Failed(Failure::Transient) => {
            Err(ApiError::upstream("the platform did not refresh the token; it will be retried"))
        }
        Outcome::TooLarge => {
            Err(ApiError::upstream("the platform sent an answer over 1 MiB; the refresh will be retried"))
        }
        Outcome::Failed(Failure::Terminal(_)) => {
            Err(ApiError::new(ErrorCode::Conflict, "the platform ended the grant; the profile is now disconnected"))
        }
        Outcome::LocalFailure => Err(ApiError::new(
            ErrorCode::Internal,
            "this deployment cannot refresh the profile now (platform configuration or token key missing)",
        )),
    }
}

/// `GET /v1/profiles/{id}/access-token`: refreshed first when it expires within 5 minutes.
pub async fn access_token(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let first = store::profile_token(&ctx.db()?, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    let (p, token) = usable_token(ctx, app_id, id, first).await?;
    respond::json(
        200,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_at": rfc3339_opt(p.access_token_expires_at),
            "scopes": p.view()["scopes"],
        }),
    )
}

/// An active profile of the app and the token it acts with (a Page's own, else its
/// grant's), from `first` (the profile's row and token envelope as just read), refreshed
/// first when it expires within 5 minutes. While the current token is still valid, a
/// refresh that fails for now or takes over 2 s does not stand in the way.
pub(crate) async fn usable_token(
    ctx: &Ctx,
    app_id: &str,
    id: &str,
    first: (ProfileRow, ProfileToken),
) -> ApiResult<(ProfileRow, String)> {
    let db = ctx.db()?;
    let (p, t) = first;
    require_active(&p)?;
    // In `on_demand` mode this is where short-lived tokens are refreshed at all; in
    // `proactive` mode the cron has usually been first.
    let refresh_first = ctx
        .catalog
        .get(&p.platform)
        .is_some_and(|pl| refresh_on_read(pl.refresh, ctx.now(), p.access_token_expires_at));
    let (p, t) = if refresh_first {
        let still_valid = p.access_token_expires_at.is_some_and(|e| e > ctx.now());
        let landed = match refresh_detached(ctx, &p.grant_id, still_valid.then_some(ACCESS_TOKEN_MAX_WAIT_MS)).await {
            // A token still valid for a few minutes is better than an error or a long wait.
            Ok(Outcome::Failed(Failure::Transient) | Outcome::TooLarge | Outcome::InFlight) | Err(_) if still_valid => {
                None
            }
            // Another read (or the cron) holds the lease: its token is the one to use, once it
            // lands. Concurrent first reads after an idle spell are the rule in on_demand mode.
            Ok(Outcome::InFlight) => wait_for_landing(ctx, app_id, id).await?,
            other => {
                outcome_error(other?)?;
                None
            }
        };
        // The wait's last read is current; otherwise read what the refresh left.
        let (p, t) = match landed {
            Some(row) => row,
            None => store::profile_token(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?,
        };
        require_active(&p)?;
        (p, t)
    } else {
        (p, t)
    };
    if p.access_token_expires_at.is_some_and(|e| e <= ctx.now()) {
        return Err(ApiError::new(ErrorCode::Conflict, "the access token has expired and cannot be refreshed now"));
    }
    let token = ctx.keyring()?.open(&t.bound_to, "access_token", &t.access_token_enc).or_500("open access token")?;
    Ok((p, token))
}

/// Waits (3 s at most) until the profile's access token is no longer expired, or the profile
/// no longer active: a refresh held by someone else is landing. Returns the last row read
/// (`None` when the profile is gone), for the caller to judge.
async fn wait_for_landing(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Option<(ProfileRow, ProfileToken)>> {
    let db = ctx.db()?;
    let mut last = None;
    for _ in 0..12 {
        Delay::from(Duration::from_millis(250)).await;
        let Some((p, t)) = store::profile_token(&db, app_id, id).await? else { return Ok(None) };
        let landed = p.status != ProfileStatus::Active || p.access_token_expires_at.is_none_or(|e| e > ctx.now());
        last = Some((p, t));
        if landed {
            break;
        }
    }
    Ok(last)
}
