//! Work the cron and the queue drive: refresh under a lease, the webhook outbox,
//! housekeeping (unclaimed profiles, key rotation, retention).

pub mod choices;
pub mod cron;
pub mod housekeeping;
pub mod lifecycle;
pub mod liveness;
mod refresh_store;
pub mod webhooks;
