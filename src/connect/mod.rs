//! Connecting accounts. This file is the flow after a consent screen: take the pending state
//! exactly once, spend the code, check scopes, fetch the identity, store encrypted tokens.
//! `posted` is the flow without one (`POST /v1/profiles`), ending in the same store.

pub mod bluesky;
mod hold;
mod landing;
pub mod mastodon;
pub mod posted;

use crate::ctx::{Ctx, OrInternal};
use crate::fetch;
use crate::jobs::webhooks;
use crate::revoke::{revoke, Grant};
use crate::store::{self, LinkEnd};
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::identity::parse_identity;
use connect_links_core::mastodon::{account_key, handle as instance_handle, is_unknown_client};
use connect_links_core::model::{GrantRow, LinkRow, ProfileRow, ProfileStatus};
use connect_links_core::oauth::{
    clean_code, code_exchange_request, identity_request, long_lived_swap_request, missing_scopes, parse_scopes,
    parse_token_answer, ClientCredentials,
};
use connect_links_core::ownership::{new_connect_token, place, ExistingAccount, Placement, CLAIM_TTL_SECS};
use connect_links_core::picker::{choice_cookie, choice_hash, picker_page, picker_policy, Choice, CHOICE_TTL_SECS};
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::random::new_id;
use connect_links_core::random::random_token;
use connect_links_core::refresh_policy::{next_action_at, RefreshMode, TokenTimes};
use connect_links_core::secrets::ConnectToken;
use connect_links_core::state::{state_key, OpenedAuth, PendingAuth};
use connect_links_core::token::TokenSet;
use connect_links_core::webhook::types;
pub use hold::row_after_error as choice_after_error;
use hold::{choice_insert_stmt, hold, row_after_error, unknown_login};
use landing::{ProfileWrite, Shared};
use serde_json::json;
use worker::{console_log, query};

/// Why a state could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum StateProblem {
    /// Not in KV: never issued, expired from KV, or already consumed.
    Unknown,
    /// Still in KV but older than ten minutes.
    Expired,
    /// Already consumed (lost the D1 race).
    Replayed,
}

/// Looks up a state without consuming it, and opens its sealed verifier.
pub async fn peek_state(ctx: &Ctx, state: &str) -> ApiResult<Result<OpenedAuth, StateProblem>> {
    let key = state_key(state);
    let raw = ctx.kv()?.get(&key).text().await.or_500("kv get state")?;
    let Some(sealed) = raw.and_then(|r| serde_json::from_str::<PendingAuth>(&r).ok()) else {
        return Ok(Err(StateProblem::Unknown));
    };
    // A record whose verifier does not open (forged, or under a removed key) is no state.
    let pending = match sealed.open(&*ctx.keyring()?, &key) {
        Ok(p) => p,
        Err(_) => return Ok(Err(StateProblem::Unknown)),
    };
    if !pending.is_fresh(ctx.now()) {
        return Ok(Err(StateProblem::Expired));
    }
    Ok(Ok(pending))
}

/// Consumes a state exactly once (recorded in D1) and drops it from KV.
pub async fn consume_state(ctx: &Ctx, state: &str, pending: &OpenedAuth) -> ApiResult<Result<(), StateProblem>> {
    let key = state_key(state);
    if !store::consume_state(&ctx.db()?, &key, &pending.link_id, ctx.now()).await? {
        return Ok(Err(StateProblem::Replayed));
    }
    // Best effort: D1 already refuses a second use.
    let _ = ctx.kv()?.delete(&key).await;
    Ok(Ok(()))
}

/// How a successful connect ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The link completes and the app is told now (`"claim": "auto"` apps, app callbacks).
    Now,
    /// The link waits for the app's claim; a new profile stays `pending` until then.
    AwaitClaim,
}

impl Finish {
    /// The stored form (`account_choices.finish`).
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Now => "now",
            Finish::AwaitClaim => "claim",
        }
    }
    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Self {
        if s == "now" {
            Finish::Now
        } else {
            Finish::AwaitClaim
        }
    }
}

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
    },
}

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
) -> Result<Connected, CallbackFailure> {
    match connect(ctx, pending, link, code, finish, pick).await {
        Ok(c) => Ok(c),
        Err((failure, grant)) => {
            end_failed(ctx, link, failure, grant).await;
            Err(failure)
        }
    }
}

/// Ends a pending link in failure and tells the app (`connect_link.failed`), in one batch.
pub async fn fail_link(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure) {
    end_failed(ctx, link, failure, None).await
}

/// A grant a failed connect obtained, owned so it can be revoked after the answer.
pub struct FreshGrant {
    platform: Platform,
    access: String,
    refresh: Option<String>,
    /// The platform login, when the identity call told it.
    account: Option<String>,
}

impl FreshGrant {
    /// A grant just obtained for `account` (posted credentials whose connect then failed).
    pub fn new(platform: &Platform, access: &str, refresh: Option<&str>, account: &str) -> FreshGrant {
        FreshGrant {
            platform: platform.clone(),
            access: access.to_string(),
            refresh: refresh.map(str::to_string),
            account: Some(account.to_string()),
        }
    }
    /// The grant held by a choice that will not be stored.
    pub fn of_choice(platform: &Platform, c: &Choice) -> FreshGrant {
        FreshGrant {
            platform: platform.clone(),
            access: c.access_token.secret().to_string(),
            refresh: c.refresh_token.as_ref().map(|r| r.secret().to_string()),
            // Held before the identity call told the login: an unknown account.
            account: Some(c.login.platform_user_id.clone()).filter(|l| !l.is_empty()),
        }
    }
    /// Revokes it where that ends no other grant (logged); whether that is settled (see
    /// [`revoke`]): when not, a row holding the grant is kept for the cron's retry.
    pub async fn revoke(self, ctx: &Ctx, link_id: &str) -> bool {
        let grant = Grant {
            platform: &self.platform,
            access: &self.access,
            refresh: self.refresh.as_deref(),
            account: self.account.as_deref(),
            grant_id: None,
        };
        let settled = revoke(ctx, &grant, false).await.is_ok();
        if !settled {
            log_failure(&self.platform.id, link_id, "revoke", "the fresh grant could not be revoked");
        }
        settled
    }
}

/// Records the failure (link and event in one batch); then, after the answer (the browser
/// need not wait), revokes the fresh grant where that ends no other grant and makes the
/// event's first delivery attempt, in that order: once the attempt is made, the revocation is done.
/// The account-choice row that held the grant (see [`hold`]) goes once the revocation is
/// settled; until then it stays, and the cron revokes what it holds when it expires.
pub async fn end_failed(ctx: &Ctx, link: &LinkRow, failure: CallbackFailure, grant: Option<FreshGrant>) {
    let recorded = async {
        let db = ctx.db()?;
        let end = store::end_link_stmt(&db, &link.id, &LinkEnd::Failed(failure.as_str()), ctx.now())?;
        let data = json!({"link_id": link.id, "platform": link.platform, "error": failure.as_str(), "external_user_id": link.external_user_id});
        let event = webhooks::event_after(ctx, &db, &link.app_id, types::LINK_FAILED, data)?;
        // A link that ended meanwhile (a landing whose answer was lost committed it) is not
        // told failed.
        db.batch(vec![end, store::assert_changed_stmt(&db)?, event.stmt]).await.or_500("end failed link")?;
        Ok::<String, ApiError>(event.id)
    }
    .await;
    if recorded.is_err() {
        log_failure(&link.platform, &link.id, "link", "the failure could not be recorded");
    }
    let job_ctx = ctx.detached();
    let link_id = link.id.clone();
    ctx.after_answer(async move {
        if let Some(g) = grant {
            if g.revoke(&job_ctx, &link_id).await {
                let _ = store::drop_choice(&job_ctx, &link_id).await;
            }
        }
        if let Ok(event_id) = recorded {
            webhooks::deliver_ids(&job_ctx, &[event_id]).await;
        }
    })
    .await;
}

type Failed = (CallbackFailure, Option<FreshGrant>);

async fn connect(
    ctx: &Ctx,
    pending: &OpenedAuth,
    link: &LinkRow,
    code: &str,
    finish: Finish,
    pick: Pick,
) -> Result<Connected, Failed> {
    let resolved = crate::instances::resolve(ctx, &pending.platform, link.instance.as_deref()).await;
    let Ok(Some((platform, Some(creds)))) = resolved else { return Err((CallbackFailure::ServerError, None)) };
    let platform = &platform;
    let tokens = exchange(ctx, platform, &creds, pending, link, code).await.map_err(|f| (f, None))?;
    // From here on the grant is ours: a failure revokes it where that ends no other grant.
    let fresh = |account: Option<String>| FreshGrant {
        platform: platform.clone(),
        access: tokens.access_token.secret().to_string(),
        refresh: tokens.refresh_token.as_ref().map(|r| r.secret().to_string()),
        account,
    };
    let requested = link.scope_list();
    let mut choice = Choice {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        expires_in: tokens.expires_in,
        refresh_expires_in: tokens.refresh_expires_in,
        scopes: tokens.scope.as_deref().map(parse_scopes).unwrap_or_else(|| requested.clone()),
        login: unknown_login(),
        listed: vec![],
        listed_complete: false,
        issued_at: ctx.now(),
        accounts: vec![],
    };
    // Held in a row before anything else is read, whatever happens to this request: the
    // identity and the accounts (up to a thousand Pages) take a while.
    if hold(ctx, link, &choice, finish).await.is_err() {
        return Err((CallbackFailure::ServerError, Some(fresh(None))));
    }
    let missing = missing_scopes(&requested, tokens.scope.as_deref());
    if !missing.is_empty() {
        log_failure(&platform.id, &link.id, "scopes", &format!("declined: {}", missing.join(" ")));
        return Err((CallbackFailure::MissingScopes, Some(fresh(None))));
    }
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
    let seen = match read_seen(ctx, link, &choice.login.platform_user_id, &ids).await {
        Ok(Ok(s)) => s,
        Ok(Err(f)) => return Err(fail(f)),
        // Nothing holds the fresh grant: revoked where that ends no other grant.
        Err(_) => return Err(fail(CallbackFailure::ServerError)),
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
        Ok(Ok(done)) => Ok(done),
        Ok(Err(f)) => Err(fail(f)),
        // D1 may have committed the batch all the same: the grant is revoked only while the
        // row that held it is still there (the batch deletes it).
        Err(_) => match row_after_error(ctx, &link.id).await {
            Ok(Some(_)) => Err(fail(CallbackFailure::ServerError)),
            Ok(None) | Err(_) => Err((CallbackFailure::ServerError, None)),
        },
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

/// The accounts this connect may offer: those whose profile in this app (if any) it may
/// place (see `ownership::place`). Accounts another user of the app owns are left out; none
/// left is `account_connected_elsewhere`. A reconnect link's profile must be among them
/// (else `profile_failed`: another login came back). Also answers which accounts already
/// have a profile this connect would update (the picker checks them first).
fn offer(link: &LinkRow, seen: &Seen, listed: Vec<Account>) -> Result<(Vec<Account>, Vec<String>), CallbackFailure> {
    let (existing, owner) = (&seen.existing, seen.owner.as_deref());
    let login_grant = seen.grant.as_ref().map(|(g, _)| g.id.as_str());
    if let Some(target) = &link.reconnect_profile_id {
        let found = existing.iter().find(|p| &p.id == target);
        if found.is_none() || placement(found, link, owner, login_grant) == Placement::WrongAccount {
            log_failure(&link.platform, &link.id, "reconnect", "a different account or login came back");
            return Err(CallbackFailure::ProfileFailed);
        }
    }
    let mut offered = Vec::new();
    let mut here = Vec::new();
    for a in listed {
        let found = existing.iter().find(|p| p.platform_user_id == a.platform_user_id);
        match placement(found, link, owner, login_grant) {
            Placement::ConnectedElsewhere | Placement::WrongAccount => continue,
            Placement::Update(_) => here.push(a.platform_user_id.clone()),
            Placement::New | Placement::TakeOverPending(_) => {}
        }
        offered.push(a);
    }
    if offered.is_empty() {
        log_failure(&link.platform, &link.id, "owner", "every account is connected by another user");
        return Err(CallbackFailure::AccountConnectedElsewhere);
    }
    Ok((offered, here))
}

/// What a connect reads of the app's state for one login, once per attempt: the profiles
/// of its accounts, the owner it acts for, and the login's grant.
pub struct Seen {
    existing: Vec<ProfileRow>,
    owner: Option<String>,
    grant: Option<(GrantRow, store::TokenColumns)>,
}

/// Reads what [`Seen`] holds for the accounts `ids` of `login`. The login itself is owned:
/// when its grant serves another owner's profiles, the connect fails here.
async fn read_seen(ctx: &Ctx, link: &LinkRow, login: &str, ids: &[String]) -> ApiResult<Result<Seen, CallbackFailure>> {
    let db = ctx.db()?;
    let existing = store::profiles_of_accounts(&db, &link.app_id, &link.platform, ids).await?;
    let owner = match reconnect_owner(ctx, link).await? {
        Ok(o) => o,
        Err(f) => return Ok(Err(f)),
    };
    if store::grant_has_other_owner(&db, &link.app_id, &link.platform, login, owner.as_deref()).await? {
        log_failure(&link.platform, &link.id, "owner", "the login is connected by another user");
        return Ok(Err(CallbackFailure::AccountConnectedElsewhere));
    }
    let grant = store::find_grant(&db, &link.app_id, &link.platform, login).await?;
    Ok(Ok(Seen { existing, owner, grant }))
}

/// The owner a connect acts for: the link's `external_user_id`, or for a reconnect link the
/// owner of its profile (a reconnect refreshes that owner's accounts). A reconnect link whose
/// profile is gone fails with `profile_failed`.
async fn reconnect_owner(ctx: &Ctx, link: &LinkRow) -> ApiResult<Result<Option<String>, CallbackFailure>> {
    match &link.reconnect_profile_id {
        None => Ok(Ok(link.external_user_id.clone())),
        Some(id) => match store::get_profile(&ctx.db()?, &link.app_id, id).await? {
            Some(p) => Ok(Ok(p.external_user_id)),
            None => Ok(Err(CallbackFailure::ProfileFailed)),
        },
    }
}

/// [`place`] for one account: the reconnect link's own profile is updated whoever owns it;
/// every other account is placed for the owner the connect acts for. An account connected
/// through another login (`login_grant`: this login's grant in the app, if any) stays with
/// that login while it is active there: a co-admin's login completing the owner's link must
/// not re-point a live Page to a grant the owner does not control. A never-claimed profile
/// moves, and so does a disconnected one (its old login lost it; the owner rule still holds).
fn placement(found: Option<&ProfileRow>, link: &LinkRow, owner: Option<&str>, login_grant: Option<&str>) -> Placement {
    if let Some(p) = found {
        if p.status == ProfileStatus::Active && login_grant != Some(p.grant_id.as_str()) {
            return if link.reconnect_profile_id.as_deref() == Some(p.id.as_str()) {
                Placement::WrongAccount
            } else {
                Placement::ConnectedElsewhere
            };
        }
    }
    let seen = found.map(|p| ExistingAccount {
        id: &p.id,
        external_user_id: p.external_user_id.as_deref(),
        pending: p.status == ProfileStatus::Pending,
    });
    match (&seen, &link.reconnect_profile_id) {
        (Some(e), Some(target)) if e.id == target => place(seen.as_ref(), owner, Some(target)),
        _ => place(seen.as_ref(), owner, None),
    }
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
        let choosing = store::end_link_stmt(&db, &link.id, &LinkEnd::Choosing { until }, now)?;
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
    Ok(Connected::Choose {
        page: picker_page(name, &action, &form_token, &choice.accounts, connected_here),
        policy: picker_policy(&[&action, &link.redirect_url]),
        cookie: choice_cookie(&cookie, &link.id, ctx.public_url.starts_with("https://")),
    })
}

fn log_failure(platform: &str, link_id: &str, step: &str, detail: &str) {
    console_log!(
        "{}",
        json!({"event": "connect_failed", "platform": platform, "link_id": link_id, "step": step, "detail": detail})
    );
}

/// Stores the grant and the chosen accounts as profiles of this app, disconnects the
/// profiles of accounts the platform no longer lists (`account_removed`), and ends the link,
/// in one batch (with the events, when the link completes now). An account keeps its profile
/// id; its owner never changes (see `ownership::place`); a missing refresh token in the
/// answer keeps the stored one; any refresh lease is cleared, so a refresh in flight with
/// the old grant can neither overwrite the new tokens nor disconnect the profiles. Every
/// conditional write is followed by an assertion, so a race rolls the whole batch back and
/// the loop reads again. `fresh` is a read the caller just made; `mode` the app's refresh
/// mode when the caller holds the app (each saves a D1 read).
#[allow(clippy::too_many_arguments)]
pub async fn store_accounts(
    ctx: &Ctx,
    platform: &Platform,
    link: &LinkRow,
    choice: &Choice,
    chosen: &[String],
    finish: Finish,
    mut fresh: Option<Seen>,
    mode: Option<RefreshMode>,
) -> ApiResult<Result<Connected, CallbackFailure>> {
    let db = ctx.db()?;
    let keyring = ctx.keyring()?;
    let accounts: Vec<&Account> = choice.accounts.iter().filter(|a| chosen.contains(&a.platform_user_id)).collect();
    let ids: Vec<String> = accounts.iter().map(|a| a.platform_user_id.clone()).collect();
    // The grant's first schedule follows the app's refresh mode (read here unless the caller
    // holds the app).
    let mode = match mode {
        Some(m) => m,
        None => store::app_refresh_mode(&db, &link.app_id).await?,
    };
    for _ in 0..3 {
        // Read again on every attempt but a first that comes with a fresh read (a picker may
        // have been open for minutes; a retry follows a race).
        let seen = match fresh.take() {
            Some(s) => s,
            None => match read_seen(ctx, link, &choice.login.platform_user_id, &ids).await? {
                Ok(s) => s,
                Err(f) => return Ok(Err(f)),
            },
        };
        let Seen { existing, owner, grant } = seen;
        let now = ctx.now();
        let grant_id = match &grant {
            Some((g, _)) => g.id.clone(),
            None => new_id("grn_")?,
        };
        let access_enc = keyring.seal(&grant_id, "access_token", choice.access_token.secret()).or_500("seal")?;
        let stored_refresh = grant.as_ref().and_then(|(_, t)| t.refresh_token_enc.as_deref());
        let refresh_enc = match (&choice.refresh_token, stored_refresh) {
            (Some(rt), _) => Some(keyring.seal(&grant_id, "refresh_token", rt.secret()).or_500("seal")?),
            // Keep the stored one, moved under the current key so the row has one key id.
            (None, Some(old)) if Keyring::kid_of(old) == Some(keyring.current_kid()) => Some(old.to_string()),
            (None, Some(old)) => {
                let plain = keyring.open(&grant_id, "refresh_token", old).or_500("open refresh token")?;
                Some(keyring.seal(&grant_id, "refresh_token", &plain).or_500("seal")?)
            }
            (None, None) => None,
        };
        // Lifetimes count from the token answer, not from the picker's submission.
        let issued = if choice.issued_at > 0 { choice.issued_at } else { now };
        let expires_at = choice.expires_in.or(platform.default_access_ttl_secs).map(|s| issued + s);
        let refresh_expires_at = choice.refresh_expires_in.map(|s| issued + s);
        // The schedule counts from the same moment as the stored times: a second between the
        // answer and this write would otherwise shorten the computed lead.
        let times = TokenTimes {
            issued_at: issued,
            access_expires_at: expires_at,
            refresh_expires_at,
            has_refresh_token: refresh_enc.is_some(),
        };
        let next = next_action_at(mode, platform.refresh, platform.refresh_idle_secs, &times);
        let scopes = serde_json::to_string(&choice.scopes).or_500("scopes json")?;
        let grant_write = match &grant {
            Some((_, old)) => query!(
                &db,
                "UPDATE grants SET status = 'active', disconnect_reason = NULL, scopes = ?2, access_token_enc = ?3, \
                 refresh_token_enc = ?4, token_kid = ?5, access_token_expires_at = ?6, \
                 refresh_token_expires_at = COALESCE(?7, refresh_token_expires_at), token_issued_at = ?13, \
                 next_refresh_at = ?9, reschedule = 0, refresh_failures = 0, refresh_failing = 0, expiring_notified = 0, \
                 refresh_lease_id = NULL, refresh_lease_until = NULL, last_refresh_ms = ?10, reencrypt_failed_at = NULL, \
                 updated_at = ?8, consented_at = ?8, instance = ?12 WHERE id = ?1 AND access_token_enc = ?11",
                grant_id,
                scopes,
                access_enc,
                refresh_enc,
                keyring.current_kid(),
                expires_at,
                refresh_expires_at,
                now,
                next,
                crate::ctx::now_ms(),
                old.access_token_enc,
                platform.instance,
                issued
            ),
            None => query!(
                &db,
                "INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, \
                 refresh_token_enc, token_kid, access_token_expires_at, refresh_token_expires_at, token_issued_at, \
                 next_refresh_at, created_at, updated_at, consented_at, instance) VALUES (?1, ?2, ?3, ?4, 'active', ?5, ?6, \
                 ?7, ?8, ?9, ?10, ?14, ?12, ?11, ?11, ?11, ?13)",
                grant_id,
                link.app_id,
                link.platform,
                choice.login.platform_user_id,
                scopes,
                access_enc,
                refresh_enc,
                keyring.current_kid(),
                expires_at,
                refresh_expires_at,
                now,
                next,
                platform.instance,
                issued
            ),
        }
        .or_500("prepare grant write")?;
        let mut stmts = vec![grant_write, store::assert_changed_stmt(&db)?];
        // Profiles under the grant that this connect does not touch still follow it.
        stmts.push(store::copy_grant_to_profiles_stmt(&db, &grant_id, now)?);
        let mut events = Vec::new();
        let (mut profile_ids, mut kinds, mut views, mut moved_from) = (vec![], vec![], vec![], vec![]);
        let (mut inserts, mut updates) = (vec![], vec![]);
        // Which profile each connected account became (by platform account id).
        let mut became: Vec<(String, String)> = vec![];
        for a in &accounts {
            let found = existing.iter().find(|p| p.platform_user_id == a.platform_user_id);
            let login_grant = grant.as_ref().map(|(g, _)| g.id.as_str());
            let (id, take_over) = match placement(found, link, owner.as_deref(), login_grant) {
                Placement::New => (new_id("prf_")?, false),
                Placement::Update(id) => (id, false),
                Placement::TakeOverPending(id) => (id, true),
                // Owned elsewhere since it was offered: left out.
                Placement::ConnectedElsewhere | Placement::WrongAccount => continue,
            };
            let was_pending = found.is_none_or(|p| p.status == ProfileStatus::Pending);
            let (status, claim_link) = match finish {
                Finish::AwaitClaim if was_pending => ("pending", Some(link.id.as_str())),
                _ => ("active", None),
            };
            let own_enc = match &a.own_token {
                Some(t) => Some(keyring.seal(&id, "access_token", t).or_500("seal")?),
                None => None,
            };
            let own_kid = own_enc.as_ref().map(|_| keyring.current_kid().to_string());
            // An account's own token (a Page's) does not expire with the login's.
            let profile_expiry = if own_enc.is_some() { None } else { expires_at };
            // A token that never expires is never refreshed: its liveness is checked instead.
            let next_check = profile_expiry.is_none().then(|| crate::jobs::liveness::first_check_at(ctx, now));
            let parent = match &a.parent {
                Some(p) => Some(serde_json::to_string(p).or_500("parent json")?),
                None => None,
            };
            let owner_after = match found {
                Some(o) if !take_over => o.external_user_id.clone(),
                _ => link.external_user_id.clone(),
            };
            let metadata_after = match found {
                Some(o) if !take_over => link.metadata.clone().or_else(|| o.metadata.clone()),
                _ => link.metadata.clone(),
            };
            if let Some(old) = found {
                if old.grant_id != grant_id {
                    moved_from.push(old.grant_id.clone());
                }
            }
            let write = ProfileWrite {
                id: id.clone(),
                account_type: a.account_type.as_str(),
                platform_user_id: a.platform_user_id.clone(),
                parent: parent.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                external_user_id: owner_after.clone(),
                metadata: metadata_after.clone(),
                status,
                claim_link_id: claim_link.map(str::to_string),
                access_token_enc: own_enc,
                token_kid: own_kid,
                access_token_expires_at: profile_expiry,
                next_check_at: next_check,
                old_owner: found.and_then(|o| o.external_user_id.clone()),
                old_status: found.map(|o| o.status.as_str().to_string()),
            };
            match found {
                Some(_) => updates.push(write),
                None => inserts.push(write),
            }
            // A never-claimed profile is new to whoever claims it.
            let kind = if was_pending { types::CONNECTED } else { types::RECONNECTED };
            let after = ProfileRow {
                id: id.clone(),
                app_id: link.app_id.clone(),
                platform: link.platform.clone(),
                account_type: a.account_type.as_str().into(),
                grant_id: grant_id.clone(),
                parent,
                platform_user_id: a.platform_user_id.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                external_user_id: owner_after,
                metadata: metadata_after,
                status: status.into(),
                disconnect_reason: None,
                scopes: scopes.clone(),
                access_token_expires_at: profile_expiry,
                last_refreshed_at: found.and_then(|o| o.last_refreshed_at),
                created_at: found.map_or(now, |o| o.created_at),
                updated_at: now,
                claim_link_id: None,
                last_platform_event_at: found.and_then(|o| o.last_platform_event_at),
                instance: platform.instance.clone(),
            };
            became.push((a.platform_user_id.clone(), id.clone()));
            profile_ids.push(id);
            kinds.push(kind);
            views.push(after.view());
        }
        if profile_ids.is_empty() {
            return Ok(Err(CallbackFailure::AccountConnectedElsewhere));
        }
        let shared = Shared {
            app_id: &link.app_id,
            grant_id: &grant_id,
            platform: &link.platform,
            scopes: &scopes,
            now,
            instance: platform.instance.as_deref(),
        };
        stmts.extend(landing::inserts(&db, &shared, &inserts)?);
        stmts.extend(landing::updates(&db, &shared, &updates)?);
        // Accounts the platform no longer lists for this login: their profiles end (only when
        // the listing was whole: one cut at its page limit proves nothing).
        if grant.is_some() && choice.listed_complete {
            let removed: Vec<ProfileRow> = store::profiles_of_grant(&db, &grant_id, true)
                .await?
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| !choice.listed.contains(&p.platform_user_id))
                .collect();
            let ids: Vec<String> = removed.iter().map(|p| p.id.clone()).collect();
            stmts.extend(landing::removals(&db, &grant_id, &ids, now)?);
            let ended =
                removed.into_iter().map(|p| (types::DISCONNECTED, p.ended("account_removed", now).view())).collect();
            webhooks::push_event_rows(ctx, &db, &link.app_id, ended, &mut stmts, &mut events)?;
        }
        let token = match finish {
            Finish::Now => None,
            Finish::AwaitClaim => Some(new_connect_token()?),
        };
        let end = match &token {
            None => LinkEnd::Completed(&profile_ids),
            Some((_, hash)) => LinkEnd::AwaitingClaim {
                profile_ids: &profile_ids,
                events: &kinds,
                token_hash: hash,
                until: now + CLAIM_TTL_SECS,
            },
        };
        // The row that held the grant until now (a picker's choice, or [`hold`]'s) goes with it.
        stmts.push(store::drop_choice_stmt(&db, &link.id)?);
        stmts.push(store::end_link_stmt(&db, &link.id, &end, now)?);
        stmts.push(store::assert_changed_stmt(&db)?);
        if finish == Finish::Now {
            let told = kinds.iter().copied().zip(views).collect();
            webhooks::push_event_rows(ctx, &db, &link.app_id, told, &mut stmts, &mut events)?;
        }
        moved_from.sort();
        moved_from.dedup();
        let orphans_at = stmts.len();
        stmts.push(store::orphan_grants_stmt(&db, &serde_json::to_string(&moved_from).or_500("ids json")?)?);
        match db.batch(stmts).await {
            Ok(results) => {
                webhooks::deliver_now(ctx, &events.iter().map(String::as_str).collect::<Vec<_>>()).await;
                // A Page moved here from another login's grant may have left that grant unused.
                let orphans = store::deleted_grants(&results, orphans_at)?;
                if !orphans.is_empty() {
                    let job_ctx = ctx.detached();
                    ctx.after_answer(async move {
                        for (g, cols) in orphans {
                            crate::api::profiles::revoke_grant(&job_ctx, &g, &cols).await;
                        }
                    })
                    .await;
                }
                let offered = choice
                    .accounts
                    .iter()
                    .map(|a| Offered {
                        account: Account { own_token: None, ..a.clone() },
                        profile_id: became.iter().find(|(acc, _)| acc == &a.platform_user_id).map(|(_, p)| p.clone()),
                    })
                    .collect();
                return Ok(Ok(Connected::Done { profile_ids, connect_token: token.map(|(t, _)| t), offered }));
            }
            // A race (a racing callback, a claim, a refresh): read again.
            Err(e) if store::is_race(&e.to_string()) => {}
            Err(e) => return Err(e).or_500("store accounts"),
        }
    }
    Ok(Err(CallbackFailure::ServerError))
}
