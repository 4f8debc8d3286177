//! Events to apps, recorded once for every flow: a [`Batch`] collects a change's statements
//! and the outbox rows of the events it reports, commits them as one D1 batch (so an event
//! exists exactly when its change happened), then makes each event's first delivery attempt.
//! The retries of the attempts that failed are the webhook job's (`crate::jobs::webhooks`).
//!
//! May call: storage (`crate::store`), plumbing (`ctx`, `fetch`), the sealed webhook
//! secrets (`crate::sealed_secrets`) and core; never a flow.

mod batch;
mod deliver;
mod ping;

pub use batch::Batch;
pub use deliver::{attempt, deliver_ids, retry_now};
pub use ping::send_test;
