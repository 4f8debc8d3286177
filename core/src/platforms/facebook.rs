//! Facebook Login for Pages. Facts checked 2026-11-23 against
//! https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow and
//! https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
//!
//! The Page listing (the accounts behind a login) checked 2026-11-30 against
//! https://developers.facebook.com/docs/graph-api/reference/user/accounts/ (Pages the person
//! has a role on, `tasks`; Pages reached only through a business need `business_management`),
//! https://developers.facebook.com/docs/pages/access-tokens/ (a Page token fetched with a
//! long-lived User token has no expiration date) and
//! https://developers.facebook.com/docs/graph-api/results/ (cursor pagination: `limit`,
//! `paging.cursors.after`, an absolute `paging.next` on graph.facebook.com; a page may be empty
//! and still carry `next`).
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://developers.facebook.com/docs/graph-api/overview/rate-limiting/ (platform limits for
//! user tokens, Business Use Case limits for Page tokens; `X-App-Usage` percentages),
//! https://developers.facebook.com/docs/graph-api/guides/error-handling (code 190: the token
//! expired or was invalidated) and
//! https://developers.facebook.com/documentation/video-api/guides/publishing.md (Page videos on
//! `graph-video.facebook.com`). Not proxied: `rupload.facebook.com`, which takes
//! `Authorization: OAuth <token>`, not a Bearer token.
//!
//! Declined permissions checked 2026-12-07 against
//! https://developers.facebook.com/docs/graph-api/reference/user/permissions/ ("a list of
//! granted and declined permissions": `{"data": [{"permission", "status"}]}`; the token answer
//! itself names none),
//! https://developers.facebook.com/documentation/facebook-login/guides/permissions/handle-declined
//! (people may decline any permission but the public profile) and
//! https://developers.facebook.com/documentation/facebook-login/web/permissions (a declined
//! permission is shown again only when the dialog is asked with `auth_type=rerequest`).

use super::proxy_spec::{BudgetRule, ProxySpec, RateHeaders, TokenInvalid};
use super::types::{
    AccountSource, IdentityMap, LongLivedSwap, Pkce, Platform, RefreshKind, RevokeReach, RevokeStyle, TokenRequest,
    GRAPH_API_VERSION,
};

/// The fields asked of each Page on `/me/accounts`: the Page token comes only when asked.
pub const PAGE_FIELDS: &str = "id,name,access_token,picture,tasks";

/// Pages per listing call; Graph's default is 25, and fewer calls mean fewer pages to follow.
pub const PAGE_LIMIT: u32 = 100;

/// `GET /me/accounts` with `fields` on the current Graph version, one page of [`PAGE_LIMIT`].
pub fn me_accounts_url(fields: &str) -> String {
    format!("https://graph.facebook.com/{GRAPH_API_VERSION}/me/accounts?fields={fields}&limit={PAGE_LIMIT}")
}

/// What Meta's Graph APIs share in the proxy (Facebook, Instagram, Threads): a dead token is
/// error code 190 whatever the status, and limits come as `x-app-usage` (the app's hourly
/// allowance, in percent) and `x-business-use-case-usage` (a Page's or an Instagram
/// account's, with `estimated_time_to_regain_access` in minutes).
pub fn graph_hosts_proxy(extra_hosts: &[&str], budgets: Vec<BudgetRule>) -> ProxySpec {
    ProxySpec {
        extra_hosts: extra_hosts.iter().map(|h| h.to_string()).collect(),
        budgets,
        rate_headers: RateHeaders::MetaUsage,
        token_invalid: TokenInvalid::MetaCode190,
        ..ProxySpec::default()
    }
}

/// [`graph_hosts_proxy`] for graph.facebook.com, which also takes `?method=post` (or
/// `delete`) on a GET as that method.
pub fn graph_proxy(extra_hosts: &[&str], budgets: Vec<BudgetRule>) -> ProxySpec {
    ProxySpec { method_param: Some("method".into()), ..graph_hosts_proxy(extra_hosts, budgets) }
}

/// `GET /me/permissions` on [`GRAPH_API_VERSION`]: what the person granted the app (and
/// declined), read at connect. A literal, so no platform value builds it (a test holds it to
/// the version). Graph's edges are paged (https://developers.facebook.com/docs/graph-api/results/,
/// checked 2026-12-07: `limit` is "the maximum number of objects that may be returned", the
/// last page is the one without `next`): one page of 500 (`crate::scopes`'s most read) holds
/// every permission there is, and an answer naming a next page is refused, not followed.
pub const ME_PERMISSIONS_URL: &str = "https://graph.facebook.com/v25.0/me/permissions?limit=500";

/// The `facebook` platform.
pub fn platform() -> Platform {
    let v = GRAPH_API_VERSION;
    Platform {
        authorize_url: format!("https://www.facebook.com/{v}/dialog/oauth"),
        token_url: format!("https://graph.facebook.com/{v}/oauth/access_token"),
        revoke_url: Some(format!("https://graph.facebook.com/{v}/me/permissions")),
        revoke_style: RevokeStyle::BearerDelete,
        // DELETE /me/permissions takes the app's whole permission from the person: every
        // token of that account ends, in every app of this deployment.
        revoke_reach: RevokeReach::Account,
        identity: IdentityMap {
            url: format!("https://graph.facebook.com/{v}/me?fields=id,name,picture"),
            id: "/id".into(),
            username: None,
            display_name: Some("/name".into()),
            avatar_url: Some("/picture/data/url".into()),
        },
        default_scopes: vec!["pages_show_list".into(), "pages_read_engagement".into(), "pages_manage_posts".into()],
        scope_separator: ",".into(),
        // Meta rejects a code_verifier sent without a challenge, and ignores challenges.
        pkce: Pkce::None,
        token_request: TokenRequest::QueryGet,
        long_lived_swap: Some(LongLivedSwap {
            url: format!("https://graph.facebook.com/{v}/oauth/access_token"),
            grant_type: "fb_exchange_token".into(),
            token_param: "fb_exchange_token".into(),
            send_client_id: true,
        }),
        code_suffix: Some("#_".into()),
        // The token answer names no permission: Graph lists them, each granted or declined.
        granted_scopes_url: Some(ME_PERMISSIONS_URL),
        // Without it the dialog silently leaves out a permission the person declined before.
        rerequest_params: &[("auth_type", "rerequest")],
        refresh: RefreshKind::None,
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "190".into()],
        api_base_url: Some("https://graph.facebook.com".into()),
        // Page video uploads go to graph-video.facebook.com with the same token.
        proxy: graph_proxy(&["graph-video.facebook.com"], vec![]),
        // Any Graph token (a user's or a Page's) answers `/me`; `id` alone keeps it cheap.
        liveness_url: Some(format!("https://graph.facebook.com/{v}/me?fields=id")),
        // Nobody posts as a person: each Page is an account, acting with its own Page token.
        accounts: AccountSource::FacebookPages,
        accounts_url: Some(me_accounts_url(PAGE_FIELDS)),
        docs_url: "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow".into(),
        checked_on: "2026-11-30".into(),
        ..Platform::oauth2("facebook", "Facebook Pages")
    }
}
