//! The token lifecycle (api.md section 7): refresh under a D1 lease, classify failures,
//! tell the app. The cron job that drives it is in [`crate::jobs::cron`]; the write of new
//! tokens is in [`crate::jobs::refresh_store`].

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::fetch;
use crate::jobs::refresh_store::{store_refreshed, superseded};
use crate::store;
use crate::store::Stmt;
use connect_links_core::atproto::{parse_session, SessionError};
use connect_links_core::error::ApiResult;
use connect_links_core::model::{GrantRow, ProfileRow, GRANT_COLUMNS};
use connect_links_core::oauth::parse_token_answer;
use connect_links_core::platforms::{Platform, RefreshCall, RefreshKind};
use connect_links_core::random::{new_id, unit};
use connect_links_core::refresh::{
    backoff, backoff_steps, classify, refresh_request, DisconnectReason, Failure, BACKOFF_STEPS,
};
use connect_links_core::refresh_policy::{
    next_action_at, RefreshMode, TokenTimes, EXPIRING_NOTICE, SELF_EXCHANGE_MIN_AGE,
};
use connect_links_core::storage::write_retry_budget_ms;
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;
use serde::Deserialize;
use serde_json::json;
use worker::{console_error, console_log, query};

/// The grant's app's refresh mode, inside a statement on `grants` (a write compares it
/// with the mode its schedule was computed in).
pub(super) const APP_MODE: &str = "(SELECT refresh_mode FROM apps WHERE apps.id = grants.app_id)";

/// How long a lease is held at most: past two platform timeouts (the call and its
/// webhook), so it never runs out under a live refresh; a worker that dies mid-refresh
/// frees it by expiry.
fn lease_secs(ctx: &Ctx) -> i64 {
    2 * (ctx.timeout_ms() as i64 / 1000) + 30
}

/// How a liveness check's lease id starts (a refresh lease's starts `lse_`). A check spends no
/// refresh token, so a check lease left unreleased is no dead refresh: it counts no failure
/// and casts no doubt on the next refresh's answer.
pub(crate) const CHECK_LEASE_PREFIX: &str = "chk_";

/// The `SET` clauses of a statement that takes a grant's lease (refresh or check; `SET` reads
/// the row as it was), for a refresh lease its holder never released: that attempt counts as
/// a failure, and until a whole lease (`?{secs}` seconds, [`suspect_secs`]) past its end no
/// answer that the grant is dead is trusted (its holder may still be out with the rotated
/// tokens, and store them: only that store clears the doubt).
pub(crate) fn takeover_sets(secs: u8) -> String {
    let dead = dead_refresh_lease();
    format!(
        "refresh_failures = refresh_failures + {dead}, \
         refresh_suspect_until = CASE WHEN {dead} \
           THEN MAX(COALESCE(refresh_suspect_until, 0), refresh_lease_until + ?{secs}) ELSE refresh_suspect_until END"
    )
}

/// 1 when the lease the row holds is a refresh lease (its holder never released it, when
/// the statement may take it), else 0.
fn dead_refresh_lease() -> String {
    format!(
        "(refresh_lease_id IS NOT NULL AND substr(refresh_lease_id, 1, {n}) <> '{CHECK_LEASE_PREFIX}')",
        n = CHECK_LEASE_PREFIX.len()
    )
}

/// How long past the end of a refresh lease left unreleased its holder may still store: a
/// whole lease more (its call, its webhook, a stalled D1), and the write's retries.
pub(crate) fn suspect_secs(ctx: &Ctx) -> i64 {
    lease_secs(ctx) + (write_retry_budget_ms() as i64 + 999) / 1000
}

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

/// What a lease returns: the grant, and the columns the refresh needs.
pub(super) struct Leased {
    pub(super) grant: GrantRow,
    pub(super) cols: LeaseCols,
}

/// The non-public columns a lease returns. The envelopes are the compare-and-swap guard
/// of every write that follows: a write lands only while they are the ones this refresh
/// read (so a reconnect or another refresh that stored first always wins). The app's
/// refresh mode comes with them (a subquery in the lease), so no refresh reads the app.
#[derive(Deserialize)]
pub(super) struct LeaseCols {
    pub(super) access_token_enc: String,
    pub(super) refresh_token_enc: Option<String>,
    pub(super) token_issued_at: i64,
    pub(super) refresh_token_expires_at: Option<i64>,
    pub(super) refresh_failures: i64,
    pub(super) refresh_failing: i64,
    pub(super) reschedule: i64,
    pub(super) refresh_mode: String,
    /// Until when an answer that the grant is dead proves nothing (see [`takeover_sets`]).
    pub(super) refresh_suspect_until: Option<i64>,
}

impl Leased {
    pub(super) fn id(&self) -> &str {
        &self.grant.id
    }
    pub(super) fn app_id(&self) -> &str {
        &self.grant.app_id
    }
    pub(super) fn mode(&self) -> RefreshMode {
        RefreshMode::from_stored(&self.cols.refresh_mode)
    }
    /// The stored token times, as the schedule reads them.
    fn times(&self) -> TokenTimes {
        TokenTimes {
            issued_at: self.cols.token_issued_at,
            access_expires_at: self.grant.access_token_expires_at,
            refresh_expires_at: self.cols.refresh_token_expires_at,
            has_refresh_token: self.cols.refresh_token_enc.is_some(),
        }
    }
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
/// ([`takeover_sets`]): the holder may still be out with a spent refresh token's successor.
pub async fn refresh_one(ctx: &Ctx, grant_id: &str, trigger: Trigger) -> ApiResult<Outcome> {
    let db = ctx.db()?;
    let lease = new_id("lse_")?;
    // The cron takes what was due when its run started: whatever an attempt of this run
    // pushed back (to now + backoff) is not due again in the same run.
    let (due_only, since_ms) = match trigger {
        Trigger::Cron => (1, ctx.started_ms),
        Trigger::Queue { since_ms } | Trigger::OnDemand { since_ms } => (0, since_ms),
    };
    // SET reads the row as it was: `refresh_lease_id` is the previous lease, still set when
    // its holder never released it.
    let leased = query!(
        &db,
        &format!(
            "UPDATE grants SET {takeover}, \
               next_refresh_at = MAX(next_refresh_at, ?3 + json_extract(?8, '$[' || \
                 MIN(refresh_failures + {dead}, {last_step}) || ']')), \
               refresh_lease_id = ?2, refresh_lease_until = ?3 + ?4 \
             WHERE id = ?1 AND status = 'active' \
               AND (refresh_lease_until IS NULL OR refresh_lease_until < ?3) \
               AND (?5 = 0 OR next_refresh_at <= ?7) \
               AND (last_refresh_ms IS NULL OR last_refresh_ms < ?6) \
             RETURNING {GRANT_COLUMNS}, access_token_enc, refresh_token_enc, token_issued_at, refresh_token_expires_at, \
               refresh_failures, refresh_failing, reschedule, refresh_suspect_until, \
               COALESCE({APP_MODE}, 'proactive') AS refresh_mode",
            takeover = takeover_sets(9),
            dead = dead_refresh_lease(),
            last_step = BACKOFF_STEPS - 1
        ),
        grant_id,
        lease,
        ctx.now(),
        lease_secs(ctx),
        due_only,
        since_ms,
        ctx.started_ms / 1000,
        backoff_steps(unit()),
        suspect_secs(ctx)
    )
    .one::<serde_json::Value>("lease")
    .await?;
    let Some(raw) = leased else {
        return why_not(ctx, grant_id).await;
    };
    let row = Leased {
        grant: serde_json::from_value(raw.clone()).or_500("read leased grant")?,
        cols: serde_json::from_value(raw).or_500("read leased columns")?,
    };
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
    let held = query!(&db, "SELECT id FROM grants WHERE id = ?1 AND refresh_lease_until >= ?2", id, ctx.now())
        .exists("lease check")
        .await?;
    Ok(if held { Outcome::InFlight } else { Outcome::NotNeeded })
}

/// Frees the lease, optionally moving `next_refresh_at`.
pub(super) async fn release(ctx: &Ctx, id: &str, lease: &str, next: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    query!(
        &db,
        "UPDATE grants SET refresh_lease_id = NULL, refresh_lease_until = NULL, \
         next_refresh_at = COALESCE(?3, next_refresh_at) WHERE id = ?1 AND refresh_lease_id = ?2",
        id,
        lease,
        next
    )
    .exec("release")
    .await?;
    Ok(())
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
    let creds = crate::instances::credentials(ctx, platform).await?;
    if platform.refresh == RefreshKind::SelfExchange && ctx.now() - row.cols.token_issued_at < SELF_EXCHANGE_MIN_AGE {
        release(ctx, row.id(), lease, Some(row.cols.token_issued_at + SELF_EXCHANGE_MIN_AGE)).await?;
        return Ok(Outcome::TooYoung);
    }
    let opened = ctx.keyring().ok().and_then(|keyring| {
        let access = keyring.open(row.id(), "access_token", &row.cols.access_token_enc).ok()?;
        let refresh = match &row.cols.refresh_token_enc {
            Some(enc) => Some(keyring.open(row.id(), "refresh_token", enc).ok()?),
            None => None,
        };
        Some((keyring, access, refresh))
    });
    let Some((keyring, access, refresh)) = opened else {
        return local_failure(ctx, row, lease, "token envelope cannot be opened (key not in TOKEN_KEYS)").await;
    };
    let Some(creds) = creds else {
        return local_failure(ctx, row, lease, "client id or secret missing").await;
    };
    let Some(req) = refresh_request(platform, &creds, &access, refresh.as_deref()) else {
        return expiry_without_refresh(ctx, row, lease).await;
    };
    let answer = fetch::send(&req, &platform.id, Some(row.id()), ctx.timeout_ms()).await;
    let failure = match &answer {
        Err(fetch::TransportError::TooLarge(_)) => {
            push_back(ctx, row, lease).await?;
            log_outcome(row.id(), &platform.id, Failure::Transient);
            return Ok(Outcome::TooLarge);
        }
        Err(_) => Failure::Transient,
        Ok(resp) => match parse_answer(platform, resp.status, &resp.body, ctx.now()) {
            Ok(tokens) => {
                store_refreshed(ctx, &keyring, row, lease, platform, &tokens, refresh.as_deref()).await?;
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
            console_log!(
                "{}",
                json!({"event": "refresh_inconclusive", "grant_id": row.id(), "platform": platform.id, "failure": reason.as_str()})
            );
            release(ctx, row.id(), lease, None).await?;
            return Ok(Outcome::Failed(Failure::Transient));
        }
        Failure::Terminal(reason) => {
            if !disconnect(ctx, row, lease, reason).await? {
                // The answer was about tokens that are no longer stored (a reconnect): the
                // fresh profile stays as it is.
                return Err(superseded(row.id()));
            }
        }
        Failure::Transient => push_back(ctx, row, lease).await?,
    }
    log_outcome(row.id(), &platform.id, failure);
    Ok(Outcome::Failed(failure))
}

/// A refresh that cannot even start for a reason on our side (platform gone from the
/// catalog, envelope under a removed key, credentials missing): pushed back like a transient
/// failure, so it never blocks the profiles behind it, and logged once per streak.
async fn local_failure(ctx: &Ctx, row: &Leased, lease: &str, why: &str) -> ApiResult<Outcome> {
    if row.cols.refresh_failures == 0 {
        console_error!(
            "{}",
            json!({"event": "refresh_skipped", "grant_id": row.id(), "platform": row.grant.platform, "why": why})
        );
    }
    push_back(ctx, row, lease).await?;
    Ok(Outcome::LocalFailure)
}

/// Stores a flagged grant's schedule in its app's mode, with no platform call, and frees the
/// lease. Should the mode have changed again since the lease, the grant stays flagged and due.
async fn reschedule(ctx: &Ctx, row: &Leased, lease: &str, next: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    query!(
        &db,
        &format!(
            "UPDATE grants SET \
         next_refresh_at = CASE WHEN {APP_MODE} = ?4 THEN ?3 ELSE ?5 END, \
         reschedule = CASE WHEN {APP_MODE} = ?4 THEN 0 ELSE 1 END, \
         refresh_lease_id = NULL, refresh_lease_until = NULL WHERE id = ?1 AND refresh_lease_id = ?2"
        ),
        row.id(),
        lease,
        next,
        row.cols.refresh_mode,
        ctx.now()
    )
    .exec("reschedule")
    .await?;
    Ok(())
}

/// Counts a failure, moves the next attempt out with backoff, frees the lease, and sends
/// `profile.refresh_failed` (one per active profile under the grant) for the first failure
/// of a streak, in the same batch.
async fn push_back(ctx: &Ctx, row: &Leased, lease: &str) -> ApiResult<()> {
    // The lease already counted the attempts that died unreleased before this one.
    let failures = row.cols.refresh_failures + 1;
    let next = ctx.now() + backoff(failures as u32, unit());
    let db = ctx.db()?;
    let update = query!(
        &db,
        "UPDATE grants SET refresh_failures = ?3, refresh_failing = 1, next_refresh_at = ?4, \
         refresh_lease_id = NULL, refresh_lease_until = NULL, updated_at = ?5 \
         WHERE id = ?1 AND refresh_lease_id = ?2",
        row.id(),
        lease,
        failures,
        next,
        ctx.now()
    )
    .or_500("prepare refresh failure")?;
    let mut batch = Batch::new(ctx, &db);
    batch.push(update);
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
    console_log!("{}", json!({"event": "refresh_failed", "grant_id": grant_id, "platform": platform, "failure": kind}));
}

/// Platforms without refresh: `profile.expiring` once, seven days ahead; at expiry the grant
/// is `disconnected` / `token_expired`. Both concern only the profiles acting with the
/// grant's token: a Facebook Page's own token does not expire with the user's.
async fn expiry_without_refresh(ctx: &Ctx, row: &Leased, lease: &str) -> ApiResult<Outcome> {
    match row.grant.access_token_expires_at {
        Some(exp) if ctx.now() >= exp => {
            disconnect(ctx, row, lease, DisconnectReason::TokenExpired).await?;
        }
        // Asked early (a forced refresh): nothing to tell yet.
        Some(exp) if exp - ctx.now() > EXPIRING_NOTICE => release(ctx, row.id(), lease, None).await?,
        Some(exp) => {
            let db = ctx.db()?;
            let update = query!(
                &db,
                "UPDATE grants SET expiring_notified = 1, next_refresh_at = ?3, refresh_lease_id = NULL, \
                 refresh_lease_until = NULL WHERE id = ?1 AND refresh_lease_id = ?2 AND expiring_notified = 0",
                row.id(),
                lease,
                exp
            )
            .or_500("prepare expiring")?;
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

/// Marks the grant disconnected, with its profiles, and tells the app (one event per
/// profile), in one batch: once, only while its tokens are still the ones this refresh sent
/// (a reconnect or another refresh that stored meanwhile keeps it alive), and only while this
/// refresh still holds its lease (a refresh whose lease ran out and was taken over may have
/// been answered `invalid_grant` because the new holder's call spent the token first, its
/// rotated tokens not stored yet). A dead grant ends every profile under it; an expired one
/// only those acting with its token. Whether it was disconnected now.
async fn disconnect(ctx: &Ctx, row: &Leased, lease: &str, reason: DisconnectReason) -> ApiResult<bool> {
    let db = ctx.db()?;
    let now = ctx.now();
    let own_token_too = reason != DisconnectReason::TokenExpired;
    let update = query!(
        &db,
        "UPDATE grants SET status = 'disconnected', disconnect_reason = ?2, next_refresh_at = NULL, \
         refresh_lease_id = NULL, refresh_lease_until = NULL, updated_at = ?3 \
         WHERE id = ?1 AND status = 'active' AND access_token_enc = ?4 AND refresh_token_enc IS ?5 \
           AND refresh_lease_id = ?6 RETURNING id",
        row.id(),
        reason.as_str(),
        now,
        row.cols.access_token_enc,
        row.cols.refresh_token_enc,
        lease
    )
    .or_500("prepare disconnect")?;
    let profiles = store::profiles_of_grant(&db, row.id(), own_token_too).await?;
    let ended = query!(
        &db,
        "UPDATE profiles SET status = 'disconnected', disconnect_reason = ?2, updated_at = ?3 \
         WHERE grant_id = ?1 AND status = 'active' AND (?4 = 1 OR access_token_enc IS NULL) AND changes() > 0",
        row.id(),
        reason.as_str(),
        now,
        own_token_too as i32
    )
    .or_500("prepare disconnect profiles")?;
    let views = profiles.into_iter().map(|(p, _)| p.ended(reason.as_str(), now).view()).collect();
    let mut batch = Batch::new(ctx, &db);
    batch.push(update);
    batch.push(ended);
    batch.events(row.app_id(), types::DISCONNECTED, views)?;
    let results = batch.commit().await?;
    // When the tokens changed meanwhile, the grant stays as it is; just free the lease.
    release(ctx, row.id(), lease, None).await?;
    Ok(store::returned_rows(&results, 0))
}
