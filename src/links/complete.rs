//! Completing a link after its consent screen: spend the code (and Meta's long-lived swap),
//! check the scopes, fetch the identity, list the login's accounts, then land the chosen ones
//! (`grants::land`) or show the picker. The grant is held in the link's account-choice row
//! from the exchange on (`links::choices`), so a connect that fails revokes it, and one
//! that dies leaves it for the cron.

use super::choices::{choice_insert_stmt, hold, row_after_error, unknown_login};
use super::end::end_failed_naming;
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::fetch;
use crate::grants::land::{
    log_failure, offer, read_seen, store_accounts, ConnectError, Connected, Finish, FreshGrant, Pick,
};
use crate::store::{self, LinkEnd};
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::ApiError;
use connect_links_core::http::HttpRequest;
use connect_links_core::identity::parse_identity;
use connect_links_core::mastodon::{account_key, handle as instance_handle, is_unknown_client};
use connect_links_core::model::LinkRow;
use connect_links_core::oauth::{
    clean_code, code_exchange_request, granted_scopes_request, identity_request, long_lived_swap_request,
    parse_token_answer, ClientCredentials,
};
use connect_links_core::pages::{brand_of, Brand, PlatformMark};
use connect_links_core::picker::{choice_cookie, choice_hash, picker_page, picker_policy, Choice, CHOICE_TTL_SECS};
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::random::random_token;
use connect_links_core::scopes::{self, ScopeOutcome};
use connect_links_core::state::OpenedAuth;
use connect_links_core::token::TokenSet;

/// Spends the code, lists the login's accounts, stores them as profiles (or shows the
/// picker) and ends the link, telling the app (`profile.connected` / `profile.reconnected`
/// with [`Finish::Now`], `connect_link.failed`). A grant obtained by a connect that then
/// fails is revoked where that ends no other grant.
pub async fn complete(
    ctx: &Ctx,
    pending: &OpenedAuth,
    link: &LinkRow,
    code: &str,
    finish: Finish,
    pick: Pick,
) -> Result<Connected, Failure> {
    // The required scopes the user declined, once known: the failure names them.
    let mut missing = vec![];
    match connect(ctx, pending, link, code, finish, pick, &mut missing).await {
        Ok(c) => Ok(c),
        Err((failure, grant)) => {
            end_failed_naming(ctx, link, failure, grant, &missing).await;
            Err(Failure { code: failure, missing })
        }
    }
}

/// Why a connect failed: its code, and for `missing_scopes` the required scopes declined.
#[derive(Debug)]
pub struct Failure {
    /// The failure code.
    pub code: CallbackFailure,
    /// The required scopes the user declined (empty but for `missing_scopes`).
    pub missing: Vec<String>,
}

/// A failure, with the fresh grant to revoke when nothing else holds it.
type Failed = (CallbackFailure, Option<FreshGrant>);

async fn connect(
    ctx: &Ctx,
    pending: &OpenedAuth,
    link: &LinkRow,
    code: &str,
    finish: Finish,
    pick: Pick,
    missing: &mut Vec<String>,
) -> Result<Connected, Failed> {
    let resolved = crate::instances::resolve(ctx, &pending.platform, link.instance.as_deref()).await;
    let Ok(Some((platform, deployment))) = resolved else { return Err((CallbackFailure::ServerError, None)) };
    // The client the authorize URL was built with: the app's own credentials it names (even
    // if replaced since), else the deployment's.
    let creds = match &pending.credential_ref {
        None => deployment,
        Some(r) => crate::credentials::by_ref(ctx, &link.app_id, &platform, Some(r)).await.ok().flatten(),
    };
    let Some(creds) = creds else { return Err((CallbackFailure::ServerError, None)) };
    let platform = &platform;
    let tokens = exchange(ctx, platform, &creds, pending, link, code).await.map_err(|f| (f, None))?;
    // From here on the grant is ours: a failure revokes it where that ends no other grant.
    let fresh = |account: Option<String>| {
        FreshGrant::of_tokens(platform, &tokens, account).minted_by(&link.app_id, pending.credential_ref.as_deref())
    };
    let (required, optional) = (link.scope_list(), link.optional_scope_list());
    let answered = scopes::outcome(&required, &optional, scopes::from_answer(tokens.scope.as_deref()));
    let mut choice = Choice {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_in: tokens.expires_in,
        refresh_expires_in: tokens.refresh_expires_in,
        scopes: answered.granted.clone(),
        declined: vec![],
        login: unknown_login(),
        listed: vec![],
        listed_complete: false,
        issued_at: ctx.now(),
        accounts: vec![],
        credential_ref: pending.credential_ref.clone(),
    };
    // Held in a row before anything else is read, whatever happens to this request: the
    // identity and the accounts (up to a thousand Pages) take a while.
    if hold(ctx, link, &choice, finish).await.is_err() {
        return Err((CallbackFailure::ServerError, Some(fresh(None))));
    }
    let outcome = match granted_scopes_request(platform, &tokens.access_token) {
        None => answered,
        Some(req) => {
            let said = read_granted(ctx, platform, link, &req).await.ok_or((CallbackFailure::ExchangeFailed, Some(fresh(None))))?;
            scopes::outcome(&required, &optional, Some(said))
        }
    };
    if !outcome.missing.is_empty() {
        // Scope names the link asked for: the app's own words, not the platform's.
        log_failure(&platform.id, &link.id, "scopes", &format!("declined: {}", outcome.missing.join(" ")));
        *missing = outcome.missing;
        return Err((CallbackFailure::MissingScopes, Some(fresh(None))));
    }
    let ScopeOutcome { granted, declined, .. } = outcome;
    choice.scopes = granted;
    choice.declined = declined;
    let id_req = identity_request(platform, &tokens.access_token);
    let id_resp = fetch::send(&id_req, &platform.id, None, ctx.timeout_ms())
        .await
        .map_err(|_| (CallbackFailure::ProfileFailed, Some(fresh(None))))?;
    let Some(mut identity) = parse_identity(&platform.identity, id_resp.status, &id_resp.body) else {
        log_failure(&platform.id, &link.id, "identity", &format!("status {}", id_resp.status));
        return Err((CallbackFailure::ProfileFailed, Some(fresh(None))));
    };
    // A Mastodon account id is unique on its instance only: the instance is part of it, and
    // of the handle people know (`alice@mastodon.social`).
    if let (AuthKind::InstanceOauth2, Some(host)) = (platform.auth, &platform.instance) {
        identity.platform_user_id = account_key(&identity.platform_user_id, host);
        identity.username = identity.username.map(|u| instance_handle(&u, host));
    }
    let fail = |f: CallbackFailure| (f, Some(fresh(Some(identity.platform_user_id.clone()))));
    // The row learns the login before the accounts are read: one left behind with an
    // unknown login could not be revoked by the cron where the platform's revoke ends every
    // grant of the account (Meta, Google, TikTok, Mastodon).
    choice.login = Account::of_login(&identity);
    if hold(ctx, link, &choice, finish).await.is_err() {
        return Err(fail(CallbackFailure::ServerError));
    }
    let listing = crate::accounts::list(ctx, platform, &tokens.access_token, &choice.scopes, &choice.login, &link.id)
        .await
        .map_err(fail)?;
    let listed = listing.accounts;
    if listed.is_empty() {
        log_failure(&platform.id, &link.id, "accounts", "the login has no account to connect");
        return Err(fail(CallbackFailure::NoAccounts));
    }
    choice.listed = listed.iter().map(|a| a.platform_user_id.clone()).collect();
    choice.listed_complete = listing.complete;
    let ids: Vec<String> = listed.iter().map(|a| a.platform_user_id.clone()).collect();
    let seen = match read_seen(ctx, link, &choice.login.platform_user_id, choice.credential_ref.as_deref(), &ids).await
    {
        Ok(s) => s,
        Err(ConnectError::Failed(f)) => return Err(fail(f)),
        // Nothing holds the fresh grant: revoked where that ends no other grant.
        Err(ConnectError::Api(_)) => return Err(fail(CallbackFailure::ServerError)),
    };
    let (offerable, connected_here) = offer(link, &seen, listed).map_err(fail)?;
    let choice = Choice { accounts: offerable, ..choice };
    let chosen: Vec<String> = match pick {
        Pick::Page if choice.accounts.len() > 1 => {
            return match ask(ctx, link, &choice, finish, &connected_here).await {
                Ok(c) => Ok(c),
                Err(Held::Revoke) => Err(fail(CallbackFailure::ServerError)),
                Err(Held::Unknown) => Err((CallbackFailure::ServerError, None)),
            };
        }
        Pick::Only(ids) => {
            let ids: Vec<String> =
                choice.accounts.iter().map(|a| a.platform_user_id.clone()).filter(|a| ids.contains(a)).collect();
            if ids.is_empty() {
                log_failure(&platform.id, &link.id, "accounts", "none of account_ids is an account of this login");
                return Err(fail(CallbackFailure::NoAccounts));
            }
            ids
        }
        _ => choice.accounts.iter().map(|a| a.platform_user_id.clone()).collect(),
    };
    // The row now holds what is known of the login's accounts too.
    if hold(ctx, link, &choice, finish).await.is_err() {
        return Err(fail(CallbackFailure::ServerError));
    }
    // Stored right away: what was just read serves the first attempt.
    match store_accounts(ctx, platform, link, &choice, &chosen, finish, Some(seen), None).await {
        Ok(done) => Ok(done),
        Err(ConnectError::Failed(f)) => Err(fail(f)),
        // D1 may have committed the batch all the same: the grant is revoked only while the
        // row that held it is still there (the batch deletes it).
        Err(ConnectError::Api(_)) => match row_after_error(ctx, &link.id).await {
            Ok(Some(_)) => Err(fail(CallbackFailure::ServerError)),
            Ok(None) | Err(_) => Err((CallbackFailure::ServerError, None)),
        },
    }
}

/// What the platform lists as granted, where only an API says (`Platform::granted_scopes_url`):
/// `None` when the call fails or its answer cannot be read (the connect then fails: what the
/// grant holds is not known).
async fn read_granted(ctx: &Ctx, platform: &Platform, link: &LinkRow, req: &HttpRequest) -> Option<Vec<String>> {
    let resp = fetch::send(req, &platform.id, None, ctx.timeout_ms()).await.ok()?;
    match scopes::graph_granted(resp.status, &resp.body) {
        Ok(granted) => Some(granted),
        Err(why) => {
            log_failure(&platform.id, &link.id, "granted_scopes", &format!("{why} (status {})", resp.status));
            None
        }
    }
}

/// The code exchange (and Meta's long-lived swap).
async fn exchange(
    ctx: &Ctx,
    platform: &Platform,
    creds: &ClientCredentials,
    pending: &OpenedAuth,
    link: &LinkRow,
    code: &str,
) -> Result<TokenSet, CallbackFailure> {
    let code = clean_code(platform, code);
    let req = code_exchange_request(platform, creds, &code, &pending.redirect_uri, &pending.verifier);
    let resp =
        fetch::send(&req, &platform.id, None, ctx.timeout_ms()).await.map_err(|_| CallbackFailure::ExchangeFailed)?;
    let parsed = parse_token_answer(platform, resp.status, &resp.body);
    if let (Err(_), Some(host)) = (&parsed, &platform.instance) {
        // An instance that no longer knows our client (older Mastodon deletes apps that hold
        // no token): forget it, so the next connect registers again.
        if platform.auth == AuthKind::InstanceOauth2 && is_unknown_client(resp.status, &resp.body) {
            let _ = crate::instances::forget_client(ctx, &platform.id, host, &creds.client_id).await;
        }
    }
    let mut tokens = parsed.map_err(|e| {
        log_failure(&platform.id, &link.id, "exchange", &e.to_string());
        CallbackFailure::ExchangeFailed
    })?;
    // Meta: swap the short-lived token for a long-lived one now, so the stored expiry is long.
    if let Some(swap) = long_lived_swap_request(platform, creds, &tokens.access_token) {
        let resp = fetch::send(&swap, &platform.id, None, ctx.timeout_ms())
            .await
            .map_err(|_| CallbackFailure::ExchangeFailed)?;
        let long = TokenSet::from_response(resp.status, &resp.body).map_err(|e| {
            log_failure(&platform.id, &link.id, "long_lived_swap", &e.to_string());
            CallbackFailure::ExchangeFailed
        })?;
        tokens.access_token = long.access_token;
        tokens.expires_in = long.expires_in;
    }
    Ok(tokens)
}

/// What to do with the grant after the picker's write failed.
enum Held {
    /// The write did not commit: revoke it (the hold row goes once that is settled).
    Revoke,
    /// Not known whether it committed: the row, if any, is the cron's.
    Unknown,
}

/// Keeps the choice sealed in D1 (the link is `choosing`) and answers the picker page, bound
/// to this browser by a cookie and to a one-time form token. A write that fails is read
/// back: one D1 committed all the same answers the page.
async fn ask(
    ctx: &Ctx,
    link: &LinkRow,
    choice: &Choice,
    finish: Finish,
    connected_here: &[String],
) -> Result<Connected, Held> {
    let (form_token, cookie) = match (random_token(), random_token()) {
        (Ok(t), Ok(c)) => (t, c),
        _ => return Err(Held::Revoke),
    };
    let token_hash = choice_hash(&form_token);
    let stored = async {
        let db = ctx.db()?;
        let now = ctx.now();
        let until = now + CHOICE_TTL_SECS;
        let binding = Some((token_hash.clone(), choice_hash(&cookie)));
        let insert = choice_insert_stmt(ctx, &db, link, choice, finish, binding, until)?;
        let of = store::OfChoice::of(link);
        let choosing = store::end_link_stmt(&db, &link.id, &LinkEnd::Choosing { until }, of, now)?;
        db.batch(vec![insert, choosing, store::assert_changed_stmt(&db)?]).await.or_500("store choice")?;
        Ok::<(), ApiError>(())
    }
    .await;
    if stored.is_err() {
        match row_after_error(ctx, &link.id).await {
            Ok(Some(bound)) if bound == token_hash => {}
            Ok(_) => return Err(Held::Revoke),
            Err(_) => return Err(Held::Unknown),
        }
    }
    let action = format!("{}/connect/{}/accounts", ctx.public_url, link.id);
    let name = ctx.catalog.get(&link.platform).map_or(link.platform.as_str(), |p| p.name.as_str());
    let mark = PlatformMark::of(&link.platform, name);
    // The page names the app; without its row (a storage error) it says "An app".
    let brand = match ctx.db() {
        Ok(db) => store::get_app(&db, &link.app_id).await.ok().flatten().map(|a| brand_of(&a)).unwrap_or_default(),
        Err(_) => Brand::default(),
    };
    let msgs = crate::pages::messages(ctx, ctx.page_lang(link.locale.as_deref())).await;
    Ok(Connected::Choose {
        page: picker_page(&brand, &msgs, &mark, &action, &form_token, &choice.accounts, connected_here),
        lang: msgs.lang().code(),
        policy: picker_policy(&[&action, &link.redirect_url]),
        cookie: choice_cookie(&cookie, &link.id, ctx.https()),
    })
}
