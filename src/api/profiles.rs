//! Profiles of an app: list, read, delete (with revocation at the platform).

use super::paging::page_cursor;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::grants::{outcome_error, refresh_detached, require_active, revoke_grant, usable_token};
use crate::platform_events::meta_pages;
use crate::respond::{self, object};
use crate::store::{self, NewActivity, ProfileFilter, When};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::model::{decode_cursor, encode_cursor, ProfileRow};
use connect_links_core::time::rfc3339_opt;
use connect_links_core::webhook::types;
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
    if status.as_deref().is_some_and(|s| !["pending", "active", "disconnected"].contains(&s)) {
        return Err(ApiError::invalid("status must be pending, active or disconnected"));
    }
    let filter = ProfileFilter { platform: param("platform"), status, external_user_id: param("external_user_id") };
    let mut rows = store::list_profiles(&ctx.db()?, app_id, &filter, after, limit).await?;
    let next = page_cursor(&mut rows, limit, |p| encode_cursor(p.created_at, &p.id));
    respond::json(200, &object!("data": rows.iter().map(ProfileRow::view).collect::<Vec<_>>(), "next_cursor": next))
}

/// `GET /v1/profiles/{id}`.
pub async fn get(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let p = store::get_profile(&ctx.db()?, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    respond::json(200, &p.view())
}

/// `DELETE /v1/profiles/{id}`: delete, then revoke at the platform where it can be. The
/// tokens go whatever the platform answers: the app asked for them to be gone. While other
/// profiles use the same grant (the other Pages of one login), only this profile and its
/// own token go; the last one takes the grant with it, which is then revoked, except when
/// another grant (any app) holds the same login: a revoke can end every grant of it
/// (Facebook), and deleting in one app never breaks another. Deleting first makes two
/// racing deletes of one login (in two apps) end with exactly one revocation, by whichever
/// deletes last.
pub async fn delete(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let profile = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    // A Facebook Page's token, kept to unsubscribe the Page if this is its last profile.
    let page = meta_pages::hold(ctx, &profile.platform, id).await;
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::delete_profile_stmt(&db, app_id, id)?);
    // The history's row, only when it was deleted now (the event's guard follows it).
    let gone = NewActivity::of_profile(&profile, ctx.now(), "disconnected", "deleted", "deleted by the app (DELETE /v1/profiles/{id})");
    batch.push(store::activity_rows_stmt(&db, &gone, &[], When::IfChanged)?);
    // After the delete in one batch: two racing deletes send one `profile.deleted`.
    batch.event(app_id, types::DELETED, profile.view())?;
    // Delivered events keep no copy of the profile's data once it is deleted (undelivered
    // ones, `profile.deleted` included, go when they are delivered).
    batch.push(store::forget_profile_events_stmt(&db, app_id, id)?);
    let grant_ids = serde_json::to_string(&[&profile.grant_id]).or_500("ids json")?;
    batch.push(store::orphan_grants_stmt(&db, &grant_ids)?);
    let results = batch.commit().await?;
    // Before the revoke, which would end the Page token.
    if let Some(page) = page {
        meta_pages::release(ctx, page).await;
    }
    for (grant, cols) in store::deleted_grants(&results, 4)? {
        revoke_grant(ctx, &grant, &cols).await;
    }
    // The channel's last profile gone: its YouTube subscription goes too, after the answer.
    crate::platform_events::websub::released(ctx, &profile.platform, &profile.platform_user_id).await;
    respond::no_content()
}

/// `POST /v1/profiles/{id}/refresh`: a forced refresh under the same lease as the cron.
/// 409 while another refresh is in flight; a refresh that completed after this call began
/// is taken as this call's result.
pub async fn refresh(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let db = ctx.db()?;
    let p = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    require_active(&p)?;
    let outcome = refresh_detached(ctx, &p.grant_id, None).await?;
    outcome_error(outcome)?;
    let p = store::get_profile(&db, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    respond::json(200, &p.view())
}

/// `GET /v1/profiles/{id}/access-token`: refreshed first when it expires within 5 minutes.
pub async fn access_token(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    let first = store::profile_token(&ctx.db()?, app_id, id).await?.ok_or_else(|| ApiError::not_found("profile"))?;
    let (p, token) = usable_token(ctx, app_id, id, first).await?;
    respond::json(
        200,
        &object!(
            "access_token": token.secret(),
            "token_type": "Bearer",
            "expires_at": rfc3339_opt(p.access_token_expires_at),
            "scopes": p.view()["scopes"],
        ),
    )
}
