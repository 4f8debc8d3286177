//! Giving a take back: the proxy spends a platform account's budgets before it asks the
//! platform app's shares (a remembered account-level 429 must not cost an app its share),
//! so when the share refuses, the account's units were spent for a call that never went.

use super::counter::{Counter, Take};

/// Gives back `units` an allowed take made at `at` spent from counter `c`: one, now that
/// another object refused the call (the call never went), or a lease's units its isolate did
/// not use (`lease`). Only while `c` is still in the
/// window that take spent in: it ended after `at` and, as every window starts at or before
/// the take that spends in it, no later than `at + window_secs` (a window started later
/// ends later than that; its count was not spent by this take). An unbudgeted counter
/// spent nothing.
pub fn refund(at: i64, take: &Take, c: Counter, units: u32) -> Counter {
    match take.budget {
        Some(b) if at < c.window_end && c.window_end <= at.saturating_add(b.window_secs) => {
            Counter { used: c.used.saturating_sub(units), ..c }
        }
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratelimit::{decide, Budget, Decision};

    const T0: i64 = 1_700_000_000;

    fn take(limit: u32, window_secs: i64) -> Take {
        Take { key: "POST /2/tweets".into(), budget: Some(Budget { limit, window_secs }) }
    }

    #[test]
    fn a_refund_gives_back_the_unit_its_take_spent() {
        let t = take(2, 900);
        let (_, spent) = decide(T0, &[(t.clone(), Counter::default())]);
        let (_, spent) = decide(T0 + 5, &[(t.clone(), spent[0])]);
        assert_eq!(decide(T0 + 6, &[(t.clone(), spent[0])]).0, Decision::Refuse { retry_after_secs: 894 });
        let back = refund(T0 + 5, &t, spent[0], 1);
        assert_eq!(back, Counter { used: 1, window_end: T0 + 900, blocked_until: 0 });
        assert_eq!(decide(T0 + 6, &[(t, back)]).0, Decision::Allow, "the unit can be spent again");
    }

    #[test]
    fn a_refund_never_takes_from_a_later_window_or_an_unbudgeted_counter() {
        let t = take(5, 60);
        // The take at T0 spent in a window that ended; a later take started a new one.
        let later = Counter { used: 1, window_end: T0 + 70 + 60, blocked_until: 0 };
        assert_eq!(refund(T0, &t, later, 1), later);
        // A window that ended before the take is not the one it spent in.
        let old = Counter { used: 3, window_end: T0, blocked_until: 0 };
        assert_eq!(refund(T0, &t, old, 1), old);
        let block = Take { key: "*".into(), budget: None };
        let c = Counter { used: 4, window_end: T0 + 10, blocked_until: T0 + 10 };
        assert_eq!(refund(T0, &block, c, 1), c);
        assert_eq!(refund(T0, &t, Counter { used: 0, window_end: T0 + 30, blocked_until: 0 }, 1).used, 0);
    }

    #[test]
    fn a_refund_has_the_agreed_json_shape() {
        use crate::ratelimit::LimiterRequest;
        let json =
            r#"{"op":"refund","now":5,"takes":[{"key":"POST /2/tweets","budget":{"limit":3,"window_secs":60}}]}"#;
        let req: LimiterRequest = serde_json::from_str(json).unwrap();
        assert_eq!(req, LimiterRequest::Refund { now: 5, takes: vec![take(3, 60)], units: None });
        assert_eq!(serde_json::to_string(&req).unwrap(), json, "written as read");
        assert_eq!(req.validate(), Ok(()));
        assert!(serde_json::from_str::<LimiterRequest>(r#"{"op":"refund","now":5}"#).is_err());
        assert!(LimiterRequest::Refund { now: 5, takes: vec![take(0, 60)], units: None }.validate().is_err());
        assert!(LimiterRequest::Refund { now: -1, takes: vec![], units: None }.validate().is_err());
    }
}
