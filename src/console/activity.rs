//! `GET /console/activity`: the searchable, paged history (`store::search_activity`).

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use connect_links_core::console::layout::Nav;
use connect_links_core::error::ApiResult;
use maud::html;
use worker::Response;

/// The history.
pub async fn list(_ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    page(signed, "Activity", Nav::Activity, notice(q).as_ref(), html! { p { "Nothing yet." } })
}
