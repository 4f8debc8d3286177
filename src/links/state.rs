//! The pending state of a link's consent, taken exactly once: looked up (with its sealed
//! verifier opened) before anything is spent, then consumed in D1 so a second callback or
//! exchange with the same state loses.

use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::store;
use connect_links_core::error::ApiResult;
use connect_links_core::state::{state_key, OpenedAuth, PendingAuth};

/// Why a state could not be taken.
#[derive(Debug, PartialEq, Eq)]
pub enum StateProblem {
    /// Not in KV: never issued, expired from KV, or already consumed.
    Unknown,
    /// Still in KV but older than ten minutes.
    Expired,
    /// Already consumed (lost the D1 race).
    Replayed,
}

/// Looks up a state without consuming it, and opens its sealed verifier.
pub async fn peek_state(ctx: &Ctx, state: &str) -> ApiResult<Result<OpenedAuth, StateProblem>> {
    let key = state_key(state);
    let raw = ctx.kv()?.get(&key).text().await.or_500("kv get state")?;
    let Some(sealed) = raw.and_then(|r| connect_links_core::stored_json::from_slice::<PendingAuth>(r.as_bytes()).ok()) else {
        return Ok(Err(StateProblem::Unknown));
    };
    // A record whose verifier does not open (forged, or under a removed key) is no state.
    let pending = match sealed.open(&*ctx.keyring()?, &key) {
        Ok(p) => p,
        Err(_) => return Ok(Err(StateProblem::Unknown)),
    };
    if !pending.is_fresh(ctx.now()) {
        return Ok(Err(StateProblem::Expired));
    }
    Ok(Ok(pending))
}

/// Consumes a state exactly once (recorded in D1) and drops it from KV.
pub async fn consume_state(ctx: &Ctx, state: &str, pending: &OpenedAuth) -> ApiResult<Result<(), StateProblem>> {
    let key = state_key(state);
    if !store::consume_state(&ctx.db()?, &key, &pending.link_id, ctx.now()).await? {
        return Ok(Err(StateProblem::Replayed));
    }
    // Best effort: D1 already refuses a second use.
    let _ = ctx.kv()?.delete(&key).await;
    Ok(Ok(()))
}
