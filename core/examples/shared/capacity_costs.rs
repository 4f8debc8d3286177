//! What one operation of the worker costs in D1 statements, outbound fetches and
//! `RateLimiter` calls, for the capacity model (`capacity.rs`), read from the worker's code
//! on main at ffb1723, the proxy's as issue 26 left it (no D1 write per call, the app's own
//! limiter objects leased) (each figure names the file, or the bench, it comes from), and
//! the per-run caps the scheduled job keeps to. When the code changes, these are the lines
//! to change.

use connect_links_core::platforms::proxy_spec::{RateHeaders, Scope};
use connect_links_core::platforms::Platform;
use connect_links_core::ratelimit::lease::LEASE_WANT;

/// The D1 statements and outbound fetches of one operation.
#[derive(Clone, Copy)]
pub struct OpCost {
    /// Statements that only read.
    pub reads: f64,
    /// Statements that write (an `UPDATE ... RETURNING` counts here).
    pub writes: f64,
    /// Outbound fetches (a platform, a hub, an app's webhook receiver).
    pub fetches: f64,
}

/// One refresh, by the cron, a queue message or a read: the lease `UPDATE grants`
/// (src/grants/refresh.rs:90), the platform's token call (src/grants/refresh.rs:160), then
/// the token write and the copy to the grant's profiles in one batch
/// (src/grants/refreshed.rs:104-109). bench/refresh.mjs measured 3.02 statements per refresh
/// (a recovery's webhook, rare, adds one). The due selection is one read per round of up to
/// `REFRESH_BATCH_SIZE` grants, counted in [`CRON_FIXED_STATEMENTS`].
pub const REFRESH: OpCost = OpCost { reads: 0.0, writes: crate::refresh_sim::D1_WRITES_PER_REFRESH, fetches: 1.0 };

/// One liveness check of a token that never expires: its identity call, the profile's read
/// and its mark, and a share of its grant's lease and release (src/grants/liveness.rs;
/// bench/refresh.mjs measured 1,000 subrequests and about 2,200-2,300 statements per 1,000
/// checks of Pages ten to a login).
pub const LIVENESS_CHECK: OpCost = OpCost { reads: 1.0, writes: 1.25, fetches: 1.0 };

/// One proxied call that needs no refresh: the profile and its token read
/// (`store::profile_token`, src/api/proxy.rs; the API key's app comes from the isolate's
/// cache, `API_KEY_CACHE_MS`, 5 s; the row is kept `PROXY_PROFILE_CACHE_MS`, 3 s, which a
/// profile's calls hours apart never hit) and the platform call. The per-minute counters are
/// summed in the isolate and written once a second per isolate and counter
/// (src/api/proxy/tally.rs): no write per call. A refresh on the way is counted apart, by the
/// simulation. Its `RateLimiter` calls are [`limiter_calls_per_proxy`] and, for the app's own
/// object and block shard, [`leased_asks`].
pub const PROXY_CALL: OpCost = OpCost { reads: 1.0, writes: 0.0, fetches: 1.0 };

/// One webhook to an app, delivered at the first attempt: its outbox row, inserted in the
/// batch of the change it reports (src/events/batch.rs:61), the claim `UPDATE ... RETURNING`
/// (src/events/deliver.rs:41), the signed POST, and the outcome's `UPDATE` and `DELETE` in one
/// batch (src/store/outbox.rs `record_attempt`, src/events/deliver.rs:103). The row's purge
/// after `RETENTION_DAYS` is one statement per [`PURGE_BATCH`] rows, in the cron's fixed part.
pub const WEBHOOK: OpCost = OpCost { reads: 0.0, writes: 4.0, fetches: 1.0 };

/// One retry of a webhook by the cron (src/jobs/webhooks.rs): claim, POST, outcome.
pub const WEBHOOK_RETRY: OpCost = OpCost { reads: 0.0, writes: 3.0, fetches: 1.0 };

/// One platform webhook request carrying one event that matches one profile, before the
/// `platform.event` it becomes (a [`WEBHOOK`] of its own): the request's counter
/// (src/platform_events/stats.rs:29), the dedup claim and the profile match in one batch
/// (src/store/platform_events.rs `claim_and_match`, src/platform_events/forward.rs:54), the
/// matched and forwarded counters (src/platform_events/forward.rs:92-98). Meta batches many
/// events in one request; one a request is the costly case.
pub const PLATFORM_EVENT: OpCost = OpCost { reads: 1.0, writes: 4.0, fetches: 0.0 };

/// One renewal of a YouTube WebSub lease: whether the channel still has profiles and the
/// record of the subscribe (src/platform_events/websub.rs `renew_due`, `send`), the POST to the
/// hub, then the hub's verification GET (src/inbound/youtube.rs:46-56): a read and a write.
pub const WEBSUB_RENEWAL: OpCost = OpCost { reads: 2.0, writes: 2.0, fetches: 1.0 };

/// Statements of a cron run that finds nothing to do, whatever the size: the selections of
/// due grants, checks, webhooks and WebSub leases (4); housekeeping with no key rotation under
/// way (src/jobs/housekeeping.rs `run`): consumed states and proxy counters (2), unclaimed
/// profiles (2), expired account choices (2), the re-encryption reads (9), the retention
/// batch of six purges (6), instance clients and retired credentials (2).
pub const CRON_FIXED_STATEMENTS: f64 = 27.0;

/// The cron's period in seconds (`[triggers] crons = ["*/5 * * * *"]`, wrangler.toml).
pub const CRON_PERIOD_SECS: f64 = 300.0;
/// `REFRESH_BATCH_SIZE`'s default (src/ctx.rs:101): refreshes (or enqueued refreshes) a run
/// makes at most, and liveness checks a run makes at most (src/jobs/liveness.rs).
pub const REFRESH_BATCH_SIZE: f64 = 200.0;
/// Webhook retries a run makes at most (`deliver_due(ctx, 100)`, src/jobs/mod.rs:34).
pub const RETRIES_PER_RUN: f64 = 100.0;
/// WebSub renewals a run makes at most (`PER_RUN`, src/jobs/websub.rs:10).
pub const WEBSUB_PER_RUN: f64 = 10.0;
/// Settled outbox rows (and finished links, ...) purged per table and run (`PURGE_BATCH`,
/// src/jobs/housekeeping.rs:20); platform events' dedup keys get ten times that (line 274).
pub const PURGE_BATCH: f64 = 1_000.0;
/// `RETENTION_DAYS`' default (src/jobs/housekeeping.rs `retention_days`): how long settled
/// outbox rows are kept.
pub const RETENTION_DAYS: f64 = 30.0;
/// `LIVENESS_INTERVAL_DAYS`' default (src/grants/liveness.rs:25).
pub const LIVENESS_INTERVAL_DAYS: f64 = 7.0;
/// The cron's wall-time budget for platform calls (`CRON_PHASE_BUDGET_MS`, 240 s,
/// src/jobs/budget.rs:9) and the refreshes it runs at once (src/jobs/refresh.rs:16).
pub const CRON_BUDGET_SECS: f64 = 240.0;
/// Refreshes in flight at once in a cron run (src/jobs/refresh.rs:16).
pub const CRON_REFRESH_CONCURRENCY: f64 = 4.0;
/// Messages a queue consumer invocation gets (`max_batch_size = 10`, wrangler.toml's queue
/// block); src/lib.rs:67 refreshes them one after the other.
pub const QUEUE_BATCH: f64 = 10.0;

/// How long one refresh takes end to end, assumed (no bench measures a real platform): the
/// token endpoint's answer, "a few hundred milliseconds" (docs/refresh.md), and two D1 round
/// trips.
pub const REFRESH_SECS: f64 = 0.4;

/// Bytes one webhook's outbox row takes, assumed: its body is a profile view (about twenty
/// fields, `ProfileRow::view`) or a `platform.event` (`event_data`: ids, type, time and the
/// platform's payload), typically under 1 KB, plus two ids, the type, five integers and the
/// primary key's index.
pub const OUTBOX_ROW_BYTES: f64 = 1_150.0;
/// Bytes one dedup key of a platform event takes (`platform_event_seen`: platform, key,
/// time, and its two indexes), assumed.
pub const SEEN_ROW_BYTES: f64 = 150.0;

/// `RateLimiter` calls of one proxied call on platform `p` (src/api/proxy.rs,
/// src/api/proxy/budgets.rs) besides the app's own objects: the account's budgets (leased
/// only when the isolate asked for them in the last 10 s, src/limiter/leases.rs; a profile's
/// calls are hours apart, so one ask a call), each app budget whose endpoint class matches
/// (never leased: fair shares; `app_budget_share` of the calls where no rule matches every
/// class), and the report of what the answer said when it says it on every call (X's
/// `x-rate-limit-*` to the account, Reddit's remaining count to its `*` budget). The app's
/// own rate (`tenant:<app id>`) and its block shard (Meta, Reddit) are leased: see
/// [`leased_asks`]. A refusal's refund is left out.
pub fn limiter_calls_per_proxy(p: &Platform, app_budget_share: f64) -> f64 {
    let spec = &p.proxy;
    let app_rules: Vec<_> = spec.budgets.iter().filter(|r| r.scope == Scope::App).collect();
    let budgets = if app_rules.iter().any(|r| r.endpoint == "*") {
        1.0
    } else if app_rules.is_empty() {
        0.0
    } else {
        app_budget_share
    };
    let reports = matches!(spec.rate_headers, RateHeaders::XRateLimit | RateHeaders::RedditRateLimit);
    1.0 + budgets + f64::from(u8::from(reports))
}

/// Requests a second that one leased object (an app's `tenant:<app id>`, its block shard)
/// gets when `rate` calls a second spread evenly over `isolates` isolates
/// (src/limiter/leases.rs, `core/src/ratelimit/lease.rs`): an isolate whose calls are a second
/// or more apart asks on each (its lease lasts a second); a busier one asks once a second, or
/// once every [`LEASE_WANT`] calls when that is sooner. The unused units go back with the
/// next ask, in the same request.
pub fn leased_asks(rate: f64, isolates: f64) -> f64 {
    let each = rate / isolates;
    let asks = if each <= 1.0 { each } else { (each / f64::from(LEASE_WANT)).max(1.0) };
    asks * isolates
}

/// Whether platform `p`'s block shards are asked on every call (Meta, Reddit): then the
/// largest app's calls all reach its one shard (`ratelimit::layout::block_object` hashes the
/// app id).
pub fn asks_block_shard(p: &Platform) -> bool {
    matches!(p.proxy.rate_headers, RateHeaders::MetaUsage | RateHeaders::RedditRateLimit)
}

/// Whether platform `p` has an app budget that only some endpoint classes match (X, YouTube):
/// that budget's one object sees every app's calls of its class.
pub fn has_class_app_budget(p: &Platform) -> bool {
    p.proxy.budgets.iter().any(|r| r.scope == Scope::App && r.endpoint != "*")
}

/// The length of a sealed envelope of `plain` bytes: `v1.<kid>.` and the base64url of nonce
/// (12), ciphertext and tag (16) (core/src/envelope.rs `seal`), with a two-character key id.
fn envelope(plain: f64) -> f64 {
    6.0 + ((plain + 28.0) * 4.0 / 3.0).ceil()
}

/// An index entry: its key's bytes, the rowid and a cell's overhead (about 8 bytes).
fn entry(key: f64) -> f64 {
    key + 8.0
}

/// How much fuller than their rows SQLite's B-tree pages are, assumed: pages filled at random
/// end about 80 % full, so the file is 1.25 times its cells.
pub const PAGE_FILL_FACTOR: f64 = 1.25;

/// Bytes one profile and its grant take in D1, rows and index entries, estimated column by
/// column from migrations/ (0005_grants.sql and the `ALTER TABLE`s after it) with typical
/// values: ids are a 4-character prefix and 32 hex digits (core/src/random.rs `new_id`), an
/// access token of 250 bytes and a refresh token of 150 sealed, 80 bytes of scopes, a
/// 150-byte avatar URL; epoch seconds take 4 bytes in SQLite's record, flags none, a NULL
/// none; a record's header about a byte per column. One grant per profile (a login's Pages
/// share one, so this errs high).
pub fn profile_and_grant_bytes() -> f64 {
    let id = 36.0;
    let grant_row = id // id
        + id // app_id
        + 8.0 // platform
        + 20.0 // platform_user_id
        + 6.0 // status
        + 80.0 // scopes
        + envelope(250.0) // access_token_enc
        + envelope(150.0) // refresh_token_enc
        + 2.0 // token_kid
        + 11.0 * 4.0 + 6.0 // eleven times in seconds, last_refresh_ms; flags and NULLs none
        + 32.0; // record header (one byte per column) and cell
    let grant_indexes = entry(id) // primary key
        + entry(id + 8.0 + 20.0) // UNIQUE (app_id, platform, platform_user_id)
        + entry(4.0) // grants_next_refresh
        + entry(2.0) // grants_token_kid
        + entry(8.0 + 20.0); // grants_account
    let profile_row = 3.0 * id // id, app_id, grant_id
        + 8.0 // platform
        + 4.0 // account_type
        + 20.0 // platform_user_id
        + 15.0 // parent: NULL for a login, a JSON object for a Page (a share of them)
        + 15.0 // username
        + 20.0 // display_name
        + 150.0 // avatar_url
        + id // external_user_id
        + 40.0 // metadata
        + 6.0 // status
        + 80.0 // scopes
        + 6.0 * 4.0 // expiry, last refresh, created, updated, last event, next check
        + 31.0; // record header and cell
    let profile_indexes = entry(id) // primary key
        + entry(id + 4.0 + id) // profiles_app_list (app_id, created_at, id)
        + entry(id) // profiles_grant
        + entry(8.0 + 20.0) // profiles_account
        + entry(id + 8.0 + 20.0) // UNIQUE (app_id, platform, platform_user_id)
        + entry(4.0); // profiles_next_check
    (grant_row + grant_indexes + profile_row + profile_indexes) * PAGE_FILL_FACTOR
}
