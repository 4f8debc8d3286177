//! Work the cron and the queue drive: refresh under a lease, the webhook outbox,
//! housekeeping (unclaimed profiles, key rotation, retention).

pub mod choices;
pub mod cron;
pub mod housekeeping;
pub mod liveness;
pub mod webhooks;
