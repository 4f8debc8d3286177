//! Platform definitions: each platform is one [`Platform`] value (endpoints, scopes, PKCE,
//! client auth, identity mapping, refresh kind), in a file of its own.
//!
//! Quirk hooks, and who overrides them (none yet beyond the data fields):
//! - `sandbox`: uses only data fields.

pub mod sandbox;

use serde::Serialize;

/// How a platform authenticates its users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// A browser redirect to a consent screen.
    Oauth2,
    /// Credentials posted by the app (Bluesky).
    AppPassword,
    /// OAuth 2.0 against an instance chosen per connect (Mastodon).
    InstanceOauth2,
}

/// Whether the platform gets a PKCE challenge. `None` is a named opt-out for platforms that
/// reject or ignore PKCE, pinned by a test each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkce {
    /// Send `code_challenge` (S256) and `code_verifier`.
    S256,
    /// Send neither.
    None,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic base64(client_id:client_secret)`.
    Basic,
    /// `client_id` (or the platform's name for it) and `client_secret` in the form body.
    Body,
}

/// How a platform keeps tokens alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshKind {
    /// A refresh token that stays the same.
    RefreshToken,
    /// Each refresh returns a new refresh token and kills the old one.
    RotatingRefreshToken,
    /// The access token is exchanged for a fresh one (Meta long-lived tokens).
    SelfExchange,
    /// No refresh; the user reconnects.
    None,
}

/// Where the identity call's answer keeps each profile field, as JSON pointers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMap {
    /// The identity endpoint, called with the new access token as a Bearer token.
    pub url: String,
    /// Pointer to the stable account id (required).
    pub id: String,
    /// Pointer to the handle.
    pub username: Option<String>,
    /// Pointer to the display name.
    pub display_name: Option<String>,
    /// Pointer to the avatar URL.
    pub avatar_url: Option<String>,
}

/// One platform's facts. Built-ins are constructed in their own files; custom providers
/// come from configuration into the same shape.
#[derive(Debug, Clone)]
pub struct Platform {
    /// Id used in the API and in secret names (`<ID>_CLIENT_ID`).
    pub id: String,
    /// Human name.
    pub name: String,
    /// How users authenticate.
    pub auth: AuthKind,
    /// The consent screen.
    pub authorize_url: String,
    /// Code exchange and refresh.
    pub token_url: String,
    /// Token revocation, where the platform has one.
    pub revoke_url: Option<String>,
    /// Identity call and field mapping.
    pub identity: IdentityMap,
    /// Scopes requested when the app names none.
    pub default_scopes: Vec<String>,
    /// Scope separator in the authorize URL.
    pub scope_separator: String,
    /// PKCE or not.
    pub pkce: Pkce,
    /// Client authentication at the token endpoint.
    pub client_auth: ClientAuth,
    /// The parameter name for the client id (`client_key` on TikTok).
    pub client_id_param: String,
    /// Extra parameters on the authorize URL.
    pub authorize_params: Vec<(String, String)>,
    /// Refresh kind.
    pub refresh: RefreshKind,
    /// Fallback access-token lifetime when the answer has no `expires_in`.
    pub default_access_ttl_secs: Option<i64>,
    /// Where the facts come from.
    pub docs_url: String,
    /// When the facts were last checked against the docs.
    pub checked_on: String,
}

impl Platform {
    /// The name of the secret holding the client id (`SANDBOX_CLIENT_ID`).
    pub fn client_id_secret_name(&self) -> String {
        format!("{}_CLIENT_ID", self.id.to_ascii_uppercase())
    }
    /// The name of the secret holding the client secret.
    pub fn client_secret_secret_name(&self) -> String {
        format!("{}_CLIENT_SECRET", self.id.to_ascii_uppercase())
    }
}

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
    /// Whether client id and secret are set.
    pub configured: bool,
}

impl PlatformInfo {
    /// The listing entry of `p`.
    pub fn of(p: &Platform, configured: bool) -> Self {
        PlatformInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            auth: p.auth,
            pkce: p.pkce == Pkce::S256,
            default_scopes: p.default_scopes.clone(),
            refresh: p.refresh,
            configured,
        }
    }
}

/// Everything the worker knows about platforms for one request.
#[derive(Debug, Clone)]
pub struct Catalog {
    platforms: Vec<Platform>,
}

impl Catalog {
    /// The built-in platforms; the sandbox only when `sandbox_on`, served under `public_url`.
    pub fn new(public_url: &str, sandbox_on: bool) -> Self {
        let mut platforms = Vec::new();
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
