//! `GET /console/webhooks` (recent deliveries, newest first, by app and state) and
//! `POST /console/webhooks/{id}/retry` (one attempt now, through the domain's `events`).

use super::{done, notice, page, when, Fields, Signed};
use crate::ctx::Ctx;
use crate::{events, store};
use connect_links_core::console::layout::Nav;
use connect_links_core::console::webhooks::{webhooks_body, Filter, State, PAGE};
use connect_links_core::model::decode_cursor;
use connect_links_core::error::ApiResult;
use worker::Response;

/// Recent deliveries: [`PAGE`] per page (one more is read to know whether there is a next).
pub async fn list(ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    let filter = Filter {
        app: q.get("app").map(str::to_string),
        state: q.get("state").and_then(State::parse),
        event: q.get("event").map(str::to_string),
        before: q.get("before").and_then(decode_cursor),
    };
    let (rows, apps) = store::console_webhooks(&ctx.db()?, &filter, PAGE + 1).await?;
    page(signed, "Webhooks", Nav::Webhooks, notice(q).as_ref(), webhooks_body(&rows, &apps, &filter, &signed.csrf, when))
}

/// Tries one delivery again now, then shows that event with its new status.
pub async fn retry(ctx: &Ctx, _signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    events::retry_now(ctx, id).await?;
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    done(&format!("/console/webhooks?event={id}"), "webhook_retried")
}
