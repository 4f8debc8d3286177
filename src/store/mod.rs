//! Storage: D1 access, one file per table or close family, each with its SQL and the row
//! types of its table (the row types themselves live in core's `model`, where pure views
//! read them). This folder is the only place SQL is written: every statement is bound with
//! `?N`, never formatted with values. It may call only the plumbing below it (the error
//! helpers, bindings) and core.

mod activity;
mod app_logos;
mod apps;
mod checks;
mod console;
mod choices;
mod console_profiles;
mod grants;
mod instance_clients;
mod key_usage;
mod landing;
mod leases;
mod links;
mod outbox;
mod pages;
mod platform_credentials;
mod platform_deletions;
mod platform_events;
mod profiles;
mod proxy_counts;
mod reencrypt;
mod refreshes;
mod retention;
mod row_de;
mod sandbox;
mod states;
mod stmt;
mod webhook_secrets;
mod websub;
mod worker_secrets;

pub use self::activity::*;
pub use self::app_logos::*;
pub use self::apps::*;
pub use self::checks::*;
pub use self::console::*;
pub use self::choices::*;
pub use self::console_profiles::*;
pub use self::grants::*;
pub use self::instance_clients::*;
pub use self::key_usage::*;
pub use self::landing::*;
pub use self::leases::*;
pub use self::links::*;
pub use self::outbox::*;
pub use self::pages::*;
pub use self::platform_credentials::*;
pub use self::platform_deletions::*;
pub use self::platform_events::*;
pub use self::profiles::*;
pub use self::proxy_counts::*;
pub use self::reencrypt::*;
pub use self::refreshes::*;
pub use self::retention::*;
pub use self::sandbox::*;
pub use self::states::*;
pub use self::stmt::*;
pub use self::webhook_secrets::*;
pub use self::websub::*;
pub use self::worker_secrets::*;
