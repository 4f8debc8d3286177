//! The leases this isolate holds on `RateLimiter` budgets (`ratelimit::lease`, issue 26): a
//! take whose lease is live spends a unit here, with no round trip to the object; otherwise
//! the object is asked for a new lease, the old one's unused units given back with the same
//! request. The bookkeeping is `ratelimit::lease::book` (host-tested); this file keeps the
//! isolate's book and asks the objects. A lease whose takes the isolate does not ask for again
//! keeps its unused units spent until its window ends (at most a quarter of what was left):
//! giving them back from another request cost the wasm 1.3 KB gzip, more than the budget
//! had. Shared budgets (apps' fair shares) and the daily registration cap are never leased:
//! their callers use [`super::take_as`] and [`super::take`].

use super::{take_lease, Granted};
use crate::ctx::{now_ms, Ctx};
use connect_links_core::ratelimit::lease::book::{Book, Step};
use connect_links_core::ratelimit::lease::Lease;
use connect_links_core::ratelimit::{Decision, Quota, Take};
use std::cell::RefCell;
use std::time::Duration;
use worker::{Delay, Result};

/// How often a request waiting for another one's lease looks again, in milliseconds.
const WAIT_STEP_MS: u64 = 2;

/// The longest a request waits for another one's lease before it asks itself.
const MAX_WAIT_MS: u64 = 2_000;

thread_local! {
    static BOOK: RefCell<Book> = const { RefCell::new(Book::new()) };
}

/// What a take got: the decision, and each budgeted counter's quota as this isolate sees it.
pub struct Spent {
    /// Allowed or refused.
    pub decision: Decision,
    /// The budgeted counters' quotas after this call (for `RateLimit` fields).
    pub quotas: Vec<Quota>,
}

/// Spends one unit of `takes` in the object named `object`: from this isolate's live lease
/// of them, else from a new lease the object grants (at most `LEASE_WANT` units, fewer near
/// the end of a budget or after a block; one unit for takes not asked for in the last
/// `SEEN_MS`). One request of the isolate at a time asks the object for a lease of the same
/// takes; the others wait for its answer and spend from it (a burst would otherwise take a
/// lease each and leave units unused while others are refused). Errors as [`super::take`]
/// does.
pub async fn take(ctx: &Ctx, object: &str, takes: Vec<Take>) -> Result<Spent> {
    let mut waited_ms = 0;
    let (want, returned) = loop {
        let now_ms = now_ms();
        match BOOK.with(|b| b.borrow_mut().step(object, &takes, now_ms, waited_ms >= MAX_WAIT_MS)) {
            Step::Spent(quotas) => return Ok(Spent { decision: Decision::Allow, quotas }),
            Step::Ask(want, returned) => break (want, returned),
            // The wait is a timer of this request's own: a promise resolved by another
            // request would run this one's I/O in that request's context, which the runtime
            // refuses. Past `MAX_WAIT_MS` (the other is stuck) this request asks too.
            Step::Wait => {
                Delay::from(Duration::from_millis(WAIT_STEP_MS)).await;
                waited_ms += WAIT_STEP_MS;
            }
        }
    };
    let mut asking = Asking { object, takes: &takes, ended: false };
    let now_ms = now_ms();
    let now = now_ms / 1000;
    let Granted { decision, units, quotas } =
        take_lease(&ctx.env, object, now, takes.clone(), want, returned).await?;
    let lease = (units > 1).then(|| Lease::new(units, now, now_ms, quotas.clone()));
    let quotas = lease.as_ref().map_or(quotas, |l| l.quotas_at(now));
    asking.ended = true;
    BOOK.with(|b| b.borrow_mut().end(object, &takes, now_ms, want, units, lease));
    Ok(Spent { decision, quotas })
}

/// This request asking for a lease: dropped before its answer is kept (the ask failed, or
/// the request was cancelled), it lets other requests ask again.
struct Asking<'a> {
    object: &'a str,
    takes: &'a [Take],
    /// The answer was kept.
    ended: bool,
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        if !self.ended {
            BOOK.with(|b| b.borrow_mut().end(self.object, self.takes, now_ms(), 0, 0, None));
        }
    }
}

/// Ends this isolate's lease of `takes` in `object` and says what it held unused: `(at,
/// units)` to give back to the object (`None`: no lease, or none left to give).
pub fn release(object: &str, takes: &[Take]) -> Option<(i64, u32)> {
    BOOK.with(|b| b.borrow_mut().release(object, takes))
}

/// Drops this isolate's leases in `object` (the platform blocked the account or app, or says
/// its budget is nearly spent): the next call asks the object, which then leases nothing for
/// a while. Their units stay spent in the object, on the side of refusing too much.
pub fn drop_object(object: &str) {
    BOOK.with(|b| b.borrow_mut().drop_object(object));
}
