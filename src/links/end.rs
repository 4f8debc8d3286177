//! Ending a pending link in failure: the link and its `connect_link.failed` event in one
//! batch, then (after the answer) the fresh grant revoked and the event's first delivery.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::{self, Batch};
use crate::grants::land::{log_failure, FreshGrant};
use crate::respond::object;
use crate::store::{self, LinkEnd};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::ApiError;
use connect_links_core::model::LinkRow;
use connect_links_core::webhook::types;

/// Ends a pending link in failure and tells the app (`connect_link.failed`), in one batch.
pub async fn fail_link(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure) {
    end_failed(ctx, link, failure, None).await
}

/// Records the failure (link and event in one batch); then, after the answer (the browser
/// need not wait), revokes the fresh grant where that ends no other grant and makes the
/// event's first delivery attempt, in that order: once the attempt is made, the revocation is done.
/// The account-choice row that held the grant (see `links::choices`) goes once the revocation is
/// settled; until then it stays, and the cron revokes what it holds when it expires.
// Not `async`: the future is `end_failed_naming`'s own, no second state machine in the wasm.
pub fn end_failed<'a>(
    ctx: &'a Ctx,
    link: &'a LinkRow,
    failure: CallbackFailure,
    grant: Option<FreshGrant>,
) -> impl std::future::Future<Output = ()> + 'a {
    end_failed_naming(ctx, link, failure, grant, &[])
}

/// [`end_failed`], the link also naming the required scopes the user declined (`missing`,
/// for a `missing_scopes` failure: its status shows them).
pub async fn end_failed_naming(
    ctx: &Ctx,
    link: &LinkRow,
    failure: CallbackFailure,
    grant: Option<FreshGrant>,
    missing: &[String],
) {
    let recorded = async {
        let db = ctx.db()?;
        let mut batch = Batch::new(ctx, &db);
        let end = match missing.is_empty() {
            true => LinkEnd::Failed(failure.as_str()),
            false => LinkEnd::MissingScopes(missing),
        };
        batch.push(store::end_link_stmt(&db, &link.id, &end, store::OfChoice::of(link), ctx.now())?);
        // A link that ended meanwhile (a landing whose answer was lost committed it) is not
        // told failed.
        batch.push(store::assert_changed_stmt(&db)?);
        let mut data = object!("link_id": link.id, "platform": link.platform, "error": failure.as_str(), "external_user_id": link.external_user_id);
        if !missing.is_empty() {
            // A `missing_scopes` failure names the required scopes the user declined, as
            // the link's status does.
            data["missing_scopes"] = crate::respond::val(&missing);
        }
        batch.event(&link.app_id, types::LINK_FAILED, data)?;
        let written = batch.write().await.or_500("end failed link")?;
        Ok::<Vec<String>, ApiError>(written.events)
    }
    .await;
    if recorded.is_err() {
        log_failure(&link.platform, &link.id, "link", "the failure could not be recorded");
    }
    let job_ctx = ctx.detached();
    let link_id = link.id.clone();
    ctx.after_answer(async move {
        if let Some(g) = grant {
            if g.revoke(&job_ctx, &link_id).await {
                let _ = store::drop_choice(&job_ctx, &link_id).await;
            }
        }
        if let Ok(event_ids) = recorded {
            events::deliver_ids(&job_ctx, &event_ids).await;
        }
    })
    .await;
}
