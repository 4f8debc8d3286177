//! Proxied-call counters (`proxy_stats`), per minute, for `GET /v1/admin/stats`.

use super::stmt::Stmt;
use crate::error::ApiResult;
use serde::{Deserialize, Serialize};
use super::stmt::query;
use worker::D1Database;

/// Adds `calls` proxied calls to their minute's counter (`GET /v1/admin/stats`; the proxy
/// sums them in the isolate first, `api::proxy::tally`).
pub async fn count_proxy_calls(
    db: &D1Database,
    minute: i64,
    platform: &str,
    status: u16,
    source: &str,
    calls: u32,
) -> ApiResult<()> {
    query!(
        db,
        "INSERT INTO proxy_stats (minute, platform, status, source, calls) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (minute, platform, status, source) DO UPDATE SET calls = calls + ?5",
        minute,
        platform,
        status,
        source,
        calls
    )
    .exec("count proxy call")
    .await
}

/// One line of `GET /v1/admin/stats`.
#[derive(Debug, Serialize, Deserialize, Default)]
pub struct ProxyCount {
    /// Platform id.
    pub platform: String,
    /// The status answered.
    pub status: u16,
    /// Who answered: `platform`, `local` or `network`.
    pub source: String,
    /// Calls in the window.
    pub calls: u64,
}

/// Proxied calls per platform, status and source since `from_minute`.
pub async fn proxy_counts(db: &D1Database, from_minute: i64) -> ApiResult<Vec<ProxyCount>> {
    query!(
        db,
        "SELECT platform, status, source, SUM(calls) AS calls FROM proxy_stats WHERE minute >= ?1 \
         GROUP BY platform, status, source ORDER BY platform, status, source",
        from_minute
    )
    .many("read proxy counts")
    .await
}

/// Drops proxy counters older than `before_minute`.
pub async fn delete_old_proxy_counts(db: &D1Database, before_minute: i64) -> ApiResult<()> {
    query!(db, "DELETE FROM proxy_stats WHERE minute < ?1", before_minute).exec("purge proxy counts").await
}
