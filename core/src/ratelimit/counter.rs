//! A counter, the budgets a take checks against it, and the all-or-nothing decision of one
//! call over its counters: what the object's plain and fair-share paths and the refund all
//! build on (the parent module and its `fair` and `refund` files import it from here).

use serde::{Deserialize, Serialize};

/// A budget: at most `limit` calls per `window_secs` (a window starts at the first call after
/// the previous one ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Calls allowed per window.
    pub limit: u32,
    /// The window's length in seconds.
    pub window_secs: i64,
}

/// One counter to check and spend: `key` names it inside the object (e.g. `"POST /2/tweets"`
/// or `"*"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Take {
    /// The counter's name inside the object.
    pub key: String,
    /// The configured budget; `None`: nothing is counted, only a remembered block applies.
    pub budget: Option<Budget>,
}

/// The answer to a take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case", try_from = "DecisionWire")]
pub enum Decision {
    /// Call the platform; one unit was spent from every budgeted counter.
    Allow,
    /// Do not call the platform; answer 429 `rate_limited` with this `Retry-After`.
    Refuse {
        /// Seconds until every refusing counter allows again (at least 1).
        retry_after_secs: i64,
    },
}

// Read through a flat shape and converted, as `LimiterRequest` is (see there).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DecisionKind {
    Allow,
    Refuse,
}

#[derive(Deserialize)]
struct DecisionWire {
    decision: DecisionKind,
    retry_after_secs: Option<i64>,
}

impl TryFrom<DecisionWire> for Decision {
    type Error = &'static str;
    fn try_from(w: DecisionWire) -> Result<Self, Self::Error> {
        match (w.decision, w.retry_after_secs) {
            (DecisionKind::Allow, _) => Ok(Decision::Allow),
            (DecisionKind::Refuse, Some(retry_after_secs)) => Ok(Decision::Refuse { retry_after_secs }),
            (DecisionKind::Refuse, None) => Err("missing field `retry_after_secs`"),
        }
    }
}

/// One counter's stored state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counter {
    /// Units spent in the window ending at `window_end`.
    pub used: u32,
    /// When the current window ends; at or before `now` the window is over.
    pub window_end: i64,
    /// Every call on this counter is refused before this time.
    pub blocked_until: i64,
}

impl Counter {
    /// Units spent in the window that is current at `now` (none once it has ended).
    pub(super) fn used_at(&self, now: i64) -> u32 {
        if now < self.window_end {
            self.used
        } else {
            0
        }
    }

    /// Whether this state tells nothing a fresh counter would not: its window and any block
    /// are over. Such a row can be deleted without changing any decision.
    pub fn is_spent_history(&self, now: i64) -> bool {
        self.window_end <= now && self.blocked_until <= now
    }
}

/// Decides one call over all the counters that apply to it, all or nothing.
///
/// Refuses if any counter is blocked (`blocked_until > now`) or has spent its budget in the
/// current window; then nothing is spent, and the retry is the longest wait among the
/// refusing counters (at least 1 s), so a retry after it is not refused by another of them.
/// On allow, every counter with a budget is spent by one, its window restarted at `now` when
/// the previous one has ended. Returns the counters' new states, in the order of `takes`
/// (unchanged on a refusal).
pub fn decide(now: i64, takes: &[(Take, Counter)]) -> (Decision, Vec<Counter>) {
    let mut wait: Option<i64> = None;
    for (take, c) in takes {
        let mut refuse_for = |secs: i64| wait = Some(wait.map_or(secs, |w| w.max(secs)));
        if c.blocked_until > now {
            refuse_for(c.blocked_until.saturating_sub(now));
        }
        if let Some(b) = take.budget {
            if c.used_at(now) >= b.limit {
                // Spent: wait for the current window to end, or (a zero limit, which `validate`
                // refuses) for a whole window.
                let secs = if now < c.window_end { c.window_end.saturating_sub(now) } else { b.window_secs };
                refuse_for(secs);
            }
        }
    }
    let states: Vec<Counter> = takes.iter().map(|(_, c)| *c).collect();
    if let Some(w) = wait {
        return (Decision::Refuse { retry_after_secs: w.max(1) }, states);
    }
    let spent = takes
        .iter()
        .map(|(take, c)| match take.budget {
            None => *c,
            Some(b) if now >= c.window_end => {
                Counter { used: 1, window_end: now.saturating_add(b.window_secs.max(1)), ..*c }
            }
            Some(_) => Counter { used: c.used.saturating_add(1), ..*c },
        })
        .collect();
    (Decision::Allow, spent)
}
