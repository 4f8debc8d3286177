//! Meta's callbacks (Facebook Login, Instagram and Threads use cases): the Deauthorize
//! callback and the Data Deletion Request callback, both a form field `signed_request`
//! signed with the app secret (formats and their sources in
//! `connect_links_core::platform_webhooks`). Meta's callbacks name no app, so the path says
//! whose they are: `/platform-webhooks/meta/...` the deployment's Meta apps,
//! `/platform-webhooks/meta/apps/{credential_ref}/...` one app's own credentials.

use super::{delete_login, revoke_login, unauthorized};
use crate::credentials::webhook_signers;
use crate::ctx::Ctx;
use crate::respond::{self, object};
use crate::store::{self, DeletionRecord, Stmt};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::pages::deletion_status_page;
// The Meta platforms whose app secret may sign a callback: each product has its own app (and
// secret), and a callback URL is shared by every configured one.
use connect_links_core::platform_events::meta::PLATFORMS as META_PLATFORMS;
use connect_links_core::platform_webhooks::{
    confirmation_code, is_fresh_callback, signed_request_of_form, verify_signed_request, SignedRequest,
};
use connect_links_core::secrets::ClientSecret;
use connect_links_core::time::rfc3339;
use worker::Response;

/// A Meta app whose secret may sign a callback on the path it came to.
pub(super) struct Signer {
    /// The platform its logins are on.
    pub(super) platform: String,
    /// Its app secret.
    pub(super) secret: ClientSecret,
    /// The app's own credentials (`pcr_...`); `None`: the deployment's.
    pub(super) by: Option<String>,
}

/// The Meta apps a callback to this path may come from: with `credential_ref`, those
/// credentials and the app's other Meta credentials with the same client id (one Meta app
/// set up for `facebook` and `instagram_facebook` shares its callback URLs; 404 when there
/// are none of a Meta platform, whatever the reason);
/// without, every Meta platform the deployment configures.
pub(super) async fn signers(ctx: &Ctx, credential_ref: Option<&str>) -> ApiResult<Vec<Signer>> {
    let Some(r) = credential_ref else {
        return Ok(META_PLATFORMS
            .iter()
            .filter_map(|id| {
                let creds = ctx.catalog.get(id).and_then(|p| ctx.credentials(p))?;
                Some(Signer { platform: (*id).to_string(), secret: creds.client_secret, by: None })
            })
            .collect());
    };
    let found = webhook_signers(ctx, r, &META_PLATFORMS).await?;
    if found.is_empty() {
        return Err(ApiError::not_found("route"));
    }
    Ok(found
        .into_iter()
        .map(|s| Signer { platform: s.platform, secret: s.secret, by: Some(s.credential_ref) })
        .collect())
}

/// The signers whose secret verifies the body's `signed_request`, with the request. Every
/// signer is tried (no early exit), each compared in constant time. Only a fresh callback
/// counts (see `is_fresh_callback`): a replayed one, or a login's signed request signed with
/// the same secret, is refused like a bad signature.
fn verified<'s>(ctx: &Ctx, signers: &'s [Signer], body: &[u8]) -> Vec<(&'s Signer, SignedRequest)> {
    let Some(raw) = signed_request_of_form(body) else { return vec![] };
    let mut out = Vec::new();
    for s in signers {
        if let Some(req) = verify_signed_request(&raw, s.secret.secret()) {
            if is_fresh_callback(&req, ctx.now()) {
                out.push((s, req));
            }
        }
    }
    out
}

/// When the user acted, as the request says (it is fresh, so it says).
fn event_at(ctx: &Ctx, req: &SignedRequest) -> i64 {
    req.issued_at.unwrap_or(ctx.now())
}

/// `POST /platform-webhooks/meta/deauthorize` (the deployment's apps) and
/// `POST /platform-webhooks/meta/apps/{credential_ref}/deauthorize` (an app's own): the user
/// removed the app. 200 once verified (also for a login we do not hold, and for a repeat);
/// 401 otherwise; 404 for credentials that are not there.
pub async fn deauthorize(ctx: &Ctx, credential_ref: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    let signers = signers(ctx, credential_ref).await?;
    let hits = verified(ctx, &signers, body);
    if hits.is_empty() {
        return Err(unauthorized());
    }
    for (s, req) in &hits {
        revoke_login(ctx, &s.platform, &req.user_id, event_at(ctx, req), s.by.as_deref()).await?;
    }
    respond::json(200, &object!("ok": true))
}

/// `POST /platform-webhooks/meta/data-deletion` (the deployment's apps) and
/// `POST /platform-webhooks/meta/apps/{credential_ref}/data-deletion` (an app's own): the
/// user asked Meta to have their data deleted. Deletes, then answers `{url,
/// confirmation_code}`; a repeated request gets the same code (the status page keeps what
/// the first one deleted). The status page is the deployment's for every app: a code names
/// one request and nothing else.
pub async fn data_deletion(ctx: &Ctx, credential_ref: Option<&str>, body: &[u8]) -> ApiResult<Response> {
    let signers = signers(ctx, credential_ref).await?;
    let hits = verified(ctx, &signers, body);
    let Some((first, req)) = hits.first() else { return Err(unauthorized()) };
    let mut deleted = 0;
    for (s, r) in &hits {
        deleted += delete_login(ctx, &s.platform, &r.user_id, event_at(ctx, r), s.by.as_deref()).await?;
    }
    // Its own key, stored once: the same request gets the same code across key rotations.
    // An app's own Meta app numbers its users apart from the deployment's: the credentials
    // are part of what the code is for, so two apps' users never share a code.
    let key = crate::sealed_secrets::deletion_code_key(ctx).await?;
    let scope = match &first.by {
        Some(r) => format!("{r}|{}", first.platform),
        None => first.platform.clone(),
    };
    let code = confirmation_code(&key, &scope, &req.user_id, req.issued_at);
    store::record_deletion(&ctx.db()?, &code, &first.platform, deleted as i64, ctx.now())
        .exec("deletion record")
        .await?;
    respond::json(
        200,
        &object!(
            "url": format!("{}/platform-webhooks/meta/deletion-status/{}", ctx.public_url, code),
            "confirmation_code": code,
        ),
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
    let msgs = crate::pages::messages(ctx, ctx.page_lang(None)).await;
    respond::page(200, deletion_status_page(&msgs, code, n, &rfc3339(at)), &msgs)
}
