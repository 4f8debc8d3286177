//! Platform definitions: each platform is one [`Platform`] value (endpoints, scopes, PKCE,
//! client auth, identity mapping, refresh kind), in a file of its own.
//!
//! Shared behaviour is driven by the data fields; a quirk is a named field whose default does
//! nothing. Who sets which quirk (grep for the field to find the code that honours it):
//! - `token_request: QueryGet`: facebook, instagram_facebook (code exchange is a GET with query
//!   parameters)
//! - `token_envelope`: instagram (the answer is wrapped in `data[0]`)
//! - `scope_field`: instagram (`permissions` instead of `scope`)
//! - `granted_scopes_url`: facebook, instagram_facebook (the token answer says nothing of what
//!   was granted: `GET /me/permissions`)
//! - `rerequest_params`: facebook, instagram_facebook (`auth_type=rerequest` when a reconnect
//!   asks again for a declined permission)
//! - `long_lived_swap`: instagram, threads, facebook, instagram_facebook (short-lived token
//!   swapped at connect)
//! - `code_suffix`: instagram, threads, facebook, instagram_facebook (Meta appends `#_` to the
//!   code)
//! - `client_id_param`: tiktok (`client_key`)
//! - `user_agent`: reddit (a unique User-Agent on every call)
//! - `revoke_token: Access`: tiktok (revokes with the access token only)
//! - `revoke_reach: Account`: facebook, instagram_facebook, youtube, tiktok, custom providers (a
//!   revoke ends every grant of the account)
//! - `refresh_terminal_answers`: x (a dead refresh token is answered `invalid_request`, not
//!   `invalid_grant`)
//! - `pkce: Pkce::None`: instagram, facebook, instagram_facebook, threads, linkedin, pinterest,
//!   reddit
//! - `refresh_call: AtprotoSession`, `revoke_style: BearerPost`, `proxy.token_invalid:
//!   XrpcExpiredToken`: bluesky (sessions on the account's PDS, see `crate::atproto`)
//! - `{instance}` in URLs ([`INSTANCE`], resolved by `Platform::at_instance`): bluesky (the
//!   PDS), mastodon (the instance)
//! - `refresh_idle_secs`: youtube (Google refresh tokens unused for six months expire; read by
//!   apps in `on_demand` refresh mode)
//! - `liveness_401_terminal`: mastodon, API-key providers (a 401 alone means the token is dead)
//! - `token_placement`: API-key providers (a header of their own, or the query)
//! - `accounts` (with `accounts_url`): facebook (`FacebookPages`), instagram_facebook
//!   (`InstagramViaPages`), linkedin (`LinkedInOrganizations`), sandbox (`SandboxPages`); the
//!   default `Login` makes the login the one account (see `crate::accounts`)
//!
//! Layout: [`types`] holds the data every platform file declares (and [`proxy_spec`] what it
//! declares for the proxy); each platform file imports only those. This file lists the
//! platforms ([`Catalog`]). The logic that reads the data (`crate::oauth`, `crate::accounts`,
//! `crate::identity`, `crate::refresh`, `crate::proxy`) sits above and imports from here.

pub mod bluesky;
pub mod custom;
pub mod facebook;
pub mod instagram;
pub mod instagram_facebook;
pub mod linkedin;
pub mod mastodon;
pub mod pinterest;
pub mod proxy_spec;
pub mod reddit;
pub mod sandbox;
pub mod threads;
pub mod tiktok;
pub mod types;
pub mod x;
pub mod youtube;

pub use self::types::{
    AccountSource, AuthKind, ClientAuth, IdentityMap, LongLivedSwap, Pkce, Platform, RefreshCall, RefreshKind,
    RevokeReach, RevokeStyle, RevokeToken, SelfExchange, TokenPlacement, TokenRequest, GRAPH_API_VERSION, INSTANCE,
};

use serde::Serialize;

/// What `GET /v1/platforms` shows of a platform.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformInfo {
    /// Platform id.
    pub id: String,
    /// Human name.
    pub name: String,
    /// How users authenticate.
    pub auth: AuthKind,
    /// Whether PKCE is used.
    pub pkce: bool,
    /// Scopes requested by default.
    pub default_scopes: Vec<String>,
    /// Refresh kind.
    pub refresh: RefreshKind,
    /// Whether client id and secret are set (the app's own or the deployment's).
    pub configured: bool,
    /// Whose platform app a connect uses: `app` (the app's own credentials), `deployment`,
    /// or `None` when not configured.
    pub credentials: Option<&'static str>,
}

impl PlatformInfo {
    /// The listing entry of `p` for an app: `own_scopes` is `Some` when the app brings its
    /// own credentials for `p` (with the default scopes they set, if any); `deployment`
    /// whether the deployment can connect `p` itself.
    pub fn of(p: &Platform, own_scopes: Option<Option<Vec<String>>>, deployment: bool) -> Self {
        let credentials = match (&own_scopes, deployment) {
            (Some(_), _) => Some("app"),
            (None, true) => Some("deployment"),
            (None, false) => None,
        };
        PlatformInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            auth: p.auth,
            pkce: p.pkce == Pkce::S256,
            default_scopes: own_scopes.flatten().unwrap_or_else(|| p.default_scopes.clone()),
            refresh: p.refresh,
            configured: credentials.is_some(),
            credentials,
        }
    }
}

/// Everything the worker knows about platforms for one request.
#[derive(Debug, Clone)]
pub struct Catalog {
    platforms: Vec<Platform>,
}

impl Catalog {
    /// The built-in redirect platforms, in listing order.
    pub fn builtins() -> Vec<Platform> {
        vec![
            instagram::platform(),
            facebook::platform(),
            instagram_facebook::platform(),
            threads::platform(),
            linkedin::platform(),
            x::platform(),
            youtube::platform(),
            tiktok::platform(),
            pinterest::platform(),
            reddit::platform(),
            bluesky::platform(),
            mastodon::platform(),
        ]
    }

    /// The built-ins, then valid custom providers, then the sandbox when `sandbox_on`
    /// (served under `public_url`).
    pub fn new(public_url: &str, sandbox_on: bool, custom: Vec<Platform>) -> Self {
        let mut platforms = Self::builtins();
        platforms.extend(custom);
        if sandbox_on {
            platforms.push(sandbox::platform(public_url));
        }
        Catalog { platforms }
    }

    /// A platform by id.
    pub fn get(&self, id: &str) -> Option<&Platform> {
        self.platforms.iter().find(|p| p.id == id)
    }

    /// All platforms, in a stable order.
    pub fn all(&self) -> &[Platform] {
        &self.platforms
    }
}

#[cfg(test)]
mod tests;
