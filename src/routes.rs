//! The route table: parse, call one handler, render. Errors become the contract's JSON
//! error, or an HTML page on browser routes. Each route is written once, in a table of
//! (method, path, handler); the 404 and the 405 (with `Allow`) come from the same tables.

use crate::api::{admin, brand, links, platform_credentials, profiles, proxy};
use crate::body::{body, event_body, public_body};
use crate::browser::{choose, chooser, sandbox};
use crate::ctx::Ctx;
use crate::error::{method_not_allowed, ApiError, ApiResult, ErrorCode, OrInternal};
use crate::inbound;
use crate::links::offer::deployment_configured;
use crate::respond::{self, object, Audience};
use crate::tenant;
use connect_links_core::app_limits::AppRoute;
use connect_links_core::input::parse_limit;
use connect_links_core::platforms::{Platform, PlatformInfo};
use worker::{Context, Env, Method, Request, Response};

mod console;

/// Answers one request; never fails and never panics on input.
pub async fn handle(mut req: Request, env: Env, waiter: Context) -> Response {
    let path = req.path();
    let segs: Vec<String> = path.trim_matches('/').split('/').map(str::to_string).collect();
    let audience = match segs.as_slice() {
        [first, ..] if first == "connect" || first == "oauth" || first == "console" => Audience::Browser,
        [first, second, ..] if first == "sandbox" && second == "authorize" => Audience::Browser,
        [first, _, third, ..] if first == "platform-webhooks" && third == "deletion-status" => Audience::Browser,
        _ => Audience::Api,
    };
    let ctx = Ctx::new(env, &req, waiter);
    // Anything but a proxied call may change a grant or a profile (a delete, a disconnect, a
    // callback, a platform webhook): the profile rows the proxy keeps go, before and after.
    let proxied = matches!(segs.as_slice(), [v1, profiles, _, proxy, ..] if v1 == "v1" && profiles == "profiles" && proxy == "proxy");
    if !proxied {
        crate::isolate::forget_profiles();
    }
    let result = route(&ctx, &mut req, &segs, audience).await;
    if !proxied {
        crate::isolate::forget_profiles();
    }
    let resp = match result {
        Ok(r) => r,
        Err(e) if audience == Audience::Browser => crate::pages::browser_error(&ctx, &e).await,
        Err(e) => respond::error(&e, audience),
    };
    respond::harden(resp)
}

/// A route: a path pattern, the method it answers and what answers it. The pattern's
/// segments are literal, `:name` (any one segment, handed to the handler in order) or a
/// final `*` (one segment or more, left to the handler). `method` is `None` for a route
/// that takes any method (the proxy: the platform's API decides, api.md section 6).
struct Route<H> {
    path: &'static str,
    method: Option<Method>,
    to: H,
}

/// A route answering `method` on `path`.
const fn on<H>(method: Method, path: &'static str, to: H) -> Route<H> {
    Route { path, method: Some(method), to }
}

/// The segments a pattern's `:name`s took, in order (no route takes more than two).
type Params<'s> = [&'s str; 2];

/// Why no route of a table answers a request.
enum Miss {
    /// No route has this path: 404.
    NotFound,
    /// Routes have this path, none this method: 405, `Allow` listing theirs.
    Method(String),
}

/// The route of `table` that answers `method` on `segs`, with the segments its `:name`s took.
fn find<'s, H: Copy>(table: &[Route<H>], segs: &[&'s str], method: &Method) -> Result<(H, Params<'s>), Miss> {
    let mut allow = String::new();
    for r in table {
        let Some(params) = matches(r.path, segs) else { continue };
        match &r.method {
            Some(m) if m != method => {
                if !allow.is_empty() {
                    allow.push_str(", ");
                }
                allow.push_str(m.as_ref());
            }
            _ => return Ok((r.to, params)),
        }
    }
    Err(if allow.is_empty() { Miss::NotFound } else { Miss::Method(allow) })
}

/// The segments `pattern`'s `:name`s take when it matches `segs`.
fn matches<'s>(pattern: &str, segs: &[&'s str]) -> Option<Params<'s>> {
    let mut params = [""; 2];
    let mut taken = 0;
    let mut i = 0;
    for p in pattern.split('/') {
        if p == "*" {
            return (i < segs.len()).then_some(params);
        }
        let seg = segs.get(i)?;
        if p.starts_with(':') {
            *params.get_mut(taken)? = seg;
            taken += 1;
        } else if p != *seg {
            return None;
        }
        i += 1;
    }
    (i == segs.len()).then_some(params)
}

/// What a [`Miss`] answers, in the form `audience` reads.
fn refuse(miss: Miss, audience: Audience) -> ApiResult<Response> {
    match miss {
        Miss::NotFound => Err(ApiError::not_found("route")),
        Miss::Method(allow) => {
            let mut resp = respond::error(&method_not_allowed(), audience);
            resp.headers_mut().set("allow", &allow).or_500("allow header")?;
            Ok(resp)
        }
    }
}

/// Routes anyone may call (each checks what it needs itself: a link's state, a signature).
#[derive(Clone, Copy)]
enum Public {
    Health,
    Logo,
    OpenApi,
    OpenLink,
    ChooseOnLink,
    ChooseAccounts,
    Callback,
    InstanceCallback,
    MetaDeauthorize,
    MetaDataDeletion,
    MetaDeletionStatus,
    TiktokEvent,
    MetaAppDeauthorize,
    MetaAppDataDeletion,
    TiktokAppEvent,
    XCrc,
    XEvent,
    XAppCrc,
    XAppEvent,
    LinkedinChallenge,
    LinkedinEvent,
    LinkedinAppChallenge,
    LinkedinAppEvent,
    YoutubeVerify,
    YoutubeNotify,
    MetaEventsVerify,
    MetaEvents,
    MetaAppEventsVerify,
    MetaAppEvents,
    SandboxEvent,
}

static PUBLIC: &[Route<Public>] = &[
    on(Method::Get, "health", Public::Health),
    // An app's logo, for its hosted pages (the file name holds the content's hash).
    on(Method::Get, "apps/:id/logo/:file", Public::Logo),
    // The OpenAPI 3.1 document of every route; the e2e tests hold every answer to it.
    on(Method::Get, "openapi.json", Public::OpenApi),
    // Browsers.
    on(Method::Get, "connect/:id", Public::OpenLink),
    on(Method::Post, "connect/:id", Public::ChooseOnLink),
    on(Method::Post, "connect/:id/accounts", Public::ChooseAccounts),
    on(Method::Get, "oauth/callback", Public::Callback),
    // A per-instance client's own callback (a Mastodon instance's).
    on(Method::Get, "oauth/callback/:platform/:instance", Public::InstanceCallback),
    // Platforms telling us a user let go (api.md section 9).
    on(Method::Post, "platform-webhooks/meta/deauthorize", Public::MetaDeauthorize),
    on(Method::Post, "platform-webhooks/meta/data-deletion", Public::MetaDataDeletion),
    on(Method::Get, "platform-webhooks/meta/deletion-status/:code", Public::MetaDeletionStatus),
    on(Method::Post, "platform-webhooks/tiktok", Public::TiktokEvent),
    // The same for an app's own platform credentials, whose callbacks name no app.
    on(Method::Post, "platform-webhooks/meta/apps/:ref/deauthorize", Public::MetaAppDeauthorize),
    on(Method::Post, "platform-webhooks/meta/apps/:ref/data-deletion", Public::MetaAppDataDeletion),
    on(Method::Post, "platform-webhooks/tiktok/apps/:ref", Public::TiktokAppEvent),
    // Platform events in (X, LinkedIn): the handshake (GET) and the events (POST), the
    // deployment's platform app's and an app's own.
    on(Method::Get, "platform-webhooks/x", Public::XCrc),
    on(Method::Post, "platform-webhooks/x", Public::XEvent),
    on(Method::Get, "platform-webhooks/x/apps/:ref", Public::XAppCrc),
    on(Method::Post, "platform-webhooks/x/apps/:ref", Public::XAppEvent),
    on(Method::Get, "platform-webhooks/linkedin", Public::LinkedinChallenge),
    on(Method::Post, "platform-webhooks/linkedin", Public::LinkedinEvent),
    on(Method::Get, "platform-webhooks/linkedin/apps/:ref", Public::LinkedinAppChallenge),
    on(Method::Post, "platform-webhooks/linkedin/apps/:ref", Public::LinkedinAppEvent),
    // Google's WebSub hub calling back for one of our YouTube subscriptions.
    on(Method::Get, "platform-webhooks/youtube/:sub", Public::YoutubeVerify),
    on(Method::Post, "platform-webhooks/youtube/:sub", Public::YoutubeNotify),
    // Platform events in: Meta's verification GET and its signed events.
    on(Method::Get, "platform-webhooks/meta", Public::MetaEventsVerify),
    on(Method::Post, "platform-webhooks/meta", Public::MetaEvents),
    on(Method::Get, "platform-webhooks/meta/apps/:ref", Public::MetaAppEventsVerify),
    on(Method::Post, "platform-webhooks/meta/apps/:ref", Public::MetaAppEvents),
    // The sandbox's events (only with the sandbox on).
    on(Method::Post, "platform-webhooks/sandbox", Public::SandboxEvent),
];

/// The operator routes, behind the admin token.
#[derive(Clone, Copy)]
enum Admin {
    CreateApp,
    ListApps,
    GetApp,
    PatchApp,
    CreateKey,
    RotateWebhookSecret,
    RevokeKey,
    Keys,
    Stats,
    PlatformEventStats,
    PutLogo,
    DeleteLogo,
    ListCredentials,
    PutCredentials,
    DeleteCredentials,
}

static ADMIN: &[Route<Admin>] = &[
    on(Method::Get, "v1/admin/apps", Admin::ListApps),
    on(Method::Post, "v1/admin/apps", Admin::CreateApp),
    on(Method::Get, "v1/admin/apps/:id", Admin::GetApp),
    on(Method::Patch, "v1/admin/apps/:id", Admin::PatchApp),
    on(Method::Post, "v1/admin/apps/:id/api-keys", Admin::CreateKey),
    on(Method::Post, "v1/admin/apps/:id/webhook-secret", Admin::RotateWebhookSecret),
    // The app's logo on the hosted pages (raw PNG or SVG body, sanitized).
    on(Method::Put, "v1/admin/apps/:id/logo", Admin::PutLogo),
    on(Method::Delete, "v1/admin/apps/:id/logo", Admin::DeleteLogo),
    on(Method::Delete, "v1/admin/api-keys/:id", Admin::RevokeKey),
    on(Method::Get, "v1/admin/keys", Admin::Keys),
    on(Method::Get, "v1/admin/stats", Admin::Stats),
    on(Method::Get, "v1/admin/platform-events/stats", Admin::PlatformEventStats),
    // An app's own platform credentials (api.md, "Bring your own platform app").
    on(Method::Get, "v1/admin/apps/:id/platforms", Admin::ListCredentials),
    on(Method::Put, "v1/admin/apps/:id/platforms/:platform", Admin::PutCredentials),
    on(Method::Delete, "v1/admin/apps/:id/platforms/:platform", Admin::DeleteCredentials),
];

/// The app routes, behind an API key. Every `/v1/<first>/...` path whose `<first>` one of
/// them has needs the key before anything else is told (401 before 404 or 405).
#[derive(Clone, Copy)]
enum App {
    Proxy,
    Platforms,
    CreateLink,
    GetLink,
    ClaimLink,
    Exchange,
    ListProfiles,
    CreateProfile,
    GetProfile,
    DeleteProfile,
    RefreshProfile,
    AccessToken,
    ListOwnCredentials,
    PutOwnCredentials,
    DeleteOwnCredentials,
}

static APP: &[Route<App>] = &[
    // Any method: the platform's API decides what it takes (api.md section 6).
    Route { path: "v1/profiles/:id/proxy/*", method: None, to: App::Proxy },
    on(Method::Get, "v1/platforms", App::Platforms),
    on(Method::Post, "v1/connect-links", App::CreateLink),
    on(Method::Get, "v1/connect-links/:id", App::GetLink),
    on(Method::Post, "v1/connect-links/:id/claim", App::ClaimLink),
    on(Method::Post, "v1/oauth/exchange", App::Exchange),
    on(Method::Get, "v1/profiles", App::ListProfiles),
    on(Method::Post, "v1/profiles", App::CreateProfile),
    on(Method::Get, "v1/profiles/:id", App::GetProfile),
    on(Method::Delete, "v1/profiles/:id", App::DeleteProfile),
    on(Method::Post, "v1/profiles/:id/refresh", App::RefreshProfile),
    on(Method::Get, "v1/profiles/:id/access-token", App::AccessToken),
    // The app's own platform credentials, when the operator lets it manage them.
    on(Method::Get, "v1/platform-credentials", App::ListOwnCredentials),
    on(Method::Put, "v1/platform-credentials/:platform", App::PutOwnCredentials),
    on(Method::Delete, "v1/platform-credentials/:platform", App::DeleteOwnCredentials),
];

/// The sandbox platform's own endpoints, only when it is switched on (else 404).
#[derive(Clone, Copy)]
enum Sandbox {
    AuthorizePage,
    Decide,
    Token,
    Userinfo,
    Accounts,
    Revoke,
    Events,
}

static SANDBOX: &[Route<Sandbox>] = &[
    on(Method::Get, "sandbox/authorize", Sandbox::AuthorizePage),
    on(Method::Post, "sandbox/authorize", Sandbox::Decide),
    on(Method::Post, "sandbox/token", Sandbox::Token),
    on(Method::Get, "sandbox/userinfo", Sandbox::Userinfo),
    on(Method::Get, "sandbox/accounts", Sandbox::Accounts),
    on(Method::Post, "sandbox/revoke", Sandbox::Revoke),
    // Behind an app's API key: the sandbox sends an event for one of its profiles.
    on(Method::Post, "sandbox/events", Sandbox::Events),
];

/// Whether `/v1/<first>/...` is an app path (see [`APP`]).
fn needs_api_key(first: &str) -> bool {
    APP.iter().any(|r| r.path.split('/').nth(1) == Some(first))
}

/// The request's method as the route tables match it. worker's `Method` reads a method it
/// does not know (`QUERY`, `FOO`) as GET, which would answer it as a GET; here such a method
/// is `REPORT`, which no route takes, so it is a 405 with `Allow` (RFC 9110, section 15.5.6).
fn method_of(req: &Request) -> Method {
    let raw = req.inner().method();
    match Method::from(raw.clone()) {
        Method::Get if !raw.eq_ignore_ascii_case("GET") => Method::Report,
        known => known,
    }
}

/// The request's route: the area's credentials first (an unknown or wrong-method path under
/// `/v1/admin/` is 401 without the admin token, under an app path without an API key), then
/// the area's table, then its handler.
async fn route(ctx: &Ctx, req: &mut Request, segs: &[String], audience: Audience) -> ApiResult<Response> {
    let m = method_of(req);
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["console", ..] => Ok(console::route(ctx, req, &s, &m).await),
        ["v1", "admin", ..] => {
            ctx.require_admin(req)?;
            // Any operator write may revoke a key or change an app: this isolate stops
            // trusting the apps it remembered (others within `isolate::APP_CACHE_MS`), both
            // before the write and once it is done, so no lookup that overlapped it keeps
            // what it read (the cache's generation moves each time).
            let writes = m != Method::Get;
            if writes {
                crate::isolate::forget_apps();
            }
            let answer = match find(ADMIN, &s, &m) {
                Err(miss) => refuse(miss, audience),
                Ok((to, [id, second])) => match to {
                    Admin::CreateApp => admin::create_app(ctx, &body(req).await?).await,
                    Admin::ListApps => {
                        let q = query(req)?;
                        admin::list_apps(ctx, parse_limit(param(&q, "limit"))?, param(&q, "cursor")).await
                    }
                    Admin::GetApp => admin::get_app(ctx, id).await,
                    Admin::PatchApp => admin::patch_app(ctx, id, &body(req).await?).await,
                    Admin::CreateKey => admin::create_key(ctx, id).await,
                    Admin::RotateWebhookSecret => admin::rotate_webhook_secret(ctx, id).await,
                    Admin::RevokeKey => admin::revoke_key(ctx, id).await,
                    Admin::Keys => admin::keys(ctx).await,
                    Admin::Stats => admin::stats(ctx).await,
                    Admin::PlatformEventStats => admin::platform_event_stats(ctx).await,
                    // Read through the API's 64 KiB body cap; the logo's own 32 KiB is checked
                    // on the bytes read (`brand::sanitize_logo`), never on Content-Length.
                    Admin::PutLogo => {
                        let kind = req.headers().get("content-type").ok().flatten();
                        brand::put_logo(ctx, id, kind.as_deref(), &body(req).await?).await
                    }
                    Admin::DeleteLogo => brand::delete_logo(ctx, id).await,
                    Admin::ListCredentials => platform_credentials::list(ctx, id).await,
                    Admin::PutCredentials => platform_credentials::put(ctx, id, second, &body(req).await?).await,
                    Admin::DeleteCredentials => {
                        let q = query(req)?;
                        let force = parse_force(param(&q, "force"))?;
                        platform_credentials::delete(ctx, id, second, force).await
                    }
                },
            };
            if writes {
                crate::isolate::forget_apps();
            }
            answer
        }
        ["v1", first, ..] if needs_api_key(first) => {
            let app = tenant::require_app(ctx, req).await?;
            let (to, [id, _]) = match find(APP, &s, &m) {
                Ok(found) => found,
                Err(miss) => return refuse(miss, audience),
            };
            match to {
                // The proxy refuses a method it never forwards after its books are kept (a
                // logged, counted call): its 405 gets the same `Allow` as the table's.
                App::Proxy => match proxy::forward(ctx, &app, id, req).await {
                    Err(e) if e.code == ErrorCode::MethodNotAllowed => {
                        refuse(Miss::Method(proxy::METHODS.to_string()), audience)
                    }
                    answer => answer,
                },
                App::Platforms => {
                    // The platforms the app brings its own credentials for (one D1 read).
                    let mine = crate::credentials::platforms(ctx, &app.id).await?;
                    let own = |p: &Platform| mine.iter().find(|(id, _)| *id == p.id).map(|(_, scopes)| scopes.clone());
                    let data: Vec<PlatformInfo> =
                        ctx.catalog.all().iter().map(|p| PlatformInfo::of(p, own(p), deployment_configured(ctx, p))).collect();
                    respond::json(200, &object!("data": data))
                }
                App::CreateLink => {
                    let work = async { links::create(ctx, &app, &body(req).await?).await };
                    tenant::limited(ctx, &app, AppRoute::ConnectLinks, std::pin::pin!(work)).await
                }
                App::GetLink => links::get(ctx, &app.id, id).await,
                App::ClaimLink => links::claim(ctx, &app.id, id, &body(req).await?).await,
                App::Exchange => links::exchange(ctx, &app.id, &body(req).await?).await,
                App::ListProfiles => profiles::list(ctx, &app.id, &query(req)?).await,
                App::CreateProfile => {
                    let work = async { crate::connect::posted::create(ctx, &app, &body(req).await?).await };
                    tenant::limited(ctx, &app, AppRoute::Profiles, std::pin::pin!(work)).await
                }
                App::GetProfile => profiles::get(ctx, &app.id, id).await,
                App::DeleteProfile => profiles::delete(ctx, &app.id, id).await,
                App::RefreshProfile => profiles::refresh(ctx, &app.id, id).await,
                App::AccessToken => profiles::access_token(ctx, &app.id, id).await,
                App::ListOwnCredentials => platform_credentials::list_own(ctx, &app).await,
                App::PutOwnCredentials => platform_credentials::put_own(ctx, &app, id, &body(req).await?).await,
                App::DeleteOwnCredentials => {
                    let q = query(req)?;
                    platform_credentials::delete_own(ctx, &app, id, parse_force(param(&q, "force"))?).await
                }
            }
        }
        // The pages' static files (stylesheet, catalogs, icons) and accent sheets; only GET.
        ["assets", rest @ ..] if m == Method::Get => crate::assets::serve(ctx, req, rest).await,
        ["assets", ..] => refuse(Miss::Method("GET".into()), audience),
        ["sandbox", ..] if ctx.catalog.get("sandbox").is_some() => {
            let (to, _) = match find(SANDBOX, &s, &m) {
                Ok(found) => found,
                Err(miss) => return refuse(miss, audience),
            };
            match to {
                Sandbox::AuthorizePage => sandbox::authorize_page(ctx, &query(req)?).await,
                Sandbox::Decide => {
                    let site = req.headers().get("sec-fetch-site").ok().flatten();
                    sandbox::decide(ctx, site.as_deref(), &public_body(req).await?).await
                }
                Sandbox::Token => {
                    let body = public_body(req).await?;
                    sandbox::token(ctx, req, &body).await
                }
                Sandbox::Userinfo => sandbox::userinfo(ctx, req).await,
                Sandbox::Accounts => sandbox::accounts(ctx, req).await,
                Sandbox::Revoke => {
                    let body = public_body(req).await?;
                    sandbox::revoke(ctx, req, &body).await
                }
                Sandbox::Events => {
                    let app = tenant::require_app(ctx, req).await?;
                    inbound::sandbox::send(ctx, &app, &body(req).await?).await
                }
            }
        }
        _ => {
            let (to, [a, b]) = match find(PUBLIC, &s, &m) {
                Ok(found) => found,
                Err(miss) => return refuse(miss, audience),
            };
            match to {
                Public::Health => respond::json(200, &object!("status": "ok")),
                Public::Logo => brand::serve_logo(ctx, a, b).await,
                Public::OpenApi => crate::assets::openapi(ctx).await,
                Public::OpenLink => links::open(ctx, a, req.headers().get("cookie").ok().flatten().as_deref()).await,
                Public::ChooseOnLink | Public::ChooseAccounts => {
                    let site = req.headers().get("sec-fetch-site").ok().flatten();
                    let cookie = req.headers().get("cookie").ok().flatten();
                    let (site, cookie, body) = (site.as_deref(), cookie.as_deref(), public_body(req).await?);
                    match to {
                        Public::ChooseOnLink => chooser::submit(ctx, a, site, cookie, &body).await,
                        _ => choose::submit(ctx, a, site, cookie, &body).await,
                    }
                }
                Public::Callback => links::callback(ctx, &query(req)?, "/oauth/callback").await,
                Public::InstanceCallback => {
                    links::callback(ctx, &query(req)?, &format!("/oauth/callback/{a}/{b}")).await
                }
                Public::MetaDeauthorize => inbound::meta::deauthorize(ctx, None, &public_body(req).await?).await,
                Public::MetaDataDeletion => inbound::meta::data_deletion(ctx, None, &public_body(req).await?).await,
                Public::MetaDeletionStatus => inbound::meta::deletion_status(ctx, a).await,
                Public::TiktokEvent => {
                    let signature = req.headers().get("tiktok-signature").ok().flatten();
                    inbound::tiktok::event(ctx, None, signature.as_deref(), public_body(req).await).await
                }
                Public::MetaAppDeauthorize => inbound::meta::deauthorize(ctx, Some(a), &public_body(req).await?).await,
                Public::MetaAppDataDeletion => {
                    inbound::meta::data_deletion(ctx, Some(a), &public_body(req).await?).await
                }
                Public::TiktokAppEvent => {
                    let signature = req.headers().get("tiktok-signature").ok().flatten();
                    inbound::tiktok::event(ctx, Some(a), signature.as_deref(), public_body(req).await).await
                }
                Public::XCrc | Public::XAppCrc => {
                    let by = matches!(to, Public::XAppCrc).then_some(a);
                    inbound::x::crc(ctx, by, param(&query(req)?, "crc_token")).await
                }
                Public::XEvent | Public::XAppEvent => {
                    let by = matches!(to, Public::XAppEvent).then_some(a);
                    let signature = req.headers().get("x-twitter-webhooks-signature").ok().flatten();
                    inbound::x::event(ctx, by, signature.as_deref(), event_body(req).await).await
                }
                Public::LinkedinChallenge | Public::LinkedinAppChallenge => {
                    let by = matches!(to, Public::LinkedinAppChallenge).then_some(a);
                    inbound::linkedin::challenge(ctx, by, param(&query(req)?, "challengeCode")).await
                }
                Public::LinkedinEvent | Public::LinkedinAppEvent => {
                    let by = matches!(to, Public::LinkedinAppEvent).then_some(a);
                    let signature = req.headers().get("x-li-signature").ok().flatten();
                    inbound::linkedin::event(ctx, by, signature.as_deref(), event_body(req).await).await
                }
                Public::YoutubeVerify => inbound::youtube::verify(ctx, a, &query(req)?).await,
                Public::YoutubeNotify => {
                    let signature = req.headers().get("x-hub-signature").ok().flatten();
                    inbound::youtube::notify(ctx, a, signature.as_deref(), event_body(req).await).await
                }
                Public::MetaEventsVerify => inbound::meta_events::verify_request(ctx, None, &query(req)?).await,
                Public::MetaAppEventsVerify => inbound::meta_events::verify_request(ctx, Some(a), &query(req)?).await,
                Public::MetaEvents | Public::MetaAppEvents => {
                    let by = matches!(to, Public::MetaAppEvents).then_some(a);
                    let signature = req.headers().get("x-hub-signature-256").ok().flatten();
                    let body = event_body(req).await;
                    inbound::meta_events::receive(ctx, by, signature.as_deref(), body).await
                }
                Public::SandboxEvent => {
                    if ctx.catalog.get("sandbox").is_none() {
                        return Err(ApiError::not_found("route"));
                    }
                    let signature = req.headers().get("x-hub-signature-256").ok().flatten();
                    inbound::sandbox::receive(ctx, signature.as_deref(), public_body(req).await).await
                }
            }
        }
    }
}

fn query(req: &Request) -> ApiResult<Vec<(String, String)>> {
    let url = req.url().or_500("request url")?;
    Ok(url.query_pairs().into_owned().collect())
}

/// `?force=true|false` (absent: false).
fn parse_force(v: Option<&str>) -> ApiResult<bool> {
    match v {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ApiError::invalid("force must be true or false")),
    }
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}
