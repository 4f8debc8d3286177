//! LinkedIn (Sign In with LinkedIn using OpenID Connect, Share on LinkedIn). Facts checked
//! 2026-11-23 against
//! https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow

use super::{IdentityMap, Pkce, Platform, RefreshKind};

/// The `linkedin` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.linkedin.com/oauth/v2/authorization".into(),
        token_url: "https://www.linkedin.com/oauth/v2/accessToken".into(),
        identity: IdentityMap {
            url: "https://api.linkedin.com/v2/userinfo".into(),
            id: "/sub".into(),
            username: None,
            display_name: Some("/name".into()),
            avatar_url: Some("/picture".into()),
        },
        default_scopes: vec!["openid".into(), "profile".into(), "w_member_social".into()],
        // PKCE is for LinkedIn's native apps only; web apps send none.
        pkce: Pkce::None,
        // Refresh tokens only for approved partners; everyone else reconnects by day 60.
        refresh: RefreshKind::None,
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "REVOKED_ACCESS_TOKEN".into()],
        api_base_url: Some("https://api.linkedin.com".into()),
        docs_url: "https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("linkedin", "LinkedIn")
    }
}
