//! `POST /connect/{id}/accounts`: the account picker's form (issue 9). The choice it ends
//! was sealed in D1 by the callback; only the browser that got the page (its cookie), with
//! the page's one-time form token, from this site, within ten minutes, can make it.

use crate::api::links::finish_in_browser;
use crate::connect::{choice_after_error, end_failed, store_accounts, Connected, Finish, FreshGrant};
use crate::ctx::{Ctx, OrInternal};
use crate::store;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};
use connect_links_core::model::LinkStatus;
use connect_links_core::picker::{choice_hash, chosen, cookie_value, Choice, CHOICE_FIELD, CHOICE_TTL_SECS};
use serde::Deserialize;
use worker::{query, Response};

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
    if link.status_at(ctx.now()) != LinkStatus::Pending || link.status != LinkStatus::Choosing {
        return Err(ApiError::new(
            ErrorCode::LinkExpired,
            "This account choice has expired or was already made. Start again from the app.",
        ));
    }
    if token.is_empty() || browser.is_empty() {
        return Err(refused("This account choice does not come from the page this browser was shown."));
    }
    #[derive(Deserialize)]
    struct Taken {
        sealed: String,
        finish: String,
    }
    // One use: whoever unbinds the row makes the choice; a wrong token or cookie changes
    // nothing. The row keeps holding the grant until the accounts land (the batch that lands
    // them deletes it) or it is revoked, so a failure never leaves it live with no row; its
    // window starts again, so the cron's expiry pass cannot revoke a grant landing now.
    let taken = query!(
        &db,
        "UPDATE account_choices SET token_hash = '', browser_hash = '', expires_at = ?5 WHERE link_id = ?1 \
         AND token_hash = ?2 AND browser_hash = ?3 AND expires_at > ?4 RETURNING sealed, finish",
        link.id,
        choice_hash(token),
        choice_hash(browser),
        ctx.now(),
        ctx.now() + CHOICE_TTL_SECS
    )
    .or_500("prepare take choice")?
    .first::<Taken>(None)
    .await
    .or_500("take choice")?
    .ok_or_else(|| {
        refused("This account choice does not come from the page this browser was shown, or was already made.")
    })?;
    let choice: Choice = ctx
        .keyring()?
        .open(&link.id, CHOICE_FIELD, &taken.sealed)
        .ok()
        .and_then(|plain| serde_json::from_str(&plain).ok())
        .ok_or_else(ApiError::internal)?;
    let platform = ctx.platform_at(&link.platform, link.instance.as_deref()).ok_or_else(ApiError::internal)?;
    let platform = &platform;
    let picked: Vec<String> = chosen(&choice.accounts, &form).iter().map(|a| a.platform_user_id.clone()).collect();
    // A failure, and whether the row still holds the grant (so it is to be revoked).
    let outcome = if picked.is_empty() {
        // Nothing chosen: the user declined after all; the grant is nobody's.
        Err((CallbackFailure::AccessDenied, true))
    } else {
        match store_accounts(ctx, platform, &link, &choice, &picked, Finish::from_stored(&taken.finish), None, None)
            .await
        {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(f)) => Err((f, true)),
            // A storage error: D1 may have committed the batch all the same. The row that
            // held the grant is gone only then (the batch deletes it); not known, the row,
            // if any, is the cron's.
            Err(_) => {
                Err((CallbackFailure::ServerError, matches!(choice_after_error(ctx, &link.id).await, Ok(Some(_)))))
            }
        }
    };
    let outcome: Result<Connected, CallbackFailure> = match outcome {
        Ok(done) => Ok(done),
        Err((failure, held)) => {
            // The grant the row still holds is revoked where that ends no other grant.
            let grant = held.then(|| FreshGrant::of_choice(platform, &choice));
            end_failed(ctx, &link, failure, grant).await;
            Err(failure)
        }
    };
    finish_in_browser(&link, outcome)
}
