//! The accounts behind one login: a login may act as itself (X, YouTube...), or
//! as Pages, organizations or Instagram business accounts reached through it. Each platform
//! names its [`AccountSource`]; the calls that list the accounts are built and read here.

use crate::caps;
use crate::http::HttpRequest;
use crate::identity::Identity;
pub use crate::platforms::AccountSource;
use crate::platforms::{linkedin, Platform};
use crate::secrets::AccessToken;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

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

/// One account a login can act as. Its `Debug` shows no token (see the impl below).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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

// Written out rather than derived: a derived Debug would print the Page token.
impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("platform_user_id", &self.platform_user_id)
            .field("account_type", &self.account_type)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("avatar_url", &self.avatar_url)
            .field("parent", &self.parent)
            .field("own_token", &self.own_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
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

/// The most listing pages a caller follows for one login (Graph `paging.next`): with 100 Pages
/// a call, a thousand Pages; past that the listing stops rather than loop on a platform.
pub const MAX_PAGES: usize = 10;

/// The most organizations taken from one ACL answer (they go in one lookup URL).
pub const MAX_ORGANIZATIONS: usize = 100;

/// Longest Page token or pagination URL accepted: anything longer is not Graph's.
const LONG_CAP: usize = 8192;

/// The organization scopes that make a LinkedIn login list the organizations it administers.
const ORGANIZATION_SCOPES: [&str; 4] =
    ["rw_organization_admin", "w_organization_social", "r_organization_admin", "r_organization_social"];

/// The first listing call for `p.accounts`, made with the login's (long-lived) token; `None`
/// for [`AccountSource::Login`] or a platform without a listing URL.
pub fn first_request(p: &Platform, token: &AccessToken) -> Option<HttpRequest> {
    if p.accounts == AccountSource::Login {
        return None;
    }
    if p.accounts == AccountSource::LinkedInOrganizations {
        return linkedin_acls_request(p, token, 0);
    }
    let url = p.accounts_url.clone()?;
    Some(get(p, url, token))
}

/// How many ACL entries one LinkedIn finder call asks for (LinkedIn's default is 10).
pub const ACL_PAGE_SIZE: usize = 100;

/// The `organizationAcls` finder call for the entries from `start`, [`ACL_PAGE_SIZE`] at a time.
pub fn linkedin_acls_request(p: &Platform, token: &AccessToken, start: usize) -> Option<HttpRequest> {
    let url = format!("{}&start={start}&count={ACL_PAGE_SIZE}", p.accounts_url.as_deref()?);
    Some(get(p, url, token))
}

/// What follows an ACL page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclMore {
    /// More entries, from this `start`.
    Next(usize),
    /// That was the last page.
    Done,
    /// The answer promised more but gave none: the listing is not whole.
    Cut,
}

/// What follows the ACL page that began at `start`. With `paging.total`, more follow until it
/// is reached; without one, more follow while a page comes back full (as many as its
/// `paging.count`, or [`ACL_PAGE_SIZE`]): LinkedIn may page smaller than asked.
pub fn linkedin_acls_next(body: &[u8], start: usize) -> AclMore {
    let Ok(v) = serde_json::from_slice::<Value>(body) else { return AclMore::Cut };
    let returned = v.get("elements").and_then(Value::as_array).map_or(0, Vec::len);
    match v.pointer("/paging/total").and_then(Value::as_u64) {
        Some(total) if ((start + returned) as u64) < total => {
            if returned > 0 {
                AclMore::Next(start + returned)
            } else {
                AclMore::Cut
            }
        }
        Some(_) => AclMore::Done,
        None => {
            let count = v.pointer("/paging/count").and_then(Value::as_u64).map_or(ACL_PAGE_SIZE, |c| c as usize);
            if returned > 0 && returned >= count.min(ACL_PAGE_SIZE) {
                AclMore::Next(start + returned)
            } else {
                AclMore::Done
            }
        }
    }
}

/// The call for the next listing page (Graph's `paging.next`), only when `next_url` has the
/// first call's origin (scheme, host and port): the token goes with it, so a link elsewhere is
/// never followed. An `access_token` in the link's query is dropped (the header carries it, and
/// a URL may be logged). The caller stops after [`MAX_PAGES`] pages.
pub fn next_request(p: &Platform, next_url: &str, token: &AccessToken) -> Option<HttpRequest> {
    if !matches!(
        p.accounts,
        AccountSource::FacebookPages | AccountSource::InstagramViaPages | AccountSource::SandboxPages
    ) {
        return None;
    }
    let mut url = same_origin(p, next_url)?;
    if url.query_pairs().any(|(k, _)| k == "access_token") {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "access_token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    Some(get(p, url.to_string(), token))
}

/// Reads one listing page of a Graph-shaped source (Facebook Pages, Instagram accounts through
/// Pages, sandbox Pages). A Page without its own token is skipped (it could not be acted as),
/// and so is a Page without an Instagram account for [`AccountSource::InstagramViaPages`].
/// LinkedIn answers are read by [`parse_linkedin_acls`] and [`parse_linkedin_organizations`].
pub fn parse_page(p: &Platform, status: u16, body: &[u8]) -> Result<ListPage, ListError> {
    let read: fn(&Value) -> Option<Account> = match p.accounts {
        AccountSource::FacebookPages | AccountSource::SandboxPages => page_account,
        AccountSource::InstagramViaPages => instagram_account,
        AccountSource::LinkedInOrganizations | AccountSource::Login => {
            return Err(ListError("this platform lists no Graph pages".into()))
        }
    };
    let v = answer(status, body)?;
    let data = v.get("data").and_then(Value::as_array).ok_or_else(|| malformed("no data list"))?;
    let accounts = data.iter().filter_map(read).collect();
    let next =
        v.pointer("/paging/next").and_then(Value::as_str).filter(|n| same_origin(p, n).is_some()).map(str::to_string);
    Ok(ListPage { accounts, next })
}

/// Whether the granted scopes let a LinkedIn login act for organizations, so they are listed.
pub fn wants_organizations(granted_scopes: &[String]) -> bool {
    granted_scopes.iter().any(|s| ORGANIZATION_SCOPES.contains(&s.as_str()))
}

/// The organization URNs (`urn:li:organization:N`) of an `organizationAcls` answer where the
/// member is an approved ADMINISTRATOR. The query asks for just those, but each element is
/// checked again: other roles and states are never taken. Duplicates are dropped, and at most
/// [`MAX_ORGANIZATIONS`] are kept.
pub fn parse_linkedin_acls(status: u16, body: &[u8]) -> Result<Vec<String>, ListError> {
    let v = answer(status, body)?;
    let elements = v.get("elements").and_then(Value::as_array).ok_or_else(|| malformed("no elements list"))?;
    let mut urns: Vec<String> = Vec::new();
    for e in elements {
        let is = |field: &str, want: &str| e.get(field).and_then(Value::as_str) == Some(want);
        if !is("role", "ADMINISTRATOR") || !is("state", "APPROVED") {
            continue;
        }
        // `organization` in the versioned API; `organizationalTarget` in older answers.
        let urn = e.get("organization").or_else(|| e.get("organizationalTarget")).and_then(Value::as_str);
        if let Some(urn) = urn.filter(|u| organization_id(u).is_some()) {
            if !urns.iter().any(|u| u == urn) && urns.len() < MAX_ORGANIZATIONS {
                urns.push(urn.to_string());
            }
        }
    }
    Ok(urns)
}

/// The batch lookup of the organizations' names (`GET /rest/organizations?ids=List(1,2)`, the
/// Rest.li 2.0 list syntax, unencoded); `None` when no URN is a valid organization URN.
pub fn linkedin_organizations_request(token: &AccessToken, urns: &[String]) -> Option<HttpRequest> {
    let ids: Vec<&str> = urns.iter().filter_map(|u| organization_id(u)).take(MAX_ORGANIZATIONS).collect();
    if ids.is_empty() {
        return None;
    }
    let url = format!("{}?ids=List({})", linkedin::ORGANIZATIONS_URL, ids.join(","));
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    headers.extend(linkedin_headers(token));
    Some(HttpRequest { method: "GET", url, headers, body: None })
}

/// The organization accounts for `urns`, named from a batch lookup answer
/// (`{"results": {"N": {"localizedName", "vanityName"}}}`). An organization the lookup did not
/// answer keeps its URN and no name: the ACL said the member administers it. No avatar: logos
/// need a further Images API call per organization.
pub fn parse_linkedin_organizations(status: u16, body: &[u8], urns: &[String]) -> Result<Vec<Account>, ListError> {
    let v = answer(status, body)?;
    let results = v.get("results").and_then(Value::as_object).ok_or_else(|| malformed("no results map"))?;
    let mut out: Vec<Account> = Vec::new();
    for urn in urns {
        let Some(id) = organization_id(urn) else { continue };
        if out.iter().any(|a| &a.platform_user_id == urn) {
            continue;
        }
        let org = results.get(id);
        let field = |key: &str| org.and_then(|o| o.get(key));
        out.push(Account {
            platform_user_id: urn.clone(),
            account_type: AccountType::Organization,
            username: field("vanityName").and_then(handle),
            display_name: field("localizedName").and_then(name),
            avatar_url: None,
            parent: None,
            own_token: None,
        });
    }
    Ok(out)
}

/// A GET with the login's token as a Bearer token (and LinkedIn's versioning headers).
fn get(p: &Platform, url: String, token: &AccessToken) -> HttpRequest {
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    if let Some(ua) = &p.user_agent {
        headers.push(("user-agent".into(), ua.clone()));
    }
    if p.accounts == AccountSource::LinkedInOrganizations {
        headers.extend(linkedin_headers(token));
    } else {
        headers.push(("authorization".into(), format!("Bearer {}", token.secret())));
    }
    HttpRequest { method: "GET", url, headers, body: None }
}

/// Every `/rest` call: the version header, Rest.li 2.0 and the Bearer token.
fn linkedin_headers(token: &AccessToken) -> Vec<(String, String)> {
    vec![
        ("linkedin-version".into(), linkedin::API_VERSION.into()),
        ("x-restli-protocol-version".into(), "2.0.0".into()),
        ("authorization".into(), format!("Bearer {}", token.secret())),
    ]
}

/// `next_url` parsed, when it is short, carries no credentials and has the origin of the
/// platform's first listing URL.
fn same_origin(p: &Platform, next_url: &str) -> Option<Url> {
    if next_url.len() > LONG_CAP {
        return None;
    }
    let first = Url::parse(p.accounts_url.as_deref()?).ok()?;
    let next = Url::parse(next_url).ok()?;
    let same = next.scheme() == first.scheme()
        && next.host_str().is_some()
        && next.host_str() == first.host_str()
        && next.port_or_known_default() == first.port_or_known_default()
        && next.username().is_empty()
        && next.password().is_none();
    same.then_some(next)
}

/// The JSON of a 2xx answer; otherwise a short reason: the status and, when the body says so,
/// Graph's numeric `error.code` or LinkedIn's `code` (never the body or its message).
fn answer(status: u16, body: &[u8]) -> Result<Value, ListError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if !(200..300).contains(&status) {
        let graph = parsed.as_ref().and_then(|v| v.pointer("/error/code")).and_then(Value::as_i64);
        let linkedin = parsed
            .as_ref()
            .and_then(|v| v.get("code"))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty() && c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
        return Err(ListError(match (graph, linkedin) {
            (Some(code), _) => format!("status {status}, error code {code}"),
            (None, Some(code)) => format!("status {status}, {code}"),
            (None, None) => format!("status {status}"),
        }));
    }
    parsed.filter(Value::is_object).ok_or_else(|| malformed("not a JSON object"))
}

fn malformed(why: &str) -> ListError {
    ListError(format!("malformed answer: {why}"))
}

/// A Graph id: a string of at most 64 bytes (Graph's ids are digits; stricter than
/// [`caps::MAX_ID_CHARS`]) that [`caps::id`] takes (non-empty, no control character), or a
/// number.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if s.len() <= 64 => caps::id(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A display name, cut as [`caps::name`] cuts it.
fn name(v: &Value) -> Option<String> {
    caps::name(v.as_str()?)
}

/// A handle, dropped when over [`caps::MAX_HANDLE_CHARS`].
fn handle(v: &Value) -> Option<String> {
    caps::handle(v.as_str()?)
}

/// A picture URL, dropped when over [`caps::MAX_URL_CHARS`].
fn picture(v: &Value) -> Option<String> {
    caps::url(v.as_str()?)
}

/// A Page's own token: a non-empty string no longer than [`LONG_CAP`] (never cut: a cut token
/// would be a wrong one).
fn page_token(page: &Value) -> Option<String> {
    let t = page.get("access_token")?.as_str()?;
    (!t.is_empty() && t.len() <= LONG_CAP).then(|| t.to_string())
}

/// A Facebook (or sandbox) Page as an account, when it has an id and its own token.
fn page_account(page: &Value) -> Option<Account> {
    Some(Account {
        platform_user_id: id_of(page.get("id"))?,
        account_type: AccountType::Page,
        username: None,
        display_name: page.get("name").and_then(name),
        avatar_url: page.pointer("/picture/data/url").and_then(picture),
        parent: None,
        own_token: Some(page_token(page)?),
    })
}

/// The Instagram account linked to a Page, acting with the Page's token, with the Page as its
/// parent; `None` for a Page without one (or without a token).
fn instagram_account(page: &Value) -> Option<Account> {
    let ig = page.get("instagram_business_account")?;
    let page_id = id_of(page.get("id"))?;
    let page_name = page.get("name").and_then(name);
    let username = ig.get("username").and_then(handle);
    Some(Account {
        platform_user_id: id_of(ig.get("id"))?,
        account_type: AccountType::InstagramBusiness,
        display_name: ig.get("name").and_then(name).or_else(|| username.clone()),
        username,
        avatar_url: ig.get("profile_picture_url").and_then(picture),
        parent: Some(Parent { id: page_id, name: page_name, kind: AccountType::Page }),
        own_token: Some(page_token(page)?),
    })
}

/// The numeric id of `urn:li:organization:N` (1 to 20 digits), else `None`.
fn organization_id(urn: &str) -> Option<&str> {
    let id = urn.strip_prefix("urn:li:organization:")?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

#[cfg(test)]
mod tests;
