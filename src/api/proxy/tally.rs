//! Proxied-call counters for `GET /v1/admin/stats`, summed in this isolate and written to D1
//! at most once a second, after an answer (issue 26): a D1 write for every proxied call was a
//! large part of the proxy's cost. The first call counted while no write is pending starts
//! one, [`FLUSH_AFTER_MS`] later; the calls counted in between join it. What an isolate holds
//! when the runtime evicts it (at most that second's calls) is lost: the counters are for an
//! operator's overview, and the one JSON log line per call stays the exact record.

use crate::ctx::Ctx;
use crate::store;
use std::cell::RefCell;
use std::time::Duration;
use crate::respond::object;
use worker::Delay;

/// How long counted calls wait in the isolate before they are written.
pub const FLUSH_AFTER_MS: u64 = 1_000;

/// One counter of `proxy_stats`: its key and the calls not yet written.
struct Count {
    minute: i64,
    platform: String,
    status: u16,
    source: &'static str,
    calls: u32,
}

/// The isolate's counts not yet written, and whether a write is on its way.
#[derive(Default)]
struct Tally {
    counts: Vec<Count>,
    write_pending: bool,
}

thread_local! {
    static TALLY: RefCell<Tally> = RefCell::new(Tally::default());
    /// The (minute, profile, status) of the errors this isolate wrote to the history in the
    /// current minute: a repeat writes nothing.
    static NOTED: RefCell<Vec<(i64, String, u16)>> = const { RefCell::new(Vec::new()) };
}

/// Whose error a proxied call's answer was.
pub struct ErrorAt<'a> {
    /// The app.
    pub app_id: &'a str,
    /// The profile's platform.
    pub platform: &'a str,
    /// The profile.
    pub profile_id: &'a str,
    /// The answer's status (400 or more).
    pub status: u16,
}

/// Writes a proxied call's error to the history after the answer, unless this profile's
/// error of that status is already written this minute: here (the isolate remembers), or by
/// another isolate (the statement checks). `code` and `detail`: our error code and sentence
/// for a refusal of ours, else what happened; never the platform's body.
pub async fn note_error(ctx: &Ctx, at: ErrorAt<'_>, code: Option<&'static str>, detail: String) {
    let now = ctx.now();
    let minute = now / 60;
    let first = NOTED.with(|n| {
        let mut n = n.borrow_mut();
        n.retain(|(m, _, _)| *m == minute);
        let seen = n.iter().any(|(_, p, s)| p == at.profile_id && *s == at.status);
        if !seen {
            n.push((minute, at.profile_id.to_string(), at.status));
        }
        !seen
    });
    let Ok(db) = ctx.db() else { return };
    if !first {
        return;
    }
    let (app_id, platform, profile_id, status) =
        (at.app_id.to_string(), at.platform.to_string(), at.profile_id.to_string(), at.status);
    ctx.after_answer(async move {
        let row = store::NewActivity {
            at: now,
            app_id: &app_id,
            platform: &platform,
            profile_id: Some(&profile_id),
            kind: "proxy_error",
            outcome: if status == 429 { "rate_limited" } else { "failed" },
            status: Some(status),
            code,
            detail: Some(&detail),
            ..store::NewActivity::default()
        };
        if let Err(e) = store::record_proxy_error(&db, &row, minute * 60).await {
            crate::log::warn(&object!("event": "proxy_error_note_failed", "error": e.message));
        }
    })
    .await;
}

/// Counts one proxied call in `minute`. The call's own answer never waits for D1.
pub async fn count(ctx: &Ctx, minute: i64, platform: &str, status: u16, source: &'static str) {
    let starts_write = TALLY.with(|t| {
        let mut t = t.borrow_mut();
        let same = |c: &&mut Count| c.minute == minute && c.status == status && c.source == source && c.platform == platform;
        match t.counts.iter_mut().find(same) {
            Some(c) => c.calls = c.calls.saturating_add(1),
            None => t.counts.push(Count { minute, platform: platform.to_string(), status, source, calls: 1 }),
        }
        !std::mem::replace(&mut t.write_pending, true)
    });
    if !starts_write {
        return;
    }
    let Ok(db) = ctx.db() else {
        // No database: the counts wait for the next call's attempt.
        TALLY.with(|t| t.borrow_mut().write_pending = false);
        return;
    };
    // In a request the write waits its second after the answer; anywhere else (no answer to
    // wait for) it goes at once.
    let wait = ctx.waiter.is_some();
    ctx.after_answer(async move {
        if wait {
            Delay::from(Duration::from_millis(FLUSH_AFTER_MS)).await;
        }
        let counts = TALLY.with(|t| {
            let mut t = t.borrow_mut();
            t.write_pending = false;
            std::mem::take(&mut t.counts)
        });
        for c in counts {
            if let Err(e) = store::count_proxy_calls(&db, c.minute, &c.platform, c.status, c.source, c.calls).await {
                crate::log::warn(&object!("event": "proxy_stats_failed", "error": e.message));
            }
        }
    })
    .await;
}
