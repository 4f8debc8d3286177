//! The landing itself, read -> plan -> commit: the app's state for the login is read, the
//! plan (`connect_links_core::landing`: token times, where each account lands, each
//! profile's after-state) is made with no I/O, and the commit seals the tokens and writes
//! the grant, the profiles, the profiles of accounts the platform no longer lists, the
//! link's end and the events in one batch.

use super::outcome::{ConnectResult, Connected, Finish, Offered};
use super::seen::{read_seen, Seen};
use crate::ctx::Ctx;
use crate::error::OrInternal;
use crate::events::Batch;
use crate::store::{self, GrantWrite, LinkEnd, NewActivity, Shared, Stmt, TokenColumns, When};
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::envelope::Keyring;
use connect_links_core::error::ApiResult;
use connect_links_core::landing::{self, grant_times, Draws, Landing, ProfileWrite};
use connect_links_core::model::{GrantRow, LinkRow, ProfileRow};
use connect_links_core::ownership::{new_connect_token, CLAIM_TTL_SECS};
use connect_links_core::picker::Choice;
use connect_links_core::platforms::Platform;
use connect_links_core::random::new_id;
use connect_links_core::refresh_policy::RefreshMode;
use connect_links_core::secrets::RefreshToken;
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
) -> ConnectResult<Connected> {
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
        // Read: again on every attempt but a first that comes with a fresh read (a picker may
        // have been open for minutes; a retry follows a race).
        let seen = match fresh.take() {
            Some(s) => s,
            None => {
                read_seen(ctx, link, &choice.login.platform_user_id, choice.credential_ref.as_deref(), &ids).await?
            }
        };
        // The app's own credentials that minted the tokens, removed meanwhile (a forced
        // DELETE): the connect fails; the grant write checks it again.
        if let Some(r) = choice.credential_ref.as_deref() {
            if !store::credential_of_ref(&db, r).exists("read app credentials").await? {
                return Err(CallbackFailure::AccessDenied.into());
            }
        }
        let now = ctx.now();
        let sealed = SealedGrant::seal(&keyring, choice, seen.grant.as_ref())?;
        // Plan.
        let times = grant_times(platform, mode, choice, sealed.refresh_enc.is_some(), now);
        let scopes = serde_json::to_string(&choice.scopes).or_500("scopes json")?;
        let declined = match choice.declined.is_empty() {
            true => None,
            false => Some(serde_json::to_string(&choice.declined).or_500("scopes json")?),
        };
        let login_grants = seen.login_grant_ids();
        let landing = Landing {
            link,
            platform,
            existing: &seen.existing,
            owner: seen.owner.as_deref(),
            login_grants: &login_grants,
            grant_id: &sealed.id,
            scopes: &scopes,
            declined: declined.as_deref(),
            access_expires_at: times.access_expires_at,
            finish,
            now,
        };
        let mut draws =
            Draws { profile_id: || new_id("prf_"), first_check_at: || crate::grants::first_check_at(ctx, now) };
        let plan = landing::plan(&landing, &accounts, &mut draws)?;
        if plan.profiles.is_empty() {
            return Err(CallbackFailure::AccountConnectedElsewhere.into());
        }
        // Commit: the tokens sealed, then one batch.
        let write = GrantWrite {
            id: &sealed.id,
            scopes: &scopes,
            declined_scopes: declined.as_deref(),
            access_token_enc: &sealed.access_enc,
            refresh_token_enc: sealed.refresh_enc.as_deref(),
            token_kid: keyring.current_kid(),
            access_token_expires_at: times.access_expires_at,
            refresh_token_expires_at: times.refresh_expires_at,
            token_issued_at: times.issued_at,
            next_refresh_at: times.next_action_at,
            instance: platform.instance.as_deref(),
            credential_ref: choice.credential_ref.as_deref(),
            now,
        };
        let grant_write = match &seen.grant {
            Some((_, old)) => store::grant_update_stmt(&db, &write, &old.access_token_enc, crate::ctx::now_ms())?,
            None => {
                store::grant_insert_stmt(&db, &write, &link.app_id, &link.platform, &choice.login.platform_user_id)?
            }
        };
        let mut batch = Batch::new(ctx, &db);
        batch.push(grant_write);
        batch.push(store::assert_changed_stmt(&db)?);
        // Profiles under the grant that this connect does not touch still follow it.
        batch.push(store::copy_grant_to_profiles_stmt(&db, &sealed.id, now)?);
        let (mut profile_ids, mut kinds, mut views) = (vec![], vec![], vec![]);
        let (mut inserts, mut updates): (Vec<ProfileWrite>, Vec<ProfileWrite>) = (vec![], vec![]);
        // Which profile each connected account became (by platform account id).
        let mut became: Vec<(String, String)> = vec![];
        for p in plan.profiles {
            let mut write = p.write;
            if let Some(t) = &p.account.own_token {
                write.access_token_enc = Some(keyring.seal(&write.id, "access_token", t).or_500("seal")?);
                write.token_kid = Some(keyring.current_kid().to_string());
            }
            became.push((p.account.platform_user_id.clone(), write.id.clone()));
            profile_ids.push(write.id.clone());
            kinds.push(p.event);
            views.push(p.after.view());
            if p.new {
                inserts.push(write);
            } else {
                updates.push(write);
            }
        }
        let shared = Shared {
            app_id: &link.app_id,
            grant_id: &sealed.id,
            platform: &link.platform,
            scopes: &scopes,
            declined_scopes: declined.as_deref(),
            now,
            instance: platform.instance.as_deref(),
        };
        for stmt in store::profile_inserts(&db, &shared, &inserts)? {
            batch.push(stmt);
        }
        for stmt in store::profile_updates(&db, &shared, &updates)? {
            batch.push(stmt);
        }
        // Accounts the platform no longer lists for this login: their profiles end (only when
        // the listing was whole: one cut at its page limit proves nothing). Read here, as the
        // batch is built: only a stored grant has profiles to end.
        let mut gone_ids: Vec<String> = vec![];
        if seen.grant.is_some() && choice.listed_complete {
            let under: Vec<ProfileRow> =
                store::profiles_of_grant(&db, &sealed.id, true).await?.into_iter().map(|(p, _)| p).collect();
            let removed = landing::removed(under, &choice.listed);
            let ids: Vec<String> = removed.iter().map(|p| p.id.clone()).collect();
            for stmt in store::profile_removals(&db, &sealed.id, &ids, now)? {
                batch.push(stmt);
            }
            gone_ids = ids;
            let ended =
                removed.into_iter().map(|p| (types::DISCONNECTED, p.ended("account_removed", now).view())).collect();
            batch.event_rows(&link.app_id, ended)?;
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
        // The row that held the grant until now (a picker's choice, or the hold's) goes with it.
        batch.push(store::drop_choice_stmt(&db, &link.id)?);
        batch.push(store::end_link_stmt(&db, &link.id, &end, store::OfChoice::of(link), now)?);
        batch.push(store::assert_changed_stmt(&db)?);
        if finish == Finish::Now {
            let told = kinds.iter().copied().zip(views).collect();
            batch.event_rows(&link.app_id, told)?;
        }
        let orphans_at = batch.len();
        batch.push(store::orphan_grants_stmt(&db, &serde_json::to_string(&plan.moved_from).or_500("ids json")?)?);
        // The console's history, last (a race rolls the whole batch back, these rows too):
        // one `connected` row per account landed, one `disconnected` per account gone.
        let fresh: Vec<&str> = inserts.iter().map(|w| w.id.as_str()).collect();
        let again: Vec<&str> = updates.iter().map(|w| w.id.as_str()).collect();
        let gone: Vec<&str> = gone_ids.iter().map(String::as_str).collect();
        let row = |kind, outcome, detail| NewActivity {
            at: now,
            app_id: &link.app_id,
            platform: &link.platform,
            grant_id: Some(&sealed.id),
            kind,
            outcome,
            detail: Some(detail),
            ..NewActivity::default()
        };
        for (ids, kind, outcome, detail) in [
            (&fresh, "connected", "new", "a new profile"),
            (&again, "connected", "reconnected", "the account connected again"),
            (&gone, "disconnected", "account_removed", "the platform no longer lists the account"),
        ] {
            if !ids.is_empty() {
                batch.push(store::activity_rows_stmt(&db, &row(kind, outcome, detail), ids, When::Always)?);
            }
        }
        match batch.write().await {
            Ok(written) => {
                written.deliver_now(ctx).await;
                // A YouTube channel connected is subscribed to its uploads, after the answer.
                crate::platform_events::websub::landed(ctx, &link.platform, choice.credential_ref.as_deref(), &ids)
                    .await;
                // A Facebook Page subscribes its platform app to its events (after the answer).
                crate::platform_events::meta_pages::subscribe(
                    ctx,
                    &platform.id,
                    choice.credential_ref.as_deref(),
                    &accounts,
                    &became,
                )
                .await;
                // A Page moved here from another login's grant may have left that grant unused.
                let orphans = store::deleted_grants(&written.results, orphans_at)?;
                if !orphans.is_empty() {
                    let job_ctx = ctx.detached();
                    ctx.after_answer(async move {
                        for (g, cols) in orphans {
                            crate::grants::revoke_grant(&job_ctx, &g, &cols).await;
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
                return Ok(Connected::Done { profile_ids, connect_token: token.map(|(t, _)| t), offered });
            }
            // A race (a racing callback, a claim, a refresh): read again.
            Err(e) if store::is_race(&e.to_string()) => {}
            Err(e) => return Err(e).or_500("store accounts").map_err(Into::into),
        }
    }
    Err(CallbackFailure::ServerError.into())
}

/// The grant's id (the login's grant, or a new one) and its tokens sealed for it.
struct SealedGrant {
    id: String,
    access_enc: String,
    refresh_enc: Option<String>,
}

impl SealedGrant {
    /// Seals `choice`'s tokens for the login's stored grant (`stored`) or a new one; a
    /// missing refresh token keeps the stored one, moved under the current key so the row has
    /// one key id.
    #[inline(always)]
    fn seal(keyring: &Keyring, choice: &Choice, stored: Option<&(GrantRow, TokenColumns)>) -> ApiResult<SealedGrant> {
        let id = match stored {
            Some((g, _)) => g.id.clone(),
            None => new_id("grn_")?,
        };
        let access_enc = keyring.seal(&id, "access_token", choice.access_token.secret()).or_500("seal")?;
        let stored_refresh = stored.and_then(|(_, t)| t.refresh_token_enc.as_deref());
        let refresh_enc = match (&choice.refresh_token, stored_refresh) {
            (Some(rt), _) => Some(keyring.seal(&id, "refresh_token", rt.secret()).or_500("seal")?),
            (None, Some(old)) if Keyring::kid_of(old) == Some(keyring.current_kid()) => Some(old.to_string()),
            (None, Some(old)) => {
                let rt: RefreshToken = keyring.open_secret(&id, "refresh_token", old).or_500("open refresh token")?;
                Some(keyring.seal(&id, "refresh_token", rt.secret()).or_500("seal")?)
            }
            (None, None) => None,
        };
        Ok(SealedGrant { id, access_enc, refresh_enc })
    }
}
