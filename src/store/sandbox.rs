//! The sandbox platform's own tables (`sandbox_codes`, `sandbox_tokens`): its authorization
//! codes and the tokens it issued, each stored as a hash (only with `SANDBOX=on`).

use crate::error::{ApiResult, OrInternal};
use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// The statement that stores a new authorization code (its hash) for what the consent page
/// granted.
#[inline(always)]
pub fn insert_sandbox_code(
    db: &D1Database,
    code_hash: &str,
    redirect_uri: &str,
    code_challenge: &str,
    scope: &str,
    username: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO sandbox_codes (code_hash, redirect_uri, code_challenge, scope, username, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        code_hash,
        redirect_uri,
        code_challenge,
        scope,
        username,
        now
    )
}

/// A code as its redemption reads it.
#[derive(Deserialize, Default)]
pub struct SandboxCode {
    /// Where the code was sent.
    pub redirect_uri: String,
    /// The PKCE S256 challenge it was issued for.
    pub code_challenge: String,
    /// The granted scopes (space-separated).
    pub scope: String,
    /// The sandbox account.
    pub username: String,
    /// Epoch seconds.
    pub created_at: i64,
}

/// The statement that marks the code with this hash used and reads it (a [`SandboxCode`]),
/// in one statement (a code works once): no row when it is unknown or was used.
#[inline(always)]
pub fn redeem_sandbox_code(db: &D1Database, code_hash: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE sandbox_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL \
         RETURNING redirect_uri, code_challenge, scope, username, created_at",
        code_hash,
        now
    )
}

/// Who tokens are issued to, and for what.
#[derive(Deserialize, Default)]
pub struct SandboxGrant {
    /// The sandbox account.
    pub username: String,
    /// The granted scopes (space-separated).
    pub scope: String,
}

/// The statement that revokes the live refresh token with this hash (rotation: it dies as a
/// new one is issued) and reads whose it was (a [`SandboxGrant`]): no row when it is
/// unknown, used or revoked.
#[inline(always)]
pub fn spend_sandbox_refresh(db: &D1Database, token_hash: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE sandbox_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND kind = 'refresh' \
         AND revoked_at IS NULL RETURNING username, scope",
        token_hash,
        now
    )
}

/// The statement that stores an issued access or refresh token (its hash) of `grant`.
#[inline(always)]
pub fn sandbox_token_stmt(
    db: &D1Database,
    token_hash: String,
    kind: &str,
    grant: &SandboxGrant,
    expires_at: Option<i64>,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO sandbox_tokens (token_hash, kind, username, scope, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        token_hash, kind, grant.username, grant.scope, expires_at, now
    )
    .or_500("prepare sandbox token")
}

/// The statement that stores a Page token (its hash), whose holder is the Page `page_id`.
#[inline(always)]
pub fn sandbox_page_token_stmt(
    db: &D1Database,
    token_hash: &str,
    page_id: &str,
    scope: &str,
    expires_at: i64,
    now: i64,
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO sandbox_tokens (token_hash, kind, username, scope, expires_at, created_at) \
         VALUES (?1, 'page', ?2, ?3, ?4, ?5)",
        token_hash,
        page_id,
        scope,
        expires_at,
        now
    )
    .or_500("prepare sandbox page token")
}

/// Who holds a live sandbox access or Page token (a Page token's holder is the Page).
#[derive(Deserialize, Default)]
pub struct SandboxHolder {
    /// The sandbox account, or the Page.
    pub username: String,
    /// The granted scopes (space-separated).
    pub scope: String,
    /// `access` or `page`.
    pub kind: String,
}

/// The statement that reads the holder of the live access or Page token with this hash, if
/// any (a [`SandboxHolder`]).
#[inline(always)]
pub fn sandbox_bearer(db: &D1Database, token_hash: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT username, scope, kind FROM sandbox_tokens WHERE token_hash = ?1 AND kind IN ('access', 'page') \
         AND revoked_at IS NULL AND expires_at > ?2",
        token_hash,
        now
    )
}

/// The statement that revokes the token with this hash (RFC 7009: an unknown one is no
/// error).
#[inline(always)]
pub fn revoke_sandbox_token(db: &D1Database, token_hash: &str, now: i64) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE sandbox_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
        token_hash,
        now
    )
}
