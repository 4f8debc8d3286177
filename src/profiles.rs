//! Profiles of an app: list, read, delete (with revocation at the platform).

use crate::admin::page_cursor;
use crate::ctx::{Ctx, OrInternal};
use crate::fetch;
use crate::respond;
use crate::store::{self, ProfileFilter};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::model::{decode_cursor, encode_cursor, ProfileRow};
use connect_links_core::oauth::revoke_request;
use serde_json::json;
use worker::Response;

/// `GET /v1/profiles?platform&status&external_user_id&limit&cursor`.
pub async fn list(ctx: &Ctx, app_id: &str, q: &[(String, String)]) -> ApiResult<Response> {
    let param = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit = connect_links_core::input::parse_limit(param("limit").as_deref())?;
    let after = match param("cursor") {
        Some(c) => Some(decode_cursor(&c).ok_or_else(|| ApiError::invalid("cursor is not valid"))?),
        None => None,
    };
    let status = param("status");
    if status.as_deref().is_some_and(|s| s != "active" && s != "disconnected") {
        return Err(ApiError::invalid("status must be active or disconnected"));
    }
    let filter = ProfileFilter { platform: param("platform"), status, external_user_id: param("external_user_id") };
    let mut rows = store::list_profiles(&ctx.db()?, app_id, &filter, after, limit).await?;
    let next = page_cursor(&mut rows, limit, |p| encode_cursor(p.created_at, &p.id));
    respond::json(200, &json!({"data": rows.iter().map(ProfileRow::view).collect::<Vec<_>>(), "next_cursor": next}))
}

/// `GET /v1/profiles/{id}`.
pub async fn get(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let p = store::get_profile(&ctx.db()?, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    respond::json(200, &p.view())
}

/// `DELETE /v1/profiles/{id}`: revoke at the platform where it can be, then delete.
/// A failed revocation does not keep the tokens: the app asked for them to be gone.
pub async fn delete(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let cols = store::token_columns(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    if let Some(platform) = ctx.catalog.get(&cols.platform) {
        if let (Some(creds), Ok(keyring)) = (ctx.credentials(platform), ctx.keyring()) {
            // Revoking the refresh token ends the whole grant on RFC 7009 platforms.
            let token = match &cols.refresh_token_enc {
                Some(enc) => keyring.open(&cols.id, "refresh_token", enc),
                None => keyring.open(&cols.id, "access_token", &cols.access_token_enc),
            };
            if let Some(req) = token.ok().and_then(|t| revoke_request(platform, &creds, &t)) {
                let _ = fetch::send(&req, &platform.id, Some(&cols.id)).await;
            }
        }
    }
    store::delete_profile(&db, app_id, id).await.or_500("delete profile")?;
    respond::no_content()
}
