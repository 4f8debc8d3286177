//! The proxy's budgets: which `RateLimiter` objects and counters a call spends before it
//! goes, and what the platform's answer says about them afterwards.
//!
//! A platform app's budgets (its client id's, shared by every app of the deployment) are
//! shared fairly between the apps (`ratelimit::fair`): a call spends as its app. A grant
//! minted with an app's own credentials spends its own platform app's, which no other app
//! shares. Where each part of a platform app lives is `ratelimit::layout`.

use crate::ctx::Ctx;
use crate::limiter;
use crate::limiter::leases::Spent;
use crate::respond::object;
use connect_links_core::model::{AppRow, ProfileRow};
use connect_links_core::platforms::Platform;
use connect_links_core::proxy::{self as rules, Limits, Scope};
use connect_links_core::ratelimit::fair::Tenant;
use connect_links_core::ratelimit::layout::{self, PlatformApp};
use connect_links_core::ratelimit::{Budget, Decision, Report, Take};

/// The limiter object of one platform account through one platform app (shared by every
/// profile of it, in every app on that platform app: the platform counts per account and
/// client id). `credential_ref`: the app's own credentials that minted the profile's grant.
pub fn account_object(p: &ProfileRow, credential_ref: Option<&str>) -> String {
    match credential_ref {
        None => format!("account:{}:{}", p.platform, p.platform_user_id),
        Some(r) => format!("account:{}@{r}:{}", p.platform, p.platform_user_id),
    }
}

/// The platform app a call of `platform` spends: the deployment's, or the app's own
/// credentials that minted the grant.
fn platform_app<'a>(platform: &'a Platform, credential_ref: Option<&'a str>) -> PlatformApp<'a> {
    PlatformApp { platform: &platform.id, credential_ref }
}

/// Whether the platform reports limits of its whole client id after a call (kept as blocks
/// in the platform app's block shards).
fn reports_app_limits(platform: &Platform) -> bool {
    matches!(platform.proxy.rate_headers, rules::RateHeaders::RedditRateLimit | rules::RateHeaders::MetaUsage)
}

/// Logs that a limiter could not be reached (the call goes on).
fn limiter_unavailable(e: &worker::Error) {
    crate::log::warn(&object!("event": "limiter_unavailable", "error": e.to_string()));
}

/// The counters a call of `class` spends in the account's object: the class's own (where a
/// remembered 429 lives) and `*` (account-wide blocks), then each matching budget rule's.
fn account_takes(platform: &Platform, class: &str) -> Vec<Take> {
    let mut out: Vec<Take> =
        vec![Take { key: "*".into(), budget: None }, Take { key: class.to_string(), budget: None }];
    for rule in platform.proxy.budgets.iter().filter(|r| r.scope == Scope::Profile && r.matches(class)) {
        let budget = Some(Budget { limit: rule.limit, window_secs: rule.window_secs });
        match out.iter_mut().find(|t| t.key == rule.endpoint) {
            Some(t) => t.budget = budget,
            None => out.push(Take { key: rule.endpoint.clone(), budget }),
        }
    }
    out
}

/// Whether the platform app's limiters are asked at all: when a rule of the app matches, or
/// when the platform reports app-wide limits that may be remembered.
fn app_counted(platform: &Platform, class: &str) -> bool {
    platform.proxy.budgets.iter().any(|r| r.scope == Scope::App && r.matches(class)) || reports_app_limits(platform)
}

/// Asks the account's limiter, then (only when it allows) the platform app's, whether the
/// call may go, spending a unit of each matching budget, the platform app's as `app`. All
/// or nothing across the two: a remembered account-level 429 spends no share of the
/// platform app's budgets, and a call the app's share refuses gives the account's units
/// back (one more round trip, on that refusal only). A limiter that cannot be reached lets
/// the call go (and says so in the log): these objects are shared by every app, so a broken
/// binding must not stop every call, and the platform still refuses what it will not take.
pub async fn check_budgets(
    ctx: &Ctx,
    platform: &Platform,
    client: Option<&str>,
    account: &str,
    class: &str,
    app: &AppRow,
) -> Decision {
    let now = ctx.now();
    let takes = account_takes(platform, class);
    // Leased (`limiter::leases`): most calls far from a budget's end spend a unit this isolate
    // holds already.
    let account_spent = match limiter::leases::take(ctx, account, takes.clone()).await {
        Ok(Spent { decision: Decision::Allow, .. }) => true,
        Ok(Spent { decision: Decision::Refuse { retry_after_secs }, .. }) => {
            return Decision::Refuse { retry_after_secs: retry_after_secs.max(1) }
        }
        Err(e) => {
            limiter_unavailable(&e);
            false
        }
    };
    if !app_counted(platform, class) {
        return Decision::Allow;
    }
    match take_app_share(ctx, platform, client, class, app, now).await {
        Ok(Decision::Allow) => Decision::Allow,
        Ok(Decision::Refuse { retry_after_secs }) => {
            if account_spent && takes.iter().any(|t| t.budget.is_some()) {
                // The call's unit goes back, with what this isolate's lease of the account still
                // held (the platform app's budget is tight: no lease of it is kept meanwhile).
                let (at, units) = match limiter::leases::release(account, &takes) {
                    Some((at, held)) => (at, held.saturating_add(1)),
                    None => (now, 1),
                };
                if let Err(e) = limiter::refund(&ctx.env, account, at, takes, units).await {
                    limiter_unavailable(&e);
                }
            }
            Decision::Refuse { retry_after_secs: retry_after_secs.max(1) }
        }
        Err(e) => {
            limiter_unavailable(&e);
            Decision::Allow
        }
    }
}

/// Spends the call's units of the platform app's budgets as `app`: first its block shard is
/// asked for a remembered app-wide block (spending nothing), then each matching budget's
/// own object takes a unit under the fair-share rule. Not all or nothing across objects: a
/// unit spent in one budget stays spent when a later one refuses (two app budgets matching
/// one class: none today).
async fn take_app_share(
    ctx: &Ctx,
    platform: &Platform,
    client: Option<&str>,
    class: &str,
    app: &AppRow,
    now: i64,
) -> worker::Result<Decision> {
    if reports_app_limits(platform) {
        let blocks = vec![Take { key: "*".into(), budget: None }];
        let shard = layout::block_object(platform_app(platform, client), &app.id);
        let d = limiter::leases::take(ctx, &shard, blocks).await?.decision;
        if d != Decision::Allow {
            return Ok(d);
        }
    }
    let tenant = Tenant { id: app.id.clone(), weight: app.limits().budget_weight() };
    for rule in platform.proxy.budgets.iter().filter(|r| r.scope == Scope::App && r.matches(class)) {
        let budget = Some(Budget { limit: rule.limit, window_secs: rule.window_secs });
        let take = vec![Take { key: rule.endpoint.clone(), budget }];
        let name = layout::budget_object(platform_app(platform, client), &rule.endpoint);
        let d = limiter::take_as(&ctx.env, &name, now, take, tenant.clone()).await?;
        if d != Decision::Allow {
            return Ok(d);
        }
    }
    Ok(Decision::Allow)
}

/// Records what the platform said about its limits. What blocks later calls is written
/// before the answer goes out (the next call must see it); the rest after. What the platform
/// says of its whole client id: a block goes to every block shard, a remaining count to the
/// client-id-wide budget (`*`), if the platform declares one.
pub async fn record_limits(
    ctx: &Ctx,
    platform: &Platform,
    client: Option<&str>,
    account: &str,
    class: &str,
    limits: &Limits,
    now: i64,
) {
    if limits.is_empty() {
        return;
    }
    // This isolate's leases end at once where the platform blocks or nearly has; from then on
    // each call asks the limiter, which leases nothing on counters blocked in the last minute
    // (a lease another request of this isolate took before the report landed lasts at most
    // its second).
    if limits.ends_account_leases(now) {
        limiter::leases::drop_object(account);
    }
    if limits.ends_app_leases(now) {
        layout::block_objects(platform_app(platform, client)).iter().for_each(|name| limiter::leases::drop_object(name));
    }
    let report = |key: &str, remaining: Option<(u32, i64)>, blocked_until: Option<i64>| {
        (remaining.is_some() || blocked_until.is_some()).then(|| Report {
            key: key.to_string(),
            remaining: remaining.map(|(n, _)| n),
            reset_at: remaining.map(|(_, t)| t),
            blocked_until,
        })
    };
    let account_reports: Vec<Report> = [
        report(class, limits.profile_remaining, limits.profile_blocked_until),
        report("*", None, limits.account_blocked_until),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut targets = vec![(account.to_string(), account_reports)];
    let app_blocks = limits.app_blocked_until.is_some_and(|t| t > now)
        || limits.app_remaining.is_some_and(|(left, reset)| left == 0 && reset > now);
    if let Some(r) = report("*", limits.app_remaining, limits.app_blocked_until) {
        if app_blocks {
            targets.extend(
                layout::block_objects(platform_app(platform, client)).into_iter().map(|name| (name, vec![r.clone()])),
            );
        }
        let wide_budget = platform.proxy.budgets.iter().any(|b| b.scope == Scope::App && b.endpoint == "*");
        if wide_budget && r.remaining.is_some() {
            let counted = Report { blocked_until: None, ..r };
            targets.push((layout::budget_object(platform_app(platform, client), "*"), vec![counted]));
        }
    }
    let env = ctx.env.clone();
    let job = async move {
        let sends = targets.into_iter().filter(|(_, reports)| !reports.is_empty()).map(|(name, reports)| {
            let env = env.clone();
            async move {
                if let Err(e) = limiter::report(&env, &name, now, reports).await {
                    limiter_unavailable(&e);
                }
            }
        });
        futures_util::future::join_all(sends).await;
    };
    if limits.blocks(now) {
        job.await;
    } else {
        ctx.after_answer(job).await;
    }
}
