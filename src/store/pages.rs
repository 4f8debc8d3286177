//! Facebook Pages' rows as their webhook subscriptions need them: the event types the apps
//! holding a Page asked for, whether a Page still has a profile, and the Page tokens of
//! unclaimed profiles about to be purged.

use super::stmt::{query, KeyedText, Stmt};
use crate::error::ApiResult;
use serde::Deserialize;
use worker::D1Database;

/// The `platform_events` settings of the apps holding a profile (any status) of each of the
/// Facebook Pages `page_ids` (a JSON array) under a grant of the platform app `by` names (an
/// app's own credentials; `None`: the deployment's), as (Page id, setting) pairs; apps
/// without a setting are left out. One read for all the Pages of a connect.
pub async fn page_settings(db: &D1Database, page_ids: &str, by: Option<&str>) -> ApiResult<Vec<(String, String)>> {
    let rows = query!(
        db,
        "SELECT DISTINCT p.platform_user_id AS id, a.platform_events AS text \
         FROM profiles p JOIN grants g ON g.id = p.grant_id JOIN apps a ON a.id = p.app_id \
         WHERE p.platform = 'facebook' AND p.platform_user_id IN (SELECT value FROM json_each(?1)) \
         AND g.credential_ref IS ?2 AND a.platform_events IS NOT NULL",
        page_ids,
        by
    )
    .many::<KeyedText>("read page settings")
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.text)).collect())
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

/// The SQL of Facebook Page profiles that hold a token of their own, as [`PageToken`]s, its
/// `WHERE` extended by `$and` (a literal, so the statement is one string at compile time).
macro_rules! page_tokens {
    ($and:literal) => {
        concat!(
            "SELECT p.id, p.platform_user_id, p.access_token_enc, g.credential_ref \
             FROM profiles p JOIN grants g ON g.id = p.grant_id \
             WHERE p.platform = 'facebook' AND p.access_token_enc IS NOT NULL ",
            $and
        )
    };
}

/// The own token of Facebook Page profile `id`, when it has one.
pub async fn page_token(db: &D1Database, id: &str) -> ApiResult<Option<PageToken>> {
    query!(db, page_tokens!("AND p.id = ?1"), id)
    .one::<PageToken>("read page token")
    .await
}

/// The own tokens of up to `limit` pending Facebook Page profiles whose link's claim window
/// closed (what `delete_unclaimed` is about to delete).
pub async fn unclaimed_page_tokens(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<PageToken>> {
    query!(
        db,
        page_tokens!(
            "AND p.status = 'pending' AND p.claim_link_id IN \
             (SELECT id FROM connect_links WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1) LIMIT ?2"
        ),
        now,
        limit
    )
    .many::<PageToken>("read unclaimed page tokens")
    .await
}
