//! What a connect asks for and how it ends: the accounts to connect ([`Pick`]), whether the
//! link completes now or waits for a claim ([`Finish`]), and what the caller renders
//! ([`Connected`]); and the one log line of a connect that failed.

use crate::respond::object;
use connect_links_core::accounts::Account;
pub use connect_links_core::landing::{ConnectError, ConnectResult, Finish};
use connect_links_core::secrets::ConnectToken;

/// What to do when a login has several accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pick {
    /// Show the picker page (hosted callback, `accounts: "pick"`).
    Page,
    /// Connect every account.
    All,
    /// Connect those accounts (`account_ids` of `POST /v1/oauth/exchange`).
    Only(Vec<String>),
}

/// An account offered to the app, and the profile it became (if it was chosen).
pub struct Offered {
    /// The account (its own token is never shown).
    pub account: Account,
    /// Its profile, when connected now.
    pub profile_id: Option<String>,
}

/// A connect that succeeded, or that waits for the user's choice.
pub enum Connected {
    /// Stored: every profile (the first chosen first), and the claim token.
    Done {
        /// The profiles, in the order chosen.
        profile_ids: Vec<String>,
        /// The one-time token for the claim, with [`Finish::AwaitClaim`].
        connect_token: Option<ConnectToken>,
        /// Every account offered, with its profile when chosen.
        offered: Vec<Offered>,
    },
    /// The picker page, its policy and the cookie binding it to the browser.
    Choose {
        /// The page.
        page: String,
        /// Its `Content-Security-Policy`.
        policy: String,
        /// Its `Set-Cookie`.
        cookie: String,
        /// Its language (`Content-Language`).
        lang: &'static str,
    },
}

/// Logs a connect's failure at `step` (`detail` names what, never a value).
pub fn log_failure(platform: &str, link_id: &str, step: &str, detail: &str) {
    crate::log::info(
        &object!("event": "connect_failed", "platform": platform, "link_id": link_id, "step": step, "detail": detail),
    );
}
