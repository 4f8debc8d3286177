//! `GET /console`: the overview (profiles by platform and status; refreshes, proxied calls,
//! webhook deliveries and platform events as charts), from one batch of reads.

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use crate::store;
use connect_links_core::console::layout::Nav;
use connect_links_core::console::overview::overview_body;
use connect_links_core::error::ApiResult;
use worker::Response;

/// The overview page.
pub async fn show(ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    let counts = store::overview_counts(&ctx.db()?, ctx.now()).await?;
    page(signed, "Overview", Nav::Overview, notice(q).as_ref(), overview_body(&counts))
}
