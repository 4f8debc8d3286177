//! Operator routes for an app's own platform credentials ("bring your own platform app"):
//! `PUT`, `GET` and `DELETE` under `/v1/admin/apps/{id}/platforms`. The answers show that a
//! secret is set and its fingerprint, never the secret. The rules are the domain's
//! (`crate::credentials`).

use crate::ctx::Ctx;
use crate::respond;
use crate::store;
use connect_links_core::app_credentials::PutCredentials;
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::input::parse_json;
use serde_json::json;
use worker::Response;

/// 404 unless app `id` exists.
async fn require_app(ctx: &Ctx, id: &str) -> ApiResult<()> {
    store::get_app(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    Ok(())
}

/// `PUT /v1/admin/apps/{id}/platforms/{platform}`: stores the app's own client for the
/// platform (built-in or custom; 422 `platform_unsupported` for per-instance ones).
pub async fn put(ctx: &Ctx, app_id: &str, platform: &str, body: &[u8]) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    let p = ctx.catalog.get(platform).ok_or_else(|| ApiError::not_found("platform"))?;
    crate::credentials::accepts(p)?;
    let input: PutCredentials = parse_json(body)?;
    input.check()?;
    let row = crate::credentials::put(ctx, app_id, p, &input).await?;
    respond::json(200, &row.view(&ctx.public_url))
}

/// `GET /v1/admin/apps/{id}/platforms`: the app's own credentials, by platform.
pub async fn list(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    let rows = crate::credentials::list(ctx, app_id).await?;
    let data: Vec<_> = rows.iter().map(|r| r.view(&ctx.public_url)).collect();
    respond::json(200, &json!({ "data": data }))
}

/// `DELETE /v1/admin/apps/{id}/platforms/{platform}`: 409 while active grants use the
/// credentials, unless `force` (they are disconnected, reason `credentials_removed`).
pub async fn delete(ctx: &Ctx, app_id: &str, platform: &str, force: bool) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    crate::credentials::remove(ctx, app_id, platform, force).await?;
    respond::no_content()
}
