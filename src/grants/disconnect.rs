//! Disconnecting a grant, or a profile, whose token the platform declared dead: the grant
//! and the profiles acting with its token end in one batch with one `profile.disconnected`
//! each, and only while the token is still the one found dead (a reconnect that stored a
//! fresh one meanwhile keeps them alive). After a refresh ([`disconnect`]) or a liveness
//! check ([`end_checked`]).

use super::lease::release;
use crate::ctx::Ctx;
use crate::events::Batch;
use super::history::Said;
use crate::store::{self, Leased, NewActivity, When};
use connect_links_core::error::ApiResult;
use connect_links_core::model::ProfileRow;
use connect_links_core::refresh::DisconnectReason;
use connect_links_core::webhook::types;

/// Marks the grant disconnected, with its profiles, and tells the app (one event per
/// profile), in one batch: once, only while its tokens are still the ones this refresh sent
/// (a reconnect or another refresh that stored meanwhile keeps it alive), and only while this
/// refresh still holds its lease (a refresh whose lease ran out and was taken over may have
/// been answered `invalid_grant` because the new holder's call spent the token first, its
/// rotated tokens not stored yet). A dead grant ends every profile under it; an expired one
/// only those acting with its token. Whether it was disconnected now.
///
/// The console's history gets, in the same batch and only when the grant changed, the
/// refresh's row (`refreshed`: the answer that ended it; `None` for an expiry) and one
/// `disconnected` row per profile ended.
pub(super) async fn disconnect(
    ctx: &Ctx,
    row: &Leased,
    lease: &str,
    reason: DisconnectReason,
    refreshed: Option<&Said>,
) -> ApiResult<bool> {
    let db = ctx.db()?;
    let now = ctx.now();
    let own_token_too = reason != DisconnectReason::TokenExpired;
    let update = store::disconnect_grant_stmt(&db, row.id(), reason.as_str(), now, &row.read_under(lease))?;
    let profiles = store::profiles_of_grant(&db, row.id(), own_token_too).await?;
    let ended = store::disconnect_profiles_stmt(&db, row.id(), reason.as_str(), now, own_token_too)?;
    let ids: Vec<&str> = profiles.iter().map(|(p, _)| p.id.as_str()).collect();
    let gone = NewActivity {
        at: now,
        app_id: row.app_id(),
        platform: &row.grant.platform,
        grant_id: Some(row.id()),
        kind: "disconnected",
        outcome: reason.as_str(),
        detail: Some(if refreshed.is_some() { "the platform refused the refresh" } else { "the token expired" }),
        ..NewActivity::default()
    };
    let mut batch = Batch::new(ctx, &db);
    batch.push(update);
    if let Some(said) = refreshed {
        batch.push(store::activity_rows_stmt(&db, &said.refresh(ctx, row, "disconnected"), &[], When::IfChanged)?);
    }
    batch.push(ended);
    if !ids.is_empty() {
        batch.push(store::activity_rows_stmt(&db, &gone, &ids, When::IfChanged)?);
    }
    let views = profiles.into_iter().map(|(p, _)| p.ended(reason.as_str(), now).view()).collect();
    batch.events(row.app_id(), types::DISCONNECTED, views)?;
    let results = batch.commit().await?;
    // The proxy's kept profile rows may hold this grant's (a disconnect in a proxied call).
    crate::isolate::forget_profiles();
    // When the tokens changed meanwhile, the grant stays as it is; just free the lease.
    release(ctx, row.id(), lease, None).await?;
    Ok(store::returned_rows(&results, 0))
}

/// A dead token found by a liveness check of profile `p`: a profile's own token
/// (`own_token`) ends that profile; a grant's token ends grant `grant_id` and every profile
/// acting with it (as a refresh does), one `profile.disconnected` each, in one batch.
///
/// Only while the token is still `token_enc`, the one checked: a reconnect that stored a
/// fresh one while the call was out (a reconnect takes no lease) keeps the profile alive.
pub(super) async fn end_checked(
    ctx: &Ctx,
    p: &ProfileRow,
    grant_id: &str,
    token_enc: &str,
    own_token: bool,
    reason: DisconnectReason,
) -> ApiResult<()> {
    let db = ctx.db()?;
    let now = ctx.now();
    let ended: Vec<ProfileRow> = if own_token {
        vec![p.clone()]
    } else {
        store::profiles_of_grant(&db, grant_id, false).await?.into_iter().map(|(q, _)| q).collect()
    };
    let mut batch = Batch::new(ctx, &db);
    if !own_token {
        batch.push(store::end_checked_grant_stmt(&db, grant_id, reason.as_str(), now, token_enc)?);
    }
    for q in ended {
        batch.push(store::end_checked_profile_stmt(&db, &q.id, reason.as_str(), now, own_token, token_enc, grant_id)?);
        let gone = NewActivity {
            grant_id: Some(grant_id),
            ..NewActivity::of_profile(&q, now, "disconnected", reason.as_str(), "a liveness check found the token dead")
        };
        // Only when the profile ended now; the event's guard follows it.
        batch.push(store::activity_rows_stmt(&db, &gone, &[], When::IfChanged)?);
        let view = q.ended(reason.as_str(), now).view();
        batch.event(&p.app_id, types::DISCONNECTED, view)?;
    }
    batch.commit().await?;
    // As after any disconnect (a liveness check inside a proxied call, or mid-cron).
    crate::isolate::forget_profiles();
    Ok(())
}
