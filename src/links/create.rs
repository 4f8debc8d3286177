//! Creating a connect link to one platform, as `POST /v1/connect-links` and the console's
//! reconnect link both do: the checks of what the platform supports, the redirect against the
//! app's allowlist, a reconnect's profile, then the consent prepared and the link stored.

use super::start::{self, too_many_pending, Ask};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::host::public_host;
use connect_links_core::input::{AccountsMode, CreateLink};
use connect_links_core::model::{AppRow, LinkRow, LinkStatus};
use connect_links_core::platforms::AuthKind;
use connect_links_core::random::new_id;
use connect_links_core::redirect::{host_not_ascii, is_allowed};
use connect_links_core::state::{CallbackMode, STATE_TTL_SECS};

/// A pending link of `app` as `input` asks, with the fields every link has (its platform's
/// own are the caller's to fill).
pub fn new_link(ctx: &Ctx, app: &AppRow, input: &CreateLink, id: String) -> LinkRow {
    LinkRow {
        id,
        app_id: app.id.clone(),
        redirect_url: input.redirect_url.clone(),
        external_user_id: input.external_user_id.clone(),
        app_state: input.state.clone(),
        metadata: input.metadata.as_ref().map(|m| serde_json::Value::Object(m.clone()).to_string()),
        status: LinkStatus::Pending,
        created_at: ctx.now(),
        expires_at: ctx.now() + STATE_TTL_SECS,
        accounts: input.accounts.unwrap_or(AccountsMode::Pick),
        // The link's hosted pages (the chooser, its forms, the consent pages) speak it.
        locale: input.locale.clone(),
        ..LinkRow::default()
    }
}

/// 400 `redirect_not_allowed` unless `redirect_url` is in the app's allowlist.
pub fn check_redirect(app: &AppRow, redirect_url: &str) -> ApiResult<()> {
    let allowlist = app.allowlist();
    if is_allowed(redirect_url, &allowlist) {
        return Ok(());
    }
    // Entries saved before hosts had to be ASCII (an internationalized host matches only in
    // its xn-- form) no longer parse: say so, rather than leave the operator looking at an
    // entry that seems to match.
    let unreadable = allowlist.iter().filter(|e| host_not_ascii(e)).count();
    let message = if unreadable > 0 {
        format!(
            "redirect_url is not in the app's allowed_redirect_urls ({unreadable} of its entries have a non-ASCII \
             host and match nothing: save them again in xn-- form with PATCH /v1/admin/apps/{{id}})"
        )
    } else {
        "redirect_url is not in the app's allowed_redirect_urls".to_string()
    };
    Err(ApiError::new(ErrorCode::RedirectNotAllowed, message))
}

/// A link of `app` to one platform as `input` asks (`POST /v1/connect-links` with one
/// platform, or the console's reconnect link): its consent prepared now, its state kept, the
/// link stored. Returns the link and the consent URL its `url` redirects to (it carries the
/// live state: the caller shows it only to whoever may start the consent).
pub async fn one_platform(
    ctx: &Ctx,
    app: &AppRow,
    input: &CreateLink,
    platform_id: &str,
) -> ApiResult<(LinkRow, String)> {
    let platform = ctx.platform(platform_id)?;
    // What the platform supports is not the body's form (the document allows any platform
    // id here): 422 `platform_unsupported`, where a malformed body is 400.
    let unsupported = |why: &str| ApiError::new(ErrorCode::PlatformUnsupported, why);
    if !platform.auth.redirects() {
        return Err(unsupported(
            "this platform connects with credentials the app posts to POST /v1/profiles, not through a connect link",
        ));
    }
    let per_instance = platform.auth == AuthKind::InstanceOauth2;
    // Checked before anything is fetched: the instance is a host the worker will call.
    let instance = match (&input.instance, per_instance) {
        (Some(raw), true) => Some(public_host(raw).map_err(|why| ApiError::invalid(format!("instance {why}")))?),
        (None, true) => None,
        (Some(_), false) => return Err(unsupported("instance is only taken by platforms with instances (mastodon)")),
        (None, false) => None,
    };
    let callback = input.callback.unwrap_or(CallbackMode::Hosted);
    if per_instance && callback == CallbackMode::App {
        return Err(unsupported(
            "Mastodon links use the hosted callback: the client registered with each instance knows only that one",
        ));
    }
    let client = start::client(ctx, &app.id, platform).await?;
    check_redirect(app, &input.redirect_url)?;
    let db = ctx.db()?;
    let mut reconnect_instance = None;
    // What the profile being reconnected declined at its last consent.
    let mut declined_before = vec![];
    if let Some(pid) = &input.profile_id {
        let profile = store::get_profile(&db, &app.id, pid).await?.ok_or_else(|| ApiError::not_found("profile"))?;
        if profile.platform != platform.id {
            return Err(ApiError::invalid("profile_id belongs to another platform"));
        }
        declined_before = profile.declined_scope_list();
        reconnect_instance = profile.instance;
    }
    // A reconnect goes back to the profile's own instance.
    let instance = match (instance, reconnect_instance) {
        (Some(given), Some(theirs)) if given != theirs => {
            return Err(ApiError::invalid("instance is not the instance of the profile being reconnected"))
        }
        (given, theirs) => given.or(theirs),
    };
    if per_instance && instance.is_none() {
        return Err(ApiError::invalid("instance is required for this platform (for example \"mastodon.social\")"));
    }
    // The insert holds the app to its cap of pending links; only a per-instance link reads
    // it first, before any call to the instance (a registration spends the app's daily cap).
    let cap = app.limits().pending_links();
    let id = new_id("cl_")?;
    let ask = Ask {
        app,
        platform,
        link_id: &id,
        scopes: input.scopes.clone(),
        optional_scopes: input.optional_scopes.clone(),
        declined_before,
        instance: instance.as_deref(),
        callback,
        redirect_url: &input.redirect_url,
        pending_cap: Some(cap),
        client,
    };
    let consent = start::prepare(ctx, ask).await?;
    let mut link = new_link(ctx, app, input, id);
    link.platform = platform.id.clone();
    // It carries the live state: sealed, so D1 never holds a usable state.
    link.authorize_url =
        ctx.keyring()?.seal(&link.id, "authorize_url", &consent.authorize_url).or_500("seal authorize url")?;
    link.scopes = serde_json::to_string(&consent.scopes).or_500("scopes json")?;
    link.optional_scopes = match consent.optional.is_empty() {
        true => None,
        false => Some(serde_json::to_string(&consent.optional).or_500("scopes json")?),
    };
    link.reconnect_profile_id = input.profile_id.clone();
    link.instance = instance;
    // Independent writes, so they run together (one wait instead of two). Either failing
    // fails the create: a state without its link finds nothing at the callback, and a link
    // without its state only expires. The insert also holds the app to its cap of pending links (for a
    // per-instance link, against concurrent creates that all passed the check above).
    let mode = if callback == CallbackMode::App { "app" } else { "hosted" };
    let insert = store::insert_link(&db, &link, mode, Some(cap));
    let (inserted, ()) = futures_util::future::try_join(insert, consent.keep(ctx)).await?;
    if !inserted {
        // The state leads nowhere (no link): dropped rather than left for its TTL.
        consent.drop_later(ctx).await;
        return Err(too_many_pending(ctx, &db, &app.id, cap).await);
    }
    Ok((link, consent.authorize_url))
}
