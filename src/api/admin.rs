//! Operator routes: apps and API keys (`Authorization: Bearer <ADMIN_TOKEN>`).

use super::paging::page_cursor;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::{self, object};
use crate::store;
use connect_links_core::app_limits::AppLimits;
use connect_links_core::brand::{check_accent_color, check_display_name};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::input::{
    check_allowlist, check_name, check_refresh_mode, check_webhook_url, parse_json, CreateApp, PatchApp,
};
use connect_links_core::keys::{hash_api_key, new_api_key, new_webhook_secret};
use connect_links_core::model::{decode_cursor, encode_cursor, AppRow};
use connect_links_core::ownership::ClaimMode;
use connect_links_core::platform_events::forwarding::check_setting;
use connect_links_core::random::new_id;
use connect_links_core::refresh_policy::RefreshMode;
use serde_json::json;
use worker::Response;

/// `POST /v1/admin/apps`: the API key and webhook secret are shown this once.
pub async fn create_app(ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    let input: CreateApp = parse_json(body)?;
    check_name(&input.name)?;
    check_allowlist(&input.allowed_redirect_urls)?;
    if let Some(w) = &input.webhook_url {
        check_webhook_url(w)?;
    }
    let refresh_mode = match &input.refresh_mode {
        Some(m) => check_refresh_mode(m)?,
        None => RefreshMode::Proactive,
    };
    let mut limits = AppLimits::default();
    if let Some(l) = &input.limits {
        limits.apply(l)?;
    }
    let app = AppRow {
        id: new_id("app_")?,
        name: input.name.trim().to_string(),
        allowed_redirect_urls: serde_json::to_string(&input.allowed_redirect_urls).or_500("allowlist json")?,
        webhook_url: input.webhook_url,
        claim: input.claim.unwrap_or(ClaimMode::Required).as_str().to_string(),
        refresh_mode: refresh_mode.as_str().to_string(),
        created_at: ctx.now(),
        limits: limits.to_stored(),
        self_service_credentials: i64::from(input.self_service_credentials.unwrap_or(false)),
        platform_events: match &input.platform_events {
            Some(v) => platform_events_setting(ctx, v)?,
            None => None,
        },
        display_name: input.display_name.as_deref().map(check_display_name).transpose()?,
        accent_color: input.accent_color.as_deref().map(check_accent_color).transpose()?,
        logo_file: None,
    };
    let secret = new_webhook_secret()?;
    let secret_enc = ctx.keyring()?.seal(&app.id, "webhook_secret", secret.secret()).or_500("seal webhook secret")?;
    let (key_id, key) = (new_id("key_")?, new_api_key()?);
    store::insert_app(&ctx.db()?, &app, &secret_enc, &key_id, &hash_api_key(key.secret())).await?;
    respond::json(
        201,
        &object!("app": app.view(&ctx.public_url), "api_key": key.secret(), "api_key_id": key_id, "webhook_secret": secret.secret()),
    )
}

/// An app's `platform_events` setting as stored, checked against the deployment's platforms.
fn platform_events_setting(ctx: &Ctx, v: &serde_json::Value) -> ApiResult<Option<String>> {
    check_setting(v, &|p| ctx.catalog.get(p).is_some())
}

/// `GET /v1/admin/apps`.
pub async fn list_apps(ctx: &Ctx, limit: u32, cursor: Option<&str>) -> ApiResult<Response> {
    let after = match cursor {
        Some(c) => Some(decode_cursor(c).ok_or_else(|| ApiError::invalid("cursor is not valid"))?),
        None => None,
    };
    let mut rows = store::list_apps(&ctx.db()?, after, limit).await?;
    let next = page_cursor(&mut rows, limit, |a| encode_cursor(a.created_at, &a.id));
    let data: Vec<_> = rows.iter().map(|a| a.view(&ctx.public_url)).collect();
    respond::json(200, &object!("data": data, "next_cursor": next))
}

/// `GET /v1/admin/apps/{id}`.
pub async fn get_app(ctx: &Ctx, id: &str) -> ApiResult<Response> {
    let app = store::get_app(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    respond::json(200, &app.view(&ctx.public_url))
}

/// `PATCH /v1/admin/apps/{id}`: name, allowlist, webhook url, claim, refresh mode (a new
/// mode re-schedules the app's grants, see `store::update_app`), limits, whether the app
/// manages its own platform credentials, the platform events it wants, its display name and
/// accent colour (its logo has routes of its own, `api::brand`).
pub async fn patch_app(ctx: &Ctx, id: &str, body: &[u8]) -> ApiResult<Response> {
    let input: PatchApp = parse_json(body)?;
    let db = ctx.db()?;
    let mut app = store::get_app(&db, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    if let Some(name) = input.name {
        check_name(&name)?;
        app.name = name.trim().to_string();
    }
    if let Some(urls) = input.allowed_redirect_urls {
        check_allowlist(&urls)?;
        app.allowed_redirect_urls = serde_json::to_string(&urls).or_500("allowlist json")?;
    }
    if let Some(webhook) = input.webhook_url {
        if let Some(w) = &webhook {
            check_webhook_url(w)?;
        }
        app.webhook_url = webhook;
    }
    if let Some(mode) = input.claim {
        app.claim = mode.as_str().to_string();
    }
    if let Some(mode) = &input.refresh_mode {
        app.refresh_mode = check_refresh_mode(mode)?.as_str().to_string();
    }
    if let Some(changes) = &input.limits {
        let mut limits = app.limits();
        match changes {
            Some(l) => limits.apply(l)?,
            None => limits = AppLimits::default(),
        }
        app.limits = limits.to_stored();
    }
    if let Some(on) = input.self_service_credentials {
        app.self_service_credentials = i64::from(on);
    }
    if let Some(v) = &input.platform_events {
        app.platform_events = platform_events_setting(ctx, v)?;
    }
    if let Some(name) = &input.display_name {
        app.display_name = name.as_deref().map(check_display_name).transpose()?;
    }
    if let Some(color) = &input.accent_color {
        app.accent_color = color.as_deref().map(check_accent_color).transpose()?;
    }
    store::update_app(&db, &app, ctx.now()).await?;
    respond::json(200, &app.view(&ctx.public_url))
}

/// `POST /v1/admin/apps/{id}/api-keys`: another key, for rotation without downtime.
pub async fn create_key(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    let (key_id, key) = crate::keys::create(ctx, app_id).await?;
    respond::json(201, &object!("id": key_id, "api_key": key.secret()))
}

/// `POST /v1/admin/apps/{id}/webhook-secret`: a new webhook secret, shown this once; the old
/// one still signs deliveries (next to the new one) for a day, or not at all when it could
/// not be read (see `sealed_secrets::rotate_webhook_secret`).
pub async fn rotate_webhook_secret(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    let rotated =
        crate::sealed_secrets::rotate_webhook_secret(ctx, app_id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    respond::json(
        200,
        &object!(
            "webhook_secret": rotated.secret.secret(),
            "previous_secret_expires_at": rotated.previous_until.map(connect_links_core::time::rfc3339),
        ),
    )
}

/// `GET /v1/admin/keys`: what each token-encryption key id still protects, so an operator
/// knows when an old kid can leave `TOKEN_KEYS`.
pub async fn keys(ctx: &Ctx) -> ApiResult<Response> {
    let keyring = ctx.keyring()?;
    let usage = store::key_usage(&ctx.db()?, &keyring, ctx.now()).await?;
    respond::json(200, &object!("data": usage))
}

/// `DELETE /v1/admin/api-keys/{id}`: revoked at once.
pub async fn revoke_key(ctx: &Ctx, key_id: &str) -> ApiResult<Response> {
    crate::keys::revoke(ctx, key_id, None).await?;
    respond::no_content()
}

/// `GET /v1/admin/stats`: proxied calls of the last hour per platform, status and source
/// (`platform` answered, `local` refusal, `network` failure), with totals per platform.
pub async fn stats(ctx: &Ctx) -> ApiResult<Response> {
    let now = ctx.now();
    let from_minute = now / 60 - 59;
    let rows = store::proxy_counts(&ctx.db()?, from_minute).await?;
    let mut totals = serde_json::Map::new();
    for r in &rows {
        let t = totals.entry(r.platform.clone()).or_insert(json!(0));
        *t = json!(t.as_u64().unwrap_or(0) + r.calls);
    }
    respond::json(
        200,
        &json!({
            "proxy": {
                "from": connect_links_core::time::rfc3339(from_minute * 60),
                "to": connect_links_core::time::rfc3339(now),
                "data": rows,
                "totals": totals,
            }
        }),
    )
}

/// `GET /v1/admin/platform-events/stats`: each platform's counters of platform events in over
/// the last 24 hours (the current hour and the 23 before it).
pub async fn platform_event_stats(ctx: &Ctx) -> ApiResult<Response> {
    let since = crate::platform_events::hour(ctx.now()) - 23 * 3600;
    let data = store::platform_event_counts(&ctx.db()?, since).await?;
    let since = connect_links_core::time::rfc3339(since);
    respond::json_text(200, &format!(r#"{{"data":{data},"since":"{since}"}}"#))
}
