//! The app behind a request: which app its API key names (looked up in D1, kept by the
//! isolate for a few seconds), and its limits as the routes apply them: the request rates of `POST /v1/connect-links`,
//! `POST /v1/profiles` and the proxy, and the daily cap on new Mastodon instance
//! registrations, counted in the app's own `RateLimiter` object (`tenant:<app id>`). The
//! settings and their defaults are `connect_links_core::app_limits`.
//!
//! A limiter that cannot be asked (an error from the object or its binding) refuses the
//! request: 429 `rate_limited` with `Retry-After: 1`, logged as `limiter_unavailable`. The
//! app's own object is the one its own requests load, so an app flooding it past what one
//! Durable Object handles would otherwise turn the overload into unlimited requests. (The
//! proxy's platform budgets fail open instead: their objects are shared by every app, and
//! the platform itself still refuses.)

use crate::ctx::{auth_header, now_ms, Ctx};
use crate::error::{ApiError, ApiResult};
use crate::respond::{self, object, Audience};
use crate::limiter::leases::Spent;
use crate::{isolate, limiter, store};
use connect_links_core::app_limits::{
    rate_limit_fields, tenant_object, AppRoute, RATE_WINDOW_SECS, REGISTRATIONS_KEY, REGISTRATIONS_WINDOW_SECS,
};
use connect_links_core::keys::{bearer, hash_api_key};
use connect_links_core::model::AppRow;
use connect_links_core::ratelimit::{Budget, Decision, Quota, Take};
use std::future::Future;
use worker::{Request, Response};

/// The app whose live API key is the request's bearer token, or 401. A key seen live
/// less than `API_KEY_CACHE_MS` ago (default [`isolate::APP_CACHE_MS`]; 0 turns the
/// cache off) is not looked up again: a key revoked through another isolate may work
/// here for that long. Unknown keys are always looked up.
pub async fn require_app(ctx: &Ctx, req: &Request) -> ApiResult<AppRow> {
    let given = auth_header(req);
    let key = bearer(given.as_deref()).filter(|k| k.starts_with("ck_")).ok_or_else(ApiError::unauthorized)?;
    let hash = hash_api_key(key);
    let max_age = ctx.number_var("API_KEY_CACHE_MS", 0..=60_000).unwrap_or(isolate::APP_CACHE_MS);
    let now = now_ms();
    if let Some(app) = isolate::cached_app(&hash, now, max_age) {
        return Ok(app);
    }
    let generation = isolate::generation();
    let app = store::app_by_key_hash(&ctx.db()?, &hash).await?.ok_or_else(ApiError::unauthorized)?;
    if max_age > 0 {
        isolate::remember_app(&hash, now, &app, generation);
    }
    Ok(app)
}

/// Where an app stands on a rate-limited route after a request was let through.
pub struct Admitted {
    route: AppRoute,
    /// `None` when the limiter could not be asked.
    quota: Option<Quota>,
}

impl Admitted {
    /// Adds the `RateLimit-Policy` and `RateLimit` fields to an answer (appended, so that a
    /// platform's own fields passed back by the proxy stay: both are lists).
    pub fn stamp(&self, resp: &mut Response) {
        if let Some(q) = &self.quota {
            let (policy, now) =
                rate_limit_fields(self.route.policy(), q.limit, RATE_WINDOW_SECS, q.remaining, q.reset_secs);
            let h = resp.headers_mut();
            let _ = h.append("ratelimit-policy", &policy);
            let _ = h.append("ratelimit", &now);
        }
    }
}

/// Counts one request of `app` on `route`. `Err` is the 429 to answer: `rate_limited` with
/// `Retry-After` and the `RateLimit` fields (without them when the limiter could not be
/// asked: it fails closed, see the module's doc).
pub async fn admit(ctx: &Ctx, app: &AppRow, route: AppRoute) -> ApiResult<Result<Admitted, Response>> {
    let limit = app.limits().per_minute(route);
    let take = Take { key: route.key().into(), budget: Some(Budget { limit, window_secs: RATE_WINDOW_SECS }) };
    // Leased (`limiter::leases`): far from the limit, most requests spend a unit this isolate
    // holds already; near it, every request asks the object.
    match limiter::leases::take(ctx, &tenant_object(&app.id), vec![take]).await {
        Ok(Spent { decision: Decision::Allow, quotas, .. }) => Ok(Ok(Admitted { route, quota: quotas.into_iter().next() })),
        Ok(Spent { decision: Decision::Refuse { retry_after_secs }, quotas, .. }) => {
            let e = ApiError::rate_limited(
                format!("this app made more than {limit} {} requests in {RATE_WINDOW_SECS} s", route.policy()),
                retry_after_secs,
            );
            let mut resp = respond::error(&e, Audience::Api);
            Admitted { route, quota: quotas.into_iter().next() }.stamp(&mut resp);
            Ok(Err(resp))
        }
        Err(e) => {
            unavailable(&e);
            Ok(Err(respond::error(&not_counted(), Audience::Api)))
        }
    }
}

/// Runs `work` (a route's handler, not started yet) if the app's rate on `route` allows it,
/// and stamps its answer with the app's `RateLimit` fields, errors included (the request
/// was counted either way). `work` is a `dyn` future so this is one function for every
/// route it guards, not a copy per route (wasm size).
pub async fn limited(
    ctx: &Ctx,
    app: &AppRow,
    route: AppRoute,
    work: std::pin::Pin<&mut dyn Future<Output = ApiResult<Response>>>,
) -> ApiResult<Response> {
    let admitted = match admit(ctx, app, route).await? {
        Ok(a) => a,
        Err(refusal) => return Ok(refusal),
    };
    let mut resp = work.await.unwrap_or_else(|e| respond::error(&e, Audience::Api));
    admitted.stamp(&mut resp);
    Ok(resp)
}

/// Counts one new Mastodon instance registration an app's link causes, before any call to
/// the instance: 429 `rate_limited` once the app's daily cap is spent (a cap of 0 allows
/// none: the app's links reach only instances a client is registered with already).
pub async fn spend_registration(ctx: &Ctx, app: &AppRow) -> ApiResult<()> {
    let cap = app.limits().instance_registrations_per_day();
    let refused = |secs: i64| {
        ApiError::rate_limited(
            format!(
                "this app's links registered this deployment with {cap} new instances in the last day, its cap; \
                 links to instances already registered still work"
            ),
            secs,
        )
    };
    if cap == 0 {
        return Err(refused(REGISTRATIONS_WINDOW_SECS));
    }
    let take = Take {
        key: REGISTRATIONS_KEY.into(),
        budget: Some(Budget { limit: cap, window_secs: REGISTRATIONS_WINDOW_SECS }),
    };
    match limiter::take(&ctx.env, &tenant_object(&app.id), ctx.now(), vec![take]).await {
        Ok(Decision::Allow) => Ok(()),
        Ok(Decision::Refuse { retry_after_secs }) => Err(refused(retry_after_secs)),
        Err(e) => {
            unavailable(&e);
            Err(not_counted())
        }
    }
}

/// 429 for a request the app's limiter could not count (it fails closed).
fn not_counted() -> ApiError {
    ApiError::rate_limited("this app's request counter is busy and could not count this request; try again", 1)
}

/// 429 for an app at its cap of pending connect links, with the time its first one expires.
pub fn too_many_pending(cap: u32, first_expiry_in: Option<i64>) -> ApiError {
    ApiError::rate_limited(
        format!("this app holds {cap} pending connect links, its cap; one frees when it completes or expires"),
        first_expiry_in.unwrap_or(1),
    )
}

/// Logs that an app's limiter could not be asked (the request is refused).
fn unavailable(e: &worker::Error) {
    crate::log::warn(&object!("event": "limiter_unavailable", "scope": "app", "error": e.to_string()));
}
