//! What a chooser link offers: the platforms configured for an app (those a link could
//! actually connect), the check of an app's list, and the chooser page itself (for the link's
//! `url`, and again when the user goes back to it).

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond;
use connect_links_core::chooser::{
    chooser_page, cookie_value, form_page, form_token, link_cookie, FormKind, Offered, FORM_PURPOSE,
};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::html::policy_with_form_targets;
use connect_links_core::i18n::Messages;
use connect_links_core::model::{AppRow, LinkRow};
use connect_links_core::pages::{brand_of, PlatformMark};
use connect_links_core::platforms::{AuthKind, Platform};
use connect_links_core::random::{b64url, random_bytes};
use worker::Response;

/// Whether a platform can connect here with the deployment's own setup: its client id and
/// secret are set (the sandbox's when on), or it needs none (app passwords, pasted keys) or
/// registers itself with each instance (Mastodon).
pub fn deployment_configured(ctx: &Ctx, p: &Platform) -> bool {
    p.auth == AuthKind::InstanceOauth2 || ctx.credentials(p).is_some()
}

/// Whether a link of the app could connect `p`: the app's own credentials for it (`own`),
/// or the deployment's setup.
fn connectable(ctx: &Ctx, p: &Platform, own: &[(String, Option<Vec<String>>)]) -> bool {
    own.iter().any(|(id, _)| *id == p.id) || deployment_configured(ctx, p)
}

/// Every platform configured for `app_id`, in the catalog's order (one D1 read).
pub async fn configured(ctx: &Ctx, app_id: &str) -> ApiResult<Vec<String>> {
    let own = crate::credentials::platforms(ctx, app_id).await?;
    Ok(ctx.catalog.all().iter().filter(|p| connectable(ctx, p, &own)).map(|p| p.id.clone()).collect())
}

/// `list` when every platform in it is configured for `app_id`; else 422
/// `platform_not_configured` naming the others. A list of one is checked by the one-platform
/// path (as `platform`), so its answers stay exactly those of `platform`.
pub async fn check_offer(ctx: &Ctx, app_id: &str, list: &[String]) -> ApiResult<Vec<String>> {
    if list.len() < 2 {
        return Ok(list.to_vec());
    }
    // Those not among the configured ones (an id the catalog lacks is not configured either).
    let configured = configured(ctx, app_id).await?;
    let missing: Vec<&str> = list.iter().filter(|id| !configured.contains(id)).map(String::as_str).collect();
    if !missing.is_empty() {
        return Err(ApiError::new(
            ErrorCode::PlatformNotConfigured,
            format!("platforms not configured for this app: {}", missing.join(", ")),
        ));
    }
    Ok(list.to_vec())
}

/// The browser's cookie value for the link's forms (`cookie` is the `Cookie` header), or a
/// new one; with whether it is new (then it must be set).
pub fn browser_value(cookie: Option<&str>) -> ApiResult<(String, bool)> {
    match cookie_value(cookie) {
        Some(v) => Ok((v.to_string(), false)),
        None => Ok((b64url(&random_bytes::<24>()?), true)),
    }
}

/// A page of the link's hosted forms: its form token for this browser, its policy, its
/// language (`Content-Language`), and the cookie when it is new. A form's answer may lead,
/// through redirects, to a platform's consent screen (which may itself redirect to another
/// of the platform's hosts: `threads.net` to `www.threads.net`, Facebook to `m.facebook.com`
/// on phones; Chromium checks `form-action` on every hop), to a Mastodon instance the user
/// names, to the callback and to the app: so `form-action` is this worker, any https origin,
/// and the app's redirect (which may be plain http on a developer's machine).
pub fn form_answer(
    ctx: &Ctx,
    link: &LinkRow,
    status: u16,
    page: String,
    msgs: &Messages,
    browser: &(String, bool),
) -> ApiResult<Response> {
    let policy = policy_with_form_targets(&["https:", &link.redirect_url]);
    let mut resp = respond::page(status, page, msgs)?;
    resp.headers_mut().set("content-security-policy", &policy).or_500("policy header")?;
    if browser.1 {
        let cookie = link_cookie(&browser.0, &link.id, ctx.https());
        resp.headers_mut().set("set-cookie", &cookie).or_500("link cookie")?;
    }
    Ok(resp)
}

/// The form token of the link's pages for `browser`.
pub fn token(ctx: &Ctx, link: &LinkRow, browser: &str) -> ApiResult<String> {
    Ok(form_token(&ctx.keyring()?.derive(FORM_PURPOSE), &link.id, browser))
}

/// The chooser of a pending chooser link of `app`, for the browser whose `Cookie` header is
/// `cookie`, in the link's language (else the browser's). A link offering one platform that
/// asks on a form (Bluesky, a Mastodon instance, an API key) skips the chooser: its form
/// is the page.
pub async fn chooser(ctx: &Ctx, link: &LinkRow, app: &AppRow, cookie: Option<&str>) -> ApiResult<Response> {
    let browser = browser_value(cookie)?;
    let ids = link.platform_list().unwrap_or_default();
    // A platform dropped from the deployment since the link was made is no longer offered.
    let platforms: Vec<&Platform> = ids.iter().filter_map(|id| ctx.catalog.get(id)).collect();
    let msgs = crate::pages::messages(ctx, ctx.page_lang(link.locale.as_deref())).await;
    let action = format!("/connect/{}", link.id);
    let (brand, token) = (brand_of(app), token(ctx, link, &browser.0)?);
    let single_form = match platforms.as_slice() {
        [p] => form_kind(p).map(|kind| (p, kind)),
        _ => None,
    };
    let page = match single_form {
        Some((p, kind)) => form_page(&brand, &msgs, kind, &PlatformMark::of(&p.id, &p.name), &p.id, &action, &token, "", None),
        None => {
            let offered: Vec<Offered<'_>> = platforms.iter().map(|p| Offered { id: &p.id, name: &p.name }).collect();
            chooser_page(&brand, &msgs, &action, &token, &offered)
        }
    };
    form_answer(ctx, link, 200, page, &msgs, &browser)
}

/// The hosted form a platform asks on after it is chosen; `None` for a platform whose own
/// consent screen follows at once.
pub fn form_kind(p: &Platform) -> Option<FormKind> {
    match p.auth {
        AuthKind::InstanceOauth2 => Some(FormKind::Instance),
        AuthKind::AppPassword => Some(FormKind::Bluesky),
        AuthKind::ApiKey => Some(FormKind::ApiKey),
        AuthKind::Oauth2 => None,
    }
}
