//! Liveness of tokens that never expire: a Facebook Page's own token, or a grant's token with
//! no expiry, is never refreshed, so nothing would notice it died. Each such profile gets one
//! cheap identity call every `LIVENESS_INTERVAL_DAYS` (default 7), spread over the interval,
//! under its grant's lease; a terminal answer disconnects as a refresh does, a transient one
//! backs off. The job that picks the due checks is `crate::jobs::liveness`; the proxy checks
//! a token at once with [`check_now`].

use super::disconnect::end_checked;
use super::history::Said;
use super::lease::{suspect_secs, CHECK_LEASE_PREFIX};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::fetch;
use crate::respond::object;
use crate::store::{self, CheckMark, NewActivity, Stmt, When, GIVE_UP_AFTER};
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::oauth::liveness_request;
use connect_links_core::random::{new_id, unit};
use connect_links_core::refresh::{backoff, backoff_steps, classify_check, Failure};
use connect_links_core::secrets::AccessToken;
use serde::Deserialize;

/// The check interval: `LIVENESS_INTERVAL_DAYS` (1 to 90), default 7.
fn interval_secs(ctx: &Ctx) -> i64 {
    let days = ctx.number_var("LIVENESS_INTERVAL_DAYS", 1..=90).unwrap_or(7);
    days * 86_400
}

/// When a new token that never expires is first checked: somewhere in the next interval, so
/// the checks of many profiles spread over it instead of coming due together.
pub fn first_check_at(ctx: &Ctx, now: i64) -> i64 {
    now + ((interval_secs(ctx) as f64) * unit()) as i64 + 1
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
pub async fn check_grant(ctx: &Ctx, grant_id: &str, profile_ids: &[String], due_by: i64) -> ApiResult<()> {
    #[derive(Deserialize, Default)]
    struct Lease {
        refresh_suspect_until: Option<i64>,
    }
    let db = ctx.db()?;
    let now = ctx.now();
    let lease = new_id(CHECK_LEASE_PREFIX)?;
    let ids = serde_json::to_string(profile_ids).or_500("ids json")?;
    let per_call = ctx.timeout_ms() as i64 / 1000 + 5;
    let lease_secs = per_call * profile_ids.len() as i64 + 30;
    let take = store::take_check_lease_stmt(&db, grant_id, &lease, now, lease_secs, suspect_secs(ctx))?;
    let mark = store::mark_checks_stmt(
        &db,
        &CheckMark {
            ids_json: &ids,
            due_by,
            grant_id,
            now,
            interval_secs: interval_secs(ctx),
            backoff_steps: backoff_steps(unit()),
            lease: &lease,
        },
    )?;
    let results = db.batch(vec![take, mark]).await.or_500("check lease")?;
    let leased = results.first().and_then(|r| store::batch_rows::<Lease>(r).ok()).and_then(|rows| rows.into_iter().next());
    let Some(leased) = leased else {
        return Ok(());
    };
    let marked: Vec<String> =
        results.get(1).and_then(|r| store::batch_rows::<store::IdRow>(r).ok()).unwrap_or_default().into_iter().map(|m| m.id).collect();
    let mut result = Ok(());
    for id in profile_ids.iter().filter(|id| marked.contains(id)) {
        if let Err(e) = check_leased(ctx, id, leased.refresh_suspect_until).await {
            result = Err(e);
        }
    }
    store::release_check_lease(&db, grant_id, &lease).exec("check release").await?;
    result
}

/// One marked check. `suspect_until`: the lease's doubt (see [`suspect_secs`]) until when an
/// answer that the grant's token is dead proves nothing (a profile's own token is no
/// refresh's business).
async fn check_leased(ctx: &Ctx, profile_id: &str, suspect_until: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    let Some(row) = store::check_read(&db, profile_id).one::<store::Row>("check read").await? else {
        return Ok(());
    };
    let (profile, checked) = store::checked(row)?;
    let own_token = checked.bound_to == profile.id;
    let opened = ctx
        .keyring()
        .ok()
        .and_then(|k| k.open_secret::<AccessToken>(&checked.bound_to, "access_token", &checked.access_token_enc).ok());
    let platform = ctx.platform_at(&profile.platform, profile.instance.as_deref());
    let (Some(platform), Some(token)) = (platform.as_ref(), opened) else {
        // Nothing to call with (platform gone from the catalog, token under a removed key):
        // looked at again later, never disconnected for a reason on our side.
        return push_back(ctx, &profile, checked.check_failures).await;
    };
    let req = liveness_request(platform, &token);
    let answer = fetch::send(&req, &platform.id, Some(&profile.id), ctx.timeout_ms()).await;
    let said = Said::of(&answer, &[token.secret()]);
    let mut seen = NewActivity {
        at: ctx.now(),
        app_id: &profile.app_id,
        platform: &profile.platform,
        profile_id: Some(&profile.id),
        grant_id: Some(&checked.grant_id),
        kind: "liveness",
        outcome: "ok",
        status: said.status,
        code: said.code.as_deref(),
        detail: said.detail.as_deref(),
    };
    let failure = match &answer {
        Ok(resp) if (200..300).contains(&resp.status) => {
            let passed =
                store::check_passed(&db, &profile.id, ctx.now() + interval_secs(ctx)).or_500("check passed")?;
            let ok = NewActivity { code: None, detail: None, ..seen };
            let noted = store::activity_rows_stmt(&db, &ok, &[], When::IfChanged)?;
            db.batch(vec![passed, noted]).await.or_500("check passed")?;
            return Ok(());
        }
        Ok(resp) => classify_check(platform, resp.status, &resp.body),
        Err(_) => Failure::Transient,
    };
    // The failed check's row (a dead token's disconnect writes its own rows too).
    seen.outcome = match failure {
        Failure::Terminal(_) => "failed",
        Failure::Transient => "transient",
    };
    store::record_activity(&db, &seen).await?;
    match failure {
        Failure::Transient => push_back(ctx, &profile, checked.check_failures).await,
        Failure::Terminal(reason) if !own_token && suspect_until.is_some_and(|t| ctx.now() <= t) => {
            crate::log::info(
                &object!("event": "liveness_inconclusive", "profile_id": profile.id, "platform": platform.id, "failure": reason.as_str()),
            );
            push_back(ctx, &profile, checked.check_failures).await
        }
        Failure::Terminal(reason) => {
            crate::log::info(
                &object!("event": "liveness_failed", "profile_id": profile.id, "platform": platform.id, "failure": reason.as_str()),
            );
            end_checked(ctx, &profile, &checked.grant_id, &checked.access_token_enc, own_token, reason).await
        }
    }
}

/// A transient failure (`failures` in a row, this one included: the mark counted it): the
/// next check moves out with backoff; after a few in a row the answer is not an outage but
/// something the platform keeps saying, and the check goes back to the normal interval
/// instead of asking every few hours forever.
async fn push_back(ctx: &Ctx, p: &ProfileRow, failures: i64) -> ApiResult<()> {
    let delay = if failures >= GIVE_UP_AFTER { interval_secs(ctx) } else { backoff(failures as u32, unit()) };
    store::check_backoff(&ctx.db()?, &p.id, failures, ctx.now() + delay).exec("check backoff").await
}
