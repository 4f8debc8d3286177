//! Storage: D1 access, one file per table or close family, each with its SQL and the row
//! types of its table (the row types themselves live in core's `model`, where pure views
//! read them). This folder is the only place SQL is written: every statement is bound with
//! `?N`, never formatted with values. It may call only the plumbing below it (the error
//! helpers, bindings) and core.

mod apps;
mod choices;
mod grants;
mod instance_clients;
mod landing;
mod links;
mod outbox;
mod platform_deletions;
mod profiles;
mod proxy_counts;
mod sandbox;
mod states;
mod stmt;

pub use self::apps::*;
pub use self::choices::*;
pub use self::grants::*;
pub use self::instance_clients::*;
pub use self::landing::*;
pub use self::links::*;
pub use self::outbox::*;
pub use self::platform_deletions::*;
pub use self::profiles::*;
pub use self::proxy_counts::*;
pub use self::sandbox::*;
pub use self::states::*;
pub use self::stmt::*;
