//! TikTok Login Kit for Web (v2). Facts checked 2026-11-23 against
//! https://developers.tiktok.com/doc/login-kit-web and
//! https://developers.tiktok.com/doc/oauth-user-access-token-management
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit (429 `rate_limit_exceeded`, no
//! rate-limit headers), https://developers.tiktok.com/doc/content-posting-api-reference-direct-post
//! ("Each user access_token is limited to 6 requests per minute") and
//! https://developers.tiktok.com/doc/tiktok-api-v2-error-handling (401 `access_token_invalid`).
//! Media goes to the `upload_url` the init call answers, which carries its own upload token:
//! apps PUT there directly, not through the proxy.

use super::proxy_spec::{BudgetRule, ProxySpec, Scope};
use super::types::{IdentityMap, Platform, RefreshKind, RevokeReach, RevokeToken};

/// The `tiktok` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.tiktok.com/v2/auth/authorize/".into(),
        token_url: "https://open.tiktokapis.com/v2/oauth/token/".into(),
        revoke_url: Some("https://open.tiktokapis.com/v2/oauth/revoke/".into()),
        revoke_token: RevokeToken::Access,
        // "Revokes a user access token and disconnects your app from the user's TikTok
        // account" (oauth-user-access-token-management, checked 2026-11-30): every grant ends.
        revoke_reach: RevokeReach::Account,
        identity: IdentityMap {
            url: "https://open.tiktokapis.com/v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username"
                .into(),
            id: "/data/user/open_id".into(),
            username: Some("/data/user/username".into()),
            display_name: Some("/data/user/display_name".into()),
            avatar_url: Some("/data/user/avatar_url".into()),
        },
        default_scopes: vec!["user.info.basic".into(), "video.publish".into()],
        scope_separator: ",".into(),
        // TikTok says client_key wherever the standard says client_id.
        client_id_param: "client_key".into(),
        refresh: RefreshKind::RotatingRefreshToken,
        default_access_ttl_secs: Some(24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "access_token_invalid".into()],
        api_base_url: Some("https://open.tiktokapis.com".into()),
        // Each user token may start 6 posts a minute (direct post, inbox upload, photo).
        proxy: ProxySpec {
            budgets: vec![
                BudgetRule::new("POST /v2/post/publish/video/init/", Scope::Profile, 6, 60),
                BudgetRule::new("POST /v2/post/publish/inbox/video/init/", Scope::Profile, 6, 60),
                BudgetRule::new("POST /v2/post/publish/content/init/", Scope::Profile, 6, 60),
            ],
            ..ProxySpec::default()
        },
        docs_url: "https://developers.tiktok.com/doc/login-kit-web".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("tiktok", "TikTok")
    }
}
