//! What a connect reads of the app's state for one login before it lands anything: the
//! profiles of the login's accounts, the owner the connect acts for, and the login's grant;
//! and which of the listed accounts it may offer given that state.

use super::outcome::{log_failure, ConnectResult};
use crate::ctx::Ctx;
use crate::store::{self, TokenColumns};
use connect_links_core::accounts::Account;
use connect_links_core::callback::CallbackFailure;
use connect_links_core::landing::placement;
use connect_links_core::model::{GrantRow, LinkRow, ProfileRow};
use connect_links_core::ownership::Placement;

/// What a connect reads of the app's state for one login, once per attempt: the profiles
/// of its accounts, the owner it acts for, and the login's grant.
pub struct Seen {
    /// The app's profiles of the login's accounts.
    pub existing: Vec<ProfileRow>,
    /// The owner the connect acts for.
    pub owner: Option<String>,
    /// The login's grant in the app minted with the connect's credentials, with its envelopes.
    pub grant: Option<(GrantRow, TokenColumns)>,
    /// The ids of all the login's grants in the app (one per platform app it was connected
    /// through): its accounts active under any of them are its own.
    pub login_grants: Vec<String>,
}

impl Seen {
    /// [`Seen::login_grants`] as the plan reads them.
    pub fn login_grant_ids(&self) -> Vec<&str> {
        self.login_grants.iter().map(String::as_str).collect()
    }
}

/// Reads what [`Seen`] holds for the accounts `ids` of `login`, connected through
/// `credential_ref` (the app's own credentials; `None`: the deployment's): the same login
/// through another platform app has a grant of its own, since its tokens differ. The login
/// itself is owned: when any of its grants serves another owner's profiles, the connect
/// fails here.
pub async fn read_seen(
    ctx: &Ctx,
    link: &LinkRow,
    login: &str,
    credential_ref: Option<&str>,
    ids: &[String],
) -> ConnectResult<Seen> {
    let db = ctx.db()?;
    let existing = store::profiles_of_accounts(&db, &link.app_id, &link.platform, ids).await?;
    let owner = reconnect_owner(ctx, link).await?;
    if store::grant_has_other_owner(&db, &link.app_id, &link.platform, login, owner.as_deref()).await? {
        log_failure(&link.platform, &link.id, "owner", "the login is connected by another user");
        return Err(CallbackFailure::AccountConnectedElsewhere.into());
    }
    let grants = store::login_grants(&db, &link.app_id, &link.platform, login).await?;
    let login_grants = grants.iter().map(|g| g.grant.id.clone()).collect();
    let grant = grants.into_iter().find(|g| g.credential_ref.as_deref() == credential_ref).map(|g| (g.grant, g.tokens));
    Ok(Seen { existing, owner, grant, login_grants })
}

/// The owner a connect acts for: the link's `external_user_id`, or for a reconnect link the
/// owner of its profile (a reconnect refreshes that owner's accounts). A reconnect link whose
/// profile is gone fails with `profile_failed`.
async fn reconnect_owner(ctx: &Ctx, link: &LinkRow) -> ConnectResult<Option<String>> {
    match &link.reconnect_profile_id {
        None => Ok(link.external_user_id.clone()),
        Some(id) => match store::get_profile(&ctx.db()?, &link.app_id, id).await? {
            Some(p) => Ok(p.external_user_id),
            None => Err(CallbackFailure::ProfileFailed.into()),
        },
    }
}

/// The accounts this connect may offer: those whose profile in this app (if any) it may
/// place (see `ownership::place`). Accounts another user of the app owns are left out; none
/// left is `account_connected_elsewhere`. A reconnect link's profile must be among them
/// (else `profile_failed`: another login came back). Also answers which accounts already
/// have a profile this connect would update (the picker checks them first).
pub fn offer(
    link: &LinkRow,
    seen: &Seen,
    listed: Vec<Account>,
) -> Result<(Vec<Account>, Vec<String>), CallbackFailure> {
    let (existing, owner) = (&seen.existing, seen.owner.as_deref());
    let login_grants = seen.login_grant_ids();
    if let Some(target) = &link.reconnect_profile_id {
        let found = existing.iter().find(|p| &p.id == target);
        if found.is_none() || placement(found, link, owner, &login_grants) == Placement::WrongAccount {
            log_failure(&link.platform, &link.id, "reconnect", "a different account or login came back");
            return Err(CallbackFailure::ProfileFailed);
        }
    }
    let mut offered = Vec::new();
    let mut here = Vec::new();
    for a in listed {
        let found = existing.iter().find(|p| p.platform_user_id == a.platform_user_id);
        match placement(found, link, owner, &login_grants) {
            Placement::ConnectedElsewhere | Placement::WrongAccount => continue,
            Placement::Update(_) => here.push(a.platform_user_id.clone()),
            Placement::New | Placement::TakeOverPending(_) => {}
        }
        offered.push(a);
    }
    if offered.is_empty() {
        log_failure(&link.platform, &link.id, "owner", "every account is connected by another user");
        return Err(CallbackFailure::AccountConnectedElsewhere);
    }
    Ok((offered, here))
}
