//! What an operator does to a profile from the console: disconnect it. The row stays (status
//! `disconnected`, reason `operator`), the app is told by `profile.disconnected`, and the
//! grant, once no other profile holds it, ends too and is revoked at the platform where it
//! can be (as a deleted profile's grant is: never while another grant holds the login).

use super::revoke::revoke_grant;
use crate::ctx::Ctx;
use crate::events::Batch;
use crate::store;
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::webhook::types;

/// The `disconnect_reason` of a profile an operator disconnected.
const OPERATOR: &str = "operator";

/// Disconnects profile `p` (active; the caller checks) in one batch with its
/// `profile.disconnected`; its grant ends with it when no other profile holds it, and is
/// revoked at the platform after the answer (best effort). Whether it was disconnected now
/// (a second, racing disconnect finds it ended and sends nothing).
pub async fn disconnect_profile(ctx: &Ctx, p: &ProfileRow) -> ApiResult<bool> {
    let db = ctx.db()?;
    let now = ctx.now();
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::end_last_grant_stmt(&db, &p.grant_id, &p.id, OPERATOR, now)?);
    batch.push(store::end_profile_stmt(&db, &p.id, OPERATOR, now)?);
    // The history's row, only when this call ended it (its insert counts as the change the
    // event below is guarded by).
    let row = store::NewActivity::of_profile(p, now, "disconnected", OPERATOR, "disconnected by the operator on the console");
    batch.push(store::activity_rows_stmt(&db, &row, &[], store::When::IfChanged)?);
    // Right after the profile's update (and its history row): sent only when this call ended it.
    batch.event(&p.app_id, types::DISCONNECTED, p.clone().ended(OPERATOR, now).view())?;
    let results = batch.commit().await?;
    // The proxy's kept profile rows may hold this one.
    crate::isolate::forget_profiles();
    let ended = store::returned_rows(&results, 1);
    let grants = store::deleted_grants(&results, 0)?;
    if !grants.is_empty() {
        let job_ctx = ctx.detached();
        ctx.after_answer(async move {
            for (grant, cols) in grants {
                revoke_grant(&job_ctx, &grant, &cols).await;
            }
        })
        .await;
    }
    Ok(ended)
}
