//! The proxy's budgets: which `RateLimiter` objects and counters a call spends before it
//! goes, and what the platform's answer says about them afterwards.

use crate::ctx::Ctx;
use crate::limiter;
use connect_links_core::model::ProfileRow;
use connect_links_core::platforms::Platform;
use connect_links_core::proxy::{self as rules, Limits, Scope};
use connect_links_core::ratelimit::{Budget, Decision, Report, Take};
use serde_json::json;
use worker::console_warn;

/// The limiter object of one platform account (shared by every profile of it, in every
/// app: the platform counts per account and client id).
pub fn account_object(p: &ProfileRow) -> String {
    format!("account:{}:{}", p.platform, p.platform_user_id)
}

/// The limiter object of one platform app (this deployment's client id).
fn app_object(platform: &str) -> String {
    format!("app:{platform}")
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
/// go, spending a unit of each matching budget. A limiter that cannot be reached lets the
/// call go (and says so in the log): a broken binding must not stop every call.
pub async fn check_budgets(ctx: &Ctx, platform: &Platform, account: &str, class: &str) -> Decision {
    let now = ctx.now();
    let profile = limiter::take(&ctx.env, account, now, takes(platform, class, Scope::Profile));
    let decisions = if app_counted(platform, class) {
        let app_name = app_object(&platform.id);
        let app = limiter::take(&ctx.env, &app_name, now, takes(platform, class, Scope::App));
        let (p, a) = futures_util::future::join(profile, app).await;
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

/// Records what the platform said about its limits. What blocks later calls is written
/// before the answer goes out (the next call must see it); the rest after.
pub async fn record_limits(ctx: &Ctx, platform: &Platform, account: &str, class: &str, limits: &Limits, now: i64) {
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
    let app_reports: Vec<Report> = report("*", limits.app_remaining, limits.app_blocked_until).into_iter().collect();
    let env = ctx.env.clone();
    let names = (account.to_string(), app_object(&platform.id));
    let job = async move {
        for (name, reports) in [(names.0, account_reports), (names.1, app_reports)] {
            if reports.is_empty() {
                continue;
            }
            if let Err(e) = limiter::report(&env, &name, now, reports).await {
                limiter_unavailable(&e);
            }
        }
    };
    if limits.blocks(now) {
        job.await;
    } else {
        ctx.after_answer(job).await;
    }
}
