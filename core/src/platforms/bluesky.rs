//! Bluesky (AT Protocol) with app passwords: no consent screen, no client app; the user gives
//! a handle and an app password, and the worker signs in on the account's own PDS. The pure
//! steps live in `crate::atproto`; this file holds the platform's data.
//!
//! `{instance}` in the URLs below stands for the account's PDS host (from its DID document,
//! checked by `crate::host::public_host`), filled in per account.
//!
//! Endpoints, checked 2026-11-30:
//! - Handle -> DID: `GET https://public.api.bsky.app/xrpc/com.atproto.identity.resolveHandle`
//!   (unknown handle: 400 `InvalidRequest` on the AppView, `HandleNotFound` on a PDS)
//!   https://docs.bsky.app/docs/api/com-atproto-identity-resolve-handle, lexicon
//!   https://github.com/bluesky-social/atproto/blob/main/lexicons/com/atproto/identity/resolveHandle.json
//! - DID -> document: `GET https://plc.directory/<did>` or `GET
//!   https://<host>/.well-known/did.json`; the PDS is the `#atproto_pds` service of type
//!   `AtprotoPersonalDataServer` https://atproto.com/specs/did
//! - Handle and DID syntax: https://atproto.com/specs/handle, https://atproto.com/specs/did
//! - Sign-in: `POST https://{instance}/xrpc/com.atproto.server.createSession` `{identifier,
//!   password}` https://docs.bsky.app/docs/api/com-atproto-server-create-session, lexicon
//!   https://github.com/bluesky-social/atproto/blob/main/lexicons/com/atproto/server/createSession.json
//! - Refresh: `POST https://{instance}/xrpc/com.atproto.server.refreshSession`, Bearer
//!   refreshJwt; the refresh JWT rotates (the old one lives 2 h more on the reference PDS);
//!   dead tokens answer 400 `ExpiredToken` / `InvalidToken`, lexicon error `AccountTakedown`
//!   https://docs.bsky.app/docs/api/com-atproto-server-refresh-session, lexicon
//!   https://github.com/bluesky-social/atproto/blob/main/lexicons/com/atproto/server/refreshSession.json
//! - Revoke: `POST https://{instance}/xrpc/com.atproto.server.deleteSession`, Bearer
//!   refreshJwt (the access JWT stays valid until its `exp`, at most 2 h)
//!   https://docs.bsky.app/docs/api/com-atproto-server-delete-session, lexicon
//!   https://github.com/bluesky-social/atproto/blob/main/lexicons/com/atproto/server/deleteSession.json
//! - Profile: `GET https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile?actor=<did>`,
//!   no auth https://docs.bsky.app/docs/api/app-bsky-actor-get-profile
//! - Hosts: https://docs.bsky.app/docs/advanced-guides/api-directory; rate limits (sign-in 30
//!   per 5 minutes and 300 a day per handle, 100 a day on the bsky.social Entryway per
//!   https://github.com/bluesky-social/bsky-docs/issues/183; a PDS allows 3000 requests per
//!   5 minutes per IP, which all our users share) https://docs.bsky.app/docs/advanced-guides/rate-limits
//!
//! Proxy note: an expired access JWT is answered 400 `ExpiredToken`, not 401, on the PDS.

use super::proxy_spec::{ProxySpec, TokenInvalid};
use super::types::{AuthKind, IdentityMap, Pkce, Platform, RefreshCall, RefreshKind, RevokeStyle};

/// Access-token lifetime assumed when the access JWT's `exp` can't be read: the reference
/// PDS issues 120-minute access JWTs, so scheduling a refresh by then is never late there.
pub const DEFAULT_ACCESS_TTL_SECS: i64 = 2 * 3600;

/// The `bluesky` platform.
pub fn platform() -> Platform {
    Platform {
        auth: AuthKind::AppPassword,
        // No consent screen: the app password is posted to createSession.
        authorize_url: String::new(),
        token_url: "https://{instance}/xrpc/com.atproto.server.refreshSession".into(),
        revoke_url: Some("https://{instance}/xrpc/com.atproto.server.deleteSession".into()),
        // Public and unauthenticated; `crate::atproto::profile_request` adds `?actor=<did>`.
        identity: IdentityMap {
            url: "https://public.api.bsky.app/xrpc/app.bsky.actor.getProfile".into(),
            id: "/did".into(),
            username: Some("/handle".into()),
            display_name: Some("/displayName".into()),
            avatar_url: Some("/avatar".into()),
        },
        // App passwords carry no OAuth scopes.
        default_scopes: vec![],
        pkce: Pkce::None,
        refresh: RefreshKind::RotatingRefreshToken,
        refresh_call: RefreshCall::AtprotoSession,
        revoke_style: RevokeStyle::BearerPost,
        // The reference PDS issues 120-minute access JWTs; the JWT's own `exp` wins when
        // readable (see `crate::atproto::parse_session`).
        default_access_ttl_secs: Some(DEFAULT_ACCESS_TTL_SECS),
        terminal_errors: vec!["ExpiredToken".into(), "InvalidToken".into(), "AccountTakedown".into()],
        api_base_url: Some("https://{instance}".into()),
        // The PDS proxies `app.bsky.*` to the Bluesky AppView by default; an app that wants
        // another service names it in `atproto-proxy`.
        proxy: ProxySpec {
            request_headers: vec!["atproto-proxy".into(), "atproto-accept-labelers".into()],
            // An expired access JWT is a 400 `ExpiredToken` on a PDS, not a 401.
            token_invalid: TokenInvalid::XrpcExpiredToken,
            ..ProxySpec::default()
        },
        docs_url: "https://docs.bsky.app/docs/api/com-atproto-server-create-session".into(),
        checked_on: "2026-11-30".into(),
        ..Platform::oauth2("bluesky", "Bluesky")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bluesky_is_an_app_password_platform_on_the_accounts_pds() {
        let p = platform();
        assert_eq!((p.id.as_str(), p.name.as_str()), ("bluesky", "Bluesky"));
        assert_eq!(p.auth, AuthKind::AppPassword);
        assert_eq!(p.refresh, RefreshKind::RotatingRefreshToken);
        assert_eq!(p.pkce, Pkce::None);
        assert!(p.default_scopes.is_empty());
        assert_eq!(p.token_url, "https://{instance}/xrpc/com.atproto.server.refreshSession");
        assert_eq!(p.revoke_url.as_deref(), Some("https://{instance}/xrpc/com.atproto.server.deleteSession"));
        assert_eq!(p.api_base_url.as_deref(), Some("https://{instance}"));
        assert_eq!(p.terminal_errors, ["ExpiredToken", "InvalidToken", "AccountTakedown"]);
        assert_eq!(p.checked_on, "2026-11-30");
    }
}
