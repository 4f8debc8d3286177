//! An app's logo: uploaded and removed by the operator (`/v1/admin/apps/{id}/logo`), served
//! to anyone (`/apps/{id}/logo/{file}`) as the sanitizers re-wrote it, never as uploaded.

use crate::assets::{answer, IMMUTABLE};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond;
use crate::store;
use connect_links_core::brand::{sanitize_logo, LogoKind};
use connect_links_core::error::{ApiError, ApiResult};
use worker::Response;

/// `PUT /v1/admin/apps/{id}/logo`: the raw body, `Content-Type` `image/png` or
/// `image/svg+xml`, read through the API's 64 KiB body cap and refused over 32 KiB on the
/// bytes (`sanitize_logo`). Answers the app as now stored.
pub async fn put_logo(ctx: &Ctx, app_id: &str, content_type: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    let kind = LogoKind::of_content_type(content_type)?;
    let db = ctx.db()?;
    let mut app = store::get_app(&db, app_id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let logo = sanitize_logo(kind, body)?;
    store::put_logo(&db, app_id, &logo, ctx.now()).await?;
    app.logo_file = Some(logo.file);
    respond::json(200, &app.view(&ctx.public_url))
}

/// `DELETE /v1/admin/apps/{id}/logo`: 204, or 404 when the app has no logo.
pub async fn delete_logo(ctx: &Ctx, app_id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    store::get_app(&db, app_id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    if !store::delete_logo(&db, app_id, ctx.now()).await? {
        return Err(ApiError::not_found("logo"));
    }
    respond::no_content()
}

/// `GET /apps/{id}/logo/{file}`: the sanitized bytes under the assets' policy
/// (`assets::ASSET_POLICY`: an SVG opened on its own or embedded can load nothing, run
/// nothing and submit nothing; only its inline presentation applies), cached for a
/// year (a new logo has a new file name); 404 for an app without a logo or an older file.
pub async fn serve_logo(ctx: &Ctx, app_id: &str, file: &str) -> ApiResult<Response> {
    let (kind, bytes) = store::logo(&ctx.db()?, app_id, file).await?.ok_or_else(|| ApiError::not_found("logo"))?;
    // An asset's headers, and `inline`.
    let mut resp = answer(Response::from_bytes(bytes).or_500("logo response")?, kind.content_type(), IMMUTABLE, None)?;
    resp.headers_mut().set("content-disposition", "inline").or_500("logo header")?;
    Ok(resp)
}
