//! The worker's own secrets (`worker_secrets`), sealed under `TOKEN_KEYS` by name: read,
//! stored once (whoever writes first wins), replaced or re-sealed while unchanged. A
//! statement here is run by its caller ([`Stmt`](super::Stmt)).

use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// Reads worker secret `name`'s envelope (an [`IdRow`](super::IdRow)).
pub fn worker_secret(db: &D1Database, name: &str) -> worker::Result<D1PreparedStatement> {
    query!(db, "SELECT secret_enc AS id FROM worker_secrets WHERE name = ?1", name)
}

/// Stores worker secret `name` unless one is stored already.
pub fn insert_worker_secret(
    db: &D1Database,
    name: &str,
    sealed: &str,
    kid: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO worker_secrets (name, secret_enc, token_kid, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (name) DO NOTHING",
        name,
        sealed,
        kid,
        now
    )
}

/// Replaces worker secret `name` by `sealed` (under `kid`) while it is still `old`.
pub fn rewrap_worker_secret(
    db: &D1Database,
    name: &str,
    sealed: &str,
    kid: &str,
    old: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE worker_secrets SET secret_enc = ?2, token_kid = ?3 WHERE name = ?1 AND secret_enc = ?4",
        name,
        sealed,
        kid,
        old
    )
}

/// The worker secrets under one of `others` (a JSON array of key ids), as
/// [`KeyedText`](super::KeyedText)s (the secret's name as `id`, the envelope).
pub fn old_key_worker_secrets(db: &D1Database, others: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT name AS id, secret_enc AS text FROM worker_secrets WHERE token_kid IN (SELECT value FROM json_each(?1))",
        others
    )
}
