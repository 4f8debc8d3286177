use super::*;
use crate::ratelimit::{quota, refund, Budget, LimiterRequest, Returned};

const T0: i64 = 1_700_000_000;

fn budgeted(limit: u32, window_secs: i64) -> Take {
    Take { key: "proxy".into(), budget: Some(Budget { limit, window_secs }) }
}

#[test]
fn a_lease_is_a_quarter_of_what_is_left_and_one_near_the_end() {
    let t = budgeted(1_000, 60);
    assert_eq!(lease_units(T0, LEASE_WANT, &[(t.clone(), Counter::default())]), LEASE_WANT);
    let used = |used| Counter { used, window_end: T0 + 30, blocked_until: 0 };
    assert_eq!(lease_units(T0, LEASE_WANT, &[(t.clone(), used(960))]), 10, "40 left: a quarter");
    assert_eq!(lease_units(T0, LEASE_WANT, &[(t.clone(), used(993))]), 1, "7 left: one per call");
    assert_eq!(lease_units(T0, LEASE_WANT, &[(t.clone(), used(1_000))]), 1, "spent: one, which decide refuses");
    assert_eq!(lease_units(T0, 0, &[(t.clone(), Counter::default())]), 1, "no lease asked: one");
    // A window that ended leaves the whole budget.
    assert_eq!(lease_units(T0 + 30, LEASE_WANT, &[(t, used(1_000))]), LEASE_WANT);
}

#[test]
fn a_counter_blocked_lately_is_not_leased_even_without_a_budget() {
    let block = Take { key: "*".into(), budget: None };
    let free = Counter::default();
    assert_eq!(lease_units(T0, LEASE_WANT, &[(block.clone(), free)]), LEASE_WANT, "no budget: time alone");
    let ended = Counter { blocked_until: T0 - 10, ..free };
    assert_eq!(lease_units(T0, LEASE_WANT, &[(block.clone(), ended)]), 1, "blocked 10 s ago");
    let long_ago = Counter { blocked_until: T0 - RECENT_BLOCK_SECS, ..free };
    assert_eq!(lease_units(T0, LEASE_WANT, &[(block, long_ago)]), LEASE_WANT);
}

#[test]
fn decide_units_spends_all_or_nothing() {
    let t = budgeted(100, 60);
    let both = [(t.clone(), Counter::default()), (Take { key: "*".into(), budget: None }, Counter::default())];
    let (d, next) = decide_units(T0, &both, 25);
    assert_eq!(d, Decision::Allow);
    assert_eq!(next[0], Counter { used: 25, window_end: T0 + 60, blocked_until: 0 });
    assert_eq!(next[1], Counter::default(), "an unbudgeted counter spends nothing");
    let blocked = [(t, Counter { used: 3, window_end: T0 + 60, blocked_until: T0 + 5 })];
    let (d, next) = decide_units(T0, &blocked, 25);
    assert_eq!(d, Decision::Refuse { retry_after_secs: 5 });
    assert_eq!(next[0].used, 3, "a refusal spends nothing");
}

#[test]
fn a_lease_ends_after_its_time_or_its_window_and_counts_its_units_as_remaining() {
    let b = Budget { limit: 100, window_secs: 60 };
    let spent = Counter { used: 30, window_end: T0 + 40, blocked_until: 0 };
    let q = quota(T0, b, &spent);
    let mut lease = Lease::new(10, T0, T0 * 1000 + 200, vec![q]);
    assert_eq!(lease.units, 9, "the call that took it used one");
    assert_eq!(lease.until_ms, T0 * 1000 + 200 + LEASE_MS);
    assert_eq!(lease.quotas_at(T0)[0].remaining, 79, "70 left in the object, 9 here");
    assert!(lease.spend(T0 * 1000 + 300));
    assert_eq!(lease.quotas_at(T0 + 1)[0].remaining, 78);
    assert_eq!(lease.quotas_at(T0 + 1)[0].reset_secs, 39);
    assert!(!lease.spend(T0 * 1000 + 200 + LEASE_MS), "over");
    // A window ending within the lease's time ends it.
    let ending = Counter { used: 30, window_end: T0 + 1, blocked_until: 0 };
    let lease = Lease::new(10, T0, T0 * 1000 + 500, vec![quota(T0, b, &ending)]);
    assert_eq!(lease.until_ms, (T0 + 1) * 1000);
    // Without a budget it lasts its time.
    assert_eq!(Lease::new(32, T0, 7, vec![]).until_ms, 7 + LEASE_MS);
    let mut one = Lease::new(1, T0, 0, vec![]);
    assert!(!one.spend(1), "a lease of one was spent by the call that took it");
}

#[test]
fn leases_have_the_agreed_json_shapes_and_bounds() {
    let json = r#"{"op":"take","now":5,"takes":[],"lease":32,"returned":{"at":4,"units":3}}"#;
    let req: LimiterRequest = serde_json::from_str(json).unwrap();
    let take =
        |lease, returned| LimiterRequest::Take { now: 5, takes: vec![], tenant: None, quotas: false, lease, returned };
    let want = take(32, Some(Returned { at: 4, units: 3 }));
    assert_eq!(req, want);
    assert_eq!(serde_json::to_string(&req).unwrap(), json, "written as read");
    assert_eq!(req.validate(), Ok(()));
    assert!(take(MAX_LEASE + 1, None).validate().is_err());
    assert!(take(32, Some(Returned { at: 4, units: 0 })).validate().is_err());
    let json = r#"{"op":"refund","now":5,"takes":[],"units":7}"#;
    let req: LimiterRequest = serde_json::from_str(json).unwrap();
    assert_eq!(req, LimiterRequest::Refund { now: 5, takes: vec![], units: Some(7) });
    assert_eq!(serde_json::to_string(&req).unwrap(), json);
    assert!(LimiterRequest::Refund { now: 5, takes: vec![], units: Some(MAX_LEASE + 1) }.validate().is_err());
}

/// A small deterministic random source (xorshift), so the simulation is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One budget of `limit` a minute in one object, and the leases of some isolates, spent as the
/// worker spends them: from the isolate's live lease, else from a new one the object grants,
/// the old one's unused units given back first.
struct Sim {
    t: Take,
    object: Counter,
    /// Each isolate's lease and the end of the window its units were spent in.
    leases: Vec<Option<(Lease, i64)>>,
    /// How many times the object was asked.
    asks: u32,
}

impl Sim {
    fn new(limit: u32, isolates: usize) -> Sim {
        Sim { t: budgeted(limit, 60), object: Counter::default(), leases: vec![None; isolates], asks: 0 }
    }

    /// A call of isolate `i` at `now_ms`: the end of the window its unit was spent in, `None`
    /// when the object refused it.
    fn call(&mut self, i: usize, now_ms: i64) -> Option<i64> {
        if let Some(w) = self.leases[i].as_mut().and_then(|(l, w)| l.spend(now_ms).then_some(*w)) {
            return Some(w);
        }
        self.asks += 1;
        let now = now_ms / 1000;
        if let Some((old, _)) = self.leases[i].take() {
            if old.units > 0 {
                self.object = refund(old.at, &self.t, self.object, old.units);
            }
        }
        let units = lease_units(now, LEASE_WANT, &[(self.t.clone(), self.object)]);
        let (d, next) = decide_units(now, &[(self.t.clone(), self.object)], units);
        self.object = next[0];
        (d == Decision::Allow).then(|| {
            let q = quota(now, self.t.budget.unwrap(), &self.object);
            self.leases[i] = Some((Lease::new(units, now, now_ms, vec![q]), self.object.window_end));
            self.object.window_end
        })
    }

    /// Units the leases of the window ending at `end` still hold.
    fn held_in(&self, end: i64) -> u32 {
        self.leases.iter().flatten().filter(|(_, w)| *w == end).map(|(l, _)| l.units).sum()
    }
}

/// A seeded run's random source, budget (20 to 319 a minute) and isolates (1 to 6).
fn seeded(seed: u64) -> (Rng, u32, usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let limit = 20 + rng.next(300) as u32;
    let isolates = 1 + rng.next(6) as usize;
    (rng, limit, isolates)
}

/// Several isolates spending one budget through leases, in a random order over a few windows.
/// No window lets more calls through than the budget, and no unit is lost or counted twice: at
/// every step the object's count for its window is the calls allowed in it plus the units
/// leases of it still hold.
#[test]
fn isolates_sharing_a_budget_through_leases_never_exceed_it_and_lose_no_unit() {
    for seed in 1..=40u64 {
        let (mut rng, limit, isolates) = seeded(seed);
        let mut sim = Sim::new(limit, isolates);
        let mut allowed_in: std::collections::BTreeMap<i64, u32> = Default::default();
        let mut now_ms = T0 * 1000;
        for _ in 0..3_000 {
            now_ms += rng.next(120) as i64;
            let i = rng.next(isolates as u64) as usize;
            if let Some(w) = sim.call(i, now_ms) {
                *allowed_in.entry(w).or_default() += 1;
            }
            let end = sim.object.window_end;
            let calls = allowed_in.get(&end).copied().unwrap_or(0);
            assert_eq!(sim.object.used, calls + sim.held_in(end), "seed {seed}: the object's count is calls plus leased units");
        }
        for (end, n) in allowed_in {
            assert!(n <= limit, "seed {seed}: {n} calls allowed in the window ending {end}, limit {limit}");
        }
    }
}

/// One isolate alone, its calls faster than its leases end: every unit of the budget is a
/// call before the first refusal (its own lease is spent before it asks again).
#[test]
fn one_isolate_gets_the_whole_budget_through_leases() {
    let mut sim = Sim::new(50, 1);
    let allowed = (0..60).filter(|call| sim.call(0, T0 * 1000 + call * 10).is_some()).count();
    assert_eq!(allowed, 50, "the whole budget");
    assert_eq!(sim.object.used, 50);
    assert!(sim.asks < 30, "asked the object {} times for 60 calls", sim.asks);
}

/// The same isolates at rates from a call every 20 ms to one every few seconds, so leases
/// run into their windows' ends: counted by when each call was spent (not by the window its
/// lease was granted in), no window lets more calls through than the budget.
#[test]
fn leases_across_window_ends_never_let_a_window_exceed_its_budget() {
    for seed in 1..=200u64 {
        let (mut rng, limit, isolates) = seeded(seed);
        let mut sim = Sim::new(limit, isolates);
        let mut calls: Vec<i64> = vec![];
        let mut windows: std::collections::BTreeSet<i64> = Default::default();
        let mut now_ms = T0 * 1000;
        for _ in 0..3_000 {
            now_ms += rng.next(40 + 10 * (seed % 60)) as i64;
            let i = rng.next(isolates as u64) as usize;
            if sim.call(i, now_ms).is_some() {
                calls.push(now_ms);
            }
            windows.insert(sim.object.window_end);
        }
        for end in windows {
            let n = calls.iter().filter(|&&c| c >= (end - 60) * 1000 && c < end * 1000).count() as u32;
            assert!(n <= limit, "seed {seed}: {n} calls spent in the window ending {end}, limit {limit}");
        }
    }
}
