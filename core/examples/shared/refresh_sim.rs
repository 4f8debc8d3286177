//! The refresh schedule on a simulated clock, shared by the `make bench` examples
//! (`refresh_cost.rs`, `capacity.rs`; each includes this file with `#[path]`): one grant at a
//! time lives through [`DAYS`] days after a random connect, scheduled by the worker's own
//! policy (`refresh_policy::next_action_at` for the cron, `refresh_policy::refresh_on_read`
//! for reads), and the platform refresh calls it costs are counted, the cron's apart from
//! the reads'.

// Each example uses a part of this file: what one leaves unused is not dead.
#![allow(dead_code)]

use connect_links_core::platforms::{Platform, RefreshKind};
use connect_links_core::refresh_policy::{
    next_action_at, refresh_on_read, RefreshMode, TokenTimes, SELF_EXCHANGE_MIN_AGE,
};

/// Seconds in a day.
pub const DAY: i64 = 24 * 3600;
/// The counted window, in days.
pub const DAYS: i64 = 30;
/// Profiles connect at random over this many days before the counted window, so the
/// window sees every schedule in its steady state (TikTok's keep-alive comes yearly).
pub const WARM_UP_DAYS: i64 = 400;
/// The cron's period (`[triggers] crons` in wrangler.toml, every 5 minutes).
pub const TICK: i64 = 300;
/// D1 write statements per refresh, each writing one row with one profile under the grant:
/// the lease `UPDATE grants` (src/grants/refresh.rs:90), then the token write `UPDATE grants`
/// and `UPDATE profiles` copying expiry and scopes to the profile, in one batch
/// (src/grants/refreshed.rs:104-109). bench/refresh.mjs, which counts every D1 statement of
/// a cron run (selection and housekeeping included) against the built worker, measured
/// 3.02 per refresh (3,019 for 1,000 refreshes).
pub const D1_WRITES_PER_REFRESH: f64 = 3.0;

/// What a platform's token answers say, as the test mocks speak them
/// (tests/e2e/platform-mocks.mjs, mocks-bluesky.mjs) and its file documents.
pub struct Lifetimes {
    /// `expires_in` of the access token (`None`: it never expires).
    pub access: Option<i64>,
    /// The refresh token's lifetime when the answer gives one.
    pub refresh: Option<i64>,
    /// Where the figures come from.
    pub source: &'static str,
}

/// The token lifetimes of built-in platform `id`.
pub fn lifetimes(id: &str) -> Lifetimes {
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
pub enum Reads {
    /// Never: only the cron acts.
    Idle,
    /// Once a day, at a random time.
    Daily,
    /// Once an hour, at a random minute.
    Hourly,
    /// Once in every window of this many seconds, at a random time in it (the capacity
    /// model's proxied calls per profile and day).
    Every(i64),
}

impl Reads {
    fn period(self) -> Option<i64> {
        match self {
            Reads::Idle => None,
            Reads::Daily => Some(DAY),
            Reads::Hourly => Some(3600),
            Reads::Every(secs) => Some(secs.max(1)),
        }
    }
}

/// SplitMix64: reproducible numbers without a dependency.
pub struct Rng(pub u64);
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

/// Platform refresh calls within the window, by who made them: the cron (proactive or
/// keep-alive refreshes, on its own schedule) or a read that found the token about to expire
/// (at the pace of the app's traffic).
#[derive(Clone, Copy, Default)]
pub struct Calls {
    /// Made by the cron.
    pub cron: u64,
    /// Made by a read (`refresh_on_read`).
    pub on_read: u64,
}

impl Calls {
    /// Both together.
    pub fn total(self) -> u64 {
        self.cron + self.on_read
    }
}

/// One grant's stored state, as the worker keeps it.
struct Grant {
    times: TokenTimes,
    next: Option<i64>,
}

/// Platform refresh calls made for one profile within the window `[0, DAYS)`.
pub fn simulate(p: &Platform, life: &Lifetimes, mode: RefreshMode, reads: Reads, rng: &mut Rng) -> Calls {
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
    let mut calls = Calls::default();
    // Returns whether a call was made (at or after the window's start).
    let refresh = |g: &mut Grant, at: i64| -> bool {
        if kind == RefreshKind::SelfExchange && at - g.times.issued_at < SELF_EXCHANGE_MIN_AGE {
            // Rescheduled, as the worker does, with no call.
            g.next = Some(g.times.issued_at + SELF_EXCHANGE_MIN_AGE);
            return false;
        }
        // A rotating token comes with its own lifetime; a plain one keeps its expiry.
        let refresh_expires_at = match kind {
            RefreshKind::RotatingRefreshToken => life.refresh.map(|s| at + s),
            _ => g.times.refresh_expires_at,
        };
        g.times = issue(at, refresh_expires_at);
        g.next = schedule(&g.times);
        at >= 0
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
                } else if refresh(&mut g, c) {
                    calls.cron += 1;
                }
            }
            (_, Some(r)) if r < end => {
                if refresh_on_read(kind, r, g.times.access_expires_at) && refresh(&mut g, r) {
                    calls.on_read += 1;
                }
                let period = reads.period().unwrap_or(DAY);
                read_at = Some((r.div_euclid(period) + 1) * period + rng.below(period));
            }
            _ => break,
        }
    }
    calls
}

/// The name the worker stores for a refresh kind.
pub fn kind_name(k: RefreshKind) -> &'static str {
    match k {
        RefreshKind::RefreshToken => "refresh_token",
        RefreshKind::RotatingRefreshToken => "rotating_refresh_token",
        RefreshKind::SelfExchange => "self_exchange",
        RefreshKind::None => "none",
    }
}
