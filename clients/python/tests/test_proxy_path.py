"""The proxy's path stays under the proxy route (no worker: nothing is sent)."""

from __future__ import annotations

import httpx
import pytest
from connect_links import ConnectLinks


def test_a_proxy_path_cannot_climb_out_of_the_proxy_route():
    seen: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200))
    client = ConnectLinks("http://w.test", "ck_test", transport=transport)
    # Plain, percent-encoded (which the worker's runtime resolves before routing: another
    # profile's access token with the app's key) and behind a backslash (read as a slash).
    for path in ("../../admin/apps", "a/./b", "a/..", "%2e%2e/access-token", ".%2E/%2e%2e/prf_x/access-token", "%2E/x", "a\\..\\b"):
        with pytest.raises(ValueError):
            client.proxy("prf_" + "b" * 32, "GET", path)
    assert seen == []
    # A dot inside a segment, or in the query, is the platform's business.
    assert client.proxy("prf_" + "b" * 32, "GET", "/2/users/me.json?q=..").status_code == 200
    assert seen[0].url.raw_path == b"/v1/profiles/prf_" + b"b" * 32 + b"/proxy/2/users/me.json?q=.."
