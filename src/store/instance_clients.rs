//! Registered instance clients (`instance_clients`): the OAuth client this deployment holds
//! with each Mastodon instance (per callback URL), its secret sealed, and the claim a connect
//! holds while it registers one. The registration itself is `links::instance_client`.

use serde::Deserialize;
use super::stmt::query;
use worker::{D1Database, D1PreparedStatement};

/// A registered client as D1 keeps it.
#[derive(Deserialize, Default)]
pub struct ClientRow {
    /// The instance's client id.
    pub client_id: String,
    /// The sealed secret.
    pub client_secret_enc: String,
    /// JSON array of the registered scopes.
    pub scopes: String,
    /// 1 when the instance advertises PKCE S256.
    pub pkce: i64,
}

/// The statement that reads the client of `platform` registered with `instance` for the
/// callback `redirect`, if any (a [`ClientRow`]).
#[inline(always)]
pub fn registered_client(
    db: &D1Database,
    platform: &str,
    instance: &str,
    redirect: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT client_id, client_secret_enc, scopes, pkce FROM instance_clients \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_id IS NOT NULL",
        platform,
        instance,
        redirect
    )
}

/// The statement that reads up to five clients of `platform` registered with `instance`
/// under any callback (each a [`ClientRow`]), the one for `redirect` first, then the newest.
#[inline(always)]
pub fn registered_clients(
    db: &D1Database,
    platform: &str,
    instance: &str,
    redirect: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT client_id, client_secret_enc, scopes, pkce FROM instance_clients \
         WHERE platform = ?1 AND instance = ?2 AND client_id IS NOT NULL \
         ORDER BY redirect_uri = ?3 DESC, created_at DESC LIMIT 5",
        platform,
        instance,
        redirect
    )
}

/// The statement that deletes the client `client_id` registered with `instance`, under
/// whichever callback.
#[inline(always)]
pub fn delete_instance_client(
    db: &D1Database,
    platform: &str,
    instance: &str,
    client_id: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM instance_clients WHERE platform = ?1 AND instance = ?2 AND client_id = ?3",
        platform,
        instance,
        client_id
    )
}

/// The state of an instance's row.
#[derive(Deserialize, Default)]
pub struct InstanceSlot {
    /// The registered client id, once registered.
    pub client_id: Option<String>,
    /// Its sealed secret.
    pub client_secret_enc: Option<String>,
    /// JSON array of the registered scopes.
    pub scopes: String,
    /// 1 when the instance advertises PKCE S256.
    pub pkce: i64,
    /// Until when a connect's claim to register holds (epoch seconds).
    pub registering_until: Option<i64>,
    /// When the instance last confirmed the client.
    pub checked_at: Option<i64>,
    /// When a link last used the client (written at most daily).
    pub last_used_at: Option<i64>,
}

/// The statement that reads the row of `platform`'s client with `host` for the callback
/// `redirect`, if any (an [`InstanceSlot`]).
#[inline(always)]
pub fn instance_slot(
    db: &D1Database,
    platform: &str,
    host: &str,
    redirect: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "SELECT client_id, client_secret_enc, scopes, pkce, registering_until, checked_at, last_used_at \
         FROM instance_clients \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3",
        platform,
        host,
        redirect
    )
}

/// The statement that claims the registration of a client with `host` for `claim` until
/// `until`: it returns a row when this connect won (no client yet, and no live claim of another).
#[inline(always)]
pub fn claim_instance_registration(
    db: &D1Database,
    platform: &str,
    host: &str,
    redirect: &str,
    until: i64,
    claim: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO instance_clients (platform, instance, redirect_uri, registering_until, claim_id, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
         ON CONFLICT (platform, instance, redirect_uri) DO UPDATE SET \
           registering_until = excluded.registering_until, claim_id = excluded.claim_id, \
           updated_at = excluded.updated_at \
         WHERE instance_clients.client_id IS NULL \
           AND (instance_clients.registering_until IS NULL OR instance_clients.registering_until < ?6) \
         RETURNING instance",
        platform,
        host,
        redirect,
        until,
        claim,
        now
    )
}

/// The statement that frees `claim` (only this one, and only while no client is stored).
#[inline(always)]
pub fn free_instance_registration(
    db: &D1Database,
    platform: &str,
    host: &str,
    redirect: &str,
    claim: &str,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM instance_clients WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 \
         AND client_id IS NULL AND claim_id = ?4",
        platform,
        host,
        redirect,
        claim
    )
}

/// The statement that marks the client `client_id` as used at `now`: no row returned when
/// it is no longer stored.
#[inline(always)]
pub fn touch_instance_client(
    db: &D1Database,
    platform: &str,
    host: &str,
    redirect: &str,
    client_id: &str,
    now: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE instance_clients SET last_used_at = ?5 \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_id = ?4 RETURNING instance",
        platform,
        host,
        redirect,
        client_id,
        now
    )
}

/// The statement that records when the instance was last asked about the client `client_id`.
#[inline(always)]
pub fn instance_client_checked(
    db: &D1Database,
    platform: &str,
    host: &str,
    client_id: &str,
    checked_at: i64,
) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE instance_clients SET checked_at = ?4 WHERE platform = ?1 AND instance = ?2 AND client_id = ?3",
        platform,
        host,
        client_id,
        checked_at
    )
}

/// A client an instance just registered, to store over a connect's claim.
pub struct RegisteredClient<'a> {
    /// The platform id.
    pub platform: &'a str,
    /// The instance.
    pub host: &'a str,
    /// The callback it is registered for.
    pub redirect: &'a str,
    /// Its client id.
    pub client_id: &'a str,
    /// Its sealed secret.
    pub client_secret_enc: &'a str,
    /// The key id the secret is sealed under.
    pub token_kid: &'a str,
    /// JSON array of the registered scopes.
    pub scopes: &'a str,
    /// 1 when the instance advertises PKCE S256.
    pub pkce: i64,
    /// Epoch seconds.
    pub now: i64,
    /// The claim the registering connect holds.
    pub claim: &'a str,
}

/// The statement that stores a registered client over its connect's claim: no row returned
/// when the claim ran out and another connect took the slot.
#[inline(always)]
pub fn store_instance_client(db: &D1Database, c: &RegisteredClient<'_>) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "UPDATE instance_clients SET client_id = ?4, client_secret_enc = ?5, token_kid = ?6, scopes = ?7, pkce = ?8, \
         registering_until = NULL, claim_id = NULL, checked_at = ?9, updated_at = ?9, last_used_at = ?9 \
         WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_id IS NULL AND claim_id = ?10 \
         RETURNING instance",
        c.platform,
        c.host,
        c.redirect,
        c.client_id,
        c.client_secret_enc,
        c.token_kid,
        c.scopes,
        c.pkce,
        c.now,
        c.claim
    )
}
