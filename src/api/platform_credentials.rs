//! Routes for an app's own platform credentials ("bring your own platform app"): the
//! operator's `PUT`, `GET` and `DELETE` under `/v1/admin/apps/{id}/platforms`, and the same
//! under the app's own key (`/v1/platform-credentials`) when the app's
//! `self_service_credentials` setting is on. Both reach the same handlers, always for one
//! app: the key's app never names another. The answers show that a secret is set and its
//! fingerprint, never the secret. The rules are the domain's (`crate::credentials`).

use crate::ctx::Ctx;
use crate::respond::{self, object};
use crate::store;
use connect_links_core::app_credentials::PutCredentials;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::input::parse_json;
use connect_links_core::model::AppRow;
use worker::Response;

/// 404 unless app `id` exists.
async fn require_app(ctx: &Ctx, id: &str) -> ApiResult<()> {
    store::get_app(&ctx.db()?, id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    Ok(())
}

/// 403 `forbidden` unless the operator let `app` manage its own platform credentials.
fn require_self_service(app: &AppRow) -> ApiResult<()> {
    match app.self_service_credentials != 0 {
        true => Ok(()),
        false => Err(ApiError::new(
            ErrorCode::Forbidden,
            "this app may not manage its platform credentials: the operator turns on self_service_credentials",
        )),
    }
}

/// Stores the app's own client for the platform (built-in or custom; 422
/// `platform_unsupported` for per-instance ones).
async fn put_for(ctx: &Ctx, app_id: &str, platform: &str, body: &[u8]) -> ApiResult<Response> {
    let p = ctx.catalog.get(platform).ok_or_else(|| ApiError::not_found("platform"))?;
    crate::credentials::accepts(p)?;
    let input: PutCredentials = parse_json(body)?;
    input.check()?;
    let row = crate::credentials::put(ctx, app_id, p, &input).await?;
    respond::json(200, &crate::credentials::view(ctx, &row)?)
}

/// The app's own credentials, by platform.
async fn list_for(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    let rows = crate::credentials::list(ctx, app_id).await?;
    let data = rows.iter().map(|r| crate::credentials::view(ctx, r)).collect::<ApiResult<Vec<_>>>()?;
    respond::json(200, &object!( "data": data ))
}

/// Removes the app's credentials for the platform: 409 while grants of theirs hold their
/// login, unless `force` (they are disconnected, reason `credentials_removed`, and revoked
/// at the platform after the answer).
async fn delete_for(ctx: &Ctx, app_id: &str, platform: &str, force: bool) -> ApiResult<Response> {
    let removed = crate::credentials::remove(ctx, app_id, platform, force).await?;
    crate::grants::revoke_removed(ctx, removed).await;
    respond::no_content()
}

/// `PUT /v1/admin/apps/{id}/platforms/{platform}`.
pub async fn put(ctx: &Ctx, app_id: &str, platform: &str, body: &[u8]) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    put_for(ctx, app_id, platform, body).await
}

/// `GET /v1/admin/apps/{id}/platforms`.
pub async fn list(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    list_for(ctx, app_id).await
}

/// `DELETE /v1/admin/apps/{id}/platforms/{platform}`.
pub async fn delete(ctx: &Ctx, app_id: &str, platform: &str, force: bool) -> ApiResult<Response> {
    require_app(ctx, app_id).await?;
    delete_for(ctx, app_id, platform, force).await
}

/// `PUT /v1/platform-credentials/{platform}` (the app's key).
pub async fn put_own(ctx: &Ctx, app: &AppRow, platform: &str, body: &[u8]) -> ApiResult<Response> {
    require_self_service(app)?;
    put_for(ctx, &app.id, platform, body).await
}

/// `GET /v1/platform-credentials` (the app's key).
pub async fn list_own(ctx: &Ctx, app: &AppRow) -> ApiResult<Response> {
    require_self_service(app)?;
    list_for(ctx, &app.id).await
}

/// `DELETE /v1/platform-credentials/{platform}` (the app's key).
pub async fn delete_own(ctx: &Ctx, app: &AppRow, platform: &str, force: bool) -> ApiResult<Response> {
    require_self_service(app)?;
    delete_for(ctx, &app.id, platform, force).await
}
