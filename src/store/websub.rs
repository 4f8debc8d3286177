//! YouTube's WebSub subscriptions (`websub_subscriptions`): one per channel and platform
//! app, with its sealed `hub.secret`, its status and the lease the hub granted.

use super::stmt::query;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// The columns of a [`WebsubRow`].
const COLUMNS: &str = "id, channel_id, credential_ref, secret_enc, topic, status, lease_expires_at";

/// One subscription.
#[derive(Deserialize, Clone, Default)]
pub struct WebsubRow {
    /// `wss_...`: the callback's last segment.
    pub id: String,
    /// The channel (the profiles' `platform_user_id`).
    pub channel_id: String,
    /// The app credentials whose grants it serves; `None`: the deployment's.
    pub credential_ref: Option<String>,
    /// The sealed `hub.secret`.
    pub secret_enc: String,
    /// The feed subscribed to.
    pub topic: String,
    /// `pending`, `active` or `unsubscribing`.
    pub status: String,
    /// When the hub's lease ends (epoch seconds), once verified.
    pub lease_expires_at: Option<i64>,
}

/// The statement that records a new subscription as `pending` (nothing when the channel
/// already has one for these credentials).
#[allow(clippy::too_many_arguments)]
pub fn websub_insert(
    db: &D1Database,
    id: &str,
    channel_id: &str,
    credential_ref: Option<&str>,
    secret_enc: &str,
    token_kid: &str,
    topic: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO websub_subscriptions (id, channel_id, credential_ref, secret_enc, token_kid, topic, status, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?7, ?7) ON CONFLICT DO NOTHING",
        id,
        channel_id,
        credential_ref,
        secret_enc,
        token_kid,
        topic,
        now
    )
}

/// The statement that reads the subscription of a channel for these credentials.
pub fn websub_of_channel(
    db: &D1Database,
    channel_id: &str,
    credential_ref: Option<&str>,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!("SELECT {COLUMNS} FROM websub_subscriptions WHERE channel_id = ?1 AND credential_ref IS ?2"),
        channel_id,
        credential_ref
    )
}

/// The statement that reads every subscription of a channel (any credentials).
pub fn websubs_of_channel(db: &D1Database, channel_id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, &format!("SELECT {COLUMNS} FROM websub_subscriptions WHERE channel_id = ?1"), channel_id)
}

/// The statement that reads the subscription with this id.
pub fn websub_by_id(db: &D1Database, id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, &format!("SELECT {COLUMNS} FROM websub_subscriptions WHERE id = ?1"), id)
}

/// The statement that records a request sent to the hub: the status it leaves (`pending` for
/// a subscribe while none was verified, `active` for a renewal, `unsubscribing`) and the
/// secret it carried (re-sealed under the current key).
pub fn websub_sent(
    db: &D1Database,
    id: &str,
    status: &str,
    secret_enc: &str,
    token_kid: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE websub_subscriptions SET status = ?2, secret_enc = ?3, token_kid = ?4, updated_at = ?5 WHERE id = ?1",
        id,
        status,
        secret_enc,
        token_kid,
        now
    )
}

/// The statement that records the hub's verification of a subscribe: `active` until
/// `lease_expires_at`; only while it is not being unsubscribed.
pub fn websub_verified(
    db: &D1Database,
    id: &str,
    lease_expires_at: i64,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE websub_subscriptions SET status = 'active', lease_expires_at = ?2, updated_at = ?3 \
         WHERE id = ?1 AND status <> 'unsubscribing' RETURNING id",
        id,
        lease_expires_at,
        now
    )
}

/// The statement that deletes a subscription being unsubscribed (the hub verified it, or its
/// lease ended).
pub fn websub_delete(db: &D1Database, id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "DELETE FROM websub_subscriptions WHERE id = ?1 AND status = 'unsubscribing' RETURNING id", id)
}

/// The statement that reads up to `limit` subscriptions due for work: a lease ending before
/// `renew_before` (or none yet), no request sent to the hub since `quiet_since` (a request
/// that got no verification is sent again an hour later, not at every run).
pub fn websubs_due(
    db: &D1Database,
    renew_before: i64,
    quiet_since: i64,
    limit: u32,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM websub_subscriptions WHERE COALESCE(lease_expires_at, 0) <= ?1 \
             AND updated_at <= ?2 ORDER BY COALESCE(lease_expires_at, 0) LIMIT ?3"
        ),
        renew_before,
        quiet_since,
        limit
    )
}

/// The statement that tells whether a profile of `channel_id` on YouTube remains under a
/// grant of these credentials.
pub fn channel_has_profiles(
    db: &D1Database,
    channel_id: &str,
    credential_ref: Option<&str>,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT p.id FROM profiles p JOIN grants g ON g.id = p.grant_id WHERE p.platform = 'youtube' \
         AND p.platform_user_id = ?1 AND g.credential_ref IS ?2 LIMIT 1",
        channel_id,
        credential_ref
    )
}

/// The statement that reads up to `limit` subscriptions whose secret is sealed under one of
/// `others` (a JSON array of key ids).
pub fn old_key_websubs(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM websub_subscriptions WHERE token_kid IN (SELECT value FROM json_each(?1)) LIMIT ?2"
        ),
        others,
        limit
    )
}

/// The statement that writes subscription `id`'s re-sealed secret `enc` (under `kid`) while
/// it is still `old`.
pub fn rewrap_websub(db: &D1Database, id: &str, enc: &str, old: &str, kid: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE websub_subscriptions SET secret_enc = ?2, token_kid = ?4 WHERE id = ?1 AND secret_enc = ?3",
        id,
        enc,
        old,
        kid
    )
}

/// The statement that makes subscription `id`, whose secret (still `old`) no key opens, due
/// for renewal at `now`: the renewal (within the hour) sends the hub a fresh secret and
/// seals it under the current key, which also takes the row out of the next batches.
pub fn websub_due_now(db: &D1Database, id: &str, old: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE websub_subscriptions SET lease_expires_at = ?3 WHERE id = ?1 AND secret_enc = ?2",
        id,
        old,
        now
    )
}
