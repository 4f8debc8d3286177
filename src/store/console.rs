//! The console's aggregate reads: the overview's counts in one batch (one round trip), each
//! statement returning its counts as one JSON text of `[bucket, key, platform, n]` cells
//! (`core::console::overview::Cell`), so one decoder reads them all. Each reads an index or a
//! bounded range (docs/console.md, "Overview").

use super::stmt::{arg, batch_rows, bound, IdRow};
use crate::error::{ApiResult, OrInternal};
use connect_links_core::console::overview::{windows, Cell, Overview};
use serde_json::Value;
use worker::D1Database;

/// A cell from its JSON `[bucket, key, platform, n]` (read through `Value`, which the worker
/// decodes anyway, rather than a decoder of its own for the tuple).
fn cell(v: &Value) -> Option<Cell> {
    let a = v.as_array()?;
    Some((a.first()?.as_i64()?, a.get(1)?.as_str()?.to_string(), a.get(2)?.as_str()?.to_string(), a.get(3)?.as_u64()?))
}

/// The overview's statements, in the order of [`Overview`]'s fields; `?1` the first hour of
/// the 24-hour window (epoch hours), `?2` the first day of the 30-day one (epoch days), `?3`
/// now. D1 wants as many bindings as the highest `?N`: [`BINDINGS`]; it binds numbers as
/// REAL, so a bucket casts its base to INTEGER.
const OVERVIEW_SQL: [&str; 6] = [
    // Every profile, once: a count cannot read less (index profiles_platform_status covers it).
    "SELECT json_group_array(json_array(0, status, platform, n)) AS id FROM \
     (SELECT platform, status, COUNT(*) AS n FROM profiles GROUP BY platform, status)",
    // activity_kind (kind, at): the range of the last 24 hours.
    "SELECT json_group_array(json_array(b, outcome, '', n)) AS id FROM (SELECT at / 3600 - CAST(?1 AS INTEGER) AS b, outcome, \
     COUNT(*) AS n FROM activity WHERE kind = 'refresh' AND at >= ?1 * 3600 GROUP BY b, outcome)",
    "SELECT json_group_array(json_array(b, outcome, '', n)) AS id FROM (SELECT at / 86400 - CAST(?2 AS INTEGER) AS b, outcome, \
     COUNT(*) AS n FROM activity WHERE kind = 'refresh' AND at >= ?2 * 86400 GROUP BY b, outcome)",
    // The primary key (minute, ...): the range of the last 24 hours (housekeeping keeps no more).
    // `local` is the worker's own answer before any platform call; its 429 is a rate-limit
    // refusal, the platform's 429 is the platform's limit (api/proxy.rs, `Source`).
    "SELECT json_group_array(json_array(b, k, platform, n)) AS id FROM (SELECT minute / 60 - CAST(?1 AS INTEGER) AS b, \
     CASE WHEN status = 429 AND source = 'local' THEN 'refused' WHEN status = 429 THEN '429' \
     WHEN status >= 500 THEN '5xx' WHEN status >= 400 THEN '4xx' ELSE 'ok' END AS k, platform, SUM(calls) AS n \
     FROM proxy_stats WHERE minute >= ?1 * 60 GROUP BY b, k, platform)",
    // The partial indexes webhook_outbox_delivered, _failed and _due.
    "SELECT json_group_array(json_array(b, k, '', n)) AS id FROM (\
     SELECT delivered_at / 86400 - CAST(?2 AS INTEGER) AS b, 'delivered' AS k, COUNT(*) AS n FROM webhook_outbox WHERE delivered_at >= ?2 * 86400 GROUP BY b \
     UNION ALL SELECT failed_at / 86400 - CAST(?2 AS INTEGER), 'given_up', COUNT(*) FROM webhook_outbox WHERE failed_at >= ?2 * 86400 GROUP BY 1 \
     UNION ALL SELECT -1, 'delivered', COUNT(*) FROM webhook_outbox WHERE delivered_at >= ?3 - 86400 \
     UNION ALL SELECT -1, 'given_up', COUNT(*) FROM webhook_outbox WHERE failed_at >= ?3 - 86400 \
     UNION ALL SELECT 0, 'retrying', COUNT(*) FROM webhook_outbox WHERE next_attempt_at IS NOT NULL)",
    // Housekeeping keeps two days of these hourly rows: a small table read whole.
    "SELECT json_group_array(json_array(b, k, platform, n)) AS id FROM (\
     SELECT hour / 3600 - CAST(?1 AS INTEGER) AS b, 'received' AS k, platform, SUM(received) AS n FROM platform_event_stats WHERE hour >= ?1 * 3600 GROUP BY b, platform \
     UNION ALL SELECT hour / 3600 - CAST(?1 AS INTEGER), 'forwarded', platform, SUM(forwarded) FROM platform_event_stats WHERE hour >= ?1 * 3600 GROUP BY 1, 3)",
];

/// The highest `?N` of each of [`OVERVIEW_SQL`].
const BINDINGS: [usize; 6] = [0, 1, 2, 1, 3, 1];

/// The overview's counts up to `now`, in one batch of six statements.
pub async fn overview_counts(db: &D1Database, now: i64) -> ApiResult<Overview> {
    let (first_hour, first_day) = windows(now);
    let args = [arg(&first_hour), arg(&first_day), arg(&now)];
    let stmts = OVERVIEW_SQL
        .iter()
        .zip(BINDINGS)
        .map(|(sql, n)| bound(db, sql, args.get(..n).unwrap_or_default()).or_500("prepare overview"))
        .collect::<ApiResult<Vec<_>>>()?;
    let results = db.batch(stmts).await.or_500("read overview")?;
    let mut cells = results.iter().map(|r| -> ApiResult<Vec<Cell>> {
        let text = batch_rows::<IdRow>(r).or_500("read overview")?.into_iter().next().map(|r| r.id);
        let json: Value = serde_json::from_str(text.as_deref().unwrap_or("[]")).or_500("read overview")?;
        Ok(json.as_array().map(|rows| rows.iter().filter_map(cell).collect()).unwrap_or_default())
    });
    let mut next = || cells.next().unwrap_or_else(|| Ok(vec![]));
    Ok(Overview {
        now,
        profiles: next()?,
        refresh_hours: next()?,
        refresh_days: next()?,
        proxy: next()?,
        webhooks: next()?,
        events: next()?,
    })
}
