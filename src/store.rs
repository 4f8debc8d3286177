//! D1 access: every statement is bound with `?N`, never formatted with values.

use crate::ctx::OrInternal;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::model::{AppRow, GrantRow, LinkRow, ProfileRow, GRANT_COLUMNS, PROFILE_COLUMNS};
use connect_links_core::redirect::host_needles;
use connect_links_core::secrets::{AccessToken, RefreshToken};
use connect_links_core::refresh_policy::{RefreshMode, MAX_LEAD, MIN_LEAD};
use serde::{Deserialize, Serialize};
use worker::{query, D1Database, D1PreparedStatement};

/// SQL for the key id of an envelope column (`v1.<kid>.<data>`).
pub fn kid_sql(column: &str) -> String {
    format!("substr({column}, 4, instr(substr({column}, 4), '.') - 1)")
}

/// One bound statement, run with its failure mapped to a logged 500 (`what` names it).
#[allow(async_fn_in_trait)]
pub trait Stmt {
    /// Runs it for its effect.
    async fn exec(self, what: &str) -> ApiResult<()>;
    /// The first row, if any.
    async fn one<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Option<T>>;
    /// Every row.
    async fn many<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Vec<T>>;
    /// Whether it returns a row at all.
    async fn exists(self, what: &str) -> ApiResult<bool>;
    /// The `id` column of every row.
    async fn ids(self, what: &str) -> ApiResult<Vec<String>>;
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

impl Stmt for worker::Result<D1PreparedStatement> {
    async fn exec(self, what: &str) -> ApiResult<()> {
        self.or_500(what)?.run().await.or_500(what)?;
        Ok(())
    }
    async fn one<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Option<T>> {
        self.or_500(what)?.first::<T>(None).await.or_500(what)
    }
    async fn many<T: serde::de::DeserializeOwned>(self, what: &str) -> ApiResult<Vec<T>> {
        self.or_500(what)?.all().await.or_500(what)?.results::<T>().or_500(what)
    }
    async fn exists(self, what: &str) -> ApiResult<bool> {
        Ok(self.one::<serde_json::Value>(what).await?.is_some())
    }
    async fn ids(self, what: &str) -> ApiResult<Vec<String>> {
        Ok(self.many::<IdRow>(what).await?.into_iter().map(|r| r.id).collect())
    }
}

/// Whether statement `i` of a batch returned a row (its `RETURNING` clause matched).
pub fn returned_rows(results: &[worker::D1Result], i: usize) -> bool {
    results.get(i).and_then(|r| r.results::<serde_json::Value>().ok()).is_some_and(|rows| !rows.is_empty())
}

const APP_COLUMNS: &str = "id, name, allowed_redirect_urls, webhook_url, claim, refresh_mode, created_at, limits";

/// The app whose unrevoked key hashes to `hash`.
pub async fn app_by_key_hash(db: &D1Database, hash: &str) -> ApiResult<Option<AppRow>> {
    query!(
        db,
        "SELECT a.id, a.name, a.allowed_redirect_urls, a.webhook_url, a.claim, a.refresh_mode, a.created_at, \
         a.limits FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL",
        hash
    )
    .one::<AppRow>("app_by_key")
    .await
}

/// Allowlist entries of every app that may allow `redirect` (those that name its host),
/// for the sandbox's redirect check. Each app holds at most 20 entries, and only apps
/// that name this host are read.
pub async fn allowlist_entries_for(db: &D1Database, redirect: &str) -> ApiResult<Vec<String>> {
    #[derive(Deserialize)]
    struct Row {
        allowed_redirect_urls: String,
    }
    let Some((host, unicode)) = host_needles(redirect) else { return Ok(vec![]) };
    let rows = query!(
        db,
        "SELECT allowed_redirect_urls FROM apps \
         WHERE instr(lower(allowed_redirect_urls), ?1) > 0 OR instr(lower(allowed_redirect_urls), ?2) > 0",
        host,
        unicode
    )
    .many::<Row>("allowlists by host")
    .await?;
    Ok(rows
        .iter()
        .flat_map(|r| serde_json::from_str::<Vec<String>>(&r.allowed_redirect_urls).unwrap_or_default())
        .collect())
}

/// A new app with its first API key, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn insert_app(
    db: &D1Database,
    app: &AppRow,
    webhook_secret_enc: &str,
    key_id: &str,
    key_hash: &str,
) -> ApiResult<()> {
    let a = query!(
        db,
        "INSERT INTO apps (id, name, allowed_redirect_urls, webhook_url, webhook_secret_enc, claim, refresh_mode, \
         created_at, updated_at, limits) VALUES (?1, ?2, ?3, ?4, ?5, ?7, ?8, ?6, ?6, ?9)",
        app.id,
        app.name,
        app.allowed_redirect_urls,
        app.webhook_url,
        webhook_secret_enc,
        app.created_at,
        app.claim,
        app.refresh_mode,
        app.limits
    )
    .or_500("prepare insert app")?;
    let k = insert_key_stmt(db, key_id, &app.id, key_hash, app.created_at)?;
    db.batch(vec![a, k]).await.or_500("insert app")?;
    Ok(())
}

fn insert_key_stmt(
    db: &D1Database,
    id: &str,
    app_id: &str,
    hash: &str,
    now: i64,
) -> ApiResult<worker::D1PreparedStatement> {
    query!(db, "INSERT INTO api_keys (id, app_id, key_hash, created_at) VALUES (?1, ?2, ?3, ?4)", id, app_id, hash, now)
        .or_500("prepare insert key")
}

/// A new API key for an existing app.
pub async fn insert_api_key(db: &D1Database, id: &str, app_id: &str, hash: &str, now: i64) -> ApiResult<()> {
    insert_key_stmt(db, id, app_id, hash, now)?.run().await.or_500("insert key")?;
    Ok(())
}

/// Revokes a key; false when no live key has that id.
pub async fn revoke_api_key(db: &D1Database, id: &str, now: i64) -> ApiResult<bool> {
    let r =
        query!(db, "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING id", id, now)
            .one::<serde_json::Value>("revoke key")
            .await?;
    Ok(r.is_some())
}

/// One app.
pub async fn get_app(db: &D1Database, id: &str) -> ApiResult<Option<AppRow>> {
    query!(db, &format!("SELECT {APP_COLUMNS} FROM apps WHERE id = ?1"), id).one::<AppRow>("get app").await
}

/// Apps in creation order after the cursor position.
pub async fn list_apps(db: &D1Database, after: Option<(i64, String)>, limit: u32) -> ApiResult<Vec<AppRow>> {
    let (t, id) = after.unwrap_or((-1, String::new()));
    query!(
        db,
        &format!("SELECT {APP_COLUMNS} FROM apps WHERE (created_at, id) > (?1, ?2) ORDER BY created_at, id LIMIT ?3"),
        t,
        id,
        limit + 1
    )
    .many::<AppRow>("read apps")
    .await
}

/// Writes an app's editable fields. When its refresh mode changes, its active grants with an
/// expiring access token (but those backing off after a failure, whose retry stands) are
/// marked for rescheduling in the same batch: when the cron next reaches one, it recomputes
/// its schedule in the new mode and calls the platform only if it is due in it
/// (`jobs::lifecycle`). None is made due now: a switch of a large app must not put its
/// grants ahead of every other app's due ones. To `on_demand`, each keeps its proactive
/// time (never later than its on-demand one); to `proactive`, each is due no later than its
/// proactive time (a quarter of the access token's life before expiry, 5 minutes to 7
/// days; an expired token at its expiry, so it queues behind older due work). The grants
/// go first, so they compare with the mode before the write.
pub async fn update_app(db: &D1Database, app: &AppRow, now: i64) -> ApiResult<()> {
    let reschedule = query!(
        db,
        // The proactive lead as `refresh_policy::next_refresh_at` computes it.
        &format!(
            "UPDATE grants SET reschedule = 1, next_refresh_at = CASE WHEN ?2 = 'proactive' THEN \
               MIN(COALESCE(next_refresh_at, access_token_expires_at), access_token_expires_at - \
                   MIN(MAX((access_token_expires_at - token_issued_at) / 4, {MIN_LEAD}), {MAX_LEAD})) \
               ELSE next_refresh_at END \
             WHERE app_id = ?1 AND status = 'active' \
             AND access_token_expires_at IS NOT NULL AND refresh_failing = 0 \
             AND (SELECT refresh_mode FROM apps WHERE id = ?1) IS NOT ?2"
        ),
        app.id,
        app.refresh_mode
    )
    .or_500("prepare reschedule grants")?;
    let update = query!(
        db,
        "UPDATE apps SET name = ?2, allowed_redirect_urls = ?3, webhook_url = ?4, updated_at = ?5, claim = ?6, \
         refresh_mode = ?7, limits = ?8 WHERE id = ?1",
        app.id,
        app.name,
        app.allowed_redirect_urls,
        app.webhook_url,
        now,
        app.claim,
        app.refresh_mode,
        app.limits
    )
    .or_500("prepare update app")?;
    db.batch(vec![reschedule, update]).await.or_500("update app")?;
    Ok(())
}

/// How the cron keeps an app's tokens (`proactive` when the app is gone: its grants are too).
pub async fn app_refresh_mode(db: &D1Database, app_id: &str) -> ApiResult<RefreshMode> {
    #[derive(serde::Deserialize)]
    struct Mode {
        refresh_mode: String,
    }
    let row = query!(db, "SELECT refresh_mode FROM apps WHERE id = ?1", app_id).one::<Mode>("app refresh mode").await?;
    Ok(row.map_or(RefreshMode::Proactive, |m| RefreshMode::from_stored(&m.refresh_mode)))
}

/// A new pending connect link; `false` (nothing written) when the app already holds
/// `max_pending` pending links. The count and the insert are one statement, so concurrent
/// creates cannot pass the cap together; it reads only the app's pending links (the
/// partial index `connect_links_pending`).
pub async fn insert_link(db: &D1Database, l: &LinkRow, callback: &str, max_pending: Option<u32>) -> ApiResult<bool> {
    query!(
        db,
        "INSERT INTO connect_links (id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, \
         app_state, metadata, reconnect_profile_id, callback, status, created_at, expires_at, accounts, instance) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13, ?14, ?15 \
         WHERE ?16 IS NULL OR (SELECT COUNT(*) FROM connect_links \
           WHERE app_id = ?2 AND status = 'pending' AND expires_at > ?12) < ?16 \
         RETURNING id",
        l.id,
        l.app_id,
        l.platform,
        l.redirect_url,
        l.authorize_url,
        l.scopes,
        l.external_user_id,
        l.app_state,
        l.metadata,
        l.reconnect_profile_id,
        callback,
        l.created_at,
        l.expires_at,
        l.accounts.as_str(),
        l.instance,
        max_pending
    )
    .exists("insert link")
    .await
}

/// Whether the app holds `cap` pending links already (a create is refused before it does
/// anything; [`insert_link`]'s own condition still holds the cap against concurrent creates).
pub async fn pending_links_at_cap(db: &D1Database, app_id: &str, now: i64, cap: u32) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    let row = query!(
        db,
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM connect_links \
         WHERE app_id = ?1 AND status = 'pending' AND expires_at > ?2 LIMIT ?3)",
        app_id,
        now,
        cap
    )
    .one::<Count>("count pending links")
    .await?;
    Ok(row.is_some_and(|r| r.n >= i64::from(cap)))
}

/// When the app's first pending link expires (epoch seconds), if it holds any.
pub async fn first_pending_expiry(db: &D1Database, app_id: &str, now: i64) -> ApiResult<Option<i64>> {
    #[derive(Deserialize)]
    struct First {
        at: Option<i64>,
    }
    let row = query!(
        db,
        "SELECT MIN(expires_at) AS at FROM connect_links WHERE app_id = ?1 AND status = 'pending' AND expires_at > ?2",
        app_id,
        now
    )
    .one::<First>("first pending expiry")
    .await?;
    Ok(row.and_then(|r| r.at))
}

const LINK_COLUMNS: &str = "id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, app_state, \
    metadata, reconnect_profile_id, status, error, profile_id, created_at, expires_at, completed_at, claim_expires_at, \
    claim_event, claim_token_hash, profile_ids, claim_events, accounts, choice_expires_at, instance";

/// A link by id (any app: the browser routes have no key).
pub async fn get_link(db: &D1Database, id: &str) -> ApiResult<Option<LinkRow>> {
    query!(db, &format!("SELECT {LINK_COLUMNS} FROM connect_links WHERE id = ?1"), id).one::<LinkRow>("get link").await
}

/// The links whose open account choice (a picker, or a connect holding its grant until its
/// accounts land) holds tokens of the login with this `login_key`, obtained no later than
/// `before` (the row is written right after the code exchange).
pub async fn links_choosing_for(db: &D1Database, login_key: &str, before: i64) -> ApiResult<Vec<LinkRow>> {
    query!(
        db,
        &format!(
            "SELECT {LINK_COLUMNS} FROM connect_links WHERE id IN \
             (SELECT link_id FROM account_choices WHERE login_key = ?1 AND created_at <= ?2)"
        ),
        login_key,
        before
    )
    .many::<LinkRow>("links choosing for login")
    .await
}

/// How a pending link ends (or goes on to the account picker).
pub enum LinkEnd<'a> {
    /// Connected and done: `completed` with its profiles.
    Completed(&'a [String]),
    /// Connected, waiting for the app's claim: `awaiting_claim`.
    AwaitingClaim {
        /// The profiles, first chosen first.
        profile_ids: &'a [String],
        /// The event each profile's claim sends.
        events: &'a [&'a str],
        /// SHA-256 of the `connect_token`.
        token_hash: &'a str,
        /// End of the claim window.
        until: i64,
    },
    /// The user chooses accounts until `until`: `choosing`.
    Choosing {
        /// End of the choice window.
        until: i64,
    },
    /// Failed with a code.
    Failed(&'a str),
}

/// The statement that ends a pending (or choosing) link, with `RETURNING id` (no row: it was
/// neither; follow it with [`assert_changed_stmt`] where that must roll the batch back).
pub fn end_link_stmt(db: &D1Database, id: &str, end: &LinkEnd<'_>, now: i64) -> ApiResult<D1PreparedStatement> {
    let (status, error, ids, events, hash, until, choice_until) = match end {
        LinkEnd::Completed(p) => ("completed", None, Some(to_json(*p)?), None, None, None, None),
        LinkEnd::AwaitingClaim { profile_ids, events, token_hash, until } => (
            "awaiting_claim",
            None,
            Some(to_json(*profile_ids)?),
            Some(to_json(*events)?),
            Some(*token_hash),
            Some(*until),
            None,
        ),
        LinkEnd::Choosing { until } => ("choosing", None, None, None, None, None, Some(*until)),
        LinkEnd::Failed(e) => ("failed", Some(*e), None, None, None, None, None),
    };
    let first = match end {
        LinkEnd::Completed(p) | LinkEnd::AwaitingClaim { profile_ids: p, .. } => p.first().cloned(),
        _ => None,
    };
    let completed_at = if matches!(end, LinkEnd::Choosing { .. }) { None } else { Some(now) };
    query!(
        db,
        "UPDATE connect_links SET status = ?2, error = ?3, profile_id = ?4, profile_ids = ?5, claim_events = ?6, \
         completed_at = ?7, claim_token_hash = ?8, claim_expires_at = ?9, choice_expires_at = COALESCE(?10, choice_expires_at) \
         WHERE id = ?1 AND status IN ('pending', 'choosing') RETURNING id",
        id,
        status,
        error,
        first,
        ids,
        events,
        completed_at,
        hash,
        until,
        choice_until
    )
    .or_500("prepare end link")
}

/// JSON text of a list a link stores.
fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> ApiResult<String> {
    serde_json::to_string(v).or_500("link json")
}

/// The error text of [`assert_changed_stmt`] when it fires.
const RACE_MARK: &str = "malformed JSON";

/// The statement that deletes the account-choice row of a link (the sealed grant it held).
pub fn drop_choice_stmt(db: &D1Database, link_id: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, "DELETE FROM account_choices WHERE link_id = ?1", link_id).or_500("prepare drop choice")
}

/// The binding (`token_hash`, `""` when unbound) of a link's account-choice row, if it has
/// one.
pub async fn choice_binding(db: &D1Database, link_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        token_hash: String,
    }
    let row = query!(db, "SELECT token_hash FROM account_choices WHERE link_id = ?1", link_id)
        .one::<Row>("read choice")
        .await?;
    Ok(row.map(|r| r.token_hash))
}

/// Deletes the account-choice row of a link, once what it held is settled.
pub async fn drop_choice(ctx: &crate::ctx::Ctx, link_id: &str) -> ApiResult<()> {
    drop_choice_stmt(&ctx.db()?, link_id)?.run().await.or_500("drop choice")?;
    Ok(())
}

/// A statement that fails (rolling the whole batch back) when the write right before it
/// changed no row: the compare-and-swap of a batch with several conditional writes. D1 runs
/// a batch as one transaction, and SQLite evaluates the `json()` of a non-JSON text only
/// when the `WHERE` holds.
pub fn assert_changed_stmt(db: &D1Database) -> ApiResult<D1PreparedStatement> {
    let stmt: worker::Result<D1PreparedStatement> =
        Ok(query!(db, "SELECT json('a conditional write raced') WHERE changes() = 0"));
    stmt.or_500("prepare assert")
}

/// A statement that fails (rolling the whole batch back) unless the write right before it
/// changed exactly `n` rows: [`assert_changed_stmt`] for a write of many rows at once.
pub fn assert_count_stmt(db: &D1Database, n: usize) -> ApiResult<D1PreparedStatement> {
    query!(db, "SELECT json('a conditional write raced') WHERE changes() != ?1", n as i64)
        .or_500("prepare assert count")
}

/// Whether a batch failed because of a race ([`assert_changed_stmt`] fired, or two inserts
/// of one new row): read again and retry.
pub fn is_race(error: &str) -> bool {
    error.contains(RACE_MARK) || error.contains("UNIQUE")
}

/// The claim of a link: `completed` when the token hash matches inside the claim window,
/// with `RETURNING id`.
pub fn claim_link_stmt(
    db: &D1Database,
    id: &str,
    app_id: &str,
    token_hash: &str,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE connect_links SET status = 'completed', claim_token_hash = NULL, completed_at = ?4 \
         WHERE id = ?1 AND app_id = ?2 AND status = 'awaiting_claim' AND claim_token_hash = ?3 \
         AND claim_expires_at > ?4 RETURNING id",
        id,
        app_id,
        token_hash,
        now
    )
    .or_500("prepare claim link")
}

/// Activates the pending profiles of a link once the link is completed (its claim).
pub fn activate_claimed_stmt(db: &D1Database, link_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET status = 'active', claim_link_id = NULL, updated_at = ?2 \
         WHERE claim_link_id = ?1 AND status = 'pending' \
         AND EXISTS (SELECT 1 FROM connect_links WHERE id = ?1 AND status = 'completed')",
        link_id,
        now
    )
    .or_500("prepare activate claimed")
}

/// Deletes up to `limit` pending profiles whose link's claim window closed, and each grant
/// left without a profile by that, returning those grants with their envelopes (to revoke
/// what was actually deleted: a profile taken over by a later connect meanwhile is no longer
/// pending for that link, and stays; a grant another profile still uses stays). Their links
/// are marked `expired` after.
pub async fn delete_unclaimed(
    db: &D1Database,
    now: i64,
    limit: u32,
) -> ApiResult<(Vec<ProfileRow>, Vec<(GrantRow, TokenColumns)>)> {
    let candidates = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE status = 'pending' AND claim_link_id IN \
             (SELECT id FROM connect_links WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1) LIMIT ?2"
        ),
        now,
        limit
    )
    .many::<ProfileRow>("read unclaimed")
    .await?;
    let ids: Vec<&str> = candidates.iter().map(|p| p.id.as_str()).collect();
    let mut grants: Vec<&str> = candidates.iter().map(|p| p.grant_id.as_str()).collect();
    grants.sort();
    grants.dedup();
    let ids_json = serde_json::to_string(&ids).or_500("ids json")?;
    let grants_json = serde_json::to_string(&grants).or_500("ids json")?;
    let delete = query!(
        db,
        &format!(
            "DELETE FROM profiles WHERE id IN (SELECT value FROM json_each(?1)) AND status = 'pending' \
             AND claim_link_id IN (SELECT id FROM connect_links WHERE claim_expires_at <= ?2) RETURNING {PROFILE_COLUMNS}"
        ),
        ids_json,
        now
    )
    .or_500("prepare delete unclaimed")?;
    let orphans = orphan_grants_stmt(db, &grants_json)?;
    let expire = query!(
        db,
        "UPDATE connect_links SET status = 'expired', claim_token_hash = NULL \
         WHERE status = 'awaiting_claim' AND claim_expires_at <= ?1",
        now
    )
    .or_500("prepare expire unclaimed")?;
    let results = db.batch(vec![delete, orphans, expire]).await.or_500("delete unclaimed")?;
    let gone = match results.first() {
        Some(r) => r.results::<ProfileRow>().or_500("read unclaimed")?,
        None => vec![],
    };
    Ok((gone, deleted_grants(&results, 1)?))
}

/// The statement that deletes those of `grant_ids_json` (a JSON array) that no profile
/// uses any more, returning them with their envelopes (to revoke after).
pub fn orphan_grants_stmt(db: &D1Database, grant_ids_json: &str) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "DELETE FROM grants WHERE id IN (SELECT value FROM json_each(?1)) \
             AND NOT EXISTS (SELECT 1 FROM profiles WHERE profiles.grant_id = grants.id) \
             RETURNING {GRANT_COLUMNS}, access_token_enc, refresh_token_enc"
        ),
        grant_ids_json
    )
    .or_500("prepare orphan grants")
}

/// The grants a batch's statement `i` deleted with `RETURNING`.
pub fn deleted_grants(results: &[worker::D1Result], i: usize) -> ApiResult<Vec<(GrantRow, TokenColumns)>> {
    let rows = match results.get(i) {
        Some(r) => r.results::<serde_json::Value>().or_500("read deleted grants")?,
        None => vec![],
    };
    rows.into_iter().map(split_grant).collect()
}

/// Whether a grant other than `except_id` (in any app) holds this login on one of
/// `platforms` (the platforms whose revocation reaches the same grants): an active grant,
/// or an ended one whose profiles still act with tokens of their own (a Facebook login past
/// day 60 whose Page tokens live on; revoking the login would end them).
pub async fn others_hold_login(db: &D1Database, platforms: &[&str], login: &str, except_id: &str) -> ApiResult<bool> {
    let list = serde_json::to_string(platforms).or_500("platforms json")?;
    query!(
        db,
        "SELECT id FROM grants g WHERE platform IN (SELECT value FROM json_each(?1)) AND platform_user_id = ?2 \
         AND id != ?3 AND (status = 'active' OR EXISTS (SELECT 1 FROM profiles p WHERE p.grant_id = g.id \
         AND p.status != 'disconnected')) LIMIT 1",
        list,
        login,
        except_id
    )
    .exists("others hold login")
    .await
}

/// Records a state as consumed. True only for the first caller: the primary key makes
/// every later insert of the same state a no-op, atomically.
pub async fn consume_state(db: &D1Database, state_hash: &str, link_id: &str, now: i64) -> ApiResult<bool> {
    let r = query!(
        db,
        "INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (state_hash) DO NOTHING RETURNING state_hash",
        state_hash,
        link_id,
        now
    )
    .one::<serde_json::Value>("consume state")
    .await?;
    Ok(r.is_some())
}

/// A profile of an app.
pub async fn get_profile(db: &D1Database, app_id: &str, id: &str) -> ApiResult<Option<ProfileRow>> {
    query!(db, &format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = ?1 AND app_id = ?2"), id, app_id)
        .one::<ProfileRow>("get profile")
        .await
}

/// Profiles of an app by id, in the order of `ids` (an id not found is left out): one read
/// however many.
pub async fn profiles_by_ids(db: &D1Database, app_id: &str, ids: &[String]) -> ApiResult<Vec<ProfileRow>> {
    let list = serde_json::to_string(ids).or_500("ids json")?;
    let rows = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE app_id = ?1 AND id IN (SELECT value FROM json_each(?2))"
        ),
        app_id,
        list
    )
    .many::<ProfileRow>("profiles by ids")
    .await?;
    let mut by_id: std::collections::HashMap<String, ProfileRow> =
        rows.into_iter().map(|p| (p.id.clone(), p)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Filters of `GET /v1/profiles`.
pub struct ProfileFilter {
    /// Platform id.
    pub platform: Option<String>,
    /// `pending`, `active` or `disconnected`; without it, pending profiles are left out.
    pub status: Option<String>,
    /// The app's user id.
    pub external_user_id: Option<String>,
}

/// An app's profiles in creation order after the cursor position.
pub async fn list_profiles(
    db: &D1Database,
    app_id: &str,
    f: &ProfileFilter,
    after: Option<(i64, String)>,
    limit: u32,
) -> ApiResult<Vec<ProfileRow>> {
    let (t, id) = after.unwrap_or((-1, String::new()));
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE app_id = ?1 AND (created_at, id) > (?2, ?3) \
             AND (?4 IS NULL OR platform = ?4) AND (status = ?5 OR (?5 IS NULL AND status != 'pending')) \
             AND (?6 IS NULL OR external_user_id = ?6) ORDER BY created_at, id LIMIT ?7"
        ),
        app_id,
        t,
        id,
        f.platform,
        f.status,
        f.external_user_id,
        limit + 1
    )
    .many::<ProfileRow>("read profiles")
    .await
}

/// The stored token envelopes of a grant.
#[derive(Clone, Deserialize)]
pub struct TokenColumns {
    /// Grant id.
    pub id: String,
    /// Platform id.
    pub platform: String,
    /// Envelope.
    pub access_token_enc: String,
    /// Envelope.
    pub refresh_token_enc: Option<String>,
}

impl TokenColumns {
    /// The grant's access token and, when stored and still opening, its refresh token
    /// (sealed under the grant's id); `None` when the access token does not open.
    pub fn open(&self, keyring: &Keyring) -> Option<(AccessToken, Option<RefreshToken>)> {
        let access = keyring.open_secret(&self.id, "access_token", &self.access_token_enc).ok()?;
        let refresh =
            self.refresh_token_enc.as_deref().and_then(|e| keyring.open_secret(&self.id, "refresh_token", e).ok());
        Some((access, refresh))
    }
}

/// Every profile of an app under one platform (to place a connect's accounts in one read).
pub async fn profiles_of_accounts(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    accounts: &[String],
) -> ApiResult<Vec<ProfileRow>> {
    let list = serde_json::to_string(accounts).or_500("ids json")?;
    query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS} FROM profiles WHERE app_id = ?1 AND platform = ?2 \
             AND platform_user_id IN (SELECT value FROM json_each(?3))"
        ),
        app_id,
        platform,
        list
    )
    .many::<ProfileRow>("profiles of accounts")
    .await
}

/// The grant of one platform login of one app, with its envelopes.
pub async fn find_grant(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    login: &str,
) -> ApiResult<Option<(GrantRow, TokenColumns)>> {
    let row = query!(
        db,
        &format!(
            "SELECT {GRANT_COLUMNS}, access_token_enc, refresh_token_enc FROM grants \
             WHERE app_id = ?1 AND platform = ?2 AND platform_user_id = ?3"
        ),
        app_id,
        platform,
        login
    )
    .one::<serde_json::Value>("find grant")
    .await?;
    row.map(split_grant).transpose()
}

/// Whether the grant of this login in this app serves a profile of another owner than
/// `owner` (pending profiles never had one): then a connect for `owner` may not touch it.
pub async fn grant_has_other_owner(
    db: &D1Database,
    app_id: &str,
    platform: &str,
    login: &str,
    owner: Option<&str>,
) -> ApiResult<bool> {
    query!(
        db,
        "SELECT 1 AS x FROM grants g JOIN profiles p ON p.grant_id = g.id WHERE g.app_id = ?1 AND g.platform = ?2 \
         AND g.platform_user_id = ?3 AND p.status != 'pending' AND p.external_user_id IS NOT ?4 LIMIT 1",
        app_id,
        platform,
        login,
        owner
    )
    .exists("grant owner")
    .await
}

/// A row holding the grant columns and the envelopes, read as both.
fn split_grant(row: serde_json::Value) -> ApiResult<(GrantRow, TokenColumns)> {
    let grant = serde_json::from_value(row.clone()).or_500("read grant")?;
    let tokens = serde_json::from_value(row).or_500("read grant tokens")?;
    Ok((grant, tokens))
}

/// The active profiles under a grant, each with whether it holds a token of its own; with
/// `own_token_too` false, only those acting with the grant's token.
pub async fn profiles_of_grant(
    db: &D1Database,
    grant_id: &str,
    own_token_too: bool,
) -> ApiResult<Vec<(ProfileRow, bool)>> {
    #[derive(Deserialize)]
    struct Own {
        own_token: i64,
    }
    let rows = query!(
        db,
        &format!(
            "SELECT {PROFILE_COLUMNS}, (access_token_enc IS NOT NULL) AS own_token FROM profiles \
             WHERE grant_id = ?1 AND status = 'active' AND (?2 = 1 OR access_token_enc IS NULL) ORDER BY created_at, id"
        ),
        grant_id,
        own_token_too as i32
    )
    .many::<serde_json::Value>("profiles of grant")
    .await?;
    rows.into_iter()
        .map(|r| {
            let own: Own = serde_json::from_value(r.clone()).or_500("read own token flag")?;
            Ok((serde_json::from_value(r).or_500("read profile")?, own.own_token != 0))
        })
        .collect()
}

/// The statement that shows a grant's scopes, expiry and last refresh on every profile
/// under it (a profile with a token of its own keeps its expiry); it runs only when the
/// statement before it in the batch changed a row (the grant write).
pub fn copy_grant_to_profiles_stmt(db: &D1Database, grant_id: &str, now: i64) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET scopes = (SELECT scopes FROM grants WHERE id = ?1), \
         access_token_expires_at = CASE WHEN access_token_enc IS NULL \
           THEN (SELECT access_token_expires_at FROM grants WHERE id = ?1) ELSE access_token_expires_at END, \
         last_refreshed_at = (SELECT last_refreshed_at FROM grants WHERE id = ?1), updated_at = ?2 \
         WHERE grant_id = ?1 AND changes() > 0",
        grant_id,
        now
    )
    .or_500("prepare copy grant")
}

/// The profile columns qualified with a table alias (for joins).
pub fn profile_columns_of(alias: &str) -> String {
    PROFILE_COLUMNS.split(',').map(|c| format!("{alias}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// The token a profile acts with: its own (a Facebook Page's), or its grant's.
#[derive(Deserialize)]
pub struct ProfileToken {
    /// Whose id the envelope is bound to (the profile's for its own token, else the grant's).
    pub bound_to: String,
    /// The access-token envelope.
    pub access_token_enc: String,
}

/// The columns of a [`ProfileToken`] and the join they come from (profiles `p`, grants `g`).
pub const PROFILE_TOKEN_FROM: &str = "CASE WHEN p.access_token_enc IS NULL THEN g.id ELSE p.id END AS bound_to, \
     COALESCE(p.access_token_enc, g.access_token_enc) AS access_token_enc \
     FROM profiles p JOIN grants g ON g.id = p.grant_id";

/// A profile of an app with the envelope of the token it acts with, in one read.
pub async fn profile_token(db: &D1Database, app_id: &str, id: &str) -> ApiResult<Option<(ProfileRow, ProfileToken)>> {
    let cols = profile_columns_of("p");
    let row = query!(db, &format!("SELECT {cols}, {PROFILE_TOKEN_FROM} WHERE p.id = ?1 AND p.app_id = ?2"), id, app_id)
        .one::<serde_json::Value>("profile token")
        .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let token = serde_json::from_value(r.clone()).or_500("read profile token")?;
            Ok(Some((serde_json::from_value(r).or_500("read profile")?, token)))
        }
    }
}

/// The statement that deletes a profile of an app, returning it (put an event after it in
/// the batch, then [`orphan_grants_stmt`] for its grant).
pub fn delete_profile_stmt(db: &D1Database, app_id: &str, id: &str) -> ApiResult<D1PreparedStatement> {
    query!(db, &format!("DELETE FROM profiles WHERE id = ?1 AND app_id = ?2 RETURNING {PROFILE_COLUMNS}"), id, app_id)
        .or_500("prepare delete profile")
}

/// Ids of active grants due for the lifecycle job, most overdue first (uses the partial
/// index `grants_next_refresh`).
pub async fn due_grants(db: &D1Database, now: i64, limit: u32) -> ApiResult<Vec<String>> {
    query!(db, DUE_GRANTS_SQL, now, limit).ids("read due grants").await
}

/// The due-grant selection (also shown with EXPLAIN QUERY PLAN by `make bench`).
/// A grant whose lease is held is left out: its refresh is in flight.
pub const DUE_GRANTS_SQL: &str = "SELECT id FROM grants WHERE status = 'active' AND next_refresh_at <= ?1 \
     AND (refresh_lease_until IS NULL OR refresh_lease_until < ?1) ORDER BY next_refresh_at LIMIT ?2";

/// Moves enqueued grants out of the due set until `until`; a grant a consumer already
/// refreshed (no longer due at `now`) keeps its new schedule.
pub async fn fence_due(db: &D1Database, ids: &[String], now: i64, until: i64) -> ApiResult<()> {
    let list = serde_json::to_string(ids).or_500("ids json")?;
    query!(
        db,
        "UPDATE grants SET next_refresh_at = ?3 WHERE id IN (SELECT value FROM json_each(?1)) AND next_refresh_at <= ?2",
        list,
        now,
        until
    )
    .exec("fence")
    .await?;
    Ok(())
}

/// Deletes consumed-state records older than `before`.
pub async fn delete_old_states(db: &D1Database, before: i64) -> ApiResult<()> {
    query!(db, "DELETE FROM consumed_states WHERE consumed_at < ?1", before).exec("state cleanup").await?;
    Ok(())
}

/// Writes a grant's re-sealed envelopes, only if the row was not changed meanwhile (a
/// refresh wins) and no refresh is in flight (it compares envelopes when it stores its answer).
pub async fn rewrap_grant(
    db: &D1Database,
    old: &TokenColumns,
    access: &str,
    refresh: Option<&str>,
    kid: &str,
    now: i64,
) -> ApiResult<()> {
    query!(
        db,
        "UPDATE grants SET access_token_enc = ?2, refresh_token_enc = ?3, token_kid = ?4, reencrypt_failed_at = NULL \
         WHERE id = ?1 AND access_token_enc = ?5 AND refresh_token_enc IS ?6 \
         AND (refresh_lease_until IS NULL OR refresh_lease_until < ?7)",
        old.id,
        access,
        refresh,
        kid,
        old.access_token_enc,
        old.refresh_token_enc,
        now
    )
    .exec("rewrap")
    .await?;
    Ok(())
}

/// Writes a re-sealed webhook secret if it did not change meanwhile.
pub async fn rewrap_app_secret(db: &D1Database, id: &str, old: &str, new: &str) -> ApiResult<()> {
    query!(
        db,
        "UPDATE apps SET webhook_secret_enc = ?3, reencrypt_failed_at = NULL WHERE id = ?1 AND webhook_secret_enc = ?2",
        id,
        old,
        new
    )
    .exec("rewrap app")
    .await?;
    Ok(())
}

/// Counts one proxied call in its minute (`GET /v1/admin/stats`).
pub async fn count_proxy_call(
    db: &D1Database,
    minute: i64,
    platform: &str,
    status: u16,
    source: &str,
) -> ApiResult<()> {
    query!(
        db,
        "INSERT INTO proxy_stats (minute, platform, status, source, calls) VALUES (?1, ?2, ?3, ?4, 1) \
         ON CONFLICT (minute, platform, status, source) DO UPDATE SET calls = calls + 1",
        minute,
        platform,
        status,
        source
    )
    .exec("count proxy call")
    .await
}

/// One line of `GET /v1/admin/stats`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProxyCount {
    /// Platform id.
    pub platform: String,
    /// The status answered.
    pub status: u16,
    /// Who answered: `platform`, `local` or `network`.
    pub source: String,
    /// Calls in the window.
    pub calls: u64,
}

/// Proxied calls per platform, status and source since `from_minute`.
pub async fn proxy_counts(db: &D1Database, from_minute: i64) -> ApiResult<Vec<ProxyCount>> {
    query!(
        db,
        "SELECT platform, status, source, SUM(calls) AS calls FROM proxy_stats WHERE minute >= ?1 \
         GROUP BY platform, status, source ORDER BY platform, status, source",
        from_minute
    )
    .many("read proxy counts")
    .await
}

/// Drops proxy counters older than `before_minute`.
pub async fn delete_old_proxy_counts(db: &D1Database, before_minute: i64) -> ApiResult<()> {
    query!(db, "DELETE FROM proxy_stats WHERE minute < ?1", before_minute).exec("purge proxy counts").await
}
