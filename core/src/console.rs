//! The operator's console (issue 28): its session and form tokens ([`session`]), its layout
//! on the hosted pages' stylesheet ([`layout`]), and the pure parts of its pages. The worker's
//! `src/console/` reads D1 and calls these; nothing here touches the runtime.
//!
//! The console is for the operator alone and is written in English (the hosted pages' catalogs
//! are for end-users; the console's words are not in them).

pub mod activity;
pub mod apps;
pub mod chart;
pub mod layout;
pub mod overview;
pub mod profiles;
pub mod session;
pub mod webhooks;
