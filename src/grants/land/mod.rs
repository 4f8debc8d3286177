//! Landing a connect's accounts as profiles under a grant: what the hosted callback, the
//! app's exchange, the account picker and posted credentials all end in. The outcome types
//! (`outcome`), the fresh grant a failed connect revokes (`fresh`), the read of the app's
//! state for a login (`seen`), and the landing itself, read -> plan -> commit (`commit`; the
//! plan is `connect_links_core::landing`). It may call the rest of the domain (the events it
//! records, the revoke of a failed connect's grant), the storage, the plumbing and core;
//! never a flow.

mod commit;
mod fresh;
mod outcome;
mod seen;

pub use commit::store_accounts;
pub use fresh::FreshGrant;
pub use outcome::{log_failure, ConnectError, Connected, Finish, Pick};
pub use seen::{offer, read_seen};
