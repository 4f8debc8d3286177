//! `GET/POST /console/sign-in` and `POST /console/sign-out`. The sign-in form is bound to the
//! browser it was shown to by a 10-minute cookie whose nonce its form token is MACed over (a
//! page of another site cannot post it: login CSRF); the token typed is compared in constant
//! time and never logged, echoed or kept.

use super::{posted, set_cookie, signed_out_cookie, Fields, Session};
use crate::ctx::Ctx;
use crate::respond::{self, object};
use connect_links_core::console::layout::signin_page;
use connect_links_core::console::session::{
    clear_signin_cookie, csrf_ok, csrf_token, mint, session_cookie, signin_cookie, signin_nonce, SessionKey,
    SIGNIN_COOKIE,
};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::cookie::named_cookie;
use connect_links_core::random::{b64url, random_bytes};
use worker::Response;

fn key(ctx: &Ctx) -> ApiResult<SessionKey> {
    ctx.console_key().ok_or_else(|| {
        ApiError::new(ErrorCode::Forbidden, "The console needs ADMIN_TOKEN set; it is not, so nobody can sign in.")
    })
}

/// The form token of a sign-in cookie's nonce (its own purpose: never a session's).
fn signin_token(key: &SessionKey, nonce: &str) -> String {
    csrf_token(key, &format!("signin:{nonce}"))
}

/// The sign-in form (a browser `signed_in` goes on to the overview), with a new sign-in cookie.
pub async fn page(ctx: &Ctx, signed_in: bool) -> ApiResult<Response> {
    if signed_in {
        return respond::see_other("/console");
    }
    form(ctx, &key(ctx)?, None, 200)
}

fn form(ctx: &Ctx, key: &SessionKey, error: Option<&str>, status: u16) -> ApiResult<Response> {
    let nonce = b64url(&random_bytes::<18>()?);
    let html = signin_page(&signin_token(key, &nonce), error);
    let mut resp = respond::html(status, html)?;
    set_cookie(&mut resp, &signin_cookie(&format!("{}.{nonce}", ctx.now()), ctx.https()))?;
    Ok(resp)
}

/// Checks the posted admin token; right: a session cookie and 303 to the overview.
pub async fn submit(ctx: &Ctx, site: Option<&str>, cookie: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(ApiError::new(ErrorCode::Forbidden, "This form was submitted from another site."));
    }
    let key = key(ctx)?;
    let fields = Fields(url::form_urlencoded::parse(body).into_owned().collect());
    let now = ctx.now();
    let nonce = named_cookie(cookie, SIGNIN_COOKIE).and_then(|v| signin_nonce(v, now)).unwrap_or_default();
    if !csrf_ok(&key, &format!("signin:{nonce}"), fields.get("csrf").unwrap_or_default()) || nonce.is_empty() {
        return form(ctx, &key, Some("The sign-in form expired or came from elsewhere. Type the token again."), 403);
    }
    let typed = fields.get("token").unwrap_or_default();
    if !ctx.is_admin_token(typed) {
        crate::log::warn(&object!("event": "console_sign_in", "outcome": "refused"));
        return form(ctx, &key, Some("That is not the admin token."), 401);
    }
    crate::log::info(&object!("event": "console_sign_in", "outcome": "ok"));
    let session_nonce = b64url(&random_bytes::<18>()?);
    let mut resp = respond::see_other("/console")?;
    set_cookie(&mut resp, &session_cookie(&mint(&key, now, &session_nonce), ctx.https()))?;
    set_cookie(&mut resp, &clear_signin_cookie(ctx.https()))?;
    Ok(resp)
}

/// Signs this browser out (the form token checked first), then 303 to the sign-in form.
pub async fn sign_out(ctx: &Ctx, site: Option<&str>, session: Option<&Session>, body: &[u8]) -> ApiResult<Response> {
    posted(session, site, body)?;
    let mut resp = respond::see_other("/console/sign-in")?;
    set_cookie(&mut resp, &signed_out_cookie(ctx))?;
    Ok(resp)
}
