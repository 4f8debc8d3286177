//! Connect links (`connect_links`): create, read, end and claim.

use super::stmt::{to_json, Stmt};
use crate::error::{ApiResult, OrInternal};
pub use connect_links_core::model::LinkRow;
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// A new pending connect link; `false` (nothing written) when the app already holds
/// `max_pending` pending links. The count and the insert are one statement, so concurrent
/// creates cannot pass the cap together; it reads only the app's pending links (the
/// partial index `connect_links_pending`).
pub async fn insert_link(db: &D1Database, l: &LinkRow, callback: &str, max_pending: Option<u32>) -> ApiResult<bool> {
    query!(
        db,
        "INSERT INTO connect_links (id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, \
         app_state, metadata, reconnect_profile_id, callback, status, created_at, expires_at, accounts, instance, platforms, \
         optional_scopes, locale) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13, ?14, ?15, ?17, ?18, ?19 \
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
        max_pending,
        l.platforms,
        l.optional_scopes,
        l.locale
    )
    .exists("insert link")
    .await
}

/// The user's choice on a chooser link (still pending at `now`): the platform, what its
/// consent needs (empty for a platform without one) and the key of the choice's state, the
/// only one that completes the link from now on. Whether the link was still open.
pub async fn choose_platform(db: &D1Database, link_id: &str, c: &Chosen<'_>, now: i64) -> ApiResult<bool> {
    query!(
        db,
        "UPDATE connect_links SET platform = ?2, authorize_url = ?3, scopes = ?4, instance = ?5, choice_state = ?6 \
         WHERE id = ?1 AND status = 'pending' AND platforms IS NOT NULL AND expires_at > ?7 RETURNING id",
        link_id,
        c.platform,
        c.authorize_url,
        c.scopes,
        c.instance,
        c.state_key,
        now
    )
    .exists("choose platform")
    .await
}

/// Counts one more posted form on a pending chooser link, unless `cap` were posted already:
/// whether it was counted. The count and the check are one statement, so concurrent posts
/// cannot pass the cap together.
pub async fn count_choice_attempt(db: &D1Database, link_id: &str, cap: u32) -> ApiResult<bool> {
    query!(
        db,
        "UPDATE connect_links SET choice_attempts = choice_attempts + 1 \
         WHERE id = ?1 AND platforms IS NOT NULL AND choice_attempts < ?2 RETURNING id",
        link_id,
        cap
    )
    .exists("count choice attempt")
    .await
}

/// What [`choose_platform`] writes.
pub struct Chosen<'a> {
    /// The chosen platform's id.
    pub platform: &'a str,
    /// The consent URL, sealed; empty without one.
    pub authorize_url: &'a str,
    /// JSON array of the requested scopes.
    pub scopes: &'a str,
    /// The account's server (a Mastodon instance, a Bluesky PDS).
    pub instance: Option<&'a str>,
    /// The state key of the choice's state; `None` without one.
    pub state_key: Option<&'a str>,
}

/// Whether the app holds `cap` pending links already (a create is refused before it does
/// anything; [`insert_link`]'s own condition still holds the cap against concurrent creates).
pub async fn pending_links_at_cap(db: &D1Database, app_id: &str, now: i64, cap: u32) -> ApiResult<bool> {
    #[derive(Deserialize, Default)]
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
    #[derive(Deserialize, Default)]
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
    claim_event, claim_token_hash, profile_ids, claim_events, accounts, choice_expires_at, instance, platforms, choice_state, \
    optional_scopes, missing_scopes, locale";

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
    /// Failed with `missing_scopes`: the required scopes the user declined.
    MissingScopes(&'a [String]),
}

/// Which choice of a chooser link an end is for.
#[derive(Clone, Copy)]
pub enum OfChoice<'a> {
    /// Whichever the link holds (an end that is not a connect's: the user let go of the app).
    Any,
    /// Only the choice with this state key (`LinkRow::choice_state` as the flow read it; `None`
    /// for a choice without consent), so a choice replaced meanwhile (the user went back and
    /// chose again) neither completes nor fails the link.
    Latest(Option<&'a str>),
}

impl<'a> OfChoice<'a> {
    /// The choice `link` held when the flow read it.
    pub fn of(link: &'a LinkRow) -> Self {
        OfChoice::Latest(link.choice_state.as_deref())
    }
}

/// The statement that ends a pending (or choosing) link, with `RETURNING id` (no row: it was
/// neither, or a chooser link whose choice is no longer `of`; follow it with
/// [`assert_changed_stmt`] where that must roll the batch back).
pub fn end_link_stmt(
    db: &D1Database,
    id: &str,
    end: &LinkEnd<'_>,
    of: OfChoice<'_>,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    let mut missing = None;
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
        LinkEnd::MissingScopes(m) => {
            missing = Some(to_json(*m)?);
            ("failed", Some("missing_scopes"), None, None, None, None, None)
        }
    };
    let first = match end {
        LinkEnd::Completed(p) | LinkEnd::AwaitingClaim { profile_ids: p, .. } => p.first().cloned(),
        _ => None,
    };
    let completed_at = if matches!(end, LinkEnd::Choosing { .. }) { None } else { Some(now) };
    query!(
        db,
        "UPDATE connect_links SET status = ?2, error = ?3, profile_id = ?4, profile_ids = ?5, claim_events = ?6, \
         completed_at = ?7, claim_token_hash = ?8, claim_expires_at = ?9, choice_expires_at = COALESCE(?10, choice_expires_at), \
         missing_scopes = ?11 \
         WHERE id = ?1 AND status IN ('pending', 'choosing') \
         AND (?12 = 0 OR platforms IS NULL OR choice_state IS ?13) RETURNING id",
        id,
        status,
        error,
        first,
        ids,
        events,
        completed_at,
        hash,
        until,
        choice_until,
        missing,
        matches!(of, OfChoice::Latest(_)),
        match of {
            OfChoice::Latest(state) => state,
            OfChoice::Any => None,
        }
    )
    .or_500("prepare end link")
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

/// The statement that marks `expired` the links still choosing past their window whose account choice is gone
/// (dropped by the cron's expiry pass).
#[inline(always)]
pub fn expire_unchosen_links(db: &D1Database, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE connect_links SET status = 'expired', completed_at = ?1 WHERE status = 'choosing' AND choice_expires_at <= ?1 \
         AND NOT EXISTS (SELECT 1 FROM account_choices WHERE link_id = connect_links.id)",
        now
    )
}
