//! FLOW: the operator's console (issue 28), served only with `CONSOLE=on`: a signed-in
//! operator's pages (overview, apps, profiles, webhooks, activity) and the forms they post.
//! Its route table is `routes/console.rs`; each page's handler reads through `store/` and acts
//! through the domain (`grants/`, `links/`, `events/`), never through another flow. Pages are
//! maud templates on the hosted pages' layout and stylesheet (`core/src/console/`).
//!
//! Access: a session cookie minted at sign-in with `ADMIN_TOKEN` (stateless, MACed under a key
//! derived from the token: rotating it signs everyone out; `core::console::session`). Every
//! form carries the session's form token, and a post from another site is refused first.

pub mod activity;
pub mod apps;
pub mod overview;
pub mod profiles;
pub mod signin;
pub mod webhooks;

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::respond;
use connect_links_core::console::layout::{console_page, Nav, Notice};
use connect_links_core::console::session::{self, cookie_name, csrf_ok, csrf_token, verify, SessionKey};
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::cookie::named_cookie;
use maud::{html, Markup};
use worker::Response;

/// A signed-in operator, as a handler sees it: the form token its forms carry.
pub struct Signed {
    /// The session's form token (the value of every form's `csrf` field).
    pub csrf: String,
}

/// The fields of a query string or a posted form, by name (the first of each).
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The field's value, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }
}

/// A verified session, read once per request: the operator as handlers see it, and what its
/// posted forms are checked with (the nonce their tokens are bound to, under the key that
/// verified it).
pub struct Session {
    /// The signed-in operator.
    pub signed: Signed,
    nonce: String,
    key: SessionKey,
}

/// The session the request's `Cookie` header carries, if it verifies under the current
/// `ADMIN_TOKEN` and has not expired.
pub fn session(ctx: &Ctx, cookie: Option<&str>) -> Option<Session> {
    let key = ctx.console_key()?;
    let value = named_cookie(cookie, cookie_name(ctx.https()))?;
    let s = verify(&key, value, ctx.now())?;
    Some(Session { signed: Signed { csrf: csrf_token(&key, &s.nonce) }, nonce: s.nonce, key })
}

fn refused(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

/// A posted form, taken only from this site (`Sec-Fetch-Site`), from a signed-in browser,
/// with the session's form token: anything else is 403 before the form is read further.
pub fn posted<'s>(session: Option<&'s Session>, site: Option<&str>, body: &[u8]) -> ApiResult<(&'s Signed, Fields)> {
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(refused("This form was submitted from another site."));
    }
    let s = session.ok_or_else(|| refused("Your console session has ended. Sign in again."))?;
    let form = Fields(url::form_urlencoded::parse(body).into_owned().collect());
    let given = form.get("csrf").unwrap_or_default();
    if !csrf_ok(&s.key, &s.nonce, given) {
        return Err(refused("This form does not come from a console page of this session. Reload the page and try again."));
    }
    Ok((&s.signed, form))
}

/// The answer to a page asked for without a session: 303 to the sign-in form.
pub fn to_signin() -> ApiResult<Response> {
    respond::see_other("/console/sign-in")
}

/// A console page: `title`, the navigation with `nav` marked, an optional notice, `body`.
pub fn page(signed: &Signed, title: &str, nav: Nav, notice: Option<&Notice>, body: Markup) -> ApiResult<Response> {
    respond::html(200, console_page(title, Some(nav), Some(&signed.csrf), notice, body))
}

/// After an action: 303 back to `path` with `?notice=<code>` (a code of [`notice`], never
/// text of the request's).
pub fn done(path: &str, code: &str) -> ApiResult<Response> {
    let sep = if path.contains('?') { '&' } else { '?' };
    respond::see_other(&format!("{path}{sep}notice={code}"))
}

/// The sentence of a `?notice=` code after an action (unknown codes: none).
pub fn notice(q: &Fields) -> Option<Notice> {
    let (ok, text) = match q.get("notice")? {
        "refreshed" => (true, "Refreshed: the platform issued a new access token."),
        "refresh_not_needed" => (true, "No call was made: the grant was refreshed meanwhile, or is no longer active."),
        "refresh_transient" => (false, "The refresh failed for now (the platform or the network); it will be tried again."),
        "refresh_disconnected" => (false, "The platform refused the refresh: the profile is disconnected and needs a reconnect."),
        "disconnected" => (true, "Disconnected. The app was told by webhook."),
        "key_revoked" => (true, "The API key is revoked: it stops working within a minute everywhere."),
        "test_event_sent" => (true, "A test event is on its way to the app's webhook URL. Its delivery is listed under Webhooks."),
        "webhook_retried" => (true, "Delivery tried again; its status is below."),
        _ => return None,
    };
    Some(Notice { ok, text: text.to_string() })
}

/// An error as a console page, with the navigation when signed in.
pub fn error_page(e: &ApiError, signed: Option<&Signed>) -> Response {
    let title = match e.status() {
        404 => "Not found",
        403 => "Refused",
        400 | 422 => "This cannot be done",
        409 => "Conflict",
        _ => "Something went wrong",
    };
    let body = html! {
        p { (e.message) }
        @if signed.is_none() {
            p { a href="/console/sign-in" { "Sign in" } }
        }
    };
    let html = console_page(title, None, signed.map(|s| s.csrf.as_str()), None, body);
    match respond::html(e.status(), html) {
        Ok(r) => r,
        Err(_) => worker::ResponseBuilder::new().with_status(500).empty(),
    }
}

/// The `Set-Cookie` header of a response, added (several may be set).
pub fn set_cookie(resp: &mut Response, value: &str) -> ApiResult<()> {
    resp.headers_mut().append("set-cookie", value).or_500("set-cookie")
}

/// The session cookie's `Set-Cookie` that signs this browser out.
pub fn signed_out_cookie(ctx: &Ctx) -> String {
    session::clear_session_cookie(ctx.https())
}

/// Epoch seconds as every console table shows them (core's layout writes it).
pub use connect_links_core::console::layout::when;
