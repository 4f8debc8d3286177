"""The asynchronous client against the running worker: the same flow as test_sync.py's, awaited
(run with asyncio.run: no pytest plugin needed)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from connect_links import AsyncConnectLinks, ConnectLinksError, ProfileEvent, WebhookVerificationError


def test_the_async_client_claims_uses_verifies_and_deletes(worker, receiver):
    async def flow() -> None:
        async with AsyncConnectLinks(worker.base_url, worker.api_key, webhook_secret=worker.webhook_secret) as client:
            link_id, connect_token = worker.links["async"]
            profiles = await client.claim(link_id, connect_token)
            profile = profiles[0]
            assert (profile.username, profile.status) == ("sdk-async", "active")

            listed = await client.profiles.list(status="active")
            assert profile.id in [p.id for p in listed.data]
            assert await client.profiles.get(profile.id) == profile
            assert (await client.access_token(profile.id)).token_type == "Bearer"

            proxied = await client.proxy(profile.id, "GET", "/userinfo")
            assert isinstance(proxied, httpx.Response) and proxied.status_code == 200
            assert proxied.json()["preferred_username"] == "sdk-async"

            delivery = await asyncio.to_thread(receiver.wait_for, "profile.connected", profile.id)
            event = client.webhooks.verify(delivery.headers, delivery.body)
            assert isinstance(event, ProfileEvent) and event.data.id == profile.id
            with pytest.raises(WebhookVerificationError):
                client.webhooks.verify(delivery.headers, delivery.body + b" ")

            await client.profiles.delete(profile.id)
            with pytest.raises(ConnectLinksError) as gone:
                await client.profiles.get(profile.id)
            assert (gone.value.status, gone.value.code) == (404, "not_found")

        async with AsyncConnectLinks(worker.base_url, "ck_" + "0" * 48) as stranger:
            with pytest.raises(ConnectLinksError) as e:
                await stranger.profiles.list()
            assert (e.value.status, e.value.code) == (401, "unauthorized")

    asyncio.run(flow())
