//! `GET /console/activity`: the searchable, paged history (`store::search_activity`): one
//! D1 statement per page (the page's rows and one more, to know whether an older page
//! exists), paged by id (`before=`), the search kept in the paging links.

use super::{notice, page, Fields, Signed};
use crate::ctx::Ctx;
use crate::store;
use connect_links_core::console::activity::{activity_body, Search, PAGE_ROWS};
use connect_links_core::console::layout::Nav;
use connect_links_core::error::ApiResult;
use worker::Response;

/// The history, newest first, [`PAGE_ROWS`] a page.
pub async fn list(ctx: &Ctx, signed: &Signed, q: &Fields) -> ApiResult<Response> {
    let own = |name: &str| q.get(name).map(str::to_string);
    let search = Search {
        app: own("app"),
        platform: own("platform"),
        kind: own("kind"),
        outcome: own("outcome"),
        profile: own("profile"),
        text: own("q"),
    };
    // A `before` that is no number is no page: the newest.
    let before_id = q.get("before").and_then(|b| b.parse().ok());
    let mut rows = store::search_activity(&ctx.db()?, &search, before_id, PAGE_ROWS + 1).await?;
    let older = (rows.len() > PAGE_ROWS as usize).then(|| {
        rows.truncate(PAGE_ROWS as usize);
        rows.last().map_or(0, |r| r.id)
    });
    page(signed, "Activity", Nav::Activity, notice(q).as_ref(), activity_body(&search, &rows, older))
}
