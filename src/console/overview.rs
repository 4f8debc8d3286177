//! `GET /console`: the overview (profiles by platform and status; refreshes, proxied calls,
//! webhook deliveries and platform events as charts).

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use connect_links_core::console::layout::Nav;
use connect_links_core::error::ApiResult;
use maud::html;
use worker::Response;

/// The overview page.
pub async fn show(_ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    page(signed, "Overview", Nav::Overview, notice(q).as_ref(), html! { p { "Welcome." } })
}
