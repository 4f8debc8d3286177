//! Platform webhooks in (issue 10, api.md section 9): a platform tells us a user let go of
//! the app (Meta's deauthorize and data deletion callbacks, TikTok's
//! `authorization.removed`). Each is verified with the platform app's secret before anything
//! changes; a repeated event changes nothing more and tells the app nothing twice.

pub mod meta;
pub mod tiktok;

use crate::ctx::{Ctx, OrInternal};
use crate::jobs::webhooks;
use crate::store::{self, Stmt};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{ProfileRow, PROFILE_COLUMNS};
use connect_links_core::webhook::types;
use serde_json::json;
use worker::{console_log, query};

/// A request whose signature does not verify: 401, with nothing about why.
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "the request is not signed by this platform app")
}

/// Every profile (any app, any status) under the grants of `login` on `platform`.
async fn profiles_of_login(ctx: &Ctx, platform: &str, login: &str) -> ApiResult<Vec<ProfileRow>> {
    let db = ctx.db()?;
    query!(
        &db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE grant_id IN \
             (SELECT id FROM grants WHERE platform = ?1 AND platform_user_id = ?2) ORDER BY created_at, id"
        ),
        platform,
        login
    )
    .many::<ProfileRow>("profiles of login")
    .await
}

/// The user removed the app at the platform: every grant of that login (in every app) and
/// every profile under them (its Pages, organizations, Instagram accounts) become
/// `disconnected` / `revoked`, their tokens are deleted, and each profile that was active
/// sends one `profile.disconnected`. Returns how many profiles ended now (0 on a repeat).
pub async fn revoke_login(ctx: &Ctx, platform: &str, login: &str) -> ApiResult<usize> {
    let db = ctx.db()?;
    let now = ctx.now();
    let profiles = profiles_of_login(ctx, platform, login).await?;
    let mut stmts = vec![query!(
        &db,
        "UPDATE grants SET status = 'disconnected', disconnect_reason = 'revoked', access_token_enc = '', \
         refresh_token_enc = NULL, token_kid = '', next_refresh_at = NULL, refresh_lease_id = NULL, \
         refresh_lease_until = NULL, updated_at = ?3 WHERE platform = ?1 AND platform_user_id = ?2",
        platform,
        login,
        now
    )
    .or_500("prepare revoke login")?];
    let mut events = Vec::new();
    let mut ended = 0;
    for p in profiles.iter().filter(|p| p.status != "disconnected") {
        stmts.push(
            query!(
                &db,
                "UPDATE profiles SET status = 'disconnected', disconnect_reason = 'revoked', access_token_enc = NULL, \
                 token_kid = NULL, next_check_at = NULL, last_platform_event_at = ?2, updated_at = ?2 \
                 WHERE id = ?1 AND status != 'disconnected'",
                p.id,
                now
            )
            .or_500("prepare revoke profile")?,
        );
        // A profile still waiting for its claim was never announced: it ends silently.
        if p.status == "active" {
            let view = ProfileRow {
                status: "disconnected".into(),
                disconnect_reason: Some("revoked".into()),
                last_platform_event_at: Some(now),
                updated_at: now,
                ..p.clone()
            }
            .view();
            let event = webhooks::event_after(ctx, &db, &p.app_id, types::DISCONNECTED, view)?;
            stmts.push(event.stmt);
            events.push(event.id);
        }
        ended += 1;
    }
    // Profiles that had ended before keep no token either.
    stmts.push(
        query!(
            &db,
            "UPDATE profiles SET access_token_enc = NULL, token_kid = NULL, last_platform_event_at = ?3 \
             WHERE grant_id IN (SELECT id FROM grants WHERE platform = ?1 AND platform_user_id = ?2) \
             AND access_token_enc IS NOT NULL",
            platform,
            login,
            now
        )
        .or_500("prepare revoke own tokens")?,
    );
    webhooks::commit(ctx, &db, stmts, &events.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    console_log!("{}", json!({"event": "platform_revoked", "platform": platform, "profiles_ended": ended}));
    Ok(ended)
}

/// The user asked the platform to delete their data: every profile under that login's
/// grants (in every app) is deleted with its tokens, each announced profile sends
/// `profile.deleted`, and the delivered events that copied its data are forgotten; then the
/// grants go. Returns how many profiles were deleted now (0 on a repeat).
pub async fn delete_login(ctx: &Ctx, platform: &str, login: &str) -> ApiResult<usize> {
    let db = ctx.db()?;
    let profiles = profiles_of_login(ctx, platform, login).await?;
    let mut stmts = Vec::new();
    let mut events = Vec::new();
    for p in &profiles {
        stmts.push(store::delete_profile_stmt(&db, &p.app_id, &p.id)?);
        if p.status != "pending" {
            let event = webhooks::event_after(ctx, &db, &p.app_id, types::DELETED, p.view())?;
            stmts.push(event.stmt);
            events.push(event.id);
        }
        stmts.push(
            query!(
                &db,
                "DELETE FROM webhook_outbox WHERE app_id = ?1 AND next_attempt_at IS NULL AND instr(body, ?2) > 0",
                p.app_id,
                p.id
            )
            .or_500("prepare outbox forget")?,
        );
    }
    stmts.push(
        query!(&db, "DELETE FROM grants WHERE platform = ?1 AND platform_user_id = ?2", platform, login)
            .or_500("prepare delete grants")?,
    );
    webhooks::commit(ctx, &db, stmts, &events.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    console_log!("{}", json!({"event": "platform_deleted", "platform": platform, "profiles_deleted": profiles.len()}));
    Ok(profiles.len())
}

/// How many profiles a stored deletion request removed, and when (for its status page).
pub async fn deletion_record(ctx: &Ctx, code: &str) -> ApiResult<Option<(i64, i64)>> {
    #[derive(serde::Deserialize)]
    struct Row {
        profiles_deleted: i64,
        created_at: i64,
    }
    let db = ctx.db()?;
    let row = query!(&db, "SELECT profiles_deleted, created_at FROM platform_deletions WHERE code = ?1", code)
        .one::<Row>("deletion record")
        .await?;
    Ok(row.map(|r| (r.profiles_deleted, r.created_at)))
}
