//! Listing the accounts behind a login after the code exchange (one consent may let the app
//! act as several accounts): the login itself, or its Pages, organizations or Instagram
//! business accounts, as its platform says (`Platform::accounts`). Each call is one logged
//! platform call; pagination (Graph's `paging.next` on the same origin, LinkedIn's `start`)
//! is followed up to `MAX_PAGES` pages.

use crate::ctx::Ctx;
use crate::fetch;
use crate::respond::object;
use connect_links_core::accounts::{self, Account, AccountSource, AclMore, MAX_ORGANIZATIONS, MAX_PAGES};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::platforms::Platform;
use connect_links_core::secrets::AccessToken;

/// The accounts a login can act as, and whether that is all of them: a listing cut at
/// `MAX_PAGES` (or at `MAX_ORGANIZATIONS`) is not, so an account missing from it must not
/// be taken for one the login lost.
pub struct Listing {
    /// The accounts, in the platform's order.
    pub accounts: Vec<Account>,
    /// Whether the platform had no more to list.
    pub complete: bool,
}

/// Every account `login` can act as on `platform`; a listing the platform refuses fails the
/// connect with `profile_failed`.
pub async fn list(
    ctx: &Ctx,
    platform: &Platform,
    token: &AccessToken,
    granted: &[String],
    login: &Account,
    link_id: &str,
) -> Result<Listing, CallbackFailure> {
    let failed = |why: &str| {
        crate::log::info(
            &object!("event": "connect_failed", "platform": platform.id, "link_id": link_id, "step": "accounts", "detail": why),
        );
        CallbackFailure::ProfileFailed
    };
    let call = |req| async move { fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await };
    match platform.accounts {
        AccountSource::Login => Ok(Listing { accounts: vec![login.clone()], complete: true }),
        AccountSource::LinkedInOrganizations => {
            let mut all = vec![login.clone()];
            if !accounts::wants_organizations(granted) {
                return Ok(Listing { accounts: all, complete: true });
            }
            let (mut urns, mut start, mut complete) = (Vec::new(), 0, false);
            for _ in 0..MAX_PAGES {
                let req =
                    accounts::linkedin_acls_request(platform, token, start).ok_or_else(|| failed("no acl request"))?;
                let resp = call(req).await.map_err(|_| failed("acl call"))?;
                for urn in accounts::parse_linkedin_acls(resp.status, &resp.body).map_err(|e| failed(&e.0))? {
                    if !urns.contains(&urn) {
                        urns.push(urn);
                    }
                }
                match accounts::linkedin_acls_next(&resp.body, start) {
                    AclMore::Next(next) => start = next,
                    AclMore::Done => {
                        complete = true;
                        break;
                    }
                    AclMore::Cut => break,
                }
            }
            if urns.len() > MAX_ORGANIZATIONS {
                urns.truncate(MAX_ORGANIZATIONS);
                complete = false;
            }
            if !urns.is_empty() {
                let req = accounts::linkedin_organizations_request(token, &urns).ok_or_else(|| failed("no lookup"))?;
                let resp = call(req).await.map_err(|_| failed("organizations call"))?;
                let orgs = accounts::parse_linkedin_organizations(resp.status, &resp.body, &urns);
                all.extend(orgs.map_err(|e| failed(&e.0))?);
            }
            Ok(Listing { accounts: all, complete })
        }
        AccountSource::FacebookPages | AccountSource::InstagramViaPages | AccountSource::SandboxPages => {
            let mut all = if platform.accounts == AccountSource::SandboxPages { vec![login.clone()] } else { vec![] };
            let mut req = accounts::first_request(platform, token).ok_or_else(|| failed("no listing request"))?;
            let mut complete = false;
            for _ in 0..MAX_PAGES {
                let resp = call(req).await.map_err(|_| failed("listing call"))?;
                let page = accounts::parse_page(platform, resp.status, &resp.body).map_err(|e| failed(&e.0))?;
                for a in page.accounts {
                    if !all.iter().any(|b: &Account| b.platform_user_id == a.platform_user_id) {
                        all.push(a);
                    }
                }
                match page.next.as_deref().and_then(|next| accounts::next_request(platform, next, token)) {
                    Some(next) => req = next,
                    None => {
                        complete = true;
                        break;
                    }
                }
            }
            Ok(Listing { accounts: all, complete })
        }
    }
}
