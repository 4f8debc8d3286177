//! Cloudflare's published limits that the capacity model (`capacity.rs`) holds its figures
//! to, each with the page it comes from and what that page said when it was read on
//! 2026-12-07; and, where Cloudflare publishes no number, the assumption used instead and
//! why. Workers Paid throughout (the Free plan's 50 subrequests and 50 D1 queries per
//! invocation do not carry a million profiles). docs/scale.md lists the same sources.

/// When every page below was read.
pub const RETRIEVED: &str = "2026-12-07";

/// <https://developers.cloudflare.com/d1/platform/limits/> ("Last updated Apr 21, 2026"):
/// "Maximum database size: 10 GB (Workers Paid)"; its FAQ: "the 10 GB limit of a D1 database
/// cannot be further increased".
pub const D1_DATABASE_BYTES: f64 = 10e9;
/// The share of [`D1_DATABASE_BYTES`] a shard is planned to fill, so that growth between
/// two splits (and the outbox's retention) never meets the hard limit. Ours, not Cloudflare's.
pub const D1_PLANNED_FILL: f64 = 0.8;
/// Same page: "Maximum storage per account: 1 TB (Workers Paid)", raised on request.
pub const D1_ACCOUNT_BYTES: f64 = 1e12;
/// Same page: "Queries per Worker invocation (read subrequest limits): 1000 (Workers Paid)".
/// Counted here as statements (a `db.batch` of three counts three), the reading that is
/// safe whichever way Cloudflare counts a batch.
pub const D1_QUERIES_PER_INVOCATION: f64 = 1_000.0;
/// Same page: "Databases per account: 50,000 (Workers Paid)" (another copy of the page read
/// the same day says 1,000,000, the first 100,000 included): far above what any size here
/// needs either way.
pub const D1_DATABASES_PER_ACCOUNT: f64 = 50_000.0;

/// Same page: "Maximum bindings per Workers script: Approximately 5,000" (D1 databases one
/// Worker can bind, each a shard of the design in docs/scale.md).
pub const D1_BINDINGS_PER_SCRIPT: f64 = 5_000.0;

/// D1's throughput has no published number, only a rule, on the same page's FAQ ("How much
/// work can a D1 database do?"): "Each individual D1 database is inherently single-threaded,
/// and processes queries one at a time. [...] If your average query takes 1 ms, you can run
/// approximately 1,000 queries per second"; "Read queries [...] with an appropriate index
/// [...] will take less than a millisecond"; "Write queries like INSERT or UPDATE can take
/// several milliseconds" (each write is persisted in several locations). So a database
/// offers 1,000 ms of query time per second, and we assume an indexed read costs
/// [`D1_READ_MS`] and a one-row write [`D1_WRITE_MS`], each statement on its own (statements
/// of one batch share a commit, so this errs on the safe side).
pub const D1_MS_PER_SECOND: f64 = 1_000.0;
/// Assumed time of an indexed one-row read (see [`D1_MS_PER_SECOND`]).
pub const D1_READ_MS: f64 = 0.5;
/// Assumed time of a one-row write: the low end of "several milliseconds".
pub const D1_WRITE_MS: f64 = 2.0;
/// The busy share a database is planned for at peak: a single queue's wait grows as
/// busy / (1 - busy) service times, so at 50 % a query waits about one query's time, and a
/// burst above the peak factor still fits. Past the FAQ's limit D1 queues, then answers
/// "overloaded". Ours, not Cloudflare's.
pub const D1_PLANNED_BUSY: f64 = 0.5;

/// <https://developers.cloudflare.com/workers/platform/limits/>: "Subrequests: 10,000/request"
/// (Workers Paid; 50 on Free). The older text of the same page defines a subrequest as "any
/// request that a Worker makes to either Internet resources using the Fetch API or requests to
/// other Cloudflare services like R2, KV, or D1": counted here are platform and webhook
/// fetches, D1 statements, Durable Object calls and queue sends.
pub const SUBREQUESTS_PER_INVOCATION: f64 = 10_000.0;
/// Same page: "Simultaneous outgoing connections/request: 6" (the cron splits its six: four
/// for refreshes, one for liveness checks, one for the rest; src/jobs/mod.rs).
pub const CONNECTIONS_PER_INVOCATION: f64 = 6.0;
/// Same page: "CPU time: 5 min" (Workers Paid, the most it can be set to); the cron's own
/// budget (`CRON_PHASE_BUDGET_MS`, 4 minutes of wall time, src/jobs/budget.rs) binds first,
/// since a run mostly waits on platforms and D1. CPU is not modelled.
pub const CPU_SECONDS_PER_INVOCATION: f64 = 300.0;

/// <https://developers.cloudflare.com/durable-objects/platform/limits/> and the FAQ there
/// ("How much work can a single Durable Object do?"): "An individual Object has a soft limit
/// of 1,000 requests per second", after which it queues, then answers "overloaded"; the
/// number of objects is unlimited.
pub const DO_REQUESTS_PER_OBJECT: f64 = 1_000.0;
/// Same page: "Storage per Durable Object: 10 GB" (SQLite-backed). A `RateLimiter` holds a
/// few counters per endpoint class and app: never near it.
pub const DO_BYTES_PER_OBJECT: f64 = 10e9;

/// <https://developers.cloudflare.com/queues/platform/limits/>: "Per-queue message throughput:
/// 5,000 messages per second" (past it, `send()` and `sendBatch()` throw "Too Many Requests").
pub const QUEUE_MESSAGES_PER_SECOND: f64 = 5_000.0;
/// Same page: "Concurrent consumer invocations: 250 (push-based only)".
pub const QUEUE_CONSUMER_INVOCATIONS: f64 = 250.0;
/// Same page: "Maximum messages per sendBatch call: 100 (or 256KB in total)"; the cron
/// sends 100 a call (src/jobs/refresh.rs:58).
pub const QUEUE_SEND_BATCH: f64 = 100.0;
