//! App-facing JSON routes (and the operator's admin routes); the browser side of a connect
//! link (`/connect/{id}`, the callback) lives with the link in `links.rs`. A flow: it may
//! call the domain (`links`, `grants`, `events`), the storage, the plumbing and core; never
//! another flow.

pub mod admin;
pub mod brand;
pub mod links;
pub mod platform_credentials;
mod paging;
pub mod profiles;
pub mod proxy;
