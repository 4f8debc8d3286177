//! Mastodon: OAuth 2.0 against the instance each connect names (`AuthKind::InstanceOauth2`).
//! Every URL holds the literal `{instance}`, which the worker replaces by the host
//! `crate::host::public_host` validated; the client comes from the instance's own
//! registration (`crate::mastodon`), not from `MASTODON_CLIENT_ID` secrets.
//!
//! Endpoints, checked 2026-11-30 against mastodon/documentation:
//! - `GET /.well-known/oauth-authorization-server` (4.3+, 404 before):
//!   https://docs.joinmastodon.org/methods/oauth/#authorization-server-metadata
//! - `POST /api/v1/apps`: https://docs.joinmastodon.org/methods/apps/#create
//! - `GET /oauth/authorize` (PKCE S256 from 4.3; older instances ignore it, so the worker
//!   sends it only when advertised): https://docs.joinmastodon.org/methods/oauth/#authorize
//! - `POST /oauth/token` (no `expires_in`, no refresh token: tokens live until revoked):
//!   https://docs.joinmastodon.org/methods/oauth/#token,
//!   https://docs.joinmastodon.org/entities/Token/
//! - `POST /oauth/revoke` (form `client_id`, `client_secret`, `token`; 200 `{}`, 403
//!   `unauthorized_client`): https://docs.joinmastodon.org/methods/oauth/#revoke
//! - `GET /api/v1/accounts/verify_credentials` (user token with `read:accounts`, or
//!   `profile` on 4.3+): https://docs.joinmastodon.org/methods/accounts/#verify_credentials,
//!   fields at https://docs.joinmastodon.org/entities/Account/
//! - Scopes: https://docs.joinmastodon.org/api/oauth-scopes/
//! - Rate limits (`X-RateLimit-Reset` is an ISO 8601 time, not epoch seconds, so only
//!   `Retry-After` is read): https://docs.joinmastodon.org/api/rate-limits/

//! - Apps without tokens were deleted ("vacuumed") by instances before 4.3, which removed
//!   that job: https://github.com/mastodon/mastodon/pull/30316 (checked 2026-11-30). The
//!   worker confirms a stored client hourly (`src/connect/mastodon.rs`).
use super::proxy_spec::{BudgetRule, ProxySpec, Scope};
use super::types::{AuthKind, ClientAuth, IdentityMap, Pkce, Platform, RefreshKind, RevokeReach, RevokeToken};

/// The `mastodon` platform, its URLs still holding `{instance}`.
pub fn platform() -> Platform {
    Platform {
        auth: AuthKind::InstanceOauth2,
        authorize_url: "https://{instance}/oauth/authorize".into(),
        token_url: "https://{instance}/oauth/token".into(),
        // RFC 7009 with the client in the body; there is no refresh token, so the access
        // token is what is revoked.
        revoke_url: Some("https://{instance}/oauth/revoke".into()),
        revoke_token: RevokeToken::Access,
        // Mastodon's Doorkeeper runs with `reuse_access_token`: the same user authorizing the
        // same client for the same scopes again gets the same token back, so two profiles of
        // this deployment may share one token, and revoking it for one ends the other.
        revoke_reach: RevokeReach::Account,
        identity: IdentityMap {
            url: "https://{instance}/api/v1/accounts/verify_credentials".into(),
            // A string, unique per instance only: the worker keys accounts with
            // `crate::mastodon::account_key`.
            id: "/id".into(),
            username: Some("/username".into()),
            display_name: Some("/display_name".into()),
            avatar_url: Some("/avatar".into()),
        },
        // `read:accounts` lets verify_credentials work on every version (`profile` would be
        // narrower but is 4.3+ only, and these defaults are the same for every instance);
        // reading and posting statuses with media is what a connected social account is
        // for. Each is registered by name (`crate::mastodon::registration_scopes`), as the
        // consent screen requires.
        default_scopes: vec![
            "read:accounts".into(),
            "read:statuses".into(),
            "write:statuses".into(),
            "write:media".into(),
        ],
        // The worker turns it off for an instance that does not advertise S256.
        pkce: Pkce::S256,
        client_auth: ClientAuth::Body,
        refresh: RefreshKind::None,
        // A revoked or unknown token gets 401 `{"error": "The access token is invalid"}`
        // (or "... was revoked"): a message, no code to match.
        liveness_401_terminal: true,
        api_base_url: Some("https://{instance}".into()),
        // Per account, as documented: media uploads and status deletions, 30 per 30 minutes
        // (all endpoints share 300 per 5 minutes, which a 429 with Retry-After covers).
        proxy: ProxySpec {
            budgets: vec![
                BudgetRule::new("POST /api/v1/media", Scope::Profile, 30, 1800),
                BudgetRule::new("POST /api/v2/media", Scope::Profile, 30, 1800),
                BudgetRule::new("DELETE /api/v1/statuses/{id}", Scope::Profile, 30, 1800),
            ],
            ..ProxySpec::default()
        },
        docs_url: "https://docs.joinmastodon.org/methods/oauth/".into(),
        checked_on: "2026-11-30".into(),
        ..Platform::oauth2("mastodon", "Mastodon")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_is_on_the_instance_placeholder() {
        let p = platform();
        assert_eq!(p.auth, AuthKind::InstanceOauth2);
        for url in [&p.authorize_url, &p.token_url, &p.identity.url, p.revoke_url.as_ref().unwrap_or(&String::new())] {
            assert!(url.starts_with("https://{instance}/"), "{url}");
        }
        assert_eq!(p.api_base_url.as_deref(), Some("https://{instance}"));
        assert_eq!(p.refresh, RefreshKind::None);
        assert_eq!(p.pkce, Pkce::S256);
        assert_eq!(p.client_auth, ClientAuth::Body);
    }
}
