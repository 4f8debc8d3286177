//! Expired account-choice rows: a picker nobody submitted, or a row that held a connect's
//! grant until its accounts landed and was left behind (a revocation that did not settle, an
//! isolate that died). The grant a row holds is revoked before the row goes, so the grant is
//! never live at the platform with no row; a revocation that does not settle is tried again.

use crate::ctx::Ctx;
use crate::grants::land::FreshGrant;
use crate::respond::object;
use crate::store::{self, ExpiredChoice, Stmt};
use connect_links_core::error::ApiResult;
use connect_links_core::ownership::may_revoke;
use connect_links_core::picker::{Choice, CHOICE_FIELD};
use connect_links_core::platforms::Platform;
use connect_links_core::random::unit;
use connect_links_core::refresh::backoff;
use worker::D1Database;

/// Rows revoked per run.
const BATCH: u32 = 50;
/// Failed revocations of one row before it is given up (logged `choice_revoke_abandoned`):
/// with [`backoff`] between tries (one minute doubling to six hours), half a day to a day.
pub const MAX_REVOKE_TRIES: i64 = 12;

/// Revokes what each expired row holds (where that ends no other grant) and drops the row
/// once that is settled; a row whose revocation did not settle is unbound (no browser can
/// submit it) and tried again after a backoff. Links whose choice is gone are marked
/// `expired`.
pub async fn expire(ctx: &Ctx, db: &D1Database) -> ApiResult<()> {
    let now = ctx.now();
    let due = store::expired_choices(db, now, BATCH).many::<ExpiredChoice>("read unchosen").await?;
    let keyring = ctx.keyring()?;
    for d in due {
        let choice = keyring
            .open(&d.link_id, CHOICE_FIELD, &d.sealed)
            .ok()
            .and_then(|plain| connect_links_core::stored_json::from_slice::<Choice>(plain.as_bytes()).ok());
        let link = store::get_link(db, &d.link_id).await?;
        let app_id = link.as_ref().map(|l| l.app_id.clone()).unwrap_or_default();
        let platform = link.and_then(|l| ctx.platform_at(&l.platform, l.instance.as_deref()).map(|p| p.into_owned()));
        // A row nothing can open, or of a platform no longer configured, holds nothing we
        // could revoke: it goes.
        let settled = match (choice, platform) {
            // Its login unknown (the request died before the identity call told it): where
            // the platform's revoke ends every grant of the account, revoke would skip it,
            // which is no settlement. Kept and tried again, given up at the try limit.
            (Some(choice), Some(platform)) if login_unknown_blocks_revoke(&platform, &choice) => {
                crate::log::info(
                    &object!("event": "choice_revoke_login_unknown", "link_id": d.link_id, "platform": platform.id),
                );
                false
            }
            (Some(choice), Some(platform)) => {
                FreshGrant::of_choice(&platform, &app_id, &choice).revoke(ctx, &d.link_id).await
            }
            _ => true,
        };
        let tries = d.revoke_tries + 1;
        // Only the row as read: one a submit or a connect rewrote since is theirs.
        if settled || tries >= MAX_REVOKE_TRIES {
            if !settled {
                crate::log::error(&object!("event": "choice_revoke_abandoned", "link_id": d.link_id, "tries": tries));
            }
            store::drop_expired_choice(db, &d.link_id, d.expires_at).exec("drop unchosen").await?;
            crate::log::info(&object!("event": "choice_expired", "link_id": d.link_id));
        } else {
            let next = now + backoff(tries as u32, unit());
            store::retry_expired_choice(db, &d.link_id, d.expires_at, next, tries).exec("retry unchosen").await?;
            crate::log::info(
                &object!("event": "choice_revoke_retry", "link_id": d.link_id, "tries": tries, "next_at": next),
            );
        }
    }
    store::expire_unchosen_links(db, now).exec("expire unchosen").await
}

/// Whether `choice` holds a grant of an unknown login that `platform` has a revoke endpoint
/// for but may not revoke without knowing the account (see `ownership::may_revoke`).
fn login_unknown_blocks_revoke(platform: &Platform, choice: &Choice) -> bool {
    choice.login.platform_user_id.is_empty()
        && platform.revoke_url.is_some()
        && !may_revoke(platform.revoke_reach, None, false)
}
