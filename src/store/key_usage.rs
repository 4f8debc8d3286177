//! What each token-encryption key id still protects, counted across the tables that hold
//! sealed values (`grants`, `profiles`, `apps`, `worker_secrets`, `instance_clients`,
//! `platform_credentials`, `websub_subscriptions`, `connect_links`, `account_choices`), for
//! `GET /v1/admin/keys`.

use super::stmt::query;
use super::stmt::{kid_sql, Stmt};
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use serde::{Deserialize, Serialize};
use worker::D1Database;

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
    /// it, apps' platform credentials, YouTube subscriptions' `hub.secret`s, and the worker's
    /// own secrets (the confirmation-code key).
    pub apps: u64,
    /// Pending connect links (their consent URL and KV verifier) and account choices under it.
    pub pending_links: u64,
    /// Of those profiles and apps, rows that failed to open under it and are skipped.
    pub unreadable: u64,
    /// Nothing needs it any more: it can be removed from `TOKEN_KEYS`.
    pub removable: bool,
}

/// Rows per key id, for every key in `TOKEN_KEYS` and every key id still found in D1.
pub async fn key_usage(db: &D1Database, keyring: &Keyring, now: i64) -> ApiResult<Vec<KidUsage>> {
    #[derive(Deserialize, Default)]
    struct Count {
        kid: Option<String>,
        n: u64,
        unreadable: u64,
    }
    // No bindings: `query!` then yields the statement itself.
    let profiles = worker::Result::Ok(query!(
        db,
        "SELECT kid, SUM(n) AS n, SUM(unreadable) AS unreadable FROM ( \
         SELECT token_kid AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM grants \
         WHERE access_token_enc != '' GROUP BY token_kid \
         UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM profiles \
         WHERE token_kid IS NOT NULL GROUP BY token_kid) GROUP BY kid"
    ))
    .many::<Count>("key usage profiles")
    .await?;
    let apps = worker::Result::Ok(query!(
        db,
        &format!(
            "SELECT kid, SUM(n) AS n, SUM(unreadable) AS unreadable FROM ( \
             SELECT {k} AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable FROM apps GROUP BY {k} \
             UNION ALL SELECT {p} AS kid, COUNT(*) AS n, 0 AS unreadable FROM apps \
             WHERE webhook_secret_prev_enc IS NOT NULL GROUP BY {p} \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, 0 AS unreadable FROM worker_secrets GROUP BY token_kid \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, 0 AS unreadable FROM instance_clients \
             WHERE client_id IS NOT NULL GROUP BY token_kid \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n, COUNT(reencrypt_failed_at) AS unreadable \
             FROM platform_credentials GROUP BY token_kid) GROUP BY kid",
            k = kid_sql("webhook_secret_enc"),
            p = kid_sql("webhook_secret_prev_enc")
        )
    ))
    .many::<Count>("key usage apps")
    .await?;
    // Apart: D1 takes no more terms in one compound SELECT than the query above has.
    let subscriptions = worker::Result::Ok(query!(
        db,
        "SELECT token_kid AS kid, COUNT(*) AS n, 0 AS unreadable FROM websub_subscriptions GROUP BY token_kid"
    ))
    .many::<Count>("key usage subscriptions")
    .await?;
    let links = query!(
        db,
        &format!(
            "SELECT kid, SUM(n) AS n, 0 AS unreadable FROM ( \
             SELECT {k} AS kid, COUNT(*) AS n FROM connect_links WHERE status = 'pending' AND expires_at > ?1 GROUP BY {k} \
             UNION ALL SELECT token_kid AS kid, COUNT(*) AS n FROM account_choices WHERE expires_at > ?1 \
             GROUP BY token_kid) GROUP BY kid",
            k = kid_sql("authorize_url")
        ),
        now
    )
    .many::<Count>("key usage links")
    .await?;
    // Kept sorted by key id (the answer's order): each id is found by binary search.
    let mut by_kid: Vec<KidUsage> = Vec::new();
    for kid in keyring.kids() {
        usage_of(&mut by_kid, kid.to_string());
    }
    for (rows, which) in [(profiles, 0), (apps, 1), (subscriptions, 1), (links, 2)] {
        for c in rows {
            let Some(u) = usage_of(&mut by_kid, c.kid.unwrap_or_default()) else { continue };
            match which {
                0 => u.profiles += c.n,
                1 => u.apps += c.n,
                _ => u.pending_links += c.n,
            }
            u.unreadable += c.unreadable;
        }
    }
    let kids = keyring.kids();
    for u in &mut by_kid {
        u.current = u.kid == keyring.current_kid();
        u.in_keyring = kids.contains(&u.kid.as_str());
        u.removable = !u.current && u.profiles + u.apps + u.pending_links == 0;
    }
    Ok(by_kid)
}

/// The usage of `kid` in `sorted` (sorted by key id), added in its place when new.
fn usage_of(sorted: &mut Vec<KidUsage>, kid: String) -> Option<&mut KidUsage> {
    let at = match sorted.binary_search_by(|u| u.kid.as_str().cmp(kid.as_str())) {
        Ok(at) => at,
        Err(at) => {
            sorted.insert(at, KidUsage { kid, ..KidUsage::default() });
            at
        }
    };
    sorted.get_mut(at)
}
