"""The synchronous client against the running worker: a sandbox connect claimed, listed, read,
used through its token and the proxy, its webhooks verified, deleted; and the error answers."""

from __future__ import annotations

import httpx
import pytest
from connect_links import ConnectLinks, ConnectLinksError, ProfileEvent, WebhookVerificationError, models

UNKNOWN_PROFILE = "prf_" + "0" * 32


def test_a_sandbox_connect_is_claimed_used_and_deleted(worker, receiver):
    with ConnectLinks(worker.base_url, worker.api_key, webhook_secret=worker.webhook_secret) as client:
        link_id, connect_token = worker.links["sync"]
        assert client.get_link(link_id).status == "awaiting_claim"

        profiles = client.claim(link_id, connect_token)
        assert [p.status for p in profiles] == ["active"]
        profile = profiles[0]
        assert (profile.platform, profile.username) == ("sandbox", "sdk-sync")
        assert client.get_link(link_id).status == "completed"

        listed = client.profiles.list(platform="sandbox", status="active", limit=100)
        assert profile.id in [p.id for p in listed.data]
        assert client.profiles.get(profile.id) == profile

        # The token is the sandbox's: its own userinfo answers with it, for this account.
        token = client.access_token(profile.id)
        assert token.token_type == "Bearer"
        # Checked as a bool so that a failure does not print the token itself.
        shown = token.access_token in repr(token) or token.access_token in str(token)
        assert not shown, "the access token appears in repr() or str()"
        direct = httpx.get(f"{worker.base_url}/sandbox/userinfo", headers={"authorization": f"Bearer {token.access_token}"})
        assert direct.status_code == 200, direct.status_code
        assert direct.json()["preferred_username"] == "sdk-sync"

        # The proxy: the platform's answer as an httpx.Response, the worker adding the token.
        proxied = client.proxy(profile.id, "GET", "userinfo")
        assert isinstance(proxied, httpx.Response)
        assert proxied.status_code == 200
        assert models.SandboxUserinfo.model_validate_json(proxied.content).preferred_username == "sdk-sync"
        assert "x-connect-links-attempts" in proxied.headers

        # The claim sent profile.connected: a real delivery, verified by the SDK.
        delivery = receiver.wait_for("profile.connected", profile.id)
        event = client.webhooks.verify(delivery.headers, delivery.body)
        assert isinstance(event, ProfileEvent)
        assert (event.type, event.data.id, event.id) == ("profile.connected", profile.id, delivery.headers["webhook-id"])

        # The same delivery with one byte changed, or another secret, is refused.
        tampered = delivery.body.replace(b"sdk-sync", b"sdk-synd")
        assert tampered != delivery.body
        with pytest.raises(WebhookVerificationError):
            client.webhooks.verify(delivery.headers, tampered)
        with pytest.raises(WebhookVerificationError):
            ConnectLinks(worker.base_url, worker.api_key, webhook_secret="whsec_" + "A" * 43 + "=").webhooks.verify(delivery.headers, delivery.body)

        client.profiles.delete(profile.id)
        with pytest.raises(ConnectLinksError) as gone:
            client.profiles.get(profile.id)
        assert (gone.value.status, gone.value.code) == (404, "not_found")
        deleted = client.webhooks.verify(*_parts(receiver.wait_for("profile.deleted", profile.id)))
        assert (deleted.type, deleted.data.id) == ("profile.deleted", profile.id)

        # A second claim of the same link is refused.
        with pytest.raises(ConnectLinksError) as again:
            client.claim(link_id, connect_token)
        assert (again.value.status, again.value.code) == (409, "conflict")


def _parts(delivery):
    return delivery.headers, delivery.body


def test_a_wrong_api_key_is_401_unauthorized_and_never_shown(worker):
    key = "ck_" + "f" * 48
    with ConnectLinks(worker.base_url, key) as client:
        with pytest.raises(ConnectLinksError) as e:
            client.profiles.list()
    assert (e.value.status, e.value.code) == (401, "unauthorized")
    assert e.value.message
    shown = key in str(e.value) or key in repr(e.value) or key in repr(client)
    assert not shown, "the API key appears in the error or the client's repr()"


def test_an_unknown_profile_is_404_not_found(worker):
    with ConnectLinks(worker.base_url, worker.api_key) as client:
        for call in (client.profiles.get, client.profiles.delete, client.access_token):
            with pytest.raises(ConnectLinksError) as e:
                call(UNKNOWN_PROFILE)
            assert (e.value.status, e.value.code) == (404, "not_found"), call


def test_refused_requests_are_400_invalid_request(worker):
    with ConnectLinks(worker.base_url, worker.api_key) as client:
        with pytest.raises(ConnectLinksError) as page:
            client.profiles.list(limit=0)
        assert (page.value.status, page.value.code) == (400, "invalid_request")
        # A redirect_url whose query takes a name the worker appends: the server's rule.
        with pytest.raises(ConnectLinksError) as link:
            client.create_link("sandbox", "http://localhost:3000/connected?link_id=mine")
        assert (link.value.status, link.value.code) == (400, "invalid_request")


def test_create_link_answers_a_link_to_open(worker):
    with ConnectLinks(worker.base_url, worker.api_key) as client:
        link = client.create_link("sandbox", "http://localhost:3000/connected", external_user_id="u-1", state="s-1")
    assert link.id.startswith("cl_") and link.platform == "sandbox"
    assert str(link.url).startswith(worker.base_url)
