//! Reddit OAuth2. Facts checked 2026-11-23 against https://github.com/reddit-archive/reddit/wiki/OAuth2
//!
//! The proxy's hosts and limits checked 2026-11-30 against https://github.com/reddit/reddit/wiki/API
//! (`X-Ratelimit-Used`, `-Remaining`, `-Reset` in seconds to the end of the period) and
//! Reddit's announcement of 2023-05-31 (100 queries per minute per OAuth client id, averaged
//! over 10 minutes).

use super::proxy_spec::{BudgetRule, ProxySpec, RateHeaders, Scope};
use super::types::{ClientAuth, IdentityMap, Pkce, Platform, RefreshKind};

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
        // No `refresh_idle_secs`: a `duration=permanent` refresh token lasts until revoked
        // (docs_url), so on_demand apps leave Reddit grants to their reads.
        api_base_url: Some("https://oauth.reddit.com".into()),
        // 100 queries a minute per client id, averaged over 10 minutes, reported in
        // `x-ratelimit-*` headers for the client id.
        proxy: ProxySpec {
            budgets: vec![BudgetRule::new("*", Scope::App, 1_000, 600)],
            rate_headers: RateHeaders::RedditRateLimit,
            ..ProxySpec::default()
        },
        docs_url: "https://github.com/reddit-archive/reddit/wiki/OAuth2".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("reddit", "Reddit")
    }
}
