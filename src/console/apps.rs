//! `GET /console/apps` and `/console/apps/{id}`, and the app page's forms (create and revoke
//! an API key, send a test event). Reads go through `store/` (one statement for the list,
//! one batch of three for an app), actions through the domain (`keys`, `events`): the same
//! verbs as the admin API's. Templates: `connect_links_core::console::apps`.

use super::{done, notice, page, when, Fields, Signed};
use crate::ctx::Ctx;
use crate::store;
use connect_links_core::console::apps::{app_list, app_page, new_key_page};
use connect_links_core::console::layout::Nav;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{decode_cursor, encode_cursor};
use worker::Response;

/// Apps per page of the list.
const PAGE: u32 = 50;

/// The list of apps, newest first, 50 a page (`?after=<cursor>` for the next ones).
pub async fn list(ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    let before = match q.get("after") {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::invalid("This page link is not valid."))?),
        None => None,
    };
    let mut apps = store::console_apps(&ctx.db()?, before, PAGE).await?;
    let next = if apps.len() > PAGE as usize {
        apps.truncate(PAGE as usize);
        apps.last().map(|a| encode_cursor(a.created_at, &a.id))
    } else {
        None
    };
    page(signed, "Apps", Nav::Apps, notice(q).as_ref(), app_list(&apps, next.as_deref(), when))
}

/// One app: its settings, allowlist, keys, platform credentials, webhook and limits.
pub async fn show(ctx: &Ctx, signed: &Signed, q: &Fields, id: &str) -> ApiResult<Response> {
    let (app, keys, creds) = store::console_app(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let title = format!("App {}", app.name);
    page(signed, &title, Nav::Apps, notice(q).as_ref(), app_page(&app, &keys, &creds, &signed.csrf, when))
}

/// Creates an API key: 200 with a page that shows it this once (never in a URL; every
/// answer of the worker is `no-store`).
pub async fn create_key(ctx: &Ctx, signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    let (key_id, key) = crate::keys::create(ctx, id).await?;
    page(signed, "New API key", Nav::Apps, None, new_key_page(id, &key_id, key.secret()))
}

/// Revokes an API key of the app (404 for a key of another app), then back to its page.
pub async fn revoke_key(ctx: &Ctx, _signed: &Signed, _form: &Fields, id: &str, key: &str) -> ApiResult<Response> {
    crate::keys::revoke(ctx, key, Some(id)).await?;
    done(&format!("/console/apps/{id}"), "key_revoked")
}

/// Sends a test event (`webhook.test`) to the app's webhook URL; 409 without one.
pub async fn test_event(ctx: &Ctx, _signed: &Signed, _form: &Fields, id: &str) -> ApiResult<Response> {
    let app = store::get_app(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    if app.webhook_url.is_none() || !crate::events::send_test(ctx, id).await? {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "This app has no webhook URL, so there is nowhere to send a test event. Set one with PATCH /v1/admin/apps/{id}.",
        ));
    }
    done(&format!("/console/apps/{id}"), "test_event_sent")
}
