//! The cron run's time budget, shared by the jobs that call platforms (refresh, liveness).

use crate::ctx::Ctx;

/// The default of `CRON_PHASE_BUDGET_MS`: 4 minutes, under the 5-minute cron interval, so
/// that a run whose calls hang (a tenant's own host that never answers) has stopped
/// starting calls before the next run starts, instead of two runs overlapping, and ends
/// well inside an invocation's wall time (which, when exceeded, kills the rest of it).
const PHASE_BUDGET_MS: i64 = 240_000;

/// How many more platform calls, one after the other, fit in the run's budget
/// (`CRON_PHASE_BUDGET_MS` from the run's start, default [`PHASE_BUDGET_MS`]), each taken
/// to last its whole timeout. The refresh and liveness phases start a call only while one
/// fits; what they did not start stays due (unmarked) for the next run.
pub fn calls_in_budget(ctx: &Ctx) -> usize {
    let budget = ctx.number_var("CRON_PHASE_BUDGET_MS", 1_000..=900_000).unwrap_or(PHASE_BUDGET_MS);
    let left = ctx.started_ms + budget - crate::ctx::now_ms();
    usize::try_from(left / (ctx.timeout_ms().max(1) as i64)).unwrap_or(0)
}
