//! Threads. Facts checked 2026-11-23 against
//! https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.facebook.com/documentation/threads/overview (`graph.threads.com` or
//! `graph.threads.net`; 250 posts and 1,000 replies per 24 hours per profile).
//!
//! Granted permissions checked 2026-12-07: the token answer names none, and the one call that
//! lists a token's permissions, `GET /debug_token`
//! (https://developers.facebook.com/documentation/threads/troubleshooting/debug-access-token),
//! needs a Threads tester's token besides the one inspected. So a Threads connect is taken to
//! have granted what it asked (no `granted_scopes_url`): an optional scope is never reported
//! declined, and a required one never missing.

use super::proxy_spec::{BudgetRule, Scope};
use super::types::{IdentityMap, LongLivedSwap, Pkce, Platform, RefreshKind, SelfExchange};

/// The `threads` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://threads.net/oauth/authorize".into(),
        token_url: "https://graph.threads.net/oauth/access_token".into(),
        identity: IdentityMap {
            url: "https://graph.threads.net/v1.0/me?fields=id,username,name,threads_profile_picture_url".into(),
            id: "/id".into(),
            username: Some("/username".into()),
            display_name: Some("/name".into()),
            avatar_url: Some("/threads_profile_picture_url".into()),
        },
        default_scopes: vec!["threads_basic".into(), "threads_content_publish".into()],
        scope_separator: ",".into(),
        pkce: Pkce::None,
        long_lived_swap: Some(LongLivedSwap {
            url: "https://graph.threads.net/access_token".into(),
            grant_type: "th_exchange_token".into(),
            token_param: "access_token".into(),
            send_client_id: false,
        }),
        code_suffix: Some("#_".into()),
        refresh: RefreshKind::SelfExchange,
        self_exchange: Some(SelfExchange {
            url: "https://graph.threads.net/refresh_access_token".into(),
            grant_type: "th_refresh_token".into(),
        }),
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "190".into()],
        api_base_url: Some("https://graph.threads.net".into()),
        // graph.threads.com serves the same API; 250 posts per 24 hours per account.
        proxy: super::facebook::graph_hosts_proxy(
            &["graph.threads.com"],
            vec![BudgetRule::new("POST */threads_publish", Scope::Profile, 250, 86_400)],
        ),
        docs_url: "https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("threads", "Threads")
    }
}
