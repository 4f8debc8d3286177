//! DOMAIN: apps' API keys, for the admin API and the console alike: a new key (its value
//! handed back this once, only its hash stored) and a revocation that stops the key in this
//! isolate at once (its app cache forgets every app before and after the write, as around
//! every admin write; other isolates within `isolate::APP_CACHE_MS`).

use crate::ctx::Ctx;
use crate::store;
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::keys::{hash_api_key, new_api_key};
use connect_links_core::random::new_id;
use connect_links_core::secrets::BearerSecret;

/// A new API key of app `app_id`: its id and its value (shown once, never stored); 404 when
/// there is no such app.
pub async fn create(ctx: &Ctx, app_id: &str) -> ApiResult<(String, BearerSecret)> {
    let db = ctx.db()?;
    store::get_app(&db, app_id).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let (key_id, key) = (new_id("key_")?, new_api_key()?);
    store::insert_api_key(&db, &key_id, app_id, &hash_api_key(key.secret()), ctx.now()).await?;
    Ok((key_id, key))
}

/// Revokes live key `key_id`, of app `app_id` when given (a key of another app is left as
/// it is); 404 `api key` when no such live key.
pub async fn revoke(ctx: &Ctx, key_id: &str, app_id: Option<&str>) -> ApiResult<()> {
    crate::isolate::forget_apps();
    let revoked = store::revoke_api_key(&ctx.db()?, key_id, app_id, ctx.now()).await;
    // Also after: a lookup that overlapped the write must not keep what it read.
    crate::isolate::forget_apps();
    if !revoked? {
        return Err(ApiError::not_found("api key"));
    }
    Ok(())
}
