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
    assert_eq!(quota(T0, b, &c), Quota { limit: 3, remaining: 2, reset_secs: 60 });
    // A window that ended: all of it, for a whole window from the next call.
    assert_eq!(quota(T0 + 61, b, &c).remaining, 3);
    let over = Counter { used: 9, ..c };
    assert_eq!(quota(T0, b, &over).remaining, 0);
    let blocked = Counter { blocked_until: T0 + 300, ..c };
    assert_eq!((quota(T0, b, &blocked).remaining, quota(T0, b, &blocked).reset_secs), (0, 300));
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
    assert_eq!(req, LimiterRequest::Take { now: 5, takes: want.clone(), tenant: None, quotas: false, lease: 0, returned: None });
    let json = r#"{"op":"take","now":5,"takes":[],"tenant":{"id":"app_1","weight":2},"quotas":true}"#;
    let tenant = Some(Tenant { id: "app_1".into(), weight: 2 });
    let req: LimiterRequest = serde_json::from_str(json).unwrap();
    assert_eq!(req, LimiterRequest::Take { now: 5, takes: vec![], tenant: tenant.clone(), quotas: true, lease: 0, returned: None });
    assert_eq!(serde_json::to_string(&req).unwrap(), json, "written as read");
    let plain = LimiterRequest::Take { now: 5, takes: want, tenant: None, quotas: false, lease: 0, returned: None };
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
    let req = |takes: Vec<Take>| LimiterRequest::Take { now: T0, takes, tenant: None, quotas: false, lease: 0, returned: None };
    assert_eq!(req(vec![take("a", 1, 60), unbudgeted("b")]).validate(), Ok(()));
    assert!(req(vec![take("a", 0, 60)]).validate().is_err());
    assert!(req(vec![take("a", 1, 0)]).validate().is_err());
    assert!(req(vec![take("a", 1, MAX_WINDOW_SECS + 1)]).validate().is_err());
    assert!(req(vec![take("", 1, 60)]).validate().is_err());
    assert!(req(vec![take(&"k".repeat(MAX_KEY_LEN + 1), 1, 60)]).validate().is_err());
    assert!(req(vec![take("a", 1, 60), take("a", 2, 60)]).validate().is_err());
    // Distinct keys in any order pass; a repeat anywhere in the list is refused.
    assert_eq!(req(vec![take("c", 1, 60), take("a", 1, 60), take("b", 1, 60)]).validate(), Ok(()));
    assert_eq!(
        req(vec![take("b", 1, 60), take("a", 1, 60), unbudgeted("c"), take("b", 2, 60)]).validate(),
        Err("keys must be distinct")
    );
    assert!(req((0..=MAX_ENTRIES).map(|i| take(&i.to_string(), 1, 60)).collect()).validate().is_err());
    assert!(LimiterRequest::Take { now: -1, takes: vec![], tenant: None, quotas: false, lease: 0, returned: None }.validate().is_err());
    let as_tenant = |id: &str, weight| LimiterRequest::Take {
        now: T0,
        takes: vec![],
        tenant: Some(Tenant { id: id.into(), weight }),
        quotas: false,
        lease: 0,
        returned: None,
    };
    assert_eq!(as_tenant("app_1", 1).validate(), Ok(()));
    assert!(as_tenant("", 1).validate().is_err());
    assert!(as_tenant("app_1", 0).validate().is_err());
    assert!(as_tenant("app_1", fair::MAX_WEIGHT + 1).validate().is_err());
    assert!(LimiterRequest::Report { now: MAX_NOW + 1, reports: vec![] }.validate().is_err());
}
