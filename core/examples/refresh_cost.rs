//! `make bench`: what refresh costs per platform and refresh mode. 1,000 profiles per
//! built-in platform live through a simulated clock (connected at random over the year
//! before, then 30 days counted), scheduled by the worker's own policy
//! (`refresh_policy::next_action_at` for the cron, `refresh_policy::refresh_on_read` for
//! reads); the output is platform refresh calls per 1,000 profile-days, and the D1 writes a
//! second that 1,000,000 such profiles would need. Not a test: it prints numbers.
//!
//! Run alone: `cargo run --release -q -p connect-links-core --example refresh_cost`.

use connect_links_core::platforms::{Catalog, Platform, RefreshKind};
use connect_links_core::refresh_policy::{next_action_at, refresh_on_read, RefreshMode, TokenTimes, SELF_EXCHANGE_MIN_AGE};

const PROFILES: u64 = 1_000;
const DAYS: i64 = 30;
const DAY: i64 = 24 * 3600;
/// Profiles connect at random over this many days before the counted window, so the
/// window sees every schedule in its steady state (TikTok's keep-alive comes yearly).
const WARM_UP_DAYS: i64 = 400;
/// The cron's period (`[triggers] crons`, every 5 minutes by default).
const TICK: i64 = 300;
/// D1 write statements per refresh, each writing one row with one profile under the grant
/// (src/jobs/lifecycle.rs): the lease `UPDATE grants`, the token write `UPDATE grants`, and
/// `UPDATE profiles` copying expiry and scopes to the profile, in one batch with the second.
/// bench/refresh.mjs, which counts every D1 statement of a cron run (selection and
/// housekeeping included) against the built worker, measured 3.02 per refresh (3,019 for
/// 1,000 refreshes).
const D1_WRITES_PER_REFRESH: f64 = 3.0;

/// What a platform's token answers say, as the test mocks speak them
/// (tests/e2e/platform-mocks.mjs, mocks-bluesky.mjs) and its file documents.
struct Lifetimes {
    /// `expires_in` of the access token (`None`: it never expires).
    access: Option<i64>,
    /// The refresh token's lifetime when the answer gives one.
    refresh: Option<i64>,
    /// Where the figures come from.
    source: &'static str,
}

fn lifetimes(id: &str) -> Lifetimes {
    let l = |access: Option<i64>, refresh: Option<i64>, source| Lifetimes { access, refresh, source };
    match id {
        // Meta long-lived tokens: `expires_in` 5183944 (60 days).
        "instagram" | "threads" | "facebook" | "instagram_facebook" => {
            l(Some(5_183_944), None, "mock: long-lived 60 d")
        }
        "linkedin" => l(Some(5_184_000), None, "mock: 60 d"),
        "x" => l(Some(7_200), None, "mock: 2 h, refresh lifetime not given"),
        "youtube" => l(Some(3_599), None, "mock: 1 h; Google: 6 months unused"),
        "tiktok" => l(Some(86_400), Some(31_536_000), "mock: 24 h, refresh_expires_in 365 d"),
        "pinterest" => l(Some(2_592_000), Some(31_536_000), "mock: 30 d, refresh 365 d"),
        "reddit" => l(Some(86_400), None, "mock: 24 h, permanent refresh"),
        // The refresh JWT's `exp`: 90 days on the reference PDS.
        "bluesky" => l(Some(7_200), Some(90 * DAY), "mock: JWTs of 2 h and 90 d"),
        "mastodon" => l(None, None, "never expires"),
        _ => l(None, None, "unknown"),
    }
}

/// How often the app reads a profile's token (`GET /access-token` or the proxy).
#[derive(Clone, Copy)]
enum Reads {
    /// Never: only the cron acts.
    Idle,
    /// Once a day, at a random time.
    Daily,
    /// Once an hour, at a random minute.
    Hourly,
}

impl Reads {
    fn period(self) -> Option<i64> {
        match self {
            Reads::Idle => None,
            Reads::Daily => Some(DAY),
            Reads::Hourly => Some(3600),
        }
    }
}

/// SplitMix64: reproducible numbers without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A whole number in `0..n`.
    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }
}

/// One grant's stored state, as the worker keeps it.
struct Grant {
    times: TokenTimes,
    next: Option<i64>,
}

/// Platform refresh calls made for one profile within the window `[0, DAYS)`.
fn simulate(p: &Platform, life: &Lifetimes, mode: RefreshMode, reads: Reads, rng: &mut Rng) -> u64 {
    let end = DAYS * DAY;
    let connected = -rng.below(WARM_UP_DAYS * DAY);
    let kind = p.refresh;
    let issue = |at: i64, refresh_expires_at: Option<i64>| TokenTimes {
        issued_at: at,
        access_expires_at: life.access.map(|s| at + s),
        refresh_expires_at,
        has_refresh_token: matches!(kind, RefreshKind::RefreshToken | RefreshKind::RotatingRefreshToken),
    };
    let schedule = |t: &TokenTimes| next_action_at(mode, kind, p.refresh_idle_secs, t);
    let times = issue(connected, life.refresh.map(|s| connected + s));
    let mut g = Grant { next: schedule(&times), times };
    let mut calls = 0;
    let refresh = |g: &mut Grant, at: i64, calls: &mut u64| {
        if kind == RefreshKind::SelfExchange && at - g.times.issued_at < SELF_EXCHANGE_MIN_AGE {
            // Rescheduled, as the worker does, with no call.
            g.next = Some(g.times.issued_at + SELF_EXCHANGE_MIN_AGE);
            return;
        }
        if at >= 0 {
            *calls += 1;
        }
        // A rotating token comes with its own lifetime; a plain one keeps its expiry.
        let refresh_expires_at = match kind {
            RefreshKind::RotatingRefreshToken => life.refresh.map(|s| at + s),
            _ => g.times.refresh_expires_at,
        };
        g.times = issue(at, refresh_expires_at);
        g.next = schedule(&g.times);
    };
    let mut read_at = reads.period().map(|period| (connected.div_euclid(period) + 1) * period + rng.below(period));
    loop {
        // The cron acts on the first run at or after the scheduled time.
        let cron_at = g.next.map(|n| n.div_euclid(TICK) * TICK + if n.rem_euclid(TICK) == 0 { 0 } else { TICK });
        let cron_at = cron_at.map(|c| c.max(g.times.issued_at + 1));
        match (cron_at, read_at) {
            (Some(c), r) if c < end && r.is_none_or(|r| c <= r) => {
                if kind == RefreshKind::None {
                    // The expiring notice, then the end of the token: no platform call. The
                    // user reconnects at expiry (a new grant, not a refresh).
                    let at = g.times.access_expires_at.unwrap_or(c).max(c + TICK);
                    g.times = issue(at, None);
                    g.next = schedule(&g.times);
                } else {
                    refresh(&mut g, c, &mut calls);
                }
            }
            (_, Some(r)) if r < end => {
                if refresh_on_read(kind, r, g.times.access_expires_at) {
                    refresh(&mut g, r, &mut calls);
                }
                let period = reads.period().unwrap_or(DAY);
                read_at = Some((r.div_euclid(period) + 1) * period + rng.below(period));
            }
            _ => break,
        }
    }
    calls
}

fn kind_name(k: RefreshKind) -> &'static str {
    match k {
        RefreshKind::RefreshToken => "refresh_token",
        RefreshKind::RotatingRefreshToken => "rotating_refresh_token",
        RefreshKind::SelfExchange => "self_exchange",
        RefreshKind::None => "none",
    }
}

fn main() {
    let runs: [(&str, RefreshMode, Reads); 4] = [
        ("proactive", RefreshMode::Proactive, Reads::Daily),
        ("on_demand, idle", RefreshMode::OnDemand, Reads::Idle),
        ("on_demand, daily", RefreshMode::OnDemand, Reads::Daily),
        ("on_demand, hourly", RefreshMode::OnDemand, Reads::Hourly),
    ];
    println!(
        "refresh cost: {PROFILES} profiles per platform, {DAYS} simulated days (after a {WARM_UP_DAYS}-day warm-up), \
         cron every {} min, scheduled by connect_links_core::refresh_policy",
        TICK / 60
    );
    println!(
        "  reads: proactive with one read a day; on_demand idle (never read), daily (one read a day at a random \
         time) and hourly (one an hour at a random minute); a read refreshes first within 5 min of expiry"
    );
    println!(
        "  D1 writes/s for 1,000,000 profiles = calls per profile-day x {D1_WRITES_PER_REFRESH} writes per refresh \
         x 1e6 / 86400"
    );
    println!();
    let mut head = format!("  {:<19}{:<24}{:<40}", "platform", "refresh", "token lifetimes (source)");
    for (name, ..) in &runs {
        head.push_str(&format!("{name:>19}"));
    }
    println!("{head}");
    println!("  {:<83}{:>76}", "", "platform calls per 1,000 profile-days | D1 writes/s @ 1M");
    let mut rng = Rng(0x5EED_2026);
    for p in Catalog::builtins() {
        let life = lifetimes(&p.id);
        let mut line = format!("  {:<19}{:<24}{:<40}", p.id, kind_name(p.refresh), life.source);
        for (_, mode, reads) in &runs {
            let calls: u64 = (0..PROFILES).map(|_| simulate(&p, &life, *mode, *reads, &mut rng)).sum();
            let per_profile_day = calls as f64 / (PROFILES * DAYS as u64) as f64;
            let writes = per_profile_day * D1_WRITES_PER_REFRESH * 1e6 / 86_400.0;
            line.push_str(&format!("{:>10.1} |{:>7.2}", per_profile_day * 1000.0, writes));
        }
        println!("{line}");
    }
}
