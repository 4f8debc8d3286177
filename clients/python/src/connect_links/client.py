"""`ConnectLinks`: the synchronous client (httpx.Client)."""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx

from . import _operations as ops
from . import models
from .secret_models import AccessToken
from .webhooks import Webhooks

DEFAULT_TIMEOUT = 60.0
"""Seconds; the proxy waits up to `PROXY_TIMEOUT_MS` (60 s by default) for a platform."""


def client_headers(api_key: str) -> dict[str, str]:
    """The headers of every call (httpx hides `authorization` in its own reprs)."""
    if not api_key:
        raise ValueError("api_key is empty")
    return {"authorization": f"Bearer {api_key}", "accept": "application/json", "user-agent": "connect-links-python/0.1.0"}


class ConnectLinks:
    """A connect-links API client for one app, acting with its API key (`ck_...`).

    `base_url` is the worker's origin (`PUBLIC_URL`). `webhook_secret` (`whsec_...`) is needed
    only for `webhooks.verify`. A 429 `rate_limited` from the worker's own limits is retried
    after its `Retry-After` when that is at most `max_retry_wait` seconds, at most `max_retries`
    times; nothing else is retried (see `RetryPolicy`). `transport` replaces httpx's (tests).
    Use it as a context manager, or call `close()`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        webhook_secret: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        max_retry_wait: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self._http = httpx.Client(base_url=base_url, headers=client_headers(api_key), timeout=timeout, transport=transport)
        self._retry = ops.RetryPolicy(max_retries, max_retry_wait)
        self.base_url = str(self._http.base_url)
        self.profiles = Profiles(self)
        self.webhooks = Webhooks(webhook_secret)

    def __repr__(self) -> str:
        return f"ConnectLinks(base_url={self.base_url!r})"

    def __enter__(self) -> ConnectLinks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection pool."""
        self._http.close()

    def _call(self, op: ops.Operation) -> Any:
        attempt = 0
        while True:
            response = self._http.request(op.method, op.path, json=op.json, params=op.params)
            wait = self._retry.delay(response, attempt)
            if wait is None:
                return ops.finish(op, response)
            response.close()
            attempt += 1
            time.sleep(wait)

    def create_link(
        self,
        platform: str | None,
        redirect_url: str,
        *,
        platforms: list[str] | None = None,
        scopes: list[str] | None = None,
        external_user_id: str | None = None,
        state: str | None = None,
        metadata: dict[str, Any] | None = None,
        profile_id: str | None = None,
        callback: Literal["hosted", "app"] | None = None,
        accounts: Literal["pick", "all"] | None = None,
        instance: str | None = None,
        locale: str | None = None,
        optional_scopes: list[str] | None = None,
    ) -> models.ConnectLinkCreated:
        """Creates a connect link (`POST /v1/connect-links`): send the user's browser to its `url`.
        `platform` None with `platforms`: a hosted chooser of those; with neither, of every
        platform configured for the app."""
        return self._call(ops.create_link(platform, redirect_url, platforms=platforms, scopes=scopes, external_user_id=external_user_id, state=state,
                                          metadata=metadata, profile_id=profile_id, callback=callback, accounts=accounts, instance=instance,
                                          locale=locale, optional_scopes=optional_scopes))

    def get_link(self, link_id: str) -> models.ConnectLink:
        """A connect link's status (`GET /v1/connect-links/{id}`)."""
        return self._call(ops.get_link(link_id))

    def claim(self, link_id: str, connect_token: str) -> list[models.Profile]:
        """Claims a link with the `connect_token` of its final redirect; the link's profiles."""
        return self._call(ops.claim(link_id, connect_token))

    def access_token(self, profile_id: str) -> AccessToken:
        """The token the profile acts with, refreshed first when it is about to expire."""
        return self._call(ops.access_token(profile_id))

    def proxy(self, profile_id: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Calls `path` on the profile's platform API through the worker (which adds the token).

        `kwargs` are httpx's (`params`, `json`, `content`, `headers`, ...). The answer comes back
        as it is, whatever its status (the platform's own errors are not `ConnectLinksError`),
        and is never retried here: the worker already retries what is safe (docs/proxy.md).
        """
        return self._http.request(method, ops.proxy_path(profile_id, path), **kwargs)


class Profiles:
    """`client.profiles`: the app's profiles."""

    def __init__(self, client: ConnectLinks):
        self._client = client

    def list(
        self,
        *,
        platform: str | None = None,
        status: Literal["pending", "active", "disconnected"] | None = None,
        external_user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.ProfileList:
        """One page of profiles (`next_cursor` for the next; pending ones only with `status`)."""
        return self._client._call(ops.list_profiles(platform=platform, status=status, external_user_id=external_user_id, limit=limit, cursor=cursor))

    def get(self, profile_id: str) -> models.Profile:
        """One profile."""
        return self._client._call(ops.get_profile(profile_id))

    def delete(self, profile_id: str) -> None:
        """Deletes a profile (revoking its grant at the platform when it was the last one)."""
        self._client._call(ops.delete_profile(profile_id))
