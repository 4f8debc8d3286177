//! A change and the events that report it, written in one D1 batch.

use super::deliver::deliver_now;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond::object;
use crate::store;
use connect_links_core::error::ApiResult;
use connect_links_core::random::new_id;
use connect_links_core::time::rfc3339;
use connect_links_core::webhook::event_body;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// Events per outbox insert of [`Batch::event_rows`]: each body is a profile view of at most a
/// few KiB, so a chunk stays well inside D1's 2 MB per bound value.
const EVENTS_PER_INSERT: usize = 50;

/// Statements to run as one D1 batch (one transaction), and the ids of the events among
/// them, to deliver once the batch is written.
///
/// Each event's outbox row is a statement that inserts only when the statement right before
/// it changed a row (`changes()`) and the app has a `webhook_url`: add it right after the
/// change it reports. So the event exists exactly when the change happened (two racing
/// deletes send one `profile.deleted`), and a crash cannot keep one without the other.
pub struct Batch<'a> {
    ctx: &'a Ctx,
    db: &'a D1Database,
    stmts: Vec<D1PreparedStatement>,
    events: Vec<String>,
}

/// A written batch: its results, and its events still to deliver.
pub struct Written {
    /// One result per statement, in order.
    pub results: Vec<D1Result>,
    /// The ids of the events written (those whose change happened).
    pub events: Vec<String>,
}

impl<'a> Batch<'a> {
    /// An empty batch on `db`.
    pub fn new(ctx: &'a Ctx, db: &'a D1Database) -> Self {
        Batch { ctx, db, stmts: Vec::new(), events: Vec::new() }
    }

    /// Adds a statement.
    pub fn push(&mut self, stmt: D1PreparedStatement) {
        self.stmts.push(stmt);
    }

    /// How many statements it holds: the index the next one's result will have.
    pub fn len(&self) -> usize {
        self.stmts.len()
    }

    /// Adds an event of app `app_id`, right after the statement before it.
    pub fn event(&mut self, app_id: &str, kind: &str, data: Value) -> ApiResult<()> {
        let id = new_id("evt_")?;
        let body = event_body(kind, &rfc3339(self.ctx.now()), data);
        self.stmts.push(store::insert_event_stmt(self.db, &id, app_id, kind, &body, self.ctx.now())?);
        self.events.push(id);
        Ok(())
    }

    /// Adds one event per item of `data`, each after the one before (the first after the
    /// change they report).
    pub fn events(&mut self, app_id: &str, kind: &str, data: Vec<Value>) -> ApiResult<()> {
        for d in data {
            self.event(app_id, kind, d)?;
        }
        Ok(())
    }

    /// Adds events (`kind`, `data` each), [`EVENTS_PER_INSERT`] per statement: as
    /// [`Batch::event`], each statement inserts only when the one before it changed a row
    /// (a chunk that inserted follows the one before). For changes of many rows whose count
    /// the batch already asserts.
    pub fn event_rows(&mut self, app_id: &str, items: Vec<(&str, Value)>) -> ApiResult<()> {
        let at = rfc3339(self.ctx.now());
        let mut rows = Vec::with_capacity(items.len());
        for (kind, data) in items {
            let id = new_id("evt_")?;
            rows.push(object!("id": id, "type": kind, "body": event_body(kind, &at, data)));
            self.events.push(id);
        }
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let json = serde_json::to_string(chunk).or_500("events json")?;
            self.stmts.push(store::insert_events_stmt(self.db, &json, app_id, self.ctx.now())?);
        }
        Ok(())
    }

    /// Runs the batch, then makes the first delivery attempt of each event that was written.
    /// Returns the batch's results.
    pub async fn commit(self) -> ApiResult<Vec<D1Result>> {
        let ctx = self.ctx;
        let written = self.write().await.or_500("batch")?;
        deliver_now(ctx, &written.events).await;
        Ok(written.results)
    }

    /// Runs the batch and delivers nothing: for a caller that judges the results first, then
    /// delivers with [`Written::deliver_now`] (or [`super::deliver_ids`] later).
    pub async fn write(self) -> worker::Result<Written> {
        let results = self.db.batch(self.stmts).await?;
        Ok(Written { results, events: self.events })
    }
}

impl Written {
    /// The first delivery attempt of each event written (see [`deliver_now`]).
    pub async fn deliver_now(&self, ctx: &Ctx) {
        deliver_now(ctx, &self.events).await;
    }
}
