//! Who owns a connected account (api.md sections 5 and 6): the claim step that
//! binds a hosted connect to the app's own user session, the rule that an owner never
//! changes through a connect, and when a grant may be revoked at the platform.

use crate::error::ApiResult;
use crate::platforms::RevokeReach;
use crate::random::{b64url, hex, random_bytes};
use crate::secrets::ConnectToken;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How long a `connect_token` can be claimed, and how long an unclaimed profile lives.
pub const CLAIM_TTL_SECS: i64 = 600;

/// Whether an app's hosted connects wait for a claim (api.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimMode {
    /// The default: profiles stay `pending` until the app presents the `connect_token`.
    Required,
    /// The old behaviour: profiles are active at the callback. Only for apps that bind the
    /// redirect to their own session some other way.
    Auto,
}

impl ClaimMode {
    /// The stored and shown value.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimMode::Required => "required",
            ClaimMode::Auto => "auto",
        }
    }
    /// Reads a stored value; anything unknown is the safe default.
    pub fn from_stored(s: &str) -> Self {
        if s == "auto" {
            ClaimMode::Auto
        } else {
            ClaimMode::Required
        }
    }
}

/// A new one-time `connect_token` (32 random bytes, base64url) and the hash that is stored.
pub fn new_connect_token() -> ApiResult<(ConnectToken, String)> {
    let token = b64url(&random_bytes::<32>()?);
    let hash = connect_token_hash(&token);
    Ok((ConnectToken::new(token), hash))
}

/// The stored form of a `connect_token`: SHA-256 in hex, so D1 never holds a usable one.
pub fn connect_token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The profile a connect found for the same platform account in the same app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingAccount<'a> {
    /// Its profile id.
    pub id: &'a str,
    /// Its owner.
    pub external_user_id: Option<&'a str>,
    /// Still waiting for a claim: it never had a confirmed owner.
    pub pending: bool,
}

/// What a successful exchange may do with the account it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// No profile yet: a new one.
    New,
    /// The same owner (or a reconnect link for this very profile): tokens updated in place.
    Update(String),
    /// An unclaimed profile of another link: it never had an owner, so this connect takes it
    /// over (otherwise a stranger's abandoned link would lock the real owner out).
    TakeOverPending(String),
    /// The account belongs to another user of the app: `account_connected_elsewhere`.
    ConnectedElsewhere,
    /// A reconnect link came back as another account: `profile_failed`.
    WrongAccount,
}

/// The ownership rule: an existing profile's owner never changes through a connect; only a
/// reconnect link (created by the app for that profile) refreshes its grant regardless of
/// the link's `external_user_id`.
pub fn place(existing: Option<&ExistingAccount<'_>>, link_owner: Option<&str>, reconnect: Option<&str>) -> Placement {
    match (existing, reconnect) {
        (Some(e), Some(target)) if e.id == target => Placement::Update(e.id.to_string()),
        (_, Some(_)) => Placement::WrongAccount,
        (None, None) => Placement::New,
        (Some(e), None) if e.external_user_id == link_owner => Placement::Update(e.id.to_string()),
        (Some(e), None) if e.pending => Placement::TakeOverPending(e.id.to_string()),
        (Some(_), None) => Placement::ConnectedElsewhere,
    }
}

/// Whether a grant may be revoked at the platform.
/// - `others_hold`: whether another profile (any app) holds a grant for the same platform
///   account; `None` when the account is unknown (the identity call failed).
/// - `deleting`: a `DELETE /v1/profiles/{id}`: then any other holder keeps us from revoking,
///   whatever the reach (deleting a profile in one app must never end another app's).
///
/// A failed connect revokes its fresh grant where that cannot end anyone else's.
pub fn may_revoke(reach: RevokeReach, others_hold: Option<bool>, deleting: bool) -> bool {
    match (others_hold, deleting) {
        (Some(false), _) => true,
        (Some(true), true) => false,
        (Some(true), false) | (None, _) => reach == RevokeReach::Token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct<'a>(id: &'a str, owner: Option<&'a str>, pending: bool) -> ExistingAccount<'a> {
        ExistingAccount { id, external_user_id: owner, pending }
    }

    #[test]
    fn connect_token_is_32_random_bytes_stored_as_a_hash() {
        let (t, h) = new_connect_token().unwrap();
        assert_eq!(crate::random::b64url_decode(t.secret()).unwrap().len(), 32);
        assert_eq!(h, connect_token_hash(t.secret()));
        assert_eq!(h.len(), 64);
        assert!(!h.contains(t.secret()));
        assert_ne!(new_connect_token().unwrap().1, h);
    }

    #[test]
    fn an_owner_never_changes_through_a_connect() {
        let victim = acct("prf_v", Some("victim"), false);
        assert_eq!(place(Some(&victim), Some("attacker"), None), Placement::ConnectedElsewhere);
        assert_eq!(place(Some(&victim), None, None), Placement::ConnectedElsewhere, "none is not a wildcard");
        let unowned = acct("prf_u", None, false);
        assert_eq!(place(Some(&unowned), Some("someone"), None), Placement::ConnectedElsewhere);
    }

    #[test]
    fn the_same_owner_or_none_on_both_sides_updates_in_place() {
        let p = acct("prf_1", Some("u1"), false);
        assert_eq!(place(Some(&p), Some("u1"), None), Placement::Update("prf_1".into()));
        let none = acct("prf_2", None, false);
        assert_eq!(place(Some(&none), None, None), Placement::Update("prf_2".into()));
        assert_eq!(place(None, Some("u1"), None), Placement::New);
    }

    #[test]
    fn only_a_reconnect_link_for_that_profile_refreshes_another_owners_profile() {
        let p = acct("prf_1", Some("u1"), false);
        assert_eq!(place(Some(&p), Some("u2"), Some("prf_1")), Placement::Update("prf_1".into()));
        assert_eq!(place(Some(&p), Some("u1"), Some("prf_9")), Placement::WrongAccount);
        assert_eq!(place(None, None, Some("prf_1")), Placement::WrongAccount);
    }

    #[test]
    fn an_unclaimed_profile_never_had_an_owner() {
        let p = acct("prf_p", Some("stranger"), true);
        assert_eq!(place(Some(&p), Some("owner"), None), Placement::TakeOverPending("prf_p".into()));
        assert_eq!(place(Some(&p), Some("stranger"), None), Placement::Update("prf_p".into()));
    }

    #[test]
    fn revocation_never_ends_another_profiles_grant() {
        use RevokeReach::*;
        assert!(may_revoke(Account, Some(false), true));
        assert!(!may_revoke(Account, Some(true), true));
        assert!(!may_revoke(Token, Some(true), true), "a delete never revokes a shared account");
        assert!(may_revoke(Token, Some(true), false), "a failed connect ends its own token only");
        assert!(!may_revoke(Account, Some(true), false));
        assert!(may_revoke(Token, None, false));
        assert!(!may_revoke(Account, None, false), "unknown account: a grant-wide revoke could hit anyone");
    }

    #[test]
    fn claim_mode_defaults_to_required() {
        assert_eq!(ClaimMode::from_stored("auto"), ClaimMode::Auto);
        assert_eq!(ClaimMode::from_stored("required"), ClaimMode::Required);
        assert_eq!(ClaimMode::from_stored("???"), ClaimMode::Required);
    }
}
