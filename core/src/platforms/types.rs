//! The data a platform file declares: the [`Platform`] value and the enums and descriptors
//! its fields take (authentication, PKCE, refresh, revocation, identity mapping, the source
//! of its accounts). Only data and the methods that read their own fields live here; the
//! logic that acts on them (`crate::oauth`, `crate::accounts`, `crate::identity`, ...) sits
//! above and imports these types, so a platform file never names that logic.

use super::proxy_spec::ProxySpec;
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
    /// A key the user pastes (`CUSTOM_PROVIDERS` entries of `"kind": "api_key"`).
    ApiKey,
}

impl AuthKind {
    /// Whether accounts connect through a consent screen (a connect link) rather than
    /// credentials posted by the app (`POST /v1/profiles`).
    pub fn redirects(self) -> bool {
        matches!(self, AuthKind::Oauth2 | AuthKind::InstanceOauth2)
    }
}

/// Where a request made as a profile carries its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// A header of the provider's choosing, with a prefix (`X-Api-Key: <key>`).
    Header {
        /// Header name, lower-case.
        name: String,
        /// Written before the token (`Token `, or empty).
        prefix: String,
    },
    /// A query parameter (`?api_key=<key>`).
    Query {
        /// Parameter name.
        name: String,
    },
}

/// The placeholder in a platform's URLs that stands for the account's own server (a Mastodon
/// instance, a Bluesky PDS), replaced by [`Platform::at_instance`].
pub const INSTANCE: &str = "{instance}";

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

/// How the code exchange reaches the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRequest {
    /// `POST` with a form body (RFC 6749).
    FormPost,
    /// `GET` with the parameters in the query (Facebook).
    QueryGet,
}

/// Meta's swap of a short-lived token for a long-lived one, done at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongLivedSwap {
    /// The swap endpoint (called with `GET`).
    pub url: String,
    /// `ig_exchange_token`, `th_exchange_token` or `fb_exchange_token`.
    pub grant_type: String,
    /// The parameter carrying the short-lived token.
    pub token_param: String,
    /// Whether `client_id` is sent too (Facebook wants it).
    pub send_client_id: bool,
}

/// A self-exchange refresh (Meta long-lived tokens): `GET url?grant_type=..&access_token=..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfExchange {
    /// The refresh endpoint.
    pub url: String,
    /// `ig_refresh_token` or `th_refresh_token`.
    pub grant_type: String,
}

/// How a platform revokes a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeStyle {
    /// RFC 7009: `POST token=...` with client authentication.
    Rfc7009,
    /// `DELETE` the revoke URL with the access token as a Bearer token (Facebook).
    BearerDelete,
    /// `POST` the revoke URL with the token as a Bearer token and no body (Bluesky's
    /// `deleteSession`, which takes the refresh JWT).
    BearerPost,
}

/// How a refresh reaches the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshCall {
    /// The OAuth token endpoint (`grant_type=refresh_token`), or the self-exchange URL.
    TokenEndpoint,
    /// AT Protocol's `refreshSession` on the account's PDS: the refresh JWT as a Bearer
    /// token, no body; the answer is a session (`accessJwt`, `refreshJwt`).
    AtprotoSession,
}

/// How far a platform's revocation reaches, which decides when we may revoke (see
/// `ownership::may_revoke`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReach {
    /// Only the token (and the grant it came from) ends: other grants of the same account
    /// live on (RFC 7009's promise).
    Token,
    /// Every grant of the account for our client ends (Meta's `DELETE /me/permissions`,
    /// Google's revoke).
    Account,
}

/// Which token a revocation sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeToken {
    /// The refresh token when one is stored (RFC 7009: it ends the whole grant).
    Refresh,
    /// Always the access token (TikTok accepts nothing else).
    Access,
}

/// Where a platform's accounts come from, after the identity call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountSource {
    /// The login is the one account (the default).
    Login,
    /// Facebook Pages from `GET /me/accounts` (paginated), each with its Page token; the
    /// person is no account.
    FacebookPages,
    /// Instagram professional accounts from `GET /me/accounts` (`instagram_business_account`
    /// of each Page), each acting with its Page's token; Pages without one are skipped.
    InstagramViaPages,
    /// The member, plus, when an organization scope was granted, the organizations it
    /// administers (`organizationAcls`, then their names and logos).
    LinkedInOrganizations,
    /// The sandbox login plus its two Pages (`GET /sandbox/accounts`), each with a token.
    SandboxPages,
}

/// The Graph API version of Facebook's endpoints: one constant, not scattered in URLs.
pub const GRAPH_API_VERSION: &str = "v25.0";

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
    /// How the revoke URL is called.
    pub revoke_style: RevokeStyle,
    /// Which token it is given.
    pub revoke_token: RevokeToken,
    /// Whether it ends only that grant or every grant of the account.
    pub revoke_reach: RevokeReach,
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
    /// How the refresh call is made.
    pub refresh_call: RefreshCall,
    /// The self-exchange endpoint, for `RefreshKind::SelfExchange`.
    pub self_exchange: Option<SelfExchange>,
    /// Fallback access-token lifetime when the answer has no `expires_in`.
    pub default_access_ttl_secs: Option<i64>,
    /// How long a refresh token lives unused, where the platform documents it (Google: six
    /// months). Apps in `on_demand` refresh mode have the cron use it before then
    /// (`refresh_policy::next_action_at`); `None`: not documented, nothing is assumed.
    pub refresh_idle_secs: Option<i64>,
    /// GET-with-query or POST-with-form code exchange.
    pub token_request: TokenRequest,
    /// JSON pointer to the token object inside the answer, when it is wrapped.
    pub token_envelope: Option<String>,
    /// The answer's field holding the granted scopes.
    pub scope_field: String,
    /// Where the platform says what a consent granted when its token answer does not: one
    /// more call at connect (`crate::scopes::graph_granted` reads Graph's answer); `None`:
    /// the answer's [`Platform::scope_field`], else what was asked.
    pub granted_scopes_url: Option<&'static str>,
    /// What the authorize URL carries when a reconnect asks again for a scope the profile
    /// declined (Meta: `auth_type=rerequest`, without which the dialog does not show a
    /// declined permission again); empty: nothing.
    pub rerequest_params: &'static [(&'static str, &'static str)],
    /// A long-lived swap right after the code exchange.
    pub long_lived_swap: Option<LongLivedSwap>,
    /// A suffix the platform appends to codes, stripped before the exchange.
    pub code_suffix: Option<String>,
    /// A User-Agent to send on every call.
    pub user_agent: Option<String>,
    /// Error codes that mean the grant is dead (for refresh classification).
    pub terminal_errors: Vec<String>,
    /// Refresh answers that mean the grant is dead although their `error` code alone does
    /// not say so: (`error` code, fragment of `error_description`). Both must match; the
    /// profile is then disconnected with reason `invalid_grant`. Empty by default, so a
    /// generic code such as `invalid_request` stays transient everywhere else.
    pub refresh_terminal_answers: Vec<(String, String)>,
    /// The platform's API base, for calls made on the app's behalf (the proxy).
    pub api_base_url: Option<String>,
    /// What the proxy needs beyond the base: other hosts, headers, budgets, dialects.
    pub proxy: ProxySpec,
    /// The cheap call that tells whether a token that never expires still works (the
    /// liveness check); the identity call when `None`. Meta's: `GET /me?fields=id`, which a
    /// Page token answers as well as a user token.
    pub liveness_url: Option<String>,
    /// Where the accounts behind a login come from (`Login`: the login is the one account).
    pub accounts: AccountSource,
    /// The first listing call's full URL (query included), for every source but `Login`.
    /// Pagination links are followed only on this URL's origin (see `accounts::next_request`).
    pub accounts_url: Option<String>,
    /// Where requests made as a profile carry the token (`Bearer` but for API-key providers).
    pub token_placement: TokenPlacement,
    /// Whether a 401 to the liveness check alone proves the token dead, whatever its body
    /// says (Mastodon's and API-key services' 401 bodies carry no code to match).
    pub liveness_401_terminal: bool,
    /// The account's own server this value was resolved for ([`Platform::at_instance`]).
    pub instance: Option<String>,
    /// Where the facts come from.
    pub docs_url: String,
    /// When the facts were last checked against the docs.
    pub checked_on: String,
}

impl Platform {
    /// A redirect platform with the common defaults: PKCE, body client auth, `client_id`,
    /// space-separated scopes, form POST, refresh tokens, no quirks. Each definition
    /// overrides what differs.
    pub fn oauth2(id: &str, name: &str) -> Platform {
        Platform {
            id: id.into(),
            name: name.into(),
            auth: AuthKind::Oauth2,
            authorize_url: String::new(),
            token_url: String::new(),
            revoke_url: None,
            revoke_style: RevokeStyle::Rfc7009,
            revoke_token: RevokeToken::Refresh,
            revoke_reach: RevokeReach::Token,
            identity: IdentityMap {
                url: String::new(),
                id: "/id".into(),
                username: None,
                display_name: None,
                avatar_url: None,
            },
            default_scopes: vec![],
            scope_separator: " ".into(),
            pkce: Pkce::S256,
            client_auth: ClientAuth::Body,
            client_id_param: "client_id".into(),
            authorize_params: vec![],
            refresh: RefreshKind::RefreshToken,
            refresh_call: RefreshCall::TokenEndpoint,
            self_exchange: None,
            default_access_ttl_secs: None,
            refresh_idle_secs: None,
            token_request: TokenRequest::FormPost,
            token_envelope: None,
            scope_field: "scope".into(),
            granted_scopes_url: None,
            rerequest_params: &[],
            long_lived_swap: None,
            code_suffix: None,
            user_agent: None,
            terminal_errors: vec!["invalid_grant".into()],
            refresh_terminal_answers: vec![],
            api_base_url: None,
            proxy: ProxySpec::default(),
            liveness_url: None,
            accounts: AccountSource::Login,
            accounts_url: None,
            token_placement: TokenPlacement::Bearer,
            liveness_401_terminal: false,
            instance: None,
            docs_url: String::new(),
            checked_on: String::new(),
        }
    }

    /// Whether the platform's URLs name the account's own server ([`INSTANCE`]): it is only
    /// usable through [`Platform::at_instance`].
    pub fn per_instance(&self) -> bool {
        self.authorize_url.contains(INSTANCE)
            || self.token_url.contains(INSTANCE)
            || self.identity.url.contains(INSTANCE)
            || self.api_base_url.as_deref().is_some_and(|u| u.contains(INSTANCE))
    }

    /// The platform as one account's server serves it: [`INSTANCE`] replaced by `host` in
    /// every URL. `host` must come from `host::public_host` (or a row written after it).
    pub fn at_instance(&self, host: &str) -> Platform {
        let put = |u: &str| u.replace(INSTANCE, host);
        let mut p = self.clone();
        p.authorize_url = put(&p.authorize_url);
        p.token_url = put(&p.token_url);
        p.revoke_url = p.revoke_url.as_deref().map(put);
        p.identity.url = put(&p.identity.url);
        p.api_base_url = p.api_base_url.as_deref().map(put);
        p.liveness_url = p.liveness_url.as_deref().map(put);
        p.accounts_url = p.accounts_url.as_deref().map(put);
        p.instance = Some(host.to_string());
        p
    }

    /// The name of the secret holding the client id (`SANDBOX_CLIENT_ID`).
    pub fn client_id_secret_name(&self) -> String {
        format!("{}_CLIENT_ID", self.id.to_ascii_uppercase())
    }
    /// The name of the secret holding the client secret.
    pub fn client_secret_secret_name(&self) -> String {
        format!("{}_CLIENT_SECRET", self.id.to_ascii_uppercase())
    }
}
