//! Instagram API with Instagram Login (business and creator accounts).
//! Facts checked 2026-11-23 against
//! https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user/media_publish
//! ("50 posts within a 24 hour moving period"); errors and usage headers as Facebook's.

use super::proxy_spec::{BudgetRule, Scope};
use super::types::{IdentityMap, LongLivedSwap, Pkce, Platform, RefreshKind, SelfExchange};

/// The `instagram` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.instagram.com/oauth/authorize".into(),
        token_url: "https://api.instagram.com/oauth/access_token".into(),
        identity: IdentityMap {
            url: "https://graph.instagram.com/me?fields=user_id,username,name,profile_picture_url".into(),
            id: "/user_id".into(),
            username: Some("/username".into()),
            display_name: Some("/name".into()),
            avatar_url: Some("/profile_picture_url".into()),
        },
        default_scopes: vec!["instagram_business_basic".into(), "instagram_business_content_publish".into()],
        scope_separator: ",".into(),
        pkce: Pkce::None,
        // The code exchange answers {"data": [{"access_token", "user_id", "permissions"}]}.
        token_envelope: Some("/data/0".into()),
        scope_field: "permissions".into(),
        long_lived_swap: Some(LongLivedSwap {
            url: "https://graph.instagram.com/access_token".into(),
            grant_type: "ig_exchange_token".into(),
            token_param: "access_token".into(),
            send_client_id: false,
        }),
        code_suffix: Some("#_".into()),
        refresh: RefreshKind::SelfExchange,
        self_exchange: Some(SelfExchange {
            url: "https://graph.instagram.com/refresh_access_token".into(),
            grant_type: "ig_refresh_token".into(),
        }),
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "190".into()],
        api_base_url: Some("https://graph.instagram.com".into()),
        // At most 50 published posts in a moving 24 hours per account.
        proxy: super::facebook::graph_hosts_proxy(
            &[],
            vec![BudgetRule::new("POST */media_publish", Scope::Profile, 50, 86_400)],
        ),
        docs_url:
            "https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login"
                .into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("instagram", "Instagram")
    }
}
