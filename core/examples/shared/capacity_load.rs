//! What the capacity model's rates (`capacity.rs`) come to: D1 statements a second by
//! source, one cron run's work and its cost in one invocation, bytes stored. The costs are
//! `capacity_costs.rs`', the limits `cloudflare_limits.rs`'.

use crate::capacity_costs as cost;
use crate::cloudflare_limits as cf;
use crate::refresh_sim::DAY;

/// Per-second rates (averages) of one deployment size.
pub struct Rates {
    /// Refresh calls the cron makes (or enqueues).
    pub cron_refreshes: f64,
    /// Refresh calls reads make (proxied calls that find the token about to expire).
    pub read_refreshes: f64,
    /// Liveness checks.
    pub checks: f64,
    /// Proxied calls.
    pub proxy: f64,
    /// Webhooks to apps (lifecycle events and forwarded platform events).
    pub webhooks: f64,
    /// Webhook retries the cron makes.
    pub retries: f64,
    /// Platform webhook requests in, one event each.
    pub events: f64,
    /// YouTube WebSub lease renewals.
    pub websub: f64,
    /// Limiter calls a second, all objects.
    pub limiter: f64,
    /// Proxied calls a second that ask a block shard.
    pub block_calls: f64,
    /// Proxied calls a second that spend the busiest app budget of one endpoint class (one
    /// platform's: each has objects of its own).
    pub class_budget_calls: f64,
}

/// D1 statements a second by source, averages: (name, driven by traffic, reads, writes).
/// Traffic-driven sources are multiplied by the peak factor at peak; the cron's are not.
pub struct D1Load(pub Vec<(&'static str, bool, f64, f64)>);

impl D1Load {
    /// The statements `r` comes to.
    pub fn of(r: &Rates) -> Self {
        let op = |name, traffic, c: cost::OpCost, n: f64| (name, traffic, c.reads * n, c.writes * n);
        D1Load(vec![
            op("refreshes by the cron", false, cost::REFRESH, r.cron_refreshes),
            op("refreshes by reads", true, cost::REFRESH, r.read_refreshes),
            op("proxied calls", true, cost::PROXY_CALL, r.proxy),
            op("webhooks", true, cost::WEBHOOK, r.webhooks),
            op("platform events", true, cost::PLATFORM_EVENT, r.events),
            op("liveness checks", false, cost::LIVENESS_CHECK, r.checks),
            op("webhook retries", false, cost::WEBHOOK_RETRY, r.retries),
            op("WebSub renewals", false, cost::WEBSUB_RENEWAL, r.websub),
            (
                "the cron's selections and housekeeping",
                false,
                cost::CRON_FIXED_STATEMENTS / cost::CRON_PERIOD_SECS,
                0.0,
            ),
        ])
    }
    /// (reads, writes) a second with the traffic at `peak` times its average.
    pub fn at(&self, peak: f64) -> (f64, f64) {
        self.0.iter().fold((0.0, 0.0), |(r, w), &(_, traffic, reads, writes)| {
            let f = if traffic { peak } else { 1.0 };
            (r + reads * f, w + writes * f)
        })
    }
    /// Milliseconds of query time a second, with the traffic at `peak` times its average.
    pub fn busy_ms(&self, peak: f64) -> f64 {
        let (reads, writes) = self.at(peak);
        reads * cf::D1_READ_MS + writes * cf::D1_WRITE_MS
    }
}

/// What one cron run (every 5 minutes) must do for `share` of the profiles (one shard's,
/// or all of them), and what it costs in one invocation.
pub struct CronRun {
    /// Refreshes due a run.
    pub refreshes: f64,
    /// Liveness checks due a run.
    pub checks: f64,
    /// Webhook retries due a run.
    pub retries: f64,
    /// WebSub renewals due a run.
    pub websub: f64,
    /// Settled outbox rows a run must purge to keep up.
    pub purge: f64,
    /// D1 statements and subrequests with refreshes made inline.
    pub inline: (f64, f64),
    /// The same with refreshes sent to `REFRESH_QUEUE` (100 a `sendBatch`, one fence write
    /// each, src/jobs/refresh.rs:58-65).
    pub queued: (f64, f64),
}

impl CronRun {
    /// A run's work for `share` of the profiles.
    pub fn of(r: &Rates, share: f64) -> Self {
        let per_run = |x: f64| x * share * cost::CRON_PERIOD_SECS;
        let (refreshes, checks, retries, websub) =
            (per_run(r.cron_refreshes), per_run(r.checks), per_run(r.retries), per_run(r.websub));
        let statements = |op: cost::OpCost, n: f64| (op.reads + op.writes) * n;
        let rest = cost::CRON_FIXED_STATEMENTS
            + statements(cost::LIVENESS_CHECK, checks)
            + statements(cost::WEBHOOK_RETRY, retries)
            + statements(cost::WEBSUB_RENEWAL, websub);
        let rest_fetches = checks + retries + websub;
        let inline = rest + statements(cost::REFRESH, refreshes);
        let sends = (refreshes / cf::QUEUE_SEND_BATCH).ceil();
        CronRun {
            refreshes,
            checks,
            retries,
            websub,
            purge: per_run(r.webhooks),
            inline: (inline, inline + rest_fetches + refreshes * cost::REFRESH.fetches),
            queued: (rest + sends, rest + sends + rest_fetches + sends),
        }
    }
    /// Invocations `(queries, subrequests)` need within the per-invocation limits, and, when
    /// `inline`, for the refreshes the run's time budget fits.
    pub fn runs(&self, (queries, subrequests): (f64, f64), inline: bool) -> f64 {
        let by_time = if inline { self.refreshes / inline_refreshes_by_time() } else { 0.0 };
        (queries / cf::D1_QUERIES_PER_INVOCATION)
            .max(subrequests / cf::SUBREQUESTS_PER_INVOCATION)
            .max(by_time)
            .ceil()
            .max(1.0)
    }
    /// The first of the job's own per-run caps this run's work passes, if any.
    pub fn over_caps(&self) -> Option<&'static str> {
        [
            (self.checks > cost::REFRESH_BATCH_SIZE, "liveness checks"),
            (self.retries > cost::RETRIES_PER_RUN, "webhook retries"),
            (self.websub > cost::WEBSUB_PER_RUN, "WebSub renewals"),
            (self.purge > cost::PURGE_BATCH, "outbox purge"),
        ]
        .into_iter()
        .find_map(|(over, what)| over.then_some(what))
    }
}

/// Refreshes a run's budget fits: four at a time for `CRON_PHASE_BUDGET_MS`.
pub fn inline_refreshes_by_time() -> f64 {
    cost::CRON_BUDGET_SECS * cost::CRON_REFRESH_CONCURRENCY / cost::REFRESH_SECS
}

/// Bytes stored: profiles and grants, the outbox's settled rows kept `RETENTION_DAYS`, the
/// platform events' dedup keys kept a day.
pub struct Stored {
    /// Bytes of profiles and grants.
    pub profiles: f64,
    /// Settled outbox rows kept.
    pub outbox_rows: f64,
    /// Their bytes.
    pub outbox: f64,
    /// Dedup keys kept.
    pub seen_rows: f64,
    /// Their bytes.
    pub seen: f64,
}

impl Stored {
    /// What `profiles` profiles at rates `r` keep stored.
    pub fn of(profiles: f64, r: &Rates) -> Self {
        let day = DAY as f64;
        let outbox_rows = r.webhooks * day * cost::RETENTION_DAYS;
        let seen_rows = r.events * day;
        Stored {
            profiles: profiles * cost::profile_and_grant_bytes(),
            outbox_rows,
            outbox: outbox_rows * cost::OUTBOX_ROW_BYTES * cost::PAGE_FILL_FACTOR,
            seen_rows,
            seen: seen_rows * cost::SEEN_ROW_BYTES * cost::PAGE_FILL_FACTOR,
        }
    }
    /// All of it.
    pub fn total(&self) -> f64 {
        self.profiles + self.outbox + self.seen
    }
}
