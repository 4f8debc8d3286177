//! Facebook Pages' rows as their webhook subscriptions need them: the event types an app
//! asked for, whether a Page still has a profile, and the Page tokens of unclaimed profiles
//! about to be purged.

use super::stmt::{query, Stmt};
use crate::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

/// An app's `platform_events` setting, as stored (JSON text; `None`: unset, or no such app).
pub async fn app_platform_events(db: &D1Database, app_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize, Default)]
    struct Setting {
        platform_events: Option<String>,
    }
    let row = query!(db, "SELECT platform_events FROM apps WHERE id = ?1", app_id)
        .one::<Setting>("read app platform events")
        .await?;
    Ok(row.and_then(|r| r.platform_events))
}

/// Whether any profile (any app, any status) holds Facebook Page `page_id` under a grant of
/// the platform app `by` names (an app's own credentials; `None`: the deployment's).
pub async fn page_has_profile(db: &D1Database, page_id: &str, by: Option<&str>) -> ApiResult<bool> {
    query!(
        db,
        "SELECT 1 FROM profiles p JOIN grants g ON g.id = p.grant_id \
         WHERE p.platform = 'facebook' AND p.platform_user_id = ?1 AND g.credential_ref IS ?2 LIMIT 1",
        page_id,
        by
    )
    .exists("read page profiles")
    .await
}

/// A Page profile's own token, as stored.
#[derive(Deserialize, Default)]
pub struct PageToken {
    /// The profile.
    pub id: String,
    /// The Page id.
    pub platform_user_id: String,
    /// The Page token's envelope (bound to the profile's id).
    pub access_token_enc: String,
    /// The app's own credentials that minted its grant; `None`: the deployment's.
    pub credential_ref: Option<String>,
}

/// The own token of Facebook Page profile `id`, when it has one.
pub async fn page_token(db: &D1Database, id: &str) -> ApiResult<Option<PageToken>> {
    query!(
        db,
        "SELECT p.id, p.platform_user_id, p.access_token_enc, g.credential_ref \
         FROM profiles p JOIN grants g ON g.id = p.grant_id \
         WHERE p.id = ?1 AND p.platform = 'facebook' AND p.access_token_enc IS NOT NULL",
        id
    )
    .one::<PageToken>("read page token")
    .await
}

/// The own tokens of up to `limit` pending Facebook Page profiles whose link's claim window
/// closed (what `delete_unclaimed` is about to delete).
pub async fn unclaimed_page_tokens(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<PageToken>> {
    query!(
        db,
        "SELECT p.id, p.platform_user_id, p.access_token_enc, g.credential_ref \
         FROM profiles p JOIN grants g ON g.id = p.grant_id \
         WHERE p.platform = 'facebook' AND p.status = 'pending' AND p.access_token_enc IS NOT NULL \
         AND p.claim_link_id IN \
         (SELECT id FROM connect_links WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1) LIMIT ?2",
        now,
        limit
    )
    .many::<PageToken>("read unclaimed page tokens")
    .await
}
