# Generated from openapi/openapi.json by datamodel-code-generator (pinned in requirements-dev.txt)
# with the options in clients/python/pyproject.toml. Do not edit: run `make sdk-py-generate`.

from __future__ import annotations

from typing import Annotated, Any, Dict, Literal, Optional, Union

from pydantic import AnyUrl, AwareDatetime, BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType


class Error1(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    code: Literal[
        'unauthorized',
        'forbidden',
        'not_found',
        'method_not_allowed',
        'invalid_request',
        'payload_too_large',
        'platform_not_configured',
        'redirect_not_allowed',
        'conflict',
        'link_expired',
        'rate_limited',
        'upstream_error',
        'internal',
        'invalid_credentials',
        'app_password_required',
        'account_unavailable',
        'platform_unsupported',
        'invalid_logo',
    ]
    message: str
    """
    A human sentence.
    """


class Error(BaseModel):
    """
    The one error body of the API: `{"error": {"code", "message"}}`. The message never holds a secret, token, code or verifier.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    error: Error1


ProfileId = TypeAliasType(
    "ProfileId", Annotated[str, Field(..., pattern='^prf_[0-9a-f]{32}$')]
)


EventId = TypeAliasType(
    "EventId", Annotated[str, Field(..., pattern='^evt_[0-9a-f]{32}$')]
)


class Parent(BaseModel):
    """
    What an account is reached through (an Instagram account's Page).
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    id: str
    """
    The parent's platform id.
    """
    name: str | None
    type: Literal['user', 'page', 'organization', 'instagram_business']


class ApiKeyCreated(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^key_[0-9a-f]{32}$')
    api_key: str = Field(..., pattern='^ck_[A-Za-z0-9_-]{43}$')
    """
    `ck_` and 32 random bytes, base64url. Shown once.
    """


class WebhookSecretRotated(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    webhook_secret: str = Field(..., pattern='^whsec_[A-Za-z0-9+/]{43}=$')
    """
    `whsec_` and 32 random bytes, standard base64. Shown once.
    """
    previous_secret_expires_at: AwareDatetime | None
    """
    Until when the previous secret still signs deliveries (24 hours); null when it could not be read and signs nothing.
    """


class KeyUsage(BaseModel):
    """
    What one token-encryption key id still protects.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    kid: str
    """
    The key id.
    """
    current: bool
    """
    New writes use it.
    """
    in_keyring: bool
    """
    It is in `TOKEN_KEYS`.
    """
    profiles: int = Field(..., ge=0)
    """
    Token rows under it: grants, and profiles holding a token of their own.
    """
    apps: int = Field(..., ge=0)
    """
    Apps whose webhook secret (current, or previous within a day of a rotation) or Mastodon client secrets are under it, apps' platform credentials, YouTube WebSub subscriptions' secrets, and the worker's own secrets (the key of Meta data deletion confirmation codes).
    """
    pending_links: int = Field(..., ge=0)
    """
    Pending connect links and account choices under it.
    """
    unreadable: int = Field(..., ge=0)
    """
    Rows that failed to open under it and are skipped.
    """
    removable: bool
    """
    Nothing needs it any more: it can leave `TOKEN_KEYS`.
    """


class KeyUsageList(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[KeyUsage]


Totals = TypeAliasType("Totals", Annotated[int, Field(..., ge=0)])


class PlatformInfo(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str
    name: str
    auth: Literal['oauth2', 'app_password', 'instance_oauth2', 'api_key']
    pkce: bool
    default_scopes: list[str]
    refresh: Literal['refresh_token', 'rotating_refresh_token', 'self_exchange', 'none']
    configured: bool
    """
    Client id and secret are set (the app's own or the deployment's), or the platform needs none (instance_oauth2).
    """
    credentials: Literal['app', 'deployment'] | None
    """
    Whose platform app a connect uses: `app` when the app brings its own credentials for this platform (PUT /v1/admin/apps/{id}/platforms/{platform}; its scopes, if set, are `default_scopes`), `deployment` for the deployment's, `null` when neither is configured.
    """


class PlatformList(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[PlatformInfo]


class AccessToken(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    access_token: str
    """
    The token the profile acts with (a Page profile's own Page token).
    """
    token_type: Literal['Bearer']
    expires_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    scopes: list[str]


class Account(BaseModel):
    """
    One account a login offered in an exchange.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    platform_user_id: str
    account_type: Literal['user', 'page', 'organization', 'instagram_business']
    username: str | None
    display_name: str | None
    avatar_url: str | None
    parent: Parent | None
    profile_id: ProfileId | None
    """
    The profile made for it, or null when it was not connected.
    """


Scope = TypeAliasType(
    "Scope",
    Annotated[str, Field(..., max_length=200, min_length=1, pattern='^[^ ,]+$')],
)
"""
At most 200 bytes (UTF-8), no space or comma.
"""


OptionalScope = TypeAliasType(
    "OptionalScope",
    Annotated[str, Field(..., max_length=200, min_length=1, pattern='^[^ ,]+$')],
)
"""
At most 200 bytes (UTF-8), no space or comma.
"""


Credentials = TypeAliasType(
    "Credentials",
    Annotated[
        str,
        Field(
            ...,
            max_length=4096,
            min_length=1,
            pattern='^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$',
        ),
    ],
)


class ClaimRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    connect_token: str
    """
    The one-time token of the final redirect.
    """


class ExchangeRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    code: str
    """
    The authorization code the platform gave the app.
    """
    state: str
    """
    The link's state, as the platform returned it.
    """
    account_ids: list[str] | None = None
    """
    The `platform_user_id`s to connect; every account when absent.
    """


class Health(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    status: Literal['ok']


class Ok(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    ok: Literal[True]


class DataDeletionResult(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    url: AnyUrl
    """
    `PUBLIC_URL/platform-webhooks/meta/deletion-status/<code>`.
    """
    confirmation_code: str = Field(..., pattern='^[0-9a-f]{20}$')


class MetaSignedRequestForm(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    signed_request: str
    """
    Meta's `<signature>.<payload>`, HMAC-SHA256 with the app secret.
    """


class OAuthError(BaseModel):
    """
    An RFC 6749 error (sandbox only).
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    error: Literal[
        'invalid_client',
        'invalid_request',
        'invalid_grant',
        'unsupported_grant_type',
        'invalid_token',
    ]
    error_description: str


class SandboxToken(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    access_token: str = Field(..., pattern='^sbx_at_')
    token_type: Literal['Bearer']
    expires_in: int
    """
    3600.
    """
    scope: str
    """
    Granted scopes, space separated.
    """
    refresh_token: str | None = Field(None, pattern='^sbx_rt_')
    """
    Only with `offline.access`.
    """


class SandboxUserinfo(BaseModel):
    """
    `{sub, preferred_username, name}` for a user token; `{sub}` for a Page token.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    sub: str
    preferred_username: str | None = None
    name: str | None = None


class Datum(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str
    name: str
    access_token: str = Field(..., pattern='^sbx_pt_')
    tasks: list[str]


class SandboxAccounts(BaseModel):
    """
    Facebook `/me/accounts` shape: the login's Pages, each with a Page token.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[Datum]
    paging: dict[str, Any]


class AppLimits(BaseModel):
    """
    What the app may spend of the deployment: each setting's effective value (the default unless overridden). See README, "Per-app limits".
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    pending_links: int = Field(..., ge=1, le=100000)
    """
    Connect links the app may hold pending (created, not yet completed, failed or expired) at once; default 1000.
    """
    instance_registrations_per_day: int = Field(..., ge=0, le=10000)
    """
    New Mastodon instance registrations the app's links may cause per day; default 50. 0: its links reach only instances already registered.
    """
    connect_links_per_minute: int = Field(..., ge=1, le=100000)
    """
    `POST /v1/connect-links` per minute; default 120.
    """
    profiles_per_minute: int = Field(..., ge=1, le=100000)
    """
    `POST /v1/profiles` per minute; default 60.
    """
    proxy_per_minute: int = Field(..., ge=1, le=1000000)
    """
    Proxied calls per minute; default 1200.
    """
    budget_weight: int = Field(..., ge=1, le=100)
    """
    The app's weight in the platform apps' shared budgets (YouTube's daily units, X's per-app posts, Reddit's calls per client id); default 1. Contending apps get shares in proportion.
    """


class AppLimitsInput(BaseModel):
    """
    Overrides of the app's limits: a number overrides, `null` goes back to the default, an absent field is left as it is. Out of range: 400.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    pending_links: int | None = Field(None, ge=1, le=100000)
    """
    Connect links the app may hold pending (created, not yet completed, failed or expired) at once; default 1000.
    """
    instance_registrations_per_day: int | None = Field(None, ge=0, le=10000)
    """
    New Mastodon instance registrations the app's links may cause per day; default 50. 0: its links reach only instances already registered.
    """
    connect_links_per_minute: int | None = Field(None, ge=1, le=100000)
    """
    `POST /v1/connect-links` per minute; default 120.
    """
    profiles_per_minute: int | None = Field(None, ge=1, le=100000)
    """
    `POST /v1/profiles` per minute; default 60.
    """
    proxy_per_minute: int | None = Field(None, ge=1, le=1000000)
    """
    Proxied calls per minute; default 1200.
    """
    budget_weight: int | None = Field(None, ge=1, le=100)
    """
    The app's weight in the platform apps' shared budgets (YouTube's daily units, X's per-app posts, Reddit's calls per client id); default 1. Contending apps get shares in proportion.
    """


class PlatformWebhooks(BaseModel):
    """
    The platform webhook URLs to register with this platform app, by name (`deauthorize`, `data_deletion` and `events` for Meta's platforms, with their `verify_token`; `events` for TikTok, X and LinkedIn); empty for other platforms.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    __annotations__ = {
        '__pydantic_extra__': Dict[str, AnyUrl],
    }
    verify_token: str | None = None
    """
    Meta's platforms: the Verify Token to enter with the `events` callback URL in the Meta app's Webhooks settings (derived from the client secret: it changes when the secret does).
    """


Scope1 = TypeAliasType(
    "Scope1", Annotated[str, Field(..., max_length=200, min_length=1)]
)


class PutAppPlatformCredentials(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    client_id: str = Field(..., max_length=256, min_length=1)
    client_secret: str = Field(..., max_length=1024, min_length=1)
    scopes: list[Scope1] | None = Field(None, max_length=50)
    webhook_secret: str | None = Field(None, max_length=1024, min_length=1)
    """
    The secret the platform signs its webhooks with, when it is not the client secret: taken only for `x` (the API key secret its Account Activity webhooks are signed with). Refused (422 `platform_unsupported`) for every other platform: Meta and TikTok sign with the client secret, the others send no platform webhooks.
    """


PlatformEvents1Item = TypeAliasType(
    "PlatformEvents1Item",
    Annotated[str, Field(..., pattern='^(\\*|[A-Za-z0-9_.]{1,64})$')],
)


PlatformEvents1 = TypeAliasType(
    "PlatformEvents1", Annotated[list[PlatformEvents1Item], Field(..., max_length=50)]
)


PlatformId1 = TypeAliasType(
    "PlatformId1", Annotated[str, Field(..., pattern='^[a-z][a-z0-9_]{0,31}$')]
)
"""
A custom provider from CUSTOM_PROVIDERS.
"""


class WebhookTestData(BaseModel):
    """
    The data of `webhook.test`: the app it was sent to.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    app_id: str
    """
    The app (`app_...`).
    """


class App(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^app_[0-9a-f]{32}$')
    name: str
    allowed_redirect_urls: list[str]
    webhook_url: str | None
    claim: Literal['required', 'auto']
    refresh_mode: Literal['proactive', 'on_demand']
    """
    How the cron keeps the app's tokens. `proactive` (the default): every access token is refreshed before it expires, so a read never waits. `on_demand`: the cron keeps alive only what would otherwise die (refresh tokens with a known or idle expiry, rotating refresh tokens of unknown lifetime every 23 days, self-exchange tokens, expiring notices); a short-lived access token is refreshed when read through `/access-token` or the proxy. Changing it re-schedules the app's profiles as the cron reaches them.
    """
    limits: AppLimits
    self_service_credentials: bool
    """
    Whether the app may manage its own platform credentials with its API key (`/v1/platform-credentials`); off unless the operator turns it on.
    """
    platform_events: (
        dict[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ],
            PlatformEvents1,
        ]
        | None
    )
    """
    The platform event types forwarded to the app as `platform.event` webhooks; `null` (the default): none.
    """
    display_name: str | None
    """
    The name end-users see on the hosted pages; `null`: the pages show `name`.
    """
    accent_color: str | None = Field(..., pattern='^#[0-9a-f]{6}$')
    """
    `#rrggbb`, lower case; `null`: the pages' own colour.
    """
    logo_url: AnyUrl | None
    """
    Where this deployment serves the app's logo (`GET /apps/{id}/logo/{file}`: the sanitized image, its content hash in the file name, cacheable for good); `null` without a logo. Set with `PUT /v1/admin/apps/{id}/logo`.
    """
    created_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """


class AppCreated(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    app: App
    api_key: str = Field(..., pattern='^ck_[A-Za-z0-9_-]{43}$')
    """
    `ck_` and 32 random bytes, base64url. Shown once.
    """
    api_key_id: str = Field(..., pattern='^key_[0-9a-f]{32}$')
    webhook_secret: str = Field(..., pattern='^whsec_[A-Za-z0-9+/]{43}=$')
    """
    `whsec_` and 32 random bytes, standard base64. Shown once.
    """


class AppList(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[App]
    next_cursor: str | None = Field(
        ..., pattern='^(0|[1-9][0-9]{0,14})\\.[A-Za-z0-9_]{1,64}$'
    )
    """
    Pass as `cursor` for the next page (opaque to apps; the pattern is its form). Null on the last page.
    """


class ProxyCount(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    A platform id: one of the built-in platforms listed here (generated from the catalog by `scripts/openapi-platforms.mjs`; `sandbox` only with SANDBOX=on), or the id of a custom provider configured in CUSTOM_PROVIDERS (`[a-z][a-z0-9_]{0,31}`). `GET /v1/platforms` lists those configured for the app.
    """
    status: int = Field(..., ge=0, le=65535)
    """
    The status answered.
    """
    source: Literal['platform', 'local', 'network']
    """
    Who answered: the platform, a local refusal, or a network failure (502).
    """
    calls: int = Field(..., ge=0)


class Proxy(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    from_: AwareDatetime = Field(..., alias='from')
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    to: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    data: list[ProxyCount]
    totals: dict[str, Totals]
    """
    Calls per platform id.
    """


class ProxyStats(BaseModel):
    """
    Proxied calls of the last hour per platform, status and source.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    proxy: Proxy


Platforms = TypeAliasType(
    "Platforms",
    Annotated[
        list[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ]
        ],
        Field(..., max_length=50, min_length=1),
    ],
)
"""
The platforms the chooser offers, in order; null for a one-platform link.
"""


class ConnectLinkCreated(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^cl_[0-9a-f]{32}$')
    url: AnyUrl
    """
    `PUBLIC_URL/connect/{id}`: redirects to the consent screen (a one-platform link) or shows the hosted chooser (several), for 10 minutes.
    """
    authorize_url: AnyUrl | None
    """
    The platform's consent URL itself; null for a chooser link (there is no consent until the user chooses).
    """
    platform: Optional[
        Union[
            Literal[
                'instagram',
                'facebook',
                'instagram_facebook',
                'threads',
                'linkedin',
                'x',
                'youtube',
                'tiktok',
                'pinterest',
                'reddit',
                'bluesky',
                'mastodon',
                'sandbox',
            ],
            "PlatformId1",
        ]
    ]
    """
    The link's platform; null for a chooser link.
    """
    platforms: Platforms | None
    """
    The platforms the chooser offers, in order; null for a one-platform link.
    """
    expires_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """


Platforms1 = TypeAliasType(
    "Platforms1",
    Annotated[
        list[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ]
        ],
        Field(..., max_length=50, min_length=1),
    ],
)
"""
The platforms a chooser link offers (kept after the choice); null for a one-platform link.
"""


class ConnectLink(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^cl_[0-9a-f]{32}$')
    platform: Optional[
        Union[
            Literal[
                'instagram',
                'facebook',
                'instagram_facebook',
                'threads',
                'linkedin',
                'x',
                'youtube',
                'tiktok',
                'pinterest',
                'reddit',
                'bluesky',
                'mastodon',
                'sandbox',
            ],
            "PlatformId1",
        ]
    ]
    """
    The link's platform: on a chooser link null until the user chooses, then the chosen one (the user may choose again while the link is pending: the latest choice counts).
    """
    platforms: Platforms1 | None
    """
    The platforms a chooser link offers (kept after the choice); null for a one-platform link.
    """
    instance: str | None
    """
    The Mastodon instance of the link, null elsewhere.
    """
    status: Literal['pending', 'awaiting_claim', 'completed', 'failed', 'expired']
    """
    A link whose user is on the Choose accounts page shows `pending`; a pending link past its expiry, or an unclaimed one past its claim window, shows `expired`.
    """
    profile_id: ProfileId | None
    """
    The first profile (completed links), the reconnect target (pending and failed reconnect links), else null.
    """
    profile_ids: list[ProfileId]
    """
    Every profile of a completed link; the reconnect target of a pending or failed reconnect link; else empty.
    """
    error: (
        Literal[
            'access_denied',
            'exchange_failed',
            'missing_scopes',
            'profile_failed',
            'account_connected_elsewhere',
            'no_accounts',
            'server_error',
            'redirect_not_allowed',
        ]
        | None
    )
    """
    The failure code of a failed link.
    """
    missing_scopes: list[str] | None
    """
    For a link failed with `missing_scopes`: the required scopes the user declined. `null` otherwise.
    """
    created_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    expires_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    completed_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    locale: str | None
    """
    The language the link's hosted pages are served in, as given on creation (`locale`); null: the browser's `Accept-Language` decides.
    """


class Profile(BaseModel):
    """
    One account an app can act as; never holds a token.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^prf_[0-9a-f]{32}$')
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    Platform id (`x`, `facebook`, `sandbox`, a custom provider's id...).
    """
    account_type: Literal['user', 'page', 'organization', 'instagram_business']
    grant_id: str = Field(..., pattern='^(grn|prf)_[0-9a-f]{32}$')
    """
    `grn_...`, or for grants split from a profile by migration 0005, that profile's id.
    """
    parent: Parent | None
    platform_user_id: str
    """
    The platform's id of the account.
    """
    username: str | None
    display_name: str | None
    avatar_url: str | None
    external_user_id: str | None
    """
    The app's own id for its user.
    """
    metadata: dict[str, Any]
    """
    The JSON object given at connect (`{}` when none).
    """
    status: Literal['pending', 'active', 'disconnected']
    disconnect_reason: (
        Literal[
            'invalid_grant',
            'revoked',
            'token_expired',
            'account_removed',
            'credentials_removed',
            'operator',
        ]
        | None
    )
    scopes: list[str]
    """
    What the grant holds: the scopes the platform said it granted (its token answer, or Facebook's `GET /me/permissions`), else the scopes asked for. The same list as `granted_scopes`.
    """
    granted_scopes: list[str]
    """
    The scopes the platform granted: the same list as `scopes`.
    """
    declined_scopes: list[str]
    """
    The link's `optional_scopes` the user declined at the last connect (a declined required scope fails the connect with `missing_scopes` instead). Empty when the platform does not say what it granted (Threads).
    """
    access_token_expires_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    last_refreshed_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    last_platform_event_at: AwareDatetime | None
    """
    When a platform last told the worker about the account (a deauthorization...), or null.
    """
    instance: str | None
    """
    The server the account lives on (a Mastodon instance, a Bluesky PDS host), null elsewhere.
    """
    created_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    updated_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """


class ProfileList(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[Profile]
    next_cursor: str | None = Field(
        ..., pattern='^(0|[1-9][0-9]{0,14})\\.[A-Za-z0-9_]{1,64}$'
    )
    """
    Pass as `cursor` for the next page (opaque to apps; the pattern is its form). Null on the last page.
    """


class ClaimResult(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[Profile]


class ExchangeResult(BaseModel):
    """
    The first profile's fields at top level, plus `profiles` and `accounts`.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    id: str = Field(..., pattern='^prf_[0-9a-f]{32}$')
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    Platform id (`x`, `facebook`, `sandbox`, a custom provider's id...).
    """
    account_type: Literal['user', 'page', 'organization', 'instagram_business']
    grant_id: str = Field(..., pattern='^(grn|prf)_[0-9a-f]{32}$')
    """
    `grn_...`, or for grants split from a profile by migration 0005, that profile's id.
    """
    parent: Parent | None
    platform_user_id: str
    """
    The platform's id of the account.
    """
    username: str | None
    display_name: str | None
    avatar_url: str | None
    external_user_id: str | None
    """
    The app's own id for its user.
    """
    metadata: dict[str, Any]
    """
    The JSON object given at connect (`{}` when none).
    """
    status: Literal['pending', 'active', 'disconnected']
    disconnect_reason: (
        Literal[
            'invalid_grant',
            'revoked',
            'token_expired',
            'account_removed',
            'credentials_removed',
            'operator',
        ]
        | None
    )
    scopes: list[str]
    """
    Granted scopes.
    """
    granted_scopes: list[str]
    """
    The scopes the platform granted: the same list as `scopes`.
    """
    declined_scopes: list[str]
    """
    The link's `optional_scopes` the user declined at the last connect (a declined required scope fails the connect with `missing_scopes` instead). Empty when the platform does not say what it granted (Threads).
    """
    access_token_expires_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    last_refreshed_at: AwareDatetime | None
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    last_platform_event_at: AwareDatetime | None
    """
    When a platform last told the worker about the account (a deauthorization...), or null.
    """
    instance: str | None
    """
    The server the account lives on (a Mastodon instance, a Bluesky PDS host), null elsewhere.
    """
    created_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    updated_at: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    profiles: list[Profile]
    """
    Every profile the exchange connected (the first one is also at top level).
    """
    accounts: list[Account]
    """
    Every account the login offered.
    """


class ConnectLinkFailedData(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    link_id: str = Field(..., pattern='^cl_[0-9a-f]{32}$')
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    A platform id: one of the built-in platforms listed here (generated from the catalog by `scripts/openapi-platforms.mjs`; `sandbox` only with SANDBOX=on), or the id of a custom provider configured in CUSTOM_PROVIDERS (`[a-z][a-z0-9_]{0,31}`). `GET /v1/platforms` lists those configured for the app.
    """
    error: Literal[
        'access_denied',
        'exchange_failed',
        'missing_scopes',
        'profile_failed',
        'account_connected_elsewhere',
        'no_accounts',
        'server_error',
        'redirect_not_allowed',
    ]
    external_user_id: str | None
    missing_scopes: list[str] | None = Field(None, min_length=1)
    """
    Only with `error: "missing_scopes"`: the required scopes the user declined, as the link's `missing_scopes` shows them.
    """


class CreateAppRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    name: str = Field(..., max_length=200, min_length=1, pattern='\\S')
    """
    1 to 200 characters, not only spaces (stored trimmed).
    """
    allowed_redirect_urls: list[AnyUrl] = Field(..., max_length=20, min_length=1)
    webhook_url: AnyUrl | None = None
    """
    Absolute `https` URL (`http` only for `localhost`/`127.0.0.1`).
    """
    claim: Literal['required', 'auto'] | None = None
    refresh_mode: Literal['proactive', 'on_demand'] | None = None
    limits: AppLimitsInput | None = None
    """
    Overrides of the app's limits; absent or `null`: the defaults.
    """
    self_service_credentials: bool | None = None
    """
    Whether the app may manage its own platform credentials with its API key (`/v1/platform-credentials`); default `false`. `null` or absent: `false`.
    """
    platform_events: (
        dict[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ],
            PlatformEvents1,
        ]
        | None
    ) = None
    """
    The platform event types to forward to the app (`platform.event` webhooks); absent or `null`: none.
    """
    display_name: str | None = Field(
        None,
        max_length=100,
        min_length=1,
        pattern='^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$',
    )
    """
    The name end-users see on the hosted pages ("Acme Posts wants to use your Instagram account"): 1 to 100 characters, not only spaces, no control characters (stored trimmed). Without one the pages show `name`. `null`: as absent.
    """
    accent_color: str | None = Field(None, pattern='^#[0-9A-Fa-f]{6}$')
    """
    The hosted pages' accent colour, `#rrggbb` (stored in lower case). Any colour is taken: the pages write text on it in black or white, whichever contrasts more (at least 4.58:1 for every colour). `null`: as absent.
    """


class PatchAppRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    name: str | None = Field(None, max_length=200, min_length=1, pattern='\\S')
    """
    1 to 200 characters, not only spaces (stored trimmed).
    """
    allowed_redirect_urls: list[AnyUrl] | None = Field(
        None, max_length=20, min_length=1
    )
    webhook_url: AnyUrl | None = None
    """
    `null` clears it.
    """
    claim: Literal['required', 'auto'] | None = None
    refresh_mode: Literal['proactive', 'on_demand'] | None = None
    limits: AppLimitsInput | None = None
    """
    Changes to the limits; `null` puts every one back to its default.
    """
    self_service_credentials: bool | None = None
    """
    Whether the app may manage its own platform credentials with its API key (`/v1/platform-credentials`); default `false`. `null` or absent: unchanged.
    """
    platform_events: (
        dict[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ],
            PlatformEvents1,
        ]
        | None
    ) = None
    """
    The platform event types to forward to the app, replacing the whole setting; `null` clears it (no events).
    """
    display_name: str | None = Field(
        None,
        max_length=100,
        min_length=1,
        pattern='^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$',
    )
    """
    The name end-users see on the hosted pages ("Acme Posts wants to use your Instagram account"): 1 to 100 characters, not only spaces, no control characters (stored trimmed). Without one the pages show `name`. `null` clears it; absent: unchanged.
    """
    accent_color: str | None = Field(None, pattern='^#[0-9A-Fa-f]{6}$')
    """
    The hosted pages' accent colour, `#rrggbb` (stored in lower case). Any colour is taken: the pages write text on it in black or white, whichever contrasts more (at least 4.58:1 for every colour). `null` clears it; absent: unchanged.
    """


class CreateConnectLinkRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    platform: Optional[
        Union[
            Literal[
                'instagram',
                'facebook',
                'instagram_facebook',
                'threads',
                'linkedin',
                'x',
                'youtube',
                'tiktok',
                'pinterest',
                'reddit',
                'bluesky',
                'mastodon',
                'sandbox',
            ],
            "PlatformId1",
        ]
    ] = None
    """
    A platform id from `GET /v1/platforms` whose `auth` is `oauth2` or `instance_oauth2`. Not with `platforms`; with neither, the link offers every platform configured for the app.
    """
    platforms: (
        list[
            Union[
                Literal[
                    'instagram',
                    'facebook',
                    'instagram_facebook',
                    'threads',
                    'linkedin',
                    'x',
                    'youtube',
                    'tiktok',
                    'pinterest',
                    'reddit',
                    'bluesky',
                    'mastodon',
                    'sandbox',
                ],
                "PlatformId1",
            ]
        ]
        | None
    ) = Field(None, max_length=50, min_length=1)
    """
    Instead of `platform`: the platforms a hosted chooser at the link's `url` offers, in this order (1 to 50 distinct ids, each configured for the app: else 422 `platform_not_configured` naming them). One listed is exactly `platform`, except one that asks on a hosted form (`bluesky`, an API-key platform, `mastodon` without `instance`) with no field of one platform's: then `url` opens that form directly. With several, the user picks one at `url`; an OAuth platform then goes to its consent screen, `mastodon` asks for the instance, `bluesky` for the handle and an app password, an API-key platform for the key, all on hosted forms. `scopes`, `optional_scopes`, `instance`, `profile_id` and `"callback": "app"` name one platform's things and are refused (400) with several. Omit both `platform` and `platforms` to offer every platform configured for the app (its own or the deployment's credentials, the sandbox when on, `mastodon`, `bluesky`, API-key platforms).
    """
    redirect_url: AnyUrl
    """
    Inside the app's `allowed_redirect_urls`; its query may not carry `connected`, `profile_id`, `profile_ids`, `platform`, `link_id`, `state`, `error` or `connect_token`.
    """
    scopes: list[Scope] | None = Field(None, max_length=50)
    """
    Up to 50 scope names without spaces or commas; the platform's defaults when absent.
    """
    optional_scopes: list[OptionalScope] | None = Field(None, max_length=50)
    """
    Scopes asked for together with `scopes` that the user may decline: a connect in which the user declined only these succeeds, and the profile's `declined_scopes` names them. Same bounds as `scopes`; a scope in both lists is a 400. A reconnect link (`profile_id`) that asks for a scope its profile declined asks the platform to show it again (Facebook: `auth_type=rerequest`). Only on a link to one platform (400 on a link that may offer several).
    """
    external_user_id: str | None = Field(None, max_length=256, min_length=1)
    """
    The app's own id for its user (1 to 256 characters).
    """
    state: str | None = Field(None, max_length=512)
    """
    The app's opaque value, echoed on the final redirect (at most 512 characters).
    """
    metadata: dict[str, Any] | None = None
    """
    A JSON object of at most 4 KiB (serialized).
    """
    profile_id: ProfileId | None = None
    """
    Makes a reconnect link for this profile of the app.
    """
    callback: Literal['hosted', 'app'] | None = None
    """
    `hosted` (default) or `app` (the app completes with `POST /v1/oauth/exchange`).
    """
    accounts: Literal['pick', 'all'] | None = None
    """
    `pick` (default): a Choose accounts page when the login has several; `all`: every account.
    """
    instance: str | None = None
    """
    Required for `mastodon` (the instance's host or https URL); refused for every other platform.
    """
    locale: str | None = Field(
        None,
        examples=['de'],
        max_length=35,
        min_length=2,
        pattern='^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$',
    )
    """
    The language of the link's hosted pages (consent, account picker, errors): a BCP 47 tag (`de`, `pt-BR`). Pages exist in English, German, Spanish, French and Japanese, matched on the primary language (`de-AT` is German); a well-formed tag of another language is accepted and the page falls back to the browser's `Accept-Language`, then English. A malformed tag is 400 `invalid_request`. Absent: the browser's `Accept-Language`.
    """


class CreateProfileRequest(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    A platform whose `auth` is `app_password` (bluesky) or `api_key`.
    """
    credentials: dict[Literal['identifier', 'app_password', 'api_key'], Credentials]
    """
    The platform's credential fields, and only those: `identifier` and `app_password` for bluesky, `api_key` for API-key providers. Each a non-empty string of at most 4096 printable characters.
    """
    external_user_id: str | None = Field(None, max_length=256, min_length=1)
    """
    The app's own id for its user (1 to 256 characters).
    """
    metadata: dict[str, Any] | None = None
    """
    A JSON object of at most 4 KiB (serialized).
    """


class AppPlatformCredentials(BaseModel):
    """
    An app's own platform credentials. The secrets are sealed in D1 and never shown: only that one is set and a short fingerprint of the client secret.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    A platform id: one of the built-in platforms listed here (generated from the catalog by `scripts/openapi-platforms.mjs`; `sandbox` only with SANDBOX=on), or the id of a custom provider configured in CUSTOM_PROVIDERS (`[a-z][a-z0-9_]{0,31}`). `GET /v1/platforms` lists those configured for the app.
    """
    client_id: str
    client_secret_set: Literal[True]
    fingerprint: str = Field(..., pattern='^[0-9a-f]{8}$')
    """
    The first 8 hex digits of the client secret's SHA-256.
    """
    webhook_secret_set: bool
    scopes: list[str] | None
    """
    The app's default scopes for this platform; `null`: the platform's.
    """
    created_at: AwareDatetime
    updated_at: AwareDatetime
    callback_url: AnyUrl
    """
    The redirect URI to register with the platform app.
    """
    platform_webhooks: PlatformWebhooks
    """
    The platform webhook URLs to register with this platform app, by name (`deauthorize`, `data_deletion` and `events` for Meta's platforms, with their `verify_token`; `events` for TikTok, X and LinkedIn); empty for other platforms.
    """


class AppPlatformCredentialsList(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[AppPlatformCredentials]


class PlatformEventData(BaseModel):
    """
    The `data` of `platform.event`: one event a platform pushed about an account the profile holds.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    profile_id: str = Field(..., pattern='^prf_[0-9a-f]{32}$')
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    The profile's platform id.
    """
    account_id: str
    """
    The platform account the event is about (the profile's `platform_user_id`).
    """
    event_type: str
    """
    The platform's own name of the event type (Meta's change `field`, X's event key, ...).
    """
    occurred_at: AwareDatetime
    """
    When it happened (the platform's time when it gives one, else when it was received); RFC 3339, UTC.
    """
    payload: Any
    """
    The platform's own event object for this account, as it sent it; `null` when its JSON was over 48 KiB (then `payload_truncated` is `true`).
    """
    payload_truncated: Literal[True] | None = None
    """
    Present only when the payload was over 48 KiB and left out.
    """


class Datum1(BaseModel):
    model_config = ConfigDict(
        extra='ignore',
    )
    platform: Union[
        Literal[
            'instagram',
            'facebook',
            'instagram_facebook',
            'threads',
            'linkedin',
            'x',
            'youtube',
            'tiktok',
            'pinterest',
            'reddit',
            'bluesky',
            'mastodon',
            'sandbox',
        ],
        "PlatformId1",
    ]
    """
    A platform id: one of the built-in platforms listed here (generated from the catalog by `scripts/openapi-platforms.mjs`; `sandbox` only with SANDBOX=on), or the id of a custom provider configured in CUSTOM_PROVIDERS (`[a-z][a-z0-9_]{0,31}`). `GET /v1/platforms` lists those configured for the app.
    """
    received: int = Field(..., ge=0)
    """
    Requests that reached the platform's receiver.
    """
    verified: int = Field(..., ge=0)
    """
    Requests whose signature or handshake verified.
    """
    refused: int = Field(..., ge=0)
    """
    Requests refused: a bad signature, an unknown handshake, a body over the cap.
    """
    matched: int = Field(..., ge=0)
    """
    Events (not replays) about an account at least one active profile holds.
    """
    forwarded: int = Field(..., ge=0)
    """
    `platform.event` webhooks written for apps.
    """


class PlatformEventStats(BaseModel):
    """
    Platform events in over the last 24 hours (the current hour and the 23 before it), per platform.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    data: list[Datum1]
    since: AwareDatetime
    """
    The start of the window (an hour's start); RFC 3339, UTC.
    """


class WebhookEvent(BaseModel):
    """
    The body of every webhook: `{type, timestamp, data}`. `data` is the profile as the API shows it for `profile.*` events, `ConnectLinkFailedData` for `connect_link.failed`, `PlatformEventData` for `platform.event`, and `WebhookTestData` for `webhook.test`.
    """

    model_config = ConfigDict(
        extra='ignore',
    )
    type: Literal[
        'profile.connected',
        'profile.reconnected',
        'profile.refresh_failed',
        'profile.recovered',
        'profile.disconnected',
        'profile.expiring',
        'profile.deleted',
        'connect_link.failed',
        'platform.event',
        'webhook.test',
    ]
    timestamp: AwareDatetime
    """
    RFC 3339, UTC (`2026-01-02T03:04:05Z`).
    """
    data: Profile | ConnectLinkFailedData | PlatformEventData | WebhookTestData
