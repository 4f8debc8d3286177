//! `GET /console/profiles` (search) and `/console/profiles/{id}`, and the profile page's
//! forms (refresh now, a reconnect link, disconnect).

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use connect_links_core::console::layout::Nav;
use connect_links_core::error::{ApiError, ApiResult};
use maud::html;
use worker::Response;

/// The profile search.
pub async fn search(_ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    page(signed, "Profiles", Nav::Profiles, notice(q).as_ref(), html! { p { "No profiles yet." } })
}

/// One profile.
pub async fn show(_ctx: &Ctx, _signed: &Signed, _q: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("profile"))
}

/// Refreshes the profile's grant now.
pub async fn refresh(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("profile"))
}

/// Creates a reconnect link for the profile (shown on the answer's page).
pub async fn reconnect(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("profile"))
}

/// Disconnects the profile.
pub async fn disconnect(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("profile"))
}
