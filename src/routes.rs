//! The route table: parse, call one handler, render. Errors become the contract's JSON
//! error, or an HTML page on browser routes.

use crate::api::{admin, links, profiles, proxy};
use crate::body::{read_request, ReadError};
use crate::browser::{choose, sandbox};
use crate::ctx::Ctx;
use crate::error::{method_not_allowed, ApiError, ApiResult, ErrorCode, OrInternal};
use crate::inbound;
use crate::respond;
use crate::tenant;
use connect_links_core::app_limits::AppRoute;
use connect_links_core::input::{parse_limit, MAX_BODY_BYTES};
use connect_links_core::platforms::PlatformInfo;
use serde_json::json;
use worker::{Context, Env, Method, Request, Response};

/// Answers one request; never fails and never panics on input.
pub async fn handle(mut req: Request, env: Env, waiter: Context) -> Response {
    let path = req.path();
    let segs: Vec<String> = path.trim_matches('/').split('/').map(str::to_string).collect();
    let browser = match segs.as_slice() {
        [first, ..] if first == "connect" || first == "oauth" => true,
        [first, second, ..] if first == "sandbox" => second == "authorize",
        [first, _, third, ..] if first == "platform-webhooks" => third == "deletion-status",
        _ => false,
    };
    let ctx = Ctx::new(env, &req, waiter);
    let result = route(&ctx, &mut req, &segs).await;
    respond::harden(result.unwrap_or_else(|e| respond::error(&e, browser)))
}

/// `GET /openapi.json`: the OpenAPI document (openapi/openapi.json, the file the tests hold
/// answers to, minified by `make build`) from the `ASSETS` binding. It is a static asset, not
/// compiled in: 103 KB is about 16 KB of the wasm's gzip size, which every isolate would load
/// at start-up for a route few call. `run_worker_first` keeps this route (and its headers)
/// the worker's own; the asset is reachable only through the binding.
async fn openapi(ctx: &Ctx) -> ApiResult<Response> {
    const MISSING: &str =
        "the OpenAPI document is not among the static assets (make build writes build/assets/openapi.json)";
    let assets = ctx.env.assets("ASSETS").or_500(MISSING)?;
    let mut asset = assets.fetch("https://assets.invalid/openapi.json", None).await.or_500(MISSING)?;
    if asset.status_code() != 200 {
        return Err(format!("the assets answered {}", asset.status_code())).or_500(MISSING);
    }
    let doc = asset.text().await.or_500("reading the OpenAPI document")?;
    respond::json_text(200, &doc)
}

/// The operator routes under `/v1/admin/` (`segs` after it), the admin token already checked.
async fn admin_route(ctx: &Ctx, req: &mut Request, m: Method, segs: &[&str]) -> ApiResult<Response> {
    match (m, segs) {
        (Method::Post, ["apps"]) => admin::create_app(ctx, &body(req).await?).await,
        (Method::Get, ["apps"]) => {
            let q = query(req)?;
            admin::list_apps(ctx, parse_limit(param(&q, "limit"))?, param(&q, "cursor")).await
        }
        (Method::Get, ["apps", id]) => admin::get_app(ctx, id).await,
        (Method::Patch, ["apps", id]) => admin::patch_app(ctx, id, &body(req).await?).await,
        (Method::Post, ["apps", id, "api-keys"]) => admin::create_key(ctx, id).await,
        (Method::Post, ["apps", id, "webhook-secret"]) => admin::rotate_webhook_secret(ctx, id).await,
        (Method::Delete, ["api-keys", id]) => admin::revoke_key(ctx, id).await,
        (Method::Get, ["keys"]) => admin::keys(ctx).await,
        (Method::Get, ["stats"]) => admin::stats(ctx).await,
        (
            _,
            ["apps"]
            | ["apps", _]
            | ["apps", _, "api-keys" | "webhook-secret"]
            | ["api-keys", _]
            | ["keys"]
            | ["stats"],
        ) => Err(method_not_allowed()),
        _ => Err(ApiError::not_found("route")),
    }
}

async fn route(ctx: &Ctx, req: &mut Request, segs: &[String]) -> ApiResult<Response> {
    let m = req.method();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["health"] => only(&m, Method::Get, || respond::json(200, &json!({"status": "ok"}))),
        // The OpenAPI 3.1 document of every route (issue 13); the e2e tests hold every answer to it.
        ["openapi.json"] if m == Method::Get => openapi(ctx).await,
        ["openapi.json"] => Err(method_not_allowed()),

        // Operators.
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
            let answer = admin_route(ctx, req, m, &s[2..]).await;
            if writes {
                crate::isolate::forget_apps();
            }
            answer
        }

        // Apps.
        ["v1", "platforms" | "connect-links" | "oauth" | "profiles", ..] => {
            let app = tenant::require_app(ctx, req).await?;
            match (m, &s[1..]) {
                // Any method: the platform's API decides what it takes (api.md section 6).
                (_, ["profiles", id, "proxy", _, ..]) => proxy::forward(ctx, &app, id, req).await,
                (Method::Get, ["platforms"]) => {
                    let data: Vec<PlatformInfo> =
                        ctx.catalog.all().iter().map(|p| PlatformInfo::of(p, configured(ctx, p))).collect();
                    respond::json(200, &json!({"data": data}))
                }
                (Method::Post, ["connect-links"]) => {
                    let work = async { links::create(ctx, &app, &body(req).await?).await };
                    tenant::limited(ctx, &app, AppRoute::ConnectLinks, work).await
                }
                (Method::Get, ["connect-links", id]) => links::get(ctx, &app.id, id).await,
                (Method::Post, ["connect-links", id, "claim"]) => {
                    links::claim(ctx, &app.id, id, &body(req).await?).await
                }
                (Method::Post, ["oauth", "exchange"]) => links::exchange(ctx, &app.id, &body(req).await?).await,
                (Method::Get, ["profiles"]) => profiles::list(ctx, &app.id, &query(req)?).await,
                (Method::Post, ["profiles"]) => {
                    let work = async { crate::connect::posted::create(ctx, &app, &body(req).await?).await };
                    tenant::limited(ctx, &app, AppRoute::Profiles, work).await
                }
                (Method::Get, ["profiles", id]) => profiles::get(ctx, &app.id, id).await,
                (Method::Delete, ["profiles", id]) => profiles::delete(ctx, &app.id, id).await,
                (Method::Post, ["profiles", id, "refresh"]) => profiles::refresh(ctx, &app.id, id).await,
                (Method::Get, ["profiles", id, "access-token"]) => profiles::access_token(ctx, &app.id, id).await,
                (
                    _,
                    ["platforms"]
                    | ["connect-links"]
                    | ["connect-links", _]
                    | ["connect-links", _, "claim"]
                    | ["oauth", "exchange"]
                    | ["profiles"]
                    | ["profiles", _]
                    | ["profiles", _, "refresh" | "access-token"],
                ) => Err(method_not_allowed()),
                _ => Err(ApiError::not_found("route")),
            }
        }

        // Browsers.
        ["connect", id] => match m {
            Method::Get => links::open(ctx, id).await,
            _ => Err(method_not_allowed()),
        },
        ["connect", id, "accounts"] => match m {
            Method::Post => {
                let site = req.headers().get("sec-fetch-site").ok().flatten();
                let cookie = req.headers().get("cookie").ok().flatten();
                let b = public_body(req).await?;
                choose::submit(ctx, id, site.as_deref(), cookie.as_deref(), &b).await
            }
            _ => Err(method_not_allowed()),
        },
        ["oauth", "callback"] => match m {
            Method::Get => links::callback(ctx, &query(req)?, "/oauth/callback").await,
            _ => Err(method_not_allowed()),
        },
        // A per-instance client's own callback (a Mastodon instance's).
        ["oauth", "callback", platform, instance] => match m {
            Method::Get => links::callback(ctx, &query(req)?, &format!("/oauth/callback/{platform}/{instance}")).await,
            _ => Err(method_not_allowed()),
        },

        // Platforms telling us a user let go (api.md section 9).
        ["platform-webhooks", "meta", "deauthorize"] => match m {
            Method::Post => inbound::meta::deauthorize(ctx, &public_body(req).await?).await,
            _ => Err(method_not_allowed()),
        },
        ["platform-webhooks", "meta", "data-deletion"] => match m {
            Method::Post => inbound::meta::data_deletion(ctx, &public_body(req).await?).await,
            _ => Err(method_not_allowed()),
        },
        ["platform-webhooks", "meta", "deletion-status", code] => match m {
            Method::Get => inbound::meta::deletion_status(ctx, code).await,
            _ => Err(method_not_allowed()),
        },
        ["platform-webhooks", "tiktok"] => match m {
            Method::Post => {
                let signature = req.headers().get("tiktok-signature").ok().flatten();
                let b = public_body(req).await?;
                inbound::tiktok::event(ctx, signature.as_deref(), &b).await
            }
            _ => Err(method_not_allowed()),
        },

        // The sandbox platform, only when switched on.
        ["sandbox", rest @ ..] if ctx.catalog.get("sandbox").is_some() => match (m, rest) {
            (Method::Get, ["authorize"]) => sandbox::authorize_page(ctx, &query(req)?).await,
            (Method::Post, ["authorize"]) => {
                let site = req.headers().get("sec-fetch-site").ok().flatten();
                sandbox::decide(ctx, site.as_deref(), &public_body(req).await?).await
            }
            (Method::Post, ["token"]) => {
                let b = public_body(req).await?;
                sandbox::token(ctx, req, &b).await
            }
            (Method::Get, ["userinfo"]) => sandbox::userinfo(ctx, req).await,
            (Method::Get, ["accounts"]) => sandbox::accounts(ctx, req).await,
            (Method::Post, ["revoke"]) => {
                let b = public_body(req).await?;
                sandbox::revoke(ctx, req, &b).await
            }
            (_, ["authorize"] | ["token"] | ["userinfo"] | ["accounts"] | ["revoke"]) => Err(method_not_allowed()),
            _ => Err(ApiError::not_found("route")),
        },

        _ => Err(ApiError::not_found("route")),
    }
}

fn only(m: &Method, want: Method, f: impl FnOnce() -> ApiResult<Response>) -> ApiResult<Response> {
    if *m == want {
        f()
    } else {
        Err(method_not_allowed())
    }
}

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "request body is over 64 KiB")
}

/// How much of a chunked body over the cap is still read (and discarded) before the 413, so
/// a client that is still sending sees the answer rather than a reset. Only for callers that
/// proved who they are (an API key, the admin token): anyone else is cut at the cap.
const OVER_CAP_DRAIN: usize = 1024 * 1024;

/// The body of an authenticated request (see [`read_body`]): past the cap a chunked body is
/// drained for at most [`OVER_CAP_DRAIN`] more, then cut.
async fn body(req: &mut Request) -> ApiResult<Vec<u8>> {
    read_body(req, OVER_CAP_DRAIN).await
}

/// The body of a request nobody authenticated (platform webhooks, the picker's form, the
/// sandbox): cut at the cap, so a stranger's huge or endless body costs at most 64 KiB of
/// reading.
async fn public_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    read_body(req, 0).await
}

/// The request body, refused over 64 KiB: by its declared length before any reading, and by
/// a running count while it streams in (a chunked body declares no length). Past the cap a
/// chunked body is drained for at most `drain` bytes more (then cut), never read whole.
async fn read_body(req: &mut Request, drain: usize) -> ApiResult<Vec<u8>> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    match read_request(req.stream().or_500("request body stream")?, MAX_BODY_BYTES, drain).await {
        Ok(bytes) => Ok(bytes),
        Err(ReadError::OverCap) => Err(too_large()),
        // The client went away mid-body (or sent a broken one): its mistake, not ours.
        Err(ReadError::Stream) => Err(ApiError::invalid("the request body could not be read")),
    }
}

fn query(req: &Request) -> ApiResult<Vec<(String, String)>> {
    let url = req.url().or_500("request url")?;
    Ok(url.query_pairs().into_owned().collect())
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Whether a platform can connect here: its client id and secret are set, or it needs none
/// (app passwords, pasted keys) or registers itself with each instance (Mastodon).
fn configured(ctx: &Ctx, p: &connect_links_core::platforms::Platform) -> bool {
    p.auth == connect_links_core::platforms::AuthKind::InstanceOauth2 || ctx.credentials(p).is_some()
}
