//! `ANY /v1/profiles/{id}/proxy/{path}`: a call to the platform's API as the
//! profile, with the token injected, refresh on a dead token, retries where they are safe,
//! and the platform's rate limits kept before the call. The rules are in
//! `connect_links_core::proxy`; this file moves bytes and keeps the books.

use crate::body::{read_capped, ReadError};
use crate::ctx::{now_ms, Ctx};
use crate::error::OrInternal;
use crate::fetch::{self, OutBody, TransportError};
use crate::grants::{self, refresh_detached, require_active, usable_token, Outcome};
use crate::store;
use crate::tenant::Admitted;
use crate::respond::object;
use connect_links_core::app_limits::AppRoute;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::{AppRow, ProfileRow, ProfileStatus};
use connect_links_core::oauth::place_token;
use connect_links_core::platforms::{Platform, RefreshKind, TokenPlacement};
use connect_links_core::proxy as rules;
use connect_links_core::proxy::location::{redirects, Redirects};
use connect_links_core::random::unit;
use connect_links_core::ratelimit::Decision;
use connect_links_core::refresh::Failure;
use connect_links_core::secrets::AccessToken;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{Delay, Headers, Request, Response, ResponseBody};

mod budgets;
mod tally;
use budgets::{account_object, check_budgets, record_limits};

/// The most of an answer's copy read to tell a dead token (Meta's error bodies are a few
/// hundred bytes); the answer itself streams back whole.
const TOKEN_CHECK_BYTES: usize = 64 * 1024;

/// How long a proxied call may wait for the platform's status line, the request body's
/// sending included (`PROXY_TIMEOUT_MS`, default 60 s: uploads take a while).
fn timeout_ms(ctx: &Ctx) -> u64 {
    ctx.number_var("PROXY_TIMEOUT_MS", 1_000..=300_000).map_or(60_000, |ms| ms as u64)
}

/// Who answered a proxied call, for the log line and the counters.
#[derive(Clone, Copy)]
enum Source {
    /// The platform (its status is passed back).
    Platform,
    /// The worker refused before any platform call (a spent budget or a remembered 429).
    Local,
    /// The platform could not be reached (502).
    Network,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Platform => "platform",
            Source::Local => "local",
            Source::Network => "network",
        }
    }
}

/// What one proxied call did, for its one log line and the counters.
struct Books {
    /// Empty until the profile's platform is known (then the call is counted too).
    platform: String,
    profile_id: String,
    app_id: String,
    /// Empty until the call's target is known.
    class: String,
    started_ms: i64,
    attempts: u32,
    refreshed: bool,
    /// Whether the call's line is written (every answer writes exactly one).
    logged: bool,
    /// The app's proxy rate once counted (its `RateLimit` fields go on every answer).
    admitted: Option<Admitted>,
    /// A refusal of ours: its error code and sentence, for the console's history.
    refused: Option<(&'static str, String)>,
}

/// `ANY /v1/profiles/{id}/proxy/{path}`. Every answer, refusals included, writes one log
/// line.
pub async fn forward(ctx: &Ctx, app: &AppRow, id: &str, req: &mut Request) -> ApiResult<Response> {
    let mut books = Books {
        platform: String::new(),
        profile_id: id.to_string(),
        app_id: app.id.clone(),
        class: String::new(),
        started_ms: now_ms(),
        attempts: 0,
        refreshed: false,
        logged: false,
        admitted: None,
        refused: None,
    };
    let result = forward_as(ctx, app, id, req, &mut books).await;
    if let Err(e) = &result {
        if !books.logged {
            books.refused = Some((e.code.as_str(), e.message.clone()));
            books.finish(ctx, e.status(), Source::Local).await;
        }
    }
    result
}

/// The methods the proxy forwards (any other is a 405 whose `Allow` lists these), as an
/// `Allow` header writes them.
pub const METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

/// The proxied call itself; `books` is filled in as the call is known.
async fn forward_as(ctx: &Ctx, app: &AppRow, id: &str, req: &mut Request, books: &mut Books) -> ApiResult<Response> {
    let method = req.inner().method().to_ascii_uppercase();
    if !METHODS.split(", ").any(|m| m == method) {
        return Err(crate::error::method_not_allowed());
    }
    let url = req.url().or_500("request url")?;
    // The path as sent, still percent-encoded, after `v1/profiles/{id}/proxy/` (leading
    // slashes skipped as the router skips them).
    let raw_path = url.path().trim_start_matches('/').splitn(5, '/').nth(4).unwrap_or_default().to_string();
    let db = ctx.db()?;
    // The app's proxy rate is counted while the profile is read: neither reads what the
    // other writes.
    let admit = crate::tenant::admit(ctx, app, AppRoute::Proxy);
    // The profile's row from this isolate's memory when it proxied for it in the last
    // `PROXY_PROFILE_CACHE_MS` (default `isolate::PROFILE_CACHE_MS`; 0: always D1) and did
    // nothing else since, else from D1 (then kept).
    let now = now_ms();
    let max_age = ctx.number_var("PROXY_PROFILE_CACHE_MS", 0..=10_000).unwrap_or(crate::isolate::PROFILE_CACHE_MS);
    let cached = crate::isolate::cached_profile::<(ProfileRow, store::ProfileToken)>(&app.id, id, now, max_age);
    let read_in = crate::isolate::profile_generation();
    let read = async {
        match &cached {
            Some(row) => Ok(Some(row.as_ref().clone())),
            None => store::profile_token(&db, &app.id, id).await,
        }
    };
    let (admitted, first) = futures_util::future::join(admit, read).await;
    if let (None, Ok(Some(row))) = (&cached, &first) {
        if max_age > 0 && row.0.status == ProfileStatus::Active {
            crate::isolate::remember_profile(&app.id, id, now, std::rc::Rc::new(row.clone()), read_in);
        }
    }
    if let Ok(Some((profile, _))) = &first {
        books.platform = profile.platform.clone();
    }
    match admitted? {
        Ok(a) => books.admitted = Some(a),
        Err(mut refusal) => {
            books.finish(ctx, 429, Source::Local).await;
            local_headers(&mut refusal)?;
            return Ok(refusal);
        }
    }
    let first = first?.ok_or_else(|| ApiError::not_found("profile"))?;
    require_active(&first.0)?;
    let platform = ctx
        .platform_at(&first.0.platform, first.0.instance.as_deref())
        .ok_or_else(|| ApiError::new(ErrorCode::PlatformNotConfigured, "this profile's platform is not configured"))?;
    let platform = &platform;
    let spec = &platform.proxy;
    let host_choice = header(req, rules::HOST_HEADER);
    let target = rules::target(
        platform.api_base_url.as_deref(),
        &spec.extra_hosts,
        host_choice.as_deref(),
        &raw_path,
        url.query(),
    )
    .map_err(|e| match e {
        // A well-formed host the token may not go to: refused as a permission, not a form
        // (the document cannot list each platform's hosts in the header's schema).
        rules::TargetError::HostNotAllowed => ApiError::new(ErrorCode::Forbidden, e.message()),
        _ => ApiError::invalid(e.message()),
    })?;
    // What the call really is for budgets and retries, where the platform tunnels methods.
    let effective =
        rules::effective_method(&method, header(req, "x-http-method-override").as_deref(), url.query(), spec)
            .ok_or_else(|| ApiError::invalid("the query gives the method parameter more than once"))?;
    books.class = rules::endpoint_class(&effective, &target.path);
    // The platform app the grant was minted with keeps the books: its own, or the deployment's.
    let client = first.1.credential_ref.clone();
    let account = account_object(&first.0, client.as_deref());
    let (profile, token) = usable_token(ctx, &app.id, id, first).await?;
    let body = request_body(req, &method).await?;
    // The budget is spent last, when nothing on our side can still stop the call.
    if let Decision::Refuse { retry_after_secs } =
        check_budgets(ctx, platform, client.as_deref(), &account, &books.class, app).await
    {
        books.finish(ctx, 429, Source::Local).await;
        return rate_limited(retry_after_secs, books);
    }
    let forwarded: Vec<(String, String)> = req
        .headers()
        .entries()
        .filter(|(k, _)| rules::forwards_request_header(k, spec))
        .filter(|(k, _)| platform.user_agent.is_none() || !k.eq_ignore_ascii_case("user-agent"))
        .filter(|(k, _)| !matches!(&platform.token_placement, TokenPlacement::Header { name, .. } if k.eq_ignore_ascii_case(name)))
        .collect();
    let keyed = header(req, "idempotency-key").is_some();
    let call = Call {
        platform,
        profile: &profile,
        client: client.as_deref(),
        account: &account,
        method: &method,
        target: &target.url,
        forwarded,
        body,
        spent: false,
        // Both the method sent and the one it stands for must be safe to send again.
        retry_safe: rules::retry_safe(&method, keyed) && rules::retry_safe(&effective, keyed),
    };
    run(ctx, call, token, books).await
}

/// One proxied call, ready to send.
struct Call<'a> {
    platform: &'a Platform,
    profile: &'a ProfileRow,
    /// The app's own credentials that minted the grant (`None`: the deployment's).
    client: Option<&'a str>,
    /// The account's limiter object.
    account: &'a str,
    method: &'a str,
    target: &'a str,
    forwarded: Vec<(String, String)>,
    body: OutBody,
    /// Whether a streamed body was sent already (it cannot be sent again).
    spent: bool,
    retry_safe: bool,
}

/// Sends the call, following the retry rules, and answers what the platform answered. At
/// most [`rules::MAX_ATTEMPTS`] calls for 5xx answers and network errors, and one more
/// after a refresh.
async fn run(ctx: &Ctx, mut call: Call<'_>, mut token: AccessToken, books: &mut Books) -> ApiResult<Response> {
    let spec = &call.platform.proxy;
    let mut renew_tried = false;
    let mut failures = 0;
    loop {
        books.attempts += 1;
        let mut headers = call.forwarded.clone();
        if let Some(ua) = &call.platform.user_agent {
            headers.push(("user-agent".into(), ua.clone()));
        }
        // Where the platform takes it: `Authorization: Bearer`, or an API-key provider's header
        // or query parameter (a caller's header of that name was not forwarded).
        let mut target = call.target.to_string();
        place_token(&call.platform.token_placement, token.secret(), &mut target, &mut headers);
        let sent = fetch::open(call.method, &target, &headers, &call.body, timeout_ms(ctx)).await;
        if matches!(call.body, OutBody::Stream(_)) {
            call.spent = true;
        }
        let replayable = !call.spent;
        let can_retry = |failures: u32| {
            call.retry_safe
                && replayable
                && failures < rules::MAX_ATTEMPTS
                && now_ms() - books.started_ms < rules::RETRY_WINDOW_MS
        };
        let mut resp = match sent {
            Ok(resp) => resp,
            Err(_) if can_retry(failures + 1) => {
                failures += 1;
                wait_before(failures + 1).await;
                continue;
            }
            Err(e) => {
                books.finish(ctx, 502, Source::Network).await;
                let why = if e == TransportError::Timeout { "did not answer in time" } else { "could not be reached" };
                return Err(ApiError::upstream(format!("the platform {why}")));
            }
        };
        let status = resp.status_code();
        let peek = if rules::needs_body_for_token_check(spec, status) { peek_body(&mut resp).await } else { None };
        if !renew_tried && rules::token_invalid(spec, status, peek.as_deref()) {
            renew_tried = true;
            match renew(ctx, call.platform, call.profile, &token).await {
                Renewal::Fresh(t) => {
                    token = t;
                    books.refreshed = true;
                    if replayable {
                        discard(&resp);
                        continue;
                    }
                }
                Renewal::Ended => {
                    discard(&resp);
                    books.finish(ctx, 409, Source::Platform).await;
                    return Err(ApiError::new(
                        ErrorCode::Conflict,
                        "the platform declared the token dead; the profile is now disconnected",
                    ));
                }
                Renewal::Same => {}
            }
        }
        if status >= 500 && can_retry(failures + 1) {
            failures += 1;
            discard(&resp);
            wait_before(failures + 1).await;
            continue;
        }
        // A per-instance host may be an attacker's own: its redirect elsewhere is not handed
        // to the app's client, which might follow it with the app's key.
        let location = resp.headers().get("location").ok().flatten();
        let redirects = redirects(call.platform.instance.is_some(), status, call.target, location.as_deref());
        if redirects == Redirects::Refused {
            discard(&resp);
            books.finish(ctx, 502, Source::Platform).await;
            return Err(ApiError::upstream(
                "the platform answered with a redirect off its own host, which is not passed on",
            ));
        }
        let now = ctx.now();
        let limits = {
            let h = resp.headers();
            let lookup = |name: &str| h.get(name).ok().flatten();
            rules::read_limits(spec, status, now, &lookup, &http_date)
        };
        record_limits(ctx, call.platform, call.client, call.account, &books.class, &limits, now).await;
        books.finish(ctx, status, Source::Platform).await;
        let retry_after = limits.retry_after_secs(now).filter(|_| status == 429);
        return pass_back(resp, call.method, books, retry_after, &redirects);
    }
}

/// Waits before attempt `next`, with jitter.
async fn wait_before(next: u32) {
    Delay::from(Duration::from_millis(rules::backoff_ms(next, unit()))).await;
}

/// How long after a refresh a dead-token answer does not refresh the grant again.
const REFRESH_PAUSE_SECS: i64 = 60;

/// What a refresh (or, without refresh, a liveness check) after a dead-token answer gave.
enum Renewal {
    /// A new token to retry with.
    Fresh(AccessToken),
    /// The platform ended the grant, or declared the token dead: the profile is disconnected.
    Ended,
    /// Nothing better than the token already tried (a token still alive by the liveness
    /// check, a refresh that failed for now, or a Page token the grant's refresh does not
    /// renew).
    Same,
}

/// Refreshes the profile's grant once, under the same lease as the cron (an on-demand
/// refresh already running is waited for, briefly), and reads the token it acts with. On a
/// platform without refresh, checks the token's liveness now instead.
async fn renew(ctx: &Ctx, platform: &Platform, p: &ProfileRow, tried: &AccessToken) -> Renewal {
    if platform.refresh == RefreshKind::None {
        // Nothing to refresh: the token is checked now, as the liveness job would check it
        // (same call, same verdict, same disconnect and `profile.disconnected`), instead of
        // at its next scheduled check. An endpoint that refuses a live token for its own
        // reasons disconnects nobody.
        if grants::check_now(ctx, &p.grant_id, &p.id).await.is_err() {
            return Renewal::Same;
        }
        return read_renewal(ctx, p, tried).await;
    }
    // A grant refreshed within the last minute is not refreshed again for a 401: an
    // endpoint that refuses the token for another reason must not cost a token-endpoint
    // call per proxied call. Its current token is used if it is not the one tried.
    let fresh = p.last_refreshed_at.is_some_and(|t| ctx.now() - t < REFRESH_PAUSE_SECS);
    let outcome = if fresh { Ok(Outcome::NotNeeded) } else { refresh_detached(ctx, &p.grant_id, None).await };
    match outcome {
        Ok(Outcome::Failed(Failure::Terminal(_))) => return Renewal::Ended,
        Ok(Outcome::InFlight) => {
            // Another refresh holds the lease: its token is the one to use, once it lands.
            for _ in 0..12 {
                Delay::from(Duration::from_millis(250)).await;
                if let Renewal::Fresh(t) = read_renewal(ctx, p, tried).await {
                    return Renewal::Fresh(t);
                }
            }
            return Renewal::Same;
        }
        _ => {}
    }
    read_renewal(ctx, p, tried).await
}

/// What the profile holds now, in one read: its token when active and not the one tried,
/// `Ended` when it was disconnected meanwhile, else `Same`.
async fn read_renewal(ctx: &Ctx, p: &ProfileRow, tried: &AccessToken) -> Renewal {
    let Ok(db) = ctx.db() else { return Renewal::Same };
    let Ok(Some((row, t))) = store::profile_token(&db, &p.app_id, &p.id).await else { return Renewal::Same };
    if row.status == ProfileStatus::Disconnected {
        return Renewal::Ended;
    }
    let token = ctx
        .keyring()
        .ok()
        .and_then(|k| k.open_secret::<AccessToken>(&t.bound_to, "access_token", &t.access_token_enc).ok());
    match token {
        Some(t) if row.status == ProfileStatus::Active && t.secret() != tried.secret() => Renewal::Fresh(t),
        _ => Renewal::Same,
    }
}

/// The request body: none for GET and HEAD; held in memory when it declares a length within
/// [`rules::REPLAYABLE_BODY_BYTES`] (so it can be sent again); otherwise the caller's stream,
/// passed on unread (a 20 MB upload never sits in the worker's memory).
async fn request_body(req: &mut Request, method: &str) -> ApiResult<OutBody> {
    if matches!(method, "GET" | "HEAD") {
        return Ok(OutBody::Empty);
    }
    let Some(stream) = req.inner().body() else { return Ok(OutBody::Empty) };
    let declared = header(req, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    match declared {
        Some(n) if n <= rules::REPLAYABLE_BODY_BYTES => {
            match read_capped(req.stream().or_500("request body stream")?, rules::REPLAYABLE_BODY_BYTES).await {
                Ok(bytes) => Ok(OutBody::Bytes(bytes)),
                Err(ReadError::OverCap) => Err(ApiError::invalid("the request body is longer than its Content-Length")),
                Err(ReadError::Stream) => Err(ApiError::invalid("the request body could not be read")),
            }
        }
        _ => Ok(OutBody::Stream(stream)),
    }
}

/// Reads up to [`TOKEN_CHECK_BYTES`] of an answer to tell a dead token, from a copy (the
/// runtime tees the body), so the answer itself still streams back whole whatever its
/// size. `None` when the copy cannot be read within [`PEEK_TIMEOUT_MS`] or is longer (then
/// it is not Graph's error); dropping the copy's stream cancels it.
async fn peek_body(resp: &mut Response) -> Option<Vec<u8>> {
    let mut copy = resp.cloned().ok()?;
    if !matches!(copy.body(), ResponseBody::Stream(_)) {
        return Some(Vec::new());
    }
    let read = read_capped(copy.stream().ok()?, TOKEN_CHECK_BYTES);
    match select(Box::pin(read), Box::pin(Delay::from(Duration::from_millis(PEEK_TIMEOUT_MS)))).await {
        Either::Left((Ok(bytes), _)) => Some(bytes),
        _ => None,
    }
}

/// How long the start of an error answer may take to arrive for the dead-token check.
const PEEK_TIMEOUT_MS: u64 = 5_000;

/// Cancels an answer's body unread.
fn discard(resp: &Response) {
    if let ResponseBody::Stream(s) = resp.body() {
        let _ = s.cancel();
    }
}

/// The platform's answer as the caller gets it: status and body unchanged (streamed), the
/// headers that matter (`Location` and `Refresh` as `redirects` says), and ours.
fn pass_back(
    resp: Response,
    method: &str,
    books: &Books,
    retry_after: Option<i64>,
    redirects: &Redirects,
) -> ApiResult<Response> {
    let status = resp.status_code();
    // Statuses that carry no body by definition, and HEAD, get none; their length still
    // says what a GET would get.
    let bodiless = method == "HEAD" || matches!(status, 101 | 103 | 204 | 205 | 304);
    let confined = matches!(redirects, Redirects::Confined(_));
    let headers = Headers::new();
    for (k, v) in resp.headers().entries() {
        let replaced = confined && (k.eq_ignore_ascii_case("location") || k.eq_ignore_ascii_case("refresh"));
        if !replaced && (rules::returns_response_header(&k) || (bodiless && k.eq_ignore_ascii_case("content-length"))) {
            headers.append(&k, &v).or_500("answer header")?;
        }
    }
    if let Redirects::Confined(Some(to)) = redirects {
        headers.set("location", to).or_500("location header")?;
    }
    headers.set(rules::ATTEMPTS_HEADER, &books.attempts.to_string()).or_500("attempts header")?;
    headers.set(rules::REFRESHED_HEADER, if books.refreshed { "true" } else { "false" }).or_500("refreshed header")?;
    if let Some(secs) = retry_after {
        if !headers.has("retry-after").unwrap_or(false) {
            headers.set("retry-after", &secs.to_string()).or_500("retry-after header")?;
        }
    }
    let builder = worker::ResponseBuilder::new().with_status(status).with_headers(headers);
    let mut out = match resp.body() {
        _ if bodiless => {
            discard(&resp);
            builder.empty()
        }
        ResponseBody::Stream(s) => builder.stream(s.clone()),
        ResponseBody::Body(b) => builder.fixed(b.clone()),
        ResponseBody::Empty => builder.empty(),
    };
    if let Some(a) = &books.admitted {
        a.stamp(&mut out);
    }
    Ok(out)
}

/// 429 `rate_limited` answered here, before any platform call.
fn rate_limited(retry_after_secs: i64, books: &Books) -> ApiResult<Response> {
    let e = ApiError::new(
        ErrorCode::RateLimited,
        "this profile's budget for this endpoint, or this app's share of the platform app's, is spent, or the \
         platform asked to wait; retry after Retry-After seconds",
    );
    let mut resp = Response::from_json(&e.body()).or_500("serialize response")?.with_status(429);
    resp.headers_mut().set("retry-after", &retry_after_secs.max(1).to_string()).or_500("retry-after header")?;
    local_headers(&mut resp)?;
    if let Some(a) = &books.admitted {
        a.stamp(&mut resp);
    }
    Ok(resp)
}

/// The proxy's own headers on an answer made here, before any platform call.
fn local_headers(resp: &mut Response) -> ApiResult<()> {
    let h = resp.headers_mut();
    h.set(rules::ATTEMPTS_HEADER, "0").or_500("attempts header")?;
    h.set(rules::REFRESHED_HEADER, "false").or_500("refreshed header")?;
    Ok(())
}

/// An HTTP date (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`) as epoch seconds, read by
/// the runtime's date parser.
fn http_date(v: &str) -> Option<i64> {
    let ms = worker::js_sys::Date::parse(v);
    ms.is_finite().then_some((ms / 1000.0) as i64)
}

impl Books {
    /// Logs the call's one line and counts it for `GET /v1/admin/stats` (after the answer).
    /// Never logs a token, a body or the query.
    async fn finish(&mut self, ctx: &Ctx, status: u16, source: Source) {
        self.logged = true;
        crate::log::info(&object!(
                "event": "proxy_call",
                "platform": (!self.platform.is_empty()).then_some(&self.platform),
                "endpoint": (!self.class.is_empty()).then_some(&self.class),
                "status": status,
                "source": source.as_str(),
                "attempts": self.attempts,
                "refreshed": self.refreshed,
                "latency_ms": now_ms() - self.started_ms,
                "profile_id": self.profile_id,
                "app_id": self.app_id,
            ));
        // Refused before its profile was found: logged, not counted under a platform.
        if self.platform.is_empty() {
            return;
        }
        tally::count(ctx, ctx.now() / 60, &self.platform, status, source.as_str()).await;
        if status >= 400 {
            let (code, detail) = match (self.refused.take(), source) {
                (Some((code, message)), _) => (Some(code), message),
                (None, Source::Platform) => (None, format!("the platform answered {status}")),
                (None, Source::Local) => {
                    (None, "refused here before any platform call (a rate limit or budget)".into())
                }
                (None, Source::Network) => (None, "the platform could not be reached".into()),
            };
            let at =
                tally::ErrorAt { app_id: &self.app_id, platform: &self.platform, profile_id: &self.profile_id, status };
            tally::note_error(ctx, at, code, detail).await;
        }
    }
}

/// A request header's value.
fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}
