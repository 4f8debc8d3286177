//! `make bench`: the capacity model. For 1M, 10M and 100M profiles with a given mix of
//! platforms and refresh modes (the inputs below, printed first), what the worker asks of
//! Cloudflare: D1 writes and reads a second (average and peak), rows and bytes stored,
//! Durable Object requests a second (all objects, and the busiest one), subrequests and D1
//! queries per cron run and the cron runs that needs, queue messages a second when refreshes
//! go through the queue; each next to the published limit it is held to, with a verdict.
//!
//! - Refresh calls come from the worker's own schedule on a simulated clock
//!   (`shared/refresh_sim.rs`, shared with `refresh_cost.rs`), per platform and mode, with
//!   the proxied calls as the reads that refresh `on_demand` tokens.
//! - What each operation costs (D1 statements, fetches, limiter calls) is read from the
//!   worker's code, each figure with its file and line (`shared/capacity_costs.rs`).
//! - Cloudflare's limits, with the page each comes from as read on 2026-12-07, and the
//!   assumptions where Cloudflare publishes no number (D1's throughput), are
//!   `shared/cloudflare_limits.rs`: D1 <https://developers.cloudflare.com/d1/platform/limits/>
//!   (10 GB a database, 1,000 queries an invocation, single-threaded: about 1,000 queries a
//!   second at 1 ms each), Workers <https://developers.cloudflare.com/workers/platform/limits/>
//!   (10,000 subrequests an invocation, 6 connections), Durable Objects
//!   <https://developers.cloudflare.com/durable-objects/platform/limits/> (a soft 1,000
//!   requests a second per object), Queues <https://developers.cloudflare.com/queues/platform/limits/>
//!   (5,000 messages a second per queue, 250 concurrent consumers).
//!
//! docs/scale.md shows the output for the default inputs and the sharding design it leads
//! to. Not a test: it prints numbers. Run alone:
//! `cargo run --release -q -p connect-links-core --example capacity`.

#[path = "shared/capacity_costs.rs"]
mod capacity_costs;
#[path = "shared/capacity_load.rs"]
mod capacity_load;
#[path = "shared/cloudflare_limits.rs"]
mod cloudflare_limits;
#[path = "shared/refresh_sim.rs"]
mod refresh_sim;
#[path = "shared/table.rs"]
mod table;

use capacity_costs as cost;
use capacity_load::{inline_refreshes_by_time, CronRun, D1Load, Rates, Stored};
use cloudflare_limits as cf;
use connect_links_core::platform_events::youtube::LEASE_SECS;
use connect_links_core::platforms::{Catalog, Platform};
use connect_links_core::refresh_policy::RefreshMode;
use refresh_sim::{lifetimes, simulate, Reads, Rng, DAY, DAYS};
use table::{bytes, fits, line, num, short};

// ---- Inputs: change these, the output says what follows. ----

/// Profile counts modelled.
const SIZES: [f64; 3] = [1e6, 1e7, 1e8];
/// Each platform's share of the profiles (summing to 1): built-in platform ids.
const PLATFORM_MIX: [(&str, f64); 8] = [
    ("instagram", 0.25),
    ("facebook", 0.15),
    ("x", 0.15),
    ("linkedin", 0.15),
    ("tiktok", 0.12),
    ("youtube", 0.08),
    ("bluesky", 0.05),
    ("mastodon", 0.05),
];
/// The share of profiles whose app keeps tokens `proactive`; the rest are `on_demand`.
const PROACTIVE_SHARE: f64 = 0.5;
/// Proxied calls per profile and day (each also a read that may refresh first).
const PROXY_CALLS_PER_PROFILE_DAY: f64 = 5.0;
/// Lifecycle webhooks per profile and day (refresh failures and recoveries, expiry notices,
/// disconnects, claims, deletions).
const WEBHOOKS_PER_PROFILE_DAY: f64 = 0.1;
/// Platform events per profile and day (comments, mentions, messages), each arriving in a
/// request of its own and forwarded to one app as one `platform.event` webhook.
const PLATFORM_EVENTS_PER_PROFILE_DAY: f64 = 0.5;
/// The busiest hour over the day's average, for what apps and platforms drive (proxied calls,
/// the refreshes reads make, webhooks, platform events). The cron's own work is spread by
/// its schedule and counted at its average.
const PEAK_FACTOR: f64 = 3.0;
/// The largest app's share of the profiles (and of the traffic): what one app's shard, one
/// app's limiter object and one app's block shard must carry.
const LARGEST_APP_SHARE: f64 = 0.25;
/// Isolates the largest app's proxied calls spread over, assumed (Cloudflare publishes no
/// figure: some hundred data centres, an isolate or more each where the app's users are).
/// Its own limiter objects see an ask per lease from each (`capacity_costs::leased_asks`);
/// the other apps' calls are counted as asking on every call, an upper bound.
const ISOLATES_PER_APP: f64 = 200.0;
/// The share of webhooks whose first attempt fails and that the cron retries once.
const WEBHOOK_RETRY_SHARE: f64 = 0.02;
/// Of a platform's proxied calls, the share in an endpoint class with an app-wide budget when
/// only some classes have one (X's tweets and media, YouTube's uploads and search).
const APP_BUDGET_CLASS_SHARE: f64 = 0.3;
/// Profiles simulated per platform and refresh mode.
const SIMULATED: u64 = 1_000;

/// What one platform of the mix costs per profile and day.
struct PerPlatform {
    /// The platform's id.
    id: &'static str,
    /// Its share of the profiles.
    share: f64,
    /// Refresh calls the cron makes, per profile and day, over both modes.
    cron_refreshes: f64,
    /// Refresh calls reads make, per profile and day, over both modes.
    read_refreshes: f64,
    /// Whether its profiles' tokens never expire, so the cron checks them weekly: Facebook
    /// Pages' own tokens, an Instagram account's Page token, Mastodon's (docs/refresh.md).
    checked: bool,
    /// `RateLimiter` calls per proxied call.
    limiter_calls: f64,
    /// Whether every call asks the app's block shard (Meta, Reddit).
    block_shard: bool,
    /// Whether some classes have an app budget of their own object (X, YouTube).
    class_budget: bool,
}

fn per_platform(p: &Platform, id: &'static str, share: f64, rng: &mut Rng) -> PerPlatform {
    let life = lifetimes(&p.id);
    let reads = Reads::Every((DAY as f64 / PROXY_CALLS_PER_PROFILE_DAY).round() as i64);
    let mut per_day = |mode| {
        let (mut cron, mut read) = (0, 0);
        for _ in 0..SIMULATED {
            let c = simulate(p, &life, mode, reads, rng);
            cron += c.cron;
            read += c.on_read;
        }
        let days = (SIMULATED * DAYS as u64) as f64;
        (cron as f64 / days, read as f64 / days)
    };
    let (pro_cron, pro_read) = per_day(RefreshMode::Proactive);
    let (od_cron, od_read) = per_day(RefreshMode::OnDemand);
    let mix = |pro: f64, od: f64| PROACTIVE_SHARE * pro + (1.0 - PROACTIVE_SHARE) * od;
    PerPlatform {
        id,
        share,
        cron_refreshes: mix(pro_cron, od_cron),
        read_refreshes: mix(pro_read, od_read),
        checked: life.access.is_none() || matches!(id, "facebook" | "instagram_facebook"),
        limiter_calls: cost::limiter_calls_per_proxy(p, APP_BUDGET_CLASS_SHARE),
        block_shard: cost::asks_block_shard(p),
        class_budget: cost::has_class_app_budget(p),
    }
}

fn rates(profiles: f64, mix: &[PerPlatform]) -> Rates {
    let day = DAY as f64;
    let sum = |f: &dyn Fn(&PerPlatform) -> f64| mix.iter().map(|p| profiles * p.share * f(p)).sum::<f64>() / day;
    let proxy = profiles * PROXY_CALLS_PER_PROFILE_DAY / day;
    let webhooks = profiles * (WEBHOOKS_PER_PROFILE_DAY + PLATFORM_EVENTS_PER_PROFILE_DAY) / day;
    // A lease renewed a day before it ends lasts the rest of it.
    let websub_period_days = (LEASE_SECS as f64 / day - 1.0).max(1.0);
    Rates {
        cron_refreshes: sum(&|p| p.cron_refreshes),
        read_refreshes: sum(&|p| p.read_refreshes),
        checks: sum(&|p| if p.checked { 1.0 / cost::LIVENESS_INTERVAL_DAYS } else { 0.0 }),
        proxy,
        webhooks,
        retries: webhooks * WEBHOOK_RETRY_SHARE,
        events: profiles * PLATFORM_EVENTS_PER_PROFILE_DAY / day,
        websub: sum(&|p| if p.id == "youtube" { 1.0 / websub_period_days } else { 0.0 }),
        limiter: sum(&|p| PROXY_CALLS_PER_PROFILE_DAY * p.limiter_calls)
            + app_objects(proxy)
            + app_objects(sum(&|p| if p.block_shard { PROXY_CALLS_PER_PROFILE_DAY } else { 0.0 })),
        block_calls: sum(&|p| if p.block_shard { PROXY_CALLS_PER_PROFILE_DAY } else { 0.0 }),
        // Each platform's class budgets are objects of their own: the busiest one counts.
        class_budget_calls: mix
            .iter()
            .filter(|p| p.class_budget)
            .map(|p| profiles * p.share * PROXY_CALLS_PER_PROFILE_DAY * APP_BUDGET_CLASS_SHARE / day)
            .fold(0.0, f64::max),
    }
}

/// What a size comes to, for the summary table: (average, peak) pairs, databases by query
/// time and by bytes, cron runs a tick inline and with the queue.
struct Summary {
    profiles: f64,
    writes: (f64, f64),
    reads: (f64, f64),
    stored: f64,
    databases: (f64, f64),
    /// The busiest limiter object's requests a second at peak.
    busiest_do: f64,
    /// A run's subrequests with refreshes inline, on one database.
    inline_subrequests: f64,
    runs: (f64, f64),
    /// Queue messages a second, refreshes going through `REFRESH_QUEUE`.
    queue: f64,
    /// What the size needs, in a sentence.
    verdict: String,
}

/// D1's lines: statements a second by source, query time, storage, databases. Returns the
/// databases needed by query time and by bytes, and whether the largest app needs more than
/// one on its own.
fn print_d1(profiles: f64, r: &Rates, d1: &D1Load) -> (f64, f64, bool) {
    let (avg, peak) = (d1.at(1.0), d1.at(PEAK_FACTOR));
    line("D1 writes/s (statements)", &num(avg.1), &num(peak.1), "", "");
    for (name, traffic, _, w) in d1.0.iter().filter(|s| s.3 > 0.0) {
        let at_peak = if *traffic { num(w * PEAK_FACTOR) } else { String::new() };
        line(&format!("  of which {name}"), &num(*w), &at_peak, "", "");
    }
    line("D1 reads/s (statements)", &num(avg.0), &num(peak.0), "", "");
    let busy = d1.busy_ms(PEAK_FACTOR);
    let planned = cf::D1_MS_PER_SECOND * cf::D1_PLANNED_BUSY;
    let by_load = (busy / planned).ceil().max(1.0);
    line(
        &format!("D1 query time, ms/s ({} ms a write, {} a read)", cf::D1_WRITE_MS, cf::D1_READ_MS),
        &num(d1.busy_ms(1.0)),
        &num(busy),
        &format!("1,000 a database, planned {}", num(planned)),
        &fits(by_load > 1.0, &format!("needs {} databases", num(by_load))),
    );
    // The FAQ's own example (1 ms a query) for writes too: how much the assumption weighs.
    let busy_at_1ms = peak.0 * cf::D1_READ_MS + peak.1;
    let by_load_at_1ms = (busy_at_1ms / planned).ceil().max(1.0);
    line(
        "  the same at 1 ms a write",
        &num(avg.0 * cf::D1_READ_MS + avg.1),
        &num(busy_at_1ms),
        "",
        &fits(by_load_at_1ms > 1.0, &format!("needs {} databases", num(by_load_at_1ms))),
    );
    let s = Stored::of(profiles, r);
    let db = cf::D1_DATABASE_BYTES * cf::D1_PLANNED_FILL;
    line("rows: profiles and grants", &short(2.0 * profiles), "", "", "");
    line("rows: outbox (kept RETENTION_DAYS, 30)", &short(s.outbox_rows), "", "", "");
    line("rows: platform events' dedup keys (a day)", &short(s.seen_rows), "", "", "");
    let by_bytes = (s.total() / db).ceil().max(1.0);
    let without_outbox = ((s.profiles + s.seen) / db).ceil().max(1.0);
    line("bytes: profiles and grants", &bytes(s.profiles), "", "", "");
    line(
        "bytes: with the outbox's 30 days",
        &bytes(s.total()),
        "",
        &format!("10 GB a database, planned {}", bytes(db)),
        &fits(by_bytes > 1.0, &format!("needs {} databases", num(by_bytes))),
    );
    line(
        "bytes: outbox rows dropped once settled",
        &bytes(s.profiles + s.seen),
        "",
        "",
        &fits(without_outbox > 1.0, &format!("needs {} databases", num(without_outbox))),
    );
    line(
        "bytes: the account",
        &bytes(s.total()),
        "",
        "1 TB an account (more on request)",
        &fits(s.total() > cf::D1_ACCOUNT_BYTES, "ask Cloudflare for more"),
    );
    let largest = (LARGEST_APP_SHARE * busy / planned).max(LARGEST_APP_SHARE * s.total() / db).ceil().max(1.0);
    let databases = by_load.max(by_bytes);
    let verdict = match (databases > 1.0, largest > 1.0) {
        (false, _) => "fits one".to_string(),
        (true, false) => "shard by app".to_string(),
        (true, true) => format!("shard by app; the largest app alone needs {}", num(largest)),
    };
    line(
        "D1 databases (the larger need)",
        &num(databases),
        "",
        &format!("{} an account, ~{} a Worker", short(cf::D1_DATABASES_PER_ACCOUNT), short(cf::D1_BINDINGS_PER_SCRIPT)),
        &verdict,
    );
    (by_load, by_bytes, largest > 1.0)
}

/// Requests a second an app's own leased objects get (its rate's, or its block shard's)
/// when the apps' calls on them come to `rate` a second: the largest app's leased over
/// [`ISOLATES_PER_APP`], every other call asking.
fn app_objects(rate: f64) -> f64 {
    cost::leased_asks(LARGEST_APP_SHARE * rate, ISOLATES_PER_APP) + (1.0 - LARGEST_APP_SHARE) * rate
}

/// The Durable Objects' lines; returns the busiest object's requests a second at peak.
fn print_objects(r: &Rates) -> f64 {
    line(
        "DO requests/s (all RateLimiter objects)",
        &num(r.limiter),
        &num(r.limiter * PEAK_FACTOR),
        "no limit on objects",
        "fits",
    );
    // The objects one large app or one platform app concentrates calls on (every other one
    // is a platform account's).
    // The largest app's own objects are leased (their asks at the peak's rate, not the
    // average's times the peak factor: leasing is not linear).
    let leased = |rate: f64| (cost::leased_asks(rate, ISOLATES_PER_APP), cost::leased_asks(rate * PEAK_FACTOR, ISOLATES_PER_APP));
    let busiest = [
        ("DO tenant:<largest app> (its rate, leased)", leased(LARGEST_APP_SHARE * r.proxy)),
        ("DO largest app's Meta block shard (leased)", leased(LARGEST_APP_SHARE * r.block_calls)),
        ("DO busiest class budget (X, YouTube)", (r.class_budget_calls, r.class_budget_calls * PEAK_FACTOR)),
    ];
    for (name, (avg, peak)) in busiest {
        line(
            name,
            &num(avg),
            &num(peak),
            "1,000/s an object (soft)",
            &fits(peak > cf::DO_REQUESTS_PER_OBJECT, "over: spread it"),
        );
    }
    let peak = busiest.iter().map(|b| b.1 .1).fold(0.0, f64::max);
    let default = f64::from(connect_links_core::app_limits::DEFAULT_PROXY_PER_MINUTE);
    let per_minute = LARGEST_APP_SHARE * r.proxy * 60.0;
    line(
        "largest app's proxied calls/min",
        &num(per_minute),
        &num(per_minute * PEAK_FACTOR),
        &format!("proxy_per_minute, default {}", num(default)),
        &fits(per_minute * PEAK_FACTOR > default, "raise its limit"),
    );
    peak
}

/// The cron's and the queue's lines, for one database; returns (runs inline, runs queued).
fn print_cron(r: &Rates) -> (f64, f64) {
    let c = CronRun::of(r, 1.0);
    let limit = |x: f64, cap: f64| fits(x > cap, "over");
    line(
        "cron: refreshes due a run",
        &num(c.refreshes),
        "",
        "REFRESH_BATCH_SIZE, default 200",
        &fits(c.refreshes > cost::REFRESH_BATCH_SIZE, "raise it, or bind the queue"),
    );
    line(
        "cron inline: D1 queries a run",
        &num(c.inline.0),
        "",
        "1,000 an invocation",
        &limit(c.inline.0, cf::D1_QUERIES_PER_INVOCATION),
    );
    line(
        "cron inline: subrequests a run",
        &num(c.inline.1),
        "",
        "10,000 an invocation",
        &limit(c.inline.1, cf::SUBREQUESTS_PER_INVOCATION),
    );
    line(
        "cron inline: refreshes in the 240 s budget",
        &num(c.refreshes),
        "",
        &format!("{} (4 at a time)", num(inline_refreshes_by_time())),
        &limit(c.refreshes, inline_refreshes_by_time()),
    );
    line(
        "cron, queue bound (batch size raised): queries",
        &num(c.queued.0),
        "",
        "1,000 an invocation",
        &limit(c.queued.0, cf::D1_QUERIES_PER_INVOCATION),
    );
    line(
        "cron, queue bound: subrequests a run",
        &num(c.queued.1),
        "",
        "10,000 an invocation",
        &limit(c.queued.1, cf::SUBREQUESTS_PER_INVOCATION),
    );
    let runs = (c.runs(c.inline, true), c.runs(c.queued, false));
    let verdict = match runs {
        (i, _) if i <= 1.0 => "fits inline".to_string(),
        (_, q) if q <= 1.0 => "bind the queue".to_string(),
        (_, q) => format!("bind the queue; {} runs a tick: one per shard", num(q)),
    };
    line("cron runs a tick needs: inline | queue bound", &num(runs.0), &num(runs.1), "1 (one cron trigger)", &verdict);
    line(
        "cron: liveness checks due a run",
        &num(c.checks),
        "",
        "200 (REFRESH_BATCH_SIZE)",
        &fits(c.checks > cost::REFRESH_BATCH_SIZE, "falls behind"),
    );
    line(
        "cron: webhook retries due a run",
        &num(c.retries),
        "",
        "100 (src/jobs/mod.rs:34)",
        &fits(c.retries > cost::RETRIES_PER_RUN, "falls behind"),
    );
    line(
        "cron: WebSub renewals due a run",
        &num(c.websub),
        "",
        "10 (src/jobs/websub.rs:10)",
        &fits(c.websub > cost::WEBSUB_PER_RUN, "falls behind"),
    );
    line(
        "cron: settled outbox rows to purge a run",
        &num(c.purge),
        "",
        "1,000 (PURGE_BATCH)",
        &fits(c.purge > cost::PURGE_BATCH, "falls behind"),
    );
    // The queue: a run sends its refreshes together, 100 a `sendBatch`; a consumer
    // invocation takes a batch and refreshes its messages one after the other.
    let invocation_secs = cost::QUEUE_BATCH * cost::REFRESH_SECS;
    let busy = r.cron_refreshes / cost::QUEUE_BATCH * invocation_secs;
    line(
        "queue messages/s (refreshes), queue bound",
        &num(r.cron_refreshes),
        "",
        "5,000/s a queue",
        &fits(r.cron_refreshes > cf::QUEUE_MESSAGES_PER_SECOND, "over"),
    );
    line(
        "queue messages a run sends at once",
        &num(c.refreshes),
        "",
        "5,000/s a queue",
        &fits(
            c.refreshes > cf::QUEUE_MESSAGES_PER_SECOND,
            &format!("pace over {} s", num((c.refreshes / cf::QUEUE_MESSAGES_PER_SECOND).ceil())),
        ),
    );
    line(
        "queue consumer invocations busy at once",
        &num(busy),
        "",
        "250 concurrent",
        &fits(busy > cf::QUEUE_CONSUMER_INVOCATIONS, "over: a queue per shard"),
    );
    runs
}

/// One shard's cron run when the profiles are spread over `shards` databases, each with its
/// own run (the design in docs/scale.md).
fn print_shard_run(r: &Rates, shards: f64) -> String {
    let c = CronRun::of(r, 1.0 / shards);
    let over = (c.queued.0 > cf::D1_QUERIES_PER_INVOCATION || c.queued.1 > cf::SUBREQUESTS_PER_INVOCATION)
        .then_some("the invocation's limits")
        .or(c.over_caps());
    let verdict = match over {
        None => "fits".to_string(),
        Some(what) => format!("{what} fall behind"),
    };
    line(
        &format!("per shard of {}: queries | subrequests a run", num(shards)),
        &num(c.queued.0),
        &num(c.queued.1),
        "1,000 | 10,000, and the job's caps",
        &verdict,
    );
    verdict
}

fn model(profiles: f64, mix: &[PerPlatform]) -> Summary {
    let r = rates(profiles, mix);
    let d1 = D1Load::of(&r);
    println!("\n== {} profiles ==", num(profiles));
    line("what", "average", "peak", "held to", "verdict");
    let (by_load, by_bytes, largest_over) = print_d1(profiles, &r, &d1);
    let busiest = print_objects(&r);
    let runs = print_cron(&r);
    let shards = by_load.max(by_bytes);
    let shard_run = print_shard_run(&r, shards);
    let mut verdict = match shards {
        n if n <= 1.0 => "one database".to_string(),
        n => format!("{} databases, by app", num(n)),
    };
    if largest_over {
        verdict.push_str("; the largest app split by profile");
    }
    if runs.0 > 1.0 {
        verdict.push_str("; the queue");
    }
    if shard_run != "fits" {
        verdict.push_str(&format!("; per shard, {shard_run}"));
    }
    if busiest > cf::DO_REQUESTS_PER_OBJECT {
        verdict.push_str("; the largest app's limiter objects spread");
    }
    Summary {
        profiles,
        writes: (d1.at(1.0).1, d1.at(PEAK_FACTOR).1),
        reads: (d1.at(1.0).0, d1.at(PEAK_FACTOR).0),
        stored: Stored::of(profiles, &r).total(),
        databases: (by_load, by_bytes),
        busiest_do: busiest,
        inline_subrequests: CronRun::of(&r, 1.0).inline.1,
        runs,
        queue: r.cron_refreshes,
        verdict,
    }
}

fn main() {
    let total: f64 = PLATFORM_MIX.iter().map(|(_, s)| s).sum();
    assert!((total - 1.0).abs() < 1e-9, "PLATFORM_MIX sums to {total}, not 1");
    let catalog = Catalog::builtins();
    let mut rng = Rng(0x5EED_2026);
    let mix: Vec<PerPlatform> = PLATFORM_MIX
        .iter()
        .map(|(id, share)| {
            let p = catalog.iter().find(|p| p.id == *id).unwrap_or_else(|| panic!("no built-in platform {id}"));
            per_platform(p, id, *share, &mut rng)
        })
        .collect();

    println!(
        "capacity model (core/examples/capacity.rs): the worker's costs at main ffb1723 with issue 26's proxy (leases, counters in the isolate), Cloudflare's limits as published on {}",
        cf::RETRIEVED
    );
    println!(
        "  inputs: {}% of profiles proactive (the rest on_demand); per profile-day {PROXY_CALLS_PER_PROFILE_DAY} proxied calls, \
         {WEBHOOKS_PER_PROFILE_DAY} lifecycle webhooks, {PLATFORM_EVENTS_PER_PROFILE_DAY} platform events (each one webhook)",
        PROACTIVE_SHARE * 100.0
    );
    println!(
        "  peak {PEAK_FACTOR}x the average for traffic (the cron's work at its average); the largest app {}% of everything; \
         its calls over {ISOLATES_PER_APP} isolates; {}% of webhooks retried once; {}% of X's and YouTube's calls in a \
         class with an app budget",
        LARGEST_APP_SHARE * 100.0,
        WEBHOOK_RETRY_SHARE * 100.0,
        APP_BUDGET_CLASS_SHARE * 100.0
    );
    println!(
        "  per platform: share, refresh calls per profile-day by the cron and by reads (the worker's schedule, {SIMULATED} \
         simulated profiles a mode), weekly liveness check, limiter calls per proxied call besides the app's own leased \
         objects"
    );
    for p in &mix {
        println!(
            "    {:<10} {:>5.2}   cron {:>6.3}   reads {:>6.3}   {:<9} {:.1}",
            p.id,
            p.share,
            p.cron_refreshes,
            p.read_refreshes,
            if p.checked { "liveness" } else { "" },
            p.limiter_calls
        );
    }
    println!(
        "  assumed (no published figure): D1 runs one statement at a time, {} ms a write, {} ms a read, planned at {}% busy \
         and {}% full; a refresh takes {} s; a profile and its grant take {} bytes",
        cf::D1_WRITE_MS,
        cf::D1_READ_MS,
        cf::D1_PLANNED_BUSY * 100.0,
        cf::D1_PLANNED_FILL * 100.0,
        cost::REFRESH_SECS,
        num(cost::profile_and_grant_bytes().round())
    );
    println!(
        "  not binding here: {} connections and {} s of CPU an invocation (the cron's 240 s budget binds first), {} of \
         storage a Durable Object (counters only)",
        cf::CONNECTIONS_PER_INVOCATION,
        cf::CPU_SECONDS_PER_INVOCATION,
        bytes(cf::DO_BYTES_PER_OBJECT)
    );

    // What one profile adds to a run, and so how many profiles today's defaults keep up with.
    let one = CronRun::of(&rates(1.0, &mix), 1.0);
    let caps = [
        (cost::REFRESH_BATCH_SIZE / one.refreshes, "REFRESH_BATCH_SIZE's 200 refreshes a run"),
        (cost::REFRESH_BATCH_SIZE / one.checks, "REFRESH_BATCH_SIZE's 200 liveness checks a run"),
        (cost::WEBSUB_PER_RUN / one.websub, "10 WebSub renewals a run"),
        (cost::RETRIES_PER_RUN / one.retries, "100 webhook retries a run"),
        (cost::PURGE_BATCH / one.purge, "PURGE_BATCH's 1,000 outbox rows a run"),
        (
            (cf::D1_QUERIES_PER_INVOCATION - cost::CRON_FIXED_STATEMENTS)
                / (one.inline.0 - cost::CRON_FIXED_STATEMENTS),
            "1,000 D1 queries an invocation",
        ),
    ];
    let (most, first) = caps.iter().fold((f64::INFINITY, ""), |a, &(n, what)| if n < a.0 { (n, what) } else { a });
    println!(
        "  today's defaults (one database, refreshes inline) keep up with about {} profiles of this mix; the first limit \
         met: {}",
        num((most / 1000.0).round() * 1000.0),
        first
    );

    let summaries: Vec<Summary> = SIZES.iter().map(|&n| model(n, &mix)).collect();

    println!(
        "\nsummary (peak: traffic at {PEAK_FACTOR}x; databases by query time | by bytes; cron runs a tick inline | queue bound)"
    );
    let row = |cells: [&str; 9]| {
        println!(
            "  {:>11}  {:>16}  {:>16}  {:>9}  {:>9}  {:>9}  {:>11}  {:>10}  {:>7}",
            cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8]
        )
    };
    row([
        "profiles",
        "D1 writes/s (pk)",
        "D1 reads/s (pk)",
        "stored",
        "databases",
        "DO max/s",
        "cron subreq",
        "cron runs",
        "queue/s",
    ]);
    for s in &summaries {
        row([
            &num(s.profiles),
            &format!("{} ({})", num(s.writes.0), num(s.writes.1)),
            &format!("{} ({})", num(s.reads.0), num(s.reads.1)),
            &bytes(s.stored),
            &format!("{} | {}", num(s.databases.0), num(s.databases.1)),
            &num(s.busiest_do),
            &num(s.inline_subrequests),
            &format!("{} | {}", num(s.runs.0), num(s.runs.1)),
            &num(s.queue),
        ]);
    }
    for s in &summaries {
        println!("  {:>11}: {}", num(s.profiles), s.verdict);
    }
}
