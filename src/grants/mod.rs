//! The domain for grants (a login's consent and its tokens) and the profiles that act under
//! them: what several flows do to one, written once. It may call the storage (`store`), the
//! plumbing (ctx, error, fetch, instances, respond) and core; never a flow (`api`, `browser`,
//! `connect`, `inbound`, `jobs`).

pub mod land;
