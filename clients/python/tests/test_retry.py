"""Retries (no worker: httpx's MockTransport plays the answers). Only a 429 `rate_limited` of the
worker's own limits, documented as "nothing is done" (docs/limits.md), is sent again, after a
short enough `Retry-After`; everything else comes back at once."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from connect_links import AsyncConnectLinks, ConnectLinks, ConnectLinksError

LINK = {"id": "cl_" + "a" * 32, "url": "http://w.test/connect/x", "authorize_url": "http://w.test/sandbox/authorize",
        "platform": "sandbox", "platforms": None, "expires_at": "2026-01-02T03:04:05Z"}


def limited(retry_after: str = "0") -> httpx.Response:
    return httpx.Response(429, headers={"retry-after": retry_after}, json={"error": {"code": "rate_limited", "message": "slow down"}})


def scripted(answers: list[httpx.Response]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    return httpx.MockTransport(handle), seen


def create(answers: list[httpx.Response], **options) -> tuple[object, list[httpx.Request]]:
    transport, seen = scripted(answers)
    client = ConnectLinks("http://w.test", "ck_test", transport=transport, **options)
    try:
        return client.create_link("sandbox", "http://localhost:3000/connected"), seen
    except ConnectLinksError as e:
        return e, seen


def test_a_rate_limited_answer_is_sent_again_after_its_retry_after():
    result, seen = create([limited(), httpx.Response(201, json=LINK)])
    assert result.id == LINK["id"]
    assert len(seen) == 2 and seen[0].content == seen[1].content
    # The body as given (the request model checks it, its dump does not replace it).
    assert json.loads(seen[0].content) == {"platform": "sandbox", "redirect_url": "http://localhost:3000/connected"}


def test_retries_stop_after_max_retries():
    result, seen = create([limited(), limited(), limited(), httpx.Response(201, json=LINK)], max_retries=2)
    assert (result.status, result.code, result.retry_after) == (429, "rate_limited", 0)
    assert len(seen) == 3


def test_a_long_retry_after_comes_back_at_once():
    result, seen = create([limited("60")])
    assert (result.code, result.retry_after, len(seen)) == ("rate_limited", 60, 1)


@pytest.mark.parametrize("answer", [
    httpx.Response(500, json={"error": {"code": "internal", "message": "boom"}}),
    httpx.Response(502, json={"error": {"code": "upstream_error", "message": "platform down"}}),
    httpx.Response(429, headers={"retry-after": "0"}, text="a platform's own 429"),
])
def test_nothing_else_is_retried(answer):
    result, seen = create([answer])
    assert isinstance(result, ConnectLinksError) and len(seen) == 1
    assert result.status == answer.status_code


def test_an_answer_without_the_error_body_keeps_its_status():
    result, _ = create([httpx.Response(503, text="<html>maintenance ck_test</html>")])
    assert (result.status, result.code) == (503, "http_error")
    assert "ck_test" not in str(result) and "maintenance" not in str(result)


def test_the_proxy_is_never_retried():
    transport, seen = scripted([limited(), httpx.Response(200)])
    proxied = ConnectLinks("http://w.test", "ck_test", transport=transport).proxy("prf_" + "b" * 32, "GET", "userinfo")
    assert proxied.status_code == 429 and len(seen) == 1
    assert seen[0].url.path == "/v1/profiles/prf_" + "b" * 32 + "/proxy/userinfo"


def test_the_async_client_retries_the_same():
    seen: list[httpx.Request] = []
    answers = [limited(), httpx.Response(201, json=LINK)]

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    async def run():
        async with AsyncConnectLinks("http://w.test", "ck_test", transport=httpx.MockTransport(handle)) as client:
            return await client.create_link("sandbox", "http://localhost:3000/connected")

    assert asyncio.run(run()).id == LINK["id"] and len(seen) == 2
