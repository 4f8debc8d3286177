//! `GET /console/apps` and `/console/apps/{id}`, and the app page's forms (create and revoke
//! an API key, send a test event).

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use connect_links_core::console::layout::Nav;
use connect_links_core::error::{ApiError, ApiResult};
use maud::html;
use worker::Response;

/// The list of apps.
pub async fn list(_ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    page(signed, "Apps", Nav::Apps, notice(q).as_ref(), html! { p { "No apps yet." } })
}

/// One app.
pub async fn show(_ctx: &Ctx, _signed: &Signed, _q: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("app"))
}

/// Creates an API key (shown once, on the answer's page).
pub async fn create_key(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("app"))
}

/// Revokes an API key of the app.
pub async fn revoke_key(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str, _key: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("app"))
}

/// Sends a test event to the app's webhook URL.
pub async fn test_event(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("app"))
}
