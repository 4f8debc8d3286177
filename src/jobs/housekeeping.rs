//! The housekeeping part of the lifecycle job: consumed states, unclaimed profiles, key
//! rotation that can finish (tokens, webhook and client secrets, apps' platform
//! credentials, YouTube subscriptions' secrets), retention (how long finished rows and
//! platform events' dedup keys and counters are kept), instance clients nobody uses, and
//! apps' retired platform credentials no grant refers to any more.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store::{self, OldKeyClient, KeyedText, Stmt, TokenColumns};
use connect_links_core::app_credentials::{sealed_as, CredentialRow, CLIENT_SECRET_FIELD, WEBHOOK_SECRET_FIELD};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::platforms::sandbox::CODE_TTL_SECS;
use worker::D1Database;

/// Rows re-encrypted per table and run.
const REENCRYPT_BATCH: u32 = 50;
/// Rows purged per table and run, so one run stays short however much has piled up.
const PURGE_BATCH: u32 = 1000;

/// Runs every housekeeping step; one failing step does not stop the others.
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    let db = ctx.db()?;
    let steps = [
        ("consumed_states", store::delete_old_states(&db, ctx.now() - 24 * 3600).await),
        ("proxy_stats", store::delete_old_proxy_counts(&db, (ctx.now() - 24 * 3600) / 60).await),
        ("unclaimed", unclaimed(ctx, &db).await),
        ("unchosen", super::choices::expire(ctx, &db).await),
        ("reencrypt", reencrypt(ctx, &db).await),
        ("retention", retention(ctx, &db).await),
        ("instance_clients", unused_instance_clients(ctx, &db).await),
        ("retired_credentials", retired_credentials(ctx, &db).await),
    ];
    for (step, result) in steps {
        if result.is_err() {
            crate::log::error(&object!("event": "housekeeping_failed", "step": step));
        }
    }
    Ok(())
}

/// Links whose claim window closed lose their unclaimed profiles: deleted first, then
/// revoked where allowed (only what is really gone, and a failure in between leaves nothing
/// behind that the next run would not find).
async fn unclaimed(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    // Facebook Pages' tokens, kept to unsubscribe each Page whose last profile this was.
    let pages = crate::platform_events::meta_pages::hold_unclaimed(ctx, ctx.now(), 50).await;
    let (profiles, grants) = store::delete_unclaimed(db, ctx.now(), 50).await?;
    for page in pages {
        if profiles.iter().any(|p| p.id == page.profile_id()) {
            crate::platform_events::meta_pages::release(ctx, page).await;
        }
    }
    for profile in profiles {
        crate::log::info(&object!("event": "unclaimed_deleted", "profile_id": profile.id));
    }
    for (grant, cols) in grants {
        crate::grants::revoke_grant(ctx, &grant, &cols).await;
    }
    Ok(())
}

/// Re-encrypts a batch of tokens and webhook secrets still under a non-current key. Rows
/// under a key no longer in `TOKEN_KEYS` are left out (nothing can open them), and a row
/// that fails to open under a key that is there is marked and skipped from then on, so a
/// bad row never holds the batch up. `GET /v1/admin/keys` counts both.
async fn reencrypt(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let keyring = ctx.keyring()?;
    let current = keyring.current_kid().to_string();
    let others: Vec<&str> = keyring.kids().into_iter().skip(1).collect();
    let others = serde_json::to_string(&others).or_500("kids json")?;
    let rows = store::old_key_grants(db, &others, REENCRYPT_BATCH).many::<TokenColumns>("read old-key grants").await?;
    let mut unreadable = 0;
    for row in rows {
        // Any token field, opened only to be sealed again under the current key.
        let reseal = |field: &str, enc: &str| -> Option<String> {
            let plain = keyring.open(&row.id, field, enc).ok()?;
            keyring.seal(&row.id, field, &plain).ok()
        };
        let access = reseal("access_token", &row.access_token_enc);
        let refresh = match row.refresh_token_enc.as_deref() {
            Some(e) => reseal("refresh_token", e).map(Some),
            None => Some(None),
        };
        match (access, refresh) {
            (Some(a), Some(r)) => store::rewrap_grant(db, &row, &a, r.as_deref(), &current, ctx.now()).await?,
            _ => {
                unreadable += 1;
                // Only while the envelopes are the ones that failed (a reconnect may have just
                // written fresh ones); every token write clears the mark.
                store::mark_grant_unreadable(
                    db,
                    &row.id,
                    ctx.now(),
                    &row.access_token_enc,
                    row.refresh_token_enc.as_deref(),
                )
                .exec("mark unreadable")
                .await?;
                crate::log::error(&object!("event": "reencrypt_failed", "grant_id": row.id));
            }
        }
    }
    unreadable += reencrypt_own_tokens(ctx, db, &keyring, &others).await?;
    unreadable += reencrypt_credentials(ctx, db, &keyring, &others).await?;
    reencrypt_instance_clients(ctx, db, &keyring, &others).await?;
    crate::platform_events::websub::reseal_old_key(ctx, &keyring, &others, REENCRYPT_BATCH).await?;
    crate::sealed_secrets::tidy_previous_webhook_secrets(ctx, db, &keyring, &others).await?;
    crate::sealed_secrets::rewrap_worker_secrets(db, &keyring, &others).await?;
    let apps = store::old_key_apps(db, &others, REENCRYPT_BATCH).many::<KeyedText>("read old-key apps").await?;
    for app in apps {
        match keyring
            .open(&app.id, "webhook_secret", &app.text)
            .and_then(|p| keyring.seal(&app.id, "webhook_secret", &p))
        {
            Ok(enc) => store::rewrap_app_secret(db, &app.id, &app.text, &enc).await?,
            Err(_) => {
                unreadable += 1;
                store::mark_app_unreadable(db, &app.id, ctx.now(), &app.text)
                    .exec("mark unreadable")
                    .await?;
                crate::log::error(&object!("event": "reencrypt_failed", "app_id": app.id));
            }
        }
    }
    if unreadable > 0 {
        crate::log::info(&object!("event": "reencrypt_skipped", "rows": unreadable));
    }
    Ok(())
}

/// Re-encrypts a batch of Mastodon instance client secrets still under an old key. One that
/// cannot be opened is forgotten instead: nothing could use it, and the next connect to that
/// instance registers a fresh client.
async fn reencrypt_instance_clients(ctx: &Ctx, db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<()> {
    let rows = store::old_key_instance_clients(db, others, REENCRYPT_BATCH)
        .many::<OldKeyClient>("read old-key instance clients")
        .await?;
    for c in rows {
        let bound = crate::instances::secret_field(&c.platform, &c.instance);
        let resealed = keyring
            .open(&bound, "client_secret", &c.client_secret_enc)
            .and_then(|p| keyring.seal(&bound, "client_secret", &p));
        let stmt = match resealed {
            Ok(enc) => store::rewrap_instance_client(db, &c, &enc, keyring.current_kid(), ctx.now()),
            Err(_) => {
                crate::log::error(
                    &object!("event": "reencrypt_failed", "instance": c.instance, "what": "client forgotten"),
                );
                store::forget_instance_client(db, &c)
            }
        };
        stmt.exec("rewrap instance client").await?;
    }
    Ok(())
}

/// Re-encrypts a batch of apps' platform credentials (client and webhook secrets) still under
/// an old key; returns how many could not be opened (marked, and skipped from then on: the
/// operator stores them again with a `PUT`).
async fn reencrypt_credentials(ctx: &Ctx, db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<u32> {
    let rows = store::old_key_credentials(db, others, REENCRYPT_BATCH)
        .many::<CredentialRow>("read old-key credentials")
        .await?;
    let mut unreadable = 0;
    for c in rows {
        let bound = sealed_as(&c.app_id, &c.platform);
        // Opened only to be sealed again under the current key.
        let reseal =
            |field: &str, enc: &str| keyring.open(&bound, field, enc).and_then(|p| keyring.seal(&bound, field, &p));
        let client = reseal(CLIENT_SECRET_FIELD, &c.client_secret_enc);
        let webhook = c.webhook_secret_enc.as_deref().map(|e| reseal(WEBHOOK_SECRET_FIELD, e)).transpose();
        let stmt = match (client, webhook) {
            (Ok(client), Ok(webhook)) => {
                store::rewrap_credential(db, &c, &client, webhook.as_deref(), keyring.current_kid())
            }
            _ => {
                unreadable += 1;
                crate::log::error(&object!("event": "reencrypt_failed", "credential_ref": c.id));
                store::mark_credential_unreadable(db, &c, ctx.now())
            }
        };
        stmt.exec("rewrap credentials").await?;
    }
    Ok(unreadable)
}

/// Re-encrypts a batch of profiles' own tokens (Facebook Pages') still under an old key;
/// returns how many could not be opened (marked, and skipped from then on).
async fn reencrypt_own_tokens(ctx: &Ctx, db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<u32> {
    let rows = store::old_key_own_tokens(db, others, REENCRYPT_BATCH)
        .many::<KeyedText>("read old-key own tokens")
        .await?;
    let mut unreadable = 0;
    for row in rows {
        let resealed = keyring
            .open(&row.id, "access_token", &row.text)
            .and_then(|plain| keyring.seal(&row.id, "access_token", &plain));
        match &resealed {
            Ok(enc) => store::rewrap_own_token(db, &row.id, enc, &row.text, keyring.current_kid()),
            Err(_) => {
                unreadable += 1;
                crate::log::error(&object!("event": "reencrypt_failed", "profile_id": row.id));
                store::mark_own_token_unreadable(db, &row.id, ctx.now(), &row.text)
            }
        }
        .exec("rewrap own token")
        .await?;
    }
    Ok(unreadable)
}

/// How long an instance client no link used, and no grant holds, is kept.
const UNUSED_CLIENT_SECS: i64 = 30 * 86_400;

/// Deletes the Mastodon instance clients that no link used for [`UNUSED_CLIENT_SECS`] and
/// that no grant on their instance still holds (a grant's token needs its client to be
/// revoked): a tenant's links to thousands of hosts leave no rows behind for good. A
/// registration in flight is left alone. The next link to such an instance registers again.
async fn unused_instance_clients(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let now = ctx.now();
    let gone = store::purge_unused_instance_clients(db, now - UNUSED_CLIENT_SECS, now, PURGE_BATCH)
        .ids("purge unused instance clients")
        .await?;
    for instance in gone {
        crate::log::info(&object!("event": "instance_client_purged", "instance": instance));
    }
    Ok(())
}

/// How long retired credentials are kept after their retirement even with no grant: a
/// connect that began with them (its authorization and then its account choice, ten
/// minutes each) still exchanges its code and lands with them, and an account choice left
/// unsubmitted is revoked with them by `jobs::choices`, whose retries of a revocation that
/// does not settle span up to a day ([`super::choices::MAX_REVOKE_TRIES`]): the choice
/// names its credentials only inside its sealed row, so the purge cannot see it and waits
/// longer than both instead.
const RETIRED_GRACE_SECS: i64 = 2 * 86_400;

/// Deletes apps' retired platform credentials (replaced by another client id) once no grant
/// refers to them: their last grant ended and was deleted, and nothing will use their
/// secret again.
async fn retired_credentials(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let gone = store::purge_retired_credentials(db, ctx.now() - RETIRED_GRACE_SECS, PURGE_BATCH)
        .ids("purge retired credentials")
        .await?;
    for id in gone {
        crate::log::info(&object!("event": "retired_credentials_purged", "credential_ref": id));
    }
    Ok(())
}

/// Days finished links, settled outbox rows and the console's history are kept
/// (`RETENTION_DAYS`, default 30).
fn retention_days(ctx: &Ctx) -> i64 {
    ctx.number_var("RETENTION_DAYS", 1..=3650).unwrap_or(30)
}

/// Purges what nobody needs: connect links finished or expired `RETENTION_DAYS` ago, outbox
/// rows delivered or given up that long ago, the console's history (`activity`) older,
/// sandbox codes and tokens past expiry (or revoked, which the sandbox answers like unknown
/// ones), platform events' dedup keys older than a day and their hourly counters older
/// than two.
async fn retention(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let now = ctx.now();
    let cut = now - retention_days(ctx) * 86_400;
    let purges = [
        store::purge_finished_links(db, cut, PURGE_BATCH),
        store::purge_settled_events_stmt(db, cut, PURGE_BATCH),
        store::purge_sandbox_codes(db, now - CODE_TTL_SECS, PURGE_BATCH),
        store::purge_sandbox_tokens(db, now, PURGE_BATCH),
        // A platform event's dedup key holds for a day; its counters are shown for one. Keys
        // come at the platforms' pace (one per event matched): ten batches a run keep up
        // with 2,000 a minute.
        store::purge_seen_events(db, now - 86_400, 10 * PURGE_BATCH),
        store::purge_event_counts(db, now - 2 * 86_400, PURGE_BATCH),
        // The console's history: a busy deployment writes a few rows per grant a day (and at
        // most one per profile, status and minute for proxy errors): ten batches a run.
        store::purge_activity_stmt(db, cut, 10 * PURGE_BATCH),
    ];
    let stmts = purges.into_iter().map(|q| q.or_500("prepare purge")).collect::<ApiResult<Vec<_>>>()?;
    db.batch(stmts).await.or_500("retention")?;
    Ok(())
}
