//! `POST /connect/{id}/accounts`: the account picker's form. The choice it ends
//! was sealed in D1 by the callback; only the browser that got the page (its cookie), with
//! the page's one-time form token, from this site, within ten minutes, can make it.

use crate::ctx::Ctx;
use crate::grants::land::{store_accounts, ConnectError, Connected, FreshGrant};
use crate::links::choices::{row_after_error, take};
use crate::links::end::end_failed;
use crate::links::finish::finish_in_browser;
use crate::store;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::LinkStatus;
use connect_links_core::pages::brand_of;
use connect_links_core::picker::{chosen, cookie_value};
use worker::Response;

fn refused(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, message)
}

/// Takes the choice once and connects the chosen accounts; then the final redirect.
/// `site` is the browser's `Sec-Fetch-Site`; `cookie` its `Cookie` header.
pub async fn submit(
    ctx: &Ctx,
    link_id: &str,
    site: Option<&str>,
    cookie: Option<&str>,
    body: &[u8],
) -> ApiResult<Response> {
    // A form posted from another site is refused before anything else (login CSRF).
    if matches!(site, Some("cross-site" | "same-site")) {
        return Err(refused("The account choice was submitted from another site."));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let token = form.iter().find(|(k, _)| k == "form_token").map(|(_, v)| v.as_str()).unwrap_or_default();
    let browser = cookie_value(cookie).unwrap_or_default();
    let db = ctx.db()?;
    let link = store::get_link(&db, link_id).await?.ok_or_else(|| ApiError::not_found("connect link"))?;
    if let Some(app) = store::get_app(&db, &link.app_id).await? {
        ctx.hint_page(link.locale.as_deref(), brand_of(&app));
    }
    if link.status_at(ctx.now()) != LinkStatus::Pending || link.status != LinkStatus::Choosing {
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "This account choice has expired or was already made. Start again from the app.",
        ));
    }
    if token.is_empty() || browser.is_empty() {
        return Err(refused("This account choice does not come from the page this browser was shown."));
    }
    // One use: whoever unbinds the row makes the choice; a wrong token or cookie changes
    // nothing.
    let (choice, finish) = take(ctx, &link, token, browser).await?.ok_or_else(|| {
        refused("This account choice does not come from the page this browser was shown, or was already made.")
    })?;
    let platform = ctx.platform_at(&link.platform, link.instance.as_deref()).ok_or_else(ApiError::internal)?;
    let platform = &platform;
    let picked: Vec<String> = chosen(&choice.accounts, &form).iter().map(|a| a.platform_user_id.clone()).collect();
    // A failure, and whether the row still holds the grant (so it is to be revoked).
    let outcome = if picked.is_empty() {
        // Nothing chosen: the user declined after all; the grant is nobody's.
        Err((CallbackFailure::AccessDenied, true))
    } else {
        match store_accounts(ctx, platform, &link, &choice, &picked, finish, None, None).await {
            Ok(done) => Ok(done),
            Err(ConnectError::Failed(f)) => Err((f, true)),
            // A storage error: D1 may have committed the batch all the same. The row that
            // held the grant is gone only then (the batch deletes it); not known, the row,
            // if any, is the cron's.
            Err(ConnectError::Api(_)) => {
                Err((CallbackFailure::ServerError, matches!(row_after_error(ctx, &link.id).await, Ok(Some(_)))))
            }
        }
    };
    let outcome: Result<Connected, CallbackFailure> = match outcome {
        Ok(done) => Ok(done),
        Err((failure, held)) => {
            // The grant the row still holds is revoked where that ends no other grant.
            let grant = held.then(|| FreshGrant::of_choice(platform, &link.app_id, &choice));
            end_failed(ctx, &link, failure, grant).await;
            Err(failure)
        }
    };
    finish_in_browser(&link, outcome)
}
