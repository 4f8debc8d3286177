//! The lease on a grant, as the domain sees it: how long one is held, how long a lease left
//! unreleased keeps its doubt, and what a refresh reads under it. The statements are
//! `store::leases`'.

use crate::ctx::Ctx;
use crate::store::{self, Leased, ReadUnder, Stmt};
use connect_links_core::error::ApiResult;
use connect_links_core::refresh_policy::{RefreshMode, TokenTimes};
use connect_links_core::storage::write_retry_budget_ms;

pub(super) use crate::store::CHECK_LEASE_PREFIX;

/// How long a lease is held at most: past two platform timeouts (the call and its
/// webhook), so it never runs out under a live refresh; a worker that dies mid-refresh
/// frees it by expiry.
pub(super) fn lease_secs(ctx: &Ctx) -> i64 {
    2 * (ctx.timeout_ms() as i64 / 1000) + 30
}

/// How long past the end of a refresh lease left unreleased its holder may still store: a
/// whole lease more (its call, its webhook, a stalled D1), and the write's retries. Until
/// then, an answer that the grant is dead proves nothing (the holder may still be out with
/// the rotated tokens, and store them).
pub(super) fn suspect_secs(ctx: &Ctx) -> i64 {
    lease_secs(ctx) + (write_retry_budget_ms() as i64 + 999) / 1000
}

/// Frees a refresh lease, optionally moving `next_refresh_at`.
pub(super) async fn release(ctx: &Ctx, id: &str, lease: &str, next: Option<i64>) -> ApiResult<()> {
    let db = ctx.db()?;
    store::release_lease(&db, id, lease, next).exec("release").await
}

impl Leased {
    /// The grant's id.
    pub(super) fn id(&self) -> &str {
        &self.grant.id
    }
    /// Its app's id.
    pub(super) fn app_id(&self) -> &str {
        &self.grant.app_id
    }
    /// Its app's refresh mode, as the lease read it.
    pub(super) fn mode(&self) -> RefreshMode {
        RefreshMode::from_stored(&self.cols.refresh_mode)
    }
    /// The stored token times, as the schedule reads them.
    pub(super) fn times(&self) -> TokenTimes {
        TokenTimes {
            issued_at: self.cols.token_issued_at,
            access_expires_at: self.grant.access_token_expires_at,
            refresh_expires_at: self.cols.refresh_token_expires_at,
            has_refresh_token: self.cols.refresh_token_enc.is_some(),
        }
    }
    /// What this refresh read under `lease`, the guard of its writes.
    #[inline]
    pub(super) fn read_under<'a>(&'a self, lease: &'a str) -> ReadUnder<'a> {
        ReadUnder {
            lease,
            access_enc: &self.cols.access_token_enc,
            refresh_enc: self.cols.refresh_token_enc.as_deref(),
            mode: &self.cols.refresh_mode,
        }
    }
}
