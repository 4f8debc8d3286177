//! The built-in `sandbox` platform (api.md section 10): served by this worker at
//! `/sandbox/*` and reached through a real fetch, like every real platform. Its login offers
//! three accounts: the user itself and two Pages from `GET /sandbox/accounts`, answered
//! in the shape of Facebook's `/me/accounts` (`data[]` of `id`, `name`, `access_token`,
//! `picture.data.url`, `tasks`; `paging`), so a newcomer sees the picker with no credentials.

use super::types::{AccountSource, ClientAuth, IdentityMap, Platform, RefreshKind};

/// The sandbox's fixed client id: it needs no registration.
pub const CLIENT_ID: &str = "sandbox-client";
/// The sandbox's fixed client secret. Not a secret: the sandbox holds no real accounts.
pub const CLIENT_SECRET: &str = "sandbox-secret";
/// Scopes the sandbox knows.
pub const SCOPES: [&str; 3] = ["profile.read", "posts.write", "offline.access"];
/// Access-token lifetime: short, so a newcomer can watch refreshes happen.
pub const ACCESS_TTL_SECS: i64 = 3600;
/// Authorization-code lifetime.
pub const CODE_TTL_SECS: i64 = 120;

/// The sandbox platform served under `public_url`.
pub fn platform(public_url: &str) -> Platform {
    let base = public_url.trim_end_matches('/');
    Platform {
        authorize_url: format!("{base}/sandbox/authorize"),
        token_url: format!("{base}/sandbox/token"),
        revoke_url: Some(format!("{base}/sandbox/revoke")),
        identity: IdentityMap {
            url: format!("{base}/sandbox/userinfo"),
            id: "/sub".into(),
            username: Some("/preferred_username".into()),
            display_name: Some("/name".into()),
            avatar_url: Some("/picture".into()),
        },
        default_scopes: vec!["profile.read".into(), "offline.access".into()],
        // Basic, as X, Pinterest and Reddit want: the common strict case.
        client_auth: ClientAuth::Basic,
        refresh: RefreshKind::RotatingRefreshToken,
        // `invalid_token` (RFC 6750) is how its user-info call, the liveness check, says a
        // token is revoked or unknown.
        terminal_errors: vec!["invalid_grant".into(), "invalid_token".into()],
        default_access_ttl_secs: Some(ACCESS_TTL_SECS),
        accounts: AccountSource::SandboxPages,
        accounts_url: Some(format!("{base}/sandbox/accounts")),
        // The proxy reaches only the sandbox's own routes (`userinfo`, `accounts`).
        api_base_url: Some(format!("{base}/sandbox")),
        docs_url: "README.md#the-sandbox-platform".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("sandbox", "Sandbox")
    }
}
