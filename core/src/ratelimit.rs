//! Rate-limit budgets for the API proxy: the pure decisions behind the
//! `RateLimiter` Durable Object.
//!
//! One object per platform account keeps named counters (an endpoint class such as
//! `"POST /2/tweets"`, or `"*"` for the whole account). Before a platform call the proxy
//! *takes* one unit from each counter that applies; after it, the proxy *reports* what the
//! platform said (remaining calls and reset time, a 429's Retry-After), which corrects the
//! counters. Times are Unix seconds; `now` always comes from the caller so these functions
//! stay deterministic.

use serde::{Deserialize, Serialize};

mod counter;
pub mod fair;
pub mod layout;
pub mod lease;
mod refund;

pub use counter::{decide, Budget, Counter, Decision, Take};
pub use refund::refund;

use fair::Tenant;

/// The furthest a platform report may push a block or a window end: one day past `now`.
///
/// X's windows are 15 minutes and LinkedIn's quotas reset daily at midnight UTC, so no honest
/// report points further out. A value beyond that is most likely a unit mistake (milliseconds
/// read as seconds) or a hostile header; capping it keeps one bad answer from locking an
/// account out for years, and a genuine longer block is simply re-learned after a day.
pub const MAX_REPORT_HORIZON_SECS: i64 = 86_400;

/// The longest configured window accepted (31 days: a monthly cap).
pub const MAX_WINDOW_SECS: i64 = 31 * 86_400;

/// At most this many counters in one request: the proxy needs two or three; a bound keeps one
/// request's work (and the rows it can create) small.
pub const MAX_ENTRIES: usize = 16;

/// The longest counter key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 200;

/// The latest `now` accepted (year 5138): keeps every time we compute inside JavaScript's
/// safe-integer range, where the object's SQLite storage hands numbers back exactly.
pub const MAX_NOW: i64 = 100_000_000_000;

/// What the platform said about one counter after a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Report {
    /// The counter's name inside the object.
    pub key: String,
    /// Calls left in the platform's current window (e.g. `x-rate-limit-remaining`).
    pub remaining: Option<u32>,
    /// When the platform's window resets (e.g. `x-rate-limit-reset`).
    pub reset_at: Option<i64>,
    /// Refuse every call on this counter until then (a 429's `Retry-After`, made absolute).
    pub blocked_until: Option<i64>,
}

/// The body the proxy posts to a `RateLimiter` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", try_from = "RequestWire")]
pub enum LimiterRequest {
    /// Check every counter and, if all allow, spend one unit from each that has a budget.
    Take {
        /// The caller's clock.
        now: i64,
        /// The counters that apply to this call.
        takes: Vec<Take>,
        /// The app spending them when they are shared between apps: each budgeted counter
        /// then also follows the fair-share rule (`fair::decide_shared`).
        #[serde(skip_serializing_if = "Option::is_none")]
        tenant: Option<Tenant>,
        /// Whether the answer lists a [`Quota`] per budgeted counter.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        quotas: bool,
        /// Units wanted at once (a lease, see [`lease`]); 0 or 1: one. The answer's `units`
        /// says how many were spent (never more than [`lease::lease_units`] allows; always 1
        /// with a `tenant`).
        #[serde(skip_serializing_if = "is_zero")]
        lease: u32,
        /// An earlier lease's unused units of the same counters, given back before deciding.
        #[serde(skip_serializing_if = "Option::is_none")]
        returned: Option<Returned>,
    },
    /// Give back what an allowed take made at `now` spent, when another object refused the
    /// same call afterwards, or what a lease did not use (see [`refund()`]).
    Refund {
        /// The `now` of the take being given back.
        now: i64,
        /// The takes as they were sent.
        takes: Vec<Take>,
        /// Units given back from each budgeted counter (absent: one).
        #[serde(skip_serializing_if = "Option::is_none")]
        units: Option<u32>,
    },
    /// Correct counters with what the platform reported.
    Report {
        /// The caller's clock.
        now: i64,
        /// One entry per counter the answer speaks about.
        reports: Vec<Report>,
    },
}

/// A lease's unused units, given back: `units` of each budgeted counter, spent by the take at
/// `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    /// The `now` of the take that granted the lease.
    pub at: i64,
    /// Units not used.
    pub units: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

// Reading an internally tagged enum makes serde buffer the whole object first (its `Content`
// type), code the worker has nowhere else; reading these flat shapes and converting them
// accepts the same JSON for 15 KB less wasm.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Take,
    Refund,
    Report,
}

#[derive(Deserialize)]
struct RequestWire {
    op: Op,
    now: i64,
    takes: Option<Vec<Take>>,
    reports: Option<Vec<Report>>,
    #[serde(default)]
    tenant: Option<Tenant>,
    #[serde(default)]
    quotas: bool,
    #[serde(default)]
    lease: u32,
    #[serde(default)]
    returned: Option<Returned>,
    #[serde(default)]
    units: Option<u32>,
}

impl TryFrom<RequestWire> for LimiterRequest {
    type Error = &'static str;
    fn try_from(w: RequestWire) -> Result<Self, Self::Error> {
        match (w.op, w.takes, w.reports) {
            (Op::Take, Some(takes), _) => Ok(LimiterRequest::Take {
                now: w.now,
                takes,
                tenant: w.tenant,
                quotas: w.quotas,
                lease: w.lease,
                returned: w.returned,
            }),
            (Op::Refund, Some(takes), _) => Ok(LimiterRequest::Refund { now: w.now, takes, units: w.units }),
            (Op::Report, _, Some(reports)) => Ok(LimiterRequest::Report { now: w.now, reports }),
            (Op::Take | Op::Refund, None, _) => Err("missing field `takes`"),
            (Op::Report, _, None) => Err("missing field `reports`"),
        }
    }
}

/// Where one budgeted counter stands after a take, for the `RateLimit` fields of an answer
/// (in the order of the take's budgeted counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// Calls allowed per window.
    pub limit: u32,
    /// Calls left in the current window.
    pub remaining: u32,
    /// Seconds until the window ends (and, for a blocked counter, the block).
    pub reset_secs: i64,
}

/// Where counter `c` (budget `budget`) stands at `now`.
pub fn quota(now: i64, budget: Budget, c: &Counter) -> Quota {
    let window = if now < c.window_end { c.window_end.saturating_sub(now) } else { budget.window_secs };
    let blocked = c.blocked_until > now;
    Quota {
        limit: budget.limit,
        remaining: if blocked { 0 } else { budget.limit.saturating_sub(c.used_at(now)) },
        reset_secs: if blocked { window.max(c.blocked_until.saturating_sub(now)) } else { window },
    }
}

impl LimiterRequest {
    /// Checks bounds the object relies on: `now` in range, at most [`MAX_ENTRIES`] entries,
    /// keys non-empty, at most [`MAX_KEY_LEN`] bytes and distinct (two entries for one key in
    /// one request would overwrite each other's spend), budgets of at least one call over 1 s
    /// to [`MAX_WINDOW_SECS`]. The error names what is wrong, for a 400.
    pub fn validate(&self) -> Result<(), &'static str> {
        let (now, keys): (i64, Vec<&str>) = match self {
            LimiterRequest::Take { now, takes, tenant, lease, returned, .. } => {
                if *lease > lease::MAX_LEASE {
                    return Err("lease is out of range");
                }
                if let Some(r) = returned {
                    check_returned(r.at, Some(r.units))?;
                }
                if let Some(t) = tenant {
                    if t.id.is_empty() || t.id.len() > MAX_KEY_LEN {
                        return Err("tenant.id must be 1 to 200 bytes");
                    }
                    if !(1..=fair::MAX_WEIGHT).contains(&t.weight) {
                        return Err("tenant.weight is out of range");
                    }
                }
                check_budgets(takes)?;
                (*now, takes.iter().map(|t| t.key.as_str()).collect())
            }
            LimiterRequest::Refund { now, takes, units } => {
                check_returned(*now, *units)?;
                check_budgets(takes)?;
                (*now, takes.iter().map(|t| t.key.as_str()).collect())
            }
            LimiterRequest::Report { now, reports } => (*now, reports.iter().map(|r| r.key.as_str()).collect()),
        };
        if !(0..=MAX_NOW).contains(&now) {
            return Err("now is out of range");
        }
        if keys.len() > MAX_ENTRIES {
            return Err("too many entries");
        }
        if keys.iter().any(|k| k.is_empty() || k.len() > MAX_KEY_LEN) {
            return Err("key must be 1 to 200 bytes");
        }
        // Sorted, a repeated key sits next to itself.
        let mut sorted = keys;
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err("keys must be distinct");
        }
        Ok(())
    }
}

/// A give-back's time in range and its units 1 to [`lease::MAX_LEASE`].
fn check_returned(at: i64, units: Option<u32>) -> Result<(), &'static str> {
    if !(0..=MAX_NOW).contains(&at) {
        return Err("returned.at is out of range");
    }
    if units.is_some_and(|u| !(1..=lease::MAX_LEASE).contains(&u)) {
        return Err("units must be 1 to 1000");
    }
    Ok(())
}

/// Budgets of at least one call over 1 s to [`MAX_WINDOW_SECS`].
fn check_budgets(takes: &[Take]) -> Result<(), &'static str> {
    for b in takes.iter().filter_map(|t| t.budget) {
        if b.limit == 0 {
            return Err("budget.limit must be at least 1");
        }
        if !(1..=MAX_WINDOW_SECS).contains(&b.window_secs) {
            return Err("budget.window_secs is out of range");
        }
    }
    Ok(())
}

/// Corrects one counter with what the platform reported after a call.
///
/// - `blocked_until` (a 429's Retry-After): the block becomes the later of the old one and it.
/// - `remaining == Some(0)` with `reset_at`: blocked until `reset_at`, whatever the budget.
/// - `remaining == Some(n)` with `reset_at` and a known `budget_limit`: the window now ends at
///   `reset_at`, and `limit - n` calls (clamped at 0) are spent in it. If the platform's window
///   ends after ours, it is a newer window and its count replaces ours; otherwise it is the
///   same window and the larger count wins (calls still in flight are in ours and not yet in
///   the platform's).
///
/// Times at or before `now` are ignored (the platform speaks of the past), and every time is
/// capped at `now + MAX_REPORT_HORIZON_SECS` (see there).
pub fn apply(now: i64, counter: Counter, budget_limit: Option<u32>, report: &Report) -> Counter {
    let cap = now.saturating_add(MAX_REPORT_HORIZON_SECS);
    let future = |t: Option<i64>| t.filter(|t| *t > now).map(|t| t.min(cap));
    let mut c = Counter { used: counter.used_at(now), ..counter };
    if let Some(until) = future(report.blocked_until) {
        c.blocked_until = c.blocked_until.max(until);
    }
    let reset_at = future(report.reset_at);
    if let (Some(0), Some(reset)) = (report.remaining, reset_at) {
        c.blocked_until = c.blocked_until.max(reset);
    }
    if let (Some(n), Some(reset), Some(limit)) = (report.remaining, reset_at, budget_limit) {
        let platform_used = limit.saturating_sub(n);
        c.used = if reset > c.window_end { platform_used } else { c.used.max(platform_used) };
        c.window_end = reset;
    }
    c
}

#[cfg(test)]
mod tests;
