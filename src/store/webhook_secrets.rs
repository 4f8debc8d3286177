//! Apps' webhook secrets (`apps.webhook_secret_enc`, and for a day after a rotation
//! `webhook_secret_prev_enc` until `webhook_secret_prev_until`): read, rotated, the previous
//! one expired or re-sealed. A statement here is run by its caller ([`Stmt`](super::Stmt)).

use super::stmt::kid_sql;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Reads app `app_id`'s sealed webhook secret (an [`IdRow`](super::IdRow)).
pub fn webhook_secret(db: &D1Database, app_id: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT webhook_secret_enc AS id FROM apps WHERE id = ?1", app_id)
}

/// The sealed secrets a rotation writes.
pub struct RotatedSecret<'a> {
    /// The new secret's envelope.
    pub sealed: &'a str,
    /// The old one re-sealed as the previous one (`None`: it did not open, and signs nothing).
    pub previous: Option<&'a str>,
    /// Until when the previous one signs.
    pub previous_until: Option<i64>,
}

/// Rotates app `app_id`'s webhook secret while it is still `old` (`RETURNING id` when it did).
pub fn rotate_webhook_secret(
    db: &D1Database,
    app_id: &str,
    r: &RotatedSecret,
    now: i64,
    old: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE apps SET webhook_secret_enc = ?2, webhook_secret_prev_enc = ?3, webhook_secret_prev_until = ?4, \
         reencrypt_failed_at = NULL, updated_at = ?5 WHERE id = ?1 AND webhook_secret_enc = ?6 RETURNING id",
        app_id,
        r.sealed,
        r.previous,
        r.previous_until,
        now,
        old
    )
}

/// Drops the previous webhook secrets whose day is over at `now`.
pub fn expire_previous_webhook_secrets(db: &D1Database, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE apps SET webhook_secret_prev_enc = NULL, webhook_secret_prev_until = NULL \
         WHERE webhook_secret_prev_until <= ?1",
        now
    )
}

/// Up to 50 previous webhook secrets under one of `others` (a JSON array of key ids), as
/// [`KeyedText`](super::KeyedText)s (the app's id, the envelope).
pub fn old_key_previous_webhook_secrets(db: &D1Database, others: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT id, webhook_secret_prev_enc AS text FROM apps WHERE webhook_secret_prev_enc IS NOT NULL \
             AND {} IN (SELECT value FROM json_each(?1)) LIMIT 50",
            kid_sql("webhook_secret_prev_enc")
        ),
        others
    )
}

/// Writes app `id`'s re-sealed previous secret (`None`: dropped, with its end) while it is
/// still `old`.
pub fn rewrap_previous_webhook_secret(
    db: &D1Database,
    id: &str,
    resealed: Option<&str>,
    old: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE apps SET webhook_secret_prev_enc = ?2, \
         webhook_secret_prev_until = CASE WHEN ?2 IS NULL THEN NULL ELSE webhook_secret_prev_until END \
         WHERE id = ?1 AND webhook_secret_prev_enc = ?3",
        id,
        resealed,
        old
    )
}
