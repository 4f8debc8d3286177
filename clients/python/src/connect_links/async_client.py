"""`AsyncConnectLinks`: the asynchronous client (httpx.AsyncClient), the same methods as
`ConnectLinks`, awaited."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx

from . import _operations as ops
from . import models
from .client import DEFAULT_TIMEOUT, client_headers
from .secret_models import AccessToken
from .webhooks import Webhooks


class AsyncConnectLinks:
    """The asynchronous `ConnectLinks`: same arguments, same retries, every call awaited.
    Use it as an async context manager, or await `aclose()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        webhook_secret: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        max_retry_wait: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self._http = httpx.AsyncClient(base_url=base_url, headers=client_headers(api_key), timeout=timeout, transport=transport)
        self._retry = ops.RetryPolicy(max_retries, max_retry_wait)
        self.base_url = str(self._http.base_url)
        self.profiles = AsyncProfiles(self)
        self.webhooks = Webhooks(webhook_secret)

    def __repr__(self) -> str:
        return f"AsyncConnectLinks(base_url={self.base_url!r})"

    async def __aenter__(self) -> AsyncConnectLinks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    async def _call(self, op: ops.Operation) -> Any:
        attempt = 0
        while True:
            response = await self._http.request(op.method, op.path, json=op.json, params=op.params)
            wait = self._retry.delay(response, attempt)
            if wait is None:
                return ops.finish(op, response)
            await response.aclose()
            attempt += 1
            await asyncio.sleep(wait)

    async def create_link(
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
        return await self._call(ops.create_link(platform, redirect_url, platforms=platforms, scopes=scopes, external_user_id=external_user_id, state=state,
                                                metadata=metadata, profile_id=profile_id, callback=callback, accounts=accounts, instance=instance,
                                                locale=locale, optional_scopes=optional_scopes))

    async def get_link(self, link_id: str) -> models.ConnectLink:
        """A connect link's status (`GET /v1/connect-links/{id}`)."""
        return await self._call(ops.get_link(link_id))

    async def claim(self, link_id: str, connect_token: str) -> list[models.Profile]:
        """Claims a link with the `connect_token` of its final redirect; the link's profiles."""
        return await self._call(ops.claim(link_id, connect_token))

    async def access_token(self, profile_id: str) -> AccessToken:
        """The token the profile acts with, refreshed first when it is about to expire."""
        return await self._call(ops.access_token(profile_id))

    async def proxy(self, profile_id: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """`ConnectLinks.proxy`, awaited: the platform's answer as it is, never retried here."""
        return await self._http.request(method, ops.proxy_path(profile_id, path), **kwargs)


class AsyncProfiles:
    """`client.profiles` of the async client."""

    def __init__(self, client: AsyncConnectLinks):
        self._client = client

    async def list(
        self,
        *,
        platform: str | None = None,
        status: Literal["pending", "active", "disconnected"] | None = None,
        external_user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.ProfileList:
        """One page of profiles (`next_cursor` for the next; pending ones only with `status`)."""
        return await self._client._call(ops.list_profiles(platform=platform, status=status, external_user_id=external_user_id, limit=limit, cursor=cursor))

    async def get(self, profile_id: str) -> models.Profile:
        """One profile."""
        return await self._client._call(ops.get_profile(profile_id))

    async def delete(self, profile_id: str) -> None:
        """Deletes a profile (revoking its grant at the platform when it was the last one)."""
        await self._client._call(ops.delete_profile(profile_id))
