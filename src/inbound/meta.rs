//! Meta's callbacks (Facebook Login, Instagram and Threads use cases): the Deauthorize
//! callback and the Data Deletion Request callback, both a form field `signed_request`
//! signed with the app secret (formats and their sources in
//! `connect_links_core::platform_webhooks`).

use super::{delete_login, revoke_login, unauthorized};
use crate::ctx::Ctx;
use crate::respond;
use crate::store::{self, DeletionRecord, Stmt};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::html::{escape, page};
use connect_links_core::platform_webhooks::{
    confirmation_code, is_fresh_callback, signed_request_of_form, verify_signed_request, SignedRequest,
};
use connect_links_core::time::rfc3339;
use serde_json::json;
use worker::Response;

/// The Meta platforms whose app secret may sign a callback. Each product has its own app
/// (and secret), and a callback URL is shared by every configured one.
const META_PLATFORMS: [&str; 4] = ["facebook", "instagram_facebook", "instagram", "threads"];

/// The platforms whose configured app secret verifies the body's `signed_request`, with the
/// request. Every configured secret is tried (no early exit), each compared in constant time.
/// Only a fresh callback counts (see `is_fresh_callback`): a replayed one, or a login's
/// signed request signed with the same secret, is refused like a bad signature.
fn verified(ctx: &Ctx, body: &[u8]) -> Vec<(&'static str, SignedRequest)> {
    let Some(raw) = signed_request_of_form(body) else { return vec![] };
    let mut out = Vec::new();
    for id in META_PLATFORMS {
        let Some(creds) = ctx.catalog.get(id).and_then(|p| ctx.credentials(p)) else { continue };
        if let Some(req) = verify_signed_request(&raw, creds.client_secret.secret()) {
            if is_fresh_callback(&req, ctx.now()) {
                out.push((id, req));
            }
        }
    }
    out
}

/// When the user acted, as the request says (it is fresh, so it says).
fn event_at(ctx: &Ctx, req: &SignedRequest) -> i64 {
    req.issued_at.unwrap_or(ctx.now())
}

/// `POST /platform-webhooks/meta/deauthorize`: the user removed the app. 200 once verified
/// (also for a login we do not hold, and for a repeat); 401 otherwise.
pub async fn deauthorize(ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    let hits = verified(ctx, body);
    if hits.is_empty() {
        return Err(unauthorized());
    }
    for (platform, req) in &hits {
        revoke_login(ctx, platform, &req.user_id, event_at(ctx, req)).await?;
    }
    respond::json(200, &json!({"ok": true}))
}

/// `POST /platform-webhooks/meta/data-deletion`: the user asked Meta to have their data
/// deleted. Deletes, then answers `{url, confirmation_code}`; a repeated request gets the
/// same code (the status page keeps what the first one deleted).
pub async fn data_deletion(ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    let hits = verified(ctx, body);
    let Some((first, req)) = hits.first() else { return Err(unauthorized()) };
    let mut deleted = 0;
    for (platform, r) in &hits {
        deleted += delete_login(ctx, platform, &r.user_id, event_at(ctx, r)).await?;
    }
    // Its own key, stored once: the same request gets the same code across key rotations.
    let key = crate::sealed_secrets::deletion_code_key(ctx).await?;
    let code = confirmation_code(&key, first, &req.user_id, req.issued_at);
    store::record_deletion(&ctx.db()?, &code, first, deleted as i64, ctx.now()).exec("deletion record").await?;
    respond::json(
        200,
        &json!({
            "url": format!("{}/platform-webhooks/meta/deletion-status/{}", ctx.public_url, code),
            "confirmation_code": code,
        }),
    )
}

/// `GET /platform-webhooks/meta/deletion-status/{code}`: what a deletion request deleted, and
/// when (the page Meta shows the user). It names no account: the code is all it knows.
pub async fn deletion_status(ctx: &Ctx, code: &str) -> ApiResult<Response> {
    let valid = code.len() == 20 && code.bytes().all(|b| b.is_ascii_hexdigit());
    let record = if valid {
        store::deletion_record(&ctx.db()?, code).one::<DeletionRecord>("deletion record").await?
    } else {
        None
    };
    let Some(DeletionRecord { profiles_deleted: n, created_at: at }) = record else {
        return Err(ApiError::not_found("deletion request"));
    };
    let what = match n {
        0 => "No connected account was stored for you, so nothing needed deleting.".to_string(),
        1 => "1 connected account was deleted, with its tokens.".to_string(),
        n => format!("{n} connected accounts were deleted, with their tokens."),
    };
    respond::html(
        200,
        page(
            "Data deletion request",
            &format!(
                "<h1>Data deletion request</h1><p>Confirmation code <code>{}</code>.</p><p>{}</p><p>Done on {}.</p>",
                escape(code),
                escape(&what),
                escape(&rfc3339(at))
            ),
        ),
    )
}
