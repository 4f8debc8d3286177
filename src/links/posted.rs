//! Accounts connected with credentials instead of a consent screen (a pasted API key, a
//! Bluesky app password), for the two flows that take them: `POST /v1/profiles`
//! (`connect::posted`, through a link that completes in the same request) and a chooser
//! link's forms (`browser::chooser`, on the chooser's own link). The key's check
//! ([`api_key`]), Bluesky's sign-in (`links::bluesky`), and the landing on a link
//! ([`land`]), which goes through the same path as a redirect connect
//! (`grants::land::store_accounts`), so ownership, reconnects and events behave the same. A
//! posted secret is never stored as posted: a key is kept as the grant's sealed token, an app
//! password not at all.

use crate::ctx::Ctx;
use crate::fetch;
use crate::grants::land::{read_seen, store_accounts, ConnectError, Connected, Finish, FreshGrant};
use crate::links::end::fail_link;
use crate::store;
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::identity::{parse_identity, Identity};
use connect_links_core::model::{AppRow, LinkRow};
use connect_links_core::oauth::identity_request;
use connect_links_core::picker::Choice;
use connect_links_core::platforms::Platform;
use connect_links_core::secrets::{AccessToken, RefreshToken};
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

/// An API-key provider: one identity call with `key` where the provider takes it; 401 or
/// 403 from the provider is `invalid_credentials`.
pub async fn api_key(ctx: &Ctx, platform: Platform, key: &str) -> ApiResult<Posted> {
    let key = AccessToken::new(key.trim());
    let req = identity_request(&platform, &key);
    let resp = fetch::send(&req, &platform.id, None, ctx.timeout_ms())
        .await
        .map_err(|e| ApiError::upstream(format!("{} {} while checking the key", platform.name, e.describe())))?;
    if matches!(resp.status, 401 | 403) {
        return Err(ApiError::new(ErrorCode::InvalidCredentials, format!("{} refused the key", platform.name)));
    }
    let identity = parse_identity(&platform.identity, resp.status, &resp.body).ok_or_else(|| {
        ApiError::upstream(format!("{}'s identity call answered {} without an account id", platform.name, resp.status))
    })?;
    let tokens = TokenSet {
        access_token: key,
        token_type: "Bearer".into(),
        expires_in: None,
        refresh_token: None,
        refresh_expires_in: None,
        scope: None,
    };
    Ok(Posted { platform, tokens, identity, issued_at: ctx.now() })
}

/// Why [`land`] did not connect.
pub enum NotLanded {
    /// The connect failed as a connect fails (the link is failed with it).
    Failed(CallbackFailure),
    /// Storage failed (the link is failed as `server_error`).
    Api(ApiError),
}

/// Lands the account of `posted` as a profile of `app` through `link` (pending, naming the
/// platform), ending as `finish` says. Whatever fails after the sign-in, the session it made
/// is nobody's: it is ended at the platform after the answer (a Bluesky session; a key has
/// nothing to end). A session this connect replaces is ended likewise.
pub async fn land(
    ctx: &Ctx,
    app: &AppRow,
    link: &LinkRow,
    posted: Posted,
    finish: Finish,
) -> Result<Connected, NotLanded> {
    let fresh = session(&posted);
    let landed = land_once(ctx, app, link, posted, finish).await;
    if landed.is_err() {
        end_later(ctx, fresh).await;
    }
    landed
}

/// Ends the session `posted` made, after the answer: it is nobody's (the connect did not
/// get as far as [`land`]).
pub async fn discard(ctx: &Ctx, posted: Posted) {
    end_later(ctx, session(&posted)).await;
}

fn session(posted: &Posted) -> FreshGrant {
    FreshGrant::new(
        &posted.platform,
        posted.tokens.access_token.clone(),
        posted.tokens.refresh_token.clone(),
        &posted.identity.platform_user_id,
    )
}

async fn end_later(ctx: &Ctx, fresh: FreshGrant) {
    let job_ctx = ctx.detached();
    ctx.after_answer(async move {
        fresh.revoke(&job_ctx, "posted").await;
    })
    .await;
}

async fn land_once(
    ctx: &Ctx,
    app: &AppRow,
    link: &LinkRow,
    posted: Posted,
    finish: Finish,
) -> Result<Connected, NotLanded> {
    let Posted { platform, tokens, identity, issued_at } = posted;
    let login = Account::of_login(&identity);
    let id = login.platform_user_id.clone();
    let choice = Choice {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_in: tokens.expires_in,
        refresh_expires_in: tokens.refresh_expires_in,
        scopes: tokens.scope.as_deref().map(connect_links_core::oauth::parse_scopes).unwrap_or_default(),
        declined: vec![],
        accounts: vec![login.clone()],
        login,
        listed: vec![id.clone()],
        listed_complete: true,
        issued_at,
        // Posted credentials need no platform app.
        credential_ref: None,
    };
    // One read of the app's state, handed to the store: it also gives the session this
    // connect replaces, if the account was connected before (ended below).
    let mut previous = None;
    let stored = match read_seen(ctx, link, &id, None, std::slice::from_ref(&id)).await {
        Ok(seen) => {
            previous = seen.grant.clone();
            let mode = Some(app.refresh_mode());
            store_accounts(ctx, &platform, link, &choice, &[id], finish, Some(seen), mode).await
        }
        // A storage error of the read itself answers as it is, the link left to expire.
        Err(ConnectError::Api(e)) => return Err(NotLanded::Api(e)),
        Err(failed) => Err(failed),
    };
    let failure = match stored {
        Ok(done @ Connected::Done { .. }) => {
            // At the old grant's own server (a Bluesky account may have moved to another PDS).
            if let Some((grant, cols)) = previous {
                if let Some(old_platform) = ctx.platform_at(&platform.id, grant.instance.as_deref()) {
                    end_replaced(ctx, &old_platform, &grant.id, &cols, &choice).await;
                }
            }
            return Ok(done);
        }
        Ok(Connected::Choose { .. }) => CallbackFailure::ServerError,
        Err(ConnectError::Failed(f)) => f,
        Err(ConnectError::Api(e)) => {
            fail_link(ctx, link, CallbackFailure::ServerError).await;
            return Err(NotLanded::Api(e));
        }
    };
    fail_link(ctx, link, failure).await;
    Err(NotLanded::Failed(failure))
}

/// Ends, after the answer, the session a repeated connect replaced (a Bluesky refresh JWT
/// lives 90 days at the PDS otherwise); a pasted key has nothing to end. Best effort.
async fn end_replaced(ctx: &Ctx, platform: &Platform, grant_id: &str, old: &store::TokenColumns, new: &Choice) {
    let Ok(keyring) = ctx.keyring() else { return };
    let Some((access, refresh)) = old.open(&keyring) else { return };
    if refresh.is_none()
        || refresh.as_ref().map(RefreshToken::secret) == new.refresh_token.as_ref().map(RefreshToken::secret)
    {
        return;
    }
    let fresh = FreshGrant::new(platform, access, refresh, &new.login.platform_user_id);
    let job_ctx = ctx.detached();
    let link_id = grant_id.to_string();
    ctx.after_answer(async move {
        fresh.revoke(&job_ctx, &link_id).await;
    })
    .await;
}
