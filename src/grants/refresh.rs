//! Using a grant's token when it runs out: refresh it under the D1 lease (one winner across
//! crons, queue messages and on-demand calls), classify the platform's answer, and tell the
//! app. The cron job that drives it is `crate::jobs::refresh`; the write of new tokens is
//! [`super::refreshed`]; a disconnect, [`super::disconnect`].

use super::disconnect::disconnect;
use super::history::Said;
use super::lease::{lease_secs, release, suspect_secs};
use super::refreshed::{store_refreshed, superseded};
use crate::credentials::OwnRef;
use crate::ctx::Ctx;
use crate::events::Batch;
use crate::fetch;
use crate::respond::object;
use crate::store::{self, LeaseTerms, Leased, Stmt, When};
use connect_links_core::atproto::{parse_session, SessionError};
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::oauth::parse_token_answer;
use connect_links_core::platforms::{Platform, RefreshCall, RefreshKind};
use connect_links_core::random::{new_id, unit};
use connect_links_core::refresh::{
    backoff, backoff_steps, classify, refresh_request, DisconnectReason, Failure,
};
use connect_links_core::refresh_policy::{next_action_at, EXPIRING_NOTICE, SELF_EXCHANGE_MIN_AGE};
use connect_links_core::secrets::{AccessToken, RefreshToken};
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;

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
    /// The refresh failed at the platform (or could not reach it).
    Failed(Failure),
    /// The platform's answer passed the 1 MiB cap: a transient failure like any other
    /// (counted, backed off), told apart so that the caller can say why.
    TooLarge,
    /// The refresh could not start for a reason on our side; pushed back with backoff.
    LocalFailure,
}

/// Refreshes one grant under the D1 lease: one winner across crons, queue redeliveries
/// and on-demand calls; the new tokens are written before anything else happens, and every
/// profile under the grant shows them.
///
/// The lease is also the attempt's marker, in the same statement: the grant's next try moves
/// out by the backoff this attempt would get if it failed (never earlier than it was, so a
/// read does not move a healthy grant's schedule), before the platform is called. An attempt
/// that kills the isolate mid-call (or outlives its lease) leaves its lease unreleased; the
/// next lease counts it as a failure, so each such attempt waits longer, and a grant that
/// kills every run is not the first one picked by every run. That lease also starts a doubt
/// ([`suspect_secs`]): the holder may still be out with a spent refresh token's successor.
pub async fn refresh_one(ctx: &Ctx, grant_id: &str, trigger: Trigger) -> ApiResult<Outcome> {
    let db = ctx.db()?;
    let lease = new_id("lse_")?;
    // The cron takes what was due when its run started: whatever an attempt of this run
    // pushed back (to now + backoff) is not due again in the same run.
    let (due_only, since_ms) = match trigger {
        Trigger::Cron => (true, ctx.started_ms),
        Trigger::Queue { since_ms } | Trigger::OnDemand { since_ms } => (false, since_ms),
    };
    let terms = LeaseTerms {
        now: ctx.now(),
        lease_secs: lease_secs(ctx),
        due_only,
        since_ms,
        due_by: ctx.started_ms / 1000,
        backoff_steps: backoff_steps(unit()),
        suspect_secs: suspect_secs(ctx),
    };
    let leased = store::take_refresh_lease(&db, grant_id, &lease, terms).one::<store::Row>("lease").await?;
    let Some(raw) = leased else {
        return why_not(ctx, grant_id).await;
    };
    let row = store::leased(raw)?;
    let result = refresh_leased(ctx, &row, &lease, trigger).await;
    if result.is_err() {
        // Free the lease so the next trigger can try; the error itself is already logged.
        let _ = release(ctx, row.id(), &lease, None).await;
    }
    result
}

/// Why no lease was taken: in flight, or nothing to do.
async fn why_not(ctx: &Ctx, id: &str) -> ApiResult<Outcome> {
    let db = ctx.db()?;
    let held = store::lease_held(&db, id, ctx.now()).exists("lease check").await?;
    Ok(if held { Outcome::InFlight } else { Outcome::NotNeeded })
}

async fn refresh_leased(ctx: &Ctx, row: &Leased, lease: &str, trigger: Trigger) -> ApiResult<Outcome> {
    // Borrowed from the catalog unless the grant's server rewrites its URLs: no copy per refresh.
    let Some(platform) = ctx.platform_at(&row.grant.platform, row.grant.instance.as_deref()) else {
        return local_failure(ctx, row, lease, "platform not in the catalog (or CUSTOM_PROVIDERS broken)").await;
    };
    let platform = &*platform;
    // A grant made due by a change of its app's mode: the cron calls the platform only if
    // the grant is due in the mode now in force (reads always refresh).
    if row.cols.reschedule != 0 && !matches!(trigger, Trigger::OnDemand { .. }) {
        let next = next_action_at(row.mode(), platform.refresh, platform.refresh_idle_secs, &row.times());
        if next.is_none_or(|at| at > ctx.now()) {
            reschedule(ctx, row, lease, next).await?;
            return Ok(Outcome::NotNeeded);
        }
    }
    // Expiry handling needs no client: a grant whose client is gone (a Mastodon client
    // registered with the shared callback, before per-instance paths) is no local failure.
    if platform.refresh == RefreshKind::None {
        return expiry_without_refresh(ctx, row, lease).await;
    }
    // The client that minted the grant: the app's own credentials it records, else the
    // deployment's (see `credentials::for_grant`).
    let own = OwnRef::of(row.app_id(), row.grant.credential_ref.as_deref());
    let creds = crate::credentials::for_grant(ctx, platform, own).await?;
    if platform.refresh == RefreshKind::SelfExchange && ctx.now() - row.cols.token_issued_at < SELF_EXCHANGE_MIN_AGE {
        release(ctx, row.id(), lease, Some(row.cols.token_issued_at + SELF_EXCHANGE_MIN_AGE)).await?;
        return Ok(Outcome::TooYoung);
    }
    let opened = ctx.keyring().ok().and_then(|keyring| {
        let access: AccessToken = keyring.open_secret(row.id(), "access_token", &row.cols.access_token_enc).ok()?;
        let refresh: Option<RefreshToken> = match &row.cols.refresh_token_enc {
            Some(enc) => Some(keyring.open_secret(row.id(), "refresh_token", enc).ok()?),
            None => None,
        };
        Some((keyring, access, refresh))
    });
    let Some((keyring, access, refresh)) = opened else {
        return local_failure(ctx, row, lease, "token envelope cannot be opened (key not in TOKEN_KEYS)").await;
    };
    let Some(creds) = creds else {
        let why = match own {
            None => "client id or secret missing",
            Some(_) => "the app's own platform credentials that minted the grant are removed or cannot be opened",
        };
        return local_failure(ctx, row, lease, why).await;
    };
    let Some(req) = refresh_request(platform, &creds, access.secret(), refresh.as_ref().map(RefreshToken::secret))
    else {
        return expiry_without_refresh(ctx, row, lease).await;
    };
    let answer = fetch::send(&req, &platform.id, Some(row.id()), ctx.timeout_ms()).await;
    // What the call carried, cut out of any text of the answer the history keeps.
    let sent = [access.secret(), refresh.as_ref().map_or("", RefreshToken::secret), creds.client_secret.secret()];
    let said = Said::of(&answer, &sent);
    let failure = match &answer {
        Err(fetch::TransportError::TooLarge(_)) => {
            push_back(ctx, row, lease, &Said::text("the platform's answer passed the 1 MiB cap")).await?;
            log_outcome(row.id(), &platform.id, Failure::Transient);
            return Ok(Outcome::TooLarge);
        }
        Err(_) => Failure::Transient,
        Ok(resp) => match parse_answer(platform, resp.status, &resp.body, ctx.now()) {
            Ok(tokens) => {
                store_refreshed(ctx, &keyring, row, lease, platform, &tokens, refresh.as_ref()).await?;
                return Ok(Outcome::Refreshed);
            }
            Err(Some(settled)) => settled,
            Err(None) => classify(platform, resp.status, &resp.body),
        },
    };
    match failure {
        // A refresh lease was left unreleased lately (this one or an earlier lease took it
        // over), and its holder may still be out with the same refresh token: a platform that
        // rotates answers the second use `invalid_grant` while the first holder's new tokens
        // are on their way to being stored. Such an answer proves nothing about the grant
        // until that holder's time is up or a store lands: the lease is freed (its marker
        // already moved the next try out) and the profiles stay as they are.
        Failure::Terminal(reason) if row.cols.refresh_suspect_until.is_some_and(|t| ctx.now() <= t) => {
            crate::log::info(
                &object!("event": "refresh_inconclusive", "grant_id": row.id(), "platform": platform.id, "failure": reason.as_str()),
            );
            release(ctx, row.id(), lease, None).await?;
            return Ok(Outcome::Failed(Failure::Transient));
        }
        Failure::Terminal(reason) => {
            if !disconnect(ctx, row, lease, reason, Some(&said)).await? {
                // The answer was about tokens that are no longer stored (a reconnect): the
                // fresh profile stays as it is.
                return Err(superseded(row.id()));
            }
        }
        Failure::Transient => push_back(ctx, row, lease, &said).await?,
    }
    log_outcome(row.id(), &platform.id, failure);
    Ok(Outcome::Failed(failure))
}

/// A refresh that cannot even start for a reason on our side (platform gone from the
/// catalog, envelope under a removed key, credentials missing): pushed back like a transient
/// failure, so it never blocks the profiles behind it, and logged once per streak.
async fn local_failure(ctx: &Ctx, row: &Leased, lease: &str, why: &str) -> ApiResult<Outcome> {
    if row.cols.refresh_failures == 0 {
        crate::log::error(
            &object!("event": "refresh_skipped", "grant_id": row.id(), "platform": row.grant.platform, "why": why),
        );
    }
    push_back(ctx, row, lease, &Said::text(why)).await?;
    Ok(Outcome::LocalFailure)
}

/// Stores a flagged grant's schedule in its app's mode, with no platform call, and frees the
/// lease. Should the mode have changed again since the lease, the grant stays flagged and due.
async fn reschedule(ctx: &Ctx, row: &Leased, lease: &str, next: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    store::reschedule(&db, row.id(), lease, next, &row.cols.refresh_mode, ctx.now()).exec("reschedule").await
}

/// Counts a failure, moves the next attempt out with backoff, frees the lease, and sends
/// `profile.refresh_failed` (one per active profile under the grant) for the first failure
/// of a streak, in the same batch.
async fn push_back(ctx: &Ctx, row: &Leased, lease: &str, said: &Said) -> ApiResult<()> {
    // The lease already counted the attempts that died unreleased before this one.
    let failures = row.cols.refresh_failures + 1;
    let next = ctx.now() + backoff(failures as u32, unit());
    let db = ctx.db()?;
    let update = store::refresh_failed_stmt(&db, row.id(), lease, failures, next, ctx.now())?;
    let mut batch = Batch::new(ctx, &db);
    batch.push(update);
    // Only while this refresh still held the lease (the update changed the grant).
    batch.push(store::activity_rows_stmt(&db, &said.refresh(ctx, row, "transient"), &[], When::IfChanged)?);
    if row.cols.refresh_failing == 0 {
        let views = store::profiles_of_grant(&db, row.id(), true)
            .await?
            .into_iter()
            .map(|(p, _)| ProfileRow { updated_at: ctx.now(), ..p }.view())
            .collect();
        batch.events(row.app_id(), types::REFRESH_FAILED, views)?;
    }
    batch.commit().await?;
    Ok(())
}

/// The new tokens, or why not: `Some` when the answer itself settles the failure (a session
/// answer saying the account is taken down), `None` to classify it by its status and body.
fn parse_answer(p: &Platform, status: u16, body: &[u8], now: i64) -> Result<TokenSet, Option<Failure>> {
    if p.refresh_call == RefreshCall::AtprotoSession {
        // A new session: its refresh JWT replaces the one just spent.
        // A 2xx that says the account is taken down settles it; any other answer is
        // classified by status and body like every refresh (5xx stays transient).
        let ok_status = (200..300).contains(&status);
        return parse_session(status, body, now).map(|s| s.tokens).map_err(|e| match e {
            SessionError::AccountTakendown if ok_status => Some(Failure::Terminal(DisconnectReason::Revoked)),
            _ => None,
        });
    }
    let parsed = if p.refresh == RefreshKind::SelfExchange {
        TokenSet::from_response(status, body)
    } else {
        parse_token_answer(p, status, body)
    };
    parsed.map_err(|_| None)
}

fn log_outcome(grant_id: &str, platform: &str, failure: Failure) {
    let kind = match failure {
        Failure::Terminal(r) => r.as_str(),
        Failure::Transient => "transient",
    };
    crate::log::info(&object!("event": "refresh_failed", "grant_id": grant_id, "platform": platform, "failure": kind));
}

/// Platforms without refresh: `profile.expiring` once, seven days ahead; at expiry the grant
/// is `disconnected` / `token_expired`. Both concern only the profiles acting with the
/// grant's token: a Facebook Page's own token does not expire with the user's.
async fn expiry_without_refresh(ctx: &Ctx, row: &Leased, lease: &str) -> ApiResult<Outcome> {
    match row.grant.access_token_expires_at {
        Some(exp) if ctx.now() >= exp => {
            disconnect(ctx, row, lease, DisconnectReason::TokenExpired, None).await?;
        }
        // Asked early (a forced refresh): nothing to tell yet.
        Some(exp) if exp - ctx.now() > EXPIRING_NOTICE => release(ctx, row.id(), lease, None).await?,
        Some(exp) => {
            let db = ctx.db()?;
            let update = store::expiring_stmt(&db, row.id(), lease, exp)?;
            let views = store::profiles_of_grant(&db, row.id(), false).await?.iter().map(|(p, _)| p.view()).collect();
            let mut batch = Batch::new(ctx, &db);
            batch.push(update);
            batch.events(row.app_id(), types::EXPIRING, views)?;
            batch.commit().await?;
            release(ctx, row.id(), lease, Some(exp)).await?;
        }
        None => release(ctx, row.id(), lease, None).await?,
    }
    Ok(Outcome::NoRefresh)
}

