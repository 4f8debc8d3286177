//! Liveness of tokens that never expire (issue 10): a Facebook Page's own token, or a
//! grant's token with no expiry, is never refreshed, so nothing would notice it died. Each such
//! profile gets one cheap identity call every `LIVENESS_INTERVAL_DAYS` (default 7), spread
//! over the interval, under its grant's refresh lease; a terminal answer disconnects as the
//! refresh job does, a transient one backs off.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::fetch;
use crate::jobs::lifecycle::{suspect_secs, takeover_sets, CHECK_LEASE_PREFIX};
use crate::store::{self, Stmt};
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::oauth::liveness_request;
use connect_links_core::random::{new_id, unit};
use connect_links_core::refresh::{backoff, backoff_steps, classify_check, DisconnectReason, Failure, BACKOFF_STEPS};
use connect_links_core::secrets::AccessToken;
use connect_links_core::webhook::types;
use futures_util::stream::{self, StreamExt};
use serde::Deserialize;
use serde_json::json;
use worker::{console_log, query};

/// Profiles of one grant checked in one run (the rest in later runs).
const PER_GRANT: usize = 20;
/// Checks in flight at once in a cron run: one of the six connections a Workers invocation
/// may hold open (see `crate::jobs::cron`), so that slow hosts of checks never hold up the
/// refreshes beside them.
const CONCURRENCY: usize = 1;
/// From this many transient failures in a row on, a check waits the whole interval again.
const GIVE_UP_AFTER: i64 = 4;

/// The check interval: `LIVENESS_INTERVAL_DAYS` (1 to 90), default 7.
pub fn interval_secs(ctx: &Ctx) -> i64 {
    let days = ctx.number_var("LIVENESS_INTERVAL_DAYS", 1..=90).unwrap_or(7);
    days * 86_400
}

/// When a new token that never expires is first checked: somewhere in the next interval, so
/// the checks of many profiles spread over it instead of coming due together.
pub fn first_check_at(ctx: &Ctx, now: i64) -> i64 {
    now + ((interval_secs(ctx) as f64) * unit()) as i64 + 1
}

/// Checks the profiles whose check is due: one grant at a time ([`CONCURRENCY`]), the due
/// profiles of one grant one after the other under its lease, while the run's budget
/// lasts ([`crate::jobs::cron::calls_in_budget`]).
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Due {
        id: String,
        grant_id: String,
    }
    let db = ctx.db()?;
    let due = query!(
        &db,
        "SELECT id, grant_id FROM profiles WHERE status = 'active' AND next_check_at <= ?1 ORDER BY next_check_at LIMIT ?2",
        ctx.now(),
        // The same bound as the refreshes that reach a platform: a small plan's subrequest
        // limit holds for both.
        ctx.refresh_batch_size()
    )
    .many::<Due>("due checks")
    .await?;
    if due.is_empty() {
        return Ok(());
    }
    let mut by_grant: Vec<(String, Vec<String>)> = Vec::new();
    for d in &due {
        match by_grant.iter_mut().find(|(g, _)| g == &d.grant_id) {
            // A grant's lease covers this many calls at most, so refreshes wait minutes, not an hour.
            Some((_, ids)) if ids.len() >= PER_GRANT => {}
            Some((_, ids)) => ids.push(d.id.clone()),
            None => by_grant.push((d.grant_id.clone(), vec![d.id.clone()])),
        }
    }
    let now = ctx.now();
    // A grant's lease marks every check it covers before the first call, so a grant is
    // given only the checks that still fit in the budget: the others are never marked and
    // stay due for the next run, as are the grants not started at all.
    let results: Vec<(usize, ApiResult<()>)> = stream::iter(by_grant.iter())
        .map(|(grant, ids)| async move {
            let fit = ids.len().min(crate::jobs::cron::calls_in_budget(ctx));
            match ids.get(..fit) {
                Some(ids) if !ids.is_empty() => (ids.len(), check_grant(ctx, grant, ids, now).await),
                _ => (0, Ok(())),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let errors = results.iter().filter(|(_, r)| r.is_err()).count();
    let started: usize = results.iter().map(|(n, _)| n).sum();
    console_log!(
        "{}",
        json!({"event": "liveness_checks", "due": due.len(), "errors": errors, "deferred": due.len().saturating_sub(started)})
    );
    Ok(())
}

/// The token a due profile acts with, read under its grant's lease.
#[derive(Deserialize)]
struct Checked {
    grant_id: String,
    /// Whose id the envelope is bound to: the profile's own token, or its grant's.
    bound_to: String,
    access_token_enc: String,
    check_failures: i64,
}

/// How soon after a check that passed a dead-token answer on the proxy checks again: a
/// proxied endpoint that refuses a live token for its own reasons costs one identity call a
/// minute at most, not one per proxied call.
const RECHECK_PAUSE_SECS: i64 = 60;

/// Checks one profile's token now, whatever its schedule, as the scheduled check does (the
/// same call, verdict, disconnect and `profile.disconnected`): the proxy's answer to a
/// dead-token reply on a platform without refresh. Only a token under liveness checks (one
/// that never expires: `next_check_at` set), not checked and found alive in the last
/// [`RECHECK_PAUSE_SECS`], and only when the grant's lease is free (else nothing is done).
pub async fn check_now(ctx: &Ctx, grant_id: &str, profile_id: &str) -> ApiResult<()> {
    // A check that passed set `next_check_at` a whole interval ahead: one due later than
    // that, less the pause, passed just now.
    let due_by = ctx.now() + interval_secs(ctx) - RECHECK_PAUSE_SECS;
    check_grant(ctx, grant_id, &[profile_id.to_string()], due_by).await
}

/// The checks of one grant's profiles due by `due_by`: lease the grant (one call at a time
/// per grant, refreshes included; a grant whose lease is held is looked at in a later run),
/// call the platform for each, write each outcome, free the lease. The lease covers the
/// calls made one after the other.
///
/// Each check is marked before its call, in the lease's batch, as the refresh lease marks a
/// refresh: counted as a transient failure and its next check moved out by that backoff
/// (never earlier than it was). A check that kills the isolate thus waits longer each time
/// instead of being the first one every run picks; a check that answers writes its outcome
/// over the mark.
async fn check_grant(ctx: &Ctx, grant_id: &str, profile_ids: &[String], due_by: i64) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Lease {
        refresh_suspect_until: Option<i64>,
    }
    #[derive(Deserialize)]
    struct Marked {
        id: String,
    }
    let db = ctx.db()?;
    let now = ctx.now();
    let lease = new_id(CHECK_LEASE_PREFIX)?;
    let ids = serde_json::to_string(profile_ids).or_500("ids json")?;
    let per_call = ctx.timeout_ms() as i64 / 1000 + 5;
    let lease_secs = per_call * profile_ids.len() as i64 + 30;
    let take = query!(
        &db,
        &format!(
            "UPDATE grants SET {takeover}, refresh_lease_id = ?2, refresh_lease_until = ?3 + ?4 \
             WHERE id = ?1 AND (refresh_lease_until IS NULL OR refresh_lease_until < ?3) RETURNING refresh_suspect_until",
            takeover = takeover_sets(5)
        ),
        grant_id,
        lease,
        now,
        lease_secs,
        suspect_secs(ctx)
    )
    .or_500("prepare check lease")?;
    let mark = query!(
        &db,
        &format!(
            "UPDATE profiles SET check_failures = check_failures + 1, \
               next_check_at = MAX(next_check_at, ?4 + CASE WHEN check_failures + 1 >= {GIVE_UP_AFTER} THEN ?5 \
                 ELSE json_extract(?6, '$[' || MIN(check_failures, {last_step}) || ']') END) \
             WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'active' AND next_check_at <= ?2 \
               AND EXISTS (SELECT 1 FROM grants WHERE id = ?3 AND refresh_lease_id = ?7) RETURNING id",
            last_step = BACKOFF_STEPS - 1
        ),
        ids,
        due_by,
        grant_id,
        now,
        interval_secs(ctx),
        backoff_steps(unit()),
        lease
    )
    .or_500("prepare check mark")?;
    let results = db.batch(vec![take, mark]).await.or_500("check lease")?;
    let leased = results.first().and_then(|r| r.results::<Lease>().ok()).and_then(|rows| rows.into_iter().next());
    let Some(leased) = leased else {
        return Ok(());
    };
    let marked: Vec<String> =
        results.get(1).and_then(|r| r.results::<Marked>().ok()).unwrap_or_default().into_iter().map(|m| m.id).collect();
    let mut result = Ok(());
    for id in profile_ids.iter().filter(|id| marked.contains(id)) {
        if let Err(e) = check_leased(ctx, id, leased.refresh_suspect_until).await {
            result = Err(e);
        }
    }
    query!(
        &db,
        "UPDATE grants SET refresh_lease_id = NULL, refresh_lease_until = NULL WHERE id = ?1 AND refresh_lease_id = ?2",
        grant_id,
        lease
    )
    .exec("check release")
    .await?;
    result
}

/// One marked check. `suspect_until`: the lease's doubt (see
/// [`crate::jobs::lifecycle::takeover_sets`]) until when an answer that the grant's token is
/// dead proves nothing (a profile's own token is no refresh's business).
async fn check_leased(ctx: &Ctx, profile_id: &str, suspect_until: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    let cols = store::profile_columns_of("p");
    let row = query!(
        &db,
        &format!(
            "SELECT {cols}, p.check_failures, {from} WHERE p.id = ?1 AND p.status = 'active'",
            from = store::PROFILE_TOKEN_FROM
        ),
        profile_id
    )
    .one::<serde_json::Value>("check read")
    .await?;
    let Some(row) = row else { return Ok(()) };
    let profile: ProfileRow = serde_json::from_value(row.clone()).or_500("read checked profile")?;
    let checked: Checked = serde_json::from_value(row).or_500("read checked token")?;
    let own_token = checked.bound_to == profile.id;
    let opened =
        ctx.keyring().ok().and_then(|k| k.open(&checked.bound_to, "access_token", &checked.access_token_enc).ok());
    let platform = ctx.platform_at(&profile.platform, profile.instance.as_deref());
    let (Some(platform), Some(token)) = (platform.as_ref(), opened) else {
        // Nothing to call with (platform gone from the catalog, token under a removed key):
        // looked at again later, never disconnected for a reason on our side.
        return push_back(ctx, &profile, checked.check_failures).await;
    };
    let req = liveness_request(platform, &AccessToken::new(token));
    let failure = match fetch::send(&req, &platform.id, Some(&profile.id), ctx.timeout_ms()).await {
        Ok(resp) if (200..300).contains(&resp.status) => {
            query!(
                &db,
                "UPDATE profiles SET next_check_at = ?2, check_failures = 0 WHERE id = ?1",
                profile.id,
                ctx.now() + interval_secs(ctx)
            )
            .exec("check passed")
            .await?;
            return Ok(());
        }
        Ok(resp) => classify_check(platform, resp.status, &resp.body),
        Err(_) => Failure::Transient,
    };
    match failure {
        Failure::Transient => push_back(ctx, &profile, checked.check_failures).await,
        Failure::Terminal(reason) if !own_token && suspect_until.is_some_and(|t| ctx.now() <= t) => {
            console_log!(
                "{}",
                json!({"event": "liveness_inconclusive", "profile_id": profile.id, "platform": platform.id, "failure": reason.as_str()})
            );
            push_back(ctx, &profile, checked.check_failures).await
        }
        Failure::Terminal(reason) => {
            console_log!(
                "{}",
                json!({"event": "liveness_failed", "profile_id": profile.id, "platform": platform.id, "failure": reason.as_str()})
            );
            end(ctx, &profile, &checked, own_token, reason).await
        }
    }
}

/// A transient failure (`failures` in a row, this one included: the mark counted it): the
/// next check moves out with backoff; after a few in a row the answer is not an outage but
/// something the platform keeps saying, and the check goes back to the normal interval
/// instead of asking every few hours forever.
async fn push_back(ctx: &Ctx, p: &ProfileRow, failures: i64) -> ApiResult<()> {
    let delay = if failures >= GIVE_UP_AFTER { interval_secs(ctx) } else { backoff(failures as u32, unit()) };
    let db = ctx.db()?;
    query!(
        &db,
        "UPDATE profiles SET check_failures = ?2, next_check_at = ?3 WHERE id = ?1",
        p.id,
        failures,
        ctx.now() + delay
    )
    .exec("check backoff")
    .await
}

/// A dead token: a profile's own token ends that profile; a grant's token ends the grant
/// and every profile acting with it (as the refresh job does), one `profile.disconnected`
/// each, in one batch.
///
/// Only while the token is still the one checked: a reconnect that stored a fresh one while
/// the call was out (a reconnect takes no lease) keeps the profile alive.
async fn end(ctx: &Ctx, p: &ProfileRow, checked: &Checked, own_token: bool, reason: DisconnectReason) -> ApiResult<()> {
    let grant_id = checked.grant_id.as_str();
    let db = ctx.db()?;
    let now = ctx.now();
    let ended: Vec<ProfileRow> = if own_token {
        vec![p.clone()]
    } else {
        store::profiles_of_grant(&db, grant_id, false).await?.into_iter().map(|(q, _)| q).collect()
    };
    let mut batch = Batch::new(ctx, &db);
    if !own_token {
        batch.push(
            query!(
                &db,
                "UPDATE grants SET status = 'disconnected', disconnect_reason = ?2, next_refresh_at = NULL, updated_at = ?3 \
                 WHERE id = ?1 AND status = 'active' AND access_token_enc = ?4",
                grant_id,
                reason.as_str(),
                now,
                checked.access_token_enc
            )
            .or_500("prepare check grant end")?,
        );
    }
    for q in ended {
        batch.push(
            query!(
                &db,
                "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, next_check_at = NULL, updated_at = ?3 \
                 WHERE id = ?1 AND status = 'active' AND ((?4 = 1 AND access_token_enc = ?5) OR (?4 = 0 AND access_token_enc IS NULL \
                 AND EXISTS (SELECT 1 FROM grants WHERE id = ?6 AND status = 'disconnected' AND access_token_enc = ?5)))",
                q.id,
                reason.as_str(),
                now,
                own_token as i32,
                checked.access_token_enc,
                grant_id
            )
            .or_500("prepare check end")?,
        );
        let view = q.ended(reason.as_str(), now).view();
        batch.event(&p.app_id, types::DISCONNECTED, view)?;
    }
    batch.commit().await?;
    Ok(())
}
