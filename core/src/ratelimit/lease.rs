//! Leases (issue 26): an isolate takes a small slice of a budget from the `RateLimiter`
//! object at once and spends it one call at a time without asking the object again, so a
//! proxied call whose budgets are far from spent needs no Durable Object round trip.
//!
//! A lease's units are spent in the object when it is granted, so leasing never lets more
//! calls through than the budget allows, in any number of isolates: it can only hold units
//! in one isolate that another could have used. Three rules keep that small and the budget
//! exact where it matters:
//! - a lease is at most a [`HEADROOM`]th of what is left ([`lease_units`]), so near the end of
//!   a budget every call asks the object (one unit each), as without leases;
//! - no lease (one unit per call) for a take whose counters were blocked by the platform in
//!   the last [`RECENT_BLOCK_SECS`] (a 429 makes the object the one place that decides);
//! - a lease lasts at most [`LEASE_MS`] and never past its window ([`Lease::new`]); what it
//!   did not spend is given back to the object ([`refund`](super::refund)) with the isolate's
//!   next take of it, or by the next take of any other.
//!
//! A take that only checks for blocks (no budget) leases "no block known" for [`LEASE_MS`]:
//! a block another isolate learns reaches this one within that time (this isolate's own
//! blocks drop its leases at once).

use super::counter::{decide, Counter, Decision, Take};
use super::Quota;

pub mod book;

/// The longest an isolate keeps a lease, in milliseconds.
pub const LEASE_MS: i64 = 1_000;

/// The units an isolate asks for at once.
pub const LEASE_WANT: u32 = 32;

/// The most units one request may ask for or give back.
pub const MAX_LEASE: u32 = 1_000;

/// A lease takes at most 1/`HEADROOM` of what a budget has left.
pub const HEADROOM: u32 = 4;

/// A counter blocked by the platform in the last this many seconds is not leased.
pub const RECENT_BLOCK_SECS: i64 = 60;

/// A platform report of fewer calls left than this drops the isolate's leases of the account
/// it speaks of (the platform counts calls the object does not see: other apps', the web's).
pub const LOW_REMAINING: u32 = 2 * HEADROOM * 4;

/// How many units a take that asks for `want` may spend at once over `takes` at `now`: `want`,
/// cut to a [`HEADROOM`]th of what each budget has left, and 1 where a counter was blocked in
/// the last [`RECENT_BLOCK_SECS`] or `want` is 0 or 1. Never 0: a take that cannot spend one
/// unit is refused by [`decide`].
pub fn lease_units(now: i64, want: u32, takes: &[(Take, Counter)]) -> u32 {
    let mut units = want.min(MAX_LEASE);
    for (take, c) in takes {
        if c.blocked_until.saturating_add(RECENT_BLOCK_SECS) > now {
            return 1;
        }
        if let Some(b) = take.budget {
            units = units.min(b.limit.saturating_sub(c.used_at(now)) / HEADROOM);
        }
    }
    units.max(1)
}

/// [`decide`] for `units` calls at once: all or nothing, as one call decides, then the other
/// `units - 1` spent from every budgeted counter. `units` must come from [`lease_units`] over
/// the same counters (it leaves each budget room for them).
pub fn decide_units(now: i64, takes: &[(Take, Counter)], units: u32) -> (Decision, Vec<Counter>) {
    let (decision, mut next) = decide(now, takes);
    if decision == Decision::Allow && units > 1 {
        for ((take, _), c) in takes.iter().zip(next.iter_mut()) {
            if take.budget.is_some() {
                c.used = c.used.saturating_add(units - 1);
            }
        }
    }
    (decision, next)
}

/// A lease an isolate holds: units already spent in the object, not yet used here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Units left to spend.
    pub units: u32,
    /// The `now` (seconds) of the take that granted it: what a give-back names.
    pub at: i64,
    /// The lease ends before this (milliseconds).
    pub until_ms: i64,
    /// The object's quotas right after the grant (its units counted as spent).
    pub quotas: Vec<Quota>,
}

impl Lease {
    /// A lease of `units` (one of them spent by the call that took it), taken at `now_ms`
    /// (`at` = its seconds) with the object's `quotas` after it: it ends after [`LEASE_MS`] or
    /// when the first of its budgets' windows ends, whichever comes first (a unit spent in
    /// one window must not be used in the next).
    pub fn new(units: u32, at: i64, now_ms: i64, quotas: Vec<Quota>) -> Lease {
        let window_end_ms =
            quotas.iter().map(|q| at.saturating_add(q.reset_secs).saturating_mul(1000)).min().unwrap_or(i64::MAX);
        Lease {
            units: units.saturating_sub(1),
            at,
            until_ms: now_ms.saturating_add(LEASE_MS).min(window_end_ms),
            quotas,
        }
    }

    /// Whether the lease may still be spent at `now_ms`.
    pub fn live(&self, now_ms: i64) -> bool {
        self.units > 0 && now_ms < self.until_ms
    }

    /// Spends one unit at `now_ms`; `false` (nothing spent) once it is used up or over.
    pub fn spend(&mut self, now_ms: i64) -> bool {
        if !self.live(now_ms) {
            return false;
        }
        self.units -= 1;
        true
    }

    /// The quotas as this isolate sees them at `now` (seconds): the object's after the grant,
    /// plus the units not yet used here, the windows' ends moved closer.
    pub fn quotas_at(&self, now: i64) -> Vec<Quota> {
        let elapsed = now.saturating_sub(self.at).max(0);
        self.quotas
            .iter()
            .map(|q| Quota {
                limit: q.limit,
                remaining: q.remaining.saturating_add(self.units).min(q.limit),
                reset_secs: q.reset_secs.saturating_sub(elapsed).max(0),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
