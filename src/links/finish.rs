//! The browser's answer once a connect ran, from the hosted callback or the picker's form:
//! the picker page (with its policy and cookie), or the final redirect to the app.

use crate::error::OrInternal;
use crate::grants::land::Connected;
use crate::respond;
use connect_links_core::callback::{final_redirect, CallbackFailure, Ending};
use connect_links_core::error::{ApiError, ApiResult};
use connect_links_core::model::LinkRow;
use worker::Response;

/// The answer to the browser once a connect ran: the picker page, or the final redirect.
pub fn finish_in_browser(link: &LinkRow, outcome: Result<Connected, CallbackFailure>) -> ApiResult<Response> {
    let ending = match &outcome {
        Ok(Connected::Choose { page, policy, cookie, lang }) => {
            let mut resp = respond::html_with_policy(200, page.clone(), policy)?;
            resp.headers_mut().set("set-cookie", cookie).or_500("choice cookie")?;
            resp.headers_mut().set("content-language", lang).or_500("content-language")?;
            return Ok(resp);
        }
        Ok(Connected::Done { profile_ids, connect_token, .. }) => {
            Ending::Connected { profile_ids, connect_token: connect_token.as_ref().map(|t| t.secret()) }
        }
        Err(f) => Ending::Failed(*f),
    };
    let location = final_redirect(&link.redirect_url, &link.platform, &link.id, link.app_state.as_deref(), ending)
        .ok_or_else(ApiError::internal)?;
    respond::redirect(&location)
}
