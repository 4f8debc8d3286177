//! `GET /console/webhooks` (recent deliveries) and `POST /console/webhooks/{id}/retry`.

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use connect_links_core::console::layout::Nav;
use connect_links_core::error::{ApiError, ApiResult};
use maud::html;
use worker::Response;

/// Recent deliveries.
pub async fn list(_ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    page(signed, "Webhooks", Nav::Webhooks, notice(q).as_ref(), html! { p { "No deliveries yet." } })
}

/// Tries one delivery again now.
pub async fn retry(_ctx: &Ctx, _signed: &Signed, _form: &Fields, _id: &str) -> ApiResult<Response> {
    Err(ApiError::not_found("webhook event"))
}
