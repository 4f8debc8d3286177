//! The console's route table (`CONSOLE=on`, else every `/console` path is 404): the sign-in
//! form, then the signed-in pages (a GET without a session goes to the sign-in form) and
//! their forms (a POST without a session, from another site or without the session's form
//! token is 403, before any handler runs). Errors are console pages.

use super::{find, on, query, Miss, Route};
use crate::body::public_body;
use crate::console::{self, activity, apps, overview, profiles, signin, webhooks, Fields};
use crate::ctx::Ctx;
use crate::error::method_not_allowed;
use connect_links_core::error::{ApiError, ApiResult};
use worker::{Method, Request, Response};

#[derive(Clone, Copy)]
enum Console {
    SignInPage,
    SignIn,
    SignOut,
    Overview,
    Apps,
    App,
    CreateKey,
    RevokeKey,
    TestEvent,
    Profiles,
    Profile,
    Refresh,
    Reconnect,
    Disconnect,
    Webhooks,
    RetryWebhook,
    Activity,
}

static CONSOLE: &[Route<Console>] = &[
    on(Method::Get, "console", Console::Overview),
    on(Method::Get, "console/sign-in", Console::SignInPage),
    on(Method::Post, "console/sign-in", Console::SignIn),
    on(Method::Post, "console/sign-out", Console::SignOut),
    on(Method::Get, "console/apps", Console::Apps),
    on(Method::Get, "console/apps/:id", Console::App),
    on(Method::Post, "console/apps/:id/api-keys", Console::CreateKey),
    on(Method::Post, "console/apps/:id/api-keys/:key/revoke", Console::RevokeKey),
    on(Method::Post, "console/apps/:id/test-event", Console::TestEvent),
    on(Method::Get, "console/profiles", Console::Profiles),
    on(Method::Get, "console/profiles/:id", Console::Profile),
    on(Method::Post, "console/profiles/:id/refresh", Console::Refresh),
    on(Method::Post, "console/profiles/:id/reconnect", Console::Reconnect),
    on(Method::Post, "console/profiles/:id/disconnect", Console::Disconnect),
    on(Method::Get, "console/webhooks", Console::Webhooks),
    on(Method::Post, "console/webhooks/:id/retry", Console::RetryWebhook),
    on(Method::Get, "console/activity", Console::Activity),
];

/// Answers a `/console` request (errors already rendered as console pages).
pub async fn route(ctx: &Ctx, req: &mut Request, segs: &[&str], m: &Method) -> Response {
    let cookie = req.headers().get("cookie").ok().flatten();
    // Verified once: the handlers, the form check and the error page all use it.
    let session = console::session(ctx, cookie.as_deref());
    let signed = session.as_ref().map(|s| &s.signed);
    let found = match find(CONSOLE, segs, m) {
        _ if !ctx.console_on() => Err(ApiError::not_found("route")),
        Ok(found) => Ok(found),
        Err(Miss::NotFound) => Err(ApiError::not_found("route")),
        Err(Miss::Method(allow)) => {
            let mut resp = console::error_page(&method_not_allowed(), signed);
            let _ = resp.headers_mut().set("allow", &allow);
            return resp;
        }
    };
    let result = match found {
        Ok((to, params)) => answer(ctx, req, to, params, m, cookie.as_deref(), session.as_ref()).await,
        Err(e) => Err(e),
    };
    result.unwrap_or_else(|e| console::error_page(&e, signed))
}

async fn answer(
    ctx: &Ctx,
    req: &mut Request,
    to: Console,
    [a, b]: [&str; 2],
    m: &Method,
    cookie: Option<&str>,
    session: Option<&console::Session>,
) -> ApiResult<Response> {
    if *m == Method::Get {
        if let Console::SignInPage = to {
            return signin::page(ctx, session.is_some()).await;
        }
        let Some(signed) = session.map(|s| &s.signed) else { return console::to_signin() };
        let q = Fields(query(req)?);
        return match to {
            Console::Overview => overview::show(ctx, signed, &q).await,
            Console::Apps => apps::list(ctx, signed, &q).await,
            Console::App => apps::show(ctx, signed, &q, a).await,
            Console::Profiles => profiles::search(ctx, signed, &q).await,
            Console::Profile => profiles::show(ctx, signed, &q, a).await,
            Console::Webhooks => webhooks::list(ctx, signed, &q).await,
            Console::Activity => activity::list(ctx, signed, &q).await,
            _ => Err(ApiError::not_found("route")),
        };
    }
    let site = req.headers().get("sec-fetch-site").ok().flatten();
    let body = public_body(req).await?;
    match to {
        Console::SignIn => return signin::submit(ctx, site.as_deref(), cookie, &body).await,
        Console::SignOut => return signin::sign_out(ctx, site.as_deref(), session, &body).await,
        _ => {}
    }
    let (signed, form) = console::posted(session, site.as_deref(), &body)?;
    match to {
        Console::CreateKey => apps::create_key(ctx, signed, &form, a).await,
        Console::RevokeKey => apps::revoke_key(ctx, signed, &form, a, b).await,
        Console::TestEvent => apps::test_event(ctx, signed, &form, a).await,
        Console::Refresh => profiles::refresh(ctx, signed, &form, a).await,
        Console::Reconnect => profiles::reconnect(ctx, signed, &form, a).await,
        Console::Disconnect => profiles::disconnect(ctx, signed, &form, a).await,
        Console::RetryWebhook => webhooks::retry(ctx, signed, &form, a).await,
        _ => Err(ApiError::not_found("route")),
    }
}
