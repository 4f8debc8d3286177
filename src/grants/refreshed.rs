//! Writing a refresh's new tokens: a compare-and-swap on the envelopes the refresh read,
//! retried on a transient D1 error. The lease and the call are [`super::refresh`]'s.

use super::lease::release;
use super::history::Said;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::respond::object;
use crate::store::{self, IdRow, Leased, NewTokens, Stmt, When};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::ProfileRow;
use connect_links_core::oauth::parse_scopes;
use connect_links_core::platforms::Platform;
use connect_links_core::random::unit;
use connect_links_core::refresh_policy::{next_action_at, TokenTimes};
use connect_links_core::secrets::RefreshToken;
use connect_links_core::storage::{is_transient_d1_error, write_retry_delay_ms, WRITE_ATTEMPTS};
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;
use std::time::Duration;
use worker::{D1Database, Delay};

/// Writes the new tokens. A rotated refresh token replaces the stored one; an answer
/// without one keeps it (re-sealed, so the row stays under one key id). Every profile under
/// the grant shows the new expiry and scopes (same batch).
///
/// The write is a compare-and-swap on the envelopes this refresh read, not on its lease:
/// once the platform has rotated the token, the new set is the only live one, so it is
/// stored even if the lease ran out meanwhile, as long as nobody stored another set (a
/// reconnect or a later refresh). A transient D1 error is retried.
///
/// The next action is scheduled in the app's mode as the lease read it; should the app have
/// changed mode meanwhile, the grant is left flagged and due, for the cron to reschedule.
pub(super) async fn store_refreshed(
    ctx: &Ctx,
    keyring: &Keyring,
    row: &Leased,
    lease: &str,
    platform: &Platform,
    tokens: &TokenSet,
    old_refresh: Option<&RefreshToken>,
) -> ApiResult<()> {
    let id = row.id();
    let access_enc = keyring.seal(id, "access_token", tokens.access_token.secret()).or_500("seal")?;
    let refresh_kept = tokens.refresh_token.as_ref().or(old_refresh);
    let refresh_enc = match refresh_kept {
        Some(rt) => Some(keyring.seal(id, "refresh_token", rt.secret()).or_500("seal")?),
        None => None,
    };
    let now = ctx.now();
    let expires_at = tokens.expires_in.or(platform.default_access_ttl_secs).map(|s| now + s);
    // A rotated refresh token lives as long as the answer says (unknown when it says
    // nothing): the spent token's expiry is not the new one's, and an on_demand keep-alive
    // timed by it would come too early, and then again and again.
    let rotated =
        tokens.refresh_token.as_ref().is_some_and(|r| Some(r.secret()) != old_refresh.map(RefreshToken::secret));
    let answered = tokens.refresh_expires_in.map(|s| now + s);
    let refresh_expires_at = if rotated { answered } else { answered.or(row.cols.refresh_token_expires_at) };
    let times = TokenTimes {
        issued_at: now,
        access_expires_at: expires_at,
        refresh_expires_at,
        has_refresh_token: refresh_enc.is_some(),
    };
    let next = next_action_at(row.mode(), platform.refresh, platform.refresh_idle_secs, &times);
    let scopes = match &tokens.scope {
        Some(s) => Some(serde_json::to_string(&parse_scopes(s)).or_500("scopes json")?),
        None => None,
    };
    let db = ctx.db()?;
    let recovered = row.cols.refresh_failing != 0;
    // Only a recovery tells the app anything; the profiles are read for its events alone.
    let recovered_views: Vec<serde_json::Value> = if recovered {
        store::profiles_of_grant(&db, id, true)
            .await?
            .into_iter()
            .map(|(p, own)| {
                ProfileRow {
                    scopes: scopes.clone().unwrap_or_else(|| p.scopes.clone()),
                    access_token_expires_at: if own { None } else { expires_at },
                    last_refreshed_at: Some(now),
                    updated_at: now,
                    ..p
                }
                .view()
            })
            .collect()
    } else {
        vec![]
    };
    for attempt in 1..=WRITE_ATTEMPTS {
        let fresh = NewTokens {
            access_enc: &access_enc,
            refresh_enc: refresh_enc.as_deref(),
            kid: keyring.current_kid(),
            expires_at,
            refresh_expires_at,
            scopes: scopes.as_deref(),
            now,
            now_ms: crate::ctx::now_ms(),
            next,
        };
        let update = store::store_refreshed_stmt(&db, id, fresh, &row.read_under(lease))?;
        let mut batch = Batch::new(ctx, &db);
        batch.push(update);
        // The history's row, only when the tokens were stored (the copy's guard follows it).
        batch.push(store::activity_rows_stmt(&db, &Said::default().refresh(ctx, row, "ok"), &[], When::IfChanged)?);
        batch.push(store::copy_grant_to_profiles_stmt(&db, id, now)?);
        batch.events(row.app_id(), types::RECOVERED, recovered_views.clone())?;
        let wrote = batch.write().await;
        // Whatever landed, the proxy's kept profile rows may hold this grant's old token.
        crate::isolate::forget_profiles();
        match wrote {
            Ok(written) => {
                let stored = store::returned_rows(&written.results, 0);
                // After a retry, "not written" can mean the earlier attempt landed.
                if stored || (attempt > 1 && stored_access(&db, id).await?.as_deref() == Some(access_enc.as_str())) {
                    written.deliver_now(ctx).await;
                    return Ok(());
                }
                // A reconnect or another refresh stored a newer set: that one counts, and
                // this refresh must not report success.
                let _ = release(ctx, id, lease, None).await;
                return Err(superseded(id));
            }
            Err(e) if attempt < WRITE_ATTEMPTS && is_transient_d1_error(&e.to_string()) => {
                crate::log::error(&object!("event": "refresh_write_retry", "grant_id": id, "attempt": attempt));
                Delay::from(Duration::from_millis(write_retry_delay_ms(attempt + 1, unit()))).await;
            }
            Err(e) => return Err(e).or_500("store refreshed"),
        }
    }
    Err(ApiError::internal())
}

/// The error of a refresh whose answer no longer applies: a reconnect or another refresh
/// replaced the tokens while it ran.
pub(super) fn superseded(id: &str) -> ApiError {
    crate::log::error(&object!("event": "refresh_superseded", "grant_id": id));
    ApiError::new(ErrorCode::Conflict, "the profile's tokens were replaced while this refresh ran")
}

/// The stored access-token envelope of a grant.
async fn stored_access(db: &D1Database, id: &str) -> ApiResult<Option<String>> {
    let row = store::stored_access(db, id).one::<IdRow>("stored access").await?;
    Ok(row.map(|r| r.id))
}
