//! Fair shares of the platform app's budgets: every app (tenant) of the deployment spends
//! YouTube's daily units, X's per-app posts and Reddit's calls per client id through the
//! same client id, so without a rule the first app to spend them leaves none to the others.
//!
//! The rule, per budgeted counter and window: an app is *active* while it spent in the last
//! window's length. Each active app is owed `floor(limit * weight / total weight)` of the
//! window (its share; the asker counts as active). An app may take a unit while it is under
//! its share, or, past it, only if what is left after the unit still covers what the *other*
//! active apps are owed and have not spent yet. So:
//! - an app alone may use the whole budget (nobody else is owed anything);
//! - two apps contending each get their share, whoever asked first;
//! - an app may take more than its share of what others leave unspent only while they are
//!   idle: a share an active app has not spent stays reserved for it until it has been idle
//!   a whole window (the price of guaranteeing it).
//!
//! An app never seen before (not active) is owed nothing until its first call; from then on
//! the shares are recomputed over the apps now active. When that makes them smaller than
//! what an app already spent, the apps still under their share take what is left first come,
//! first served, each up to its share.
//!
//! Each budget lives whole in one object (see `ratelimit::layout`), so the rule is exact.

use super::counter::{decide, Budget, Counter, Decision, Take};
use serde::{Deserialize, Serialize};

/// The largest weight an app may have (weights start at 1).
pub const MAX_WEIGHT: u32 = 100;

/// The app spending a shared budget, as a take names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// The app's id.
    pub id: String,
    /// Its weight, 1 to [`MAX_WEIGHT`].
    pub weight: u32,
}

/// One app's spend of one shared counter, as the object keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Share {
    /// The app's id.
    pub tenant: String,
    /// Its weight at its last spend.
    pub weight: u32,
    /// Units it spent in the window ending at `window_end`.
    pub used: u32,
    /// The end of the counter's window it spent in.
    pub window_end: i64,
    /// Active (owed its share) until then: its last spend plus the budget's window.
    pub active_until: i64,
}

impl Share {
    fn used_at(&self, now: i64) -> u32 {
        if now < self.window_end {
            self.used
        } else {
            0
        }
    }

    /// This share once the counter's window moved from `from` to `to` (see
    /// [`follow_window`]): a share of that window moves with it, and stays active at least
    /// until the window ends (its app spent in it); any other share is left as it is.
    pub fn follow(self, from: i64, to: i64) -> Share {
        if self.window_end != from {
            return self;
        }
        Share { window_end: to, active_until: self.active_until.max(to), ..self }
    }

    /// Whether the app still counts as contending for the budget.
    pub fn is_active(&self, now: i64) -> bool {
        self.active_until > now
    }
}

/// Where a platform report moved a shared counter's window (`apply` sets it to the
/// platform's reset: Reddit's client-id budget on every answer), the shares spent in the
/// window it was in must move with it ([`Share::follow`]): `Some((from, to))`, the
/// `window_end` the counter's shares have and the one they get. Otherwise a share would count its app's use until its
/// old end while the counter counts it until the new one: past the earlier end, apps that
/// spent their share would look as if they spent nothing (or, moved earlier, the other way).
/// `None` when the window did not move, or had ended before `now` (its shares are history).
pub fn follow_window(now: i64, before: &Counter, after: &Counter) -> Option<(i64, i64)> {
    (before.window_end != after.window_end && now < before.window_end).then_some((before.window_end, after.window_end))
}

/// What the active apps other than `asker` are owed of `limit` and have not spent yet, and
/// what `asker` itself is owed, over the apps active at `now`.
fn owed(now: i64, limit: u32, asker: &Tenant, shares: &[Share]) -> (u64, u64) {
    let others: Vec<&Share> = shares.iter().filter(|s| s.tenant != asker.id && s.is_active(now)).collect();
    let weight = |w: u32| u64::from(w.max(1));
    let total: u64 = weight(asker.weight) + others.iter().map(|s| weight(s.weight)).sum::<u64>();
    let share = |w: u32| u64::from(limit) * weight(w) / total;
    let reserved = others.iter().map(|s| share(s.weight).saturating_sub(u64::from(s.used_at(now)))).sum();
    (reserved, share(asker.weight))
}

/// How long `asker` must wait before the fair-share rule lets it spend a unit of `counter`
/// (a budget of `budget`), or `None` when it may now (the budget itself is [`decide`]'s). The
/// wait is until the window ends (a new window owes everyone afresh); a refusal never
/// happens in a fresh window, where the others' shares add up to less than the whole.
pub fn unfair_wait(now: i64, budget: Budget, counter: &Counter, asker: &Tenant, shares: &[Share]) -> Option<i64> {
    let (reserved, own_share) = owed(now, budget.limit, asker, shares);
    let own_used = shares.iter().find(|s| s.tenant == asker.id).map_or(0, |s| s.used_at(now));
    let used = u64::from(counter.used_at(now));
    if u64::from(own_used) < own_share || used + 1 + reserved <= u64::from(budget.limit) {
        return None;
    }
    let wait = if now < counter.window_end { counter.window_end.saturating_sub(now) } else { budget.window_secs };
    Some(wait.max(1))
}

/// [`decide`] for an app spending shared budgets: every counter with a budget must also
/// pass the fair-share rule for `tenant` (its `shares` are that counter's rows). All or
/// nothing, as [`decide`]. Returns the decision, the counters' new states and, for each
/// budgeted counter of an allowed take, the tenant's new share row (`None` otherwise).
pub fn decide_shared(
    now: i64,
    tenant: &Tenant,
    takes: &[(Take, Counter, Vec<Share>)],
) -> (Decision, Vec<Counter>, Vec<Option<Share>>) {
    let pairs: Vec<(Take, Counter)> = takes.iter().map(|(t, c, _)| (t.clone(), *c)).collect();
    let (decision, next) = decide(now, &pairs);
    let fair_wait = takes.iter().filter_map(|(t, c, s)| t.budget.and_then(|b| unfair_wait(now, b, c, tenant, s))).max();
    let unchanged: Vec<Counter> = takes.iter().map(|(_, c, _)| *c).collect();
    let none = || takes.iter().map(|_| None).collect();
    match (decision, fair_wait) {
        (Decision::Allow, None) => {
            let shares = takes
                .iter()
                .zip(&next)
                .map(|((t, _, shares), after)| {
                    let b = t.budget?;
                    let own = shares.iter().find(|s| s.tenant == tenant.id).map_or(0, |s| s.used_at(now));
                    Some(Share {
                        tenant: tenant.id.clone(),
                        weight: tenant.weight,
                        used: own.saturating_add(1),
                        window_end: after.window_end,
                        active_until: now.saturating_add(b.window_secs),
                    })
                })
                .collect();
            (Decision::Allow, next, shares)
        }
        (Decision::Allow, Some(w)) => (Decision::Refuse { retry_after_secs: w }, unchanged, none()),
        (Decision::Refuse { retry_after_secs }, w) => {
            (Decision::Refuse { retry_after_secs: retry_after_secs.max(w.unwrap_or(0)) }, unchanged, none())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::{apply, Report};

    const T0: i64 = 1_700_000_000;
    const DAY: i64 = 86_400;

    fn tenant(id: &str, weight: u32) -> Tenant {
        Tenant { id: id.into(), weight }
    }

    /// One object's state for a single shared counter, run as the object runs takes.
    struct Object {
        budget: Budget,
        counter: Counter,
        shares: Vec<Share>,
    }

    impl Object {
        fn new(limit: u32, window_secs: i64) -> Self {
            Object { budget: Budget { limit, window_secs }, counter: Counter::default(), shares: vec![] }
        }

        fn take(&mut self, now: i64, t: &Tenant) -> Decision {
            let take = Take { key: "k".into(), budget: Some(self.budget) };
            let active: Vec<Share> = self.shares.iter().filter(|s| s.is_active(now)).cloned().collect();
            let (d, next, shares) = decide_shared(now, t, &[(take, self.counter, active)]);
            self.counter = next[0];
            if let Some(Some(s)) = shares.into_iter().next() {
                self.shares.retain(|o| o.tenant != s.tenant);
                self.shares.push(s);
            }
            d
        }

        /// What the platform reported after a call, applied as the object applies it: the
        /// counter is corrected, and its shares follow a window it moved.
        fn report(&mut self, now: i64, remaining: u32, reset_at: i64) {
            let r =
                Report { key: "k".into(), remaining: Some(remaining), reset_at: Some(reset_at), blocked_until: None };
            let after = apply(now, self.counter, Some(self.budget.limit), &r);
            if let Some((from, to)) = follow_window(now, &self.counter, &after) {
                self.shares = self.shares.drain(..).map(|s| s.follow(from, to)).collect();
            }
            self.counter = after;
        }

        /// Takes until refused (at most `max`): how many were allowed.
        fn spend(&mut self, now: i64, t: &Tenant, max: u32) -> u32 {
            (0..max).take_while(|_| self.take(now, t) == Decision::Allow).count() as u32
        }
    }

    #[test]
    fn an_app_alone_may_use_the_whole_budget() {
        let mut o = Object::new(100, DAY);
        assert_eq!(o.spend(T0, &tenant("a", 1), 1000), 100);
        assert_eq!(o.take(T0 + 10, &tenant("a", 1)), Decision::Refuse { retry_after_secs: DAY - 10 });
    }

    #[test]
    fn two_apps_contending_get_their_equal_shares_whoever_asks_first() {
        let (a, b) = (tenant("a", 1), tenant("b", 1));
        let mut o = Object::new(100, DAY);
        assert_eq!(o.take(T0, &b), Decision::Allow, "b is active");
        // a tries to spend everything: it stops at its share.
        assert_eq!(o.spend(T0 + 1, &a, 1000), 50);
        // b still gets its share after a tried to spend all of it.
        assert_eq!(o.spend(T0 + 2, &b, 1000), 49);
        assert_eq!(o.counter.used, 100);
        let used = |id: &str| o.shares.iter().find(|s| s.tenant == id).unwrap().used;
        assert_eq!((used("a"), used("b")), (50, 50), "neither got more than its share");
    }

    #[test]
    fn weights_divide_the_budget() {
        let (a, b) = (tenant("a", 3), tenant("b", 1));
        let mut o = Object::new(100, DAY);
        assert_eq!(o.take(T0, &a), Decision::Allow);
        assert_eq!(o.take(T0, &b), Decision::Allow);
        assert_eq!(o.spend(T0, &b, 1000), 24, "b is owed a quarter");
        assert_eq!(o.spend(T0, &a, 1000), 74, "a is owed three quarters");
        assert_eq!(o.counter.used, 100);
    }

    #[test]
    fn an_app_may_use_what_an_idle_app_left_once_it_stopped_contending() {
        let (a, b) = (tenant("a", 1), tenant("b", 1));
        let mut o = Object::new(10, 600);
        assert_eq!(o.take(T0, &b), Decision::Allow);
        assert_eq!(o.spend(T0, &a, 100), 5);
        // b's unspent share stays reserved while b is active ...
        assert!(matches!(o.take(T0 + 599, &a), Decision::Refuse { .. }));
        // ... and the next window, b idle for a whole window, a may take all of it.
        assert_eq!(o.spend(T0 + 600, &a, 100), 10);
    }

    #[test]
    fn a_third_app_arriving_late_shares_what_is_left_with_those_under_their_share() {
        let (a, b, c) = (tenant("a", 1), tenant("b", 1), tenant("c", 1));
        let mut o = Object::new(90, DAY);
        assert_eq!(o.take(T0, &b), Decision::Allow);
        assert_eq!(o.spend(T0, &a, 1000), 45);
        // c comes: each is owed 30 now. a spent more already and waits for the window; b and
        // c, under their shares, take what is left (first come, first served) up to them.
        assert_eq!(o.take(T0, &c), Decision::Allow);
        assert_eq!(o.take(T0, &a), Decision::Refuse { retry_after_secs: DAY });
        assert_eq!(o.spend(T0, &b, 1000), 29, "b up to its share");
        assert_eq!(o.spend(T0, &c, 1000), 14, "c gets the rest");
        assert_eq!(o.counter.used, 90, "nothing is left unused");
    }

    #[test]
    fn a_fresh_window_never_refuses_whatever_the_weights() {
        for (limit, others) in [(1, 5u32), (3, 5), (2, 1), (10, 1), (100, 50)] {
            let shares: Vec<Share> = (0..others)
                .map(|i| Share {
                    tenant: format!("o{i}"),
                    weight: MAX_WEIGHT,
                    used: 0,
                    window_end: 0,
                    active_until: T0 + 5,
                })
                .collect();
            let take = Take { key: "k".into(), budget: Some(Budget { limit, window_secs: 60 }) };
            let (d, _, _) = decide_shared(T0, &tenant("a", 1), &[(take, Counter::default(), shares)]);
            assert_eq!(d, Decision::Allow, "limit {limit}, {others} heavy others");
        }
    }

    #[test]
    fn a_refusal_spends_nothing_and_the_plain_budget_still_applies() {
        let take = Take { key: "k".into(), budget: Some(Budget { limit: 2, window_secs: 60 }) };
        let spent = Counter { used: 2, window_end: T0 + 30, blocked_until: 0 };
        let (d, next, shares) = decide_shared(T0, &tenant("a", 1), &[(take.clone(), spent, vec![])]);
        assert_eq!(d, Decision::Refuse { retry_after_secs: 30 });
        assert_eq!(next, vec![spent]);
        assert_eq!(shares, vec![None]);
        // An unbudgeted counter (a remembered block) is not shared out: no share row.
        let block = Take { key: "*".into(), budget: None };
        let (d, _, shares) = decide_shared(
            T0,
            &tenant("a", 1),
            &[(block, Counter::default(), vec![]), (take, Counter::default(), vec![])],
        );
        assert_eq!(d, Decision::Allow);
        assert_eq!(shares[0], None);
        assert_eq!(shares[1].as_ref().map(|s| (s.used, s.active_until)), Some((1, T0 + 60)));
    }

    #[test]
    fn shares_follow_a_window_a_platform_report_moves() {
        let (a, b) = (tenant("a", 1), tenant("b", 1));
        let mut o = Object::new(10, 600);
        assert_eq!(o.take(T0, &b), Decision::Allow);
        assert_eq!(o.spend(T0 + 1, &a, 100), 5, "a stops at its share");
        assert_eq!(o.take(T0 + 100, &b), Decision::Allow, "b still contends");
        // The platform's window ends later than ours (Reddit reports its reset on every
        // answer) and it counted the same 7 calls.
        o.report(T0 + 200, 3, T0 + 900);
        assert_eq!(o.counter, Counter { used: 7, window_end: T0 + 900, blocked_until: 0 });
        // Past the end the window had before the report, a has still spent its share in
        // the window the counter is in: b's unspent 3 stay reserved for b.
        assert!(matches!(o.take(T0 + 650, &a), Decision::Refuse { .. }), "a takes no more than its share");
        assert_eq!(o.spend(T0 + 660, &b, 100), 3, "b gets the rest of its share");
        assert_eq!(o.counter.used, 10);
        // A window that had ended is history: a report does not bring its shares back.
        let ended = Counter { used: 4, window_end: T0, blocked_until: 0 };
        assert_eq!(follow_window(T0, &ended, &Counter { window_end: T0 + 60, ..ended }), None);
        assert_eq!(follow_window(T0, &o.counter, &o.counter), None, "a window that did not move");
    }
}
