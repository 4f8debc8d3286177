//! Using a grant's token: an active profile's token, refreshed first when it runs out (the
//! refresh outlives the request, and a refresh held by someone else is waited for), and what
//! each refresh outcome means to the caller. For the access-token and refresh routes and the
//! proxy.

use super::refresh::{refresh_one, Outcome, Trigger};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store::{self, ProfileToken};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{ProfileRow, ProfileStatus};
use connect_links_core::refresh::Failure;
use connect_links_core::refresh_policy::refresh_on_read;
use connect_links_core::secrets::AccessToken;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::Delay;

/// Refuses a profile that is not active: pending (waiting for its claim) or disconnected.
pub fn require_active(p: &ProfileRow) -> ApiResult<()> {
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
pub async fn refresh_detached(ctx: &Ctx, grant_id: &str, max_wait_ms: Option<u64>) -> ApiResult<Outcome> {
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

/// Maps a refresh outcome to the API error it means, if any.
pub fn outcome_error(outcome: Outcome) -> ApiResult<()> {
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

/// An active profile of the app and the token it acts with (a Page's own, else its
/// grant's), from `first` (the profile's row and token envelope as just read), refreshed
/// first when it expires within 5 minutes. While the current token is still valid, a
/// refresh that fails for now or takes over 2 s does not stand in the way.
pub async fn usable_token(
    ctx: &Ctx,
    app_id: &str,
    id: &str,
    first: (ProfileRow, ProfileToken),
) -> ApiResult<(ProfileRow, AccessToken)> {
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
    let token =
        ctx.keyring()?.open_secret(&t.bound_to, "access_token", &t.access_token_enc).or_500("open access token")?;
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
