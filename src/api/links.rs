//! Connect links: creation and status (API), the short link and the callback (browser),
//! and the exchange for apps that own their callback.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::grants::land::{Connected, Finish, Pick};
use crate::links::complete::{complete, Failure};
use crate::links::create::{self, check_redirect, new_link};
use crate::links::end::fail_link;
use crate::links::finish::finish_in_browser;
use crate::links::offer;
use crate::links::start::too_many_pending;
use crate::links::state::{consume_state, peek_state, StateProblem};
use crate::respond::{self, object};
use crate::store;
use connect_links_core::callback::{arrived_where_sent, CallbackFailure};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::input::{parse_json, AccountsMode, ClaimInput, CreateLink, ExchangeInput};
use connect_links_core::model::{AppRow, LinkRow, LinkStatus, ProfileStatus};
use connect_links_core::ownership::connect_token_hash;
use connect_links_core::pages::brand_of;
use connect_links_core::random::{ct_eq, new_id};
use connect_links_core::redirect::is_allowed;
use connect_links_core::state::{state_key, CallbackMode};
use connect_links_core::time::rfc3339;
use connect_links_core::webhook::types;
use serde_json::json;
use worker::Response;

/// `POST /v1/connect-links`: a link to one platform (`platform`, or `platforms` listing
/// one), or a hosted chooser of several (`platforms`, or neither: every platform configured
/// for the app).
pub async fn create(ctx: &Ctx, app: &AppRow, body: &[u8]) -> ApiResult<Response> {
    let input: CreateLink = parse_json(body)?;
    input.check()?;
    // Refused whenever the link may offer several, even if one turns out configured: the
    // answer does not depend on the deployment's setup.
    let fields = input.one_platform_fields();
    if input.platform.is_none() && input.platforms.as_ref().is_none_or(|l| l.len() > 1) && !fields.is_empty() {
        return Err(ApiError::invalid(format!(
            "{} can only be given for a link to one platform (platform, or platforms listing one)",
            fields.join(", ")
        )));
    }
    let offered = match (&input.platform, &input.platforms) {
        (Some(one), _) => vec![one.clone()],
        (None, Some(list)) => offer::check_offer(ctx, &app.id, list).await?,
        (None, None) => offer::configured(ctx, &app.id).await?,
    };
    // One listed platform that asks on a hosted form (Bluesky, API keys; Mastodon with no
    // instance given) gets that form at the link's url: a link offering just it. With a field
    // of one platform's (scopes, a profile to reconnect, ...) it is `platform`'s path, whose
    // answers say what the field needs.
    let form_only = |id: &str| {
        input.platform.is_none()
            && fields.is_empty()
            && ctx.catalog.get(id).is_some_and(|p| offer::form_kind(p).is_some())
    };
    match offered.as_slice() {
        [one] if form_only(one) => create_chooser(ctx, app, &input, &offered).await,
        [one] => create_one(ctx, app, &input, one).await,
        [] => Err(ApiError::new(ErrorCode::PlatformNotConfigured, "no platform is configured for this app")),
        several => create_chooser(ctx, app, &input, several).await,
    }
}

/// A link offering several platforms: no consent yet, the chooser at its `url`.
async fn create_chooser(ctx: &Ctx, app: &AppRow, input: &CreateLink, offered: &[String]) -> ApiResult<Response> {
    check_redirect(app, &input.redirect_url)?;
    let db = ctx.db()?;
    let cap = app.limits().pending_links();
    let mut link = new_link(ctx, app, input, new_id("cl_")?);
    link.scopes = "[]".into();
    link.platforms = Some(serde_json::to_string(offered).or_500("platforms json")?);
    if !store::insert_link(&db, &link, "hosted", Some(cap)).await? {
        return Err(too_many_pending(ctx, &db, &app.id, cap).await);
    }
    created(ctx, &link, None, None, Some(offered))
}

/// The 201 of a created link: a one-platform link's consent URL and platform, or a
/// chooser's platforms.
fn created(
    ctx: &Ctx,
    link: &LinkRow,
    authorize_url: Option<&str>,
    platform: Option<&str>,
    platforms: Option<&[String]>,
) -> ApiResult<Response> {
    respond::json(
        201,
        &object!(
            "id": link.id,
            "url": format!("{}/connect/{}", ctx.public_url, link.id),
            "authorize_url": authorize_url,
            "platform": platform,
            "platforms": platforms,
            "expires_at": rfc3339(link.expires_at),
        ),
    )
}

/// A link to one platform: its consent prepared now, `url` redirecting straight to it.
async fn create_one(ctx: &Ctx, app: &AppRow, input: &CreateLink, platform_id: &str) -> ApiResult<Response> {
    let (link, authorize_url) = create::one_platform(ctx, app, input, platform_id).await?;
    created(ctx, &link, Some(&authorize_url), Some(&link.platform), None)
}

/// `GET /v1/connect-links/{id}`: another app's link is 404.
pub async fn get(ctx: &Ctx, app_id: &str, id: &str) -> ApiResult<Response> {
    match store::get_link(&ctx.db()?, id).await? {
        Some(link) if link.app_id == app_id => respond::json(200, &link.view(ctx.now())),
        _ => Err(ApiError::not_found("connect link")),
    }
}

/// `GET /connect/{id}`: 302 to the consent screen while the link is pending and its
/// `redirect_url` is still in the app's allowlist (else the user would consent for nothing);
/// a chooser link shows its chooser instead, every time it is opened while pending (the
/// user may go back and choose again). `cookie` is the browser's `Cookie` header.
pub async fn open(ctx: &Ctx, id: &str, cookie: Option<&str>) -> ApiResult<Response> {
    let db = ctx.db()?;
    let link = store::get_link(&db, id).await?.ok_or_else(|| ApiError::not_found("connect link"))?;
    let app = store::get_app(&db, &link.app_id).await?.ok_or_else(ApiError::internal)?;
    // Its error pages speak the link's language and name its app.
    ctx.hint_page(link.locale.as_deref(), brand_of(&app));
    // A link past its consent (its user on the account picker) has no consent to go back to.
    match link.status_at(ctx.now()) {
        LinkStatus::Pending if link.status == LinkStatus::Pending => {
            if !is_allowed(&link.redirect_url, &app.allowlist()) {
                return Err(no_longer_allowed());
            }
            if link.platforms.is_some() {
                return offer::chooser(ctx, &link, &app, cookie).await;
            }
            let url =
                ctx.keyring()?.open(&link.id, "authorize_url", &link.authorize_url).or_500("open authorize url")?;
            respond::redirect(&url)
        }
        _ => Err(ApiError::new(
            ErrorCode::LinkExpired,
            "This connect link has expired or was already used. Ask the app for a new one.",
        )),
    }
}

/// A link whose `redirect_url` left the app's allowlist after it was made: 403, not 400
/// (the request is valid; the app's own configuration forbids where it would go).
fn no_longer_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::Forbidden,
        "The app no longer allows the address this sign-in was to return to. Start again from the app.",
    )
}

fn bad_callback(message: &str) -> ApiError {
    ApiError::invalid(message)
}

/// `GET /oauth/callback` (and `/oauth/callback/<platform>/<instance>`, `arrived` being the
/// path it came on): check the state, then spend the code, then send the browser back to the
/// app. Problems with the state itself get an HTML page (400), never a redirect.
pub async fn callback(ctx: &Ctx, query: &[(String, String)], arrived: &str) -> ApiResult<Response> {
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let state =
        param("state").filter(|s| !s.is_empty()).ok_or_else(|| bad_callback("The sign-in answer has no state."))?;
    let pending = match peek_state(ctx, state).await? {
        Ok(p) => p,
        Err(StateProblem::Expired) => {
            return Err(bad_callback("This sign-in took longer than 10 minutes. Start again from the app."))
        }
        Err(_) => {
            return Err(bad_callback("This sign-in is unknown or was already completed. Start again from the app."))
        }
    };
    if pending.callback != CallbackMode::Hosted {
        return Err(bad_callback("This sign-in must be completed by the app."));
    }
    // A code comes back on the path of the client that issued it; a state is spent only on
    // the path it was sent with. So a state of a link for one instance never sends another
    // instance's code to the first one's token endpoint. Refused before the state is spent:
    // its own answer may still come.
    if !arrived_where_sent(&pending.redirect_uri, arrived) {
        crate::log::info(
            &object!("event": "callback_elsewhere", "platform": pending.platform, "link_id": pending.link_id),
        );
        return Err(bad_callback(
            "This sign-in answer came back from another server than the one the sign-in was started on. Start again \
             from the app.",
        ));
    }
    if consume_state(ctx, state, &pending).await?.is_err() {
        return Err(bad_callback("This sign-in was already completed."));
    }
    let db = ctx.db()?;
    let link = store::get_link(&db, &pending.link_id)
        .await?
        .filter(|l| l.app_id == pending.app_id && l.status == LinkStatus::Pending)
        .ok_or_else(|| bad_callback("This sign-in is unknown or was already completed."))?;
    // On a chooser link only the latest choice completes: the user went back and chose again.
    if link.platforms.is_some() && link.choice_state.as_deref() != Some(state_key(state).as_str()) {
        return Err(bad_callback("This sign-in was replaced by a later choice on the same link. Finish that one."));
    }
    let app = store::get_app(&db, &link.app_id).await?.ok_or_else(ApiError::internal)?;
    // The allowlist may have changed since the link was made: checked again before the code
    // is spent, so a dropped URL gets neither the browser nor a grant. 403, not 400: the
    // answer is valid, the app's own configuration forbids where it would go.
    if !is_allowed(&link.redirect_url, &app.allowlist()) {
        fail_link(ctx, &link, CallbackFailure::RedirectNotAllowed).await;
        return Err(no_longer_allowed());
    }
    let finish = Finish::for_claim(app.claim_mode());
    let outcome = match (param("error"), param("code")) {
        (Some(err), _) => {
            let failure = CallbackFailure::from_platform_error(err);
            fail_link(ctx, &link, failure).await;
            Err(failure)
        }
        (None, Some(code)) if !code.is_empty() => {
            let pick = if link.accounts == AccountsMode::All { Pick::All } else { Pick::Page };
            complete(ctx, &pending, &link, code, finish, pick).await.map_err(|f| f.code)
        }
        (None, _) => {
            fail_link(ctx, &link, CallbackFailure::ExchangeFailed).await;
            Err(CallbackFailure::ExchangeFailed)
        }
    };
    finish_in_browser(&link, outcome)
}

/// `POST /v1/connect-links/{id}/claim`: the app presents the `connect_token` of the final
/// redirect; the link completes, its pending profiles become active, and the app is told
/// (`profile.connected` / `profile.reconnected`), all in one batch. One use.
pub async fn claim(ctx: &Ctx, app_id: &str, id: &str, body: &[u8]) -> ApiResult<Response> {
    let input: ClaimInput = parse_json(body)?;
    let db = ctx.db()?;
    let link = store::get_link(&db, id)
        .await?
        .filter(|l| l.app_id == app_id)
        .ok_or_else(|| ApiError::not_found("connect link"))?;
    match link.status_at(ctx.now()) {
        LinkStatus::AwaitingClaim => {}
        LinkStatus::Completed => {
            return Err(ApiError::new(ErrorCode::Conflict, "this connect link was already claimed"))
        }
        LinkStatus::Expired => {
            return Err(ApiError::new(
                ErrorCode::LinkExpired,
                "the claim window of this connect link has closed; its profile was removed",
            ))
        }
        _ => return Err(ApiError::new(ErrorCode::Conflict, "this connect link has no connected account to claim")),
    }
    let hash = connect_token_hash(&input.connect_token);
    let stored = link.claim_token_hash.as_deref().unwrap_or("");
    if !ct_eq(hash.as_bytes(), stored.as_bytes()) {
        return Err(ApiError::new(ErrorCode::Forbidden, "connect_token does not match this connect link"));
    }
    // Each profile of the link: a never-claimed one only while it still waits for this
    // link (a later connect of the account, its real owner's, may have taken it over).
    let now = ctx.now();
    let mut claimed = Vec::new();
    // One read for every profile of the link (a login may bring hundreds of Pages).
    let ids = link.profile_id_list();
    // In the order of `ids`, those not found left out: each is the next row or absent.
    let mut found = store::profiles_by_ids(&db, app_id, &ids).await?.into_iter().peekable();
    for (pid, kind) in ids.iter().zip(link.claim_event_list()) {
        let Some(mut profile) = found.next_if(|p| p.id == *pid) else { continue };
        let waits_for_us =
            profile.status == ProfileStatus::Pending && profile.claim_link_id.as_deref() == Some(link.id.as_str());
        if (kind == types::CONNECTED || profile.status == ProfileStatus::Pending) && !waits_for_us {
            continue;
        }
        if profile.status == ProfileStatus::Pending {
            profile.status = ProfileStatus::Active;
            profile.updated_at = now;
        }
        claimed.push((profile, kind));
    }
    if claimed.is_empty() {
        return Err(ApiError::new(ErrorCode::Conflict, "the account was connected again through another link"));
    }
    let mut batch = Batch::new(ctx, &db);
    batch.push(store::claim_link_stmt(&db, &link.id, app_id, &hash, now)?);
    let told = claimed.iter().map(|(profile, kind)| (kind.as_str(), profile.view())).collect();
    batch.event_rows(app_id, told)?;
    batch.push(store::activate_claimed_stmt(&db, &link.id, now)?);
    let written = batch.write().await.or_500("claim")?;
    if !store::returned_rows(&written.results, 0) {
        return Err(ApiError::new(ErrorCode::Conflict, "this connect link was claimed or expired meanwhile"));
    }
    written.deliver_now(ctx).await;
    respond::json(200, &object!("data": claimed.iter().map(|(p, _)| p.view()).collect::<Vec<_>>()))
}

/// `POST /v1/oauth/exchange`: for links created with `"callback": "app"`.
pub async fn exchange(ctx: &Ctx, app_id: &str, body: &[u8]) -> ApiResult<Response> {
    let input: ExchangeInput = parse_json(body)?;
    let expired = || ApiError::new(ErrorCode::LinkExpired, "state is unknown, expired or already used");
    let pending = match peek_state(ctx, &input.state).await? {
        Ok(p) => p,
        Err(_) => return Err(expired()),
    };
    // Checked before consuming, so another app's key cannot burn this state.
    if pending.app_id != app_id {
        return Err(ApiError::new(ErrorCode::Forbidden, "this state belongs to another app"));
    }
    if pending.callback != CallbackMode::App {
        return Err(ApiError::invalid("this link uses the hosted callback; the worker completes it"));
    }
    if consume_state(ctx, &input.state, &pending).await?.is_err() {
        return Err(expired());
    }
    let db = ctx.db()?;
    let link = store::get_link(&db, &pending.link_id)
        .await?
        .filter(|l| l.status == LinkStatus::Pending)
        .ok_or_else(expired)?;
    let app = store::get_app(&db, app_id).await?.ok_or_else(ApiError::internal)?;
    if !is_allowed(&link.redirect_url, &app.allowlist()) {
        fail_link(ctx, &link, CallbackFailure::RedirectNotAllowed).await;
        return Err(ApiError::new(
            ErrorCode::RedirectNotAllowed,
            "the link's redirect_url left the app's allowed_redirect_urls; no code was spent",
        ));
    }
    // The app called this from its own callback with its own key: that is the claim.
    let pick = match input.account_ids {
        Some(ids) => Pick::Only(ids),
        None => Pick::All,
    };
    match complete(ctx, &pending, &link, &input.code, Finish::Now, pick).await {
        Ok(Connected::Done { profile_ids, offered, .. }) => {
            let rows = store::profiles_by_ids(&db, app_id, &profile_ids).await?;
            if rows.len() != profile_ids.len() {
                return Err(ApiError::internal());
            }
            let profiles: Vec<_> = rows.iter().map(|p| p.view()).collect();
            let accounts: Vec<_> = offered
                .iter()
                .map(|o| {
                    object!(
                        "platform_user_id": o.account.platform_user_id,
                        "account_type": o.account.account_type,
                        "username": o.account.username,
                        "display_name": o.account.display_name,
                        "avatar_url": o.account.avatar_url,
                        "parent": o.account.parent,
                        "profile_id": o.profile_id,
                    )
                })
                .collect();
            // The first profile at the top level, as before there were several.
            let mut body = profiles.first().cloned().ok_or_else(ApiError::internal)?;
            body["profiles"] = json!(profiles);
            body["accounts"] = json!(accounts);
            respond::json(201, &body)
        }
        Ok(Connected::Choose { .. }) => Err(ApiError::internal()),
        Err(Failure { code: CallbackFailure::NoAccounts, .. }) => Err(ApiError::new(
            ErrorCode::InvalidRequest,
            "the login has no account to connect, or none of account_ids is one (no_accounts)",
        )),
        // The scope names are the link's own (what the app asked for), never the platform's text.
        Err(Failure { code: CallbackFailure::MissingScopes, missing }) => Err(ApiError::invalid(format!(
            "the user declined required scopes: {} (missing_scopes)",
            missing.join(" ")
        ))),
        Err(Failure { code: CallbackFailure::ExchangeFailed, .. }) => {
            Err(ApiError::upstream("the platform refused the code (exchange_failed)"))
        }
        Err(Failure { code: CallbackFailure::ProfileFailed, .. }) => {
            Err(ApiError::upstream("the platform's identity call failed (profile_failed)"))
        }
        Err(Failure { code: CallbackFailure::AccountConnectedElsewhere, .. }) => Err(ApiError::new(
            ErrorCode::Conflict,
            "this account is already connected by another user of the app (account_connected_elsewhere)",
        )),
        Err(_) => Err(ApiError::internal()),
    }
}
