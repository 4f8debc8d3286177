//! LinkedIn (Sign In with LinkedIn using OpenID Connect, Share on LinkedIn). Facts checked
//! 2026-11-23 against
//! https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
//!
//! The organization listing (the accounts behind a login) checked 2026-11-30 against
//! https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role
//! (`GET /rest/organizationAcls?q=roleAssignee`, FINDER calls need
//! `X-Restli-Protocol-Version: 2.0.0`; scopes `rw_organization_admin`, `r_organization_admin`),
//! https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api
//! (batch get of administered organizations: `GET /rest/organizations?ids=List(1,2)`, answered
//! `{"results": {"1": {localizedName, vanityName, ...}}, "statuses", "errors"}`),
//! https://learn.microsoft.com/en-us/linkedin/marketing/versioning (every `/rest` call sends
//! `LinkedIn-Version: YYYYMM`; a version lives at least a year) and
//! https://learn.microsoft.com/en-us/linkedin/marketing/integrations/recent-changes
//! (202608, August 2026, the latest version listed).
//! Logos (`logoV2`) are digital-media asset URNs that need a further Images API call per
//! organization: not fetched, organization profiles have no avatar.
//!
//! The proxy's hosts and limits checked 2026-11-30 against
//! https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits (per-day
//! quotas per application and per member, reset at midnight UTC, 429 when spent, standard
//! limits not published),
//! https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version and
//! https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/query-tunneling.

use super::proxy_spec::{ProxySpec, RateHeaders};
use super::types::{AccountSource, IdentityMap, Pkce, Platform, RefreshKind};

/// The `LinkedIn-Version` sent on every `/rest` call (YYYYMM), in one place.
pub const API_VERSION: &str = "202608";

/// The member's approved administrator roles (the first organizations call).
pub const ORGANIZATION_ACLS_URL: &str =
    "https://api.linkedin.com/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED";

/// The batch lookup of administered organizations (`?ids=List(...)` is appended).
pub const ORGANIZATIONS_URL: &str = "https://api.linkedin.com/rest/organizations";

/// The `linkedin` platform.
pub fn platform() -> Platform {
    Platform {
        authorize_url: "https://www.linkedin.com/oauth/v2/authorization".into(),
        token_url: "https://www.linkedin.com/oauth/v2/accessToken".into(),
        identity: IdentityMap {
            url: "https://api.linkedin.com/v2/userinfo".into(),
            id: "/sub".into(),
            username: None,
            display_name: Some("/name".into()),
            avatar_url: Some("/picture".into()),
        },
        default_scopes: vec!["openid".into(), "profile".into(), "w_member_social".into()],
        // PKCE is for LinkedIn's native apps only; web apps send none.
        pkce: Pkce::None,
        // Refresh tokens only for approved partners; everyone else reconnects by day 60.
        refresh: RefreshKind::None,
        default_access_ttl_secs: Some(60 * 24 * 3600),
        terminal_errors: vec!["invalid_grant".into(), "REVOKED_ACCESS_TOKEN".into()],
        api_base_url: Some("https://api.linkedin.com".into()),
        proxy: ProxySpec {
            // `/rest` calls need LinkedIn-Version; FINDER and batch calls need Rest.li 2.0.0.
            request_headers: vec![
                "linkedin-version".into(),
                "x-restli-protocol-version".into(),
                "x-restli-method".into(),
                // Query tunnelling: a POST carrying a long GET (or DELETE) query.
                "x-http-method-override".into(),
            ],
            // Quotas are per day, per member and per application, and reset at midnight
            // UTC; their numbers are not published (only on the developer portal), so no
            // budget is configured: a 429 is remembered until midnight UTC.
            rate_headers: RateHeaders::DailyUtc,
            ..ProxySpec::default()
        },
        // The member, plus the organizations it administers when an organization scope was
        // granted (`accounts::wants_organizations`).
        accounts: AccountSource::LinkedInOrganizations,
        accounts_url: Some(ORGANIZATION_ACLS_URL.into()),
        docs_url: "https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow".into(),
        checked_on: "2026-11-30".into(),
        ..Platform::oauth2("linkedin", "LinkedIn")
    }
}
