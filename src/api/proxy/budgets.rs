//! The proxy's budgets: which `RateLimiter` objects and counters a call spends before it
//! goes, and what the platform's answer says about them afterwards.
//!
//! A platform app's budgets (its client id's, shared by every app of the deployment) are
//! split over shards and shared fairly between the apps (`ratelimit::fair`): a call spends
//! as its app, at the app's home shard first.

use crate::ctx::Ctx;
use crate::limiter;
use connect_links_core::model::{AppRow, ProfileRow};
use connect_links_core::platforms::Platform;
use connect_links_core::proxy::{self as rules, Limits, Scope};
use connect_links_core::ratelimit::fair::{self, Tenant};
use connect_links_core::ratelimit::{Budget, Decision, Report, Take};
use serde_json::json;
use worker::console_warn;

/// The limiter object of one platform account (shared by every profile of it, in every
/// app: the platform counts per account and client id).
pub fn account_object(p: &ProfileRow) -> String {
    format!("account:{}:{}", p.platform, p.platform_user_id)
}

/// How many shards the platform app's budgets are split into (`fair::shard_count`).
fn shards(platform: &Platform) -> u32 {
    fair::shard_count(platform.proxy.budgets.iter().filter(|r| r.scope == Scope::App).map(|r| r.limit))
}

/// Logs that a limiter could not be reached (the call goes on).
fn limiter_unavailable(e: &worker::Error) {
    console_warn!("{}", json!({"event": "limiter_unavailable", "error": e.to_string()}));
}

/// The counters a call of `class` spends in one scope: for the account, the class's own
/// (where a remembered 429 lives) and `*` (account-wide blocks); for the app, `*`; then
/// each matching budget rule's.
fn takes(platform: &Platform, class: &str, scope: Scope) -> Vec<Take> {
    let mut out: Vec<Take> = vec![Take { key: "*".into(), budget: None }];
    if scope == Scope::Profile {
        out.push(Take { key: class.to_string(), budget: None });
    }
    for rule in platform.proxy.budgets.iter().filter(|r| r.scope == scope && r.matches(class)) {
        let budget = Some(Budget { limit: rule.limit, window_secs: rule.window_secs });
        match out.iter_mut().find(|t| t.key == rule.endpoint) {
            Some(t) => t.budget = budget,
            None => out.push(Take { key: rule.endpoint.clone(), budget }),
        }
    }
    out
}

/// Whether the platform app's limiter is asked at all: when a rule of the app matches, or
/// when the platform reports app-wide limits that may be remembered there.
fn app_counted(platform: &Platform, class: &str) -> bool {
    platform.proxy.budgets.iter().any(|r| r.scope == Scope::App && r.matches(class))
        || matches!(platform.proxy.rate_headers, rules::RateHeaders::RedditRateLimit | rules::RateHeaders::MetaUsage)
}

/// Asks the account's limiter (and the platform app's, when it counts) whether the call may
/// go, spending a unit of each matching budget, the platform app's as `app`. A limiter that
/// cannot be reached lets the call go (and says so in the log): a broken binding must not
/// stop every call.
pub async fn check_budgets(ctx: &Ctx, platform: &Platform, account: &str, class: &str, app: &AppRow) -> Decision {
    let now = ctx.now();
    let profile = limiter::take(&ctx.env, account, now, takes(platform, class, Scope::Profile));
    let decisions = if app_counted(platform, class) {
        let (p, a) = futures_util::future::join(profile, take_app_share(ctx, platform, class, app, now)).await;
        vec![p, a]
    } else {
        vec![profile.await]
    };
    let mut wait = 0;
    for d in decisions {
        match d {
            Ok(Decision::Allow) => {}
            Ok(Decision::Refuse { retry_after_secs }) => wait = wait.max(retry_after_secs.max(1)),
            Err(e) => limiter_unavailable(&e),
        }
    }
    if wait > 0 {
        Decision::Refuse { retry_after_secs: wait }
    } else {
        Decision::Allow
    }
}

/// Spends the call's units of the platform app's budgets as `app`, under the fair-share
/// rule: at the app's home shard, then, while a budget of the call is refused, at the next
/// shards (each holds its part of every budget), so an app alone still reaches the whole
/// budget. Refused everywhere: the shortest wait. Only a call that spends a budget moves
/// on; one that only checks remembered blocks (which every shard holds) asks its home.
async fn take_app_share(
    ctx: &Ctx,
    platform: &Platform,
    class: &str,
    app: &AppRow,
    now: i64,
) -> worker::Result<Decision> {
    let n = shards(platform);
    let tenant = Tenant { id: app.id.clone(), weight: app.limits().budget_weight() };
    let budgeted = platform.proxy.budgets.iter().any(|r| r.scope == Scope::App && r.matches(class));
    let mut shortest: Option<i64> = None;
    for shard in fair::shard_order(fair::home_shard(&app.id, n), n) {
        let mut part = takes(platform, class, Scope::App);
        for b in part.iter_mut().filter_map(|t| t.budget.as_mut()) {
            b.limit = fair::shard_limit(b.limit, n, shard);
        }
        let name = fair::shard_object(&platform.id, shard);
        match limiter::take_as(&ctx.env, &name, now, part, tenant.clone()).await? {
            Decision::Allow => return Ok(Decision::Allow),
            Decision::Refuse { retry_after_secs } => {
                shortest = Some(shortest.map_or(retry_after_secs, |s| s.min(retry_after_secs)));
            }
        }
        if !budgeted {
            break;
        }
    }
    Ok(Decision::Refuse { retry_after_secs: shortest.unwrap_or(1) })
}

/// Records what the platform said about its limits. What blocks later calls is written
/// before the answer goes out (the next call must see it); the rest after. What the platform
/// says of its app-wide limits goes to the calling app's home shard, as that shard's part;
/// a block goes to every shard.
pub async fn record_limits(
    ctx: &Ctx,
    platform: &Platform,
    account: &str,
    class: &str,
    app_id: &str,
    limits: &Limits,
    now: i64,
) {
    if limits.is_empty() {
        return;
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
    let n = shards(platform);
    let app_remaining = limits.app_remaining.map(|(left, reset)| (fair::shard_remaining(left, n), reset));
    let app_reports: Vec<Report> = report("*", app_remaining, limits.app_blocked_until).into_iter().collect();
    let app_blocks = limits.app_blocked_until.is_some_and(|t| t > now)
        || limits.app_remaining.is_some_and(|(left, reset)| left == 0 && reset > now);
    let mut targets = vec![(account.to_string(), account_reports)];
    if !app_reports.is_empty() {
        let shards: Vec<u32> = if app_blocks { (0..n).collect() } else { vec![fair::home_shard(app_id, n)] };
        targets.extend(shards.into_iter().map(|i| (fair::shard_object(&platform.id, i), app_reports.clone())));
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
