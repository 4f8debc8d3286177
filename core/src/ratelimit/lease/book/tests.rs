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
    Lease::new(units, now_ms / 1000, now_ms, vec![quota(now_ms / 1000, b, &c)])
}

/// Asks for `takes` in `object` at `now_ms` and has the object grant what was asked for.
fn ask_and_grant(book: &mut Book, object: &str, now_ms: i64) -> u32 {
    let t = takes();
    let Step::Ask(want, _) = book.step(object, &t, now_ms, false) else { panic!("no ask") };
    book.end(object, &t, now_ms, want, want, (want > 1).then(|| granted(want, now_ms)));
    want
}

#[test]
fn a_take_asks_for_one_unit_then_twice_what_it_used_while_asked_for_within_10_s() {
    let mut book = Book::new();
    let t = takes();
    assert_eq!(ask_and_grant(&mut book, "tenant:a", T0_MS), 1, "never asked: one unit");
    assert_eq!(ask_and_grant(&mut book, "tenant:a", T0_MS + 5_000), 2, "asked 5 s ago, used 1");
    // Both units used (the ask's and one spent here): 4, then 8, 16, 32 and no more.
    let mut now = T0_MS + 5_000;
    for want in [4, 8, 16, 32, 32] {
        now += 10;
        // Spend the lease here until the step asks again.
        let w = loop {
            match book.step("tenant:a", &t, now, false) {
                Step::Spent(_) => continue,
                Step::Ask(w, None) => break w,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(w, want);
        book.end("tenant:a", &t, now, w, w, Some(granted(w, now)));
    }
    let later = now + SEEN_MS + 1;
    assert!(matches!(book.step("tenant:a", &t, later, false), Step::Ask(1, Some(_))), "asked over 10 s ago");
}

#[test]
fn a_lease_half_used_asks_for_no_more_and_its_unused_units_go_back_with_the_next_ask() {
    let mut book = Book::new();
    let t = takes();
    ask_and_grant(&mut book, "tenant:a", T0_MS);
    assert_eq!(ask_and_grant(&mut book, "tenant:a", T0_MS + 10), 2);
    // One of the two units used; the lease ends after its second.
    let after = T0_MS + 10 + super::super::LEASE_MS;
    let back = Some(Returned { at: (T0_MS + 10) / 1000, units: 1 });
    assert_eq!(book.step("tenant:a", &t, after, false), Step::Ask(2, back), "used 1: asks 2, gives 1 back");
}

#[test]
fn one_request_asks_at_a_time_unless_forced_or_the_object_declines_to_lease() {
    let mut book = Book::new();
    let t = takes();
    assert!(matches!(book.step("tenant:a", &t, T0_MS, false), Step::Ask(1, None)));
    assert_eq!(book.step("tenant:a", &t, T0_MS + 1, false), Step::Wait);
    assert!(matches!(book.step("tenant:a", &t, T0_MS + 2, true), Step::Ask(..)), "forced");
    book.end("tenant:a", &t, T0_MS + 3, 1, 1, None);
    assert!(matches!(book.step("tenant:a", &t, T0_MS + 4, false), Step::Ask(2, None)), "asking again once ended");
    // The object grants one unit to an ask of two (near the end of the budget): for a second,
    // every request asks one unit, none waits for another.
    book.end("tenant:a", &t, T0_MS + 5, 2, 1, None);
    assert_eq!(book.step("tenant:a", &t, T0_MS + 6, false), Step::Ask(1, None));
    assert_eq!(book.step("tenant:a", &t, T0_MS + 7, false), Step::Ask(1, None), "no wait while declined");
    book.end("tenant:a", &t, T0_MS + 8, 1, 1, None);
    book.end("tenant:a", &t, T0_MS + 8, 1, 1, None);
    assert_eq!(book.step("tenant:a", &t, T0_MS + 5 + super::super::LEASE_MS, false), Step::Ask(2, None));
    // Other takes, or the same takes in another object, are asked for apart.
    assert!(matches!(book.step("tenant:b", &t, T0_MS + 9, false), Step::Ask(..)));
}

#[test]
fn release_and_drop_end_leases_and_say_what_is_unused() {
    let mut book = Book::new();
    let t = takes();
    ask_and_grant(&mut book, "account:x:1", T0_MS);
    let t0 = T0_MS + 1;
    book.step("account:x:1", &t, t0, false);
    book.end("account:x:1", &t, t0, 2, 10, Some(granted(10, t0)));
    assert_eq!(book.release("account:x:1", &t), Some((t0 / 1000, 9)));
    assert_eq!(book.release("account:x:1", &t), None, "released once");
    book.step("account:x:1", &t, t0 + 1, false);
    book.end("account:x:1", &t, t0 + 1, 2, 10, Some(granted(10, t0 + 1)));
    book.drop_object("account:x:1");
    assert!(matches!(book.step("account:x:1", &t, t0 + 2, false), Step::Ask(_, None)), "dropped: asks, gives nothing back");
}

#[test]
fn a_crowded_book_drops_the_entries_asked_for_longest_ago_not_a_busy_lease() {
    let mut book = Book::new();
    let t = takes();
    ask_and_grant(&mut book, "tenant:busy", T0_MS);
    let mut now = T0_MS;
    for i in 0..(MAX_HELD as i64 + 300) {
        now += 1;
        if i == MAX_HELD as i64 - 10 {
            // The busy takes are spent and asked for again just before the book fills: their
            // live lease must outlast the crowd.
            let w = loop {
                match book.step("tenant:busy", &t, now, false) {
                    Step::Spent(_) => continue,
                    Step::Ask(w, _) => break w,
                    other => panic!("{other:?}"),
                }
            };
            book.end("tenant:busy", &t, now, w, w, Some(granted(w, now)));
        }
        ask_and_grant(&mut book, &format!("account:x:{i}"), now);
        assert!(book.len() <= MAX_HELD + 1, "{} entries", book.len());
    }
    assert!(matches!(book.step("tenant:busy", &t, now + 1, false), Step::Spent(_)), "the busy lease is still here");
    book.step("tenant:a", &t, now + 1 + SEEN_MS + 1, false);
    assert_eq!(book.len(), 1, "entries not asked for in 10 s left; only the asking one is here");
}
