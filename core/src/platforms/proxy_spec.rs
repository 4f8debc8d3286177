//! What a platform declares for the proxy ([`ProxySpec`]): its other hosts, the headers it
//! takes, its budgets known in advance, how its answers report limits and a dead token. The
//! proxy's rules that read these (`crate::proxy`) sit above and re-export them.

use serde::Serialize;

/// Whose budget a rule is: one account's, or the platform app's (this deployment's client
/// id, shared by every account and every app of the deployment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Per connected account (profile).
    Profile,
    /// Per platform app (client id).
    App,
}

/// A budget known in advance: at most `limit` calls per `window_secs` for calls whose
/// endpoint class matches `endpoint`: exactly, `*` for every call, a prefix ending in `*`
/// (`GET /2/users/*`), or a method and a suffix (`POST */media_publish`, for paths with or
/// without a version first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetRule {
    /// Endpoint class pattern, e.g. `POST /2/tweets`, `GET /2/users/*`, `POST */media_publish`
    /// or `*`.
    pub endpoint: String,
    /// Whose budget.
    pub scope: Scope,
    /// Calls per window.
    pub limit: u32,
    /// Window length in seconds.
    pub window_secs: i64,
}

impl BudgetRule {
    /// A rule; `endpoint` as in [`BudgetRule::endpoint`], normalized as classes are
    /// (method upper-case, path lower-case, no trailing `/`).
    pub fn new(endpoint: &str, scope: Scope, limit: u32, window_secs: i64) -> Self {
        let endpoint = match endpoint.split_once(' ') {
            Some((m, p)) => {
                let p = p.to_ascii_lowercase();
                let p = if p.len() > 1 { p.trim_end_matches('/').to_string() } else { p };
                format!("{} {p}", m.to_ascii_uppercase())
            }
            None => endpoint.to_string(),
        };
        BudgetRule { endpoint, scope, limit, window_secs }
    }

    /// Whether this rule counts a call of `class`.
    pub fn matches(&self, class: &str) -> bool {
        if let Some((method, suffix)) = self.endpoint.split_once(" *") {
            return class.strip_prefix(method).is_some_and(|rest| rest.starts_with(' ') && rest.ends_with(suffix));
        }
        match self.endpoint.strip_suffix('*') {
            Some(prefix) => class.starts_with(prefix),
            None => self.endpoint == class,
        }
    }
}

/// How a platform reports its limits in answer headers (beyond `Retry-After`, which every
/// platform may send).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateHeaders {
    /// Nothing beyond `Retry-After`.
    None,
    /// X: `x-rate-limit-remaining` and `x-rate-limit-reset` (epoch seconds), for the
    /// endpoint and the account the call was made as.
    XRateLimit,
    /// Reddit: `x-ratelimit-remaining` (a decimal) and `x-ratelimit-reset` (seconds from
    /// now), for the client id: the app's budget.
    RedditRateLimit,
    /// Meta: `x-app-usage` (percentages of the app's hourly allowance) and
    /// `x-business-use-case-usage` (`estimated_time_to_regain_access`, minutes).
    MetaUsage,
    /// No headers, and quotas per day that reset at midnight UTC (LinkedIn): a 429 without
    /// `Retry-After` lasts until the next midnight UTC.
    DailyUtc,
}

/// How a platform says, on an API call, that the token is dead or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenInvalid {
    /// HTTP 401 (RFC 6750).
    Status401,
    /// HTTP 401, or Graph's error code 190 in a 400/401/403 body (Meta).
    MetaCode190,
    /// HTTP 401, or XRPC's `{"error": "ExpiredToken"}` in a 400 (a PDS answers an expired
    /// access JWT that way).
    XrpcExpiredToken,
}

/// What a platform's proxy needs beyond `api_base_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySpec {
    /// Hosts besides the API base's that a call may name with `x-connect-links-host`
    /// (upload hosts that take the same token).
    pub extra_hosts: Vec<String>,
    /// Platform request headers that pass besides [`crate::proxy::COMMON_REQUEST_HEADERS`].
    pub request_headers: Vec<String>,
    /// Budgets known in advance.
    pub budgets: Vec<BudgetRule>,
    /// How answers report limits.
    pub rate_headers: RateHeaders,
    /// How answers say the token is dead.
    pub token_invalid: TokenInvalid,
    /// A query parameter that tunnels another method through a GET (Graph's `method`).
    pub method_param: Option<String>,
}

impl Default for ProxySpec {
    fn default() -> Self {
        ProxySpec {
            extra_hosts: vec![],
            request_headers: vec![],
            budgets: vec![],
            rate_headers: RateHeaders::None,
            token_invalid: TokenInvalid::Status401,
            method_param: None,
        }
    }
}
