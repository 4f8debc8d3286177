//! Facebook Pages subscribed to their platform app's webhooks: Meta sends a Page's events
//! only once the Page itself subscribes the app (`POST /{page-id}/subscribed_apps` with the
//! Page's token and the fields; the request and its sources in
//! `connect_links_core::platform_events::meta`). A Page is subscribed when its profile lands,
//! with the fields every app holding it under that platform app asked for (none asked: not
//! subscribed), after the answer; and unsubscribed when the last profile of that Page under
//! that platform app goes (any app), with the deleted profile's token, read before the token
//! goes. Every call is logged by
//! `crate::fetch`; a failure is logged, never fails the connect or the delete.

use crate::ctx::Ctx;
use crate::fetch;
use crate::respond::object;
use crate::store::{self, PageToken};
use connect_links_core::accounts::Account;
use connect_links_core::platform_events::meta::{page_fields, page_subscription_ok, page_subscription_request};
use connect_links_core::secrets::AccessToken;

/// After the answer: subscribes each Page of `accounts` that landed as a profile (`became`:
/// account id -> profile id) on `platform` `facebook`, with its own token, to the union of the
/// fields asked for (their `platform_events` setting for `facebook`) by every app holding a
/// profile of that Page under the same platform app (`by`: the grant's credential_ref; `None`:
/// the deployment's), this one included; nothing when none asked for any. A Page subscribes
/// its platform app once for all those apps, and each call replaces the fields of the last, so
/// one app's own fields would cut off the others'. The token is the platform app's that
/// minted it, so that app is the one subscribed.
pub async fn subscribe(ctx: &Ctx, platform: &str, by: Option<&str>, accounts: &[&Account], became: &[(String, String)]) {
    if platform != "facebook" {
        return;
    }
    let pages: Vec<(String, String, AccessToken)> = accounts
        .iter()
        .filter_map(|a| {
            let token = AccessToken::new(a.own_token.as_deref()?);
            let (_, profile_id) = became.iter().find(|(acc, _)| acc == &a.platform_user_id)?;
            Some((profile_id.clone(), a.platform_user_id.clone(), token))
        })
        .collect();
    if pages.is_empty() {
        return;
    }
    let Ok(ids) = serde_json::to_string(&pages.iter().map(|(_, page, _)| page.as_str()).collect::<Vec<_>>()) else {
        return;
    };
    let job_ctx = ctx.detached();
    let by = by.map(str::to_string);
    ctx.after_answer(async move {
        let settings = match job_ctx.db() {
            Ok(db) => store::page_settings(&db, &ids, by.as_deref()).await,
            Err(e) => Err(e),
        };
        // A failed read (logged by the store): no call; a reconnect subscribes again.
        let Ok(settings) = settings else { return };
        for (profile_id, page_id, token) in pages {
            let of_page: Vec<&str> =
                settings.iter().filter(|(page, _)| page == &page_id).map(|(_, s)| s.as_str()).collect();
            let Some(fields) = page_fields(&of_page) else { continue };
            call(&job_ctx, &profile_id, &page_id, &token, Some(&fields)).await;
        }
    })
    .await;
}

/// A deleted Page profile's token, read before the delete.
pub struct HeldPage {
    row: PageToken,
    token: AccessToken,
}

/// The own token of Page profile `profile_id` (a `facebook` profile with a Page token), read
/// and opened before the profile is deleted; `None` for any other profile, or when it cannot
/// be read (logged).
pub async fn hold(ctx: &Ctx, platform: &str, profile_id: &str) -> Option<HeldPage> {
    if platform != "facebook" {
        return None;
    }
    let row = store::page_token(&ctx.db().ok()?, profile_id).await.ok()??;
    open(ctx, row)
}

/// The tokens of the unclaimed Page profiles the purge is about to delete (`now`, `limit`: as
/// the purge's own).
pub async fn hold_unclaimed(ctx: &Ctx, now: i64, limit: u32) -> Vec<HeldPage> {
    let Ok(db) = ctx.db() else { return vec![] };
    let rows = store::unclaimed_page_tokens(&db, now, limit).await.unwrap_or_default();
    rows.into_iter().filter_map(|row| open(ctx, row)).collect()
}

impl HeldPage {
    /// The profile it was read for.
    pub fn profile_id(&self) -> &str {
        &self.row.id
    }
}

/// Once `held`'s profile is deleted: unsubscribes its Page when no profile of that Page under
/// the same platform app is left (in any app), with its token. Before the grant is revoked,
/// which ends the Page token too.
pub async fn release(ctx: &Ctx, held: HeldPage) {
    let left = match ctx.db() {
        Ok(db) => store::page_has_profile(&db, &held.row.platform_user_id, held.row.credential_ref.as_deref()).await,
        Err(e) => Err(e),
    };
    // Unknown (a failed read): the Page keeps its subscription; its events then match no one.
    if !matches!(left, Ok(false)) {
        return;
    }
    call(ctx, &held.row.id, &held.row.platform_user_id, &held.token, None).await;
}

/// The row's Page token opened; `None` (logged) when it does not open.
fn open(ctx: &Ctx, row: PageToken) -> Option<HeldPage> {
    let keyring = ctx.keyring().ok()?;
    match keyring.open_secret::<AccessToken>(&row.id, "access_token", &row.access_token_enc) {
        Ok(token) => Some(HeldPage { row, token }),
        Err(_) => {
            crate::log::error(&object!("event": "page_unsubscribe_failed", "profile_id": row.id, "error": "token"));
            None
        }
    }
}

/// One `subscribed_apps` call (`fields`: subscribe; `None`: unsubscribe), its failure logged.
async fn call(ctx: &Ctx, profile_id: &str, page_id: &str, token: &AccessToken, fields: Option<&str>) {
    let event = if fields.is_some() { "page_subscribe_failed" } else { "page_unsubscribe_failed" };
    let Some(req) = page_subscription_request(page_id, token.secret(), fields) else {
        crate::log::error(&object!("event": event, "profile_id": profile_id, "error": "page_id"));
        return;
    };
    let status = match fetch::send(&req, "facebook", Some(profile_id), ctx.timeout_ms()).await {
        Ok(r) if page_subscription_ok(r.status, &r.body) => return,
        Ok(r) => r.status,
        Err(_) => 0,
    };
    crate::log::error(&object!("event": event, "profile_id": profile_id, "status": status));
}
