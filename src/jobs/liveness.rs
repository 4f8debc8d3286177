//! The liveness job: picks the profiles whose token check is due (tokens that never expire,
//! see `crate::grants::check_grant`) and checks them grant by grant while the cron run's
//! budget lasts.

use super::budget::calls_in_budget;
use crate::ctx::Ctx;
use crate::grants;
use crate::respond::object;
use crate::store::{self, KeyedText, Stmt};
use connect_links_core::error::ApiResult;
use futures_util::stream::{self, StreamExt};

/// Profiles of one grant checked in one run (the rest in later runs).
const PER_GRANT: usize = 20;
/// Checks in flight at once in a cron run: one of the six connections a Workers invocation
/// may hold open (see [`super::scheduled`]), so that slow hosts of checks never hold up the
/// refreshes beside them.
const CONCURRENCY: usize = 1;

/// Checks the profiles whose check is due: one grant at a time ([`CONCURRENCY`]), the due
/// profiles of one grant one after the other under its lease, while the run's budget
/// lasts ([`calls_in_budget`]).
pub async fn run(ctx: &Ctx) -> ApiResult<()> {
    let db = ctx.db()?;
    // The same bound as the refreshes that reach a platform: a small plan's subrequest
    // limit holds for both.
    let due = store::due_checks(&db, ctx.now(), ctx.refresh_batch_size()).many::<KeyedText>("due checks").await?;
    if due.is_empty() {
        return Ok(());
    }
    let mut by_grant: Vec<(String, Vec<String>)> = Vec::new();
    // Each due profile's id, and its grant's as `text`.
    for d in &due {
        match by_grant.iter_mut().find(|(g, _)| g == &d.text) {
            // A grant's lease covers this many calls at most, so refreshes wait minutes, not an hour.
            Some((_, ids)) if ids.len() >= PER_GRANT => {}
            Some((_, ids)) => ids.push(d.id.clone()),
            None => by_grant.push((d.text.clone(), vec![d.id.clone()])),
        }
    }
    let now = ctx.now();
    // A grant's lease marks every check it covers before the first call, so a grant is
    // given only the checks that still fit in the budget: the others are never marked and
    // stay due for the next run, as are the grants not started at all.
    let results: Vec<(usize, ApiResult<()>)> = stream::iter(by_grant.iter())
        .map(|(grant, ids)| async move {
            let fit = ids.len().min(calls_in_budget(ctx));
            match ids.get(..fit) {
                Some(ids) if !ids.is_empty() => (ids.len(), grants::check_grant(ctx, grant, ids, now).await),
                _ => (0, Ok(())),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let errors = results.iter().filter(|(_, r)| r.is_err()).count();
    let started: usize = results.iter().map(|(n, _)| n).sum();
    crate::log::info(
        &object!("event": "liveness_checks", "due": due.len(), "errors": errors, "deferred": due.len().saturating_sub(started)),
    );
    Ok(())
}
