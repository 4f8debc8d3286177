//! Rows as D1 returns them, and the JSON views the API shows of them. Token columns are
//! never part of a view.

mod status;

pub use self::status::{GrantStatus, LinkStatus, ProfileStatus};

use self::status::stored;
use crate::input::AccountsMode;
use crate::ownership::ClaimMode;
use crate::refresh_policy::RefreshMode;
use crate::time::{rfc3339, rfc3339_opt};
use serde::Deserialize;
use serde_json::{json, Value};

/// A stored JSON array of names (scopes); empty when absent or unreadable. One reader for
/// every such column, so the wasm holds one.
fn name_list(raw: Option<&str>) -> Vec<String> {
    raw.and_then(|s| serde_json::from_slice(s.as_bytes()).ok()).unwrap_or_default()
}

fn json_or(raw: &Option<String>, fallback: Value) -> Value {
    raw.as_deref().and_then(|s| serde_json::from_slice(s.as_bytes()).ok()).unwrap_or(fallback)
}

/// An `apps` row.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct AppRow {
    /// `app_...`.
    pub id: String,
    /// Name.
    pub name: String,
    /// JSON array of URLs.
    pub allowed_redirect_urls: String,
    /// Webhook URL.
    pub webhook_url: Option<String>,
    /// `required` (default) or `auto`: whether hosted connects wait for a claim.
    pub claim: String,
    /// `proactive` (default) or `on_demand`: how the cron keeps the app's tokens.
    pub refresh_mode: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// JSON of the app's overrides of its limits (`app_limits::AppLimits`); `None`: defaults.
    #[serde(default)]
    pub limits: Option<String>,
    /// 1 when the app may manage its own platform credentials with its API key
    /// (`/v1/platform-credentials`); 0 (the default): only the operator may.
    #[serde(default)]
    pub self_service_credentials: i64,
    /// JSON of the event types the app wants forwarded per platform
    /// (`platform_events::forwarding::check_setting`); `None`: none.
    #[serde(default)]
    pub platform_events: Option<String>,
    /// The name end-users see on hosted pages; `None`: [`AppRow::name`] (see `brand::Brand`).
    #[serde(default)]
    pub display_name: Option<String>,
    /// `#rrggbb` (lower case) for the hosted pages' accents; `None`: theirs.
    #[serde(default)]
    pub accent_color: Option<String>,
    /// The logo's file name in its URL (`<hash>.png` or `<hash>.svg`, `brand::Logo::file`);
    /// `None`: no logo. The bytes are in `app_logos`.
    #[serde(default)]
    pub logo_file: Option<String>,
}

impl AppRow {
    /// Whether hosted connects of this app wait for a claim.
    pub fn claim_mode(&self) -> ClaimMode {
        ClaimMode::from_stored(&self.claim)
    }
    /// How the cron keeps this app's tokens.
    pub fn refresh_mode(&self) -> RefreshMode {
        RefreshMode::from_stored(&self.refresh_mode)
    }
    /// What this app may spend of the deployment.
    pub fn limits(&self) -> crate::app_limits::AppLimits {
        crate::app_limits::AppLimits::from_stored(self.limits.as_deref())
    }
    /// The allowlist as a list.
    pub fn allowlist(&self) -> Vec<String> {
        serde_json::from_slice(self.allowed_redirect_urls.as_bytes()).unwrap_or_default()
    }
    /// Where the worker serves this app's logo (`GET /apps/{id}/logo/{file}`, on the
    /// deployment at `public_url`): the file name holds the content's hash, so the URL may be
    /// cached for good. `None` without a logo.
    pub fn logo_url(&self, public_url: &str) -> Option<String> {
        let file = self.logo_file.as_deref()?;
        Some(format!("{}/apps/{}/logo/{file}", public_url.trim_end_matches('/'), self.id))
    }
    /// The API view; `public_url` is the deployment's, where the logo is served.
    pub fn view(&self, public_url: &str) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "allowed_redirect_urls": self.allowlist(),
            "webhook_url": self.webhook_url,
            "claim": self.claim_mode().as_str(),
            "refresh_mode": self.refresh_mode().as_str(),
            "limits": self.limits().view(),
            "self_service_credentials": self.self_service_credentials != 0,
            "platform_events": json_or(&self.platform_events, Value::Null),
            "display_name": self.display_name,
            "accent_color": self.accent_color,
            "logo_url": self.logo_url(public_url),
            "created_at": rfc3339(self.created_at),
        })
    }
}

/// A `connect_links` row.
#[derive(Debug, Default, Deserialize)]
pub struct LinkRow {
    /// `cl_...`.
    pub id: String,
    /// Owner app.
    pub app_id: String,
    /// Platform id.
    pub platform: String,
    /// The app's final redirect.
    pub redirect_url: String,
    /// The consent URL `/connect/{id}` redirects to, sealed (it carries the live state).
    pub authorize_url: String,
    /// JSON array of requested scopes.
    pub scopes: String,
    /// JSON array of the scopes asked for that the user may decline (`None`: none).
    #[serde(default)]
    pub optional_scopes: Option<String>,
    /// JSON array of the required scopes the user declined (a `missing_scopes` failure).
    #[serde(default)]
    pub missing_scopes: Option<String>,
    /// The app's user id.
    pub external_user_id: Option<String>,
    /// The app's opaque state.
    pub app_state: Option<String>,
    /// JSON object for the profile.
    pub metadata: Option<String>,
    /// Reconnect target.
    pub reconnect_profile_id: Option<String>,
    /// `pending`, `choosing`, `awaiting_claim`, `completed`, `failed` or `expired` (a pending
    /// link's expiry is derived; an unclaimed one is marked by the cron).
    #[serde(deserialize_with = "stored")]
    pub status: LinkStatus,
    /// Failure code.
    pub error: Option<String>,
    /// The connected profile.
    pub profile_id: Option<String>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub expires_at: i64,
    /// Epoch seconds.
    pub completed_at: Option<i64>,
    /// Until when the `connect_token` can be claimed (epoch seconds).
    #[serde(default)]
    pub claim_expires_at: Option<i64>,
    /// Every profile the connect made, first chosen first (JSON array of ids).
    #[serde(default)]
    pub profile_ids: Option<String>,
    /// The event each of those profiles' claim sends (JSON array, same order).
    #[serde(default)]
    pub claim_events: Option<String>,
    /// `pick` (default: a page to choose when a login has several accounts) or `all`; any
    /// other stored value reads as `pick`.
    #[serde(default, deserialize_with = "stored")]
    pub accounts: AccountsMode,
    /// Until when the user can choose accounts (status `choosing`).
    #[serde(default)]
    pub choice_expires_at: Option<i64>,
    /// The event the claim sends: `profile.connected` or `profile.reconnected`.
    #[serde(default)]
    pub claim_event: Option<String>,
    /// SHA-256 of the `connect_token` while the link awaits its claim; never shown.
    #[serde(default)]
    pub claim_token_hash: Option<String>,
    /// The server the account lives on (a Mastodon instance), validated host.
    #[serde(default)]
    pub instance: Option<String>,
    /// The platforms a chooser offers (JSON array of ids); `None` for a one-platform link.
    #[serde(default)]
    pub platforms: Option<String>,
    /// The state key of the latest choice on a chooser link: only that state completes.
    #[serde(default)]
    pub choice_state: Option<String>,
    /// The language of its hosted pages, as the app gave it (a well-formed BCP 47 tag).
    #[serde(default)]
    pub locale: Option<String>,
}

impl LinkRow {
    /// Every profile the connect made (the first chosen first); the one `profile_id` of a
    /// link from before there were several.
    pub fn profile_id_list(&self) -> Vec<String> {
        match self.profile_ids.as_deref().and_then(|s| serde_json::from_slice::<Vec<String>>(s.as_bytes()).ok()) {
            Some(ids) if !ids.is_empty() => ids,
            _ => self.profile_id.iter().cloned().collect(),
        }
    }
    /// The event each profile's claim sends, by profile id.
    pub fn claim_event_list(&self) -> Vec<String> {
        let events = self.claim_events.as_deref().and_then(|s| serde_json::from_slice::<Vec<String>>(s.as_bytes()).ok());
        let ids = self.profile_id_list();
        match events {
            Some(e) if e.len() == ids.len() => e,
            _ => ids.iter().map(|_| self.claim_event.clone().unwrap_or_else(|| "profile.connected".into())).collect(),
        }
    }
    /// The requested scopes.
    pub fn scope_list(&self) -> Vec<String> {
        name_list(Some(&self.scopes))
    }
    /// The scopes asked for that the user may decline.
    pub fn optional_scope_list(&self) -> Vec<String> {
        name_list(self.optional_scopes.as_deref())
    }
    /// The status at `now`: a pending link past its expiry, or an unclaimed one past its
    /// claim window, is `expired`.
    pub fn status_at(&self, now: i64) -> LinkStatus {
        let claim_over = self.claim_expires_at.is_none_or(|t| now >= t);
        let choice_over = self.choice_expires_at.is_none_or(|t| now >= t);
        match &self.status {
            LinkStatus::Pending if now >= self.expires_at => LinkStatus::Expired,
            LinkStatus::AwaitingClaim if claim_over => LinkStatus::Expired,
            LinkStatus::Choosing if choice_over => LinkStatus::Expired,
            // The user is still on the consent path (the account picker).
            LinkStatus::Choosing => LinkStatus::Pending,
            other => other.clone(),
        }
    }
    /// The platforms a chooser link offers, in its order; `None` for a one-platform link.
    pub fn platform_list(&self) -> Option<Vec<String>> {
        self.platforms.as_deref().map(|p| serde_json::from_str(p).unwrap_or_default())
    }
    /// The API view at `now`. Until the app claims it, a link shows no profile: whoever holds
    /// the link id (not necessarily the user who connected) learns nothing from polling it.
    pub fn view(&self, now: i64) -> Value {
        let status = self.status_at(now);
        let ids = match status {
            LinkStatus::Completed => self.profile_id_list(),
            LinkStatus::Pending | LinkStatus::Failed => self.reconnect_profile_id.iter().cloned().collect(),
            _ => vec![],
        };
        json!({
            "id": self.id,
            // A chooser link names its platform once the user chose one.
            "platform": (!self.platform.is_empty()).then_some(&self.platform),
            "platforms": self.platform_list(),
            "instance": self.instance,
            "status": status.as_str(),
            "profile_id": ids.first(),
            "profile_ids": ids,
            "error": self.error,
            "missing_scopes": match status {
                LinkStatus::Failed => json_or(&self.missing_scopes, Value::Null),
                _ => Value::Null,
            },
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "completed_at": rfc3339_opt(self.completed_at),
            "locale": self.locale,
        })
    }
}

/// The public columns of a `profiles` row (no token column).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ProfileRow {
    /// `prf_...`.
    pub id: String,
    /// Owner app.
    pub app_id: String,
    /// Platform id.
    pub platform: String,
    /// `user`, `page`, `organization` or `instagram_business`.
    #[serde(default = "default_account_type")]
    pub account_type: String,
    /// The grant (the login's consent) this profile acts under.
    #[serde(default)]
    pub grant_id: String,
    /// JSON `{id, name, type}` of what the account is reached through (an Instagram
    /// account's Page), if anything.
    #[serde(default)]
    pub parent: Option<String>,
    /// The platform's account id.
    pub platform_user_id: String,
    /// Handle.
    pub username: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Avatar URL.
    pub avatar_url: Option<String>,
    /// The app's user id.
    pub external_user_id: Option<String>,
    /// JSON object.
    pub metadata: Option<String>,
    /// `pending` (waiting for a claim), `active` or `disconnected`.
    #[serde(deserialize_with = "stored")]
    pub status: ProfileStatus,
    /// Why disconnected.
    pub disconnect_reason: Option<String>,
    /// JSON array of granted scopes.
    pub scopes: String,
    /// JSON array of the optional scopes the last consent declined (`None`: none).
    #[serde(default)]
    pub declined_scopes: Option<String>,
    /// Epoch seconds.
    pub access_token_expires_at: Option<i64>,
    /// Epoch seconds.
    pub last_refreshed_at: Option<i64>,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds.
    pub updated_at: i64,
    /// The link whose claim a `pending` profile waits for; never shown.
    #[serde(default)]
    pub claim_link_id: Option<String>,
    /// When the platform last told us about the account (a deauthorization...), epoch seconds.
    #[serde(default)]
    pub last_platform_event_at: Option<i64>,
    /// The server the account lives on: a Mastodon instance, a Bluesky PDS (host); `None`
    /// for platforms with one API.
    #[serde(default)]
    pub instance: Option<String>,
}

fn default_account_type() -> String {
    "user".into()
}

/// The profile columns to select for a [`ProfileRow`].
pub const PROFILE_COLUMNS: &str =
    "id, app_id, platform, account_type, grant_id, parent, platform_user_id, username, display_name, avatar_url, \
    external_user_id, metadata, status, disconnect_reason, scopes, declined_scopes, access_token_expires_at, \
    last_refreshed_at, created_at, updated_at, claim_link_id, last_platform_event_at, instance";

impl ProfileRow {
    /// The same profile ended at `now` with `reason` (what a `profile.disconnected` shows).
    pub fn ended(self, reason: &str, now: i64) -> ProfileRow {
        ProfileRow {
            status: ProfileStatus::Disconnected,
            disconnect_reason: Some(reason.into()),
            updated_at: now,
            ..self
        }
    }

    /// The optional scopes the last consent declined.
    pub fn declined_scope_list(&self) -> Vec<String> {
        name_list(self.declined_scopes.as_deref())
    }

    /// The API view (api.md section 6); never a token.
    pub fn view(&self) -> Value {
        let granted = json_or(&Some(self.scopes.clone()), json!([]));
        json!({
            "id": self.id,
            "platform": self.platform,
            "account_type": self.account_type,
            "grant_id": self.grant_id,
            "parent": json_or(&self.parent, Value::Null),
            "platform_user_id": self.platform_user_id,
            "username": self.username,
            "display_name": self.display_name,
            "avatar_url": self.avatar_url,
            "external_user_id": self.external_user_id,
            "metadata": json_or(&self.metadata, json!({})),
            "status": self.status.as_str(),
            "disconnect_reason": self.disconnect_reason,
            // `scopes` and `granted_scopes` are one list (see `crate::scopes`).
            "scopes": granted.clone(),
            "granted_scopes": granted,
            "declined_scopes": json_or(&self.declined_scopes, json!([])),
            "access_token_expires_at": rfc3339_opt(self.access_token_expires_at),
            "last_refreshed_at": rfc3339_opt(self.last_refreshed_at),
            "last_platform_event_at": rfc3339_opt(self.last_platform_event_at),
            "instance": self.instance,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
        })
    }
}

/// The public columns of a `grants` row: what one consent produced (no token column).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct GrantRow {
    /// `grn_...` (or the id of the profile it was split from by migration 0005).
    pub id: String,
    /// Owner app.
    pub app_id: String,
    /// Platform id.
    pub platform: String,
    /// The login's platform id.
    pub platform_user_id: String,
    /// `active` or `disconnected`.
    #[serde(deserialize_with = "stored")]
    pub status: GrantStatus,
    /// JSON array of granted scopes.
    pub scopes: String,
    /// Epoch seconds.
    pub access_token_expires_at: Option<i64>,
    /// Epoch seconds.
    pub last_refreshed_at: Option<i64>,
    /// The server the login lives on (Mastodon instance, Bluesky PDS host), if any.
    #[serde(default)]
    pub instance: Option<String>,
    /// The app's own platform credentials that minted it (`pcr_...`): its refresh, revoke
    /// and proxy budgets go by them; `None`: the deployment's.
    #[serde(default)]
    pub credential_ref: Option<String>,
}

/// The grant columns to select for a [`GrantRow`].
pub const GRANT_COLUMNS: &str = "id, app_id, platform, platform_user_id, status, scopes, access_token_expires_at, \
                                 last_refreshed_at, instance, credential_ref";

/// A list cursor: the `(created_at, id)` of the last item shown, as `<created_at>.<id>`.
/// Apps treat it as opaque; openapi/openapi.json gives its exact form (the pattern
/// [`decode_cursor`] takes), so a client generated from the document checks it as the
/// worker does.
pub fn encode_cursor(created_at: i64, id: &str) -> String {
    format!("{created_at}.{id}")
}

/// Reads a cursor made by [`encode_cursor`]: `^(0|[1-9][0-9]{0,14})\.[A-Za-z0-9_]{1,64}$`,
/// the document's pattern, and nothing else. A cursor comes from the client; its time has at
/// most 15 digits, so it is within JavaScript's safe integers like any number bound in a
/// query.
pub fn decode_cursor(cursor: &str) -> Option<(i64, String)> {
    let (t, id) = cursor.split_once('.')?;
    let time_ok = (1..=15).contains(&t.len())
        && t.bytes().all(|b| b.is_ascii_digit())
        && (t == "0" || !t.starts_with('0'));
    let id_ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !(time_ok && id_ok) {
        return None;
    }
    Some((t.parse().ok()?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::b64url;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = encode_cursor(1700, "prf_ab");
        assert_eq!(c, "1700.prf_ab");
        assert_eq!(decode_cursor(&c), Some((1700, "prf_ab".into())));
        assert_eq!(decode_cursor("0.app_1"), Some((0, "app_1".into())));
        for bad in ["", ".", "1700", "1700.", ".prf_ab", "%%%", "01.prf_ab", "-1.prf_ab", "+1.prf_ab", "1.prf-ab", "1.prf.ab", "1.a b"] {
            assert_eq!(decode_cursor(bad), None, "{bad:?}");
        }
        // The cursors of the base64url form this replaced are refused (a new listing starts).
        assert_eq!(decode_cursor(&b64url(b"1700:prf_ab")), None);
        assert_eq!(decode_cursor(&format!("1.{}", "a".repeat(65))), None);
        assert_eq!(decode_cursor(&format!("1.{}", "a".repeat(64))), Some((1, "a".repeat(64))));
    }

    #[test]
    fn cursor_times_stay_within_javascript_numbers() {
        assert_eq!(decode_cursor("999999999999999.prf_ab"), Some((999_999_999_999_999, "prf_ab".into())));
        for t in ["1000000000000000", "9007199254740993", "9223372036854775807"] {
            assert_eq!(decode_cursor(&format!("{t}.prf_ab")), None, "{t}");
        }
    }

    #[test]
    fn pending_link_past_expiry_shows_expired() {
        let row = LinkRow {
            id: "cl_1".into(),
            app_id: "app_1".into(),
            platform: "sandbox".into(),
            redirect_url: "https://a/cb".into(),
            authorize_url: "https://p/auth".into(),
            scopes: "[\"a\"]".into(),
            external_user_id: None,
            app_state: None,
            metadata: None,
            reconnect_profile_id: None,
            status: "pending".into(),
            created_at: 100,
            expires_at: 700,
            accounts: "pick".into(),
            ..LinkRow::default()
        };
        assert_eq!(row.status_at(699), "pending");
        assert_eq!(row.status_at(700), "expired");
        let v = row.view(800);
        assert_eq!(v["status"], "expired");
        assert_eq!(v["expires_at"], "1970-01-01T00:11:40Z");
        assert!(v.get("authorize_url").is_none());
    }

    #[test]
    fn an_unclaimed_link_shows_no_profile() {
        let mut row: LinkRow = serde_json::from_value(json!({
            "id": "cl_1", "app_id": "app_1", "platform": "sandbox", "redirect_url": "https://a/cb",
            "authorize_url": "x", "scopes": "[]", "external_user_id": null, "app_state": null, "metadata": null,
            "reconnect_profile_id": null, "status": "awaiting_claim", "error": null, "profile_id": "prf_1",
            "created_at": 100, "expires_at": 700, "completed_at": null, "claim_expires_at": 900, "claim_event": null
        }))
        .unwrap();
        let v = row.view(800);
        assert_eq!(v["status"], "awaiting_claim");
        assert_eq!(v["profile_id"], Value::Null);
        assert_eq!(v["profile_ids"], json!([]));
        assert_eq!(row.view(900)["status"], "expired");
        row.status = "completed".into();
        assert_eq!(row.view(800)["profile_ids"], json!(["prf_1"]));
    }
}
