//! Facebook Login for Pages. Facts checked 2026-11-23 against
//! https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow and
//! https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived

use super::{
    IdentityMap, LongLivedSwap, Pkce, Platform, RefreshKind, RevokeReach, RevokeStyle, TokenRequest, GRAPH_API_VERSION,
};

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
        refresh: RefreshKind::None,
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "190".into()],
        api_base_url: Some("https://graph.facebook.com".into()),
        docs_url: "https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("facebook", "Facebook Pages")
    }
}
