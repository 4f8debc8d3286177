//! The landing itself: the grant and the chosen accounts stored as profiles of the app, the
//! profiles of accounts the platform no longer lists ended, and the link ended, in one batch.

use super::outcome::{Connected, Finish, Offered};
use super::seen::{read_seen, Seen};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::jobs::webhooks;
use crate::store::{self, GrantWrite, LinkEnd, Shared};
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::landing::{placement, ProfileWrite};
use connect_links_core::model::{LinkRow, ProfileRow};
use connect_links_core::ownership::{new_connect_token, Placement, CLAIM_TTL_SECS};
use connect_links_core::picker::Choice;
use connect_links_core::platforms::Platform;
use connect_links_core::random::new_id;
use connect_links_core::refresh_policy::{next_action_at, RefreshMode, TokenTimes};
use connect_links_core::webhook::types;

/// Stores the grant and the chosen accounts as profiles of this app, disconnects the
/// profiles of accounts the platform no longer lists (`account_removed`), and ends the link,
/// in one batch (with the events, when the link completes now). An account keeps its profile
/// id; its owner never changes (see `ownership::place`); a missing refresh token in the
/// answer keeps the stored one; any refresh lease is cleared, so a refresh in flight with
/// the old grant can neither overwrite the new tokens nor disconnect the profiles. Every
/// conditional write is followed by an assertion, so a race rolls the whole batch back and
/// the loop reads again. `fresh` is a read the caller just made; `mode` the app's refresh
/// mode when the caller holds the app (each saves a D1 read).
#[allow(clippy::too_many_arguments)]
pub async fn store_accounts(
    ctx: &Ctx,
    platform: &Platform,
    link: &LinkRow,
    choice: &Choice,
    chosen: &[String],
    finish: Finish,
    mut fresh: Option<Seen>,
    mode: Option<RefreshMode>,
) -> ApiResult<Result<Connected, CallbackFailure>> {
    let db = ctx.db()?;
    let keyring = ctx.keyring()?;
    let accounts: Vec<&Account> = choice.accounts.iter().filter(|a| chosen.contains(&a.platform_user_id)).collect();
    let ids: Vec<String> = accounts.iter().map(|a| a.platform_user_id.clone()).collect();
    // The grant's first schedule follows the app's refresh mode (read here unless the caller
    // holds the app).
    let mode = match mode {
        Some(m) => m,
        None => store::app_refresh_mode(&db, &link.app_id).await?,
    };
    for _ in 0..3 {
        // Read again on every attempt but a first that comes with a fresh read (a picker may
        // have been open for minutes; a retry follows a race).
        let seen = match fresh.take() {
            Some(s) => s,
            None => match read_seen(ctx, link, &choice.login.platform_user_id, &ids).await? {
                Ok(s) => s,
                Err(f) => return Ok(Err(f)),
            },
        };
        let Seen { existing, owner, grant } = seen;
        let now = ctx.now();
        let grant_id = match &grant {
            Some((g, _)) => g.id.clone(),
            None => new_id("grn_")?,
        };
        let access_enc = keyring.seal(&grant_id, "access_token", &choice.access_token).or_500("seal")?;
        let stored_refresh = grant.as_ref().and_then(|(_, t)| t.refresh_token_enc.as_deref());
        let refresh_enc = match (&choice.refresh_token, stored_refresh) {
            (Some(rt), _) => Some(keyring.seal(&grant_id, "refresh_token", rt).or_500("seal")?),
            // Keep the stored one, moved under the current key so the row has one key id.
            (None, Some(old)) if Keyring::kid_of(old) == Some(keyring.current_kid()) => Some(old.to_string()),
            (None, Some(old)) => {
                let plain = keyring.open(&grant_id, "refresh_token", old).or_500("open refresh token")?;
                Some(keyring.seal(&grant_id, "refresh_token", &plain).or_500("seal")?)
            }
            (None, None) => None,
        };
        // Lifetimes count from the token answer, not from the picker's submission.
        let issued = if choice.issued_at > 0 { choice.issued_at } else { now };
        let expires_at = choice.expires_in.or(platform.default_access_ttl_secs).map(|s| issued + s);
        let refresh_expires_at = choice.refresh_expires_in.map(|s| issued + s);
        // The schedule counts from the same moment as the stored times: a second between the
        // answer and this write would otherwise shorten the computed lead.
        let times = TokenTimes {
            issued_at: issued,
            access_expires_at: expires_at,
            refresh_expires_at,
            has_refresh_token: refresh_enc.is_some(),
        };
        let next = next_action_at(mode, platform.refresh, platform.refresh_idle_secs, &times);
        let scopes = serde_json::to_string(&choice.scopes).or_500("scopes json")?;
        let write = GrantWrite {
            id: &grant_id,
            scopes: &scopes,
            access_token_enc: &access_enc,
            refresh_token_enc: refresh_enc.as_deref(),
            token_kid: keyring.current_kid(),
            access_token_expires_at: expires_at,
            refresh_token_expires_at: refresh_expires_at,
            token_issued_at: issued,
            next_refresh_at: next,
            instance: platform.instance.as_deref(),
            now,
        };
        let grant_write = match &grant {
            Some((_, old)) => store::grant_update_stmt(&db, &write, &old.access_token_enc, crate::ctx::now_ms())?,
            None => {
                store::grant_insert_stmt(&db, &write, &link.app_id, &link.platform, &choice.login.platform_user_id)?
            }
        };
        let mut stmts = vec![grant_write, store::assert_changed_stmt(&db)?];
        // Profiles under the grant that this connect does not touch still follow it.
        stmts.push(store::copy_grant_to_profiles_stmt(&db, &grant_id, now)?);
        let mut events = Vec::new();
        let (mut profile_ids, mut kinds, mut views, mut moved_from) = (vec![], vec![], vec![], vec![]);
        let (mut inserts, mut updates) = (vec![], vec![]);
        // Which profile each connected account became (by platform account id).
        let mut became: Vec<(String, String)> = vec![];
        for a in &accounts {
            let found = existing.iter().find(|p| p.platform_user_id == a.platform_user_id);
            let login_grant = grant.as_ref().map(|(g, _)| g.id.as_str());
            let (id, take_over) = match placement(found, link, owner.as_deref(), login_grant) {
                Placement::New => (new_id("prf_")?, false),
                Placement::Update(id) => (id, false),
                Placement::TakeOverPending(id) => (id, true),
                // Owned elsewhere since it was offered: left out.
                Placement::ConnectedElsewhere | Placement::WrongAccount => continue,
            };
            let was_pending = found.is_none_or(|p| p.status == "pending");
            let (status, claim_link) = match finish {
                Finish::AwaitClaim if was_pending => ("pending", Some(link.id.as_str())),
                _ => ("active", None),
            };
            let own_enc = match &a.own_token {
                Some(t) => Some(keyring.seal(&id, "access_token", t).or_500("seal")?),
                None => None,
            };
            let own_kid = own_enc.as_ref().map(|_| keyring.current_kid().to_string());
            // An account's own token (a Page's) does not expire with the login's.
            let profile_expiry = if own_enc.is_some() { None } else { expires_at };
            // A token that never expires is never refreshed: its liveness is checked instead.
            let next_check = profile_expiry.is_none().then(|| crate::jobs::liveness::first_check_at(ctx, now));
            let parent = match &a.parent {
                Some(p) => Some(serde_json::to_string(p).or_500("parent json")?),
                None => None,
            };
            let owner_after = match found {
                Some(o) if !take_over => o.external_user_id.clone(),
                _ => link.external_user_id.clone(),
            };
            let metadata_after = match found {
                Some(o) if !take_over => link.metadata.clone().or_else(|| o.metadata.clone()),
                _ => link.metadata.clone(),
            };
            if let Some(old) = found {
                if old.grant_id != grant_id {
                    moved_from.push(old.grant_id.clone());
                }
            }
            let write = ProfileWrite {
                id: id.clone(),
                account_type: a.account_type.as_str(),
                platform_user_id: a.platform_user_id.clone(),
                parent: parent.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                external_user_id: owner_after.clone(),
                metadata: metadata_after.clone(),
                status,
                claim_link_id: claim_link.map(str::to_string),
                access_token_enc: own_enc,
                token_kid: own_kid,
                access_token_expires_at: profile_expiry,
                next_check_at: next_check,
                old_owner: found.and_then(|o| o.external_user_id.clone()),
                old_status: found.map(|o| o.status.clone()),
            };
            match found {
                Some(_) => updates.push(write),
                None => inserts.push(write),
            }
            // A never-claimed profile is new to whoever claims it.
            let kind = if was_pending { types::CONNECTED } else { types::RECONNECTED };
            let after = ProfileRow {
                id: id.clone(),
                app_id: link.app_id.clone(),
                platform: link.platform.clone(),
                account_type: a.account_type.as_str().into(),
                grant_id: grant_id.clone(),
                parent,
                platform_user_id: a.platform_user_id.clone(),
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                avatar_url: a.avatar_url.clone(),
                external_user_id: owner_after,
                metadata: metadata_after,
                status: status.to_string(),
                disconnect_reason: None,
                scopes: scopes.clone(),
                access_token_expires_at: profile_expiry,
                last_refreshed_at: found.and_then(|o| o.last_refreshed_at),
                created_at: found.map_or(now, |o| o.created_at),
                updated_at: now,
                claim_link_id: None,
                last_platform_event_at: found.and_then(|o| o.last_platform_event_at),
                instance: platform.instance.clone(),
            };
            became.push((a.platform_user_id.clone(), id.clone()));
            profile_ids.push(id);
            kinds.push(kind);
            views.push(after.view());
        }
        if profile_ids.is_empty() {
            return Ok(Err(CallbackFailure::AccountConnectedElsewhere));
        }
        let shared = Shared {
            app_id: &link.app_id,
            grant_id: &grant_id,
            platform: &link.platform,
            scopes: &scopes,
            now,
            instance: platform.instance.as_deref(),
        };
        stmts.extend(store::profile_inserts(&db, &shared, &inserts)?);
        stmts.extend(store::profile_updates(&db, &shared, &updates)?);
        // Accounts the platform no longer lists for this login: their profiles end (only when
        // the listing was whole: one cut at its page limit proves nothing).
        if grant.is_some() && choice.listed_complete {
            let removed: Vec<ProfileRow> = store::profiles_of_grant(&db, &grant_id, true)
                .await?
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| !choice.listed.contains(&p.platform_user_id))
                .collect();
            let ids: Vec<String> = removed.iter().map(|p| p.id.clone()).collect();
            stmts.extend(store::profile_removals(&db, &grant_id, &ids, now)?);
            let ended =
                removed.into_iter().map(|p| (types::DISCONNECTED, p.ended("account_removed", now).view())).collect();
            webhooks::push_event_rows(ctx, &db, &link.app_id, ended, &mut stmts, &mut events)?;
        }
        let token = match finish {
            Finish::Now => None,
            Finish::AwaitClaim => Some(new_connect_token()?),
        };
        let end = match &token {
            None => LinkEnd::Completed(&profile_ids),
            Some((_, hash)) => LinkEnd::AwaitingClaim {
                profile_ids: &profile_ids,
                events: &kinds,
                token_hash: hash,
                until: now + CLAIM_TTL_SECS,
            },
        };
        // The row that held the grant until now (a picker's choice, or [`hold`]'s) goes with it.
        stmts.push(store::drop_choice_stmt(&db, &link.id)?);
        stmts.push(store::end_link_stmt(&db, &link.id, &end, now)?);
        stmts.push(store::assert_changed_stmt(&db)?);
        if finish == Finish::Now {
            let told = kinds.iter().copied().zip(views).collect();
            webhooks::push_event_rows(ctx, &db, &link.app_id, told, &mut stmts, &mut events)?;
        }
        moved_from.sort();
        moved_from.dedup();
        let orphans_at = stmts.len();
        stmts.push(store::orphan_grants_stmt(&db, &serde_json::to_string(&moved_from).or_500("ids json")?)?);
        match db.batch(stmts).await {
            Ok(results) => {
                webhooks::deliver_now(ctx, &events.iter().map(String::as_str).collect::<Vec<_>>()).await;
                // A Page moved here from another login's grant may have left that grant unused.
                let orphans = store::deleted_grants(&results, orphans_at)?;
                if !orphans.is_empty() {
                    let job_ctx = ctx.detached();
                    ctx.after_answer(async move {
                        for (g, cols) in orphans {
                            crate::api::profiles::revoke_grant(&job_ctx, &g, &cols).await;
                        }
                    })
                    .await;
                }
                let offered = choice
                    .accounts
                    .iter()
                    .map(|a| Offered {
                        account: Account { own_token: None, ..a.clone() },
                        profile_id: became.iter().find(|(acc, _)| acc == &a.platform_user_id).map(|(_, p)| p.clone()),
                    })
                    .collect();
                return Ok(Ok(Connected::Done { profile_ids, connect_token: token.map(|(t, _)| t), offered }));
            }
            // A race (a racing callback, a claim, a refresh): read again.
            Err(e) if store::is_race(&e.to_string()) => {}
            Err(e) => return Err(e).or_500("store accounts"),
        }
    }
    Ok(Err(CallbackFailure::ServerError))
}
