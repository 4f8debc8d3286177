//! `POST /v1/profiles`: accounts connected with credentials the app posts (a pasted API key,
//! a Bluesky app password) instead of a consent screen, for platforms that offer no OAuth
//! consent. The credentials are checked at the platform at once; what is stored goes through
//! the same path as a redirect connect (`grants::land::store_accounts`, through a link that
//! completes in the same request),
//! so ownership, reconnects and events behave the same. The posted secret is never stored
//! as posted: a key is kept as the grant's token, an app password not at all.

use super::Posted;
use crate::ctx::Ctx;
use crate::fetch;
use crate::grants::land::{read_seen, store_accounts, ConnectError, Connected, Finish, FreshGrant};
use crate::links::end::fail_link;
use crate::respond;
use crate::store;
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::identity::parse_identity;
use connect_links_core::input::{parse_json, CreateProfile};
use connect_links_core::model::{AppRow, LinkRow};
use connect_links_core::oauth::identity_request;
use connect_links_core::picker::Choice;
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::random::new_id;
use connect_links_core::secrets::{AccessToken, RefreshToken};
use connect_links_core::token::TokenSet;
use worker::Response;

/// `POST /v1/profiles`.
pub async fn create(ctx: &Ctx, app: &AppRow, body: &[u8]) -> ApiResult<Response> {
    let input: CreateProfile = parse_json(body)?;
    input.check()?;
    let platform = ctx.platform(&input.platform)?.clone();
    let posted =
        match platform.auth {
            AuthKind::ApiKey => api_key(ctx, platform, &input).await?,
            AuthKind::AppPassword => super::bluesky::sign_in(ctx, &platform, &input).await?,
            // What the platform supports, not the body's form: 422, as every such refusal.
            AuthKind::Oauth2 | AuthKind::InstanceOauth2 => return Err(ApiError::new(
                ErrorCode::PlatformUnsupported,
                "this platform connects through a connect link (POST /v1/connect-links), not with posted credentials",
            )),
        };
    let fresh = FreshGrant::new(
        &posted.platform,
        posted.tokens.access_token.clone(),
        posted.tokens.refresh_token.clone(),
        &posted.identity.platform_user_id,
    );
    match store(ctx, app, &input, posted).await {
        Ok(created) => Ok(created),
        Err(e) => {
            // Whatever failed after the sign-in (a conflict, storage), the session it made is
            // nobody's: end it at the platform where that ends no other grant (a Bluesky
            // session; a pasted key has nothing to revoke), after the answer.
            let job_ctx = ctx.detached();
            ctx.after_answer(async move {
                fresh.revoke(&job_ctx, "posted").await;
            })
            .await;
            Err(e)
        }
    }
}

/// An API-key provider: one identity call with the key where the provider takes it.
async fn api_key(ctx: &Ctx, platform: Platform, input: &CreateProfile) -> ApiResult<Posted> {
    input.only(&["api_key"])?;
    let key = AccessToken::new(input.credential("api_key")?.trim());
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

/// Ends, after the answer, the session a repeated post replaced (a Bluesky refresh JWT lives
/// 90 days at the PDS otherwise); a pasted key has nothing to end. Best effort.
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

/// Stores the account as a profile of the app through a link that completes now, and
/// answers the profile (201).
pub async fn store(ctx: &Ctx, app: &AppRow, input: &CreateProfile, posted: Posted) -> ApiResult<Response> {
    let Posted { platform, tokens, identity, issued_at } = posted;
    let now = ctx.now();
    let db = ctx.db()?;
    let link = LinkRow {
        id: new_id("cl_")?,
        app_id: app.id.clone(),
        platform: platform.id.clone(),
        scopes: "[]".into(),
        external_user_id: input.external_user_id.clone(),
        metadata: input.metadata.as_ref().map(|m| serde_json::Value::Object(m.clone()).to_string()),
        status: "pending".into(),
        created_at: now,
        expires_at: now,
        accounts: "all".into(),
        instance: platform.instance.clone(),
        ..LinkRow::default()
    };
    store::insert_link(&db, &link, "posted", None).await?;
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
    let stored = match read_seen(ctx, &link, &id, None, std::slice::from_ref(&id)).await {
        Ok(seen) => {
            previous = seen.grant.clone();
            let mode = Some(app.refresh_mode());
            store_accounts(ctx, &platform, &link, &choice, &[id], Finish::Now, Some(seen), mode).await
        }
        // A storage error of the read itself answers as it is, the link left to expire.
        Err(ConnectError::Api(e)) => return Err(e),
        Err(failed) => Err(failed),
    };
    let failure = match stored {
        Ok(Connected::Done { profile_ids, .. }) => {
            // At the old grant's own server (a Bluesky account may have moved to another PDS).
            if let Some((grant, cols)) = previous {
                if let Some(old_platform) = ctx.platform_at(&platform.id, grant.instance.as_deref()) {
                    end_replaced(ctx, &old_platform, &grant.id, &cols, &choice).await;
                }
            }
            let first = profile_ids.first().ok_or_else(ApiError::internal)?;
            let profile = store::get_profile(&db, &app.id, first).await?.ok_or_else(ApiError::internal)?;
            return respond::json(201, &profile.view());
        }
        Ok(Connected::Choose { .. }) => CallbackFailure::ServerError,
        Err(ConnectError::Failed(f)) => f,
        Err(ConnectError::Api(e)) => {
            fail_link(ctx, &link, CallbackFailure::ServerError).await;
            return Err(e);
        }
    };
    fail_link(ctx, &link, failure).await;
    Err(match failure {
        CallbackFailure::AccountConnectedElsewhere => {
            ApiError::new(ErrorCode::Conflict, "this account is connected by another user of this app")
        }
        _ => ApiError::internal(),
    })
}
