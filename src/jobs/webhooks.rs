//! The webhook retry job: every event goes to the D1 outbox first, with one delivery attempt
//! at once (`crate::events`); this part of the lifecycle job retries the due ones with
//! backoff (at least once, for over 24 hours).

use crate::ctx::Ctx;
use crate::events;
use crate::store;
use connect_links_core::error::ApiResult;

/// Retries due deliveries (part of the lifecycle job); one failure never stops the batch.
pub async fn deliver_due(ctx: &Ctx, limit: u32) -> ApiResult<u32> {
    let due = store::due_events(&ctx.db()?, ctx.now(), limit).await?;
    let mut delivered = 0;
    for id in due {
        if events::attempt(ctx, &id).await {
            delivered += 1;
        }
    }
    Ok(delivered)
}

// The outbox API from before `events::Batch`, kept (as thin wrappers over the same store
// statements) only for the call sites still on it: connect/mod.rs, inbound/mod.rs and
// api/links.rs, which move to `events::Batch` on their own branch. Delete this block once
// none calls it.
pub use legacy::*;
mod legacy {
    use crate::ctx::Ctx;
    use crate::error::OrInternal;
    use crate::events::Written;
    use crate::store;
    use connect_links_core::error::ApiResult;
    use connect_links_core::random::new_id;
    use connect_links_core::time::rfc3339;
    use connect_links_core::webhook::event_body;
    use serde_json::{json, Value};
    use worker::{D1Database, D1PreparedStatement, D1Result};

    pub use crate::events::deliver_ids;

    /// An event's outbox row, to be written in the same D1 batch as the change it reports.
    pub struct Event {
        /// `evt_...`, also the `webhook-id`.
        pub id: String,
        /// The conditional insert.
        pub stmt: D1PreparedStatement,
    }

    /// As `events::Batch::event`, returned instead of added.
    pub fn event_after(ctx: &Ctx, db: &D1Database, app_id: &str, kind: &str, data: Value) -> ApiResult<Event> {
        let id = new_id("evt_")?;
        let body = event_body(kind, &rfc3339(ctx.now()), data);
        let stmt = store::insert_event_stmt(db, &id, app_id, kind, &body, ctx.now())?;
        Ok(Event { id, stmt })
    }

    /// As `events::Batch::event`.
    pub fn push_event(
        ctx: &Ctx,
        db: &D1Database,
        app_id: &str,
        kind: &str,
        data: Value,
        stmts: &mut Vec<D1PreparedStatement>,
        ids: &mut Vec<String>,
    ) -> ApiResult<()> {
        let event = event_after(ctx, db, app_id, kind, data)?;
        stmts.push(event.stmt);
        ids.push(event.id);
        Ok(())
    }

    /// As `events::Batch::event_rows`.
    pub fn push_event_rows(
        ctx: &Ctx,
        db: &D1Database,
        app_id: &str,
        items: Vec<(&str, Value)>,
        stmts: &mut Vec<D1PreparedStatement>,
        ids: &mut Vec<String>,
    ) -> ApiResult<()> {
        let at = rfc3339(ctx.now());
        let mut rows = Vec::with_capacity(items.len());
        for (kind, data) in items {
            let id = new_id("evt_")?;
            rows.push(json!({"id": id, "type": kind, "body": event_body(kind, &at, data)}));
            ids.push(id);
        }
        for chunk in rows.chunks(50) {
            let json = serde_json::to_string(chunk).or_500("events json")?;
            stmts.push(store::insert_events_stmt(db, &json, app_id, ctx.now())?);
        }
        Ok(())
    }

    /// As `events::Batch::commit`.
    pub async fn commit(
        ctx: &Ctx,
        db: &D1Database,
        stmts: Vec<D1PreparedStatement>,
        events: &[&str],
    ) -> ApiResult<Vec<D1Result>> {
        let results = db.batch(stmts).await.or_500("batch")?;
        deliver_now(ctx, events).await;
        Ok(results)
    }

    /// As `events::Written::deliver_now`.
    pub async fn deliver_now(ctx: &Ctx, events: &[&str]) {
        let written = Written { results: vec![], events: events.iter().map(|s| s.to_string()).collect() };
        written.deliver_now(ctx).await;
    }
}
