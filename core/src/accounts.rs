//! The accounts behind one login (issue 9): a login may act as itself (X, YouTube...), or
//! as Pages, organizations or Instagram business accounts reached through it. Each platform
//! names its [`AccountSource`]; the calls that list the accounts are built and read here.

use crate::http::HttpRequest;
use crate::identity::Identity;
use crate::secrets::AccessToken;
use serde::{Deserialize, Serialize};

/// What kind of account a profile is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// The login itself.
    User,
    /// A Facebook Page (or a sandbox Page).
    Page,
    /// A LinkedIn organization page.
    Organization,
    /// An Instagram professional account reached through a Facebook Page.
    InstagramBusiness,
}

impl AccountType {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountType::User => "user",
            AccountType::Page => "page",
            AccountType::Organization => "organization",
            AccountType::InstagramBusiness => "instagram_business",
        }
    }
}

/// The account an account is reached through (the Page of an Instagram account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parent {
    /// The parent's platform id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: AccountType,
}

/// One account a login can act as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The platform's id of the account (a Page id, `urn:li:organization:N`, an Instagram
    /// account id, or the login's own id for [`AccountType::User`]).
    pub platform_user_id: String,
    /// Its kind.
    pub account_type: AccountType,
    /// Handle.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Picture URL.
    pub avatar_url: Option<String>,
    /// What it is reached through, when anything.
    pub parent: Option<Parent>,
    /// The account's own access token (a Facebook Page token), when the platform issues one;
    /// `None`: the account acts with the login's token. Never shown, never logged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub own_token: Option<String>,
}

impl Account {
    /// The login itself as an account.
    pub fn of_login(id: &Identity) -> Account {
        Account {
            platform_user_id: id.platform_user_id.clone(),
            account_type: AccountType::User,
            username: id.username.clone(),
            display_name: id.display_name.clone(),
            avatar_url: id.avatar_url.clone(),
            parent: None,
            own_token: None,
        }
    }
}

/// Where a platform's accounts come from, after the identity call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSource {
    /// The login is the one account (the default).
    Login,
    /// Facebook Pages from `GET /me/accounts` (paginated), each with its Page token; the
    /// person is no account.
    FacebookPages,
    /// Instagram professional accounts from `GET /me/accounts` (`instagram_business_account`
    /// of each Page), each acting with its Page's token; Pages without one are skipped.
    InstagramViaPages,
    /// The member, plus, when an organization scope was granted, the organizations it
    /// administers (`organizationAcls`, then their names and logos).
    LinkedInOrganizations,
    /// The sandbox login plus its two Pages (`GET /sandbox/accounts`), each with a token.
    SandboxPages,
}

/// Why listing accounts failed: the connect fails with `profile_failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError(pub String);

/// One page of a listing: the accounts on it, and the URL of the next page, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    /// Accounts on this page.
    pub accounts: Vec<Account>,
    /// The next page's URL (Graph `paging.next`), only when it is on the same host.
    pub next: Option<String>,
}
