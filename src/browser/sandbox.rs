//! The sandbox platform's endpoints (`/sandbox/*`, only with `SANDBOX=on`): a consent page,
//! a token endpoint that enforces PKCE S256 and rotates refresh tokens, user info, revoke.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::links::state::peek_state;
use crate::respond::{self, object};
use crate::store::{self, SandboxCode, SandboxGrant, SandboxHolder, Stmt};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::html::policy_with_form_targets;
use connect_links_core::keys::bearer;
use connect_links_core::model::LinkRow;
use connect_links_core::oauth::basic_auth;
use connect_links_core::pages::{self, brand_of, Brand, PlatformMark};
use connect_links_core::pkce::verify_s256;
use connect_links_core::platforms::sandbox::{self as def, ACCESS_TTL_SECS, CODE_TTL_SECS};
use connect_links_core::random::{ct_eq, random_token};
use connect_links_core::redirect::with_params;
use connect_links_core::sandbox::{
    page_id, page_name, redirect_allowed, secret_hash, user_id, valid_username, AuthorizeRequest, CSRF_PURPOSE,
    PAGES_PER_ACCOUNT, REDIRECT_NOT_ALLOWED,
};
use serde_json::{json, Value};
use worker::{Request, Response};

fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// `GET /sandbox/authorize`: the consent page, naming the app of the link the state belongs
/// to, in the link's language (else the browser's).
pub async fn authorize_page(ctx: &Ctx, query: &[(String, String)]) -> ApiResult<Response> {
    let req = AuthorizeRequest::from_pairs(query);
    if let Some(problem) = req.problem(get(query, "response_type").unwrap_or_default()) {
        return refused(ctx, "sandbox.bad_request", problem).await;
    }
    if !redirect_ok(ctx, &req.redirect_uri).await? {
        return refused(ctx, "sandbox.bad_request", REDIRECT_NOT_ALLOWED).await;
    }
    let csrf = req.csrf_token(&ctx.keyring()?.derive(CSRF_PURPOSE), ctx.now());
    let link = link_of(ctx, &req.state).await?;
    let mut brand = Brand::default();
    if let Some(l) = &link {
        if let Some(app) = store::get_app(&ctx.db()?, &l.app_id).await? {
            brand = brand_of(&app);
        }
    }
    let msgs = crate::pages::messages(ctx, ctx.page_lang(link.as_ref().and_then(|l| l.locale.as_deref()))).await;
    let name = ctx.catalog.get("sandbox").map_or("Sandbox", |p| p.name.as_str());
    let mark = PlatformMark::of("sandbox", name);
    let ends = form_ends(ctx, &req, link.as_ref());
    let ends: Vec<&str> = ends.iter().map(String::as_str).collect();
    let mut resp = respond::page(200, req.consent_page(&csrf, &brand, &msgs, &mark), &msgs)?;
    resp.headers_mut().set("content-security-policy", &policy_with_form_targets(&ends)).or_500("policy header")?;
    Ok(resp)
}

/// An error page of the sandbox (400): `title_key`'s title and the English `detail`, in the
/// browser's language.
async fn refused(ctx: &Ctx, title_key: &str, detail: &str) -> ApiResult<Response> {
    let msgs = crate::pages::messages(ctx, ctx.page_lang(None)).await;
    respond::page(400, pages::error_page(&Brand::default(), &msgs, 400, msgs.t(title_key), detail), &msgs)
}

/// The link a sandbox authorization request's state belongs to, while it is pending (an
/// unknown or stale state: none).
async fn link_of(ctx: &Ctx, state: &str) -> ApiResult<Option<LinkRow>> {
    match peek_state(ctx, state).await? {
        Ok(pending) => store::get_link(&ctx.db()?, &pending.link_id).await,
        Err(_) => Ok(None),
    }
}

/// Whether the sandbox may redirect to `redirect_uri` (this worker's callback or a URL in an
/// app's allowlist), checked on the page and again on the decision.
async fn redirect_ok(ctx: &Ctx, redirect_uri: &str) -> ApiResult<bool> {
    let own = format!("{}/oauth/callback", ctx.public_url);
    if redirect_allowed(redirect_uri, &own, &[]) {
        return Ok(true);
    }
    let entries = store::allowlist_entries_for(&ctx.db()?, redirect_uri).await?;
    Ok(redirect_allowed(redirect_uri, &own, &entries))
}

/// Where submitting the consent form ends up, through redirects: `redirect_uri`, and when
/// that is this worker's callback, the redirect URL of the link the state belongs to (an
/// unknown or stale state ends on the callback's own error page: nothing to add).
fn form_ends(ctx: &Ctx, req: &AuthorizeRequest, link: Option<&LinkRow>) -> Vec<String> {
    let mut ends = vec![req.redirect_uri.clone()];
    if req.redirect_uri == format!("{}/oauth/callback", ctx.public_url) {
        if let Some(link) = link {
            ends.push(link.redirect_url.clone());
        }
    }
    ends
}

/// `POST /sandbox/authorize`: Approve issues a code, Deny answers `access_denied`.
/// `site` is the browser's `Sec-Fetch-Site`: a post from another site is refused even with a
/// valid token (anyone can fetch a consent page and its token for their own request, then
/// make a victim's browser submit it: login CSRF). Clients that send no such header are no
/// browser page to protect.
pub async fn decide(ctx: &Ctx, site: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    if matches!(site, Some("cross-site" | "same-site")) {
        return refused(ctx, "sandbox.refused", "the form was submitted from another site").await;
    }
    let form = pairs(body);
    let mut req = AuthorizeRequest::from_pairs(&form);
    // The token is bound to the scopes the page was served for; the boxes are what was granted.
    req.scope = get(&form, "requested_scope").unwrap_or_default().to_string();
    if let Some(problem) = req.problem("code") {
        return refused(ctx, "sandbox.bad_request", problem).await;
    }
    // Again on the decision: the form is the client's, and an allowlist may have changed.
    if !redirect_ok(ctx, &req.redirect_uri).await? {
        return refused(ctx, "sandbox.bad_request", REDIRECT_NOT_ALLOWED).await;
    }
    // Before either decision: a form from anywhere but this request's own page is refused.
    if let Err(problem) = req.check_csrf(&ctx.keyring()?.derive(CSRF_PURPOSE), get(&form, "csrf_token"), ctx.now()) {
        return refused(ctx, "sandbox.refused", problem.message()).await;
    }
    // Each checked scope box is its own field; unchecked ones are declined.
    let requested: Vec<&str> = req.scope.split(' ').filter(|s| !s.is_empty()).collect();
    let granted: Vec<&str> = form.iter().filter(|(k, _)| k == "scope").map(|(_, v)| v.as_str()).collect();
    if granted.iter().any(|g| !requested.contains(g)) {
        return refused(ctx, "sandbox.bad_request", "a scope was granted that was not requested").await;
    }
    let granted = granted.join(" ");
    let back = |params: &[(&str, &str)]| with_params(&req.redirect_uri, params).ok_or_else(ApiError::internal);
    if get(&form, "decision") != Some("approve") {
        return respond::redirect(&back(&[
            ("error", "access_denied"),
            ("error_description", "The user denied the request"),
            ("state", &req.state),
        ])?);
    }
    let username = get(&form, "username").unwrap_or_default().trim();
    if !valid_username(username) {
        return refused(ctx, "sandbox.bad_name", "Use 1 to 32 of a-z, 0-9, '_', '.', '-'.").await;
    }
    let code = random_token()?;
    let db = ctx.db()?;
    store::insert_sandbox_code(
        &db,
        &secret_hash(&code),
        &req.redirect_uri,
        &req.code_challenge,
        &granted,
        username,
        ctx.now(),
    )
    .exec("sandbox code")
    .await?;
    respond::redirect(&back(&[("code", &code), ("state", &req.state)])?)
}

fn oauth_error(status: u16, error: &str, description: &str) -> ApiResult<Response> {
    respond::json(status, &object!("error": error, "error_description": description))
}

fn client_ok(req: &Request) -> bool {
    let given = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    ct_eq(given.as_bytes(), basic_auth(def::CLIENT_ID, def::CLIENT_SECRET).as_bytes())
}

/// `POST /sandbox/token`: `authorization_code` (PKCE S256 enforced, codes single use) and
/// `refresh_token` (rotating: the old refresh token dies when a new one is issued).
pub async fn token(ctx: &Ctx, req: &Request, body: &[u8]) -> ApiResult<Response> {
    if !client_ok(req) {
        return oauth_error(401, "invalid_client", "client authentication failed (HTTP Basic required)");
    }
    let form = pairs(body);
    let db = ctx.db()?;
    let grant = match get(&form, "grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (get(&form, "code"), get(&form, "redirect_uri")) else {
                return oauth_error(400, "invalid_request", "code and redirect_uri are required");
            };
            let Some(verifier) = get(&form, "code_verifier") else {
                return oauth_error(400, "invalid_request", "code_verifier is required");
            };
            // Marking the code used and reading it is one statement: a code works once.
            let row = store::redeem_sandbox_code(&db, &secret_hash(code), ctx.now())
                .one::<SandboxCode>("sandbox redeem")
                .await?;
            let Some(row) = row else {
                return oauth_error(400, "invalid_grant", "the code is unknown or was already used");
            };
            if ctx.now() - row.created_at > CODE_TTL_SECS || row.redirect_uri != redirect_uri {
                return oauth_error(400, "invalid_grant", "the code expired or redirect_uri does not match");
            }
            if !verify_s256(verifier, &row.code_challenge) {
                return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge");
            }
            SandboxGrant { username: row.username, scope: row.scope }
        }
        Some("refresh_token") => {
            let Some(rt) = get(&form, "refresh_token") else {
                return oauth_error(400, "invalid_request", "refresh_token is required");
            };
            let row = store::spend_sandbox_refresh(&db, &secret_hash(rt), ctx.now())
                .one::<SandboxGrant>("sandbox refresh")
                .await?;
            match row {
                Some(g) => g,
                None => return oauth_error(400, "invalid_grant", "the refresh token is unknown, used or revoked"),
            }
        }
        _ => {
            return oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
        }
    };
    issue(ctx, &grant).await
}

async fn issue(ctx: &Ctx, grant: &SandboxGrant) -> ApiResult<Response> {
    let db = ctx.db()?;
    let access = format!("sbx_at_{}", random_token()?);
    let insert = |hash: String, kind: &str, expires: Option<i64>| {
        store::sandbox_token_stmt(&db, hash, kind, grant, expires, ctx.now())
    };
    let mut stmts = vec![insert(secret_hash(&access), "access", Some(ctx.now() + ACCESS_TTL_SECS))?];
    let mut body = object!(
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_SECS,
        "scope": grant.scope,
    );
    // Like X: a refresh token only with offline.access.
    if grant.scope.split(' ').any(|s| s == "offline.access") {
        let refresh = format!("sbx_rt_{}", random_token()?);
        stmts.push(insert(secret_hash(&refresh), "refresh", None)?);
        body["refresh_token"] = Value::String(refresh);
    }
    db.batch(stmts).await.or_500("sandbox tokens")?;
    respond::json(200, &body)
}

/// The holder of `req`'s bearer token, or the 401 to answer (no token, or none live).
async fn bearer_holder(ctx: &Ctx, req: &Request) -> ApiResult<Result<SandboxHolder, Response>> {
    let header = req.headers().get("authorization").ok().flatten();
    let Some(token) = bearer(header.as_deref()) else {
        return oauth_error(401, "invalid_token", "a bearer token is required").map(Err);
    };
    let db = ctx.db()?;
    let row = store::sandbox_bearer(&db, &secret_hash(token), ctx.now()).one::<SandboxHolder>("sandbox bearer").await?;
    match row {
        Some(h) => Ok(Ok(h)),
        None => oauth_error(401, "invalid_token", "the access token is unknown, expired or revoked").map(Err),
    }
}

/// `GET /sandbox/userinfo`: who the bearer token belongs to. A Page token answers too: the
/// liveness check calls this.
pub async fn userinfo(ctx: &Ctx, req: &Request) -> ApiResult<Response> {
    match bearer_holder(ctx, req).await? {
        Err(refused) => Ok(refused),
        Ok(h) if h.kind == "page" => respond::json(200, &object!("sub": h.username)),
        Ok(h) => respond::json(
            200,
            &object!("sub": user_id(&h.username), "preferred_username": h.username, "name": format!("Sandbox {}", h.username)),
        ),
    }
}

/// How long a sandbox Page token lives (Facebook's do not expire): 90 days.
const PAGE_TOKEN_TTL_SECS: i64 = 90 * 24 * 3600;

/// `GET /sandbox/accounts`: the Pages the bearer's account manages, in the shape of
/// Facebook's `/me/accounts`, each with a Page token of its own.
pub async fn accounts(ctx: &Ctx, req: &Request) -> ApiResult<Response> {
    let g = match bearer_holder(ctx, req).await? {
        Ok(h) if h.kind == "access" => h,
        // A Page lists no Pages.
        Ok(_) => return oauth_error(401, "invalid_token", "the access token is unknown, expired or revoked"),
        Err(refused) => return Ok(refused),
    };
    let db = ctx.db()?;
    let mut data = Vec::new();
    let mut stmts = Vec::new();
    for n in 1..=PAGES_PER_ACCOUNT {
        let page_token = format!("sbx_pt_{}", random_token()?);
        // A Page token's holder is the Page. Facebook's do not expire; the sandbox's are purged
        // after PAGE_TOKEN_TTL_SECS, so listing Pages over and over cannot grow the table
        // without bound.
        let (hash, page) = (secret_hash(&page_token), page_id(&g.username, n));
        stmts.push(store::sandbox_page_token_stmt(
            &db,
            &hash,
            &page,
            &g.scope,
            ctx.now() + PAGE_TOKEN_TTL_SECS,
            ctx.now(),
        )?);
        data.push(json!({
            "id": page_id(&g.username, n),
            "name": page_name(&g.username, n),
            "access_token": page_token,
            "tasks": ["CREATE_CONTENT", "MANAGE"],
        }));
    }
    db.batch(stmts).await.or_500("sandbox page tokens")?;
    respond::json(200, &json!({"data": data, "paging": {"cursors": {"before": "MQ", "after": "Mg"}}}))
}

/// `POST /sandbox/revoke` (RFC 7009): always 200 for an authenticated client.
pub async fn revoke(ctx: &Ctx, req: &Request, body: &[u8]) -> ApiResult<Response> {
    if !client_ok(req) {
        return oauth_error(401, "invalid_client", "client authentication failed");
    }
    if let Some(token) = get(&pairs(body), "token") {
        let db = ctx.db()?;
        store::revoke_sandbox_token(&db, &secret_hash(token), ctx.now()).exec("sandbox revoke").await?;
    }
    respond::json(200, &json!({}))
}
