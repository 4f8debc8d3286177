//! The leases one isolate holds, and who in it is asking for one: the bookkeeping behind
//! `src/limiter/leases.rs` (which keeps one [`Book`] per isolate and does the asking), pure so
//! that the host tests can drive it.

use super::{Lease, LEASE_WANT};
use crate::ratelimit::{Quota, Returned, Take};

/// The most entries a book keeps; past it, every entry not being asked for leaves.
pub const MAX_HELD: usize = 256;

/// Takes this isolate asked for in the last this many milliseconds ask for a lease; any other
/// asks for one unit. A profile proxied now and then (most are) would otherwise take a lease
/// per call and leave nearly all of it unused.
pub const SEEN_MS: i64 = 10_000;

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

impl Held {
    fn is(&self, object: &str, takes: &[Take]) -> bool {
        self.object == object && self.takes == takes
    }
}

/// What a request does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// A unit of the live lease was spent: the quotas as this isolate sees them now.
    Spent(Vec<Quota>),
    /// Another request is asking for a lease of the same takes: look again shortly.
    Wait,
    /// Ask the object for this many units, giving back the old lease's unused units.
    Ask(u32, Option<Returned>),
}

/// One isolate's leases.
#[derive(Default)]
pub struct Book {
    held: Vec<Held>,
}

impl Book {
    /// An empty book.
    pub const fn new() -> Book {
        Book { held: Vec::new() }
    }

    /// Spends a unit from the live lease of `takes` in `object`, or says to wait for the
    /// request asking for one, or marks this one as asking (`force`: even while another is,
    /// stuck) and takes out the old lease's unused units to give back. Takes not asked for in
    /// the last [`SEEN_MS`] ask for one unit, no lease. Entries not asked for in [`SEEN_MS`]
    /// leave (their unused units stay spent until their window ends), and past [`MAX_HELD`]
    /// every one not being asked for.
    pub fn step(&mut self, object: &str, takes: &[Take], now_ms: i64, force: bool) -> Step {
        let h = &mut self.held;
        let i = match h.iter().position(|x| x.is(object, takes)) {
            Some(i) => i,
            None => {
                let new = Held { object: object.to_string(), takes: takes.to_vec(), lease: None, asking: false, asked_ms: i64::MIN };
                h.push(new);
                h.len() - 1
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
        let want = if now_ms.saturating_sub(held.asked_ms) <= SEEN_MS { LEASE_WANT } else { 1 };
        held.asking = true;
        held.asked_ms = now_ms;
        let returned = held.lease.take().filter(|l| l.units > 0).map(|l| Returned { at: l.at, units: l.units });
        let crowded = h.len() > MAX_HELD;
        h.retain(|x| x.asking || !(crowded || now_ms.saturating_sub(x.asked_ms) > SEEN_MS));
        Step::Ask(want, returned)
    }

    /// The request asking for a lease of `takes` in `object` is done: the lease it was
    /// granted (`None`: one unit, a refusal, a failure) is kept, and others may ask again.
    /// (Two asks at once happen only when one waited [`Book::step`]'s `force` out; then the
    /// last lease granted is kept and the other's unused units stay spent.)
    pub fn end(&mut self, object: &str, takes: &[Take], lease: Option<Lease>) {
        if let Some(x) = self.held.iter_mut().find(|x| x.is(object, takes)) {
            x.asking = false;
            if lease.is_some() {
                x.lease = lease;
            }
        }
    }

    /// Ends the lease of `takes` in `object` and says what it held unused: `(at, units)` to
    /// give back to the object (`None`: no lease, or none left to give).
    pub fn release(&mut self, object: &str, takes: &[Take]) -> Option<(i64, u32)> {
        let x = self.held.iter_mut().find(|x| x.is(object, takes))?;
        x.lease.take().filter(|l| l.units > 0).map(|l| (l.at, l.units))
    }

    /// Ends every lease in `object` (the platform blocked the account or app, or says its
    /// budget is nearly spent); their units stay spent, on the side of refusing too much.
    pub fn drop_object(&mut self, object: &str) {
        self.held.iter_mut().filter(|x| x.object == object).for_each(|x| x.lease = None);
    }

    /// How many entries the book keeps.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether the book keeps no entry.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests;
