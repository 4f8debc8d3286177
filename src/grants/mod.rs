//! The domain of grants: what several flows do to a grant and the profiles acting with its
//! token, written once. Use a token (refresh under the lease, wait for another's refresh),
//! refresh it, check a token that never expires, disconnect (a dead token, or an operator's
//! click in the console), revoke at the platform.
//!
//! May call: the events domain (`crate::events`), storage (`crate::store`), plumbing
//! (`ctx`, `fetch`, `instances`) and core; never a flow (`api`, `browser`, `connect`,
//! `inbound`, `jobs`).

mod disconnect;
mod history;
pub mod land;
mod lease;
mod liveness;
mod operator;
mod refresh;
mod refreshed;
mod revoke;
mod token;

pub use liveness::{check_grant, check_now, first_check_at};
pub use operator::disconnect_profile;
pub use refresh::{refresh_one, Outcome, Trigger};
pub use revoke::{revoke, revoke_grant, revoke_removed, Grant, RevokeCause};
pub use token::{outcome_error, refresh_detached, require_active, usable_token};
