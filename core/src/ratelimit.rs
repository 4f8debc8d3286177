//! Rate-limit budgets for the API proxy (issue 11): the pure decisions behind the
//! `RateLimiter` Durable Object.
//!
//! One object per platform account keeps named counters (an endpoint class such as
//! `"POST /2/tweets"`, or `"*"` for the whole account). Before a platform call the proxy
//! *takes* one unit from each counter that applies; after it, the proxy *reports* what the
//! platform said (remaining calls and reset time, a 429's Retry-After), which corrects the
//! counters. Times are Unix seconds; `now` always comes from the caller so these functions
//! stay deterministic.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

pub mod fair;
pub mod layout;
mod refund;

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

/// A budget: at most `limit` calls per `window_secs` (a window starts at the first call after
/// the previous one ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Calls allowed per window.
    pub limit: u32,
    /// The window's length in seconds.
    pub window_secs: i64,
}

/// One counter to check and spend: `key` names it inside the object (e.g. `"POST /2/tweets"`
/// or `"*"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Take {
    /// The counter's name inside the object.
    pub key: String,
    /// The configured budget; `None`: nothing is counted, only a remembered block applies.
    pub budget: Option<Budget>,
}

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
    },
    /// Give back what an allowed take made at `now` spent, when another object refused the
    /// same call afterwards (see [`refund()`]).
    Refund {
        /// The `now` of the take being given back.
        now: i64,
        /// The takes as they were sent.
        takes: Vec<Take>,
    },
    /// Correct counters with what the platform reported.
    Report {
        /// The caller's clock.
        now: i64,
        /// One entry per counter the answer speaks about.
        reports: Vec<Report>,
    },
}

/// The answer to a take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", try_from = "DecisionWire")]
pub enum Decision {
    /// Call the platform; one unit was spent from every budgeted counter.
    Allow,
    /// Do not call the platform; answer 429 `rate_limited` with this `Retry-After`.
    Refuse {
        /// Seconds until every refusing counter allows again (at least 1).
        retry_after_secs: i64,
    },
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
}

impl TryFrom<RequestWire> for LimiterRequest {
    type Error = &'static str;
    fn try_from(w: RequestWire) -> Result<Self, Self::Error> {
        match (w.op, w.takes, w.reports) {
            (Op::Take, Some(takes), _) => {
                Ok(LimiterRequest::Take { now: w.now, takes, tenant: w.tenant, quotas: w.quotas })
            }
            (Op::Refund, Some(takes), _) => Ok(LimiterRequest::Refund { now: w.now, takes }),
            (Op::Report, _, Some(reports)) => Ok(LimiterRequest::Report { now: w.now, reports }),
            (Op::Take | Op::Refund, None, _) => Err("missing field `takes`"),
            (Op::Report, _, None) => Err("missing field `reports`"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DecisionKind {
    Allow,
    Refuse,
}

#[derive(Deserialize)]
struct DecisionWire {
    decision: DecisionKind,
    retry_after_secs: Option<i64>,
}

impl TryFrom<DecisionWire> for Decision {
    type Error = &'static str;
    fn try_from(w: DecisionWire) -> Result<Self, Self::Error> {
        match (w.decision, w.retry_after_secs) {
            (DecisionKind::Allow, _) => Ok(Decision::Allow),
            (DecisionKind::Refuse, Some(retry_after_secs)) => Ok(Decision::Refuse { retry_after_secs }),
            (DecisionKind::Refuse, None) => Err("missing field `retry_after_secs`"),
        }
    }
}

/// Where one budgeted counter stands after a take, for the `RateLimit` fields of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    /// The counter's name inside the object.
    pub key: String,
    /// Calls allowed per window.
    pub limit: u32,
    /// Calls left in the current window.
    pub remaining: u32,
    /// Seconds until the window ends (and, for a blocked counter, the block).
    pub reset_secs: i64,
}

/// Where counter `c` (budget `budget`) stands at `now`.
pub fn quota(now: i64, key: &str, budget: Budget, c: &Counter) -> Quota {
    let window = if now < c.window_end { c.window_end.saturating_sub(now) } else { budget.window_secs };
    let blocked = c.blocked_until > now;
    Quota {
        key: key.to_string(),
        limit: budget.limit,
        remaining: if blocked { 0 } else { budget.limit.saturating_sub(c.used_at(now)) },
        reset_secs: if blocked { window.max(c.blocked_until.saturating_sub(now)) } else { window },
    }
}

/// One counter's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    /// Units spent in the window ending at `window_end`.
    pub used: u32,
    /// When the current window ends; at or before `now` the window is over.
    pub window_end: i64,
    /// Every call on this counter is refused before this time.
    pub blocked_until: i64,
}

impl Counter {
    /// Units spent in the window that is current at `now` (none once it has ended).
    fn used_at(&self, now: i64) -> u32 {
        if now < self.window_end {
            self.used
        } else {
            0
        }
    }

    /// Whether this state tells nothing a fresh counter would not: its window and any block
    /// are over. Such a row can be deleted without changing any decision.
    pub fn is_spent_history(&self, now: i64) -> bool {
        self.window_end <= now && self.blocked_until <= now
    }
}

impl LimiterRequest {
    /// Checks bounds the object relies on: `now` in range, at most [`MAX_ENTRIES`] entries,
    /// keys non-empty, at most [`MAX_KEY_LEN`] bytes and distinct (two entries for one key in
    /// one request would overwrite each other's spend), budgets of at least one call over 1 s
    /// to [`MAX_WINDOW_SECS`]. The error names what is wrong, for a 400.
    pub fn validate(&self) -> Result<(), &'static str> {
        let (now, keys): (i64, Vec<&str>) = match self {
            LimiterRequest::Take { now, takes, tenant, .. } => {
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
            LimiterRequest::Refund { now, takes } => {
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
        let mut seen = HashSet::new();
        if !keys.iter().all(|k| seen.insert(*k)) {
            return Err("keys must be distinct");
        }
        Ok(())
    }
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

/// Decides one call over all the counters that apply to it, all or nothing.
///
/// Refuses if any counter is blocked (`blocked_until > now`) or has spent its budget in the
/// current window; then nothing is spent, and the retry is the longest wait among the
/// refusing counters (at least 1 s), so a retry after it is not refused by another of them.
/// On allow, every counter with a budget is spent by one, its window restarted at `now` when
/// the previous one has ended. Returns the counters' new states, in the order of `takes`
/// (unchanged on a refusal).
pub fn decide(now: i64, takes: &[(Take, Counter)]) -> (Decision, Vec<Counter>) {
    let mut wait: Option<i64> = None;
    for (take, c) in takes {
        let mut refuse_for = |secs: i64| wait = Some(wait.map_or(secs, |w| w.max(secs)));
        if c.blocked_until > now {
            refuse_for(c.blocked_until.saturating_sub(now));
        }
        if let Some(b) = take.budget {
            if c.used_at(now) >= b.limit {
                // Spent: wait for the current window to end, or (a zero limit, which `validate`
                // refuses) for a whole window.
                let secs = if now < c.window_end { c.window_end.saturating_sub(now) } else { b.window_secs };
                refuse_for(secs);
            }
        }
    }
    let states: Vec<Counter> = takes.iter().map(|(_, c)| *c).collect();
    if let Some(w) = wait {
        return (Decision::Refuse { retry_after_secs: w.max(1) }, states);
    }
    let spent = takes
        .iter()
        .map(|(take, c)| match take.budget {
            None => *c,
            Some(b) if now >= c.window_end => {
                Counter { used: 1, window_end: now.saturating_add(b.window_secs.max(1)), ..*c }
            }
            Some(_) => Counter { used: c.used.saturating_add(1), ..*c },
        })
        .collect();
    (Decision::Allow, spent)
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
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000;

    fn take(key: &str, limit: u32, window_secs: i64) -> Take {
        Take { key: key.into(), budget: Some(Budget { limit, window_secs }) }
    }

    fn unbudgeted(key: &str) -> Take {
        Take { key: key.into(), budget: None }
    }

    /// Runs one take against `state` as the object would: keeps the new states.
    fn run(now: i64, takes: &[Take], state: &mut Vec<Counter>) -> Decision {
        let pairs: Vec<(Take, Counter)> = takes.iter().cloned().zip(state.iter().copied()).collect();
        let (d, next) = decide(now, &pairs);
        *state = next;
        d
    }

    #[test]
    fn a_budget_allows_its_limit_then_refuses_until_the_window_ends() {
        let t = [take("POST /2/tweets", 3, 900)];
        let mut s = vec![Counter::default()];
        for i in 0..3 {
            assert_eq!(run(T0 + i, &t, &mut s), Decision::Allow);
        }
        assert_eq!(s[0], Counter { used: 3, window_end: T0 + 900, blocked_until: 0 });
        assert_eq!(run(T0 + 100, &t, &mut s), Decision::Refuse { retry_after_secs: 800 });
        assert_eq!(s[0].used, 3, "a refusal spends nothing");
    }

    #[test]
    fn the_window_restarts_at_the_first_call_after_it_ended() {
        let t = [take("k", 1, 60)];
        let mut s = vec![Counter::default()];
        assert_eq!(run(T0, &t, &mut s), Decision::Allow);
        assert_eq!(run(T0 + 59, &t, &mut s), Decision::Refuse { retry_after_secs: 1 });
        assert_eq!(run(T0 + 60, &t, &mut s), Decision::Allow);
        assert_eq!(s[0], Counter { used: 1, window_end: T0 + 120, blocked_until: 0 });
        // A long pause: the next window starts at the call, not on a fixed grid.
        assert_eq!(run(T0 + 1000, &t, &mut s), Decision::Allow);
        assert_eq!(s[0].window_end, T0 + 1060);
    }

    #[test]
    fn a_take_is_all_or_nothing() {
        let t = [take("*", 10, 900), take("POST /2/tweets", 1, 900)];
        let mut s = vec![Counter::default(), Counter::default()];
        assert_eq!(run(T0, &t, &mut s), Decision::Allow);
        let before = s.clone();
        assert!(matches!(run(T0 + 1, &t, &mut s), Decision::Refuse { .. }));
        assert_eq!(s, before, "the account-wide counter is not spent when the endpoint refuses");
    }

    #[test]
    fn the_retry_is_the_longest_wait_among_refusing_counters() {
        let t = [take("a", 1, 60), take("b", 1, 900), unbudgeted("c")];
        let s = [
            Counter { used: 1, window_end: T0 + 60, blocked_until: 0 },
            Counter { used: 1, window_end: T0 + 900, blocked_until: 0 },
            Counter { used: 0, window_end: 0, blocked_until: T0 + 300 },
        ];
        let pairs: Vec<_> = t.iter().cloned().zip(s).collect();
        assert_eq!(decide(T0, &pairs).0, Decision::Refuse { retry_after_secs: 900 });
    }

    #[test]
    fn the_retry_is_at_least_one_second() {
        // Only reachable through a zero limit, which validate refuses: still no 0 s retry.
        let pairs = [(take("k", 0, 0), Counter::default())];
        assert_eq!(decide(T0, &pairs).0, Decision::Refuse { retry_after_secs: 1 });
    }

    #[test]
    fn a_remembered_429_blocks_even_without_a_budget() {
        let c = apply(
            T0,
            Counter::default(),
            None,
            &Report { key: "k".into(), blocked_until: Some(T0 + 30), ..Default::default() },
        );
        assert_eq!(c.blocked_until, T0 + 30);
        for t in [unbudgeted("k"), take("k", 100, 900)] {
            assert_eq!(decide(T0 + 10, &[(t.clone(), c)]).0, Decision::Refuse { retry_after_secs: 20 });
            assert_eq!(decide(T0 + 30, &[(t, c)]).0, Decision::Allow);
        }
    }

    #[test]
    fn a_block_only_grows() {
        let c = Counter { blocked_until: T0 + 600, ..Default::default() };
        let r = Report { key: "k".into(), blocked_until: Some(T0 + 60), ..Default::default() };
        assert_eq!(apply(T0, c, None, &r).blocked_until, T0 + 600);
    }

    #[test]
    fn remaining_zero_with_a_reset_blocks_until_the_reset() {
        let r = Report { key: "k".into(), remaining: Some(0), reset_at: Some(T0 + 400), ..Default::default() };
        let c = apply(T0, Counter::default(), None, &r);
        assert_eq!(c.blocked_until, T0 + 400);
        assert_eq!(decide(T0 + 1, &[(unbudgeted("k"), c)]).0, Decision::Refuse { retry_after_secs: 399 });
        // Without a reset time there is nothing to wait for: no block.
        let r = Report { key: "k".into(), remaining: Some(0), ..Default::default() };
        assert_eq!(apply(T0, Counter::default(), None, &r), Counter::default());
    }

    #[test]
    fn remaining_corrects_the_count_in_the_same_window_upwards_only() {
        let ours = Counter { used: 2, window_end: T0 + 900, blocked_until: 0 };
        let report = |n| Report { key: "k".into(), remaining: Some(n), reset_at: Some(T0 + 900), ..Default::default() };
        // The platform counted calls we did not see (another client of the same account).
        assert_eq!(apply(T0, ours, Some(15), &report(5)).used, 10);
        // The platform has not yet seen our calls in flight: keep ours.
        assert_eq!(apply(T0, ours, Some(15), &report(14)).used, 2);
        // More remaining than our limit: nothing spent by the platform's count, ours kept.
        assert_eq!(apply(T0, ours, Some(15), &report(40)).used, 2);
        // Without a known limit, remaining cannot be turned into a count.
        assert_eq!(apply(T0, ours, None, &report(5)), ours);
    }

    #[test]
    fn a_report_of_a_newer_window_replaces_our_count() {
        let ours = Counter { used: 14, window_end: T0 + 100, blocked_until: 0 };
        let r = Report { key: "k".into(), remaining: Some(14), reset_at: Some(T0 + 900), ..Default::default() };
        assert_eq!(apply(T0, ours, Some(15), &r), Counter { used: 1, window_end: T0 + 900, blocked_until: 0 });
        // Our window ended already: its count is history, the platform's is current.
        let ended = Counter { used: 15, window_end: T0 - 1, blocked_until: 0 };
        assert_eq!(apply(T0, ended, Some(15), &Report { reset_at: Some(T0 + 50), ..r }).used, 1);
    }

    #[test]
    fn a_corrected_window_refuses_when_the_platform_says_it_is_spent() {
        let r = Report { key: "k".into(), remaining: Some(1), reset_at: Some(T0 + 500), ..Default::default() };
        let c = apply(T0, Counter::default(), Some(15), &r);
        let t = take("k", 15, 900);
        let (d, next) = decide(T0 + 1, &[(t.clone(), c)]);
        assert_eq!(d, Decision::Allow);
        assert_eq!(decide(T0 + 2, &[(t, next[0])]).0, Decision::Refuse { retry_after_secs: 498 });
    }

    #[test]
    fn report_times_are_capped_at_one_day() {
        let far = T0 + 10 * 365 * 86_400;
        let r = Report { key: "k".into(), remaining: Some(0), reset_at: Some(far), blocked_until: Some(far) };
        let c = apply(T0, Counter::default(), Some(15), &r);
        assert_eq!(c.blocked_until, T0 + MAX_REPORT_HORIZON_SECS);
        assert_eq!(c.window_end, T0 + MAX_REPORT_HORIZON_SECS);
        // Milliseconds read as seconds land far in the future: capped the same way.
        let ms = Report { key: "k".into(), blocked_until: Some(T0 * 1000), ..Default::default() };
        assert_eq!(apply(T0, Counter::default(), None, &ms).blocked_until, T0 + MAX_REPORT_HORIZON_SECS);
        let huge =
            Report { key: "k".into(), blocked_until: Some(i64::MAX), reset_at: Some(i64::MAX), remaining: Some(0) };
        assert_eq!(apply(i64::MAX - 5, Counter::default(), Some(1), &huge).blocked_until, i64::MAX);
    }

    #[test]
    fn report_times_in_the_past_are_ignored() {
        let ours = Counter { used: 3, window_end: T0 + 900, blocked_until: 0 };
        let r = Report { key: "k".into(), remaining: Some(0), reset_at: Some(T0 - 10), blocked_until: Some(T0) };
        assert_eq!(apply(T0, ours, Some(15), &r), ours);
    }

    #[test]
    fn a_quota_says_what_is_left_and_when_the_window_ends() {
        let b = Budget { limit: 3, window_secs: 60 };
        let c = Counter { used: 1, window_end: T0 + 60, blocked_until: 0 };
        assert_eq!(quota(T0, "k", b, &c), Quota { key: "k".into(), limit: 3, remaining: 2, reset_secs: 60 });
        // A window that ended: all of it, for a whole window from the next call.
        assert_eq!(quota(T0 + 61, "k", b, &c).remaining, 3);
        let over = Counter { used: 9, ..c };
        assert_eq!(quota(T0, "k", b, &over).remaining, 0);
        let blocked = Counter { blocked_until: T0 + 300, ..c };
        assert_eq!((quota(T0, "k", b, &blocked).remaining, quota(T0, "k", b, &blocked).reset_secs), (0, 300));
    }

    #[test]
    fn spent_history_is_what_pruning_may_forget() {
        assert!(Counter { used: 9, window_end: T0, blocked_until: T0 - 5 }.is_spent_history(T0));
        assert!(!Counter { used: 9, window_end: T0 + 1, blocked_until: 0 }.is_spent_history(T0));
        assert!(!Counter { used: 0, window_end: 0, blocked_until: T0 + 1 }.is_spent_history(T0));
        // Forgetting it changes nothing: the same take decides the same way on a fresh counter.
        let old = Counter { used: 9, window_end: T0 - 1, blocked_until: T0 - 1 };
        let t = take("k", 1, 60);
        assert_eq!(decide(T0, &[(t.clone(), old)]).0, decide(T0, &[(t, Counter::default())]).0);
    }

    #[test]
    fn requests_have_the_agreed_json_shapes() {
        let json = r#"{"op":"take","now":5,"takes":[{"key":"*","budget":{"limit":3,"window_secs":60}},{"key":"x","budget":null}]}"#;
        let req: LimiterRequest = serde_json::from_str(json).unwrap();
        let want = vec![take("*", 3, 60), unbudgeted("x")];
        assert_eq!(req, LimiterRequest::Take { now: 5, takes: want.clone(), tenant: None, quotas: false });
        let json = r#"{"op":"take","now":5,"takes":[],"tenant":{"id":"app_1","weight":2},"quotas":true}"#;
        let tenant = Some(Tenant { id: "app_1".into(), weight: 2 });
        let req: LimiterRequest = serde_json::from_str(json).unwrap();
        assert_eq!(req, LimiterRequest::Take { now: 5, takes: vec![], tenant: tenant.clone(), quotas: true });
        assert_eq!(serde_json::to_string(&req).unwrap(), json, "written as read");
        let plain = LimiterRequest::Take { now: 5, takes: want, tenant: None, quotas: false };
        assert!(!serde_json::to_string(&plain).unwrap().contains("tenant"), "older objects read what is sent");
        let json =
            r#"{"op":"report","now":5,"reports":[{"key":"*","remaining":0,"reset_at":60,"blocked_until":null}]}"#;
        let req: LimiterRequest = serde_json::from_str(json).unwrap();
        let want = Report { key: "*".into(), remaining: Some(0), reset_at: Some(60), blocked_until: None };
        assert_eq!(req, LimiterRequest::Report { now: 5, reports: vec![want] });
        assert_eq!(serde_json::to_string(&Decision::Allow).unwrap(), r#"{"decision":"allow"}"#);
        assert_eq!(
            serde_json::to_string(&Decision::Refuse { retry_after_secs: 7 }).unwrap(),
            r#"{"decision":"refuse","retry_after_secs":7}"#
        );
    }

    #[test]
    fn a_shape_missing_its_fields_is_refused() {
        for json in [
            r#"{"op":"take","now":5}"#,
            r#"{"op":"report","now":5,"takes":[]}"#,
            r#"{"op":"spend","now":5,"takes":[]}"#,
        ] {
            assert!(serde_json::from_str::<LimiterRequest>(json).is_err(), "{json}");
        }
        assert!(serde_json::from_str::<Decision>(r#"{"decision":"refuse"}"#).is_err());
        for d in [Decision::Allow, Decision::Refuse { retry_after_secs: 7 }] {
            assert_eq!(serde_json::from_str::<Decision>(&serde_json::to_string(&d).unwrap()).unwrap(), d);
        }
        let req = LimiterRequest::Report { now: 1, reports: vec![Report { key: "k".into(), ..Default::default() }] };
        assert_eq!(serde_json::from_str::<LimiterRequest>(&serde_json::to_string(&req).unwrap()).unwrap(), req);
    }

    #[test]
    fn validate_refuses_what_the_object_cannot_keep_bounded() {
        let req = |takes: Vec<Take>| LimiterRequest::Take { now: T0, takes, tenant: None, quotas: false };
        assert_eq!(req(vec![take("a", 1, 60), unbudgeted("b")]).validate(), Ok(()));
        assert!(req(vec![take("a", 0, 60)]).validate().is_err());
        assert!(req(vec![take("a", 1, 0)]).validate().is_err());
        assert!(req(vec![take("a", 1, MAX_WINDOW_SECS + 1)]).validate().is_err());
        assert!(req(vec![take("", 1, 60)]).validate().is_err());
        assert!(req(vec![take(&"k".repeat(MAX_KEY_LEN + 1), 1, 60)]).validate().is_err());
        assert!(req(vec![take("a", 1, 60), take("a", 2, 60)]).validate().is_err());
        assert!(req((0..=MAX_ENTRIES).map(|i| take(&i.to_string(), 1, 60)).collect()).validate().is_err());
        assert!(LimiterRequest::Take { now: -1, takes: vec![], tenant: None, quotas: false }.validate().is_err());
        let as_tenant = |id: &str, weight| LimiterRequest::Take {
            now: T0,
            takes: vec![],
            tenant: Some(Tenant { id: id.into(), weight }),
            quotas: false,
        };
        assert_eq!(as_tenant("app_1", 1).validate(), Ok(()));
        assert!(as_tenant("", 1).validate().is_err());
        assert!(as_tenant("app_1", 0).validate().is_err());
        assert!(as_tenant("app_1", fair::MAX_WEIGHT + 1).validate().is_err());
        assert!(LimiterRequest::Report { now: MAX_NOW + 1, reports: vec![] }.validate().is_err());
    }
}
