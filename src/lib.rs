//! connect-links: the Workers entry points. The route table lives in `routes.rs`; the
//! logic lives in the `connect-links-core` crate and in the flow modules here.

// The flows, grouped by how work enters: app and operator routes, pages, cron and queue jobs.
mod api;
mod browser;
mod inbound;
mod jobs;
// The connect flow after consent, shared by routes and jobs.
mod accounts;
mod connect;
// Events to apps: a change and the events reporting it in one batch, then delivered.
mod events;
// What several flows do to a grant: use, refresh and check its token, disconnect, revoke,
// and the landing of a connect's accounts; what several flows do to a link.
mod grants;
mod links;
// Webhook secrets (with rotation) and the worker's own secrets, sealed in D1.
mod sealed_secrets;
// Plumbing: no imports from the flows above.
mod body;
mod ctx;
mod error;
mod fetch;
mod instances;
// Configuration and API-key lookups kept by the isolate between requests.
mod isolate;
// The rate-limit Durable Object (exported to the runtime as `RateLimiter`) and its client,
// and the per-app limits counted in it.
mod limiter;
mod respond;
mod routes;
mod store;
mod tenant;

use grants::{refresh_one, Trigger};
use jobs::refresh::RefreshMessage;
use serde_json::json;
use worker::{
    console_error, event, Context, Env, MessageBatch, MessageExt, Request, Response, Result, ScheduleContext,
    ScheduledEvent,
};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(routes::handle(req, env, ctx).await)
}

/// The cron trigger: the lifecycle jobs side by side (`jobs::scheduled`): refresh due grants
/// (or enqueue them), check tokens that never expire, retry webhooks, housekeeping.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let ctx = ctx::Ctx::from_env(env);
    if let Err(e) = jobs::scheduled(&ctx).await {
        console_error!("{}", json!({"event": "cron_failed", "error": e.to_string()}));
    }
}

/// Refresh jobs from `REFRESH_QUEUE`: each message is acked or retried on its own, and the
/// handler never fails as a whole.
#[event(queue)]
async fn queue(batch: MessageBatch<RefreshMessage>, env: Env, _ctx: Context) -> Result<()> {
    let ctx = ctx::Ctx::from_env(env);
    for message in batch.iter() {
        match message {
            Ok(m) => {
                let trigger = Trigger::Queue { since_ms: m.body().enqueued_ms };
                match refresh_one(&ctx, &m.body().grant_id, trigger).await {
                    Ok(_) => m.ack(),
                    Err(_) => m.retry(),
                }
            }
            Err(e) => console_error!("{}", json!({"event": "queue_message_unreadable", "error": e.to_string()})),
        }
    }
    Ok(())
}
