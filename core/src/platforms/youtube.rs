//! YouTube through Google OAuth 2.0 for web server apps. Facts checked 2026-11-23 against
//! https://developers.google.com/identity/protocols/oauth2/web-server
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.google.com/youtube/data/determine_quota_cost (100 `search.list`, 100
//! `videos.insert` and 10,000 units a day for the rest) and
//! https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol.

use super::proxy_spec::{BudgetRule, ProxySpec, Scope};
use super::types::{IdentityMap, Platform, RefreshKind, RevokeReach};

/// The `youtube` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
        token_url: "https://oauth2.googleapis.com/token".into(),
        revoke_url: Some("https://oauth2.googleapis.com/revoke".into()),
        // Google keeps one grant per user and client (web-server guide, "Revoking a token",
        // checked 2026-11-30): revoking ends it for every profile of that account.
        revoke_reach: RevokeReach::Account,
        identity: IdentityMap {
            url: "https://www.googleapis.com/youtube/v3/channels?part=snippet&mine=true".into(),
            id: "/items/0/id".into(),
            username: Some("/items/0/snippet/customUrl".into()),
            display_name: Some("/items/0/snippet/title".into()),
            avatar_url: Some("/items/0/snippet/thumbnails/default/url".into()),
        },
        default_scopes: vec![
            "https://www.googleapis.com/auth/youtube.readonly".into(),
            "https://www.googleapis.com/auth/youtube.upload".into(),
        ],
        // Google issues a refresh token only with offline access on a consent screen.
        authorize_params: vec![
            ("access_type".into(), "offline".into()),
            ("prompt".into(), "consent".into()),
            ("include_granted_scopes".into(), "true".into()),
        ],
        refresh: RefreshKind::RefreshToken,
        default_access_ttl_secs: Some(3600),
        // "The refresh token has not been used for six months" is one way a Google refresh
        // token stops working (https://developers.google.com/identity/protocols/oauth2,
        // "Refresh token expiration", checked 2026-11-30). Six months read as 180 days, the
        // short side; on_demand apps use the token a week before that.
        refresh_idle_secs: Some(180 * 24 * 3600),
        api_base_url: Some("https://www.googleapis.com".into()),
        proxy: ProxySpec {
            // Resumable uploads announce the video with these (then PUT to `Location`).
            request_headers: vec!["x-upload-content-type".into(), "x-upload-content-length".into()],
            // A project gets 100 `videos.insert` and 100 `search.list` calls a day (reset
            // at midnight Pacific; counted here from the first call).
            budgets: vec![
                BudgetRule::new("POST /upload/youtube/v3/videos", Scope::App, 100, 86_400),
                BudgetRule::new("GET /youtube/v3/search", Scope::App, 100, 86_400),
            ],
            ..ProxySpec::default()
        },
        docs_url: "https://developers.google.com/identity/protocols/oauth2/web-server".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("youtube", "YouTube")
    }
}
