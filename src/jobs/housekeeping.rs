//! The housekeeping part of the lifecycle job: consumed states, unclaimed profiles, key
//! rotation that can finish, retention (issue #8), and instance clients nobody uses.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store::{self, kid_sql, Stmt, TokenColumns};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::platforms::sandbox::CODE_TTL_SECS;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use worker::{console_error, console_log, query, D1Database};

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
    ];
    for (step, result) in steps {
        if result.is_err() {
            console_error!("{}", json!({"event": "housekeeping_failed", "step": step}));
        }
    }
    Ok(())
}

/// Links whose claim window closed lose their unclaimed profiles: deleted first, then
/// revoked where allowed (only what is really gone, and a failure in between leaves nothing
/// behind that the next run would not find).
async fn unclaimed(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let (profiles, grants) = store::delete_unclaimed(db, ctx.now(), 50).await?;
    for profile in profiles {
        console_log!("{}", json!({"event": "unclaimed_deleted", "profile_id": profile.id}));
    }
    for (grant, cols) in grants {
        crate::api::profiles::revoke_grant(ctx, &grant, &cols).await;
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
    let rows = query!(
        db,
        "SELECT id, platform, access_token_enc, refresh_token_enc FROM grants \
         WHERE token_kid IN (SELECT value FROM json_each(?1)) AND reencrypt_failed_at IS NULL LIMIT ?2",
        others,
        REENCRYPT_BATCH
    )
    .many::<TokenColumns>("read old-key grants")
    .await?;
    let mut unreadable = 0;
    for row in rows {
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
                query!(
                    db,
                    "UPDATE grants SET reencrypt_failed_at = ?2 WHERE id = ?1 AND access_token_enc = ?3 \
                     AND refresh_token_enc IS ?4",
                    row.id,
                    ctx.now(),
                    row.access_token_enc,
                    row.refresh_token_enc
                )
                .exec("mark unreadable")
                .await?;
                console_error!("{}", json!({"event": "reencrypt_failed", "grant_id": row.id}));
            }
        }
    }
    unreadable += reencrypt_own_tokens(ctx, db, &keyring, &others).await?;
    reencrypt_instance_clients(ctx, db, &keyring, &others).await?;
    crate::sealed_secrets::tidy_previous_webhook_secrets(ctx, db, &keyring, &others).await?;
    crate::sealed_secrets::rewrap_worker_secrets(db, &keyring, &others).await?;
    #[derive(Deserialize)]
    struct AppSecret {
        id: String,
        webhook_secret_enc: String,
    }
    let apps = query!(
        db,
        &format!(
            "SELECT id, webhook_secret_enc FROM apps WHERE {} IN (SELECT value FROM json_each(?1)) \
             AND reencrypt_failed_at IS NULL LIMIT ?2",
            kid_sql("webhook_secret_enc")
        ),
        others,
        REENCRYPT_BATCH
    )
    .many::<AppSecret>("read old-key apps")
    .await?;
    for app in apps {
        match keyring
            .open(&app.id, "webhook_secret", &app.webhook_secret_enc)
            .and_then(|p| keyring.seal(&app.id, "webhook_secret", &p))
        {
            Ok(enc) => store::rewrap_app_secret(db, &app.id, &app.webhook_secret_enc, &enc).await?,
            Err(_) => {
                unreadable += 1;
                query!(
                    db,
                    "UPDATE apps SET reencrypt_failed_at = ?2 WHERE id = ?1 AND webhook_secret_enc = ?3",
                    app.id,
                    ctx.now(),
                    app.webhook_secret_enc
                )
                .exec("mark unreadable")
                .await?;
                console_error!("{}", json!({"event": "reencrypt_failed", "app_id": app.id}));
            }
        }
    }
    if unreadable > 0 {
        console_log!("{}", json!({"event": "reencrypt_skipped", "rows": unreadable}));
    }
    Ok(())
}

/// Re-encrypts a batch of Mastodon instance client secrets still under an old key. One that
/// cannot be opened is forgotten instead: nothing could use it, and the next connect to that
/// instance registers a fresh client.
async fn reencrypt_instance_clients(ctx: &Ctx, db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Client {
        platform: String,
        instance: String,
        redirect_uri: String,
        client_secret_enc: String,
    }
    let rows = query!(
        db,
        "SELECT platform, instance, redirect_uri, client_secret_enc FROM instance_clients \
         WHERE client_id IS NOT NULL AND token_kid IN (SELECT value FROM json_each(?1)) LIMIT ?2",
        others,
        REENCRYPT_BATCH
    )
    .many::<Client>("read old-key instance clients")
    .await?;
    for c in rows {
        let bound = crate::instances::secret_field(&c.platform, &c.instance);
        let resealed = keyring
            .open(&bound, "client_secret", &c.client_secret_enc)
            .and_then(|p| keyring.seal(&bound, "client_secret", &p));
        let stmt = match resealed {
            Ok(enc) => query!(
                db,
                "UPDATE instance_clients SET client_secret_enc = ?4, token_kid = ?5, updated_at = ?6 \
                 WHERE platform = ?1 AND instance = ?2 AND redirect_uri = ?3 AND client_secret_enc = ?7",
                c.platform,
                c.instance,
                c.redirect_uri,
                enc,
                keyring.current_kid(),
                ctx.now(),
                c.client_secret_enc
            ),
            Err(_) => {
                console_error!(
                    "{}",
                    json!({"event": "reencrypt_failed", "instance": c.instance, "what": "client forgotten"})
                );
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
        };
        stmt.exec("rewrap instance client").await?;
    }
    Ok(())
}

/// Re-encrypts a batch of profiles' own tokens (Facebook Pages') still under an old key;
/// returns how many could not be opened (marked, and skipped from then on).
async fn reencrypt_own_tokens(ctx: &Ctx, db: &D1Database, keyring: &Keyring, others: &str) -> ApiResult<u32> {
    #[derive(Deserialize)]
    struct Own {
        id: String,
        access_token_enc: String,
    }
    let rows = query!(
        db,
        "SELECT id, access_token_enc FROM profiles WHERE token_kid IN (SELECT value FROM json_each(?1)) \
         AND access_token_enc IS NOT NULL AND reencrypt_failed_at IS NULL LIMIT ?2",
        others,
        REENCRYPT_BATCH
    )
    .many::<Own>("read old-key own tokens")
    .await?;
    let mut unreadable = 0;
    for row in rows {
        let resealed = keyring
            .open(&row.id, "access_token", &row.access_token_enc)
            .and_then(|plain| keyring.seal(&row.id, "access_token", &plain));
        match &resealed {
            Ok(enc) => query!(
                db,
                "UPDATE profiles SET access_token_enc = ?2, token_kid = ?4, reencrypt_failed_at = NULL \
                 WHERE id = ?1 AND access_token_enc = ?3",
                row.id,
                enc,
                row.access_token_enc,
                keyring.current_kid()
            ),
            Err(_) => {
                unreadable += 1;
                console_error!("{}", json!({"event": "reencrypt_failed", "profile_id": row.id}));
                query!(
                    db,
                    "UPDATE profiles SET reencrypt_failed_at = ?2 WHERE id = ?1 AND access_token_enc = ?3",
                    row.id,
                    ctx.now(),
                    row.access_token_enc
                )
            }
        }
        .exec("rewrap own token")
        .await?;
    }
    Ok(unreadable)
}

/// What one key id still protects (`GET /v1/admin/keys`).
#[derive(Debug, Default, Serialize)]
pub struct KidUsage {
    /// The key id.
    pub kid: String,
    /// New writes use it.
    pub current: bool,
    /// It is in `TOKEN_KEYS`.
    pub in_keyring: bool,
    /// Token rows under it: grants, and profiles holding a token of their own.
    pub profiles: u64,
    /// Apps whose webhook secret (current or previous) or Mastodon client secrets are under
    /// it, and the worker's own secrets (the confirmation-code key).
    pub apps: u64,
    /// Pending connect links (their consent URL and KV verifier) and account choices under it.
    pub pending_links: u64,
    /// Of those profiles and apps, rows that failed to open under it and are skipped.
    pub unreadable: u64,
    /// Nothing needs it any more: it can be removed from `TOKEN_KEYS`.
    pub removable: bool,
}

/// Rows per key id, for every key in `TOKEN_KEYS` and every key id still found in D1.
pub async fn key_usage(ctx: &Ctx, keyring: &Keyring) -> ApiResult<Vec<KidUsage>> {
    let db = ctx.db()?;
    #[derive(Deserialize)]
    struct Count {
        kid: Option<String>,
        n: u64,
        unreadable: u64,
    }
    // No bindings: `query!` then yields the statement itself.
    let profiles = worker::Result::Ok(query!(
        &db,
        "SELECT kid, SUM(n) AS n, SUM(unreadable) AS unreadable FROM ( \
         SELECT token_kid AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM grants \
         WHERE access_token_enc != '' GROUP BY token_kid \
         UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM profiles \
         WHERE token_kid IS NOT NULL GROUP BY token_kid) GROUP BY kid"
    ))
    .many::<Count>("key usage profiles")
    .await?;
    let apps = worker::Result::Ok(query!(
        &db,
        &format!(
            "SELECT kid, SUM(n) AS n, SUM(unreadable) AS unreadable FROM ( \
             SELECT {k} AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM apps GROUP BY {k} \
             UNION ALL SELECT {p} AS kid, COUNT(*) AS n, 0 AS unreadable FROM apps \
             WHERE webhook_secret_prev_enc IS NOT NULL GROUP BY {p} \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, 0 AS unreadable FROM worker_secrets GROUP BY token_kid \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, 0 AS unreadable FROM instance_clients \
             WHERE client_id IS NOT NULL GROUP BY token_kid) GROUP BY kid",
            k = kid_sql("webhook_secret_enc"),
            p = kid_sql("webhook_secret_prev_enc")
        )
    ))
    .many::<Count>("key usage apps")
    .await?;
    let links = query!(
        &db,
        &format!(
            "SELECT kid, SUM(n) AS n, 0 AS unreadable FROM ( \
             SELECT {k} AS kid, COUNT(*) AS n FROM connect_links WHERE status = 'pending' AND expires_at > ?1 GROUP BY {k} \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n FROM account_choices WHERE expires_at > ?1 \
             GROUP BY token_kid) GROUP BY kid",
            k = kid_sql("authorize_url")
        ),
        ctx.now()
    )
    .many::<Count>("key usage links")
    .await?;
    let mut by_kid: BTreeMap<String, KidUsage> = BTreeMap::new();
    for kid in keyring.kids() {
        by_kid.entry(kid.to_string()).or_default();
    }
    for (rows, which) in [(profiles, 0), (apps, 1), (links, 2)] {
        for c in rows {
            let u = by_kid.entry(c.kid.unwrap_or_default()).or_default();
            match which {
                0 => u.profiles += c.n,
                1 => u.apps += c.n,
                _ => u.pending_links += c.n,
            }
            u.unreadable += c.unreadable;
        }
    }
    let kids = keyring.kids();
    Ok(by_kid
        .into_iter()
        .map(|(kid, mut u)| {
            u.current = kid == keyring.current_kid();
            u.in_keyring = kids.contains(&kid.as_str());
            u.removable = !u.current && u.profiles + u.apps + u.pending_links == 0;
            u.kid = kid;
            u
        })
        .collect())
}

/// How long an instance client no link used, and no grant holds, is kept.
const UNUSED_CLIENT_SECS: i64 = 30 * 86_400;

/// Deletes the Mastodon instance clients that no link used for [`UNUSED_CLIENT_SECS`] and
/// that no grant on their instance still holds (a grant's token needs its client to be
/// revoked): a tenant's links to thousands of hosts leave no rows behind for good. A
/// registration in flight is left alone. The next link to such an instance registers again.
async fn unused_instance_clients(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    #[derive(Deserialize)]
    struct Gone {
        instance: String,
    }
    let now = ctx.now();
    let gone = query!(
        db,
        "DELETE FROM instance_clients WHERE (platform, instance, redirect_uri) IN ( \
           SELECT c.platform, c.instance, c.redirect_uri FROM instance_clients c \
           WHERE COALESCE(c.last_used_at, c.updated_at) < ?1 \
             AND (c.registering_until IS NULL OR c.registering_until < ?2) \
             AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.platform = c.platform AND g.instance = c.instance) \
           LIMIT ?3) \
         RETURNING instance",
        now - UNUSED_CLIENT_SECS,
        now,
        PURGE_BATCH
    )
    .many::<Gone>("purge unused instance clients")
    .await?;
    for g in gone {
        console_log!("{}", json!({"event": "instance_client_purged", "instance": g.instance}));
    }
    Ok(())
}

/// Days finished links and settled outbox rows are kept (`RETENTION_DAYS`, default 30).
fn retention_days(ctx: &Ctx) -> i64 {
    ctx.number_var("RETENTION_DAYS", 1..=3650).unwrap_or(30)
}

/// Purges what nobody needs: connect links finished or expired `RETENTION_DAYS` ago, outbox
/// rows delivered or given up that long ago, and sandbox codes and tokens past expiry (or
/// revoked, which the sandbox answers like unknown ones).
async fn retention(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let now = ctx.now();
    let cut = now - retention_days(ctx) * 86_400;
    let purges = [
        query!(
            db,
            "DELETE FROM connect_links WHERE id IN (SELECT id FROM connect_links WHERE \
             (completed_at IS NOT NULL AND status != 'awaiting_claim' AND completed_at < ?1) \
             OR (status = 'pending' AND expires_at < ?1) LIMIT ?2)",
            cut,
            PURGE_BATCH
        ),
        store::purge_settled_events_stmt(db, cut, PURGE_BATCH),
        query!(
            db,
            "DELETE FROM sandbox_codes WHERE code_hash IN (SELECT code_hash FROM sandbox_codes WHERE created_at < ?1 LIMIT ?2)",
            now - CODE_TTL_SECS,
            PURGE_BATCH
        ),
        query!(
            db,
            "DELETE FROM sandbox_tokens WHERE token_hash IN (SELECT token_hash FROM sandbox_tokens \
             WHERE expires_at < ?1 UNION SELECT token_hash FROM sandbox_tokens WHERE revoked_at < ?1 LIMIT ?2)",
            now,
            PURGE_BATCH
        ),
    ];
    let stmts = purges.into_iter().map(|q| q.or_500("prepare purge")).collect::<ApiResult<Vec<_>>>()?;
    db.batch(stmts).await.or_500("retention")?;
    Ok(())
}
