//! Platform webhooks in (issue 10, api.md section 9): a platform tells us a user let go of
//! the app (Meta's deauthorize and data deletion callbacks, TikTok's
//! `authorization.removed`). Each is verified with the platform app's secret before anything
//! changes; a repeated event changes nothing more and tells the app nothing twice.

pub mod meta;
pub mod tiktok;

use crate::ctx::{Ctx, OrInternal};
use crate::jobs::webhooks;
use crate::store::{self, LinkEnd, Stmt};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{ProfileRow, ProfileStatus, PROFILE_COLUMNS};
use connect_links_core::picker::login_key;
use connect_links_core::webhook::types;
use serde_json::json;
use worker::{console_log, query};

/// A request whose signature does not verify: 401, with nothing about why.
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "the request is not signed by this platform app")
}

/// Profiles written per D1 batch: a login with hundreds of Pages across apps is handled in
/// several batches, each within D1's limits; each batch leaves a consistent state, so a
/// repeat of the event finishes what a failure left.
const CHUNK: usize = 25;

/// The grants (any app) of `login` on `platform` consented to no later than `event_at`: an
/// event from before the user's latest consent is about a grant since renewed (TikTok
/// redelivers for up to 72 hours), and leaves it alone.
async fn grants_of_login(ctx: &Ctx, platform: &str, login: &str, event_at: i64) -> ApiResult<Vec<String>> {
    let db = ctx.db()?;
    query!(
        &db,
        "SELECT id FROM grants WHERE platform = ?1 AND platform_user_id = ?2 AND COALESCE(consented_at, created_at) <= ?3",
        platform,
        login,
        event_at
    )
    .ids("grants of login")
    .await
}

/// Every profile (any app, any status) under these grants.
async fn profiles_of_grants(ctx: &Ctx, grants_json: &str) -> ApiResult<Vec<ProfileRow>> {
    let db = ctx.db()?;
    query!(
        &db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE grant_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY created_at, id"
        ),
        grants_json
    )
    .many::<ProfileRow>("profiles of grants")
    .await
}

/// Drops the open account choices holding tokens of this login (their sealed grant would
/// otherwise come back when the user submits the picker), and ends the links waiting on
/// them: `failed` with `access_denied` (the user let go of the app), each telling the app
/// (`connect_link.failed`). A connect of the login still in flight then fails to land (its
/// link is no longer pending) and revokes what it got. First, so a later step that fails
/// leaves no open picker behind. Only choices whose grant was obtained no later than
/// `event_at`: a newer one (the user came back after a late event) holds a live grant, and
/// dropping its row would leave that grant at the platform with no row.
async fn end_open_choices(ctx: &Ctx, platform: &str, login: &str, event_at: i64) -> ApiResult<()> {
    let db = ctx.db()?;
    let key = login_key(platform, login);
    let links = store::links_choosing_for(&db, &key, event_at).await?;
    let mut stmts =
        vec![query!(&db, "DELETE FROM account_choices WHERE login_key = ?1 AND created_at <= ?2", key, event_at)
            .or_500("prepare drop choices")?];
    let mut events = Vec::new();
    let failure = CallbackFailure::AccessDenied.as_str();
    for link in &links {
        stmts.push(store::end_link_stmt(&db, &link.id, &LinkEnd::Failed(failure), ctx.now())?);
        let data = json!({"link_id": link.id, "platform": link.platform, "error": failure, "external_user_id": link.external_user_id});
        webhooks::push_event(ctx, &db, &link.app_id, types::LINK_FAILED, data, &mut stmts, &mut events)?;
    }
    webhooks::commit(ctx, &db, stmts, &events.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    Ok(())
}

/// The user removed the app at the platform (at `event_at`): every grant of that login (in
/// every app) consented before then, and every profile under them (its Pages,
/// organizations, Instagram accounts), become `disconnected` / `revoked`, their tokens are
/// deleted, and each profile that was active sends one `profile.disconnected`; any open
/// account choice of the login goes first (see [`end_open_choices`]). Returns how many
/// profiles ended now (0 on a repeat).
pub async fn revoke_login(ctx: &Ctx, platform: &str, login: &str, event_at: i64) -> ApiResult<usize> {
    let db = ctx.db()?;
    let now = ctx.now();
    end_open_choices(ctx, platform, login, event_at).await?;
    let grants = grants_of_login(ctx, platform, login, event_at).await?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let profiles = profiles_of_grants(ctx, &grants_json).await?;
    let first = vec![
        query!(
            &db,
            "UPDATE grants SET status = 'disconnected', disconnect_reason = 'revoked', access_token_enc = '', \
             refresh_token_enc = NULL, token_kid = '', next_refresh_at = NULL, refresh_lease_id = NULL, \
             refresh_lease_until = NULL, updated_at = ?2 WHERE id IN (SELECT value FROM json_each(?1))",
            grants_json,
            now
        )
        .or_500("prepare revoke login")?,
        // Profiles that had ended before keep no token either.
        query!(
            &db,
            "UPDATE profiles SET access_token_enc = NULL, token_kid = NULL, last_platform_event_at = ?2 \
             WHERE grant_id IN (SELECT value FROM json_each(?1)) AND status = 'disconnected'",
            grants_json,
            now
        )
        .or_500("prepare revoke own tokens")?,
    ];
    let live: Vec<&ProfileRow> = profiles.iter().filter(|p| p.status != ProfileStatus::Disconnected).collect();
    let mut batches = vec![(first, Vec::new())];
    for chunk in live.chunks(CHUNK) {
        let (mut stmts, mut events) = (Vec::new(), Vec::new());
        for p in chunk {
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
            // Each event follows its own profile's update (its `changes()` guard).
            if p.status == ProfileStatus::Active {
                let view =
                    ProfileRow { last_platform_event_at: Some(now), ..(*p).clone() }.ended("revoked", now).view();
                webhooks::push_event(ctx, &db, &p.app_id, types::DISCONNECTED, view, &mut stmts, &mut events)?;
            }
        }
        batches.push((stmts, events));
    }
    for (stmts, events) in batches {
        webhooks::commit(ctx, &db, stmts, &events.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    }
    console_log!("{}", json!({"event": "platform_revoked", "platform": platform, "profiles_ended": live.len()}));
    Ok(live.len())
}

/// The user asked the platform to delete their data (at `event_at`): any open account choice
/// of the login goes first (see [`end_open_choices`]); then every profile under that login's
/// grants (in every app) consented before then is deleted with its tokens, each announced
/// profile sends `profile.deleted`, and the delivered events that copied its data are
/// forgotten; then the grants go.
/// Returns how many profiles were deleted now (0 on a repeat).
pub async fn delete_login(ctx: &Ctx, platform: &str, login: &str, event_at: i64) -> ApiResult<usize> {
    let db = ctx.db()?;
    end_open_choices(ctx, platform, login, event_at).await?;
    let grants = grants_of_login(ctx, platform, login, event_at).await?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let profiles = profiles_of_grants(ctx, &grants_json).await?;
    for chunk in profiles.chunks(CHUNK) {
        let (mut stmts, mut events) = (Vec::new(), Vec::new());
        for p in chunk {
            stmts.push(store::delete_profile_stmt(&db, &p.app_id, &p.id)?);
            if p.status != ProfileStatus::Pending {
                webhooks::push_event(ctx, &db, &p.app_id, types::DELETED, p.view(), &mut stmts, &mut events)?;
            }
        }
        let ids = serde_json::to_string(&chunk.iter().map(|p| p.id.as_str()).collect::<Vec<_>>()).or_500("ids json")?;
        stmts.push(
            query!(
                &db,
                "DELETE FROM webhook_outbox WHERE next_attempt_at IS NULL \
                 AND EXISTS (SELECT 1 FROM json_each(?1) WHERE instr(webhook_outbox.body, value) > 0)",
                ids
            )
            .or_500("prepare outbox forget")?,
        );
        webhooks::commit(ctx, &db, stmts, &events.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    }
    query!(&db, "DELETE FROM grants WHERE id IN (SELECT value FROM json_each(?1))", grants_json)
        .exec("delete grants")
        .await?;
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
