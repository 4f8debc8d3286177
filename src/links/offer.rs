//! What a chooser link offers: the platforms configured for an app (those a link could
//! actually connect), the check of an app's list, and the chooser page itself (for the link's
//! `url`, and again when the user goes back to it).

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond;
use connect_links_core::chooser::{chooser_page, cookie_value, form_token, link_cookie, Offered, FORM_PURPOSE};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::html::policy_with_form_targets;
use connect_links_core::model::LinkRow;
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

/// A page of the link's hosted forms: its form token for this browser, its policy (a form
/// may end, through redirects, at any listed platform's consent screen, the callback, and
/// the app), and the cookie when it is new.
pub fn form_answer(
    ctx: &Ctx,
    link: &LinkRow,
    status: u16,
    page: String,
    browser: &(String, bool),
) -> ApiResult<Response> {
    let mut ends: Vec<&str> = vec![&ctx.public_url, &link.redirect_url];
    for id in link.platform_list().unwrap_or_default() {
        if let Some(p) = ctx.catalog.get(&id).filter(|p| p.auth == AuthKind::Oauth2) {
            ends.push(&p.authorize_url);
        }
    }
    let mut resp = respond::html_with_policy(status, page, &policy_with_form_targets(&ends))?;
    if browser.1 {
        let cookie = link_cookie(&browser.0, &link.id, ctx.public_url.starts_with("https://"));
        resp.headers_mut().set("set-cookie", &cookie).or_500("link cookie")?;
    }
    Ok(resp)
}

/// The form token of the link's pages for `browser`.
pub fn token(ctx: &Ctx, link: &LinkRow, browser: &str) -> ApiResult<String> {
    Ok(form_token(&ctx.keyring()?.derive(FORM_PURPOSE), &link.id, browser))
}

/// The chooser of a pending chooser link, for the browser whose `Cookie` header is `cookie`.
pub fn chooser(ctx: &Ctx, link: &LinkRow, cookie: Option<&str>) -> ApiResult<Response> {
    let browser = browser_value(cookie)?;
    let ids = link.platform_list().unwrap_or_default();
    // A platform dropped from the deployment since the link was made is no longer offered.
    let offered: Vec<Offered<'_>> =
        ids.iter().filter_map(|id| ctx.catalog.get(id)).map(|p| Offered { id: &p.id, name: &p.name }).collect();
    let page = chooser_page(&format!("/connect/{}", link.id), &token(ctx, link, &browser.0)?, &offered);
    form_answer(ctx, link, 200, page, &browser)
}
