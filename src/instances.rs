//! Platforms whose accounts live on a server of their own: a Mastodon instance,
//! a Bluesky PDS. Their URLs are resolved per account against the host stored with the link
//! or the grant, and a Mastodon instance's OAuth client comes from D1 (registered there on
//! first use), not from the deployment's secrets.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store::{self, ClientRow, Stmt};
use connect_links_core::callback::callback_path;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::oauth::ClientCredentials;
use connect_links_core::platforms::{AuthKind, Pkce, Platform};
use connect_links_core::secrets::ClientSecret;

/// The associated data a client secret is sealed with: bound to its platform and instance.
pub fn secret_field(platform: &str, instance: &str) -> String {
    format!("{platform}:{instance}")
}

/// The client registered with `instance` for this deployment's callback there, if any.
pub async fn stored_client(ctx: &Ctx, platform: &str, instance: &str) -> ApiResult<Option<ClientRow>> {
    let db = ctx.db()?;
    store::registered_client(&db, platform, instance, &callback_url(ctx, platform, instance))
        .one::<ClientRow>("read instance client")
        .await
}

/// The callback `instance`'s client is registered with: a path of its own
/// (`PUBLIC_URL/oauth/callback/<platform>/<instance>`), so the instance's codes come back
/// there only (see `connect_links_core::callback::callback_path`).
pub fn callback_url(ctx: &Ctx, platform: &str, instance: &str) -> String {
    format!("{}{}", ctx.public_url, callback_path(platform, Some(instance)))
}

/// The credentials to revoke a grant of `p` with, in the order to try them: the
/// deployment's own, or every client registered with `p`'s instance, the current callback's
/// first. A token was issued to one of them (a client registered before the callback moved
/// to its per-instance path, or under another `PUBLIC_URL`, still holds its tokens), and an
/// instance refuses a revoke by another client (403 `unauthorized_client`).
pub async fn revoke_credentials(ctx: &Ctx, p: &Platform) -> ApiResult<Vec<ClientCredentials>> {
    if p.auth != AuthKind::InstanceOauth2 {
        return Ok(ctx.credentials(p).into_iter().collect());
    }
    let Some(instance) = &p.instance else { return Ok(vec![]) };
    let db = ctx.db()?;
    let rows = store::registered_clients(&db, &p.id, instance, &callback_url(ctx, &p.id, instance))
        .many::<ClientRow>("read instance clients")
        .await?;
    let keyring = ctx.keyring()?;
    Ok(rows.iter().filter_map(|row| try_open_client(&keyring, &p.id, instance, row)).collect())
}

/// The client credentials of `p` (already resolved to an instance for per-instance
/// platforms): the deployment's secrets, a Mastodon instance's registered client, or none
/// needed (app passwords, pasted keys). `None`: not configured (or never registered).
pub async fn credentials(ctx: &Ctx, p: &Platform) -> ApiResult<Option<ClientCredentials>> {
    Ok(client(ctx, p).await?.map(|(c, _)| c))
}

async fn client(ctx: &Ctx, p: &Platform) -> ApiResult<Option<(ClientCredentials, Option<ClientRow>)>> {
    if p.auth != AuthKind::InstanceOauth2 {
        return Ok(ctx.credentials(p).map(|c| (c, None)));
    }
    let Some(instance) = &p.instance else { return Ok(None) };
    let Some(row) = stored_client(ctx, &p.id, instance).await? else { return Ok(None) };
    Ok(Some((open_client(ctx, p, &row)?, Some(row))))
}

/// The credentials of a registered client of `p` (resolved to its instance); a secret no
/// key opens is a 500.
pub fn open_client(ctx: &Ctx, p: &Platform, row: &ClientRow) -> ApiResult<ClientCredentials> {
    let instance = p.instance.as_deref().unwrap_or_default();
    try_open_client(&*ctx.keyring()?, &p.id, instance, row)
        .ok_or("no key opens it")
        .or_500("open instance client secret")
}

/// The credentials of `platform`'s client registered with `instance`; `None` when no key
/// in `TOKEN_KEYS` opens its secret.
pub fn try_open_client(
    keyring: &Keyring,
    platform: &str,
    instance: &str,
    row: &ClientRow,
) -> Option<ClientCredentials> {
    let client_secret = keyring
        .open_secret::<ClientSecret>(&secret_field(platform, instance), "client_secret", &row.client_secret_enc)
        .ok()?;
    Some(ClientCredentials { client_id: row.client_id.clone(), client_secret })
}

/// Whether PKCE goes to an instance with this client: where it advertised S256.
pub fn client_pkce(row: &ClientRow) -> Pkce {
    if row.pkce == 1 {
        Pkce::S256
    } else {
        Pkce::None
    }
}

/// Platform `id` as the account on `instance` sees it, with its client credentials (`None`
/// when not configured). `Ok(None)`: no such platform, or a per-instance platform without
/// an instance. A Mastodon instance's PKCE follows what it advertised at registration.
pub async fn resolve(
    ctx: &Ctx,
    id: &str,
    instance: Option<&str>,
) -> ApiResult<Option<(Platform, Option<ClientCredentials>)>> {
    let Some(mut p) = ctx.platform_at(id, instance).map(|p| p.into_owned()) else { return Ok(None) };
    let found = client(ctx, &p).await?;
    if let Some((_, Some(row))) = &found {
        p.pkce = client_pkce(row);
    }
    Ok(Some((p, found.map(|(c, _)| c))))
}

/// Forgets the client registered with `instance` (the instance no longer knows it: older
/// Mastodon versions delete apps that hold no token), so the next connect registers again.
pub async fn forget_client(ctx: &Ctx, platform: &str, instance: &str, client_id: &str) -> ApiResult<()> {
    let db = ctx.db()?;
    store::delete_instance_client(&db, platform, instance, client_id).exec("forget instance client").await?;
    Ok(())
}
