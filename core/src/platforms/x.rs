//! X (Twitter) OAuth 2.0 with PKCE. Facts checked 2026-11-23 against
//! https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://docs.x.com/x-api/fundamentals/rate-limits (per-user and per-app windows;
//! `x-rate-limit-reset` is a Unix time; 429 when spent; pay-per-use billing is separate).

use super::proxy_spec::{BudgetRule, ProxySpec, RateHeaders, Scope};
use super::types::{ClientAuth, IdentityMap, Platform, RefreshKind};

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
        // No `refresh_idle_secs`: the OAuth 2.0 guide (docs_url, checked 2026-11-30) gives the
        // access token's two hours and no lifetime for refresh tokens, and the token answer
        // carries none. In on_demand mode the cron uses the rotating token every 23 days
        // (`refresh_policy::UNKNOWN_ROTATING_IDLE`, assumed for any rotating token of
        // unknown lifetime), and reads in between.
        // X answers a dead refresh token (spent by rotation, revoked, expired) with HTTP 400
        // `{"error":"invalid_request","error_description":"Value passed for the token was
        // invalid."}`, not RFC 6749's `invalid_grant`; read as transient, such a profile
        // would retry forever and never ask its user to reconnect. Only this description
        // is terminal: other `invalid_request` answers (a missing parameter) are our bug.
        // Checked 2026-11-30: https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
        // documents the refresh grant but not its errors; X's `invalid_request` + "Value
        // passed for the ... was invalid." dialect for dead values is shown in
        // https://github.com/plhery/node-twitter-api-v2/issues/496 (there for a spent code).
        refresh_terminal_answers: vec![("invalid_request".into(), "Value passed for the token was invalid".into())],
        api_base_url: Some("https://api.x.com".into()),
        // Per user (15-minute windows) and per app (24 hours or 15 minutes); every answer
        // says what is left in `x-rate-limit-*`. Media uploads are on api.x.com too.
        proxy: ProxySpec {
            budgets: vec![
                BudgetRule::new("POST /2/tweets", Scope::Profile, 100, 900),
                BudgetRule::new("POST /2/tweets", Scope::App, 10_000, 86_400),
                BudgetRule::new("DELETE /2/tweets/{id}", Scope::Profile, 50, 900),
                BudgetRule::new("GET /2/users/me", Scope::Profile, 75, 900),
                BudgetRule::new("GET /2/users/{id}/tweets", Scope::Profile, 900, 900),
                BudgetRule::new("GET /2/users/{id}/tweets", Scope::App, 10_000, 900),
                BudgetRule::new("POST /2/media/upload", Scope::Profile, 500, 900),
                BudgetRule::new("POST /2/media/upload", Scope::App, 50_000, 86_400),
            ],
            rate_headers: RateHeaders::XRateLimit,
            ..ProxySpec::default()
        },
        docs_url: "https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code".into(),
        checked_on: "2026-11-23".into(),
        ..Platform::oauth2("x", "X")
    }
}
