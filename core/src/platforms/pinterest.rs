//! Pinterest API v5. Facts checked 2026-11-23 against
//! https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.pinterest.com/docs/reference/rate-limits/ (100 calls a second per user
//! per app, and per-category limits per minute). Media uploads go to a presigned S3 URL
//! that must not get the Pinterest token: apps post there directly.

use super::proxy_spec::{BudgetRule, ProxySpec, Scope};
use super::types::{ClientAuth, IdentityMap, Pkce, Platform, RefreshKind};

/// The `pinterest` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.pinterest.com/oauth/".into(),
        token_url: "https://api.pinterest.com/v5/oauth/token".into(),
        identity: IdentityMap {
            url: "https://api.pinterest.com/v5/user_account".into(),
            id: "/id".into(),
            username: Some("/username".into()),
            display_name: Some("/business_name".into()),
            avatar_url: Some("/profile_image".into()),
        },
        default_scopes: vec![
            "user_accounts:read".into(),
            "boards:read".into(),
            "pins:read".into(),
            "pins:write".into(),
        ],
        scope_separator: ",".into(),
        // PKCE is not documented for Pinterest: do not send it.
        pkce: Pkce::None,
        client_auth: ClientAuth::Basic,
        refresh: RefreshKind::RotatingRefreshToken,
        default_access_ttl_secs: Some(30 * 24 * 3600),
        api_base_url: Some("https://api.pinterest.com".into()),
        // 100 calls a second per user and app.
        proxy: ProxySpec { budgets: vec![BudgetRule::new("*", Scope::Profile, 100, 1)], ..ProxySpec::default() },
        docs_url: "https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/"
            .into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("pinterest", "Pinterest")
    }
}
