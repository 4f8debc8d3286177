//! How many forms a chooser link takes: each post that passed the browser checks counts,
//! before anything is tried at a platform, so one browser cannot try app passwords, API keys
//! or instances without end through the worker.

use crate::ctx::Ctx;
use crate::store;
use connect_links_core::error::{ApiError, ApiResult, ErrorCode};

/// Posted forms a chooser link takes in all: a user who chooses, goes back and mistypes a
/// password a few times stays far below it.
pub const CHOICE_ATTEMPTS: u32 = 10;

/// Counts this post on the link; past [`CHOICE_ATTEMPTS`], 429 and nothing else happens.
pub async fn count(ctx: &Ctx, link_id: &str) -> ApiResult<()> {
    if store::count_choice_attempt(&ctx.db()?, link_id, CHOICE_ATTEMPTS).await? {
        return Ok(());
    }
    Err(ApiError::new(ErrorCode::RateLimited, "Too many tries on this connect link. Ask the app for a new link."))
}
