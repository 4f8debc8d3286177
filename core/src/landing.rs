//! Landing a connect's accounts, as a plan with no I/O: when the login's tokens were issued
//! and expire and when the cron first acts on its grant; which profile each chosen account
//! becomes (a new one, one updated in place, or a never-claimed one taken over) and which it
//! leaves out (owned by another user of the app); whether each acts with a token of its own;
//! and each profile's state after the write (the row written, the event and view the app is
//! told). The worker reads the app's state, asks for this plan, then seals the tokens and
//! commits it in one batch; what the commit writes comes from here, so it is tested here.

use crate::accounts::Account;
use crate::callback::CallbackFailure;
use crate::error::{ApiError, ApiResult};
use crate::model::{LinkRow, ProfileRow, ProfileStatus};
use crate::ownership::{place, ExistingAccount, Placement};
use crate::picker::Choice;
use crate::platforms::Platform;
use crate::refresh_policy::{next_action_at, RefreshMode, TokenTimes};
use crate::webhook::types;
use serde::Serialize;

/// Why a connect did not land: a failure the link records (the browser or the app is told
/// its code), or an error the request answers as it is (storage: a 500). `?` turns either
/// into this, so the steps of a connect chain without nesting one result in another.
#[derive(Debug)]
pub enum ConnectError {
    /// A failure with its `connect_link.failed` code.
    Failed(CallbackFailure),
    /// Any other error (storage, an internal one).
    Api(ApiError),
}

impl From<CallbackFailure> for ConnectError {
    fn from(f: CallbackFailure) -> Self {
        ConnectError::Failed(f)
    }
}

impl From<ApiError> for ConnectError {
    fn from(e: ApiError) -> Self {
        ConnectError::Api(e)
    }
}

/// A step of a connect: its value, or why the connect did not land.
pub type ConnectResult<T> = Result<T, ConnectError>;

/// How a successful connect ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// The link completes and the app is told now (`"claim": "auto"` apps, app callbacks).
    Now,
    /// The link waits for the app's claim; a new profile stays `pending` until then.
    AwaitClaim,
}

impl Finish {
    /// How a browser connect of an app with `mode` ends: at once, or waiting for its claim.
    pub fn for_claim(mode: crate::ownership::ClaimMode) -> Finish {
        match mode {
            crate::ownership::ClaimMode::Required => Finish::AwaitClaim,
            crate::ownership::ClaimMode::Auto => Finish::Now,
        }
    }

    /// The stored form (`account_choices.finish`).
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Now => "now",
            Finish::AwaitClaim => "claim",
        }
    }
    /// Reads the stored form.
    pub fn from_stored(s: &str) -> Self {
        if s == "now" {
            Finish::Now
        } else {
            Finish::AwaitClaim
        }
    }
}

/// The login's token times as the grant stores them, and the cron's first action on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantTimes {
    /// When the tokens were issued (epoch seconds).
    pub issued_at: i64,
    /// When the access token expires (`None`: never).
    pub access_expires_at: Option<i64>,
    /// When the refresh token expires, where the platform said so.
    pub refresh_expires_at: Option<i64>,
    /// When the cron first acts on the grant (`None`: never).
    pub next_action_at: Option<i64>,
}

/// The times of a grant landing `choice`'s tokens at `now`, in the app's refresh `mode`;
/// `has_refresh_token`: whether the grant holds one after the write (the answer's, or the
/// one already stored).
#[inline(always)]
pub fn grant_times(
    platform: &Platform,
    mode: RefreshMode,
    choice: &Choice,
    has_refresh_token: bool,
    now: i64,
) -> GrantTimes {
    // Lifetimes count from the token answer, not from the picker's submission.
    let issued = if choice.issued_at > 0 { choice.issued_at } else { now };
    let access_expires_at = choice.expires_in.or(platform.default_access_ttl_secs).map(|s| issued + s);
    let refresh_expires_at = choice.refresh_expires_in.map(|s| issued + s);
    // The schedule counts from the same moment as the stored times: a second between the
    // answer and this write would otherwise shorten the computed lead.
    let times = TokenTimes { issued_at: issued, access_expires_at, refresh_expires_at, has_refresh_token };
    let next = next_action_at(mode, platform.refresh, platform.refresh_idle_secs, &times);
    GrantTimes { issued_at: issued, access_expires_at, refresh_expires_at, next_action_at: next }
}

/// [`place`] for one account: the reconnect link's own profile is updated whoever owns it;
/// every other account is placed for the owner the connect acts for. An account connected
/// through another login (`login_grants`: this login's grants in the app, one per platform
/// app it was connected through) stays with that login while it is active there: a
/// co-admin's login completing the owner's link must not re-point a live Page to a grant the
/// owner does not control. A never-claimed profile moves, and so does a disconnected one
/// (its old login lost it; the owner rule still holds).
pub fn placement(found: Option<&ProfileRow>, link: &LinkRow, owner: Option<&str>, login_grants: &[&str]) -> Placement {
    if let Some(p) = found {
        if p.status == ProfileStatus::Active && !login_grants.contains(&p.grant_id.as_str()) {
            return if link.reconnect_profile_id.as_deref() == Some(p.id.as_str()) {
                Placement::WrongAccount
            } else {
                Placement::ConnectedElsewhere
            };
        }
    }
    let seen = found.map(|p| ExistingAccount {
        id: &p.id,
        external_user_id: p.external_user_id.as_deref(),
        pending: p.status == ProfileStatus::Pending,
    });
    match (&seen, &link.reconnect_profile_id) {
        (Some(e), Some(target)) if e.id == target => place(seen.as_ref(), owner, Some(target)),
        _ => place(seen.as_ref(), owner, None),
    }
}

/// One profile as a connect writes it (its JSON is bound to the landing's statements, many
/// rows per statement, and read there with `json_extract`).
#[derive(Serialize)]
pub struct ProfileWrite {
    /// `prf_...`: new, or the profile being updated.
    pub id: String,
    /// `user`, `page`, ...
    pub account_type: &'static str,
    /// The platform's account id.
    pub platform_user_id: String,
    /// JSON of the parent, if any.
    pub parent: Option<String>,
    /// Handle.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// The owner after the write.
    pub external_user_id: Option<String>,
    /// JSON object.
    pub metadata: Option<String>,
    /// `pending` or `active`.
    pub status: &'static str,
    /// The link a pending profile waits for.
    pub claim_link_id: Option<String>,
    /// The account's own token, sealed for this profile's id (set by the commit, which seals).
    pub access_token_enc: Option<String>,
    /// Its key id (set with it).
    pub token_kid: Option<String>,
    /// Epoch seconds.
    pub access_token_expires_at: Option<i64>,
    /// The first liveness check, for a token that does not expire.
    pub next_check_at: Option<i64>,
    /// An update applies only while the profile still has this owner ...
    pub old_owner: Option<String>,
    /// ... and this status (what the connect read).
    pub old_status: Option<String>,
}

/// What the plan reads: the app's state for the login as the connect read it, and what the
/// grant will hold.
pub struct Landing<'a> {
    /// The link the connect completes.
    pub link: &'a LinkRow,
    /// The platform, resolved to the account's server where it has one.
    pub platform: &'a Platform,
    /// The app's profiles of the login's accounts.
    pub existing: &'a [ProfileRow],
    /// The owner the connect acts for.
    pub owner: Option<&'a str>,
    /// The login's grants in the app (one per platform app it was connected through): an
    /// account active under any of them moves to `grant_id`.
    pub login_grants: &'a [&'a str],
    /// The grant the profiles will act under (the login's, or a new one).
    pub grant_id: &'a str,
    /// JSON array of the granted scopes.
    pub scopes: &'a str,
    /// JSON array of the optional scopes the consent declined (`None`: none).
    pub declined: Option<&'a str>,
    /// When the login's access token expires ([`GrantTimes::access_expires_at`]).
    pub access_expires_at: Option<i64>,
    /// How the connect ends.
    pub finish: Finish,
    /// Epoch seconds.
    pub now: i64,
}

/// What the landing draws at random, one draw per profile that needs it (the ids of new
/// profiles, the first liveness check of tokens that never expire), given by the caller so
/// the plan stays pure.
pub struct Draws<P, C> {
    /// A new profile id (`prf_...`).
    pub profile_id: P,
    /// When a new token that never expires is first checked.
    pub first_check_at: C,
}

/// One chosen account as it lands.
pub struct Planned<'c> {
    /// The account (its own token, if any, is sealed by the commit for [`ProfileWrite::id`]).
    pub account: &'c Account,
    /// The row written.
    pub write: ProfileWrite,
    /// Whether the row is new (an insert) or an existing profile (an update).
    pub new: bool,
    /// The event the app is told (now, or at its claim).
    pub event: &'static str,
    /// The profile after the write, as the event shows it.
    pub after: ProfileRow,
}

/// The landing of a connect's chosen accounts.
pub struct Plan<'c> {
    /// Each account that lands, in the order chosen (those owned by another user of the
    /// app since they were offered are left out).
    pub profiles: Vec<Planned<'c>>,
    /// The other grants those profiles leave (sorted, each once): a grant no profile uses
    /// after the write is deleted.
    pub moved_from: Vec<String>,
}

/// The plan for `accounts` (the chosen ones, in order) landing as `l` says.
#[inline(always)]
pub fn plan<'c, P, C>(l: &Landing<'_>, accounts: &[&'c Account], draws: &mut Draws<P, C>) -> ApiResult<Plan<'c>>
where
    P: FnMut() -> ApiResult<String>,
    C: FnMut() -> i64,
{
    let link = l.link;
    let mut profiles = Vec::new();
    let mut moved_from = Vec::new();
    for &a in accounts {
        let found = l.existing.iter().find(|p| p.platform_user_id == a.platform_user_id);
        let (id, take_over) = match placement(found, link, l.owner, l.login_grants) {
            Placement::New => ((draws.profile_id)()?, false),
            Placement::Update(id) => (id, false),
            Placement::TakeOverPending(id) => (id, true),
            // Owned elsewhere since it was offered: left out.
            Placement::ConnectedElsewhere | Placement::WrongAccount => continue,
        };
        let was_pending = found.is_none_or(|p| p.status == ProfileStatus::Pending);
        let (status, claim_link) = match l.finish {
            Finish::AwaitClaim if was_pending => ("pending", Some(link.id.as_str())),
            _ => ("active", None),
        };
        // An account's own token (a Page's) does not expire with the login's.
        let profile_expiry = if a.own_token.is_some() { None } else { l.access_expires_at };
        // A token that never expires is never refreshed: its liveness is checked instead.
        let next_check = profile_expiry.is_none().then(|| (draws.first_check_at)());
        let parent = match &a.parent {
            Some(p) => Some(serde_json::to_string(p).map_err(|_| ApiError::internal())?),
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
            if old.grant_id != l.grant_id {
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
            access_token_enc: None,
            token_kid: None,
            access_token_expires_at: profile_expiry,
            next_check_at: next_check,
            old_owner: found.and_then(|o| o.external_user_id.clone()),
            old_status: found.map(|o| o.status.as_str().to_string()),
        };
        // A never-claimed profile is new to whoever claims it.
        let event = if was_pending { types::CONNECTED } else { types::RECONNECTED };
        let after = ProfileRow {
            id,
            app_id: link.app_id.clone(),
            platform: link.platform.clone(),
            account_type: a.account_type.as_str().into(),
            grant_id: l.grant_id.to_string(),
            parent,
            platform_user_id: a.platform_user_id.clone(),
            username: a.username.clone(),
            display_name: a.display_name.clone(),
            avatar_url: a.avatar_url.clone(),
            external_user_id: owner_after,
            metadata: metadata_after,
            status: status.into(),
            disconnect_reason: None,
            scopes: l.scopes.to_string(),
            declined_scopes: l.declined.map(str::to_string),
            access_token_expires_at: profile_expiry,
            last_refreshed_at: found.and_then(|o| o.last_refreshed_at),
            created_at: found.map_or(l.now, |o| o.created_at),
            updated_at: l.now,
            claim_link_id: None,
            last_platform_event_at: found.and_then(|o| o.last_platform_event_at),
            instance: l.platform.instance.clone(),
        };
        profiles.push(Planned { account: a, write, new: found.is_none(), event, after });
    }
    moved_from.sort();
    moved_from.dedup();
    Ok(Plan { profiles, moved_from })
}

/// The profiles (active, under the login's grant) whose accounts the platform no longer
/// lists for the login: they end as `account_removed`. Only for a whole listing (one cut at
/// its page limit proves nothing).
pub fn removed(under_grant: Vec<ProfileRow>, listed: &[String]) -> Vec<ProfileRow> {
    under_grant.into_iter().filter(|p| !listed.contains(&p.platform_user_id)).collect()
}

#[cfg(test)]
mod tests;
