//! Re-encryption under the current key: the rows of each table still sealed under another
//! key id (`grants`, `profiles`' own tokens, `apps`' webhook secrets, `instance_clients`,
//! `platform_credentials`), their re-sealed values written only while unchanged, and the
//! mark on a row that no longer opens (skipped from then on, counted by `GET /v1/admin/keys`). Each batch of ids
//! is `others`, a JSON array of key ids. A statement here is run by its caller ([`Stmt`](super::Stmt)).

use super::platform_credentials::COLUMNS;
use super::stmt::kid_sql;
use connect_links_core::app_credentials::CredentialRow;
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Up to `limit` grants under one of `others`, not marked unreadable, as
/// [`TokenColumns`](super::TokenColumns).
pub fn old_key_grants(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT id, platform, access_token_enc, refresh_token_enc FROM grants \
         WHERE token_kid IN (SELECT value FROM json_each(?1)) AND reencrypt_failed_at IS NULL LIMIT ?2",
        others,
        limit
    )
}

/// Marks grant `id` unreadable, only while its envelopes are the ones that failed (a
/// reconnect may have just written fresh ones; every token write clears the mark).
pub fn mark_grant_unreadable(
    db: &D1Database,
    id: &str,
    now: i64,
    access_enc: &str,
    refresh_enc: Option<&str>,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE grants SET reencrypt_failed_at = ?2 WHERE id = ?1 AND access_token_enc = ?3 \
         AND refresh_token_enc IS ?4",
        id,
        now,
        access_enc,
        refresh_enc
    )
}

/// Up to `limit` apps whose webhook secret is under one of `others`, not marked unreadable
/// (as [`KeyedText`](super::KeyedText)s: the app's id, its sealed webhook secret).
pub fn old_key_apps(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT id, webhook_secret_enc AS text FROM apps WHERE {} IN (SELECT value FROM json_each(?1)) \
             AND reencrypt_failed_at IS NULL LIMIT ?2",
            kid_sql("webhook_secret_enc")
        ),
        others,
        limit
    )
}

/// Marks app `id`'s webhook secret unreadable while it is still `secret_enc`.
pub fn mark_app_unreadable(
    db: &D1Database,
    id: &str,
    now: i64,
    secret_enc: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE apps SET reencrypt_failed_at = ?2 WHERE id = ?1 AND webhook_secret_enc = ?3",
        id,
        now,
        secret_enc
    )
}

/// A Mastodon instance client's secret still under an old key.
#[derive(Deserialize, Default)]
pub struct OldKeyClient {
    /// The platform.
    pub platform: String,
    /// The instance.
    pub instance: String,
    /// The redirect URI it was registered with.
    pub redirect_uri: String,
    /// Its sealed client secret.
    pub client_secret_enc: String,
}

/// Up to `limit` registered instance clients whose secret is under one of `others`
/// ([`OldKeyClient`]).
pub fn old_key_instance_clients(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT platform, instance, redirect_uri, client_secret_enc FROM instance_clients \
         WHERE client_id IS NOT NULL AND token_kid IN (SELECT value FROM json_each(?1)) LIMIT ?2",
        others,
        limit
    )
}

/// Writes client `c`'s re-sealed secret `enc` (under `kid`) while it is unchanged.
pub fn rewrap_instance_client(
    db: &D1Database,
    c: &OldKeyClient,
    enc: &str,
    kid: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE instance_clients SET client_secret_enc = ?4, token_kid = ?5, updated_at = ?6 \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_secret_enc = ?7",
        c.platform,
        c.instance,
        c.redirect_uri,
        enc,
        kid,
        now,
        c.client_secret_enc
    )
}

/// Forgets client `c` (its secret does not open) while it is unchanged.
pub fn forget_instance_client(db: &D1Database, c: &OldKeyClient) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM instance_clients WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 \
         AND client_secret_enc = ?4",
        c.platform,
        c.instance,
        c.redirect_uri,
        c.client_secret_enc
    )
}

/// Up to `limit` profiles whose own token (a Facebook Page's) is under one of `others`, not
/// marked unreadable (as [`KeyedText`](super::KeyedText)s: the profile's id, its token's
/// envelope).
pub fn old_key_own_tokens(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT id, access_token_enc AS text FROM profiles WHERE token_kid IN (SELECT value FROM json_each(?1)) \
         AND access_token_enc IS NOT NULL AND reencrypt_failed_at IS NULL LIMIT ?2",
        others,
        limit
    )
}

/// Writes profile `id`'s re-sealed own token `enc` (under `kid`) while it is still `old`.
pub fn rewrap_own_token(
    db: &D1Database,
    id: &str,
    enc: &str,
    old: &str,
    kid: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE profiles SET access_token_enc = ?2, token_kid = ?4, reencrypt_failed_at = NULL \
         WHERE id = ?1 AND access_token_enc = ?3",
        id,
        enc,
        old,
        kid
    )
}

/// Marks profile `id`'s own token unreadable while it is still `old`.
pub fn mark_own_token_unreadable(
    db: &D1Database,
    id: &str,
    now: i64,
    old: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(db, "UPDATE profiles SET reencrypt_failed_at = ?2 WHERE id = ?1 AND access_token_enc = ?3", id, now, old)
}

/// Up to `limit` platform credentials under one of `others`, not marked unreadable
/// (whole `CredentialRow`s: the one row type of the table keeps the worker small).
pub fn old_key_credentials(db: &D1Database, others: &str, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM platform_credentials \
             WHERE token_kid IN (SELECT value FROM json_each(?1)) AND reencrypt_failed_at IS NULL LIMIT ?2"
        ),
        others,
        limit
    )
}

/// Writes credentials `c`'s re-sealed secrets (under `kid`) while they are unchanged.
pub fn rewrap_credential(
    db: &D1Database,
    c: &CredentialRow,
    client_enc: &str,
    webhook_enc: Option<&str>,
    kid: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE platform_credentials SET client_secret_enc = ?2, webhook_secret_enc = ?3, token_kid = ?4 \
         WHERE id = ?1 AND client_secret_enc = ?5 AND webhook_secret_enc IS ?6",
        c.id,
        client_enc,
        webhook_enc,
        kid,
        c.client_secret_enc,
        c.webhook_secret_enc
    )
}

/// Marks credentials `c` unreadable while their secrets are the ones that failed (a `PUT`
/// that stored fresh ones clears the mark).
pub fn mark_credential_unreadable(db: &D1Database, c: &CredentialRow, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE platform_credentials SET reencrypt_failed_at = ?2 \
         WHERE id = ?1 AND client_secret_enc = ?3 AND webhook_secret_enc IS ?4",
        c.id,
        now,
        c.client_secret_enc,
        c.webhook_secret_enc
    )
}
