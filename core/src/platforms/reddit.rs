//! Reddit OAuth2. Facts checked 2026-11-23 against https://github.com/reddit-archive/reddit/wiki/OAuth2

use super::{ClientAuth, IdentityMap, Pkce, Platform, RefreshKind};

/// The User-Agent Reddit requires on every call (a generic one gets throttled or refused).
pub const USER_AGENT: &str = "web:connect-links:0.1.0 (by connect-links)";

/// The `reddit` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.reddit.com/api/v1/authorize".into(),
        token_url: "https://www.reddit.com/api/v1/access_token".into(),
        revoke_url: Some("https://www.reddit.com/api/v1/revoke_token".into()),
        identity: IdentityMap {
            url: "https://oauth.reddit.com/api/v1/me".into(),
            id: "/id".into(),
            username: Some("/name".into()),
            display_name: Some("/subreddit/title".into()),
            avatar_url: Some("/icon_img".into()),
        },
        default_scopes: vec!["identity".into(), "submit".into(), "read".into()],
        // Without duration=permanent Reddit issues no refresh token.
        authorize_params: vec![("duration".into(), "permanent".into())],
        pkce: Pkce::None,
        client_auth: ClientAuth::Basic,
        user_agent: Some(USER_AGENT.into()),
        refresh: RefreshKind::RefreshToken,
        default_access_ttl_secs: Some(3600),
        api_base_url: Some("https://oauth.reddit.com".into()),
        docs_url: "https://github.com/reddit-archive/reddit/wiki/OAuth2".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("reddit", "Reddit")
    }
}
