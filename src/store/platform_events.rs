//! Platform events in: the keys of events already forwarded (`platform_event_seen`), the
//! profiles an event reaches, and the hourly counters (`platform_event_stats`). What the
//! caller reads of several columns comes as one JSON text built by the query
//! (`json_object`), so no row type is decoded for it.

use super::stmt::{query, IdRow, Row, Stmt};
use crate::error::{ApiResult, OrInternal};
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// Claims the dedup keys of the events whose account an active profile of `platform` holds
/// through a grant minted by `by` (`None`: the deployment's credentials), and reads those
/// profiles, in one round trip. `pairs` is a JSON array of `[key, account id]`, `accounts` a
/// JSON array of the account ids. A key counts as new when unseen or seen before `stale`
/// (then it is taken again); an unmatched event leaves no row. Returns the keys claimed (a
/// key twice in `pairs` once) and the profiles, a JSON array of `{id, app, account, events}`
/// (`events`: the app's `platform_events` setting) of those whose app has a webhook URL.
pub async fn claim_and_match(
    db: &D1Database,
    platform: &str,
    by: Option<&str>,
    pairs: &str,
    accounts: &str,
    now: i64,
    stale: i64,
) -> ApiResult<(Vec<String>, Value)> {
    let claim = query!(
        db,
        "INSERT INTO platform_event_seen (platform, dedup_key, seen_at) \
         SELECT ?1, json_extract(j.value, '$[0]'), ?3 FROM json_each(?4) j WHERE EXISTS (SELECT 1 FROM profiles p \
           JOIN grants g ON g.id = p.grant_id WHERE p.platform = ?1 AND p.status = 'active' \
           AND p.platform_user_id = json_extract(j.value, '$[1]') AND g.credential_ref IS ?2) \
         ON CONFLICT (platform, dedup_key) DO UPDATE SET seen_at = excluded.seen_at \
           WHERE platform_event_seen.seen_at < ?5 \
         RETURNING dedup_key AS id",
        platform,
        by,
        now,
        pairs,
        stale
    )
    .or_500("prepare event claim")?;
    let profiles = query!(
        db,
        "SELECT json_group_array(json_object('id', p.id, 'app', p.app_id, 'account', p.platform_user_id, \
           'events', json(a.platform_events))) AS id FROM profiles p \
         JOIN grants g ON g.id = p.grant_id JOIN apps a ON a.id = p.app_id \
         WHERE p.platform = ?1 AND p.status = 'active' AND g.credential_ref IS ?2 \
         AND p.platform_user_id IN (SELECT value FROM json_each(?3)) AND a.webhook_url IS NOT NULL",
        platform,
        by,
        accounts
    )
    .or_500("prepare event profiles")?;
    let results = db.batch(vec![claim, profiles]).await.or_500("claim events")?;
    let claimed = texts(results.first())?;
    let profiles = texts(results.get(1))?;
    let profiles = profiles.first().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
    Ok((claimed, profiles))
}

/// The `id` column of every row of a batch's result.
fn texts(result: Option<&D1Result>) -> ApiResult<Vec<String>> {
    let Some(r) = result else { return Ok(vec![]) };
    let rows = r.results::<Row>().or_500("read event claim")?;
    rows.iter().map(|row| row.read::<IdRow>("read event claim").map(|r| r.id)).collect()
}

/// Adds `n` (received, verified, refused, matched, forwarded) to `platform`'s counters of the
/// hour starting at `hour`; the statement always changes one row.
pub fn count_platform_events(
    db: &D1Database,
    platform: &str,
    hour: i64,
    n: [u32; 5],
) -> ApiResult<D1PreparedStatement> {
    query!(
        db,
        "INSERT INTO platform_event_stats (platform, hour, received, verified, refused, matched, forwarded) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (platform, hour) DO UPDATE SET \
         received = received + ?3, verified = verified + ?4, refused = refused + ?5, \
         matched = matched + ?6, forwarded = forwarded + ?7",
        platform,
        hour,
        n[0],
        n[1],
        n[2],
        n[3],
        n[4]
    )
    .or_500("prepare event count")
}

/// The counters of each platform summed over the hours from `from_hour` on: the JSON text of
/// an array of `{platform, received, verified, refused, matched, forwarded}`.
pub async fn platform_event_counts(db: &D1Database, from_hour: i64) -> ApiResult<String> {
    let rows = query!(
        db,
        "SELECT json_group_array(json_object('platform', platform, 'received', received, 'verified', verified, \
           'refused', refused, 'matched', matched, 'forwarded', forwarded)) AS id FROM (SELECT platform, \
           SUM(received) AS received, SUM(verified) AS verified, SUM(refused) AS refused, SUM(matched) AS matched, \
           SUM(forwarded) AS forwarded FROM platform_event_stats WHERE hour >= ?1 GROUP BY platform ORDER BY platform)",
        from_hour
    )
    .ids("read event counts")
    .await?;
    Ok(rows.into_iter().next().unwrap_or_else(|| "[]".into()))
}

/// Purges up to `limit` dedup keys seen before `before`.
pub fn purge_seen_events(db: &D1Database, before: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM platform_event_seen WHERE (platform, dedup_key) IN \
         (SELECT platform, dedup_key FROM platform_event_seen WHERE seen_at < ?1 LIMIT ?2)",
        before,
        limit
    )
}

/// Purges up to `limit` hourly counters of hours before `before`.
pub fn purge_event_counts(db: &D1Database, before: i64, limit: u32) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM platform_event_stats WHERE (platform, hour) IN \
         (SELECT platform, hour FROM platform_event_stats WHERE hour < ?1 LIMIT ?2)",
        before,
        limit
    )
}

/// The statement that forgets the dedup keys `keys` (a JSON array) of `platform`: claims whose
/// events could not be written, so that a redelivery is forwarded.
pub fn release_event_claims(db: &D1Database, platform: &str, keys: &str) -> worker::Result<D1PreparedStatement> {
    query!(
        db,
        "DELETE FROM platform_event_seen WHERE platform = ?1 AND dedup_key IN (SELECT value FROM json_each(?2))",
        platform,
        keys
    )
}
