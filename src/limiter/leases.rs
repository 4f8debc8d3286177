//! The leases this isolate holds on `RateLimiter` budgets (`ratelimit::lease`, issue 26): a
//! take whose lease is live spends a unit here, with no round trip to the object; otherwise
//! the object is asked for a new lease, the old one's unused units given back with the same
//! request. A lease whose takes the isolate does not ask for again keeps its unused units
//! spent until its window ends (at most a quarter of what was left, see `ratelimit::lease`):
//! giving them back from elsewhere cost the wasm 1.3 KB gzip, more than the budget had. Only takes this isolate made in the last [`SEEN_MS`] are leased. Shared budgets (apps' fair shares) and the daily registration cap
//! are never leased: their callers use [`super::take_as`] and [`super::take`].

use super::{take_lease, Granted};
use crate::ctx::{now_ms, Ctx};
use connect_links_core::ratelimit::lease::{Lease, LEASE_WANT};
use connect_links_core::ratelimit::{Decision, Quota, Returned, Take};
use std::cell::RefCell;
use std::time::Duration;
use worker::{Delay, Result};

/// The most leases an isolate holds; past it the ones that ended are dropped first.
const MAX_HELD: usize = 256;

/// How often a request waiting for another one's lease looks again, in milliseconds.
const WAIT_STEP_MS: u64 = 2;

/// The longest a request waits for another one's lease before it asks itself.
const MAX_WAIT_MS: u64 = 2_000;

/// Takes this isolate made in the last this many milliseconds ask for a lease; the first in
/// that time asks for one unit. A profile proxied now and then (most are) would otherwise
/// take a lease per call and give nearly all of it back: two round trips where one does.
const SEEN_MS: i64 = 10_000;

/// The lease of one set of takes in one object, and whether a request is asking for one.
struct Held {
    /// The limiter object's name.
    object: String,
    /// The takes it spends, as sent (with the object's name, its identity: the same counters
    /// under other budgets are another lease).
    takes: Vec<Take>,
    lease: Option<Lease>,
    /// A request of this isolate is asking the object for a lease of these takes.
    asking: bool,
    /// When this isolate last asked the object for these takes.
    asked_ms: i64,
}

thread_local! {
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// What a take got: the decision, and each budgeted counter's quota as this isolate sees it.
pub struct Spent {
    /// Allowed or refused.
    pub decision: Decision,
    /// The budgeted counters' quotas after this call (for `RateLimit` fields).
    pub quotas: Vec<Quota>,
}

/// What a request does next, decided under one borrow of the isolate's leases.
enum Step {
    /// A unit of the live lease was spent: these quotas.
    Spent(Vec<Quota>),
    /// Another request is asking: look again shortly.
    Wait,
    /// Ask the object for this many units, giving back the old lease's unused units.
    Ask(u32, Option<Returned>),
}

/// Spends one unit of `takes` in the object named `object`: from this isolate's live lease
/// of them, else from a new lease the object grants (at most `LEASE_WANT` units, fewer near
/// the end of a budget or after a block). One request of the isolate at a time asks the
/// object for a lease of the same takes; the others wait for its answer and spend from it
/// (a burst would otherwise take a lease each and leave units unused while others are
/// refused). Errors as [`super::take`] does.
pub async fn take(ctx: &Ctx, object: &str, takes: Vec<Take>) -> Result<Spent> {
    let mut waited_ms = 0;
    let (want, returned) = loop {
        let now_ms = now_ms();
        let step = HELD.with(|h| step(&mut h.borrow_mut(), object, &takes, now_ms, waited_ms >= MAX_WAIT_MS));
        match step {
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
    let asking = Asking { object, takes: &takes };
    let now_ms = now_ms();
    let now = now_ms / 1000;
    let Granted { decision, units, quotas } = take_lease(&ctx.env, object, now, takes.clone(), want, returned).await?;
    let lease = (units > 1).then(|| Lease::new(units, now, now_ms, quotas.clone()));
    let quotas = lease.as_ref().map_or(quotas, |l| l.quotas_at(now));
    asking.done(lease);
    Ok(Spent { decision, quotas })
}

/// Under the isolate's borrow: spends from the live lease of `takes`, or says to wait for the
/// request asking for one, or marks this one as asking (`force`: even while another is) and
/// takes out the old lease's unused units to give back.
/// Takes not asked for in the last [`SEEN_MS`] ask for one unit, no lease.
fn step(h: &mut Vec<Held>, object: &str, takes: &[Take], now_ms: i64, force: bool) -> Step {
    let mine = |x: &Held| x.object == object && x.takes == takes;
    let (i, want) = match h.iter().position(mine) {
        Some(i) => (i, LEASE_WANT),
        None => {
            let new =
                Held { object: object.to_string(), takes: takes.to_vec(), lease: None, asking: false, asked_ms: 0 };
            h.push(new);
            (h.len() - 1, 1)
        }
    };
    let held = &mut h[i];
    if let Some(lease) = held.lease.as_mut() {
        if lease.spend(now_ms) {
            return Step::Spent(lease.quotas_at(now_ms / 1000));
        }
    }
    if held.asking && !force {
        return Step::Wait;
    }
    held.asking = true;
    held.asked_ms = now_ms;
    let unused = |l: Lease| (l.units > 0).then_some(Returned { at: l.at, units: l.units });
    let returned = held.lease.take().and_then(unused);
    // An entry not asked for in `SEEN_MS` leaves, and past `MAX_HELD` every one not being
    // asked for.
    let crowded = h.len() > MAX_HELD;
    h.retain(|x| x.asking || !(crowded || now_ms - x.asked_ms > SEEN_MS));
    Step::Ask(want, returned)
}

/// This request asking for a lease: when done (or dropped: failed or cancelled) the lease,
/// if any, is kept and other requests may ask again.
struct Asking<'a> {
    object: &'a str,
    takes: &'a [Take],
}

impl Asking<'_> {
    /// Keeps the granted lease.
    fn done(self, lease: Option<Lease>) {
        self.end(lease);
    }

    fn end(&self, lease: Option<Lease>) {
        HELD.with(|h| {
            if let Some(x) = h.borrow_mut().iter_mut().find(|x| x.object == self.object && x.takes == self.takes) {
                x.asking = false;
                if lease.is_some() {
                    x.lease = lease;
                }
            }
        });
    }
}

impl Drop for Asking<'_> {
    fn drop(&mut self) {
        self.end(None);
    }
}

/// Ends this isolate's lease of `takes` in `object` and says what it held unused: `(at,
/// units)` to give back to the object (`None`: no lease, or none left to give).
pub fn release(object: &str, takes: &[Take]) -> Option<(i64, u32)> {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        let x = h.iter_mut().find(|x| x.object == object && x.takes == takes)?;
        x.lease.take().filter(|l| l.units > 0).map(|l| (l.at, l.units))
    })
}

/// Drops this isolate's leases in `object` (the platform blocked the account or app, or says
/// its budget is nearly spent): the next call asks the object, which then leases nothing for
/// a while. Their units stay spent in the object, on the side of refusing too much.
pub fn drop_object(object: &str) {
    HELD.with(|h| h.borrow_mut().iter_mut().filter(|x| x.object == object).for_each(|x| x.lease = None));
}
