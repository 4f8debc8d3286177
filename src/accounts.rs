//! Listing the accounts behind a login after the code exchange (issue 9): the login itself,
//! or its Pages, organizations or Instagram business accounts, as its platform says
//! (`Platform::accounts`). Each call is one logged platform call; Graph pagination is
//! followed on the same host only, up to `MAX_PAGES` pages.

use crate::ctx::Ctx;
use crate::fetch;
use connect_links_core::accounts::{self, Account, AccountSource, MAX_PAGES};
use connect_links_core::callback::CallbackFailure;
use connect_links_core::platforms::Platform;
use connect_links_core::secrets::AccessToken;
use serde_json::json;
use worker::console_log;

/// Every account `login` can act as on `platform`; a listing the platform refuses fails the
/// connect with `profile_failed`.
pub async fn list(
    ctx: &Ctx,
    platform: &Platform,
    token: &AccessToken,
    granted: &[String],
    login: &Account,
    link_id: &str,
) -> Result<Vec<Account>, CallbackFailure> {
    let failed = |why: &str| {
        console_log!(
            "{}",
            json!({"event": "connect_failed", "platform": platform.id, "link_id": link_id, "step": "accounts", "detail": why})
        );
        CallbackFailure::ProfileFailed
    };
    match platform.accounts {
        AccountSource::Login => return Ok(vec![login.clone()]),
        AccountSource::LinkedInOrganizations => {
            let mut all = vec![login.clone()];
            if !accounts::wants_organizations(granted) {
                return Ok(all);
            }
            let req = accounts::first_request(platform, token).ok_or_else(|| failed("no listing request"))?;
            let resp = fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| failed("acl call"))?;
            let urns = accounts::parse_linkedin_acls(resp.status, &resp.body).map_err(|e| failed(&e.0))?;
            if urns.is_empty() {
                return Ok(all);
            }
            let req = accounts::linkedin_organizations_request(token, &urns).ok_or_else(|| failed("no lookup"))?;
            let resp = fetch::send(&req, &platform.id, None, ctx.timeout_ms())
                .await
                .map_err(|_| failed("organizations call"))?;
            all.extend(
                accounts::parse_linkedin_organizations(resp.status, &resp.body, &urns).map_err(|e| failed(&e.0))?,
            );
            return Ok(all);
        }
        AccountSource::FacebookPages | AccountSource::InstagramViaPages | AccountSource::SandboxPages => {}
    }
    let mut all = if platform.accounts == AccountSource::SandboxPages { vec![login.clone()] } else { vec![] };
    let mut req = accounts::first_request(platform, token).ok_or_else(|| failed("no listing request"))?;
    for _ in 0..MAX_PAGES {
        let resp = fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| failed("listing call"))?;
        let page = accounts::parse_page(platform, resp.status, &resp.body).map_err(|e| failed(&e.0))?;
        for a in page.accounts {
            if !all.iter().any(|b: &Account| b.platform_user_id == a.platform_user_id) {
                all.push(a);
            }
        }
        match page.next.as_deref().and_then(|next| accounts::next_request(platform, next, token)) {
            Some(next) => req = next,
            None => break,
        }
    }
    Ok(all)
}
