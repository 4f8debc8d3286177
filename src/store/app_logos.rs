//! Apps' logos (`app_logos`): the sanitized bytes only, base64 in a text column, one row per
//! app; `apps.logo_file` names the current one (its URL), so an app's row stays small.

use super::stmt::query;
use super::stmt::{IdRow, Stmt};
use crate::error::{ApiResult, OrInternal};
use connect_links_core::brand::{Logo, LogoKind};
use connect_links_core::random::{b64, b64_decode};
use worker::D1Database;

/// Stores `logo` as `app_id`'s (replacing any), in one transaction with `apps.logo_file`.
pub async fn put_logo(db: &D1Database, app_id: &str, logo: &Logo, now: i64) -> ApiResult<()> {
    let body = b64(&logo.bytes);
    let put = query!(
        db,
        "INSERT INTO app_logos (app_id, file, body, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (app_id) DO UPDATE SET file = ?2, body = ?3, updated_at = ?4",
        app_id,
        logo.file,
        body,
        now
    )
    .or_500("prepare put logo")?;
    let name = query!(db, "UPDATE apps SET logo_file = ?2, updated_at = ?3 WHERE id = ?1", app_id, logo.file, now)
        .or_500("prepare name logo")?;
    db.batch(vec![put, name]).await.or_500("put logo")?;
    Ok(())
}

/// Removes `app_id`'s logo; false when it had none.
pub async fn delete_logo(db: &D1Database, app_id: &str, now: i64) -> ApiResult<bool> {
    let gone = query!(db, "DELETE FROM app_logos WHERE app_id = ?1", app_id).or_500("prepare delete logo")?;
    let name = query!(
        db,
        "UPDATE apps SET logo_file = NULL, updated_at = ?2 WHERE id = ?1 AND logo_file IS NOT NULL RETURNING id",
        app_id,
        now
    )
    .or_500("prepare unname logo")?;
    let results = db.batch(vec![gone, name]).await.or_500("delete logo")?;
    Ok(super::stmt::returned_rows(&results, 1))
}

/// The bytes of `app_id`'s logo when `file` names the current one (an older URL: `None`).
pub async fn logo(db: &D1Database, app_id: &str, file: &str) -> ApiResult<Option<(LogoKind, Vec<u8>)>> {
    let Some(kind) = LogoKind::of_file(file) else { return Ok(None) };
    // Read as an `IdRow` (one text column named `id`): no row type of its own.
    let row = query!(db, "SELECT body AS id FROM app_logos WHERE app_id = ?1 AND file = ?2", app_id, file)
        .one::<IdRow>("read logo")
        .await?;
    match row {
        Some(r) => Ok(Some((kind, b64_decode(&r.id).ok_or("not base64").or_500("stored logo")?))),
        None => Ok(None),
    }
}
