//! Connecting accounts with credentials the app posts (`POST /v1/profiles`: a pasted API
//! key, a Bluesky app password) instead of a consent screen: `posted` is the flow, `bluesky`
//! its sign-in. The connect after a consent screen is the links domain's
//! (`links::complete`); both land their accounts through `grants::land`. A flow: it may call
//! the domain (`links`, `grants`), the storage, the plumbing and core; never another flow.

pub mod bluesky;
pub mod posted;

use connect_links_core::identity::Identity;
use connect_links_core::platforms::Platform;
use connect_links_core::token::TokenSet;

/// What checking posted credentials gave: the platform as the account's server serves it,
/// the tokens to keep, and who the account is.
pub struct Posted {
    /// The platform (resolved to the account's server where it has one).
    pub platform: Platform,
    /// The tokens to store (a key is an access token that never expires).
    pub tokens: TokenSet,
    /// The account.
    pub identity: Identity,
    /// When the tokens were issued (epoch seconds): their lifetimes count from there.
    pub issued_at: i64,
}
