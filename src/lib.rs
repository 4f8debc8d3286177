//! connect-links: the Workers entry points. The route table lives in `routes.rs`; the
//! logic lives in the `connect-links-core` crate and in the flow modules here.

// Entry: the route table, which names every flow's handlers.
mod routes;
// The flows, grouped by how work enters: app and operator routes, pages, the operator's console, credentials posted
// for a profile, platform webhooks, cron and queue jobs. They never call each other.
mod api;
mod browser;
mod connect;
mod console;
mod inbound;
mod jobs;
// The domain: what several flows do, written once. The accounts behind a login; events to
// apps (a change and its events in one batch, then delivered); what flows do to a grant
// (use, refresh and check its token, disconnect, revoke, land a connect's accounts) and to a
// link; platforms per account server and their instance clients; webhook secrets and the
// worker's own secrets, sealed in D1; the app behind a request and its limits; apps' own
// platform credentials and which client a connect uses.
mod accounts;
mod credentials;
mod events;
mod grants;
mod instances;
mod keys;
mod links;
mod platform_events;
mod sealed_secrets;
mod tenant;
// Storage: every SQL statement, one file per table family.
mod store;
// Plumbing: bindings, errors, outbound calls, request bodies, answers, log lines, per-isolate caches
// and the rate-limit Durable Object (exported to the runtime as `RateLimiter`); no imports
// from the layers above.
mod assets;
mod body;
mod ctx;
mod error;
mod fetch;
mod isolate;
mod limiter;
mod log;
mod pages;
mod respond;

use crate::respond::object;
use grants::{refresh_one, Trigger};
use jobs::refresh::RefreshMessage;
use worker::{event, Context, Env, MessageBatch, MessageExt, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(routes::handle(req, env, ctx).await)
}

/// The cron trigger: the lifecycle jobs side by side (`jobs::scheduled`): refresh due grants
/// (or enqueue them), check tokens that never expire, retry webhooks, housekeeping.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let ctx = ctx::Ctx::from_env(env);
    // The cron refreshes, disconnects and deletes: the proxy's kept profile rows go.
    isolate::forget_profiles();
    if let Err(e) = jobs::scheduled(&ctx).await {
        crate::log::error(&object!("event": "cron_failed", "error": e.to_string()));
    }
    isolate::forget_profiles();
}

/// Refresh jobs from `REFRESH_QUEUE`: each message is acked or retried on its own, and the
/// handler never fails as a whole.
#[event(queue)]
async fn queue(batch: MessageBatch<RefreshMessage>, env: Env, _ctx: Context) -> Result<()> {
    let ctx = ctx::Ctx::from_env(env);
    isolate::forget_profiles();
    for message in batch.iter() {
        match message {
            Ok(m) => {
                let trigger = Trigger::Queue { since_ms: m.body().enqueued_ms };
                match refresh_one(&ctx, &m.body().grant_id, trigger).await {
                    Ok(_) => m.ack(),
                    Err(_) => m.retry(),
                }
            }
            Err(e) => crate::log::error(&object!("event": "queue_message_unreadable", "error": e.to_string())),
        }
    }
    isolate::forget_profiles();
    Ok(())
}
