//! Platform webhooks in (api.md section 9): a platform tells us a user let go of the app
//! (Meta's deauthorize and data deletion callbacks, TikTok's `authorization.removed`), or
//! pushes an event the apps may want (TikTok's events, YouTube's WebSub notifications, handed
//! on to `crate::platform_events` after the answer). Each
//! is verified with the platform app's secret before anything changes, and acts only on the
//! grants that platform app minted: the deployment's on the platform's own paths, an app's
//! own credentials' on the paths that name them (`.../apps/{credential_ref}`). A repeated
//! event changes nothing more and tells the app nothing twice. The platforms' event webhooks
//! (Meta, X, LinkedIn, YouTube's WebSub) are verified the same way and handed on to
//! `platform_events`. A flow: it may call the domain (`events`, `credentials`,
//! `platform_events`), the storage, the plumbing and core; never another flow.

pub mod linkedin;
pub mod meta;
pub mod meta_events;
pub mod sandbox;
pub mod tiktok;
pub mod x;
pub mod youtube;

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::store::{self, LinkEnd, NewActivity, Stmt, When};
use crate::respond::object;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::ProfileRow;
use connect_links_core::model::ProfileStatus;
use connect_links_core::picker::login_key;
use connect_links_core::webhook::types;

/// A request whose signature does not verify: 401, with nothing about why.
pub fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "the request is not signed by this platform app")
}

/// The events POST of a platform that signs the raw body with one secret (X, LinkedIn):
/// the body as read under the cap (an error: 413), then the path's secret and platform app
/// (`signer`: 404 for a path that is not there), then `verify(secret, header, body)` before
/// anything is read (401); counted (a 404 is not), answered 200 at once, and the events
/// `parse` finds handed on after the answer. Nothing else changes on a refusal.
pub async fn signed_events(
    ctx: &Ctx,
    platform: &str,
    signer: impl std::future::Future<Output = ApiResult<(connect_links_core::secrets::ClientSecret, Option<String>)>>,
    signature: Option<&str>,
    body: ApiResult<Vec<u8>>,
    verify: fn(&str, &str, &[u8]) -> bool,
    parse: fn(&[u8], i64) -> Vec<connect_links_core::platform_events::InboundEvent>,
) -> ApiResult<worker::Response> {
    let checked = async {
        let body = body?;
        let (secret, by) = signer.await?;
        if !signature.is_some_and(|s| verify(secret.secret(), s, &body)) {
            return Err(unauthorized());
        }
        Ok((body, by))
    }
    .await;
    crate::platform_events::outcome(ctx, platform, &checked).await;
    let (body, by) = checked?;
    crate::platform_events::hand_on(ctx, platform, by.as_deref(), parse(&body, ctx.now())).await;
    crate::respond::json(200, &object!("ok": true))
}

/// Profiles written per D1 batch: a login with hundreds of Pages across apps is handled in
/// several batches, each within D1's limits; each batch leaves a consistent state, so a
/// repeat of the event finishes what a failure left.
const CHUNK: usize = 25;

/// The grants (any app) of `login` on `platform` consented to no later than `event_at`,
/// minted by the platform app `by` names (an app's own credentials; `None`: the
/// deployment's): an event from before the user's latest consent is about a grant since
/// renewed (TikTok redelivers for up to 72 hours), and leaves it alone; an event of one
/// platform app is about its own logins only.
async fn grants_of_login(
    ctx: &Ctx,
    platform: &str,
    login: &str,
    event_at: i64,
    by: Option<&str>,
) -> ApiResult<Vec<String>> {
    store::grants_of_login(&ctx.db()?, platform, login, event_at, by).ids("grants of login").await
}

/// Drops the open account choices holding tokens of this login (their sealed grant would
/// otherwise come back when the user submits the picker), and ends the links waiting on
/// them: `failed` with `access_denied` (the user let go of the app), each telling the app
/// (`connect_link.failed`). A connect of the login still in flight then fails to land (its
/// link is no longer pending) and revokes what it got. First, so a later step that fails
/// leaves no open picker behind. Only choices whose grant was obtained no later than
/// `event_at`: a newer one (the user came back after a late event) holds a live grant, and
/// dropping its row would leave that grant at the platform with no row. Only choices whose
/// tokens the platform app `by` minted.
async fn end_open_choices(ctx: &Ctx, platform: &str, login: &str, event_at: i64, by: Option<&str>) -> ApiResult<()> {
    let db = ctx.db()?;
    let key = login_key(platform, login, by);
    let links = store::links_choosing_for(&db, &key, event_at).await?;
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::drop_choices_of_login_stmt(&db, &key, event_at)?);
    let failure = CallbackFailure::AccessDenied.as_str();
    for link in &links {
        batch.push(store::end_link_stmt(&db, &link.id, &LinkEnd::Failed(failure), store::OfChoice::Any, ctx.now())?);
        let data = object!("link_id": link.id, "platform": link.platform, "error": failure, "external_user_id": link.external_user_id);
        batch.event(&link.app_id, types::LINK_FAILED, data)?;
    }
    batch.commit().await?;
    Ok(())
}

/// The user removed the app at the platform (at `event_at`): every grant of that login (in
/// every app) consented before then, and every profile under them (its Pages,
/// organizations, Instagram accounts), become `disconnected` / `revoked`, their tokens are
/// deleted, and each profile that was active sends one `profile.disconnected`; any open
/// account choice of the login goes first (see [`end_open_choices`]). Only what the platform
/// app `by` minted (an app's own credentials; `None`: the deployment's). Returns how many
/// profiles ended now (0 on a repeat).
pub async fn revoke_login(ctx: &Ctx, platform: &str, login: &str, event_at: i64, by: Option<&str>) -> ApiResult<usize> {
    let db = ctx.db()?;
    let now = ctx.now();
    end_open_choices(ctx, platform, login, event_at, by).await?;
    let grants = grants_of_login(ctx, platform, login, event_at, by).await?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let profiles = store::profiles_of_grants(&db, &grants_json).many::<ProfileRow>("profiles of grants").await?;
    let mut first = Batch::new(ctx, &db);
    first.push(store::revoke_grants_stmt(&db, &grants_json, now)?);
    // Profiles that had ended before keep no token either.
    first.push(store::drop_ended_profile_tokens_stmt(&db, &grants_json, now)?);
    let live: Vec<&ProfileRow> = profiles.iter().filter(|p| p.status != ProfileStatus::Disconnected).collect();
    let mut batches = vec![first];
    for chunk in live.chunks(CHUNK) {
        let mut batch = Batch::new(ctx, &db);
        for p in chunk {
            batch.push(store::revoke_profile_stmt(&db, &p.id, now)?);
            // The history's row, only when it ended now; the event's guard follows it.
            let row = revoked(p, now, "the user removed the app at the platform");
            batch.push(store::activity_rows_stmt(&db, &row, &[], When::IfChanged)?);
            // A profile still waiting for its claim was never announced: it ends silently.
            // Each event follows its own profile's update (its `changes()` guard).
            if p.status == ProfileStatus::Active {
                let view =
                    ProfileRow { last_platform_event_at: Some(now), ..(*p).clone() }.ended("revoked", now).view();
                batch.event(&p.app_id, types::DISCONNECTED, view)?;
            }
        }
        batches.push(batch);
    }
    for batch in batches {
        batch.commit().await?;
    }
    crate::log::info(&object!("event": "platform_revoked", "platform": platform, "profiles_ended": live.len()));
    Ok(live.len())
}

/// The user asked the platform to delete their data (at `event_at`): any open account choice
/// of the login goes first (see [`end_open_choices`]); then every profile under that login's
/// grants (in every app) consented before then is deleted with its tokens, each announced
/// profile sends `profile.deleted`, and the delivered events that copied its data are
/// forgotten; then the grants go. Only what the platform app `by` minted, as
/// [`revoke_login`]. Returns how many profiles were deleted now (0 on a repeat).
pub async fn delete_login(ctx: &Ctx, platform: &str, login: &str, event_at: i64, by: Option<&str>) -> ApiResult<usize> {
    let db = ctx.db()?;
    end_open_choices(ctx, platform, login, event_at, by).await?;
    let grants = grants_of_login(ctx, platform, login, event_at, by).await?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let profiles = store::profiles_of_grants(&db, &grants_json).many::<ProfileRow>("profiles of grants").await?;
    for chunk in profiles.chunks(CHUNK) {
        let mut batch = Batch::new(ctx, &db);
        for p in chunk {
            batch.push(store::delete_profile_stmt(&db, &p.app_id, &p.id)?);
            let row = NewActivity { outcome: "deleted", ..revoked(p, ctx.now(), "the user asked the platform to delete their data") };
            batch.push(store::activity_rows_stmt(&db, &row, &[], When::IfChanged)?);
            if p.status != ProfileStatus::Pending {
                batch.event(&p.app_id, types::DELETED, p.view())?;
            }
        }
        let ids = serde_json::to_string(&chunk.iter().map(|p| p.id.as_str()).collect::<Vec<_>>()).or_500("ids json")?;
        batch.push(store::forget_events_of_profiles_stmt(&db, &ids)?);
        batch.commit().await?;
    }
    store::delete_grants(&db, &grants_json).exec("delete grants").await?;
    crate::log::info(&object!("event": "platform_deleted", "platform": platform, "profiles_deleted": profiles.len()));
    Ok(profiles.len())
}

/// The console's history row of profile `p` ended by the platform (`revoked`), and why.
fn revoked<'a>(p: &'a ProfileRow, now: i64, why: &'a str) -> NewActivity<'a> {
    NewActivity::of_profile(p, now, "revoked", "revoked", why)
}
