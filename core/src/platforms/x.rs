//! X (Twitter) OAuth 2.0 with PKCE. Facts checked 2026-11-23 against
//! https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code

use super::{ClientAuth, IdentityMap, Platform, RefreshKind};

/// The `x` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://x.com/i/oauth2/authorize".into(),
        token_url: "https://api.x.com/2/oauth2/token".into(),
        revoke_url: Some("https://api.x.com/2/oauth2/revoke".into()),
        identity: IdentityMap {
            url: "https://api.x.com/2/users/me?user.fields=profile_image_url".into(),
            id: "/data/id".into(),
            username: Some("/data/username".into()),
            display_name: Some("/data/name".into()),
            avatar_url: Some("/data/profile_image_url".into()),
        },
        // Without offline.access X issues no refresh token.
        default_scopes: vec!["tweet.read".into(), "tweet.write".into(), "users.read".into(), "offline.access".into()],
        client_auth: ClientAuth::Basic,
        refresh: RefreshKind::RotatingRefreshToken,
        default_access_ttl_secs: Some(2 * 3600),
        api_base_url: Some("https://api.x.com".into()),
        docs_url: "https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("x", "X")
    }
}
