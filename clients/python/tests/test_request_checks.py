"""Request bodies are checked against the document's schemas before anything is sent, and a
refusal names the field without quoting its value (no worker: nothing is sent)."""

from __future__ import annotations

import httpx
import pytest
from connect_links import ConnectLinks


def test_a_refused_body_is_not_sent_and_its_value_not_quoted():
    seen: list[httpx.Request] = []
    client = ConnectLinks("http://w.test", "ck_test", transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(500)))
    with pytest.raises(ValueError) as e:
        client.create_link("sandbox", "http://localhost:3000/connected", state="s" * 513)
    assert "state" in str(e.value) and "sss" not in str(e.value)
    with pytest.raises(ValueError) as e:
        client.create_link("sandbox", "not a url", external_user_id="")
    assert "redirect_url" in str(e.value) and "external_user_id" in str(e.value) and "not a url" not in str(e.value)
    assert seen == []
