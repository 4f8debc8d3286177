use super::*;
use crate::ratelimit::{quota, Budget, Counter, Returned, Take};

const T0_MS: i64 = 1_700_000_000_000;

fn takes() -> Vec<Take> {
    vec![Take { key: "proxy".into(), budget: Some(Budget { limit: 1_000, window_secs: 60 }) }]
}

/// A lease of `units` granted at `now_ms` (its quotas as the object would answer them).
fn granted(units: u32, now_ms: i64) -> Lease {
    let b = Budget { limit: 1_000, window_secs: 60 };
    let c = Counter { used: units, window_end: now_ms / 1000 + 60, blocked_until: 0 };
    Lease::new(units, now_ms / 1000, now_ms, vec![quota(now_ms / 1000, "proxy", b, &c)])
}

#[test]
fn a_take_asks_for_one_unit_then_a_lease_while_it_is_asked_for_within_10_s() {
    let mut book = Book::new();
    let t = takes();
    assert_eq!(book.step("tenant:a", &t, T0_MS, false), Step::Ask(1, None), "never asked: one unit");
    book.end("tenant:a", &t, None);
    assert_eq!(book.step("tenant:a", &t, T0_MS + 5_000, false), Step::Ask(LEASE_WANT, None), "asked 5 s ago");
    book.end("tenant:a", &t, None);
    assert_eq!(book.step("tenant:a", &t, T0_MS + 5_000 + SEEN_MS + 1, false), Step::Ask(1, None), "asked over 10 s ago");
}

#[test]
fn a_live_lease_is_spent_here_and_its_unused_units_go_back_with_the_next_ask() {
    let mut book = Book::new();
    let t = takes();
    assert!(matches!(book.step("tenant:a", &t, T0_MS, false), Step::Ask(..)));
    book.end("tenant:a", &t, Some(granted(10, T0_MS)));
    for _ in 0..9 {
        assert!(matches!(book.step("tenant:a", &t, T0_MS + 10, false), Step::Spent(_)));
    }
    assert_eq!(book.step("tenant:a", &t, T0_MS + 20, false), Step::Ask(LEASE_WANT, None), "spent: nothing to give back");
    book.end("tenant:a", &t, Some(granted(10, T0_MS + 20)));
    assert!(matches!(book.step("tenant:a", &t, T0_MS + 30, false), Step::Spent(_)));
    let after = T0_MS + 20 + super::super::LEASE_MS;
    let back = Some(Returned { at: (T0_MS + 20) / 1000, units: 8 });
    assert_eq!(book.step("tenant:a", &t, after, false), Step::Ask(LEASE_WANT, back), "ended with 8 unused");
}

#[test]
fn one_request_asks_at_a_time_unless_forced_and_a_dropped_ask_lets_others_ask() {
    let mut book = Book::new();
    let t = takes();
    assert!(matches!(book.step("tenant:a", &t, T0_MS, false), Step::Ask(..)));
    assert_eq!(book.step("tenant:a", &t, T0_MS + 1, false), Step::Wait);
    assert!(matches!(book.step("tenant:a", &t, T0_MS + 2, true), Step::Ask(..)), "forced");
    book.end("tenant:a", &t, None);
    assert!(matches!(book.step("tenant:a", &t, T0_MS + 3, false), Step::Ask(..)), "asking again once ended");
    // Other takes, or the same takes in another object, are asked for apart.
    assert!(matches!(book.step("tenant:b", &t, T0_MS + 4, false), Step::Ask(..)));
}

#[test]
fn release_and_drop_end_leases_and_say_what_is_unused() {
    let mut book = Book::new();
    let t = takes();
    book.step("account:x:1", &t, T0_MS, false);
    book.end("account:x:1", &t, Some(granted(10, T0_MS)));
    assert_eq!(book.release("account:x:1", &t), Some((T0_MS / 1000, 9)));
    assert_eq!(book.release("account:x:1", &t), None, "released once");
    book.step("account:x:1", &t, T0_MS + 1, false);
    book.end("account:x:1", &t, Some(granted(10, T0_MS + 1)));
    book.drop_object("account:x:1");
    assert!(matches!(book.step("account:x:1", &t, T0_MS + 2, false), Step::Ask(_, None)), "dropped: asks, gives nothing back");
}

#[test]
fn entries_not_asked_for_in_10_s_leave_and_the_book_stays_bounded() {
    let mut book = Book::new();
    let t = takes();
    for i in 0..(MAX_HELD as i64 + 50) {
        let object = format!("account:x:{i}");
        book.step(&object, &t, T0_MS + i, false);
        book.end(&object, &t, None);
        assert!(book.len() <= MAX_HELD + 1, "{} entries", book.len());
    }
    book.step("tenant:a", &t, T0_MS + 1_000 + SEEN_MS + MAX_HELD as i64 + 50, false);
    assert_eq!(book.len(), 1, "only the asking entry is left");
}
