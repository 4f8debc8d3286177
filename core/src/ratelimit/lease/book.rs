//! The leases one isolate holds, and who in it is asking for one: the bookkeeping behind
//! `src/limiter/leases.rs` (which keeps one [`Book`] per isolate and does the asking), pure so
//! that the host tests can drive it.

use super::{Lease, LEASE_WANT};
use crate::ratelimit::{Quota, Returned, Take};

/// The most entries a book keeps; past it, the ones asked for longest ago leave.
pub const MAX_HELD: usize = 1_024;

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
    /// Units the last answer granted (1 without a lease).
    granted: u32,
    /// Until then the object declines to lease these takes (near a budget's end, after a
    /// block, or a refusal): requests ask one unit each, at once, without waiting for
    /// each other.
    no_lease_until: i64,
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
    /// stuck) and takes out the old lease's unused units to give back.
    ///
    /// How many units to ask for follows what the isolate used: one for takes not asked for
    /// in the last [`SEEN_MS`], else twice what the last answer's units were used for (at
    /// least 2, at most [`LEASE_WANT`]), so a profile called twice now and then leases 2 and
    /// a steady stream works up to 32 in a few asks. While the object declines to lease
    /// ([`Held::no_lease_until`]), requests ask one unit each without waiting.
    ///
    /// Entries not asked for in [`SEEN_MS`] leave (their unused units stay spent until their
    /// window ends); past [`MAX_HELD`], the ones asked for longest ago.
    pub fn step(&mut self, object: &str, takes: &[Take], now_ms: i64, force: bool) -> Step {
        let h = &mut self.held;
        let i = match h.iter().position(|x| x.is(object, takes)) {
            Some(i) => i,
            None => {
                h.push(Held {
                    object: object.to_string(),
                    takes: takes.to_vec(),
                    lease: None,
                    asking: false,
                    asked_ms: i64::MIN,
                    granted: 0,
                    no_lease_until: i64::MIN,
                });
                h.len() - 1
            }
        };
        let held = &mut h[i];
        if let Some(lease) = held.lease.as_mut() {
            if lease.spend(now_ms) {
                return Step::Spent(lease.quotas_at(now_ms / 1000));
            }
        }
        let declined = now_ms < held.no_lease_until;
        if held.asking && !force && !declined {
            return Step::Wait;
        }
        let used = held.granted.saturating_sub(held.lease.as_ref().map_or(0, |l| l.units));
        let want = if declined || now_ms.saturating_sub(held.asked_ms) > SEEN_MS {
            1
        } else {
            used.saturating_mul(2).clamp(2, LEASE_WANT)
        };
        held.asking = true;
        held.asked_ms = now_ms;
        let returned = held.lease.take().filter(|l| l.units > 0).map(|l| Returned { at: l.at, units: l.units });
        h.retain(|x| x.asking || now_ms.saturating_sub(x.asked_ms) <= SEEN_MS);
        // An ask adds at most one entry: one leaving keeps the book at its bound.
        if h.len() > MAX_HELD {
            if let Some(j) = (0..h.len()).filter(|&j| !h[j].asking).min_by_key(|&j| h[j].asked_ms) {
                h.swap_remove(j);
            }
        }
        Step::Ask(want, returned)
    }

    /// The request asking for `want` units of `takes` in `object` is done at `now_ms`: it was
    /// granted `units` (0: refused or failed), and the lease they make (`None` for one unit)
    /// is kept, and others may ask again. An answer of at most one unit to an ask of more
    /// means the object declines to lease: for [`LEASE_MS`](super::LEASE_MS) requests ask
    /// one unit each, at once. (Two asks at once happen only when one waited
    /// [`Book::step`]'s `force` out, or while the object declines; then the last lease granted
    /// is kept and the other's unused units stay spent.)
    pub fn end(&mut self, object: &str, takes: &[Take], now_ms: i64, want: u32, units: u32, lease: Option<Lease>) {
        if let Some(x) = self.held.iter_mut().find(|x| x.is(object, takes)) {
            x.asking = false;
            x.granted = units.max(1);
            if want > 1 && units <= 1 {
                x.no_lease_until = now_ms.saturating_add(super::LEASE_MS);
            }
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

    /// How many entries the book keeps (for the tests' bound).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests;
