//! The test event (`webhook.test`) an operator sends to check an app's webhook endpoint: an
//! event like every other (written to the outbox, signed with the app's secret, retried),
//! about nothing but the app.

use super::batch::Batch;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store;
use connect_links_core::error::ApiResult;
use connect_links_core::webhook::types::TEST;

/// Writes a `webhook.test` event for app `app_id` and makes its first delivery attempt;
/// false (nothing written) when the app has no webhook URL (or no longer exists).
pub async fn send_test(ctx: &Ctx, app_id: &str) -> ApiResult<bool> {
    let db = ctx.db()?;
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::app_with_webhook_stmt(&db, app_id)?);
    batch.event(app_id, TEST, object!("app_id": app_id))?;
    let written = batch.write().await.or_500("test event")?;
    if !store::returned_rows(&written.results, 0) {
        return Ok(false);
    }
    written.deliver_now(ctx).await;
    Ok(true)
}
